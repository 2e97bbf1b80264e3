//! Image pulls for container starts, off the monitor's loop.
//!
//! A start whose image must be pulled first (by its `imagePullPolicy`, see
//! `minipod_runtime::image`) is split in two: the pull runs on a thread of
//! its own, so that stops, probes and other containers go on meanwhile,
//! and reports its end (through the loop's `Message::Pulled`); the machine is told of
//! the pull (it emits the `Pulled` event) and the start proper follows, or the pull's
//! error goes to the machine as `ErrImagePull` (then `ImagePullBackOff`).
//! The events are the kubelet's (`pkg/kubelet/images/image_manager.go`):
//!
//! ```text
//! Normal   Pulling  Pulling image "busybox:1.36"
//! Normal   Pulled   Successfully pulled image "busybox:1.36" in 1.2s (1.2s including waiting). Image size: 1065542 bytes.
//! Warning  Failed   Failed to pull image "nope:1": ...
//! ```

use std::time::{Instant, SystemTime};

use minipod_lifecycle::machine::{PodEvent, PullDone};
use minipod_plan::roles::role_of;
use minipod_runtime::image::PullSecret;
use minipod_spec::AdmittedPod;

use crate::handlers::PodAccess;
use crate::observer::Observer;

/// What a pull needs besides the runtime: the pod's secrets.
#[derive(Debug, Clone, Default)]
pub struct PullContext {
    pub secrets: Vec<PullSecret>,
    /// Secrets the pod names that were not found (reported at each pull).
    pub missing: Vec<String>,
}

fn event(
    pod: &AdmittedPod,
    container: Option<&str>,
    event_type: &'static str,
    reason: &'static str,
    message: String,
) -> PodEvent {
    PodEvent {
        event_type,
        reason,
        message,
        container: container.map(str::to_owned),
        field_path: container
            .and_then(|c| role_of(&pod.pod().spec, c).map(|role| role.field_path(c))),
    }
}

/// Tells of the pull of `image` for `container` and starts it on a
/// thread; `done` gets its end (and sends it to the loop).
pub(crate) fn spawn(
    pod: &AdmittedPod,
    context: &PullContext,
    access: &PodAccess,
    observer: &dyn Observer,
    container: &str,
    image: String,
    done: impl FnOnce(String, Result<PullDone, String>) + Send + 'static,
) {
    let requested = Instant::now();
    if !context.missing.is_empty() {
        observer.event(
            SystemTime::now(),
            &event(
                pod,
                None,
                "Warning",
                "FailedToRetrieveImagePullSecret",
                format!(
                    "Unable to retrieve some image pull secrets ({}); attempting to pull the image may not succeed.",
                    context.missing.join(", ")
                ),
            ),
        );
    }
    observer.event(
        SystemTime::now(),
        &event(
            pod,
            Some(container),
            "Normal",
            "Pulling",
            format!("Pulling image {image:?}"),
        ),
    );
    let (access, secrets) = (access.clone(), context.secrets.clone());
    let name = container.to_owned();
    let spawned = std::thread::Builder::new()
        .name(format!("pull-{name}"))
        .spawn(move || {
            let result = access
                .runtime
                .pull_image(&image, &secrets, &|_| {})
                .map(|pulled| PullDone {
                    size: pulled.size,
                    took: pulled.elapsed,
                    waited: requested.elapsed(),
                })
                .map_err(String::from);
            done(image, result);
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start a thread for a pull: {e}");
    }
}
