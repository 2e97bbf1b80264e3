//! Names, deadlines and connections, with Go's net package's words,
//! which the kubelet's probe messages carry.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::error::{DialError, ProbeError};

/// The host when a probe names none and the pod has no network (its only
/// address is loopback): dialled from inside the pod ([`super::target`]).
pub const DEFAULT_HOST: &str = "127.0.0.1";

pub(super) fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, ProbeError> {
    // An IPv6 literal may come bracketed, as in a URL.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = (bare, port)
        .to_socket_addrs()
        .map_err(|source| ProbeError::Lookup {
            host: host.to_owned(),
            source,
        })?
        .collect();
    if addrs.is_empty() {
        return Err(ProbeError::NoSuchHost {
            host: host.to_owned(),
        });
    }
    Ok(addrs)
}

pub(super) fn remaining(deadline: Instant) -> Result<Duration, ProbeError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(ProbeError::Deadline)
    } else {
        Ok(left)
    }
}

/// The first address that accepts, as Go's dialer tries them.
pub(super) fn connect(addrs: &[SocketAddr], deadline: Instant) -> Result<TcpStream, ProbeError> {
    let mut last = ProbeError::NoAddress;
    for addr in addrs {
        match TcpStream::connect_timeout(addr, remaining(deadline)?) {
            Ok(stream) => return Ok(stream),
            Err(e) => {
                last = ProbeError::Dial {
                    addr: *addr,
                    source: go_dial_error(e),
                }
            }
        }
    }
    Err(last)
}

/// A connect error in the words of Go's net package, which the kubelet's
/// probe messages carry (`dial tcp 127.0.0.1:8080: connect: connection
/// refused`).
fn go_dial_error(error: std::io::Error) -> DialError {
    match error.kind() {
        std::io::ErrorKind::ConnectionRefused => DialError::Refused,
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => DialError::Timeout,
        _ => match error.raw_os_error() {
            Some(errno) => {
                DialError::Connect(minipod_linux::errno::description(errno).to_lowercase())
            }
            None => DialError::Other(error),
        },
    }
}
