//! A container's seccomp profile, as the kubelet and containerd resolve
//! it: the choice is `minipod_plan::seccomp::choose`; a `Localhost` profile
//! is read from the node's seccomp profile root (the kubelet's
//! `--seccomp-profile-root`, here `<state-dir>/seccomp`). A profile that
//! cannot be read or used fails the start with `CreateContainerError`
//! naming the file, as containerd does; never a silently unconfined run.

use std::path::Path;

use minipod_plan::seccomp::{self, ProfileError, SeccompChoice, SeccompProfile, Target};
use minipod_spec::AdmittedPod;
use minipod_spec::model::Container;

/// Why a `Localhost` profile cannot be used; the start fails with
/// `CreateContainerError` and this text (with its cause, through
/// [`crate::error_text::chain`]).
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("cannot load seccomp profile {path:?} of container {container:?}")]
    Read {
        path: String,
        container: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot load seccomp profile {path:?} of container {container:?}")]
    Parse {
        path: String,
        container: String,
        #[source]
        source: ProfileError,
    },
}

/// The profile `container` runs under (none: unconfined), with the names
/// this architecture does not have dropped. `Err` fails the start with
/// `CreateContainerError`.
pub fn container_profile(
    pod: &AdmittedPod,
    container: &Container,
    capabilities: &[String],
    profile_root: &Path,
    seccomp_default: bool,
) -> Result<Option<SeccompProfile>, SeccompError> {
    let arch = std::env::consts::ARCH;
    let mut profile = match seccomp::choose(&pod.pod().spec, container, seccomp_default) {
        SeccompChoice::Unconfined => return Ok(None),
        SeccompChoice::RuntimeDefault => seccomp::runtime_default(capabilities, arch),
        SeccompChoice::Localhost(relative) => {
            let path = profile_root.join(&relative);
            let shown = || path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|source| SeccompError::Read {
                path: shown(),
                container: container.name.clone(),
                source,
            })?;
            let target = Target {
                capabilities,
                arch,
                kernel: kernel_version(),
            };
            seccomp::parse_profile(&text, &target).map_err(|source| SeccompError::Parse {
                path: shown(),
                container: container.name.clone(),
                source,
            })?
        }
    };
    minipod_linux::container::seccomp::drop_unknown_syscalls(&mut profile);
    Ok(Some(profile))
}

/// The running kernel's (major, minor), for Docker's `minKernel`: its
/// release, as uname(2) gives it, from `/proc/sys/kernel/osrelease`
/// (proc_sys_kernel(5)).
fn kernel_version() -> (u32, u32) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}
