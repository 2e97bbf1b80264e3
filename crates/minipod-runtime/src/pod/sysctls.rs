//! A pod's `securityContext.sysctls`, written in its sandbox's namespaces.
//!
//! Which sysctls and in which namespace is the plan's
//! ([`minipod_plan::sysctl::pod_sysctls`], after the node's allowlist
//! admitted the pod); the writing is `minipod_linux::pod_sysctl`'s. As
//! with runc, they are set once the namespaces exist and before any
//! container runs; the kubelet hands them to the runtime with the sandbox
//! config (`LinuxPodSandboxConfig.sysctls`).

use std::path::PathBuf;

use minipod_linux::pod_sysctl::{PodNamespaces, write_pod_sysctls};
use minipod_plan::launch::Namespace;
use minipod_plan::sysctl::pod_sysctls;
use minipod_spec::AdmittedPod;

use super::error::PodError;

/// Writes the pod's sysctls in the pinned `namespaces` the sandbox made.
/// A namespace the sandbox did not make is the node's: a sysctl of it is
/// refused, never written.
pub(super) fn write(
    pod: &AdmittedPod,
    namespaces: &[(Namespace, PathBuf)],
) -> Result<(), PodError> {
    let sysctls = pod_sysctls(&pod.pod().spec);
    if sysctls.is_empty() {
        return Ok(());
    }
    let pinned = |kind| {
        namespaces
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, path)| path.as_path())
    };
    let own = PodNamespaces {
        net: pinned(Namespace::Net),
        ipc: pinned(Namespace::Ipc),
    };
    Ok(write_pod_sysctls(own, &sysctls)?)
}
