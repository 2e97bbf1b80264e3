//! `net.ipv4.ip_forward`: whether the host routes packets between its
//! interfaces, here between the pods' bridge and the rest of the host.
//!
//! A pod's traffic to anything beyond the bridge (through NAT, later) is
//! forwarded by the host, so a gateway bridge needs it on, as the CNI
//! `bridge` plugin's `isGateway` turns it on. It is host-wide (of the
//! network namespace it is read in) and other software relies on it too
//! (Docker, podman, VPNs), so it is turned on when off and never turned
//! back off. Writing it resets every interface's IPv4 settings to the
//! host or router defaults (ip-sysctl.rst, `ip_forward`,
//! <https://docs.kernel.org/networking/ip-sysctl.html>), so it is only
//! written when it reads 0.

use std::fs;
use std::path::Path;

use super::NetError;

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// Whether IPv4 forwarding is on in the calling thread's namespace.
pub fn ipv4_forwarding() -> Result<bool, NetError> {
    let text = fs::read_to_string(IP_FORWARD).map_err(sysctl)?;
    Ok(text.trim() != "0")
}

/// Turns IPv4 forwarding on if it is off. Returns whether it was off.
pub fn enable_ipv4_forwarding() -> Result<bool, NetError> {
    if ipv4_forwarding()? {
        return Ok(false);
    }
    fs::write(IP_FORWARD, "1").map_err(sysctl)?;
    Ok(true)
}

fn sysctl(source: std::io::Error) -> NetError {
    NetError::Sysctl {
        path: Path::new(IP_FORWARD).to_owned(),
        source,
    }
}
