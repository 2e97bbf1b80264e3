//! The three networks the bench pod runs on, made and removed by the bench:
//!
//! * `none`: `--pod-network none`, loopback only (minipod before issue 13);
//! * `native`: minipod's default network, built natively, on a bridge of
//!   the bench's own (`mpb<pid>`), a free /24 of 10.203.0.0/16 and
//!   `--no-ip-forward`; its NAT table is `minipod_mpb<pid>`;
//! * `cni`: the same chain as CNI plugins (bridge `mpc<pid>` with
//!   `isGateway`, `ipMasq`, `hairpinMode`, host-local with its `dataDir`
//!   in the bench's directory, portmap), from a conf dir of the bench's.
//!
//! Everything is removed when [`Networks`] is dropped, even after a
//! failure: both bridges, the NAT table, any nat chain of the plugins'
//! that was not there before, and the host-wide `net.ipv4.ip_forward`
//! (which the bridge plugin's `isGateway` turns on) restored.

use std::ffi::OsString;
use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use minipod_cni::cidr::parse_proc_net_route;
use minipod_cni::{Ipv4Net, choose_pod_cidr};
use serde_json::json;

/// Which network a run's pod gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    None,
    Native,
    Cni,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::None, Mode::Native, Mode::Cni];

    pub fn label(self) -> &'static str {
        match self {
            Mode::None => "none",
            Mode::Native => "native",
            Mode::Cni => "cni",
        }
    }
}

const FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";
/// Where Debian's `containernetworking-plugins` puts the plugins.
const PLUGINS: &str = "/usr/lib/cni";

/// The bench's bridges, ranges and conf dirs; everything removed on drop.
pub struct Networks {
    native_bridge: String,
    native_cidr: Ipv4Net,
    cni_bridge: String,
    /// The CNI chain's network name.
    cni_name: String,
    /// An empty conf dir (the native network), one with the chain.
    empty_conf: PathBuf,
    cni_conf: PathBuf,
    /// host-local's `dataDir`.
    cni_ipam: PathBuf,
    forward_before: String,
    nat_before: Vec<String>,
}

impl Networks {
    /// Picks two free /24s and writes the conf dirs under `dir`.
    pub fn new(dir: &Path) -> Result<Networks, String> {
        let pid = std::process::id();
        let native_bridge = format!("mpb{pid}");
        let cni_bridge = format!("mpc{pid}");
        for bridge in [&native_bridge, &cni_bridge] {
            if link_exists(bridge) {
                return Err(format!("{bridge} already exists: not the bench's"));
            }
        }
        let routes = parse_proc_net_route(
            &fs::read_to_string("/proc/net/route").map_err(|e| format!("/proc/net/route: {e}"))?,
        );
        let candidates: Vec<Ipv4Net> = (0..=255u8)
            .filter_map(|i| Ipv4Net::new(Ipv4Addr::new(10, 203, i, 0), 24))
            .collect();
        let native_cidr = choose_pod_cidr(&routes, &candidates)
            .ok_or("no /24 of 10.203.0.0/16 is free of the host's routes")?;
        let others: Vec<Ipv4Net> = candidates
            .into_iter()
            .filter(|c| *c != native_cidr)
            .collect();
        let cni_cidr = choose_pod_cidr(&routes, &others)
            .ok_or("no second /24 of 10.203.0.0/16 is free of the host's routes")?;
        let forward_before = fs::read_to_string(FORWARD)
            .map_err(|e| format!("{FORWARD}: {e}"))?
            .trim()
            .to_owned();
        let networks = Networks {
            cni_name: format!("minipod-bench-{pid}"),
            empty_conf: dir.join("cni-conf-empty"),
            cni_conf: dir.join("cni-conf"),
            cni_ipam: dir.join("cni-ipam"),
            native_bridge,
            native_cidr,
            cni_bridge,
            forward_before,
            nat_before: nat_rules(),
        };
        fs::create_dir_all(&networks.empty_conf).map_err(|e| format!("conf dir: {e}"))?;
        fs::create_dir_all(&networks.cni_conf).map_err(|e| format!("conf dir: {e}"))?;
        let conflist = networks.conflist(cni_cidr);
        fs::write(networks.cni_conf.join("10-bench.conflist"), conflist)
            .map_err(|e| format!("write the conflist: {e}"))?;
        Ok(networks)
    }

    /// The default network's chain (`docs/networking.md`) on the bench's
    /// bridge and range.
    fn conflist(&self, cidr: Ipv4Net) -> String {
        json!({
            "cniVersion": "1.0.0",
            "name": self.cni_name,
            "plugins": [
                {
                    "type": "bridge", "bridge": self.cni_bridge,
                    "isGateway": true, "ipMasq": true, "hairpinMode": true,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": cidr.to_string()}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": self.cni_ipam,
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": true}},
            ],
        })
        .to_string()
    }

    /// What the bench's ranges and bridges are, for the report.
    pub fn describe(&self) -> String {
        format!(
            "native: bridge {} on {}, --no-ip-forward; cni: {} (bridge {}, host-local, portmap) from {}",
            self.native_bridge, self.native_cidr, self.cni_name, self.cni_bridge, PLUGINS
        )
    }

    /// The `minipod run` flags of `mode`.
    pub fn flags(&self, mode: Mode) -> Vec<OsString> {
        let mut flags: Vec<OsString> = Vec::new();
        let mut push = |items: &[&dyn AsRef<std::ffi::OsStr>]| {
            flags.extend(items.iter().map(|i| i.as_ref().to_owned()));
        };
        match mode {
            Mode::None => push(&[&"--pod-network", &"none"]),
            Mode::Native => push(&[
                &"--pod-network",
                &"auto",
                &"--cni-conf-dir",
                &self.empty_conf,
                &"--pod-bridge",
                &self.native_bridge,
                &"--pod-cidr",
                &self.native_cidr.to_string(),
                &"--no-ip-forward",
            ]),
            Mode::Cni => push(&[
                &"--pod-network",
                &"auto",
                &"--cni-conf-dir",
                &self.cni_conf,
                &"--cni-bin-dir",
                &PLUGINS,
            ]),
        }
        flags
    }

    /// Where the network keeps a pod's teardown state in a node's state
    /// dir: the native network's record, the CNI result cache. It is
    /// removed as the pod's network teardown's last step.
    pub fn teardown_marker_dir(mode: Mode, state_dir: &Path) -> Option<PathBuf> {
        match mode {
            Mode::None => None,
            Mode::Native => Some(state_dir.join("network").join("pods")),
            Mode::Cni => Some(state_dir.join("cni").join("results")),
        }
    }

    /// After a run of `mode`: no port left on its bridge, no address held.
    pub fn check_clean(&self, mode: Mode, state_dir: &Path) -> Result<(), String> {
        let bridge = match mode {
            Mode::None => return Ok(()),
            Mode::Native => &self.native_bridge,
            Mode::Cni => &self.cni_bridge,
        };
        let ports = output("ip", &["-o", "link", "show", "master", bridge]).unwrap_or_default();
        if !ports.trim().is_empty() {
            return Err(format!("links left on {bridge}: {ports}"));
        }
        if let Some(dir) = Networks::teardown_marker_dir(mode, state_dir) {
            let left = entries(&dir);
            if !left.is_empty() {
                return Err(format!("left in {}: {left:?}", dir.display()));
            }
        }
        let ipam = match mode {
            Mode::Native => state_dir.join("network").join("minipod"),
            _ => self.cni_ipam.join(&self.cni_name),
        };
        let held: Vec<String> = entries(&ipam)
            .into_iter()
            .filter(|n| n.parse::<Ipv4Addr>().is_ok() || n.starts_with("owner."))
            .collect();
        if !held.is_empty() {
            return Err(format!("addresses left in {}: {held:?}", ipam.display()));
        }
        Ok(())
    }

    /// Removes everything of the bench's; what had to be removed that a
    /// pod's teardown should have removed is returned.
    fn clean_up(&self) -> Vec<String> {
        let mut left = Vec::new();
        let table = format!("minipod_{}", self.native_bridge);
        if output("nft", &["list", "table", "ip", &table]).is_some() {
            let _ = output("nft", &["delete", "table", "ip", &table]);
        }
        for bridge in [&self.native_bridge, &self.cni_bridge] {
            if link_exists(bridge) {
                let _ = output("ip", &["link", "del", "dev", bridge]);
            }
        }
        // bridge's `ipMasq` chains (`CNI-<hash>`) and portmap's are the
        // plugins' to remove; any new one is a leak, removed here.
        for line in nat_rules() {
            if self.nat_before.contains(&line) || !line.contains("CNI-") {
                continue;
            }
            left.push(format!("iptables nat: {line}"));
            if let Some(rule) = line.strip_prefix("-A ") {
                let mut args = vec!["-t".to_owned(), "nat".to_owned(), "-D".to_owned()];
                args.extend(rule_args(rule));
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let _ = output("iptables", &args);
            }
        }
        for line in nat_rules() {
            if let Some(chain) = line.strip_prefix(':').and_then(|l| l.split(' ').next())
                && !self.nat_before.contains(&line)
                && chain.starts_with("CNI-")
            {
                let _ = output("iptables", &["-t", "nat", "-F", chain]);
                let _ = output("iptables", &["-t", "nat", "-X", chain]);
            }
        }
        let now = fs::read_to_string(FORWARD).unwrap_or_default();
        if now.trim() != self.forward_before {
            let _ = fs::write(FORWARD, &self.forward_before);
        }
        left
    }
}

impl Drop for Networks {
    fn drop(&mut self) {
        let left = self.clean_up();
        if !left.is_empty() {
            eprintln!("minipod-bench-pod: the CNI plugins left (now removed): {left:?}");
        }
    }
}

/// What a network of `modes` needs and the host lacks: `nft` for the
/// native one, the plugins and iptables for the CNI one.
pub fn missing_tool(modes: &[Mode]) -> Option<String> {
    let on_path = |name: &str| {
        ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
            .iter()
            .any(|dir| Path::new(dir).join(name).is_file())
    };
    if modes.contains(&Mode::Native) && !on_path("nft") {
        return Some("the native network needs nft (package nftables)".into());
    }
    if modes.contains(&Mode::Cni) {
        if !Path::new(PLUGINS).join("bridge").is_file() {
            return Some(format!(
                "the CNI network needs the plugins in {PLUGINS} (package containernetworking-plugins)"
            ));
        }
        if !on_path("iptables-save") {
            return Some("the CNI network needs iptables (package iptables)".into());
        }
    }
    None
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

fn entries(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|it| {
            it.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The nat table's chains and rules (`iptables-save -t nat`), counters
/// dropped; empty without iptables.
fn nat_rules() -> Vec<String> {
    output("iptables-save", &["-t", "nat"])
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('*') && *l != "COMMIT")
        .map(|l| match l.rfind(" [") {
            Some(i) if l.starts_with(':') => l[..i].to_owned(),
            _ => l.to_owned(),
        })
        .collect()
}

/// An `iptables-save` rule's arguments (it quotes comments with `"`).
fn rule_args(rule: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in rule.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    args.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        args.push(current);
    }
    args
}

/// A command's stdout when it succeeded.
fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// When a run's network teardown state appeared (the network attached)
/// and went (its teardown's last step), seen by polling its directory.
pub struct Watch {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<(Option<Instant>, Option<Instant>)>,
}

/// How often the watcher looks: fine enough for times of milliseconds,
/// cheap enough (a `readdir` of a small directory) not to load the host.
const POLL: Duration = Duration::from_micros(250);

impl Watch {
    pub fn start(dir: PathBuf) -> Watch {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let (mut appeared, mut gone) = (None, None);
            while !stopped.load(Ordering::Relaxed) {
                let present = fs::read_dir(&dir).is_ok_and(|mut it| it.next().is_some());
                let now = Instant::now();
                if present && appeared.is_none() {
                    appeared = Some(now);
                }
                if !present && appeared.is_some() && gone.is_none() {
                    gone = Some(now);
                }
                std::thread::sleep(POLL);
            }
            (appeared, gone)
        });
        Watch { stop, thread }
    }

    /// When the state appeared and when it went.
    pub fn finish(self) -> (Option<Instant>, Option<Instant>) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the watcher")
    }
}
