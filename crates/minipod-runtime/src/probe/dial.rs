//! Names, deadlines and connections, with Go's net package's words,
//! which the kubelet's probe messages carry.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// The host when a probe names none: the pod's loopback (minipod pods have
/// no other address).
pub const DEFAULT_HOST: &str = "127.0.0.1";

pub(super) fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    // An IPv6 literal may come bracketed, as in a URL.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = (bare, port)
        .to_socket_addrs()
        .map_err(|e| format!("dial tcp: lookup {host}: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("dial tcp: lookup {host}: no such host"));
    }
    Ok(addrs)
}

pub(super) fn remaining(deadline: Instant) -> Result<Duration, String> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err("timeout: the deadline was exceeded".into())
    } else {
        Ok(left)
    }
}

/// The first address that accepts, as Go's dialer tries them.
pub(super) fn connect(addrs: &[SocketAddr], deadline: Instant) -> Result<TcpStream, String> {
    let mut last = String::from("no address");
    for addr in addrs {
        match TcpStream::connect_timeout(addr, remaining(deadline)?) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = format!("dial tcp {addr}: {}", go_dial_error(&e)),
        }
    }
    Err(last)
}

/// A connect error in the words of Go's net package, which the kubelet's
/// probe messages carry (`dial tcp 127.0.0.1:8080: connect: connection
/// refused`).
fn go_dial_error(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::ConnectionRefused => "connect: connection refused".into(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "i/o timeout".into(),
        _ => match error.raw_os_error() {
            Some(errno) => format!(
                "connect: {}",
                nix::errno::Errno::from_raw(errno).desc().to_lowercase()
            ),
            None => error.to_string(),
        },
    }
}
