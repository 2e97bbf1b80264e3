//! Links over route netlink: find one by name, create a bridge or a veth
//! pair, bring a link up, make it a port of a bridge, delete it
//! (rtnetlink(7), `RTM_NEWLINK`/`RTM_GETLINK`/`RTM_SETLINK`/`RTM_DELLINK`).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    InfoBridgePort, InfoData, InfoKind, InfoPortData, InfoPortKind, InfoVeth, LinkAttribute,
    LinkFlags, LinkInfo, LinkMessage,
};

use super::socket::RouteSocket;

/// The longest interface name: `IFNAMSIZ` (16) less the terminating NUL.
pub const MAX_LINK_NAME: usize = 15;

/// Why `name` cannot name a link, as the kernel's `dev_valid_name` sees it
/// (net/core/dev.c): empty, longer than [`MAX_LINK_NAME`] bytes, `.` or
/// `..`, or containing `/`, `:` or white space.
pub fn link_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name.len() > MAX_LINK_NAME {
        Some("is longer than 15 bytes (IFNAMSIZ)")
    } else if name == "." || name == ".." {
        Some("is . or ..")
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace())
    {
        Some("contains '/', ':' or white space")
    } else {
        None
    }
}

/// What [`find`] learns of a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FoundLink {
    pub index: u32,
    pub kind: Option<InfoKind>,
}

/// The link called `name` in the socket's namespace, or `None`.
pub(crate) fn find(socket: &mut RouteSocket, name: &str) -> io::Result<Option<FoundLink>> {
    let mut request = LinkMessage::default();
    request
        .attributes
        .push(LinkAttribute::IfName(name.to_owned()));
    match socket.request(RouteNetlinkMessage::GetLink(request), 0) {
        Ok(replies) => Ok(replies.into_iter().find_map(|reply| match reply {
            RouteNetlinkMessage::NewLink(link) => Some(FoundLink {
                index: link.header.index,
                kind: kind_of(&link),
            }),
            _ => None,
        })),
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
        Err(e) => Err(e),
    }
}

fn kind_of(link: &LinkMessage) -> Option<InfoKind> {
    link.attributes
        .iter()
        .find_map(|attribute| match attribute {
            LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|info| match info {
                LinkInfo::Kind(kind) => Some(kind.clone()),
                _ => None,
            }),
            _ => None,
        })
}

/// `ip link add NAME type bridge`; fails with `EEXIST` if a link of that
/// name exists.
pub(crate) fn create_bridge(socket: &mut RouteSocket, name: &str) -> io::Result<()> {
    let mut link = LinkMessage::default();
    link.attributes.push(LinkAttribute::IfName(name.to_owned()));
    link.attributes
        .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
            InfoKind::Bridge,
        )]));
    socket.request(
        RouteNetlinkMessage::NewLink(link),
        NLM_F_CREATE | NLM_F_EXCL,
    )?;
    Ok(())
}

/// `ip link add HOST type veth peer name PEER netns NETNS`: the peer is
/// born inside the namespace (`IFLA_NET_NS_FD` on the peer's message), so
/// its name never meets the host's links, and the pair exists in full or
/// not at all.
pub(crate) fn create_veth(
    socket: &mut RouteSocket,
    host: &str,
    peer: &str,
    peer_namespace: BorrowedFd<'_>,
) -> io::Result<()> {
    let mut peer_link = LinkMessage::default();
    peer_link
        .attributes
        .push(LinkAttribute::IfName(peer.to_owned()));
    peer_link
        .attributes
        .push(LinkAttribute::NetNsFd(peer_namespace.as_raw_fd()));
    let mut link = LinkMessage::default();
    link.attributes.push(LinkAttribute::IfName(host.to_owned()));
    link.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Veth),
        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_link))),
    ]));
    socket.request(
        RouteNetlinkMessage::NewLink(link),
        NLM_F_CREATE | NLM_F_EXCL,
    )?;
    Ok(())
}

/// `ip link set dev INDEX up`.
pub(crate) fn set_up(socket: &mut RouteSocket, index: u32) -> io::Result<()> {
    let mut link = LinkMessage::default();
    link.header.index = index;
    link.header.flags = LinkFlags::Up;
    link.header.change_mask = LinkFlags::Up;
    socket.request(RouteNetlinkMessage::SetLink(link), 0)?;
    Ok(())
}

/// `ip link set dev INDEX master BRIDGE up`, then the port in hairpin
/// mode when asked (`ip link set dev INDEX type bridge_slave hairpin on`:
/// frames may leave by the port they came in, so a pod reaches itself
/// through an address that is NATed back to it, as the bridge plugin's
/// `hairpinMode` does).
pub(crate) fn attach_to_bridge(
    socket: &mut RouteSocket,
    index: u32,
    bridge: u32,
    hairpin: bool,
) -> io::Result<()> {
    let mut link = LinkMessage::default();
    link.header.index = index;
    link.header.flags = LinkFlags::Up;
    link.header.change_mask = LinkFlags::Up;
    link.attributes.push(LinkAttribute::Controller(bridge));
    socket.request(RouteNetlinkMessage::SetLink(link), 0)?;
    if hairpin {
        let mut port = LinkMessage::default();
        port.header.index = index;
        port.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::PortKind(InfoPortKind::Bridge),
            LinkInfo::PortData(InfoPortData::BridgePort(vec![InfoBridgePort::HairpinMode(
                true,
            )])),
        ]));
        // RTM_NEWLINK on an existing link, no NLM_F_CREATE: the kernel
        // applies port options (`IFLA_INFO_SLAVE_DATA`) only on that path
        // (`rtnl_newlink`); RTM_SETLINK ignores `IFLA_LINKINFO`.
        socket.request(RouteNetlinkMessage::NewLink(port), 0)?;
    }
    Ok(())
}

/// `ip link del dev NAME`. Deleting one end of a veth pair deletes the
/// other, wherever it is (veth(4)). Returns whether there was such a link.
pub(crate) fn delete(socket: &mut RouteSocket, name: &str) -> io::Result<bool> {
    let mut link = LinkMessage::default();
    link.attributes.push(LinkAttribute::IfName(name.to_owned()));
    match socket.request(RouteNetlinkMessage::DelLink(link), 0) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::link_name_problem;

    #[test]
    fn link_names_are_checked_as_the_kernel_checks_them() {
        assert_eq!(link_name_problem("eth0"), None);
        assert_eq!(link_name_problem("minipod0"), None);
        assert_eq!(link_name_problem("veth0123456789a"), None, "15 bytes");
        assert_eq!(
            link_name_problem("veth0123456789ab"),
            Some("is longer than 15 bytes (IFNAMSIZ)")
        );
        assert_eq!(link_name_problem(""), Some("is empty"));
        assert_eq!(link_name_problem(".."), Some("is . or .."));
        for bad in ["a/b", "eth0:1", "a b", "a\tb"] {
            assert_eq!(
                link_name_problem(bad),
                Some("contains '/', ':' or white space"),
                "{bad:?}"
            );
        }
    }
}
