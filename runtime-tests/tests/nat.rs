//! NAT and host ports of the native default network (`minipod_cni::nat`,
//! applied with the system's `nft`; the bridge's `forwarding` and
//! `route_localnet` from `minipod_linux::net`), with real packets: a
//! host port reached from the host on 127.0.0.1 and on the bridge's
//! address, and from the pod itself (hairpin); over UDP; bound to one
//! host address; a pod's connection out to
//! an "outside" namespace masqueraded behind the host's address, and a
//! connection from there to a host port reaching the pod; a pod's
//! host ports gone with its elements, the table gone with its deletion;
//! input that would carry nft syntax refused before nft runs; the times of
//! it (decision 0018).
//!
//! Everything is the test's own and removed even when an assertion fails:
//! the table `ip mpn<pid>`, the scene of `cni/scene.rs` (namespace
//! `minipod-test-<pid>-<n>`, bridge `mpt<pid>`), the pod's veth
//! `mpv<pid>`, the outside namespace `minipod-test-<pid>-out` and its veth
//! `mpo<pid>`. The ranges are /24s of 10.203.0.0/16 that no route of the
//! host overlaps, picked from an offset of the pid so that tests of other
//! checkouts running at the same time do not pick the same one. The
//! host-wide `net.ipv4.ip_forward` is never written (only the per-link
//! `forwarding` of the test's own links). All traffic stays on this
//! machine.

#[allow(dead_code)] // the CNI tests' scene; this file uses part of it
#[path = "cni/scene.rs"]
mod scene;
#[path = "nat/world.rs"]
mod world;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Instant;

use minipod_cni::PortMapping;
use minipod_cni::nat::{NatError, TableName};
use minipod_runtime_tests::{root_or_skip, serial, wait_until_or};
use scene::{DEADLINE, run};
use world::{
    PeerEcho, UdpPeerEcho, ask, ask_from, ask_udp, free_host_ports, free_udp_port, mapping, report,
    summary, table_listed, world,
};

const SERVER_PORT: u16 = 8080;

#[test]
fn a_host_port_answers_on_loopback_on_a_host_address_and_to_its_own_pod() {
    let test = "a_host_port_answers_on_loopback_on_a_host_address_and_to_its_own_pod";
    if !root_or_skip(test) {
        return;
    }
    let _serial = serial();
    let world = world();
    report(test, "the node's table", world.set_up_node());
    let _server = PeerEcho::start(&world.scene.netns_path, SERVER_PORT);
    let direct = SocketAddrV4::new(world.pod, SERVER_PORT);
    assert_eq!(
        wait_until_or("the pod's server answers at the pod IP", DEADLINE, || ask(
            direct
        )),
        world.gateway.to_string(),
        "the host reaches the pod from the bridge's address"
    );

    // One host port on every local address, one bound to 127.0.0.1.
    let [any_port, loopback_port] = free_host_ports();
    let ports = vec![
        mapping(any_port, SERVER_PORT, None),
        mapping(loopback_port, SERVER_PORT, Some("127.0.0.1")),
    ];
    let start = Instant::now();
    world
        .nft
        .add_host_ports(&world.table, world.pod, &ports)
        .expect("add the pod's host ports");
    report(test, "adding 2 host ports", start.elapsed());

    // From the host on 127.0.0.1: DNATed to the pod, and masqueraded
    // behind the bridge's address (a loopback source cannot leave).
    for port in [any_port, loopback_port] {
        let answer = ask(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
            .unwrap_or_else(|e| panic!("127.0.0.1:{port}: {e}"));
        assert_eq!(answer, world.gateway.to_string(), "127.0.0.1:{port}");
    }
    // From the host on one of its addresses (the bridge's): the source is
    // that address already.
    let answer = ask(SocketAddrV4::new(world.gateway, any_port)).expect("the bridge's address");
    assert_eq!(answer, world.gateway.to_string());
    // A host port bound to 127.0.0.1 is not on the other addresses.
    assert!(ask(SocketAddrV4::new(world.gateway, loopback_port)).is_err());

    // Hairpin: the pod reaches its own host port through the host, and is
    // masqueraded (else it would answer itself around the DNAT).
    let answer = ask_from(
        &world.scene.netns_path,
        SocketAddrV4::new(world.gateway, any_port),
    )
    .expect("the pod reaches its own host port");
    assert_eq!(answer, world.gateway.to_string());

    // Setting the node up again (a daemon restart) keeps the pod's ports.
    world.set_up_node();
    assert_eq!(
        ask(SocketAddrV4::new(Ipv4Addr::LOCALHOST, any_port)).expect("after a new set-up"),
        world.gateway.to_string()
    );

    // Removal: the ports no longer answer; a second removal is no error.
    let start = Instant::now();
    world
        .nft
        .remove_host_ports(&world.table, world.pod, &ports)
        .expect("remove the pod's host ports");
    report(test, "removing 2 host ports", start.elapsed());
    for port in [any_port, loopback_port] {
        let err = ask(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)).expect_err("gone");
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::ConnectionRefused,
            "{port}: {err}"
        );
    }
    world
        .nft
        .remove_host_ports(&world.table, world.pod, &ports)
        .expect("a second removal");
    let maps = run("nft", &["list", "table", "ip", world.table.as_str()]);
    assert!(!maps.contains(&any_port.to_string()), "{maps}");

    // The table, deleted: nothing of it is listed; deleting it again is no
    // error.
    let start = Instant::now();
    world
        .nft
        .delete_table(&world.table)
        .expect("delete the table");
    report(test, "deleting the table", start.elapsed());
    assert!(!table_listed(), "{}", run("nft", &["list", "tables"]));
    world
        .nft
        .delete_table(&world.table)
        .expect("delete it again");
}

/// UDP goes through the same maps (`th dport` is UDP's port too), and a
/// host port bound to one address of the host answers there only.
#[test]
fn a_udp_host_port_and_one_bound_to_a_host_address_answer() {
    let test = "a_udp_host_port_and_one_bound_to_a_host_address_answer";
    if !root_or_skip(test) {
        return;
    }
    let _serial = serial();
    let world = world();
    world.set_up_node();
    let _tcp = PeerEcho::start(&world.scene.netns_path, SERVER_PORT);
    let _udp = UdpPeerEcho::start(&world.scene.netns_path, SERVER_PORT);
    let (udp_port, [bound_port]) = (free_udp_port(), free_host_ports());
    let gateway = world.gateway.to_string();
    let ports = vec![
        PortMapping {
            protocol: "UDP".to_owned(),
            ..mapping(udp_port, SERVER_PORT, None)
        },
        mapping(bound_port, SERVER_PORT, Some(&gateway)),
    ];
    world
        .nft
        .add_host_ports(&world.table, world.pod, &ports)
        .expect("add the pod's host ports");

    let udp = SocketAddrV4::new(Ipv4Addr::LOCALHOST, udp_port);
    assert_eq!(ask_udp(udp).expect("UDP on 127.0.0.1"), gateway);
    let bound = SocketAddrV4::new(world.gateway, bound_port);
    assert_eq!(ask(bound).expect("the bound address"), gateway);
    let err = ask(SocketAddrV4::new(Ipv4Addr::LOCALHOST, bound_port)).expect_err("not bound");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");

    world
        .nft
        .remove_host_ports(&world.table, world.pod, &ports)
        .expect("remove the pod's host ports");
    assert!(ask_udp(udp).is_err(), "UDP still answers");
    assert!(ask(bound).is_err(), "TCP still answers");
}

#[test]
fn the_pods_traffic_out_is_masqueraded_and_the_outside_reaches_a_host_port() {
    let test = "the_pods_traffic_out_is_masqueraded_and_the_outside_reaches_a_host_port";
    if !root_or_skip(test) {
        return;
    }
    let _serial = serial();
    let mut world = world();
    world.add_outside();
    let outside = world.outside.as_ref().expect("the outside");
    let _server = PeerEcho::start(&outside.netns_path, SERVER_PORT);
    let target = SocketAddrV4::new(outside.address, SERVER_PORT);
    // The host reaches it (the server is up).
    assert_eq!(
        wait_until_or("the outside server answers the host", DEADLINE, || ask(
            target
        )),
        outside.host_side.to_string()
    );
    // Without the table, the pod's connection goes out with the pod's
    // address, which the outside cannot answer.
    assert!(
        ask_from(&world.scene.netns_path, target).is_err(),
        "reached the outside without NAT"
    );
    report(test, "the node's table", world.set_up_node());
    let answer = ask_from(&world.scene.netns_path, target).expect("the pod reaches the outside");
    assert_eq!(
        answer,
        outside.host_side.to_string(),
        "the outside sees the host's address, not the pod's {}",
        world.pod
    );

    // From outside to a host port on the host's address: DNATed in
    // prerouting, forwarded to the pod, which sees the client's own
    // address (a host port keeps the source, as portmap's does).
    let _pod_server = PeerEcho::start(&world.scene.netns_path, SERVER_PORT);
    let [port] = free_host_ports();
    world
        .nft
        .add_host_ports(&world.table, world.pod, &[mapping(port, SERVER_PORT, None)])
        .expect("add a host port");
    let via_host = SocketAddrV4::new(outside.host_side, port);
    let answer =
        ask_from(&outside.netns_path, via_host).expect("the outside reaches the host port");
    assert_eq!(answer, outside.address.to_string());
}

/// Input that would be nft syntax in a script is refused before nft
/// runs: the table stays exactly as it was. Each value below is a valid
/// nft script once pasted into its line; without the check it would
/// flush the table's masquerade or DNAT rules.
#[test]
fn input_carrying_nft_syntax_is_refused_and_changes_nothing() {
    let test = "input_carrying_nft_syntax_is_refused_and_changes_nothing";
    if !root_or_skip(test) {
        return;
    }
    let _serial = serial();
    let world = world();
    world.set_up_node();
    let t = world.table.as_str();
    let listed = || run("nft", &["list", "table", "ip", t]);
    let before = listed();
    let flush = |map: &str| {
        format!(
            "1 : 10.0.0.1 . 1 }}\nflush chain ip {t} postrouting\nadd element ip {t} {map} {{ tcp"
        )
    };
    let injected_protocol = PortMapping {
        protocol: format!("tcp . {}", flush("hostports_any")),
        ..mapping(18080, 80, None)
    };
    let injected_host_ip = mapping(
        18080,
        80,
        Some(&format!("127.0.0.1 . {}", flush("hostports"))),
    );
    for bad in [injected_protocol, injected_host_ip] {
        let err = world
            .nft
            .add_host_ports(&world.table, world.pod, std::slice::from_ref(&bad))
            .expect_err("refused");
        assert!(matches!(err, NatError::Invalid { .. }), "{err:?}");
        let err = world
            .nft
            .remove_host_ports(&world.table, world.pod, &[bad])
            .expect_err("refused");
        assert!(matches!(err, NatError::Invalid { .. }), "{err:?}");
    }
    let err = world
        .nft
        .set_up_node(&world.table, "b\";flush", world.scene.cidr)
        .expect_err("a bridge name with a quote");
    assert_eq!(
        err.to_string(),
        "bridge: \"b\\\";flush\" may hold only letters, digits, '-', '_' and '.'"
    );
    let err = TableName::new(&format!("{t} ; flush ruleset")).expect_err("a table name");
    assert!(matches!(err, NatError::Invalid { .. }), "{err:?}");
    assert_eq!(listed(), before, "the table changed");

    // A host port of another pod is not removed by this pod's teardown:
    // nft refuses the batch ("File exists") and the element stays.
    let [free] = free_host_ports();
    let port = mapping(free, SERVER_PORT, None);
    world
        .nft
        .add_host_ports(&world.table, world.pod, std::slice::from_ref(&port))
        .expect("add");
    let other_pod = world.scene.cidr.nth(3).expect(".3");
    let err = world
        .nft
        .remove_host_ports(&world.table, other_pod, std::slice::from_ref(&port))
        .expect_err("another pod's port");
    assert!(
        matches!(&err, NatError::Refused { stderr, .. } if stderr.contains("File exists")),
        "{err:?}"
    );
    assert!(listed().contains(&format!(
        "tcp . {} : {} . {SERVER_PORT}",
        port.host_port, world.pod
    )));
}

const RUNS: usize = 20;

/// 20 runs of each: the node's table set up (made, then brought up to
/// date), a pod's two host ports added and removed, the table deleted and
/// made again. Each run's result is checked. The figures of decision 0018.
#[test]
fn nat_times() {
    let test = "nat_times";
    if !root_or_skip(test) {
        return;
    }
    let _serial = serial();
    let world = world();
    let t = world.table.as_str();
    let (mut made, mut again, mut added, mut removed, mut deleted) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let [any_port, loopback_port] = free_host_ports();
    let ports = vec![
        mapping(any_port, SERVER_PORT, None),
        mapping(loopback_port, SERVER_PORT, Some("127.0.0.1")),
    ];
    for _ in 0..RUNS {
        made.push(world.set_up_node());
        again.push(world.set_up_node());
        let start = Instant::now();
        world
            .nft
            .add_host_ports(&world.table, world.pod, &ports)
            .expect("add");
        added.push(start.elapsed());
        let listed = run("nft", &["list", "map", "ip", t, "hostports_any"]);
        assert!(listed.contains(&ports[0].host_port.to_string()), "{listed}");
        let start = Instant::now();
        world
            .nft
            .remove_host_ports(&world.table, world.pod, &ports)
            .expect("remove");
        removed.push(start.elapsed());
        let start = Instant::now();
        world.nft.delete_table(&world.table).expect("delete");
        deleted.push(start.elapsed());
        assert!(!table_listed());
    }
    for (what, runs) in [
        ("node table made", made),
        ("node table set up again", again),
        ("a pod's 2 host ports added", added),
        ("a pod's 2 host ports removed", removed),
        ("table deleted", deleted),
    ] {
        let _ = writeln!(std::io::stderr(), "{test}: {what}: {}", summary(runs));
    }
}
