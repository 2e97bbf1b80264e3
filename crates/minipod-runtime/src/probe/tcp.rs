//! The `tcpSocket` check: a connection opened, from inside the pod.

use std::time::{Duration, Instant};

use super::dial::{DEFAULT_HOST, connect, resolve};
use super::error::ProbeError;
use super::network::in_pod_network;
use crate::pod::RunningPod;

/// `tcpSocket`: succeeds when a TCP connection to `host:port` (default
/// host [`DEFAULT_HOST`]) opens within `timeout`, from inside the pod's
/// network namespace. The connection is closed at once.
pub fn tcp_check(
    running: &RunningPod,
    host: Option<&str>,
    port: u16,
    timeout: Duration,
) -> Result<(), ProbeError> {
    let deadline = Instant::now() + timeout;
    let host = host.filter(|h| !h.is_empty()).unwrap_or(DEFAULT_HOST);
    let addrs = resolve(host, port)?;
    in_pod_network(running, move || connect(&addrs, deadline).map(drop))
}
