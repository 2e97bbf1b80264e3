//! What goes wrong making a pod or starting a container, in the words
//! Kubernetes shows.

use std::path::{Path, PathBuf};

use minipod_lifecycle::machine::SandboxFailure;
use minipod_linux::cgroup::CgroupError;
use minipod_linux::container::StepFailure;
use minipod_linux::sandbox::SandboxError;

use crate::apparmor::AppArmorError;

/// Why a pod could not be created or removed.
#[derive(Debug, thiserror::Error)]
pub enum PodError {
    #[error("pod {uid} already exists on this node")]
    Exists { uid: String },
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("pod sandbox")]
    Sandbox(#[from] SandboxError),
    #[error("cgroup")]
    Cgroup(#[from] CgroupError),
    /// The kubelet's event text for a volume that cannot be set up: one
    /// line, its reason after " : " (so `reason` is part of the text, not
    /// a `source`).
    #[error("MountVolume.SetUp failed for volume {volume:?} : {reason}")]
    Volume { volume: String, reason: VolumeError },
    /// A process of a left-behind pod's cgroup that must not be killed
    /// (init, ourselves, or one of another pid namespace, listed as 0).
    #[error("{cgroup}: refusing to kill process {pid}")]
    RefuseKill { cgroup: PathBuf, pid: i32 },
    #[error("{cgroup}: kill {pid}")]
    Kill {
        cgroup: PathBuf,
        pid: i32,
        #[source]
        source: std::io::Error,
    },
    #[error("no container {0:?} in the pod")]
    NoSuchContainer(String),
    /// An update that is not the same pod with other images.
    #[error("pod update refused: uid {given} is not the pod's ({pod})")]
    UpdateOtherPod { given: String, pod: String },
    /// An update that adds, removes or reorders containers.
    #[error("pod update refused: containers may not be added, removed or reordered")]
    UpdateContainers,
    /// The node's resolver file cannot be read as the kubelet reads it.
    #[error("pod DNS configuration")]
    Dns(#[from] minipod_plan::dns::ResolvConfError),
    /// The pod's network could not be attached or detached.
    /// `securityContext.sysctls` could not be written.
    #[error("pod sysctls")]
    Sysctls(#[from] minipod_linux::pod_sysctl::PodSysctlError),
    #[error("the pod sandbox has no network namespace to attach")]
    NoNetworkNamespace,
    /// Boxed: a CNI error is large, and every `PodError` would pay for it.
    #[error("pod network")]
    Network(#[source] Box<super::network::NetworkError>),
    /// The kubelet's AppArmor admission refused the pod.
    #[error(transparent)]
    AppArmor(#[from] AppArmorError),
}

impl From<super::network::NetworkError> for PodError {
    fn from(e: super::network::NetworkError) -> Self {
        PodError::Network(Box::new(e))
    }
}

impl PodError {
    /// How the kubelet reports a pod it could not create, and so whether
    /// it is tried again: `None` for a pod its admission refuses (it fails
    /// at once: AppArmor on a host without it, `pkg/kubelet/lifecycle`),
    /// else the event of a failed sync, retried with the pod worker's
    /// back-off: `FailedMount` for a volume (its volume manager's event),
    /// `FailedCreatePodSandBox` for anything else (`SyncPod` in
    /// `kuberuntime_manager.go`). A node never fails a pod for either.
    pub fn kubelet_reason(&self) -> Option<SandboxFailure> {
        match self {
            PodError::AppArmor(_) => None,
            PodError::Volume { .. } => Some(SandboxFailure::Mount),
            _ => Some(SandboxFailure::CreatePodSandbox),
        }
    }
}

/// Why a volume cannot be set up, in the kubelet's words (the text after
/// "MountVolume.SetUp failed for volume ... : "). The kubelet's event is
/// one line, so an OS error is part of the text here, not a `source`.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("mount tmpfs on {dir}: {cause}")]
    Tmpfs { dir: PathBuf, cause: std::io::Error },
    /// Creating a hostPath's missing directory or file.
    #[error("{path}: {cause}")]
    Create {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// The kubelet's `checkTypeInternal`: the path is not of the `type`.
    #[error("hostPath type check failed: {path} is not a {kind}")]
    HostPathType { path: PathBuf, kind: &'static str },
    #[error("{0} is an invalid volume type")]
    InvalidType(String),
    #[error("unsupported volume source")]
    Unsupported,
}

pub(super) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> PodError + '_ {
    move |source| PodError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Why a container did not start, as Kubernetes shows it in
/// `state.waiting.reason` / `message` (or `terminated` for `StartError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct ContainerError {
    pub reason: NotStartedReason,
    pub message: String,
    /// For `StartError`: the init step that failed, and its errno.
    pub failure: Option<StepFailure>,
}

/// Kubernetes' reasons for a container that did not start: the
/// `state.waiting.reason` of a start that failed before a process ran, or
/// `StartError` (shown as `state.terminated`). How a container that did
/// run ended is [`crate::exit::TerminatedReason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotStartedReason {
    /// The image is not present and the policy forbids pulling.
    ErrImageNeverPull,
    /// The image could not be pulled.
    ErrImagePull,
    /// The image name does not parse.
    InvalidImageName,
    /// The container's configuration cannot be made (env, runAsNonRoot, subPath).
    CreateContainerConfigError,
    /// The runtime could not create the container (cgroup, directories).
    CreateContainerError,
    /// The container's process failed before its workload ran (exit code 128).
    StartError,
}

impl std::fmt::Display for NotStartedReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl ContainerError {
    pub(crate) fn new(reason: NotStartedReason, message: impl Into<String>) -> Self {
        ContainerError {
            reason,
            message: message.into(),
            failure: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_are_failed_mount_admission_is_final_and_the_rest_failed_create_pod_sandbox() {
        let volume = PodError::Volume {
            volume: "host".into(),
            reason: VolumeError::HostPathType {
                path: "/srv/x".into(),
                kind: "directory",
            },
        };
        assert_eq!(volume.kubelet_reason(), Some(SandboxFailure::Mount));
        let io = PodError::Io {
            path: "/run/minipod".into(),
            source: std::io::Error::from_raw_os_error(28),
        };
        assert_eq!(io.kubelet_reason(), Some(SandboxFailure::CreatePodSandbox));
        let exists = PodError::Exists { uid: "u".into() };
        assert_eq!(
            exists.kubelet_reason(),
            Some(SandboxFailure::CreatePodSandbox)
        );
        let refused = PodError::AppArmor(AppArmorError::NotEnabled);
        assert_eq!(refused.kubelet_reason(), None);
    }
}
