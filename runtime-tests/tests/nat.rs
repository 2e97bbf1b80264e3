//! NAT and host ports of the native default network (`minipod_cni::nat`,
//! applied with the system's `nft`; the bridge's `forwarding` and
//! `route_localnet` from `minipod_linux::net`), with real packets: a
//! host port reached from the host on 127.0.0.1 and on the bridge's
//! address, and from the pod itself (hairpin); a pod's connection out to
//! an "outside" namespace masqueraded behind the host's address; a pod's
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
//! `forwarding` of the test's own links), and checked unchanged. All
//! traffic stays on this machine.

#[allow(dead_code)] // the CNI tests' scene; this file uses part of it
#[path = "cni/scene.rs"]
mod scene;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use minipod_cni::PortMapping;
use minipod_cni::cidr::{Ipv4Net, choose_pod_cidr, parse_proc_net_route};
use minipod_cni::nat::{NatError, Nft, TableName};
use minipod_linux::net::{
    Ipv4Interface, LinkSetting, PodLink, attach_pod, enable_link_setting, ensure_bridge,
    link_setting,
};
use minipod_linux::net_namespace::enter_on_this_thread;
use minipod_runtime_tests::{root_on_the_host_or_skip, serial, wait_until_or};
use scene::{DEADLINE, Scene, link_exists, quiet, run};

/// Free /24s of 10.203.0.0/16, starting at an offset of the pid.
fn free_ranges(count: usize) -> Vec<Ipv4Net> {
    let routes = parse_proc_net_route(&std::fs::read_to_string("/proc/net/route").expect("routes"));
    let offset = std::process::id() % 256;
    let mut candidates: Vec<Ipv4Net> = (0..256u32)
        .filter_map(|i| Ipv4Net::new(Ipv4Addr::new(10, 203, ((i + offset) % 256) as u8, 0), 24))
        .collect();
    let mut ranges = Vec::new();
    while ranges.len() < count {
        let range = choose_pod_cidr(&routes, &candidates).expect("a free /24 in 10.203.0.0/16");
        candidates.retain(|c| *c != range);
        ranges.push(range);
    }
    ranges
}

/// The test's world: the scene (pod namespace, bridge), the table, the
/// pod's link; an outside namespace on demand.
struct World {
    scene: Scene,
    table: TableName,
    nft: Nft,
    gateway: Ipv4Addr,
    pod: Ipv4Addr,
    outside: Option<Outside>,
}

struct Outside {
    netns_path: PathBuf,
    host_side: Ipv4Addr,
    address: Ipv4Addr,
}

fn table_name() -> String {
    format!("mpn{}", std::process::id())
}

fn table_listed() -> bool {
    run("nft", &["list", "tables"])
        .lines()
        .any(|l| l.trim() == format!("table ip {}", table_name()))
}

/// The scene with its bridge (forwarding and route_localnet on, as the
/// runtime will set them), the pod's link, and the table's clean-up; the
/// table itself is the test's to make.
fn world() -> World {
    let mut scene = scene::scene();
    let [cidr, _] = free_ranges(2)[..] else {
        unreachable!()
    };
    scene.cidr = cidr;
    let table = TableName::new(&table_name()).expect("a table name");
    assert!(!table_listed(), "table ip {table} exists already: not ours");
    let t = table.to_string();
    scene.cleanup.push("table", move || {
        if quiet("nft", &["list", "table", "ip", &t]) {
            let _ = quiet("nft", &["delete", "table", "ip", &t]);
        }
    });
    let veth = format!("mpv{}", std::process::id());
    let v = veth.clone();
    scene.cleanup.push("veth", move || {
        if link_exists(&v) {
            let _ = quiet("ip", &["link", "del", "dev", &v]);
        }
    });
    let at = |n| Ipv4Interface {
        address: cidr.nth(n).expect("an address of the /24"),
        prefix_len: cidr.prefix,
    };
    let (gateway, pod) = (at(1), at(2));
    ensure_bridge(&scene.bridge, gateway).expect("the bridge");
    // (A new link's forwarding follows conf/default, which follows the
    // host-wide switch: it may be on already.)
    assert!(
        enable_link_setting(&scene.bridge, LinkSetting::RouteLocalnet).expect("route_localnet"),
        "route_localnet was on on a new bridge"
    );
    enable_link_setting(&scene.bridge, LinkSetting::Forwarding).expect("forwarding");
    for setting in [LinkSetting::Forwarding, LinkSetting::RouteLocalnet] {
        assert!(link_setting(&scene.bridge, setting).expect("read"));
        assert!(!enable_link_setting(&scene.bridge, setting).expect("again"));
    }
    attach_pod(&PodLink {
        netns: &scene.netns_path,
        pod_interface: "eth0",
        host_interface: &veth,
        bridge: &scene.bridge,
        address: pod,
        gateway: gateway.address,
        hairpin: true,
    })
    .expect("the pod's link");
    World {
        nft: Nft::find().expect("nft (scripts/setup.sh installs nftables)"),
        table,
        gateway: gateway.address,
        pod: pod.address,
        scene,
        outside: None,
    }
}

impl World {
    fn set_up_node(&self) -> Duration {
        let start = Instant::now();
        self.nft
            .set_up_node(&self.table, &self.scene.bridge, self.scene.cidr)
            .expect("the node's table");
        start.elapsed()
    }

    /// A namespace beyond the host, joined to it by a veth pair on
    /// another /24: it knows no route to the pods.
    fn add_outside(&mut self) {
        let pid = std::process::id();
        let netns = format!("minipod-test-{pid}-out");
        let veth = format!("mpo{pid}");
        run("ip", &["netns", "add", &netns]);
        let ns = netns.clone();
        self.scene.cleanup.push("outside netns", move || {
            let _ = quiet("ip", &["netns", "del", &ns]);
        });
        let v = veth.clone();
        self.scene.cleanup.push("outside veth", move || {
            if link_exists(&v) {
                let _ = quiet("ip", &["link", "del", "dev", &v]);
            }
        });
        let range = free_ranges(2)
            .into_iter()
            .find(|r| *r != self.scene.cidr)
            .expect("a second /24");
        let (host_side, address) = (range.nth(1).expect(".1"), range.nth(2).expect(".2"));
        run(
            "ip",
            &[
                "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &netns,
            ],
        );
        run(
            "ip",
            &["addr", "add", &format!("{host_side}/24"), "dev", &veth],
        );
        run("ip", &["link", "set", &veth, "up"]);
        run(
            "ip",
            &[
                "-n",
                &netns,
                "addr",
                "add",
                &format!("{address}/24"),
                "dev",
                "eth0",
            ],
        );
        run("ip", &["-n", &netns, "link", "set", "eth0", "up"]);
        // The answers arrive on this link and are routed on to the pod.
        enable_link_setting(&veth, LinkSetting::Forwarding).expect("forwarding on the test veth");
        self.outside = Some(Outside {
            netns_path: Path::new("/run/netns").join(&netns),
            host_side,
            address,
        });
    }
}

/// Runs `work` on a thread of its own inside the network namespace at
/// `netns` (sockets it makes belong there).
fn in_netns<T: Send + 'static>(netns: &Path, work: impl FnOnce() -> T + Send + 'static) -> T {
    let netns = netns.to_owned();
    std::thread::spawn(move || {
        let file = std::fs::File::open(&netns).expect("open the namespace");
        enter_on_this_thread(&file).expect("enter the namespace");
        work()
    })
    .join()
    .expect("the namespace's thread")
}

/// A TCP server in a namespace that answers each connection with the
/// address it sees the connection come from, until dropped.
struct PeerEcho {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PeerEcho {
    fn start(netns: &Path, port: u16) -> PeerEcho {
        let listener = in_netns(netns, move || {
            TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).expect("listen in the namespace")
        });
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut conn, peer)) => {
                        let _ = conn.set_nonblocking(false);
                        let _ = writeln!(conn, "{}", peer.ip());
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        PeerEcho {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for PeerEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The line a server answers at `addr`, connecting from the calling
/// thread's namespace.
fn ask(addr: SocketAddrV4) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&SocketAddr::V4(addr), Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    if text.is_empty() {
        return Err(std::io::Error::other("connected, no answer"));
    }
    Ok(text.trim().to_owned())
}

/// [`ask`] from inside the namespace at `netns`.
fn ask_from(netns: &Path, addr: SocketAddrV4) -> std::io::Result<String> {
    in_netns(netns, move || ask(addr))
}

/// `N` different ports nothing on the host listens on now (the kernel's
/// choice; each held until all are chosen).
fn free_host_ports<const N: usize>() -> [u16; N] {
    let held: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free port"))
        .collect();
    std::array::from_fn(|i| held[i].local_addr().expect("its port").port())
}

fn mapping(host_port: u16, container_port: u16, host_ip: Option<&str>) -> PortMapping {
    PortMapping {
        host_port,
        container_port,
        protocol: "tcp".to_owned(),
        host_ip: host_ip.map(str::to_owned),
    }
}

fn report(test: &str, what: &str, took: Duration) {
    let _ = writeln!(
        std::io::stderr(),
        "{test}: {what} took {:.2} ms",
        took.as_secs_f64() * 1000.0
    );
}

const SERVER_PORT: u16 = 8080;

#[test]
fn a_host_port_answers_on_loopback_on_a_host_address_and_to_its_own_pod() {
    let test = "a_host_port_answers_on_loopback_on_a_host_address_and_to_its_own_pod";
    if !root_on_the_host_or_skip(test) {
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

#[test]
fn a_pods_connection_out_is_masqueraded_behind_the_host() {
    let test = "a_pods_connection_out_is_masqueraded_behind_the_host";
    if !root_on_the_host_or_skip(test) {
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
}

/// Input that would be nft syntax in a script is refused before nft
/// runs: the table stays exactly as it was. Each value below is a valid
/// nft script once pasted into its line; without the check it would
/// flush the table's masquerade or DNAT rules.
#[test]
fn input_carrying_nft_syntax_is_refused_and_changes_nothing() {
    let test = "input_carrying_nft_syntax_is_refused_and_changes_nothing";
    if !root_on_the_host_or_skip(test) {
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

/// 20 runs of each: the node's table set up (made, then brought up to
/// date), a pod's two host ports added and removed, the table deleted and
/// made again. Each run's result is checked. The figures of decision 0018.
#[test]
fn nat_times() {
    let test = "nat_times";
    if !root_on_the_host_or_skip(test) {
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
