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

use minipod_registry::{AuthConfig, DockerConfig, Progress, Pulled};
use minipod_spec::enums::PullPolicy;
use minipod_spec::model::Container;

use crate::pod::{ContainerError, PodRuntime, Reason, RunningPod};

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

impl PodRuntime {
    /// Whether container `name` of `running` needs a pull first.
    pub fn image_need(&self, running: &RunningPod, name: &str) -> ImageNeed {
        let Some(container) = running
            .pod()
            .pod()
            .spec
            .all_containers()
            .map(|(_, c)| c)
            .find(|c| c.name == name)
        else {
            return ImageNeed::Ready;
        };
        let image = container.image.clone().unwrap_or_default();
        match policy(container) {
            PullPolicy::Never => ImageNeed::Ready,
            PullPolicy::Always => ImageNeed::Pull(image),
            _ => match self.images.resolve(&image) {
                Err(minipod_image::Error::NotFound { .. }) => ImageNeed::Pull(image),
                // Present, or a bad name, which the start reports.
                _ => ImageNeed::Ready,
            },
        }
    }

    /// Pulls `image` with the pod's `secrets` (in the pod's order), then the
    /// node's auth file. Blocking (a registry may be slow): call it from a
    /// thread of its own. The error is the kubelet's `ErrImagePull` message.
    pub fn pull_image(
        &self,
        image: &str,
        secrets: &[PullSecret],
        progress: &(dyn Fn(&Progress) + Send + Sync),
    ) -> Result<Pulled, String> {
        let mut auth = AuthConfig::default();
        for secret in secrets {
            let bytes = secret.docker_config.to_string();
            match DockerConfig::parse(bytes.as_bytes(), &format!("secret {}", secret.name)) {
                Ok(config) => auth.sources.push(config),
                // The kubelet leaves out a secret it cannot read, and pulls.
                Err(e) => tracing::warn!("pull secret ignored: {e}"),
            }
        }
        if let Some(path) = &self.node().registry_auth_file {
            match DockerConfig::load(path) {
                Ok(Some(config)) => auth.sources.push(config),
                Ok(None) => {}
                Err(e) => tracing::warn!("the node's auth file is ignored: {e}"),
            }
        }
        self.puller.pull(image, &auth, progress).map_err(|e| {
            let cause = minipod_image::error_chain(&e);
            format!("Failed to pull image {image:?}: {cause}")
        })
    }

    /// The stored image of `container` for its start (pulled before if its
    /// policy wanted: see [`PodRuntime::image_need`]).
    pub(crate) fn image_for(
        &self,
        container: &Container,
    ) -> Result<minipod_image::ResolvedImage, ContainerError> {
        let name = container.image.clone().unwrap_or_default();
        match self.images.resolve(&name) {
            Ok(image) => Ok(image),
            Err(minipod_image::Error::NotFound { .. })
                if policy(container) == PullPolicy::Never =>
            {
                Err(ContainerError::new(
                    Reason::ErrImageNeverPull,
                    format!("Container image {name:?} is not present with pull policy of Never"),
                ))
            }
            Err(minipod_image::Error::NotFound { .. }) => Err(ContainerError::new(
                Reason::ErrImagePull,
                format!(
                    "Failed to pull image {name:?}: the image is not in the store after its pull"
                ),
            )),
            Err(minipod_image::Error::Name(e)) => Err(ContainerError::new(
                Reason::InvalidImageName,
                format!("Failed to apply default image tag {name:?}: {e}"),
            )),
            Err(e) => Err(ContainerError::new(
                Reason::ErrImagePull,
                format!(
                    "Failed to pull image {name:?}: {}",
                    minipod_image::error_chain(&e)
                ),
            )),
        }
    }
}

/// The container's policy (admission defaults it: `Always` for `:latest`
/// or no tag, else `IfNotPresent`).
fn policy(container: &Container) -> PullPolicy {
    container
        .image_pull_policy
        .clone()
        .unwrap_or(PullPolicy::IfNotPresent)
}
