//! What an image says about running it: the part of the image config the
//! runtime merges with the container's `command`, `args`, `env` and
//! `workingDir` (the merge itself follows Kubernetes' rules and lives with
//! the runtime, not here).

use oci_spec::image::ImageConfiguration;

/// The run defaults of an image (`config.Entrypoint`, `Cmd`, `Env`,
/// `WorkingDir`, `User`, `StopSignal`). The type belongs to `minipod-plan`,
/// which merges it with the container by Kubernetes' rules; the store fills it.
pub use minipod_plan::process::ImageConfig as ImageDefaults;

/// Reads the run defaults out of an image config. Empty strings count as
/// unset, as Docker treats them.
pub fn image_defaults(config: &ImageConfiguration) -> ImageDefaults {
    let Some(c) = config.config() else {
        return ImageDefaults::default();
    };
    let text = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    ImageDefaults {
        entrypoint: c.entrypoint().clone().unwrap_or_default(),
        cmd: c.cmd().clone().unwrap_or_default(),
        env: c.env().clone().unwrap_or_default(),
        working_dir: text(c.working_dir()),
        user: text(c.user()),
        stop_signal: text(c.stop_signal()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> ImageConfiguration {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn reads_each_field_of_an_oci_config() {
        let c = config(
            r#"{"architecture":"amd64","os":"linux",
                "config":{"Entrypoint":["/entry"],"Cmd":["sh","-c","x"],"Env":["PATH=/bin","A=b"],
                          "WorkingDir":"/srv","User":"1000:1000","StopSignal":"SIGQUIT"},
                "rootfs":{"type":"layers","diff_ids":[]}}"#,
        );
        assert_eq!(
            image_defaults(&c),
            ImageDefaults {
                entrypoint: vec!["/entry".into()],
                cmd: vec!["sh".into(), "-c".into(), "x".into()],
                env: vec!["PATH=/bin".into(), "A=b".into()],
                working_dir: Some("/srv".into()),
                user: Some("1000:1000".into()),
                stop_signal: Some("SIGQUIT".into()),
            }
        );
    }

    #[test]
    fn docker_nulls_empty_strings_and_no_config_are_unset() {
        let docker = config(
            r##"{"architecture":"amd64","os":"linux","docker_version":"24.0.7",
                "config":{"Hostname":"","Cmd":["sh"],"Entrypoint":null,"Env":null,"WorkingDir":"",
                          "User":"","OnBuild":null,"Labels":null},
                "container_config":{"Cmd":["/bin/sh","-c","#(nop) CMD [\"sh\"]"]},
                "rootfs":{"type":"layers","diff_ids":[]}}"##,
        );
        assert_eq!(
            image_defaults(&docker),
            ImageDefaults {
                cmd: vec!["sh".into()],
                ..ImageDefaults::default()
            }
        );
        let bare = config(
            r#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
        );
        assert_eq!(image_defaults(&bare), ImageDefaults::default());
    }
}
