//! Everything that goes into an nft script, checked and turned into types
//! whose text cannot be anything but what it says. A script is code that
//! runs as root in the host's firewall: a protocol of `tcp; flush ruleset`
//! or a bridge called `x" accept; #` must never reach it.

use std::net::Ipv4Addr;
use std::num::NonZeroU16;

use crate::attachment::PortMapping;
use crate::cidr::Ipv4Net;

use super::NatError;

/// The name of minipod's own table (`table ip minipod`).
pub const DEFAULT_TABLE: &str = "minipod";

/// The longest table name accepted (nft allows 255 bytes; ours are short).
pub const MAX_TABLE_NAME: usize = 32;

/// The name of an nftables table of minipod's: a letter, then letters,
/// digits or `_` (a subset of nft's identifiers that needs no quoting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName(String);

impl TableName {
    pub fn new(name: &str) -> Result<TableName, NatError> {
        let ok = name.len() <= MAX_TABLE_NAME
            && name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if ok {
            Ok(TableName(name.to_owned()))
        } else {
            Err(invalid(
                "table",
                name,
                "must be a letter then letters, digits or '_', at most 32 bytes",
            ))
        }
    }

    /// `minipod`, the node's table.
    pub fn minipod() -> TableName {
        TableName(DEFAULT_TABLE.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TableName {
    fn default() -> TableName {
        TableName::minipod()
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A bridge name for `oifname "…"`: what the kernel accepts as a link name,
/// narrowed to letters, digits, `-`, `_` and `.` so that it needs no
/// escaping inside nft's quotes and holds no `*` (a wildcard in nft's
/// interface names).
pub(crate) fn check_bridge(name: &str) -> Result<(), NatError> {
    if let Some(problem) = minipod_linux::net::link_name_problem(name) {
        return Err(invalid("bridge", name, problem));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(invalid(
            "bridge",
            name,
            "may hold only letters, digits, '-', '_' and '.'",
        ));
    }
    Ok(())
}

/// A pod CIDR that holds pods: a /31 or /32 has no room beside the
/// gateway, and a /0 would masquerade the whole host's traffic.
pub(crate) fn check_pod_cidr(cidr: Ipv4Net) -> Result<(), NatError> {
    if (1..=30).contains(&cidr.prefix) {
        Ok(())
    } else {
        Err(invalid(
            "pod CIDR",
            &cidr.to_string(),
            "must have a prefix length of 1 to 30",
        ))
    }
}

/// A pod's address as a DNAT target: a unicast address of a host.
pub(crate) fn check_pod_ip(ip: Ipv4Addr) -> Result<(), NatError> {
    if ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() || ip.is_broadcast() {
        Err(invalid(
            "pod IP",
            &ip.to_string(),
            "is not a unicast address a pod can have",
        ))
    } else {
        Ok(())
    }
}

/// The transport protocols of a `hostPort` (`ContainerPort.protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// nft's name of it (`inet_proto`).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }

    /// `tcp`, `udp` or `sctp`, in any case (the pod spec says `TCP`, CNI's
    /// `portMappings` say `tcp`).
    fn parse(text: &str) -> Option<Protocol> {
        [Protocol::Tcp, Protocol::Udp, Protocol::Sctp]
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(text))
    }
}

/// One checked host port of a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPort {
    pub protocol: Protocol,
    /// `None`: every local address (no `hostIP`, or `0.0.0.0`).
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: NonZeroU16,
    pub container_port: NonZeroU16,
}

impl HostPort {
    /// Whether the two claim the same port: same protocol and port, and
    /// the same host IP or either on every address (`0.0.0.0` conflicts
    /// with every host IP, as in the scheduler's `HostPortInfo`,
    /// pkg/scheduler/framework/types.go).
    fn clashes_with(&self, other: &HostPort) -> bool {
        self.protocol == other.protocol
            && self.host_port == other.host_port
            && (self.host_ip == other.host_ip || self.host_ip.is_none() || other.host_ip.is_none())
    }
}

/// A pod's `portMappings` checked, each error naming the entry's field
/// (`portMappings[1].hostIP`). The same host port twice is refused: the
/// kubelet's admission already refuses it, and the DNAT could only reach
/// one of them.
pub fn host_ports(mappings: &[PortMapping]) -> Result<Vec<HostPort>, NatError> {
    let mut ports: Vec<HostPort> = Vec::with_capacity(mappings.len());
    for (i, m) in mappings.iter().enumerate() {
        let field = |name: &str| format!("portMappings[{i}].{name}");
        let protocol = Protocol::parse(&m.protocol)
            .ok_or_else(|| invalid(&field("protocol"), &m.protocol, "is not tcp, udp or sctp"))?;
        let host_ip = match m.host_ip.as_deref() {
            None | Some("") => None,
            Some(text) => match text.parse::<Ipv4Addr>() {
                Ok(ip) if ip.is_unspecified() => None,
                Ok(ip) if ip.is_multicast() || ip.is_broadcast() => {
                    return Err(invalid(
                        &field("hostIP"),
                        text,
                        "is not an address of the host",
                    ));
                }
                Ok(ip) => Some(ip),
                Err(_) => {
                    return Err(invalid(
                        &field("hostIP"),
                        text,
                        "is not an IPv4 address (the default network is IPv4 only)",
                    ));
                }
            },
        };
        let port = |name: &str, value: u16| {
            NonZeroU16::new(value).ok_or_else(|| invalid(&field(name), "0", "must be 1 to 65535"))
        };
        let port = HostPort {
            protocol,
            host_ip,
            host_port: port("hostPort", m.host_port)?,
            container_port: port("containerPort", m.container_port)?,
        };
        if let Some(j) = ports.iter().position(|p| p.clashes_with(&port)) {
            return Err(NatError::Invalid {
                field: format!("portMappings[{i}]"),
                value: format!("{}/{}", m.host_port, protocol.as_str()),
                why: format!(
                    "claims the same protocol, host IP and host port as portMappings[{j}]"
                ),
            });
        }
        ports.push(port);
    }
    Ok(ports)
}

fn invalid(field: &str, value: &str, why: &str) -> NatError {
    NatError::Invalid {
        field: field.to_owned(),
        value: value.to_owned(),
        why: why.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(protocol: &str, host_ip: Option<&str>, host: u16, container: u16) -> PortMapping {
        PortMapping {
            host_port: host,
            container_port: container,
            protocol: protocol.to_owned(),
            host_ip: host_ip.map(str::to_owned),
        }
    }

    #[test]
    fn table_names_are_plain_identifiers() {
        assert_eq!(TableName::minipod().as_str(), "minipod");
        assert_eq!(TableName::new("mpn_1234").expect("ok").as_str(), "mpn_1234");
        for bad in [
            "",
            "1abc",
            "a b",
            "a;b",
            "minipod { }",
            "a\"b",
            "a-b",
            &"a".repeat(33),
        ] {
            assert!(TableName::new(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            TableName::new("x; flush ruleset")
                .expect_err("refused")
                .to_string(),
            "table: \"x; flush ruleset\" must be a letter then letters, digits or '_', at most 32 bytes"
        );
    }

    #[test]
    fn bridge_names_need_no_quoting() {
        assert!(check_bridge("minipod0").is_ok());
        assert!(check_bridge("br-1_a.b").is_ok());
        assert_eq!(
            check_bridge("x\" accept").expect_err("refused").to_string(),
            "bridge: \"x\\\" accept\" contains '/', ':' or white space"
        );
        assert_eq!(
            check_bridge("x\"accept").expect_err("refused").to_string(),
            "bridge: \"x\\\"accept\" may hold only letters, digits, '-', '_' and '.'"
        );
        for bad in ["", "br*", "br\\", "br;x", "br{", "waytoolongbridge0"] {
            assert!(check_bridge(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pod_cidrs_and_pod_ips_are_checked() {
        assert!(check_pod_cidr("10.88.0.0/16".parse().expect("cidr")).is_ok());
        assert!(check_pod_cidr("0.0.0.0/0".parse().expect("cidr")).is_err());
        assert!(check_pod_cidr("10.88.0.1/32".parse().expect("cidr")).is_err());
        assert!(check_pod_ip(Ipv4Addr::new(10, 88, 0, 2)).is_ok());
        for bad in [
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::LOCALHOST,
            Ipv4Addr::BROADCAST,
            Ipv4Addr::new(224, 0, 0, 1),
        ] {
            assert!(check_pod_ip(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn port_mappings_become_host_ports() {
        let ports = host_ports(&[
            mapping("tcp", None, 8080, 80),
            mapping("UDP", Some("127.0.0.1"), 5353, 53),
            mapping("sctp", Some("0.0.0.0"), 9999, 9),
            mapping("TCP", Some(""), 8443, 443),
        ])
        .expect("valid");
        let nz = |n| NonZeroU16::new(n).expect("non-zero");
        assert_eq!(
            ports,
            vec![
                HostPort {
                    protocol: Protocol::Tcp,
                    host_ip: None,
                    host_port: nz(8080),
                    container_port: nz(80)
                },
                HostPort {
                    protocol: Protocol::Udp,
                    host_ip: Some(Ipv4Addr::LOCALHOST),
                    host_port: nz(5353),
                    container_port: nz(53)
                },
                HostPort {
                    protocol: Protocol::Sctp,
                    host_ip: None,
                    host_port: nz(9999),
                    container_port: nz(9)
                },
                HostPort {
                    protocol: Protocol::Tcp,
                    host_ip: None,
                    host_port: nz(8443),
                    container_port: nz(443)
                },
            ]
        );
    }

    #[test]
    fn bad_port_mappings_name_their_field() {
        let err = |m: PortMapping| {
            host_ports(&[mapping("tcp", None, 1, 1), m])
                .expect_err("refused")
                .to_string()
        };
        assert_eq!(
            err(mapping(
                "tcp . 1.2.3.4 . 1 : 1.2.3.4 . 2 }; flush ruleset; #",
                None,
                80,
                80
            )),
            "portMappings[1].protocol: \"tcp . 1.2.3.4 . 1 : 1.2.3.4 . 2 }; flush ruleset; #\" is not tcp, udp or sctp"
        );
        assert_eq!(
            err(mapping("icmp", None, 80, 80)),
            "portMappings[1].protocol: \"icmp\" is not tcp, udp or sctp"
        );
        assert_eq!(
            err(mapping(
                "tcp",
                Some("127.0.0.1 . 1 : 6.6.6.6 . 1 }"),
                80,
                80
            )),
            "portMappings[1].hostIP: \"127.0.0.1 . 1 : 6.6.6.6 . 1 }\" is not an IPv4 address (the default network is IPv4 only)"
        );
        assert_eq!(
            err(mapping("tcp", Some("::1"), 80, 80)),
            "portMappings[1].hostIP: \"::1\" is not an IPv4 address (the default network is IPv4 only)"
        );
        assert_eq!(
            err(mapping("tcp", Some("255.255.255.255"), 80, 80)),
            "portMappings[1].hostIP: \"255.255.255.255\" is not an address of the host"
        );
        assert_eq!(
            err(mapping("tcp", None, 0, 80)),
            "portMappings[1].hostPort: \"0\" must be 1 to 65535"
        );
        assert_eq!(
            err(mapping("tcp", None, 80, 0)),
            "portMappings[1].containerPort: \"0\" must be 1 to 65535"
        );
        assert_eq!(
            err(mapping("TCP", Some("0.0.0.0"), 1, 2)),
            "portMappings[1]: \"1/tcp\" claims the same protocol, host IP and host port as portMappings[0]"
        );
        assert!(
            host_ports(&[
                mapping("tcp", None, 1, 1),
                mapping("tcp", Some("127.0.0.1"), 1, 1)
            ])
            .is_err(),
            "every address clashes with one of them"
        );
        // The same port on another protocol or another host IP is another key.
        assert!(host_ports(&[mapping("tcp", None, 1, 1), mapping("udp", None, 1, 1)]).is_ok());
        assert!(
            host_ports(&[
                mapping("tcp", Some("127.0.0.1"), 1, 1),
                mapping("tcp", Some("127.0.0.2"), 1, 1)
            ])
            .is_ok()
        );
    }
}
