//! What one client may hold on the server: time to send a request, open
//! connections, long-running streams.
//!
//! Without these, a client that sends its body one byte a minute holds a
//! connection (and its task) forever, and a client that opens a thousand
//! watches holds a thousand file descriptors: enough to take the daemon past
//! its descriptor limit, after which it can accept nothing, not even root's
//! `minipod get pods` on the unix socket.
//!
//! The Kubernetes API server is the reference:
//! - it reads request headers within 32 s (`ReadHeaderTimeout` of its secure
//!   server) and ends an ordinary request after 60 s (`--request-timeout`);
//! - it admits at most 400 ordinary and 200 mutating requests at a time
//!   (`--max-requests-inflight`, `--max-mutating-requests-inflight`) and
//!   answers 429 `TooManyRequests` with `Retry-After` past them; watches and
//!   log streams are "long-running" and exempt, bounded only by each
//!   client's own connections.
//!
//! Here an HTTP/1.1 connection carries one request at a time, so a cap on
//! connections is also a cap on requests in flight. Long-running streams get
//! their own, smaller cap, so that streams can never take every connection
//! and leave none for ordinary requests. Each listener has its own counters:
//! a flood on the TCP port (which anyone on the host can connect to, token or
//! not) does not lock root out of the unix socket.
//! See <https://kubernetes.io/docs/concepts/cluster-administration/flow-control/>.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// The seconds a client is told to wait (`Retry-After`) when refused for load,
/// as the API server's max-in-flight filter answers.
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// Bounds on the time, connections and streams of clients (per listener).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Time to receive a request's headers; it also closes a keep-alive
    /// connection idle this long. Default 32 s, the API server's.
    pub header_read_timeout: Duration,
    /// Time to receive a request's whole body, from the first read of it;
    /// past it the answer is 408 and the connection is closed. Default 60 s,
    /// the API server's request timeout (a 3 MiB body at 50 KiB/s).
    pub body_read_timeout: Duration,
    /// Open connections at a time; past it, new connections wait in the
    /// kernel's listen queue until one closes. Default 256: two listeners stay
    /// well inside the usual 1024 descriptors of a service.
    pub max_connections: usize,
    /// Watches and followed logs at a time; past it, 429 `TooManyRequests`.
    /// Default 128, half of the connections, so ordinary requests always have
    /// connections left.
    pub max_long_running: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read_timeout: Duration::from_secs(32),
            body_read_timeout: Duration::from_secs(60),
            max_connections: 256,
            max_long_running: 128,
        }
    }
}

impl ServerLimits {
    /// Refuses limits that would make the server unusable (a zero).
    pub fn check(&self) -> Result<(), ZeroLimit> {
        let zero = [
            (
                ZeroLimit::HeaderReadTimeout,
                self.header_read_timeout.is_zero(),
            ),
            (ZeroLimit::BodyReadTimeout, self.body_read_timeout.is_zero()),
            (ZeroLimit::Connections, self.max_connections == 0),
            (ZeroLimit::LongRunning, self.max_long_running == 0),
        ];
        match zero.into_iter().find(|(_, is_zero)| *is_zero) {
            Some((limit, _)) => Err(limit),
            None => Ok(()),
        }
    }
}

/// A [`ServerLimits`] value that is zero, which would refuse every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ZeroLimit {
    #[error("the header read timeout must be more than zero")]
    HeaderReadTimeout,
    #[error("the body read timeout must be more than zero")]
    BodyReadTimeout,
    #[error("the connection limit must be more than zero")]
    Connections,
    #[error("the long-running request limit must be more than zero")]
    LongRunning,
}

/// One listener's counters.
#[derive(Debug)]
pub struct Counters {
    limits: ServerLimits,
    connections: Arc<Semaphore>,
    long_running: Arc<Semaphore>,
}

impl Counters {
    /// Fresh counters for `limits`.
    pub fn new(limits: ServerLimits) -> Self {
        Counters {
            connections: Arc::new(Semaphore::new(limits.max_connections)),
            long_running: Arc::new(Semaphore::new(limits.max_long_running)),
            limits,
        }
    }

    /// The limits counted.
    pub fn limits(&self) -> &ServerLimits {
        &self.limits
    }

    /// Waits until a connection may be accepted; the connection holds the
    /// permit until it ends.
    pub async fn connection(&self) -> OwnedSemaphorePermit {
        self.connections
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }

    /// A place for one more watch or followed log, or 429 when all are taken.
    /// The stream holds the permit until it ends.
    pub fn long_running(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.long_running
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::TooManyRequests {
                message: format!(
                    "too many watches and log streams at once (the limit is {}); try again later",
                    self.limits.max_long_running
                ),
                retry_after_seconds: RETRY_AFTER_SECONDS,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_api_server() {
        let limits = ServerLimits::default();
        assert_eq!(limits.check(), Ok(()));
        assert_eq!(limits.header_read_timeout, Duration::from_secs(32));
        assert_eq!(limits.body_read_timeout, Duration::from_secs(60));
        assert!(limits.max_long_running < limits.max_connections);
    }

    #[test]
    fn a_zero_is_refused_by_name() {
        let limits = ServerLimits {
            max_long_running: 0,
            ..ServerLimits::default()
        };
        assert_eq!(limits.check(), Err(ZeroLimit::LongRunning));
        assert_eq!(
            ZeroLimit::LongRunning.to_string(),
            "the long-running request limit must be more than zero"
        );
    }

    #[test]
    fn long_running_streams_past_the_cap_get_429_until_one_ends() {
        let counters = Counters::new(ServerLimits {
            max_long_running: 2,
            ..ServerLimits::default()
        });
        let first = counters.long_running().expect("first");
        let _second = counters.long_running().expect("second");
        let refused = counters.long_running().expect_err("third");
        assert_eq!(refused.code(), 429);
        assert_eq!(refused.reason(), "TooManyRequests");
        drop(first);
        let _again = counters.long_running().expect("a place again");
    }
}
