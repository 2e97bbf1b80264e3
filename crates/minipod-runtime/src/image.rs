//! A container's image, by its `imagePullPolicy`, as the kubelet's image
//! manager does it (`pkg/kubelet/images/image_manager.go`,
//! `EnsureImageExists`):
//!
//! | policy | image in the store | image not in the store |
//! |---|---|---|
//! | `Always` | pull (the registry may have a newer one) | pull |
//! | `IfNotPresent` | use it | pull |
//! | `Never` | use it | `ErrImageNeverPull` |
//!
//! The caller (the pod's monitor) pulls on a thread of its own, with the
//! pod's pull secrets and the node's auth file, then starts the container.
//!
//! This module holds what a container needs and why a pull failed; the
//! runtime's side (`PodRuntime::image_need`, `pull_image` and the image
//! of a start) is `pod/image_policy.rs`, so `pod` depends on `image` and
//! not the other way.

use minipod_spec::enums::PullPolicy;
use minipod_spec::model::Container;

use minipod_spec::error_chain;

/// A pull that failed: the kubelet's `ErrImagePull` message, the
/// registry's error as its cause. The monitor turns it into the event's
/// text with `String::from`, which prints the chain.
#[derive(Debug, thiserror::Error)]
#[error("Failed to pull image {image:?}")]
pub struct PullError {
    pub image: String,
    #[source]
    pub source: Box<minipod_registry::PullError>,
}

/// The event text: `Failed to pull image "x": <the registry's error>`.
impl From<PullError> for String {
    fn from(error: PullError) -> String {
        error_chain(&error)
    }
}

/// What a container needs before it can start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageNeed {
    /// Its image is to be used as the store has it (or the start will say
    /// why not: `ErrImageNeverPull`, `InvalidImageName`).
    Ready,
    /// Pull this image first.
    Pull(String),
}

/// One `kubernetes.io/dockerconfigjson` Secret a pod names in
/// `imagePullSecrets`: its name (for messages) and its `.dockerconfigjson`,
/// decoded (the Docker config JSON itself).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PullSecret {
    pub name: String,
    #[serde(rename = "dockerconfigjson")]
    pub docker_config: serde_json::Value,
}

/// The container's policy (admission defaults it: `Always` for `:latest`
/// or no tag, else `IfNotPresent`).
pub(crate) fn policy(container: &Container) -> PullPolicy {
    container
        .image_pull_policy
        .clone()
        .unwrap_or(PullPolicy::IfNotPresent)
}
