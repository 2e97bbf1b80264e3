//! Image pulls for container starts, off the monitor's loop.
//!
//! A start whose image must be pulled first (by its `imagePullPolicy`, see
//! `minipod_runtime::image`) is split in two: the pull runs on a thread of
//! its own, so that stops, probes and other containers go on meanwhile,
//! and reports [`Message::Pulled`]; the start proper follows, or the pull's
//! error goes to the machine as `ErrImagePull` (then `ImagePullBackOff`).
//! The events are the kubelet's (`pkg/kubelet/images/image_manager.go`):
//!
//! ```text
//! Normal   Pulling  Pulling image "busybox:1.36"
//! Normal   Pulled   Successfully pulled image "busybox:1.36" in 1.2s (1.2s including waiting). Image size: 1065542 bytes.
//! Warning  Failed   Failed to pull image "nope:1": ...
//! ```

use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use minipod_lifecycle::machine::{PodEvent, go_duration};
use minipod_runtime::image::PullSecret;
use minipod_spec::AdmittedPod;

use crate::handlers::PodAccess;
use crate::{Message, Observer};

/// What a pull needs besides the runtime: the pod's secrets.
#[derive(Debug, Clone, Default)]
pub struct PullContext {
    pub secrets: Vec<PullSecret>,
    /// Secrets the pod names that were not found (reported at each pull).
    pub missing: Vec<String>,
}

/// How a pull went, for [`Message::Pulled`].
#[derive(Debug)]
pub struct PullDone {
    /// The image's size in the store (config and layer blobs).
    pub size: u64,
    /// The pull itself.
    pub took: Duration,
    /// From the start's request to the pull's end.
    pub waited: Duration,
}

/// `spec.containers{name}` or `spec.initContainers{name}`.
pub(crate) fn field_path(pod: &AdmittedPod, name: &str) -> Option<String> {
    let spec = &pod.pod().spec;
    if spec.init_containers.iter().any(|c| c.name == name) {
        Some(format!("spec.initContainers{{{name}}}"))
    } else if spec.containers.iter().any(|c| c.name == name) {
        Some(format!("spec.containers{{{name}}}"))
    } else {
        None
    }
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
        field_path: container.and_then(|c| field_path(pod, c)),
    }
}

/// Tells of the pull and starts it on a thread; its end comes back as
/// [`Message::Pulled`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn spawn(
    pod: &AdmittedPod,
    context: &PullContext,
    access: &PodAccess,
    observer: &dyn Observer,
    sender: &mpsc::Sender<Message>,
    container: &str,
    attempt: u32,
    image: String,
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
    let (access, sender, secrets) = (access.clone(), sender.clone(), context.secrets.clone());
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
            let _ = sender.send(Message::Pulled {
                container: name,
                attempt,
                image,
                result,
            });
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start a thread for a pull: {e}");
    }
}

/// The `Pulled` event of a pull that went well.
pub(crate) fn pulled_event(
    pod: &AdmittedPod,
    container: &str,
    image: &str,
    done: &PullDone,
) -> PodEvent {
    event(
        pod,
        Some(container),
        "Normal",
        "Pulled",
        format!(
            "Successfully pulled image {image:?} in {} ({} including waiting). Image size: {} bytes.",
            go_millis(done.took),
            go_millis(done.waited),
            done.size
        ),
    )
}

/// A duration as Go prints one truncated to milliseconds (`567ms`,
/// `1.234s`, `1m2.5s`).
fn go_millis(duration: Duration) -> String {
    let truncated = Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX));
    if truncated < Duration::from_secs(1) {
        format!("{}ms", truncated.as_millis())
    } else {
        go_duration(truncated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_go_prints_them() {
        assert_eq!(go_millis(Duration::from_micros(567_890)), "567ms");
        assert_eq!(go_millis(Duration::from_micros(1_234_567)), "1.234s");
        assert_eq!(go_millis(Duration::from_millis(62_500)), "1m2.5s");
        assert_eq!(go_millis(Duration::ZERO), "0ms");
    }
}
