//! Pod networks with the host's real CNI plugins (Debian's
//! `containernetworking-plugins` in `/usr/lib/cni`) through `minipod-cni`:
//! the default chain's `ADD` on a network namespace the test owns, traffic
//! both ways and through a `hostPort` on 127.0.0.1, then `DEL`, and nothing
//! left behind.
//!
//! Everything the test makes is its own and is removed even when an
//! assertion fails: the namespace `minipod-test-<pid>-<n>`, a bridge
//! `mpt<pid>` (not `minipod0`), a pod CIDR from 10.203.0.0/16 that overlaps
//! no route of the host, state and IPAM under a temporary directory. The
//! plugins change two things outside those: `isGateway` turns
//! `net.ipv4.ip_forward` on host-wide (restored to its value before the
//! test), and portmap's top-level nat chains (`CNI-HOSTPORT-*` and their
//! jumps), which its `DEL` leaves by design (removed when the test's run
//! created them). All traffic stays on this machine.

use std::fs;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use minipod_cni::cidr::{Ipv4Net, choose_pod_cidr, parse_proc_net_route};
use minipod_cni::default_net::{DefaultNetwork, loopback_network};
use minipod_cni::{Attachment, Cni, CommandExec, NetworkConfig, PortMapping};
use minipod_runtime_tests::{root_on_the_host_or_skip, serial, wait_until_or};

const BIN_DIRS: [&str; 2] = ["/opt/cni/bin", "/usr/lib/cni"];
const DEADLINE: Duration = Duration::from_secs(20);

/// Clean-up steps, run in reverse order when dropped (a failed assertion
/// included).
#[derive(Default)]
struct Cleanup(Vec<(String, Box<dyn FnOnce()>)>);

impl Cleanup {
    fn push(&mut self, what: &str, step: impl FnOnce() + 'static) {
        self.0.push((what.to_owned(), Box::new(step)));
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        while let Some((_, step)) = self.0.pop() {
            step();
        }
    }
}

impl std::fmt::Debug for Cleanup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(w, _)| w))
            .finish()
    }
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn quiet(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn link_exists(name: &str) -> bool {
    quiet("ip", &["link", "show", "dev", name])
}

/// The nat table without counters, sorted: what rules and chains exist.
fn nat_rules() -> Vec<String> {
    let mut lines: Vec<String> = run("iptables-save", &["-t", "nat"])
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('*') && *l != "COMMIT")
        .map(|l| {
            // ":CHAIN POLICY [packets:bytes]" -> ":CHAIN POLICY"
            match l.rfind(" [") {
                Some(i) if l.starts_with(':') => l[..i].to_owned(),
                _ => l.to_owned(),
            }
        })
        .collect();
    lines.sort();
    lines
}

/// Splits an `iptables-save` rule into arguments (it quotes with `"`).
fn rule_args(rule: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in rule.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    args.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        args.push(cur);
    }
    args
}

/// Removes portmap's top-level nat chains and the jumps to them, when they
/// were not there before the test (then the test's run created them).
fn remove_new_portmap_chains(before: &[String]) {
    let chains = [
        "CNI-HOSTPORT-DNAT",
        "CNI-HOSTPORT-SETMARK",
        "CNI-HOSTPORT-MASQ",
    ];
    let now = nat_rules();
    let mut ours: Vec<&str> = Vec::new();
    for chain in chains {
        // `nat_rules` keeps ":CHAIN POLICY" ("-" for a user chain).
        let decl = format!(":{chain} -");
        if !before.contains(&decl) && now.contains(&decl) {
            ours.push(chain);
        }
    }
    for line in &now {
        let args = rule_args(line);
        let jumps_to_ours = args
            .windows(2)
            .any(|w| w[0] == "-j" && ours.contains(&w[1].as_str()));
        if args.first().map(String::as_str) == Some("-A") && jumps_to_ours && !before.contains(line)
        {
            let mut del = vec!["-t".to_owned(), "nat".to_owned(), "-D".to_owned()];
            del.extend(args.into_iter().skip(1));
            let del: Vec<&str> = del.iter().map(String::as_str).collect();
            let _ = quiet("iptables", &del);
        }
    }
    for chain in &ours {
        let _ = quiet("iptables", &["-t", "nat", "-F", chain]);
    }
    for chain in &ours {
        let _ = quiet("iptables", &["-t", "nat", "-X", chain]);
    }
}

/// What one test owns: names, a state dir, and the clean-up of all of it.
struct Scene {
    netns: String,
    netns_path: PathBuf,
    bridge: String,
    cidr: Ipv4Net,
    state: tempfile::TempDir,
    cleanup: Cleanup,
}

/// A pod CIDR for the test: a /24 of 10.203.0.0/16 that overlaps no route of
/// the host (chosen with the same function as the node's default).
fn test_cidr() -> Ipv4Net {
    let routes = parse_proc_net_route(&fs::read_to_string("/proc/net/route").expect("routes"));
    let candidates: Vec<Ipv4Net> = (0..=255u8)
        .filter_map(|i| Ipv4Net::new(Ipv4Addr::new(10, 203, i, 0), 24))
        .collect();
    choose_pod_cidr(&routes, &candidates).expect("a free /24 in 10.203.0.0/16")
}

fn scene() -> Scene {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    let mut cleanup = Cleanup::default();
    // Restore ip_forward first registered, so it runs last.
    let forward = fs::read_to_string("/proc/sys/net/ipv4/ip_forward").expect("ip_forward");
    cleanup.push("ip_forward", move || {
        let _ = fs::write("/proc/sys/net/ipv4/ip_forward", forward.trim());
    });
    let before = nat_rules();
    cleanup.push("portmap chains", move || remove_new_portmap_chains(&before));
    let bridge = format!("mpt{pid}");
    assert!(!link_exists(&bridge), "{bridge} already exists: not ours");
    let b = bridge.clone();
    cleanup.push("bridge", move || {
        if link_exists(&b) {
            let _ = quiet("ip", &["link", "del", "dev", &b]);
        }
    });
    let netns = format!("minipod-test-{pid}-{n}");
    run("ip", &["netns", "add", &netns]);
    let ns = netns.clone();
    cleanup.push("netns", move || {
        let _ = quiet("ip", &["netns", "del", &ns]);
    });
    Scene {
        netns_path: Path::new("/run/netns").join(&netns),
        netns,
        bridge,
        cidr: test_cidr(),
        state: tempfile::tempdir().expect("tempdir"),
        cleanup,
    }
}

impl Scene {
    fn network(&self) -> DefaultNetwork {
        let mut net = DefaultNetwork::new(self.cidr, self.state.path());
        net.name = format!("minipod-test-{}", std::process::id());
        net.bridge = self.bridge.clone();
        net
    }

    fn cni(&self) -> Cni<CommandExec> {
        Cni::new(
            BIN_DIRS.iter().map(PathBuf::from).collect(),
            self.state.path(),
            CommandExec,
        )
    }

    fn attachment(&self, if_name: &str, ports: Vec<PortMapping>) -> Attachment {
        Attachment {
            container_id: format!("sandbox-{}", self.netns),
            netns: self.netns_path.clone(),
            if_name: if_name.to_owned(),
            pod_namespace: "default".to_owned(),
            pod_name: "web".to_owned(),
            pod_uid: "00000000-0000-4000-8000-000000000013".to_owned(),
            port_mappings: ports,
        }
    }

    fn ip_n(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", self.netns.as_str()];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// A one-shot TCP server in the pod that sends `reply`.
    fn listen_in_pod(&self, port: u16, reply: &str) -> Child {
        Command::new("ip")
            .args(["netns", "exec", &self.netns, "busybox", "sh", "-c"])
            .arg(format!("echo {reply} | exec busybox nc -l -p {port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start busybox nc in the pod")
    }
}

/// Attaches `lo` then `eth0` (containerd's order), with a guard that
/// deletes both if the test fails before its own `DEL`.
fn attach(
    scene: &mut Scene,
    net: &NetworkConfig,
    ports: Vec<PortMapping>,
) -> (minipod_cni::CniResult, Duration) {
    let cni = scene.cni();
    let lo_net = loopback_network();
    let lo = scene.attachment("lo", Vec::new());
    let eth0 = scene.attachment("eth0", ports);
    let (n, l, e) = (net.clone(), lo_net.clone(), eth0.clone());
    let guard_cni = scene.cni();
    let lo_guard = lo.clone();
    scene.cleanup.push("DEL", move || {
        let _ = guard_cni.del(&n, &e);
        let _ = guard_cni.del(&l, &lo_guard);
    });
    let start = Instant::now();
    cni.add(&lo_net, &lo).expect("ADD loopback");
    let result = cni.add(net, &eth0).expect("ADD the default chain");
    (result, start.elapsed())
}

fn detach(scene: &Scene, net: &NetworkConfig, ports: Vec<PortMapping>) -> Duration {
    let cni = scene.cni();
    let start = Instant::now();
    cni.del(net, &scene.attachment("eth0", ports))
        .expect("DEL the default chain");
    cni.del(&loopback_network(), &scene.attachment("lo", Vec::new()))
        .expect("DEL loopback");
    start.elapsed()
}

fn read_reply(addr: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut text = String::new();
    let mut buf = [0u8; 256];
    while !text.ends_with('\n') {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    if text.is_empty() {
        return Err(std::io::Error::other("connected, no reply yet"));
    }
    Ok(text)
}

fn report(test: &str, what: &str, took: Duration) {
    let _ = writeln!(
        std::io::stderr(),
        "{test}: {what} took {:.1} ms",
        took.as_secs_f64() * 1000.0
    );
}

#[test]
fn default_chain_gives_the_pod_an_address_the_host_reaches_and_del_removes_it() {
    let test = "default_chain_gives_the_pod_an_address_the_host_reaches_and_del_removes_it";
    if !root_on_the_host_or_skip(test) {
        return;
    }
    let _serial = serial();
    let nat_before = nat_rules();
    let mut scene = scene();
    let default = scene.network();
    let net = default.config();
    let (result, add_time) = attach(&mut scene, &net, Vec::new());
    report(test, "ADD (lo + bridge/host-local/portmap)", add_time);

    // The pod's eth0 has the result's address, in the pod CIDR, with the
    // default route through the bridge; lo is up.
    let [IpAddr::V4(pod_ip)] = result.pod_ips()[..] else {
        panic!("one IPv4 pod address expected: {result:?}");
    };
    assert!(
        scene.cidr.contains(pod_ip),
        "{pod_ip} not in {}",
        scene.cidr
    );
    let gateway = scene.cidr.nth(1).expect("gateway");
    let addrs = scene.ip_n(&["-4", "-o", "addr", "show", "dev", "eth0"]);
    assert!(addrs.contains(&format!("inet {pod_ip}/24")), "{addrs}");
    let routes = scene.ip_n(&["-4", "route"]);
    assert!(
        routes.contains(&format!("default via {gateway} dev eth0")),
        "{routes}"
    );
    let lo = scene.ip_n(&["-o", "link", "show", "dev", "lo"]);
    assert!(lo.contains("UP"), "{lo}");
    // The host side: the bridge has the gateway, one veth is its port.
    let bridge_addrs = run("ip", &["-4", "-o", "addr", "show", "dev", &scene.bridge]);
    assert!(
        bridge_addrs.contains(&format!("inet {gateway}/24")),
        "{bridge_addrs}"
    );
    let veth = result
        .interfaces
        .iter()
        .find(|i| i.sandbox.is_empty() && i.name != scene.bridge)
        .expect("the host veth in the result")
        .name
        .clone();
    let ports = run("ip", &["-o", "link", "show", "master", &scene.bridge]);
    assert!(ports.contains(&veth), "{ports}");
    // host-local's reservation, under our state directory.
    let ipam_dir = default.ipam_data_dir.join(&net.name);
    assert!(
        ipam_dir.join(pod_ip.to_string()).is_file(),
        "no reservation in {}",
        ipam_dir.display()
    );
    assert_eq!(scene.cni().cache.list().expect("cache").len(), 2);

    // Host -> pod: a TCP server in the pod answers at the pod IP.
    let mut server = scene.listen_in_pod(8080, "hello-from-pod");
    let reply = wait_until_or("the pod's server answers at the pod IP", DEADLINE, || {
        read_reply(SocketAddr::new(pod_ip.into(), 8080))
    });
    assert_eq!(reply, "hello-from-pod\n");
    let _ = server.kill();
    let _ = server.wait();

    // Pod -> host: the pod reaches a server of the test on the gateway.
    let listener = TcpListener::bind((gateway, 0)).expect("listen on the bridge address");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let mut client = Command::new("ip")
        .args(["netns", "exec", &scene.netns, "busybox", "sh", "-c"])
        .arg(format!(
            "echo hello-from-pod-side | busybox nc -w 5 {gateway} {port}"
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start busybox nc client");
    let (mut conn, from) = wait_until_or("the pod connects to the host", DEADLINE, || {
        listener.accept()
    });
    assert_eq!(
        from.ip(),
        IpAddr::V4(pod_ip),
        "the pod's own address, not NATed to the bridge"
    );
    conn.set_nonblocking(false).expect("blocking");
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut line = [0u8; 64];
    let n = conn.read(&mut line).expect("read");
    assert_eq!(&line[..n], b"hello-from-pod-side\n");
    drop(conn);
    let _ = client.kill();
    let _ = client.wait();

    let del_time = detach(&scene, &net, Vec::new());
    report(test, "DEL (bridge/host-local/portmap + lo)", del_time);

    // Nothing of the pod is left: no veth, no reservation, no cache entry,
    // no nat rule (bridge's ipMasq chain is gone with it).
    assert!(!link_exists(&veth), "{veth} is left");
    let ports = run("ip", &["-o", "link", "show", "master", &scene.bridge]);
    assert!(ports.trim().is_empty(), "bridge ports left: {ports}");
    let left: Vec<String> = fs::read_dir(&ipam_dir)
        .expect("ipam dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "lock" && !n.starts_with("last_reserved_ip"))
        .collect();
    assert!(left.is_empty(), "host-local reservations left: {left:?}");
    assert!(scene.cni().cache.list().expect("cache").is_empty());
    assert_eq!(nat_rules(), nat_before, "nat rules changed");
    // A second DEL (nothing cached, say after a crash between DEL and the
    // cache's removal) is not an error.
    detach(&scene, &net, Vec::new());
    drop(scene);
    assert_eq!(nat_rules(), nat_before);
}

#[test]
fn a_host_port_on_loopback_reaches_the_pod_through_portmap() {
    let test = "a_host_port_on_loopback_reaches_the_pod_through_portmap";
    if !root_on_the_host_or_skip(test) {
        return;
    }
    let _serial = serial();
    let nat_before = nat_rules();
    let mut scene = scene();
    let net = scene.network().config();
    // A free port on the host for the hostPort.
    let host_port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let ports = vec![PortMapping {
        host_port,
        container_port: 8080,
        protocol: "tcp".to_owned(),
        host_ip: Some("127.0.0.1".to_owned()),
    }];
    let (_, add_time) = attach(&mut scene, &net, ports.clone());
    report(test, "ADD with a hostPort", add_time);
    let dnat = run("iptables", &["-t", "nat", "-S"]);
    assert!(
        dnat.contains(&format!("--dport {host_port} -j DNAT")),
        "no DNAT for {host_port}:\n{dnat}"
    );
    let mut server = scene.listen_in_pod(8080, "hello-through-hostport");
    let reply = wait_until_or("the pod answers on 127.0.0.1:hostPort", DEADLINE, || {
        read_reply(SocketAddr::from(([127, 0, 0, 1], host_port)))
    });
    assert_eq!(reply, "hello-through-hostport\n");
    let _ = server.kill();
    let _ = server.wait();

    let del_time = detach(&scene, &net, ports);
    report(test, "DEL with a hostPort", del_time);
    let after = run("iptables", &["-t", "nat", "-S"]);
    assert!(
        !after.contains(&format!("--dport {host_port}")),
        "the DNAT is left:\n{after}"
    );
    // What portmap leaves by design: its top-level chains and their jumps.
    let left: Vec<String> = nat_rules()
        .into_iter()
        .filter(|l| !nat_before.contains(l))
        .collect();
    assert!(
        left.iter().all(|l| l.contains("CNI-HOSTPORT-")),
        "more than portmap's top-level chains left: {left:#?}"
    );
    let _ = writeln!(
        std::io::stderr(),
        "{test}: left by portmap's DEL (removed by the test): {left:#?}"
    );
    drop(scene);
    assert_eq!(
        nat_rules(),
        nat_before,
        "the test's clean-up did not restore the nat table"
    );
}
