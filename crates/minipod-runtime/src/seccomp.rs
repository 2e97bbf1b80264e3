//! A container's seccomp profile, as the kubelet and containerd resolve
//! it: the choice is `minipod_plan::seccomp::choose`; a `Localhost` profile
//! is read from the node's seccomp profile root (the kubelet's
//! `--seccomp-profile-root`, here `<state-dir>/seccomp`). A profile that
//! cannot be read or used fails the start with `CreateContainerError`
//! naming the file, as containerd does; never a silently unconfined run.

use std::path::Path;

use minipod_plan::seccomp::{self, SeccompChoice, SeccompProfile, Target};
use minipod_spec::AdmittedPod;
use minipod_spec::model::Container;

/// The profile `container` runs under (none: unconfined), with the names
/// this architecture does not have dropped. `Err` is the message of a
/// `CreateContainerError`.
pub fn container_profile(
    pod: &AdmittedPod,
    container: &Container,
    capabilities: &[String],
    profile_root: &Path,
    seccomp_default: bool,
) -> Result<Option<SeccompProfile>, String> {
    let arch = std::env::consts::ARCH;
    let mut profile = match seccomp::choose(&pod.pod().spec, container, seccomp_default) {
        SeccompChoice::Unconfined => return Ok(None),
        SeccompChoice::RuntimeDefault => seccomp::runtime_default(capabilities, arch),
        SeccompChoice::Localhost(relative) => {
            let path = profile_root.join(&relative);
            let failed = |detail: String| {
                format!(
                    "cannot load seccomp profile {:?} of container {:?}: {detail}",
                    path.display().to_string(),
                    container.name
                )
            };
            let text = std::fs::read_to_string(&path).map_err(|e| failed(e.to_string()))?;
            let target = Target {
                capabilities,
                arch,
                kernel: kernel_version(),
            };
            seccomp::parse_profile(&text, &target).map_err(|e| failed(e.to_string()))?
        }
    };
    minipod_linux::container::seccomp::drop_unknown_syscalls(&mut profile);
    Ok(Some(profile))
}

/// The running kernel's (major, minor), for Docker's `minKernel`.
fn kernel_version() -> (u32, u32) {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}
