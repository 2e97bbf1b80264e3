//! The NAT tests' world (`tests/nat.rs`): the scene with a bridge and a
//! pod's link, a scratch table, an outside namespace, servers that answer
//! with the address they see a connection come from, clients in a
//! namespace.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use minipod_cni::PortMapping;
use minipod_cni::cidr::{Ipv4Net, choose_pod_cidr, parse_proc_net_route};
use minipod_cni::nat::{Nft, TableName};
use minipod_linux::net::{
    Ipv4Interface, LinkSetting, PodLink, attach_pod, enable_link_setting, ensure_bridge,
    link_setting,
};
use minipod_linux::net_namespace::enter_on_this_thread;

use crate::scene::{self, Scene, link_exists, quiet, run};

/// Free /24s of 10.203.0.0/16, starting at an offset of the pid.
pub fn free_ranges(count: usize) -> Vec<Ipv4Net> {
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
pub struct World {
    pub scene: Scene,
    pub table: TableName,
    pub nft: Nft,
    pub gateway: Ipv4Addr,
    pub pod: Ipv4Addr,
    pub outside: Option<Outside>,
}

pub struct Outside {
    pub netns_path: PathBuf,
    pub host_side: Ipv4Addr,
    pub address: Ipv4Addr,
}

pub fn table_name() -> String {
    format!("mpn{}", std::process::id())
}

pub fn table_listed() -> bool {
    run("nft", &["list", "tables"])
        .lines()
        .any(|l| l.trim() == format!("table ip {}", table_name()))
}

/// The scene with its bridge (forwarding and route_localnet on, as the
/// runtime will set them), the pod's link, and the table's clean-up; the
/// table itself is the test's to make.
pub fn world() -> World {
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
    pub fn set_up_node(&self) -> Duration {
        let start = Instant::now();
        self.nft
            .set_up_node(&self.table, &self.scene.bridge, self.scene.cidr)
            .expect("the node's table");
        start.elapsed()
    }

    /// A namespace beyond the host, joined to it by a veth pair on
    /// another /24: it knows no route to the pods.
    pub fn add_outside(&mut self) {
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
pub fn in_netns<T: Send + 'static>(netns: &Path, work: impl FnOnce() -> T + Send + 'static) -> T {
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
pub struct PeerEcho {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PeerEcho {
    pub fn start(netns: &Path, port: u16) -> PeerEcho {
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

/// A UDP server in a namespace that answers each datagram with the
/// address it sees it come from, until dropped.
pub struct UdpPeerEcho {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl UdpPeerEcho {
    pub fn start(netns: &Path, port: u16) -> UdpPeerEcho {
        let socket = in_netns(netns, move || {
            UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port)).expect("bind in the namespace")
        });
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("timeout");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            while !stopped.load(Ordering::Relaxed) {
                if let Ok((_, peer)) = socket.recv_from(&mut buf) {
                    let _ = socket.send_to(peer.ip().to_string().as_bytes(), peer);
                }
            }
        });
        UdpPeerEcho {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for UdpPeerEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The answer of a UDP server at `addr` to one datagram.
pub fn ask_udp(addr: SocketAddrV4) -> std::io::Result<String> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    socket.connect(addr)?;
    socket.set_read_timeout(Some(Duration::from_secs(1)))?;
    socket.send(b"?")?;
    let mut buf = [0u8; 64];
    let n = socket.recv(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// A UDP port nothing on the host is bound to now.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|s| s.local_addr())
        .expect("a free UDP port")
        .port()
}

/// The line a server answers at `addr`, connecting from the calling
/// thread's namespace.
pub fn ask(addr: SocketAddrV4) -> std::io::Result<String> {
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
pub fn ask_from(netns: &Path, addr: SocketAddrV4) -> std::io::Result<String> {
    in_netns(netns, move || ask(addr))
}

/// `N` different ports nothing on the host listens on now (the kernel's
/// choice; each held until all are chosen).
pub fn free_host_ports<const N: usize>() -> [u16; N] {
    let held: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free port"))
        .collect();
    std::array::from_fn(|i| held[i].local_addr().expect("its port").port())
}

pub fn mapping(host_port: u16, container_port: u16, host_ip: Option<&str>) -> PortMapping {
    PortMapping {
        host_port,
        container_port,
        protocol: "tcp".to_owned(),
        host_ip: host_ip.map(str::to_owned),
    }
}

pub fn report(test: &str, what: &str, took: Duration) {
    let _ = writeln!(
        std::io::stderr(),
        "{test}: {what} took {:.2} ms",
        took.as_secs_f64() * 1000.0
    );
}
/// The median and the sorted runs, in milliseconds.
pub fn summary(mut runs: Vec<Duration>) -> String {
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
