//! What a CNI test owns and how it is cleaned up: the namespace, the
//! bridge, the range, the state directory, and the host settings the
//! plugins change.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use minipod_cni::cidr::{Ipv4Net, choose_pod_cidr, parse_proc_net_route};
use minipod_cni::default_net::{DefaultNetwork, loopback_network};
use minipod_cni::{Attachment, Cni, CommandExec, NetworkConfig, PortMapping};

pub const BIN_DIRS: [&str; 2] = ["/opt/cni/bin", "/usr/lib/cni"];
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Clean-up steps, run in reverse order when dropped (a failed assertion
/// included).
#[derive(Default)]
pub struct Cleanup(Vec<(String, Box<dyn FnOnce()>)>);

impl Cleanup {
    pub fn push(&mut self, what: &str, step: impl FnOnce() + 'static) {
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

pub fn run(program: &str, args: &[&str]) -> String {
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

pub fn quiet(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn link_exists(name: &str) -> bool {
    quiet("ip", &["link", "show", "dev", name])
}

/// The nat table without counters, sorted: what rules and chains exist.
pub fn nat_rules() -> Vec<String> {
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
pub fn rule_args(rule: &str) -> Vec<String> {
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
pub fn remove_new_portmap_chains(before: &[String]) {
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
pub struct Scene {
    pub netns: String,
    pub netns_path: PathBuf,
    pub bridge: String,
    pub cidr: Ipv4Net,
    pub state: tempfile::TempDir,
    pub cleanup: Cleanup,
}

/// A pod CIDR for the test: a /24 of 10.203.0.0/16 that overlaps no route of
/// the host (chosen with the same function as the node's default).
pub fn test_cidr() -> Ipv4Net {
    let routes = parse_proc_net_route(&fs::read_to_string("/proc/net/route").expect("routes"));
    let candidates: Vec<Ipv4Net> = (0..=255u8)
        .filter_map(|i| Ipv4Net::new(Ipv4Addr::new(10, 203, i, 0), 24))
        .collect();
    choose_pod_cidr(&routes, &candidates).expect("a free /24 in 10.203.0.0/16")
}

pub fn scene() -> Scene {
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
    pub fn network(&self) -> DefaultNetwork {
        let mut net = DefaultNetwork::new(self.cidr, self.state.path());
        net.name = format!("minipod-test-{}", std::process::id());
        net.bridge = self.bridge.clone();
        net
    }

    pub fn cni(&self) -> Cni<CommandExec> {
        Cni::new(
            BIN_DIRS.iter().map(PathBuf::from).collect(),
            self.state.path(),
            CommandExec,
        )
    }

    pub fn attachment(&self, if_name: &str, ports: Vec<PortMapping>) -> Attachment {
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

    pub fn ip_n(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", self.netns.as_str()];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// A one-shot TCP server in the pod that sends `reply`.
    pub fn listen_in_pod(&self, port: u16, reply: &str) -> Child {
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
pub fn attach(
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

pub fn detach(scene: &Scene, net: &NetworkConfig, ports: Vec<PortMapping>) -> Duration {
    let cni = scene.cni();
    let start = Instant::now();
    cni.del(net, &scene.attachment("eth0", ports))
        .expect("DEL the default chain");
    cni.del(&loopback_network(), &scene.attachment("lo", Vec::new()))
        .expect("DEL loopback");
    start.elapsed()
}

pub fn read_reply(addr: SocketAddr) -> std::io::Result<String> {
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

pub fn report(test: &str, what: &str, took: Duration) {
    let _ = writeln!(
        std::io::stderr(),
        "{test}: {what} took {:.1} ms",
        took.as_secs_f64() * 1000.0
    );
}
