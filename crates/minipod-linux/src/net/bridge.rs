//! The node's bridge: the pods' gateway, made by the first pod and shared
//! by all (the CNI `bridge` plugin's `ensureBridge` with `isGateway`:
//! it is never deleted by a pod's teardown).

use netlink_packet_route::link::InfoKind;

use super::address::{Ipv4Interface, add_address, ipv4_addresses};
use super::link::{self, FoundLink};
use super::socket::RouteSocket;
use super::{NetError, check_link_name, refused};

/// Makes sure the bridge `name` exists in the caller's network namespace,
/// holds `gateway` (the first address of the pod CIDR, with its prefix)
/// and is up. A bridge that exists is used as it is, with `gateway` added
/// if it has no IPv4 address; one with another IPv4 address, or a link of
/// that name that is not a bridge, is an error.
/// A bridge made here and not finished is deleted again.
pub fn ensure_bridge(name: &str, gateway: Ipv4Interface) -> Result<(), NetError> {
    check_link_name("bridge", name)?;
    let mut socket = RouteSocket::open().map_err(NetError::Socket)?;
    let (found, created) = match link::find(&mut socket, name).map_err(refused("look up", name))? {
        Some(found) => (found, false),
        None => {
            let created = match link::create_bridge(&mut socket, name) {
                // Another pod's start made it first: use it (and never
                // delete it: it is not ours).
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
                other => other
                    .map(|()| true)
                    .map_err(refused("create the bridge", name))?,
            };
            let found = link::find(&mut socket, name)
                .map_err(refused("look up", name))?
                .ok_or_else(|| NetError::NoSuchLink {
                    link: name.to_owned(),
                })?;
            (found, created)
        }
    };
    let result = configure(&mut socket, name, &found, gateway);
    if result.is_err() && created {
        let _ = link::delete(&mut socket, name);
    }
    result
}

fn configure(
    socket: &mut RouteSocket,
    name: &str,
    found: &FoundLink,
    gateway: Ipv4Interface,
) -> Result<(), NetError> {
    if found.kind != Some(InfoKind::Bridge) {
        return Err(NetError::NotABridge {
            link: name.to_owned(),
        });
    }
    // As the bridge plugin: the bridge's IPv4 address is the gateway and
    // nothing else; one it holds already that differs (a bridge of another
    // pod CIDR, or someone else's) is an error, not a second address.
    let held = ipv4_addresses(socket, found.index).map_err(refused("list its addresses", name))?;
    if let Some(other) = held.iter().find(|a| **a != gateway) {
        return Err(NetError::BridgeAddress {
            link: name.to_owned(),
            held: other.to_string(),
            wanted: gateway.to_string(),
        });
    }
    if held.is_empty() {
        match add_address(socket, found.index, gateway) {
            // Another pod's start added it between our look and our add.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            other => other.map_err(refused(format!("add the address {gateway}"), name))?,
        }
    }
    link::set_up(socket, found.index).map_err(refused("bring up", name))
}
