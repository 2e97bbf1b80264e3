//! The kubelet's `runAsNonRoot` check of a container's user.

use minipod_spec::AdmittedPod;

use crate::process::Process;

/// Why a container may not run under `runAsNonRoot`, in the kubelet's
/// words (`verifyRunAsNonRoot`); Kubernetes reports it as
/// `CreateContainerConfigError`. `pod` is `name_namespace(uid)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NonRootError {
    #[error("container's runAsUser breaks non-root policy (pod: {pod:?}, container: {container})")]
    RunAsUserIsRoot { pod: String, container: String },
    #[error(
        "container has runAsNonRoot and image will run as root (pod: {pod:?}, container: {container})"
    )]
    ImageRunsAsRoot { pod: String, container: String },
    #[error(
        "container has runAsNonRoot and image has non-numeric user ({user}), cannot verify user \
         is non-root (pod: {pod:?}, container: {container})"
    )]
    ImageUserNotNumeric {
        user: String,
        pod: String,
        container: String,
    },
}

/// The kubelet's `verifyRunAsNonRoot` (`kuberuntime_container_linux.go`):
/// with `runAsNonRoot`, a container must not run as uid 0, and an image user
/// that is a name cannot be verified. `image_user` is the image's `USER`.
pub fn verify_run_as_non_root(
    pod: &AdmittedPod,
    container_name: &str,
    process: &Process,
) -> Result<(), NonRootError> {
    let user = &process.user;
    if !user.run_as_non_root {
        return Ok(());
    }
    let pod = format!("{}_{}({})", pod.name(), pod.namespace(), pod.uid());
    let container = container_name.to_owned();
    if let Some(uid) = user.uid {
        if uid == 0 {
            return Err(NonRootError::RunAsUserIsRoot { pod, container });
        }
        return Ok(());
    }
    // The image's user: "" is root; "uid" or "uid:gid" is numeric.
    let image_user = user.image_user.as_deref().unwrap_or("");
    let name = image_user.split(':').next().unwrap_or("");
    match name.parse::<i64>() {
        Ok(0) => Err(NonRootError::ImageRunsAsRoot { pod, container }),
        Ok(_) => Ok(()),
        Err(_) if name.is_empty() => Err(NonRootError::ImageRunsAsRoot { pod, container }),
        Err(_) => Err(NonRootError::ImageUserNotNumeric {
            user: name.to_owned(),
            pod,
            container,
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a failure should panic loudly

    use super::*;
    use crate::test_support::admitted;

    const BASE: &str = "
        apiVersion: v1
        kind: Pod
        metadata: {name: web, namespace: shop}
        spec:
          containers:
          - name: app
            image: busybox
    ";

    #[test]
    fn run_as_non_root_is_verified_as_the_kubelet_does() {
        let pod = admitted(BASE);
        let suffix = r#"(pod: "web_shop(00000000-0000-4000-8000-000000000000)", container: app)"#;
        let process = |uid: Option<i64>, image_user: Option<&str>, non_root: bool| Process {
            args: vec!["sh".into()],
            env: vec![],
            cwd: "/".into(),
            user: crate::process::UserRequest {
                uid,
                image_user: image_user.map(str::to_owned),
                run_as_non_root: non_root,
                ..Default::default()
            },
            stop_signal: "SIGTERM".into(),
        };
        let cases: [(&str, Process, Option<String>); 7] = [
            ("not asked", process(None, None, false), None),
            (
                "runAsUser 0",
                process(Some(0), None, true),
                Some(format!(
                    "container's runAsUser breaks non-root policy {suffix}"
                )),
            ),
            (
                "runAsUser 1000",
                process(Some(1000), Some("root"), true),
                None,
            ),
            (
                "image without USER runs as root",
                process(None, None, true),
                Some(format!(
                    "container has runAsNonRoot and image will run as root {suffix}"
                )),
            ),
            (
                "image USER 0:0",
                process(None, Some("0:0"), true),
                Some(format!(
                    "container has runAsNonRoot and image will run as root {suffix}"
                )),
            ),
            ("image USER 1000", process(None, Some("1000"), true), None),
            (
                "image USER by name",
                process(None, Some("app"), true),
                Some(format!(
                    "container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root {suffix}"
                )),
            ),
        ];
        for (rule, process, want) in cases {
            assert_eq!(
                verify_run_as_non_root(&pod, "app", &process)
                    .err()
                    .map(|e| e.to_string()),
                want,
                "{rule}"
            );
        }
    }
}
