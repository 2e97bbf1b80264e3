//! The node's own addresses, the pods' `status.hostIP(s)`: the kubelet's
//! `--node-ip` (one address, or two of different IP families), else the
//! address of the host's default-route interface, as the kubelet picks it
//! when no address is configured (`ChooseHostInterface`, in
//! `k8s.io/apimachinery/pkg/util/net`). The choice is made here from the
//! route tables' text (`/proc/net/route`, `/proc/net/ipv6_route`, see
//! proc_net(5)) and the interfaces' addresses, so it is tested on data.

use std::net::{IpAddr, Ipv4Addr};

use minipod_linux::interfaces::{InterfaceAddress, interface_addresses};

/// A `--node-ip` that cannot be the node's address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeIpError {
    #[error("{setting}: {text:?} is not an IP address")]
    NotAnAddress { setting: &'static str, text: String },
    #[error("{setting}: {ip} cannot be a node's address (unspecified or multicast)")]
    NotUsable { setting: &'static str, ip: IpAddr },
    #[error("{setting}: at most two addresses, one per IP family (dual-stack), got {count}")]
    TooMany { setting: &'static str, count: usize },
    #[error("{setting}: two addresses must be of different IP families, got {first} and {second}")]
    SameFamily {
        setting: &'static str,
        first: IpAddr,
        second: IpAddr,
    },
}

/// `text` (`--node-ip` or the config file's `nodeIP`, named by `setting`):
/// one address, or two of different families, comma-separated, as the
/// kubelet accepts them; the first family is the primary one.
pub fn parse_node_ips(setting: &'static str, text: &str) -> Result<Vec<IpAddr>, NodeIpError> {
    let ips = text
        .split(',')
        .map(|part| {
            let ip: IpAddr = part.trim().parse().map_err(|_| NodeIpError::NotAnAddress {
                setting,
                text: part.to_owned(),
            })?;
            if ip.is_unspecified() || ip.is_multicast() {
                return Err(NodeIpError::NotUsable { setting, ip });
            }
            Ok(ip)
        })
        .collect::<Result<Vec<_>, _>>()?;
    match ips.as_slice() {
        [_] => Ok(ips),
        [first, second] if first.is_ipv4() == second.is_ipv4() => Err(NodeIpError::SameFamily {
            setting,
            first: *first,
            second: *second,
        }),
        [_, _] => Ok(ips),
        _ => Err(NodeIpError::TooMany {
            setting,
            count: ips.len(),
        }),
    }
}

/// The host's node address when none is configured: read from this host,
/// see [`default_route_address`]; `127.0.0.1` on a host without a default
/// route (or whose tables cannot be read), so pods still get a `hostIP`.
pub fn host_default_ips() -> Vec<IpAddr> {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let addresses = interface_addresses().unwrap_or_default();
    let chosen = default_route_address(
        &read("/proc/net/route"),
        &read("/proc/net/ipv6_route"),
        &addresses,
    );
    vec![chosen.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))]
}

/// The first usable address of the interface of the lowest-metric IPv4
/// default route, else of the IPv6 one, as `ChooseHostInterface` prefers
/// IPv4.
pub fn default_route_address(
    route_v4: &str,
    route_v6: &str,
    addresses: &[InterfaceAddress],
) -> Option<IpAddr> {
    let on = |interfaces: Vec<String>, v4: bool| {
        interfaces.into_iter().find_map(|interface| {
            addresses
                .iter()
                .find(|a| {
                    a.interface == interface && a.address.is_ipv4() == v4 && usable(a.address)
                })
                .map(|a| a.address)
        })
    };
    on(default_interfaces_v4(route_v4), true).or_else(|| on(default_interfaces_v6(route_v6), false))
}

/// A global address: not loopback, link-local, unspecified or multicast.
fn usable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback() || v4.is_link_local() || v4.is_unspecified() || v4.is_multicast())
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_unicast_link_local())
        }
    }
}

/// `RTF_UP`: the route is usable (route(8)).
const RTF_UP: u32 = 0x1;
/// `RTF_REJECT`: an unreachable route (the kernel's IPv6 "default via lo").
const RTF_REJECT: u32 = 0x200;

/// The interfaces of the IPv4 default routes (destination and mask 0, up),
/// lowest metric first, from `/proc/net/route`'s text.
fn default_interfaces_v4(table: &str) -> Vec<String> {
    let mut routes: Vec<(u32, String)> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [
                iface,
                destination,
                _gateway,
                flags,
                _refcnt,
                _use,
                metric,
                mask,
                ..,
            ] = f[..]
            else {
                return None;
            };
            let hex = |s: &str| u32::from_str_radix(s, 16).ok();
            // The metric is decimal, the other numbers hexadecimal.
            let metric: u32 = metric.parse().ok()?;
            let up = hex(flags)? & RTF_UP != 0;
            (up && hex(destination)? == 0 && hex(mask)? == 0).then(|| (metric, iface.to_owned()))
        })
        .collect();
    routes.sort();
    routes.into_iter().map(|(_, iface)| iface).collect()
}

/// The interfaces of the IPv6 default routes (`::/0`, up, not rejecting,
/// not on `lo`), lowest metric first, from `/proc/net/ipv6_route`'s text.
fn default_interfaces_v6(table: &str) -> Vec<String> {
    let mut routes: Vec<(u32, String)> = table
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [
                destination,
                prefix,
                _src,
                _src_prefix,
                _next_hop,
                metric,
                _refcnt,
                _use,
                flags,
                iface,
            ] = f[..]
            else {
                return None;
            };
            let hex = |s: &str| u32::from_str_radix(s, 16).ok();
            let default = destination.bytes().all(|b| b == b'0') && hex(prefix)? == 0;
            let flags = hex(flags)?;
            let usable = flags & RTF_UP != 0 && flags & RTF_REJECT == 0 && iface != "lo";
            let metric = hex(metric)?;
            (default && usable).then(|| (metric, iface.to_owned()))
        })
        .collect();
    routes.sort();
    routes.into_iter().map(|(_, iface)| iface).collect()
}

#[cfg(test)]
#[path = "node_ip_tests.rs"]
mod tests;
