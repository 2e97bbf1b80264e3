//! A pod's link to the node's bridge: a veth pair whose one end is the
//! pod's interface (`eth0`) with its address and default route, and whose
//! other end is a port of the bridge, as the CNI `bridge` plugin makes it
//! (<https://www.cni.dev/plugins/current/main/bridge/>).
//!
//! Made whole or not at all: if a step fails, the host end is deleted,
//! which deletes the pod's end with it (veth(4)), and the first error is
//! returned. Removed by deleting the host end.

use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::path::Path;

use super::address::{Ipv4Interface, add_address, add_default_route};
use super::link;
use super::socket::RouteSocket;
use super::{NetError, check_link_name, refused};
use crate::net_namespace::enter_on_this_thread;

/// What a pod's link is made of.
#[derive(Debug, Clone, Copy)]
pub struct PodLink<'a> {
    /// The pod's network namespace: its pinned file (the sandbox's
    /// `ns/net`, or `/run/netns/NAME`).
    pub netns: &'a Path,
    /// The pod's end, inside the namespace (`eth0`, CNI_IFNAME).
    pub pod_interface: &'a str,
    /// The host's end, unique on the host (`veth` and a short hash of the
    /// sandbox, as the plugins name it).
    pub host_interface: &'a str,
    /// The bridge the host end becomes a port of; it must exist
    /// ([`super::ensure_bridge`]).
    pub bridge: &'a str,
    /// The pod's address and the pod CIDR's prefix length.
    pub address: Ipv4Interface,
    /// The default route's next hop: the bridge's address.
    pub gateway: Ipv4Addr,
    /// The bridge port's hairpin mode (the plugin's `hairpinMode`).
    pub hairpin: bool,
}

/// Makes the pod's link. On error nothing of it is left.
pub fn attach_pod(pod: &PodLink<'_>) -> Result<(), NetError> {
    check_link_name("pod interface", pod.pod_interface)?;
    check_link_name("host interface", pod.host_interface)?;
    check_link_name("bridge", pod.bridge)?;
    let netns = File::open(pod.netns).map_err(|source| NetError::OpenNamespace {
        path: pod.netns.to_owned(),
        source,
    })?;
    let mut host = RouteSocket::open().map_err(NetError::Socket)?;
    let bridge = link::find(&mut host, pod.bridge)
        .map_err(refused("look up", pod.bridge))?
        .ok_or_else(|| NetError::NoSuchLink {
            link: pod.bridge.to_owned(),
        })?;
    link::create_veth(
        &mut host,
        pod.host_interface,
        pod.pod_interface,
        netns.as_fd(),
    )
    .map_err(refused(
        format!(
            "create the veth pair (peer {} in {})",
            pod.pod_interface,
            pod.netns.display()
        ),
        pod.host_interface,
    ))?;
    // From here on, an error deletes the pair.
    let result = host_side(&mut host, pod, bridge.index).and_then(|()| pod_side(pod, &netns));
    if result.is_err() {
        let _ = link::delete(&mut host, pod.host_interface);
    }
    result
}

/// The host end: a port of the bridge, up.
fn host_side(host: &mut RouteSocket, pod: &PodLink<'_>, bridge: u32) -> Result<(), NetError> {
    let found = link::find(host, pod.host_interface)
        .map_err(refused("look up", pod.host_interface))?
        .ok_or_else(|| NetError::NoSuchLink {
            link: pod.host_interface.to_owned(),
        })?;
    link::attach_to_bridge(host, found.index, bridge, pod.hairpin).map_err(refused(
        format!("make it a port of {} and bring it up", pod.bridge),
        pod.host_interface,
    ))
}

/// The pod's end, from a thread inside the pod's namespace: its address,
/// up, and the default route through the gateway.
fn pod_side(pod: &PodLink<'_>, netns: &File) -> Result<(), NetError> {
    let where_ = format!("{} in {}", pod.pod_interface, pod.netns.display());
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                enter_on_this_thread(netns).map_err(|source| NetError::EnterNamespace {
                    path: pod.netns.to_owned(),
                    source,
                })?;
                let mut socket = RouteSocket::open().map_err(NetError::Socket)?;
                let index = link::find(&mut socket, pod.pod_interface)
                    .map_err(refused("look up", &where_))?
                    .ok_or_else(|| NetError::NoSuchLink {
                        link: where_.clone(),
                    })?
                    .index;
                add_address(&mut socket, index, pod.address)
                    .map_err(refused(format!("add the address {}", pod.address), &where_))?;
                link::set_up(&mut socket, index).map_err(refused("bring up", &where_))?;
                add_default_route(&mut socket, index, pod.gateway).map_err(refused(
                    format!("add the default route via {}", pod.gateway),
                    &where_,
                ))
            })
            .join()
            .unwrap_or_else(|_| {
                Err(NetError::NamespaceThread {
                    link: where_.clone(),
                })
            })
    })
}

/// Deletes the pod's link by its host end (the pod's end goes with it).
/// Returns whether it existed: a link already gone (its namespace was
/// deleted, or a teardown is repeated) is not an error, as a CNI `DEL`
/// is not.
pub fn detach_pod(host_interface: &str) -> Result<bool, NetError> {
    check_link_name("host interface", host_interface)?;
    let mut host = RouteSocket::open().map_err(NetError::Socket)?;
    link::delete(&mut host, host_interface).map_err(refused("delete", host_interface))
}
