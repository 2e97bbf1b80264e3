//! The runtime's side of a container's image: whether it needs a pull
//! (by its `imagePullPolicy`, see [`crate::image`]), the pull itself, and
//! the stored image a start uses, or why there is none in the kubelet's
//! words.

use minipod_registry::{AuthConfig, DockerConfig, Progress, Pulled};
use minipod_spec::enums::PullPolicy;
use minipod_spec::model::Container;

use super::error::{ContainerError, NotStartedReason};
use super::running::RunningPod;
use super::runtime::PodRuntime;
use crate::image::{ImageNeed, PullError, PullSecret, policy};
use minipod_spec::error_chain;

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
    ) -> Result<Pulled, PullError> {
        let mut auth = AuthConfig::default();
        for secret in secrets {
            let bytes = secret.docker_config.to_string();
            match DockerConfig::parse(bytes.as_bytes(), &format!("secret {}", secret.name)) {
                Ok(config) => auth.sources.push(config),
                // The kubelet leaves out a secret it cannot read, and pulls.
                Err(e) => tracing::warn!("pull secret ignored: {}", error_chain(&e)),
            }
        }
        if let Some(path) = &self.node().registry_auth_file {
            match DockerConfig::load(path) {
                Ok(Some(config)) => auth.sources.push(config),
                Ok(None) => {}
                Err(e) => tracing::warn!("the node's auth file is ignored: {}", error_chain(&e)),
            }
        }
        self.puller
            .pull(image, &auth, progress)
            .map_err(|source| PullError {
                image: image.to_owned(),
                source: Box::new(source),
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
                    NotStartedReason::ErrImageNeverPull,
                    format!("Container image {name:?} is not present with pull policy of Never"),
                ))
            }
            Err(minipod_image::Error::NotFound { .. }) => Err(ContainerError::new(
                NotStartedReason::ErrImagePull,
                format!(
                    "Failed to pull image {name:?}: the image is not in the store after its pull"
                ),
            )),
            Err(minipod_image::Error::Name(e)) => Err(ContainerError::new(
                NotStartedReason::InvalidImageName,
                format!(
                    "Failed to apply default image tag {name:?}: {}",
                    error_chain(&e)
                ),
            )),
            Err(e) => Err(ContainerError::new(
                NotStartedReason::ErrImagePull,
                format!("Failed to pull image {name:?}: {}", error_chain(&e)),
            )),
        }
    }
}
