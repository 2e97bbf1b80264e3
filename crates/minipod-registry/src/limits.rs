//! How much a registry may send, and how slowly: a hostile or broken
//! registry must not fill the node's memory or disk, nor hold a pull (and
//! the pod waiting on it) forever.
//!
//! * Documents read into memory (manifests, indexes, the token server's
//!   answer, error bodies) are refused past a fixed size, as soon as the
//!   size is known (`Content-Length`) or the bytes pass it.
//! * A blob is streamed to a file and stopped at its declared `size`: the
//!   first byte past it is an error. The config blob, which the store reads
//!   whole, must also declare a size under [`CONFIG_LIMIT`].
//! * Every request must make progress: at least [`MIN_PROGRESS_BYTES`] in
//!   every window of the node's progress timeout, or its end
//!   ([`ProgressWindow`]). That is curl's `--speed-limit`/`--speed-time`
//!   rule; a plain read timeout would let one byte every 30 s through.
//!   The kubelet had the same knob as `--image-pull-progress-deadline`
//!   (default 1 minute); containerd's CRI has `image_pull_progress_timeout`.

use std::time::{Duration, Instant};

/// A manifest or an index. containerd and the distribution registry both
/// refuse manifests past 4 MiB; the largest real ones (indexes of a dozen
/// platforms with attestations) are tens of KiB.
pub const MANIFEST_LIMIT: u64 = 4 << 20;

/// The config blob's declared size. The store parses it whole; real configs
/// (env, labels, one history entry per layer) are a few KiB, rarely 100s of
/// KiB. Twice the manifest limit, as a config may carry long histories.
pub const CONFIG_LIMIT: u64 = 8 << 20;

/// The token server's JSON answer: a token (a JWT of a few KiB), its
/// lifetime, perhaps a refresh token.
pub const TOKEN_LIMIT: u64 = 1 << 20;

/// An error answer's body, read only for its error codes.
pub const ERROR_BODY_LIMIT: u64 = 64 << 10;

/// What counts as progress within one window of the progress timeout.
pub const MIN_PROGRESS_BYTES: u64 = 1024;

/// The default progress timeout: the kubelet's old
/// `--image-pull-progress-deadline` default.
pub const DEFAULT_PROGRESS_TIMEOUT: Duration = Duration::from_secs(60);

/// The progress rule of one request's body: it stalls when a window of
/// `timeout` passes with fewer than [`MIN_PROGRESS_BYTES`] received. Each
/// time that many arrive, a new window starts.
#[derive(Debug, Clone)]
pub struct ProgressWindow {
    timeout: Duration,
    started: Instant,
    bytes: u64,
}

impl ProgressWindow {
    pub fn new(now: Instant, timeout: Duration) -> ProgressWindow {
        ProgressWindow {
            timeout,
            started: now,
            bytes: 0,
        }
    }

    /// `n` bytes arrived at `now`.
    pub fn record(&mut self, now: Instant, n: usize) {
        self.bytes += n as u64;
        if self.bytes >= MIN_PROGRESS_BYTES {
            self.started = now;
            self.bytes = 0;
        }
    }

    /// When the request counts as stalled unless enough bytes come first.
    pub fn deadline(&self) -> Instant {
        self.started + self.timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trickle_stalls_and_a_steady_stream_does_not() {
        let start = Instant::now();
        let timeout = Duration::from_secs(60);
        let mut window = ProgressWindow::new(start, timeout);
        assert_eq!(window.deadline(), start + timeout);
        // One byte every 30 s: the window never restarts, the deadline stays.
        for i in 1..=2 {
            window.record(start + Duration::from_secs(30 * i), 1);
        }
        assert_eq!(window.deadline(), start + timeout);

        // 1 KiB in small pieces restarts the window when the last one lands.
        let mut window = ProgressWindow::new(start, timeout);
        for i in 1..=4 {
            window.record(start + Duration::from_secs(i), 256);
        }
        assert_eq!(window.deadline(), start + Duration::from_secs(4) + timeout);
        // And the count starts again from zero.
        window.record(start + Duration::from_secs(50), 1000);
        assert_eq!(window.deadline(), start + Duration::from_secs(4) + timeout);
    }
}
