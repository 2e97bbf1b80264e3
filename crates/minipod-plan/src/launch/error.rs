//! Why a launch spec cannot be made.

/// Why a launch spec cannot be made (Kubernetes: `CreateContainerConfigError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaunchError {
    #[error("no container {0:?} in the pod")]
    NoSuchContainer(String),
    #[error("cannot find volume {volume:?} to mount into container {container:?}")]
    NoSuchVolume { container: String, volume: String },
    #[error("container {container:?}: {field} {value} is not a valid Linux id (0 to 4294967295)")]
    IdOutOfRange {
        container: String,
        field: &'static str,
        value: i64,
    },
}
