//! The native default network's kernel side (`minipod_linux::net`) on real
//! links: the node's bridge (shared by pods starting at once, refused when
//! it holds another range), a pod's veth pair with `eth0`, its address and
//! default route in a network namespace (a `/run/netns` one and a real
//! sandbox's pinned one), traffic host -> pod and pod -> host, a teardown
//! that leaves no link (also when the namespace went first), a failed step
//! that leaves nothing, IPv4 forwarding; and the times of it next to the
//! CNI chain's (decision 0018).
//!
//! Everything is the test's own and removed even when an assertion fails:
//! the namespace `minipod-test-<pid>-<n>`, the bridge `mpt<pid>`, the veth
//! `mpv<pid>`, a veth pair `mpd<pid>`/`mpe<pid>`, a /24 of 10.203.0.0/16
//! that overlaps no route of the host, the CNI runs' nat rules (checked).
//! `net.ipv4.ip_forward` is restored to its value before the test. All
//! traffic stays on this machine.

#[allow(dead_code)] // the CNI tests' scene; this file uses part of it
#[path = "cni/scene.rs"]
mod scene;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use minipod_cni::default_net::loopback_network;
use minipod_linux::net::{
    Ipv4Interface, NetError, PodLink, attach_pod, detach_pod, enable_ipv4_forwarding,
    ensure_bridge, ipv4_forwarding,
};
use minipod_linux::sandbox::{Namespace, Sandbox};
use minipod_runtime_tests::{root_on_the_host_or_skip, serial, wait_until_or};
use minipod_spec::error_chain;
use scene::{DEADLINE, Scene, link_exists, quiet, read_reply, run, scene};

/// The pod's addresses in the scene's /24: `.1` the bridge, `.2` the pod.
fn addresses(scene: &Scene) -> (Ipv4Interface, Ipv4Interface) {
    let at = |n| Ipv4Interface {
        address: scene.cidr.nth(n).expect("an address of the /24"),
        prefix_len: scene.cidr.prefix,
    };
    (at(1), at(2))
}

/// A global IPv4 address of the host outside the scene's network.
fn host_address_outside(scene: &Scene) -> Option<Ipv4Addr> {
    run("ip", &["-4", "-o", "addr", "show", "scope", "global"])
        .lines()
        .filter_map(|line| {
            let cidr = line
                .split_whitespace()
                .skip_while(|w| *w != "inet")
                .nth(1)?;
            cidr.split('/').next()?.parse::<Ipv4Addr>().ok()
        })
        .find(|a| !scene.cidr.contains(*a))
}

fn host_veth() -> String {
    format!("mpv{}", std::process::id())
}

/// Registers the deletion of the test's veth, should the test fail with it.
fn delete_veth_on_cleanup(scene: &mut Scene) {
    let veth = host_veth();
    scene.cleanup.push("veth", move || {
        if link_exists(&veth) {
            let _ = quiet("ip", &["link", "del", "dev", &veth]);
        }
    });
}

fn pod_link<'a>(scene: &'a Scene, veth: &'a str) -> PodLink<'a> {
    let (gateway, pod) = addresses(scene);
    PodLink {
        netns: &scene.netns_path,
        pod_interface: "eth0",
        host_interface: veth,
        bridge: &scene.bridge,
        address: pod,
        gateway: gateway.address,
        hairpin: true,
    }
}

fn report(test: &str, what: &str, took: Duration) {
    let _ = writeln!(
        std::io::stderr(),
        "{test}: {what} took {:.2} ms",
        took.as_secs_f64() * 1000.0
    );
}

#[test]
fn a_pod_link_gives_eth0_its_address_and_route_and_its_teardown_leaves_no_link() {
    let test = "a_pod_link_gives_eth0_its_address_and_route_and_its_teardown_leaves_no_link";
    if !root_on_the_host_or_skip(test) {
        return;
    }
    let _serial = serial();
    let mut scene = scene();
    delete_veth_on_cleanup(&mut scene);
    let (gateway, pod) = addresses(&scene);
    let veth = host_veth();

    let start = Instant::now();
    ensure_bridge(&scene.bridge, gateway).expect("the bridge");
    report(test, "a new bridge", start.elapsed());
    // The bridge holds the gateway and is up; a second call changes nothing.
    let bridge_addrs = run("ip", &["-4", "-o", "addr", "show", "dev", &scene.bridge]);
    assert!(
        bridge_addrs.contains(&format!("inet {gateway} brd ")),
        "{bridge_addrs}"
    );
    let bridge_link = run("ip", &["-d", "-o", "link", "show", "dev", &scene.bridge]);
    assert!(
        bridge_link.contains("<BROADCAST,MULTICAST,UP"),
        "{bridge_link}"
    );
    assert!(bridge_link.contains(" bridge "), "{bridge_link}");
    ensure_bridge(&scene.bridge, gateway).expect("the bridge, again");
    assert_eq!(
        run("ip", &["-4", "-o", "addr", "show", "dev", &scene.bridge]),
        bridge_addrs
    );

    let start = Instant::now();
    attach_pod(&pod_link(&scene, &veth)).expect("the pod's link");
    report(test, "a pod's link", start.elapsed());

    // Inside: eth0 with the pod's address, up, the default route through
    // the bridge; the peer of the host's veth.
    let eth0 = scene.ip_n(&["-4", "-o", "addr", "show", "dev", "eth0"]);
    assert!(eth0.contains(&format!("inet {pod} brd ")), "{eth0}");
    let eth0_link = scene.ip_n(&["-o", "link", "show", "dev", "eth0"]);
    assert!(eth0_link.contains("eth0@if"), "{eth0_link}");
    assert!(eth0_link.contains(",UP,LOWER_UP>"), "{eth0_link}");
    let routes = scene.ip_n(&["-4", "route"]);
    assert!(
        routes.contains(&format!("default via {} dev eth0 ", gateway.address)),
        "{routes}"
    );
    // Outside: the host end is an up port of the bridge, in hairpin mode.
    let ports = run("ip", &["-o", "link", "show", "master", &scene.bridge]);
    assert!(ports.contains(&format!("{veth}@if")), "{ports}");
    let port = run("ip", &["-d", "-o", "link", "show", "dev", &veth]);
    assert!(port.contains("hairpin on"), "{port}");
    assert!(port.contains(",UP,LOWER_UP>"), "{port}");

    // Host -> pod: a TCP server inside the namespace answers at the pod IP.
    let mut server = scene.listen_in_pod(8080, "hello-from-the-native-network");
    let reply = wait_until_or("the pod's server answers at the pod IP", DEADLINE, || {
        read_reply(SocketAddr::new(pod.address.into(), 8080))
    });
    assert_eq!(reply, "hello-from-the-native-network\n");
    let _ = server.kill();
    let _ = server.wait();

    // Pod -> host through the default route: a host address outside the
    // pod's network (the host's own, so the traffic stays on this machine)
    // is reached through the gateway.
    if let Some(host_ip) = host_address_outside(&scene) {
        let listener = TcpListener::bind((host_ip, 0)).expect("listen on the host address");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let mut client = Command::new("ip")
            .args(["netns", "exec", &scene.netns, "busybox", "sh", "-c"])
            .arg(format!(
                "echo from-the-pod | busybox nc -w 5 {host_ip} {port}"
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start busybox nc in the pod");
        let (mut conn, from) = wait_until_or("the pod connects to the host", DEADLINE, || {
            listener.accept()
        });
        assert_eq!(from.ip(), IpAddr::V4(pod.address), "the pod's own address");
        conn.set_nonblocking(false).expect("blocking");
        conn.set_read_timeout(Some(DEADLINE)).expect("timeout");
        let mut line = String::new();
        conn.read_to_string(&mut line).expect("read");
        assert_eq!(line, "from-the-pod\n");
        let _ = client.kill();
        let _ = client.wait();
    } else {
        let _ = writeln!(
            std::io::stderr(),
            "{test}: no global IPv4 address on the host: pod -> host not checked"
        );
    }

    let start = Instant::now();
    assert!(detach_pod(&veth).expect("the teardown"), "the veth existed");
    report(test, "a pod's teardown", start.elapsed());
    // No link is left, on either side; the bridge stays, with no port.
    assert!(!link_exists(&veth), "{veth} is left");
    assert!(
        !quiet("ip", &["-n", &scene.netns, "link", "show", "dev", "eth0"]),
        "eth0 is left in the namespace"
    );
    let links = scene.ip_n(&["-o", "link", "show"]);
    assert_eq!(links.lines().count(), 1, "only lo: {links}");
    let ports = run("ip", &["-o", "link", "show", "master", &scene.bridge]);
    assert!(ports.trim().is_empty(), "bridge ports left: {ports}");
    // A second teardown (after a crash, or a namespace already gone) is
    // not an error.
    assert!(!detach_pod(&veth).expect("a second teardown"));
    drop(scene);
}

#[test]
fn a_failed_step_names_its_link_and_leaves_nothing() {
    let test = "a_failed_step_names_its_link_and_leaves_nothing";
    if !root_on_the_host_or_skip(test) {
        return;
    }
    let _serial = serial();
    let mut scene = scene();
    delete_veth_on_cleanup(&mut scene);
    let (gateway, _) = addresses(&scene);
    let veth = host_veth();

    // No bridge yet: refused before anything is made.
    let err = attach_pod(&pod_link(&scene, &veth)).expect_err("no bridge");
    assert_eq!(err.to_string(), format!("{}: no such link", scene.bridge));
    assert!(!link_exists(&veth));

    // A gateway outside the pod's network: the last step (the default
    // route) fails, and the veth pair made before it is gone again.
    ensure_bridge(&scene.bridge, gateway).expect("the bridge");
    let unreachable = Ipv4Addr::new(192, 0, 2, 1); // TEST-NET-1, RFC 5737
    let link = PodLink {
        gateway: unreachable,
        ..pod_link(&scene, &veth)
    };
    let err = attach_pod(&link).expect_err("an unreachable gateway");
    assert!(
        matches!(&err, NetError::Link { link, .. } if link.starts_with("eth0 in ")),
        "{err:?}"
    );
    assert_eq!(
        error_chain(&err),
        format!(
            "eth0 in {}: add the default route via 192.0.2.1: Network is unreachable (os error 101)",
            scene.netns_path.display()
        )
    );
    assert!(!link_exists(&veth), "{veth} is left");
    let links = scene.ip_n(&["-o", "link", "show"]);
    assert_eq!(links.lines().count(), 1, "only lo: {links}");

    // Bad input names the field; a link that is not a bridge is refused
    // before it is changed.
    let long = PodLink {
        host_interface: "veth-much-too-long",
        ..pod_link(&scene, &veth)
    };
    assert_eq!(
        attach_pod(&long).expect_err("a long name").to_string(),
        "host interface: \"veth-much-too-long\" is longer than 15 bytes (IFNAMSIZ)"
    );
    // (A veth pair: this kernel has no dummy links.)
    let dummy = format!("mpd{}", std::process::id());
    let peer = format!("mpe{}", std::process::id());
    run(
        "ip",
        &["link", "add", &dummy, "type", "veth", "peer", "name", &peer],
    );
    let d = dummy.clone();
    scene.cleanup.push("dummy", move || {
        let _ = quiet("ip", &["link", "del", "dev", &d]);
    });
    let err = ensure_bridge(&dummy, gateway).expect_err("a veth");
    assert_eq!(
        err.to_string(),
        format!("{dummy}: exists and is not a bridge")
    );
    let dummy_addrs = run("ip", &["-4", "-o", "addr", "show", "dev", &dummy]);
    assert!(dummy_addrs.trim().is_empty(), "{dummy_addrs}");

    // The bridge of another range: refused, as the bridge plugin refuses
    // it ("already has an IP address different from"), and left as it is.
    let other = Ipv4Interface {
        address: Ipv4Addr::new(10, 203, 254, 1),
        prefix_len: 24,
    };
    assert_eq!(
        ensure_bridge(&scene.bridge, other)
            .expect_err("another address")
            .to_string(),
        format!(
            "{}: already has the address {gateway}, not {other}",
            scene.bridge
        )
    );
    let bridge_addrs = run("ip", &["-4", "-o", "addr", "show", "dev", &scene.bridge]);
    assert_eq!(bridge_addrs.lines().count(), 1, "{bridge_addrs}");
    drop(scene);
}

/// Pods that start together all ensure the bridge: one makes it, the
/// others find it (or its address) made between their look and their
/// request, and none fails.
#[test]
fn pods_starting_together_share_one_bridge() {
    let test = "pods_starting_together_share_one_bridge";
    if !root_on_the_host_or_skip(test) {
        return;
    }
    let _serial = serial();
    let scene = scene();
    let (gateway, _) = addresses(&scene);
    let start = std::sync::Barrier::new(4);
    let results: Vec<Result<(), NetError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    ensure_bridge(&scene.bridge, gateway)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a thread"))
            .collect()
    });
    for result in &results {
        assert!(result.is_ok(), "{result:?}");
    }
    let bridge_addrs = run("ip", &["-4", "-o", "addr", "show", "dev", &scene.bridge]);
    assert_eq!(bridge_addrs.lines().count(), 1, "{bridge_addrs}");
    assert!(
        bridge_addrs.contains(&format!("inet {gateway} ")),
        "{bridge_addrs}"
    );
    drop(scene);
}

/// A pod whose namespace went first (unpinned by a crash, or deleted by
/// hand): its teardown is not an error, and no link is left either way.
#[test]
fn a_pod_whose_namespace_is_gone_is_torn_down_without_error() {
    let test = "a_pod_whose_namespace_is_gone_is_torn_down_without_error";
    if !root_on_the_host_or_skip(test) {
        return;
    }
    let _serial = serial();
    let mut scene = scene();
    delete_veth_on_cleanup(&mut scene);
    let (gateway, _) = addresses(&scene);
    let veth = host_veth();
    ensure_bridge(&scene.bridge, gateway).expect("the bridge");
    attach_pod(&pod_link(&scene, &veth)).expect("the pod's link");
    run("ip", &["netns", "del", &scene.netns]);
    // The kernel frees the namespace, and the pair with it, in the
    // background: the host end may or may not still be there.
    let existed = detach_pod(&veth).expect("a teardown without the namespace");
    let _ = writeln!(
        std::io::stderr(),
        "{test}: the host end was {} at teardown",
        if existed {
            "still there"
        } else {
            "already gone"
        }
    );
    assert!(!link_exists(&veth), "{veth} is left");
    let ports = run("ip", &["-o", "link", "show", "master", &scene.bridge]);
    assert!(ports.trim().is_empty(), "bridge ports left: {ports}");
    drop(scene);
}

const INIT: &str = env!("CARGO_BIN_EXE_minipod-test-init");

/// The namespace a pod really has: the sandbox's pinned `ns/net` (not a
/// `/run/netns` name), with `lo` already up by the sandbox's holder.
#[test]
fn a_sandboxs_pinned_namespace_gets_the_pods_link() {
    let test = "a_sandboxs_pinned_namespace_gets_the_pods_link";
    if !root_on_the_host_or_skip(test) {
        return;
    }
    let _serial = serial();
    let mut scene = scene();
    delete_veth_on_cleanup(&mut scene);
    let dir = tempfile::tempdir().expect("tempdir");
    let sandbox = Sandbox::create(Path::new(INIT), &dir.path().join("run"), "web")
        .expect("create the sandbox");
    let netns = sandbox
        .namespace_paths()
        .into_iter()
        .find(|(kind, _)| *kind == Namespace::Net)
        .expect("the sandbox's network namespace")
        .1;
    let (gateway, pod) = addresses(&scene);
    let veth = host_veth();
    ensure_bridge(&scene.bridge, gateway).expect("the bridge");
    attach_pod(&PodLink {
        netns: &netns,
        ..pod_link(&scene, &veth)
    })
    .expect("the pod's link");

    let inside = |args: &[&str]| {
        let net = format!("--net={}", netns.display());
        let mut all = vec![net.as_str()];
        all.extend_from_slice(args);
        run("nsenter", &all)
    };
    let eth0 = inside(&["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
    assert!(eth0.contains(&format!("inet {pod} ")), "{eth0}");
    let lo = inside(&["ip", "-o", "link", "show", "dev", "lo"]);
    assert!(lo.contains(",UP,LOWER_UP>"), "lo is up: {lo}");
    let mut server = Command::new("nsenter")
        .arg(format!("--net={}", netns.display()))
        .args([
            "busybox",
            "sh",
            "-c",
            "echo hello-sandbox | exec busybox nc -l -p 8081",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start busybox nc in the sandbox");
    let reply = wait_until_or("the sandbox's server answers", DEADLINE, || {
        read_reply(SocketAddr::new(pod.address.into(), 8081))
    });
    assert_eq!(reply, "hello-sandbox\n");
    let _ = server.kill();
    let _ = server.wait();

    assert!(detach_pod(&veth).expect("the teardown"));
    let links = inside(&["ip", "-o", "link", "show"]);
    assert_eq!(links.lines().count(), 1, "only lo: {links}");
    sandbox.remove();
    drop(scene);
}

#[test]
fn ipv4_forwarding_is_turned_on_when_off() {
    let test = "ipv4_forwarding_is_turned_on_when_off";
    if !root_on_the_host_or_skip(test) {
        return;
    }
    let _serial = serial();
    // The scene restores ip_forward to its value now when dropped.
    let scene = scene();
    let before = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").expect("read");
    assert_eq!(ipv4_forwarding().expect("read"), before.trim() == "1");
    let was_off = enable_ipv4_forwarding().expect("enable");
    assert_eq!(was_off, before.trim() == "0");
    assert!(ipv4_forwarding().expect("read"));
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").expect("read"),
        "1\n"
    );
    // On already: nothing is written.
    assert!(!enable_ipv4_forwarding().expect("enable again"));
    drop(scene);
}

/// The median and the sorted runs, in milliseconds.
fn summary(mut runs: Vec<Duration>) -> String {
    runs.sort();
    let ms: Vec<String> = runs
        .iter()
        .map(|d| format!("{:.1}", d.as_secs_f64() * 1000.0))
        .collect();
    let median = (runs[runs.len() / 2 - 1] + runs[runs.len() / 2]) / 2;
    format!(
        "median {:.2} ms of {} (sorted: {})",
        median.as_secs_f64() * 1000.0,
        runs.len(),
        ms.join(", ")
    )
}

const RUNS: usize = 20;

/// Setup and teardown of a pod's network, natively and with the CNI
/// chain, 20 times each on the same kind of namespace: the figures of
/// decision 0018. Each run's result is checked.
#[test]
fn native_and_cni_setup_and_teardown_times() {
    let test = "native_and_cni_setup_and_teardown_times";
    if !root_on_the_host_or_skip(test) {
        return;
    }
    let _serial = serial();
    let veth = host_veth();
    let nat_before = scene::nat_rules();

    // Native: the bridge ensured and the pod's link made, then deleted.
    let mut native = scene();
    delete_veth_on_cleanup(&mut native);
    let scene = &native;
    let (gateway, pod) = addresses(scene);
    let (mut setup, mut teardown) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let start = Instant::now();
        ensure_bridge(&scene.bridge, gateway).expect("the bridge");
        attach_pod(&pod_link(scene, &veth)).expect("the pod's link");
        setup.push(start.elapsed());
        let eth0 = scene.ip_n(&["-4", "-o", "addr", "show", "dev", "eth0"]);
        assert!(eth0.contains(&format!("inet {pod} ")), "{eth0}");
        let start = Instant::now();
        assert!(detach_pod(&veth).expect("the teardown"));
        teardown.push(start.elapsed());
        assert!(!link_exists(&veth));
    }
    report_runs(
        test,
        "native setup (bridge ensured + veth, address, route)",
        setup,
    );
    report_runs(test, "native teardown (veth deleted)", teardown);
    drop(native);

    // CNI: lo + the default chain (bridge with ipMasq, host-local,
    // portmap), as minipod-cni runs it today; then bridge + host-local
    // alone (no NAT), the part the native layer replaces.
    for (what, nat) in [
        ("lo + bridge/host-local/portmap", true),
        ("bridge/host-local alone", false),
    ] {
        let mut scene = scene::scene();
        let mut net = scene.network().config();
        if !nat {
            net.plugins.truncate(1);
            net.plugins[0]
                .conf
                .insert("ipMasq".to_owned(), false.into());
        }
        let cni = scene.cni();
        let (lo_net, lo, eth0) = (
            loopback_network(),
            scene.attachment("lo", Vec::new()),
            scene.attachment("eth0", Vec::new()),
        );
        let (guard_cni, guard_net, guard_eth0) = (scene.cni(), net.clone(), eth0.clone());
        scene.cleanup.push("DEL", move || {
            let _ = guard_cni.del(&guard_net, &guard_eth0);
        });
        let (mut setup, mut teardown) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let start = Instant::now();
            if nat {
                cni.add(&lo_net, &lo).expect("ADD lo");
            }
            let result = cni.add(&net, &eth0).expect("ADD");
            setup.push(start.elapsed());
            assert_eq!(result.pod_ips().len(), 1, "{result:?}");
            let start = Instant::now();
            cni.del(&net, &eth0).expect("DEL");
            if nat {
                cni.del(&lo_net, &lo).expect("DEL lo");
            }
            teardown.push(start.elapsed());
        }
        report_runs(test, &format!("CNI ADD ({what})"), setup);
        report_runs(test, &format!("CNI DEL ({what})"), teardown);
        let ports = run("ip", &["-o", "link", "show", "master", &scene.bridge]);
        assert!(ports.trim().is_empty(), "bridge ports left: {ports}");
        drop(scene);
    }
    assert_eq!(scene::nat_rules(), nat_before, "a nat rule is left");
}

fn report_runs(test: &str, what: &str, runs: Vec<Duration>) {
    let _ = writeln!(std::io::stderr(), "{test}: {what}: {}", summary(runs));
}
