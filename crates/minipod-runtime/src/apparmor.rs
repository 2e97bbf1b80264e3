//! A container's AppArmor profile, as the kubelet and containerd handle it.
//!
//! * On a host without AppArmor, the kubelet's admission refuses a pod that
//!   needs it (`pkg/security/apparmor/validate.go`): "Cannot enforce
//!   AppArmor: AppArmor is not enabled on the host". minipod refuses it in
//!   [`admit`], before anything of the pod is created.
//! * On a host with AppArmor, containerd applies a `Localhost` profile only
//!   if the kernel has it loaded, else `CreateContainer` fails ("apparmor
//!   profile not found", `generateApparmorSpecOpts` in
//!   `internal/cri/server/container_create_linux.go`); privileged or not,
//!   a `Localhost` profile is applied. minipod: [`container_profile`].
//! * `RuntimeDefault`: minipod's own profile
//!   (`minipod_plan::apparmor::default_profile`), loaded with
//!   `apparmor_parser` the first time a container needs it; a privileged
//!   container stays unconfined, as with containerd. A container that says
//!   nothing runs unconfined (containerd would apply its default profile to
//!   a non-privileged one).

use minipod_plan::apparmor::{self, AppArmorChoice};
use minipod_spec::AdmittedPod;
use minipod_spec::model::Container;

/// The kubelet's words for a pod needing AppArmor on a host without it.
pub const NOT_ENABLED: &str = "Cannot enforce AppArmor: AppArmor is not enabled on the host";

/// Why a container cannot run under its AppArmor profile. The text becomes
/// the pod's admission message or the container's `CreateContainerError`
/// message (with its cause, through [`crate::error_text::chain`]).
#[derive(Debug, thiserror::Error)]
pub enum AppArmorError {
    /// The kubelet's admission: the pod needs AppArmor, the host has none.
    #[error("{}", NOT_ENABLED)]
    NotEnabled,
    #[error(
        "cannot apply AppArmor profile {profile:?} to container {container:?}: profile not found (not loaded in the kernel)"
    )]
    NotLoaded { profile: String, container: String },
    #[error(
        "cannot apply AppArmor profile {profile:?} to container {container:?}: reading the loaded profiles"
    )]
    ReadLoaded {
        profile: String,
        container: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot apply AppArmor profile {profile:?} to container {container:?}: loading it")]
    Load {
        profile: String,
        container: String,
        #[source]
        source: std::io::Error,
    },
}

/// The host facts the decision needs; the real one is [`Host`].
pub trait AppArmorHost {
    fn is_enabled(&self) -> bool;
    fn is_loaded(&self, profile: &str) -> std::io::Result<bool>;
    fn load(&self, text: &str) -> std::io::Result<()>;
}

/// This machine's kernel.
#[derive(Debug)]
pub struct Host;

impl AppArmorHost for Host {
    fn is_enabled(&self) -> bool {
        minipod_linux::container::apparmor::is_enabled()
    }
    fn is_loaded(&self, profile: &str) -> std::io::Result<bool> {
        minipod_linux::container::apparmor::is_loaded(profile)
    }
    fn load(&self, text: &str) -> std::io::Result<()> {
        minipod_linux::container::apparmor::load(text)
    }
}

/// The kubelet's AppArmor admission: `Err` (its message) when a container
/// of `pod` needs AppArmor and `host` does not enforce it.
pub fn admit(pod: &AdmittedPod, host: &dyn AppArmorHost) -> Result<(), AppArmorError> {
    let pod = pod.pod();
    let needs = pod
        .spec
        .all_containers()
        .any(|(_, c)| apparmor::choose(pod, c).needs_apparmor());
    if needs && !host.is_enabled() {
        return Err(AppArmorError::NotEnabled);
    }
    Ok(())
}

/// The profile `container` runs under (none: unconfined). `Err` fails the
/// start with `CreateContainerError`.
pub fn container_profile(
    pod: &AdmittedPod,
    container: &Container,
    host: &dyn AppArmorHost,
) -> Result<Option<String>, AppArmorError> {
    let container_name = || container.name.clone();
    match apparmor::choose(pod.pod(), container) {
        AppArmorChoice::NotSet | AppArmorChoice::Unconfined => Ok(None),
        AppArmorChoice::RuntimeDefault => {
            let privileged = container
                .security_context
                .as_ref()
                .and_then(|s| s.privileged)
                == Some(true);
            if !host.is_enabled() {
                return Err(AppArmorError::NotEnabled);
            }
            if privileged {
                return Ok(None);
            }
            let name = apparmor::DEFAULT_PROFILE;
            let loaded = host
                .is_loaded(name)
                .map_err(|source| AppArmorError::ReadLoaded {
                    profile: name.into(),
                    container: container_name(),
                    source,
                })?;
            if !loaded {
                host.load(&apparmor::default_profile())
                    .map_err(|source| AppArmorError::Load {
                        profile: name.into(),
                        container: container_name(),
                        source,
                    })?;
            }
            Ok(Some(name.to_string()))
        }
        AppArmorChoice::Localhost(profile) => {
            if !host.is_enabled() {
                return Err(AppArmorError::NotEnabled);
            }
            match host.is_loaded(&profile) {
                Ok(true) => Ok(Some(profile)),
                Ok(false) => Err(AppArmorError::NotLoaded {
                    profile,
                    container: container_name(),
                }),
                Err(source) => Err(AppArmorError::ReadLoaded {
                    profile,
                    container: container_name(),
                    source,
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake {
        enabled: bool,
        loaded: &'static [&'static str],
        loads: std::cell::Cell<usize>,
    }

    impl AppArmorHost for Fake {
        fn is_enabled(&self) -> bool {
            self.enabled
        }
        fn is_loaded(&self, profile: &str) -> std::io::Result<bool> {
            Ok(self.loaded.contains(&profile))
        }
        fn load(&self, text: &str) -> std::io::Result<()> {
            assert!(text.contains("profile minipod-default "));
            self.loads.set(self.loads.get() + 1);
            Ok(())
        }
    }

    fn with() -> Fake {
        Fake {
            enabled: true,
            loaded: &["mine"],
            loads: std::cell::Cell::new(0),
        }
    }
    fn without() -> Fake {
        Fake {
            enabled: false,
            loaded: &[],
            loads: std::cell::Cell::new(0),
        }
    }

    fn pod(security: &str) -> AdmittedPod {
        let yaml = format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: app\n    image: busybox\n    securityContext: {security}\n"
        );
        let [item] = <[_; 1]>::try_from(
            minipod_spec::load::parse_manifests(yaml.as_bytes(), "pod.yaml").unwrap(),
        )
        .unwrap();
        let assigned = minipod_spec::ServerAssigned {
            uid: "0d1c9a1e-5e0b-4c6a-9a53-6c1f1b2f7a10".into(),
            name_suffix: "b7x2k".into(),
        };
        minipod_spec::admit(item.pod, &assigned).unwrap()
    }

    /// The profile, or the error's text as the container's status shows it.
    fn profile(security: &str, host: &Fake) -> Result<Option<String>, String> {
        let pod = pod(security);
        container_profile(&pod, &pod.pod().spec.containers[0], host)
            .map_err(|e| minipod_spec::error_chain(&e))
    }

    /// The admission, its refusal as text.
    fn admitted(pod: &AdmittedPod, host: &Fake) -> Result<(), String> {
        admit(pod, host).map_err(|e| e.to_string())
    }

    #[test]
    fn a_host_without_apparmor_refuses_a_pod_that_needs_it_in_the_kubelets_words() {
        let localhost = "{appArmorProfile: {type: Localhost, localhostProfile: mine}}";
        assert_eq!(
            admitted(&pod(localhost), &without()),
            Err(NOT_ENABLED.into())
        );
        assert_eq!(admitted(&pod(localhost), &with()), Ok(()));
        let unconfined = "{appArmorProfile: {type: Unconfined}}";
        assert_eq!(admitted(&pod(unconfined), &without()), Ok(()));
        assert_eq!(admitted(&pod("{}"), &without()), Ok(()));
    }

    #[test]
    fn a_loaded_localhost_profile_is_applied_privileged_or_not() {
        for security in [
            "{appArmorProfile: {type: Localhost, localhostProfile: mine}}",
            "{privileged: true, appArmorProfile: {type: Localhost, localhostProfile: mine}}",
        ] {
            assert_eq!(
                profile(security, &with()),
                Ok(Some("mine".into())),
                "{security}"
            );
        }
        assert_eq!(profile("{}", &with()), Ok(None));
        assert_eq!(
            profile("{appArmorProfile: {type: Unconfined}}", &with()),
            Ok(None)
        );
    }

    #[test]
    fn a_profile_not_loaded_fails_the_start_naming_it() {
        let got = profile(
            "{appArmorProfile: {type: Localhost, localhostProfile: absent}}",
            &with(),
        );
        assert_eq!(
            got,
            Err(r#"cannot apply AppArmor profile "absent" to container "app": profile not found (not loaded in the kernel)"#.into())
        );
        let got = profile(
            "{appArmorProfile: {type: Localhost, localhostProfile: mine}}",
            &without(),
        );
        assert_eq!(got, Err(NOT_ENABLED.into()));
    }

    #[test]
    fn runtime_default_loads_minipods_profile_once_and_spares_privileged_containers() {
        let runtime_default = "{appArmorProfile: {type: RuntimeDefault}}";
        let host = with();
        assert_eq!(
            profile(runtime_default, &host),
            Ok(Some("minipod-default".into()))
        );
        assert_eq!(host.loads.get(), 1, "loaded when first needed");
        let loaded = Fake {
            enabled: true,
            loaded: &["minipod-default"],
            loads: std::cell::Cell::new(0),
        };
        assert_eq!(
            profile(runtime_default, &loaded),
            Ok(Some("minipod-default".into()))
        );
        assert_eq!(loaded.loads.get(), 0, "already loaded");
        let privileged = "{privileged: true, appArmorProfile: {type: RuntimeDefault}}";
        assert_eq!(profile(privileged, &with()), Ok(None));
        assert_eq!(
            profile(runtime_default, &without()),
            Err(NOT_ENABLED.into())
        );
    }
}
