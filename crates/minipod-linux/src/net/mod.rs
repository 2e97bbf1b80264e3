//! The kernel side of minipod's native default network: a bridge on the
//! host, a veth pair per pod with one end as the pod's `eth0`, its
//! address and default route, IPv4 forwarding (`docs/networking.md`,
//! `docs/decisions/0018-default-network.md`).
//!
//! It does what the CNI `bridge` plugin does with `isGateway` and
//! `hairpinMode`, over route netlink from our own process instead of a
//! plugin's: the same links, addresses and routes, at a fraction of the
//! time. Addresses come from the caller (IPAM is not the kernel's job).
//!
//! * `socket`: the blocking request helper (one request, its replies).
//! * [`link`]: links by name, bridges, veth pairs, up, bridge ports.
//! * [`address`]: addresses and the default route.
//! * [`bridge`]: the node's bridge, made once and shared by the pods.
//! * [`pod_link`]: a pod's link, made whole or not at all, and removed.
//! * [`forwarding`] turns `net.ipv4.ip_forward` on.
//! * [`link_sysctl`]: one link's `forwarding` and `route_localnet` (the
//!   bridge's, for NAT and host ports).
//!
//! A netlink socket acts in the network namespace it was created in
//! (netlink(7)); the pod's side is therefore done by a thread that first
//! enters the pod's namespace ([`crate::net_namespace`]) and ends with the
//! work, so no other thread ever changes namespace.

pub mod address;
pub mod bridge;
pub mod forwarding;
pub mod link;
pub mod link_sysctl;
pub mod pod_link;
mod socket;

use std::io;
use std::path::PathBuf;

pub use address::Ipv4Interface;
pub use bridge::ensure_bridge;
pub use forwarding::{enable_ipv4_forwarding, ipv4_forwarding};
pub use link::{MAX_LINK_NAME, link_name_problem};
pub use link_sysctl::{LinkSetting, enable_link_setting, link_setting, link_setting_path};
pub use pod_link::{PodLink, attach_pod, detach_pod};

/// What went wrong while building or removing a network, with the step and
/// the link it was done to.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("{field}: {name:?} {problem}")]
    BadLinkName {
        field: &'static str,
        name: String,
        problem: &'static str,
    },
    #[error("open a route netlink socket")]
    Socket(#[source] io::Error),
    #[error("open the network namespace {}", path.display())]
    OpenNamespace {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("enter the network namespace {}", path.display())]
    EnterNamespace {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A netlink request the kernel refused. `link` names the link as a
    /// person finds it (`eth0 in /run/netns/x` for a pod's side).
    #[error("{link}: {step}")]
    Link {
        step: String,
        link: String,
        #[source]
        source: io::Error,
    },
    #[error("{link}: no such link")]
    NoSuchLink { link: String },
    #[error("{link}: exists and is not a bridge")]
    NotABridge { link: String },
    #[error("{link}: already has the address {held}, not {wanted}")]
    BridgeAddress {
        link: String,
        held: String,
        wanted: String,
    },
    #[error("{link}: the thread working in the pod's namespace panicked")]
    NamespaceThread { link: String },
    #[error("{}", path.display())]
    Sysctl {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A link's name checked before any request: `field` is the caller's name
/// for it.
fn check_link_name(field: &'static str, name: &str) -> Result<(), NetError> {
    match link_name_problem(name) {
        None => Ok(()),
        Some(problem) => Err(NetError::BadLinkName {
            field,
            name: name.to_owned(),
            problem,
        }),
    }
}

/// The error of a refused request: `step` done to `link`.
fn refused(step: impl Into<String>, link: impl Into<String>) -> impl FnOnce(io::Error) -> NetError {
    let (step, link) = (step.into(), link.into());
    move |source| NetError::Link { step, link, source }
}
