//! The `tcpSocket` check: a connection opened to the pod, from the node
//! (or from inside a pod without a network: [`super::target`]).

use std::time::{Duration, Instant};

use super::dial::{connect, resolve};
use super::error::ProbeError;
use super::network::in_network;
use super::target::dial_target;
use crate::pod::RunningPod;

/// `tcpSocket`: succeeds when a TCP connection to `host:port` (default:
/// the pod's IP) opens within `timeout`, made where
/// [`dial_target`](super::target::dial_target) says. The connection is
/// closed at once.
pub fn tcp_check(
    running: &RunningPod,
    host: Option<&str>,
    port: u16,
    timeout: Duration,
) -> Result<(), ProbeError> {
    let deadline = Instant::now() + timeout;
    let target = dial_target(host, running.pod_ips(), running.pod().uses_host_network());
    let addrs = resolve(&target.host, port)?;
    in_network(running, target.from, move || {
        connect(&addrs, deadline).map(drop)
    })
}
