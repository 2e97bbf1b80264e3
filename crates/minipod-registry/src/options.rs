//! The node's registry settings, read by the pull and by each registry
//! session.

use std::time::Duration;

use minipod_image::host_architecture;

use crate::limits::DEFAULT_PROGRESS_TIMEOUT;

/// The node's registry settings.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Registries (`host[:port]`) allowed over plain HTTP besides loopback.
    pub insecure_registries: Vec<String>,
    /// The architecture to pull for (`amd64`, `arm64`): the host's.
    pub architecture: String,
    /// How long connecting to a registry may take.
    pub connect_timeout: Duration,
    /// How long a registry request may go without progress (its answer's
    /// headers, or 1 KiB of its body) before the pull fails: the node's
    /// `--image-pull-progress-timeout` (see `limits`).
    pub progress_timeout: Duration,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            insecure_registries: Vec::new(),
            architecture: host_architecture().to_owned(),
            connect_timeout: Duration::from_secs(30),
            progress_timeout: DEFAULT_PROGRESS_TIMEOUT,
        }
    }
}
