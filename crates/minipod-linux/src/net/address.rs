//! IPv4 addresses and routes over route netlink (rtnetlink(7),
//! `RTM_NEWADDR`, `RTM_NEWROUTE`).

use std::io;
use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::socket::RouteSocket;

/// An IPv4 address with the length of its network's prefix
/// (`10.88.0.2/16`), as an interface holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Interface {
    pub address: Ipv4Addr,
    pub prefix_len: u8,
}

impl std::fmt::Display for Ipv4Interface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

/// `ip addr add ADDRESS/PREFIX dev INDEX`. The kernel adds the connected
/// route of the prefix with it. Fails with `EEXIST` when the link has it.
pub(crate) fn add_address(
    socket: &mut RouteSocket,
    index: u32,
    interface: Ipv4Interface,
) -> io::Result<()> {
    let mut message = AddressMessage::default();
    message.header.family = AddressFamily::Inet;
    message.header.prefix_len = interface.prefix_len;
    message.header.index = index;
    let address = IpAddr::V4(interface.address);
    // On a broadcast link IFA_LOCAL is the address and IFA_ADDRESS the
    // same (it is the peer only on point-to-point links); `ip` sets both.
    message.attributes.push(AddressAttribute::Local(address));
    message.attributes.push(AddressAttribute::Address(address));
    message
        .attributes
        .push(AddressAttribute::Broadcast(broadcast(interface)));
    socket.request(
        RouteNetlinkMessage::NewAddress(message),
        NLM_F_CREATE | NLM_F_EXCL,
    )?;
    Ok(())
}

/// The IPv4 addresses of the link `index` (`ip -4 addr show dev INDEX`).
pub(crate) fn ipv4_addresses(
    socket: &mut RouteSocket,
    index: u32,
) -> io::Result<Vec<Ipv4Interface>> {
    let mut request = AddressMessage::default();
    request.header.family = AddressFamily::Inet;
    let replies = socket.request(RouteNetlinkMessage::GetAddress(request), NLM_F_DUMP)?;
    Ok(replies
        .into_iter()
        .filter_map(|reply| match reply {
            RouteNetlinkMessage::NewAddress(a) if a.header.index == index => {
                a.attributes.iter().find_map(|attribute| match attribute {
                    AddressAttribute::Local(IpAddr::V4(address)) => Some(Ipv4Interface {
                        address: *address,
                        prefix_len: a.header.prefix_len,
                    }),
                    _ => None,
                })
            }
            _ => None,
        })
        .collect())
}

/// The network's broadcast address (`ip addr add … brd +`), as the bridge
/// plugin's addresses have it.
fn broadcast(interface: Ipv4Interface) -> Ipv4Addr {
    let host_bits = 32 - u32::from(interface.prefix_len.min(32));
    let mask = u32::MAX.checked_shl(host_bits).unwrap_or(0);
    Ipv4Addr::from(u32::from(interface.address) | !mask)
}

/// `ip route add default via GATEWAY dev INDEX` in the main table.
pub(crate) fn add_default_route(
    socket: &mut RouteSocket,
    index: u32,
    gateway: Ipv4Addr,
) -> io::Result<()> {
    let mut message = RouteMessage::default();
    message.header.address_family = AddressFamily::Inet;
    message.header.destination_prefix_length = 0;
    message.header.table = RouteHeader::RT_TABLE_MAIN;
    // `proto boot`, as `ip route add` and the CNI plugins (through
    // netlink's default) mark the routes they add.
    message.header.protocol = RouteProtocol::Boot;
    message.header.scope = RouteScope::Universe;
    message.header.kind = RouteType::Unicast;
    message
        .attributes
        .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
    message.attributes.push(RouteAttribute::Oif(index));
    socket.request(
        RouteNetlinkMessage::NewRoute(message),
        NLM_F_CREATE | NLM_F_EXCL,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Ipv4Interface, broadcast};

    #[test]
    fn the_broadcast_address_is_the_network_with_every_host_bit_set() {
        let of = |a: [u8; 4], prefix_len| {
            broadcast(Ipv4Interface {
                address: a.into(),
                prefix_len,
            })
            .to_string()
        };
        assert_eq!(of([10, 88, 0, 2], 16), "10.88.255.255");
        assert_eq!(of([10, 203, 7, 1], 24), "10.203.7.255");
        assert_eq!(of([10, 0, 0, 1], 32), "10.0.0.1");
        assert_eq!(of([10, 0, 0, 1], 0), "255.255.255.255");
    }

    #[test]
    fn an_interface_address_reads_as_cidr() {
        let a = Ipv4Interface {
            address: [10, 88, 0, 2].into(),
            prefix_len: 16,
        };
        assert_eq!(a.to_string(), "10.88.0.2/16");
    }
}
