use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn address(interface: &str, address: &str) -> InterfaceAddress {
    InterfaceAddress {
        interface: interface.into(),
        address: ip(address),
    }
}

/// This machine's tables: a default route on eth0 (via 192.0.2.1) and an
/// IPv6 one via fd00::1.
const ROUTE_V4: &str = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
const ROUTE_V6: &str = "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n\
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n\
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";

fn host() -> Vec<InterfaceAddress> {
    vec![
        address("lo", "127.0.0.1"),
        address("eth0", "192.0.2.2"),
        address("lo", "::1"),
        address("eth0", "fe80::1"),
        address("eth0", "fd00::2"),
        address("wlan0", "198.51.100.7"),
    ]
}

#[test]
fn the_default_ipv4_routes_interface_gives_the_address() {
    assert_eq!(
        default_route_address(ROUTE_V4, ROUTE_V6, &host()),
        Some(ip("192.0.2.2"))
    );
}

#[test]
fn the_lowest_metric_default_route_wins() {
    let table = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n\
eth0\t00000000\t010200C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n\
wlan0\t00000000\t016433C6\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
tun0\t00000000\t00000000\t0000\t0\t0\t1\t00000000\t0\t0\t0\n";
    assert_eq!(
        default_route_address(table, "", &host()),
        Some(ip("198.51.100.7")),
        "tun0's route is down"
    );
}

#[test]
fn without_an_ipv4_default_route_the_ipv6_one_gives_a_global_address() {
    let header_only = ROUTE_V4.lines().next().unwrap_or_default();
    assert_eq!(
        default_route_address(header_only, ROUTE_V6, &host()),
        Some(ip("fd00::2")),
        "not fe80::1"
    );
}

#[test]
fn no_default_route_or_no_usable_address_gives_none() {
    assert_eq!(default_route_address("", "", &host()), None);
    let only_link_local = [address("eth0", "169.254.3.4"), address("eth0", "fe80::1")];
    assert_eq!(
        default_route_address(ROUTE_V4, ROUTE_V6, &only_link_local),
        None
    );
}

#[test]
fn node_ips_are_one_address_or_one_per_family() {
    assert_eq!(
        parse_node_ips("--node-ip", "192.0.2.2"),
        Ok(vec![ip("192.0.2.2")])
    );
    assert_eq!(
        parse_node_ips("--node-ip", "2001:db8::2,192.0.2.2"),
        Ok(vec![ip("2001:db8::2"), ip("192.0.2.2")]),
        "the first family is the primary one"
    );
    let error = |text: &str| parse_node_ips("nodeIP", text).unwrap_err().to_string();
    assert_eq!(error("node-1"), r#"nodeIP: "node-1" is not an IP address"#);
    assert_eq!(
        error("0.0.0.0"),
        "nodeIP: 0.0.0.0 cannot be a node's address (unspecified or multicast)"
    );
    assert_eq!(
        error("192.0.2.2,192.0.2.3"),
        "nodeIP: two addresses must be of different IP families, got 192.0.2.2 and 192.0.2.3"
    );
    assert_eq!(
        error("192.0.2.2,2001:db8::2,192.0.2.3"),
        "nodeIP: at most two addresses, one per IP family (dual-stack), got 3"
    );
}

#[test]
fn this_host_has_a_node_address() {
    let ips = host_default_ips();
    let addresses = interface_addresses().expect("getifaddrs");
    assert!(
        matches!(ips[..], [one] if addresses.iter().any(|a| a.address == one)),
        "{ips:?} should be one of this host's addresses: {addresses:?}"
    );
}
