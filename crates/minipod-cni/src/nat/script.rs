//! The nft scripts of minipod's table, as text for `nft -f -` (nft(8),
//! "NAT STATEMENTS", "MAPS", "CONCATENATIONS"). Each script is one batch,
//! which the kernel applies whole or not at all.
//!
//! The table does what the CNI plugins of the default chain do with
//! iptables, in one place:
//! - bridge's `ipMasq`: traffic from the pod CIDR to anything outside it,
//!   multicast apart, is masqueraded (plugins/pkg/ip/ipmasq_linux.go
//!   `SetupIPMasq`); here one rule for the node instead of a chain per pod;
//! - portmap's DNAT of a host port to the pod (its `CNI-HOSTPORT-DNAT`
//!   chain, matched on `-m addrtype --dst-type LOCAL` from `PREROUTING` and
//!   `OUTPUT`), with the host ports as elements of two maps;
//! - portmap's masquerade of a DNATed connection from `127.0.0.1` (the
//!   kernel drops a loopback source on the bridge otherwise; with
//!   `route_localnet` on the bridge it may leave, and the pod answers the
//!   bridge's address) and of a hairpin one (a pod reaching its own host
//!   port would get its answer straight from itself, not through the
//!   DNAT, and drop it; portmap's `CNI-HOSTPORT-SETMARK`).

use std::net::Ipv4Addr;

use crate::attachment::PortMapping;
use crate::cidr::Ipv4Net;

use super::NatError;
use super::input::{HostPort, TableName, check_bridge, check_pod_cidr, check_pod_ip, host_ports};

/// The map of host ports bound to one host IP:
/// protocol . host IP . host port → pod IP . container port.
pub const HOST_PORTS_MAP: &str = "hostports";
/// The map of host ports on every local address (no `hostIP`, or
/// `0.0.0.0`): protocol . host port → pod IP . container port. A second
/// map rather than `0.0.0.0` in the first: a lookup key is the packet's
/// own fields, and no packet is sent to `0.0.0.0`.
pub const HOST_PORTS_ANY_MAP: &str = "hostports_any";

/// A script made by this module from checked input: the only text the
/// executor runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    text: String,
    /// What it does, for the error if nft refuses it.
    step: String,
}

impl Script {
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn step(&self) -> &str {
        &self.step
    }
}

/// The node's table for `bridge` and `pod_cidr`, made or brought up to
/// date: it can run again at any time (each daemon start), and keeps the
/// pods' host ports already in the maps. `add table/chain/map` leave what
/// exists; the chains are flushed and filled again in the same batch, so no
/// packet ever sees them empty.
///
/// The nat chains' priorities are those of iptables' nat table
/// (`dstnat` -100, `srcnat` 100): `priority dstnat` is not accepted for
/// the output hook by nft 1.0.6, so numbers are written.
pub fn node_table(table: &TableName, bridge: &str, pod_cidr: Ipv4Net) -> Result<Script, NatError> {
    check_bridge(bridge)?;
    check_pod_cidr(pod_cidr)?;
    let t = format!("ip {table}");
    let lookups = [
        format!(
            "fib daddr type local dnat ip to meta l4proto . ip daddr . th dport map @{HOST_PORTS_MAP}"
        ),
        format!(
            "fib daddr type local dnat ip to meta l4proto . th dport map @{HOST_PORTS_ANY_MAP}"
        ),
    ];
    let mut lines = vec![
        format!("add table {t}"),
        format!(
            "add chain {t} prerouting {{ type nat hook prerouting priority -100; policy accept; }}"
        ),
        format!("add chain {t} output {{ type nat hook output priority -100; policy accept; }}"),
        format!(
            "add chain {t} postrouting {{ type nat hook postrouting priority 100; policy accept; }}"
        ),
        format!(
            "add map {t} {HOST_PORTS_MAP} {{ type inet_proto . ipv4_addr . inet_service : ipv4_addr . inet_service; }}"
        ),
        format!(
            "add map {t} {HOST_PORTS_ANY_MAP} {{ type inet_proto . inet_service : ipv4_addr . inet_service; }}"
        ),
        format!("flush chain {t} prerouting"),
        format!("flush chain {t} output"),
        format!("flush chain {t} postrouting"),
    ];
    // Connections arriving from outside (and from pods, through the bridge).
    for lookup in &lookups {
        lines.push(format!("add rule {t} prerouting {lookup}"));
    }
    // Connections from the host itself: the output hook, not prerouting.
    for lookup in &lookups {
        lines.push(format!("add rule {t} output {lookup}"));
    }
    lines.extend([
        // A host port reached on a loopback address (route_localnet lets
        // such a packet leave by the bridge; the pod must answer an
        // address it can reach).
        format!("add rule {t} postrouting oifname \"{bridge}\" ct status dnat ip saddr 127.0.0.0/8 masquerade"),
        // Hairpin, and a pod reaching another pod's host port: without it
        // the answer would go pod to pod, around the DNAT.
        format!("add rule {t} postrouting oifname \"{bridge}\" ct status dnat ip saddr {pod_cidr} masquerade"),
        // The pods' traffic out of their network (bridge's ipMasq).
        format!("add rule {t} postrouting ip saddr {pod_cidr} ip daddr != {pod_cidr} ip daddr != 224.0.0.0/4 masquerade"),
    ]);
    Ok(Script {
        text: join(lines),
        step: format!("set up the table ip {table} for {bridge} and {pod_cidr}"),
    })
}

/// The elements of a pod's host ports, added. `None` when the pod has
/// none: nft does not run at all then. Adding an element that is there
/// with the same pod IP and port again is not an error; one that maps the
/// same host port to another pod is (nft: "File exists"), and nothing of
/// the batch is applied.
pub fn add_host_ports(
    table: &TableName,
    pod_ip: Ipv4Addr,
    mappings: &[PortMapping],
) -> Result<Option<Script>, NatError> {
    check_pod_ip(pod_ip)?;
    let ports = host_ports(mappings)?;
    if ports.is_empty() {
        return Ok(None);
    }
    let lines = element_lines("add", table, pod_ip, &ports, true);
    Ok(Some(Script {
        text: join(lines),
        step: format!("add the host ports of {pod_ip} to the table ip {table}"),
    }))
}

/// The elements of a pod's host ports, removed, whether they are there or
/// not: nft 1.0.6 has no `destroy`, and deleting an absent element fails
/// the whole batch, so each is added first and deleted in the same batch.
/// An element that maps the host port to another pod is not removed: the
/// `add` refuses it and the batch fails (another pod's port is never
/// taken away by this pod's teardown).
pub fn remove_host_ports(
    table: &TableName,
    pod_ip: Ipv4Addr,
    mappings: &[PortMapping],
) -> Result<Option<Script>, NatError> {
    check_pod_ip(pod_ip)?;
    let ports = host_ports(mappings)?;
    if ports.is_empty() {
        return Ok(None);
    }
    let mut lines = element_lines("add", table, pod_ip, &ports, true);
    lines.extend(element_lines("delete", table, pod_ip, &ports, false));
    Ok(Some(Script {
        text: join(lines),
        step: format!("remove the host ports of {pod_ip} from the table ip {table}"),
    }))
}

/// The whole table deleted, whether it exists or not (`add` first, for the
/// same reason as [`remove_host_ports`]): the daemon's clean-up, and the
/// tests'.
pub fn delete_table(table: &TableName) -> Script {
    Script {
        text: join(vec![
            format!("add table ip {table}"),
            format!("delete table ip {table}"),
        ]),
        step: format!("delete the table ip {table}"),
    }
}

/// `VERB element ip TABLE MAP { … }` for each map that has elements; the
/// values (`: pod IP . port`) only when `with_values`.
fn element_lines(
    verb: &str,
    table: &TableName,
    pod_ip: Ipv4Addr,
    ports: &[HostPort],
    with_values: bool,
) -> Vec<String> {
    let element = |port: &HostPort| {
        let key = match port.host_ip {
            Some(ip) => format!("{} . {ip} . {}", port.protocol.as_str(), port.host_port),
            None => format!("{} . {}", port.protocol.as_str(), port.host_port),
        };
        if with_values {
            format!("{key} : {pod_ip} . {}", port.container_port)
        } else {
            key
        }
    };
    let mut lines = Vec::new();
    for (map, bound) in [(HOST_PORTS_MAP, true), (HOST_PORTS_ANY_MAP, false)] {
        let elements: Vec<String> = ports
            .iter()
            .filter(|p| p.host_ip.is_some() == bound)
            .map(element)
            .collect();
        if !elements.is_empty() {
            lines.push(format!(
                "{verb} element ip {table} {map} {{ {} }}",
                elements.join(", ")
            ));
        }
    }
    lines
}

fn join(lines: Vec<String>) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
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

    const POD: Ipv4Addr = Ipv4Addr::new(10, 88, 0, 2);

    #[test]
    fn the_node_table_masquerades_and_looks_up_host_ports() {
        let script = node_table(
            &TableName::minipod(),
            "minipod0",
            "10.88.0.0/16".parse().expect("cidr"),
        )
        .expect("valid");
        assert_eq!(
            script.text(),
            "\
add table ip minipod
add chain ip minipod prerouting { type nat hook prerouting priority -100; policy accept; }
add chain ip minipod output { type nat hook output priority -100; policy accept; }
add chain ip minipod postrouting { type nat hook postrouting priority 100; policy accept; }
add map ip minipod hostports { type inet_proto . ipv4_addr . inet_service : ipv4_addr . inet_service; }
add map ip minipod hostports_any { type inet_proto . inet_service : ipv4_addr . inet_service; }
flush chain ip minipod prerouting
flush chain ip minipod output
flush chain ip minipod postrouting
add rule ip minipod prerouting fib daddr type local dnat ip to meta l4proto . ip daddr . th dport map @hostports
add rule ip minipod prerouting fib daddr type local dnat ip to meta l4proto . th dport map @hostports_any
add rule ip minipod output fib daddr type local dnat ip to meta l4proto . ip daddr . th dport map @hostports
add rule ip minipod output fib daddr type local dnat ip to meta l4proto . th dport map @hostports_any
add rule ip minipod postrouting oifname \"minipod0\" ct status dnat ip saddr 127.0.0.0/8 masquerade
add rule ip minipod postrouting oifname \"minipod0\" ct status dnat ip saddr 10.88.0.0/16 masquerade
add rule ip minipod postrouting ip saddr 10.88.0.0/16 ip daddr != 10.88.0.0/16 ip daddr != 224.0.0.0/4 masquerade
"
        );
        assert_eq!(
            script.step(),
            "set up the table ip minipod for minipod0 and 10.88.0.0/16"
        );
    }

    #[test]
    fn the_node_table_refuses_bad_input() {
        let table = TableName::new("mpn1").expect("name");
        let cidr: Ipv4Net = "10.88.0.0/16".parse().expect("cidr");
        assert_eq!(
            node_table(&table, "b\";accept;#", cidr)
                .expect_err("refused")
                .to_string(),
            "bridge: \"b\\\";accept;#\" may hold only letters, digits, '-', '_' and '.'"
        );
        assert_eq!(
            node_table(&table, "minipod0", "0.0.0.0/0".parse().expect("cidr"))
                .expect_err("refused")
                .to_string(),
            "pod CIDR: \"0.0.0.0/0\" must have a prefix length of 1 to 30"
        );
    }

    #[test]
    fn a_pods_host_ports_go_to_the_map_of_their_host_ip() {
        let table = TableName::new("mpn1").expect("name");
        let script = add_host_ports(
            &table,
            POD,
            &[
                mapping("TCP", None, 8080, 80),
                mapping("udp", Some("127.0.0.1"), 5353, 53),
                mapping("tcp", Some("192.0.2.7"), 8443, 443),
                mapping("sctp", Some("0.0.0.0"), 9999, 9),
            ],
        )
        .expect("valid")
        .expect("a script");
        assert_eq!(
            script.text(),
            "\
add element ip mpn1 hostports { udp . 127.0.0.1 . 5353 : 10.88.0.2 . 53, tcp . 192.0.2.7 . 8443 : 10.88.0.2 . 443 }
add element ip mpn1 hostports_any { tcp . 8080 : 10.88.0.2 . 80, sctp . 9999 : 10.88.0.2 . 9 }
"
        );
        assert_eq!(
            script.step(),
            "add the host ports of 10.88.0.2 to the table ip mpn1"
        );
        // Only the map that has elements is named.
        let script = add_host_ports(&table, POD, &[mapping("tcp", None, 8080, 80)])
            .expect("valid")
            .expect("a script");
        assert_eq!(
            script.text(),
            "add element ip mpn1 hostports_any { tcp . 8080 : 10.88.0.2 . 80 }\n"
        );
    }

    #[test]
    fn removal_adds_then_deletes_so_it_can_run_twice() {
        let table = TableName::minipod();
        let script = remove_host_ports(
            &table,
            POD,
            &[
                mapping("tcp", None, 8080, 80),
                mapping("tcp", Some("127.0.0.1"), 8081, 81),
            ],
        )
        .expect("valid")
        .expect("a script");
        assert_eq!(
            script.text(),
            "\
add element ip minipod hostports { tcp . 127.0.0.1 . 8081 : 10.88.0.2 . 81 }
add element ip minipod hostports_any { tcp . 8080 : 10.88.0.2 . 80 }
delete element ip minipod hostports { tcp . 127.0.0.1 . 8081 }
delete element ip minipod hostports_any { tcp . 8080 }
"
        );
        assert_eq!(
            script.step(),
            "remove the host ports of 10.88.0.2 from the table ip minipod"
        );
    }

    #[test]
    fn a_pod_without_host_ports_needs_no_script() {
        let table = TableName::minipod();
        assert_eq!(add_host_ports(&table, POD, &[]).expect("valid"), None);
        assert_eq!(remove_host_ports(&table, POD, &[]).expect("valid"), None);
    }

    #[test]
    fn host_port_scripts_refuse_bad_input() {
        let table = TableName::minipod();
        let injected = mapping("tcp . 1 : 1.1.1.1 . 1 }\nflush ruleset\n#", None, 80, 80);
        for f in [add_host_ports, remove_host_ports] {
            assert_eq!(
                f(&table, POD, std::slice::from_ref(&injected))
                    .expect_err("refused")
                    .to_string(),
                "portMappings[0].protocol: \"tcp . 1 : 1.1.1.1 . 1 }\\nflush ruleset\\n#\" is not tcp, udp or sctp"
            );
            assert_eq!(
                f(&table, Ipv4Addr::LOCALHOST, &[mapping("tcp", None, 80, 80)])
                    .expect_err("refused")
                    .to_string(),
                "pod IP: \"127.0.0.1\" is not a unicast address a pod can have"
            );
        }
    }

    #[test]
    fn deleting_the_table_works_whether_it_exists_or_not() {
        let script = delete_table(&TableName::minipod());
        assert_eq!(
            script.text(),
            "add table ip minipod\ndelete table ip minipod\n"
        );
        assert_eq!(script.step(), "delete the table ip minipod");
    }
}
