//! What goes wrong making a pod or starting a container, in the words
//! Kubernetes shows.

use std::path::{Path, PathBuf};

use minipod_linux::cgroup::CgroupError;
use minipod_linux::container::StartFailure;
use minipod_linux::sandbox::SandboxError;

/// Why a pod could not be created or removed.
#[derive(Debug, thiserror::Error)]
pub enum PodError {
    #[error("pod {uid} already exists on this node")]
    Exists { uid: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("pod sandbox: {0}")]
    Sandbox(#[from] SandboxError),
    #[error("cgroup: {0}")]
    Cgroup(#[from] CgroupError),
    /// The kubelet's event text for a volume that cannot be set up.
    #[error("MountVolume.SetUp failed for volume {volume:?} : {message}")]
    Volume { volume: String, message: String },
    #[error("no container {0:?} in the pod")]
    NoSuchContainer(String),
    /// An update that is not the same pod with other images.
    #[error("pod update refused: {0}")]
    Update(String),
    /// The kubelet's AppArmor admission refused the pod.
    #[error("{0}")]
    AppArmor(String),
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
    pub failure: Option<StartFailure>,
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
