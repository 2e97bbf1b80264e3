//! The pod network a daemon test owns (`tests/daemon_network.rs`): a
//! bridge `mpt<pid>`, a /24 of 10.203.0.0/16 that the host does not
//! route, a CNI conf dir (empty: the native default network; or with a
//! `.conflist` the test writes), the native network's NAT table
//! `minipod_mpt<pid>`. All of it is removed when [`TestNet`] drops, a
//! failed assertion included; the host-wide `net.ipv4.ip_forward` is
//! checked to be as it was (the daemon runs with `--no-ip-forward`).

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use minipod_cni::cidr::{Ipv4Net, choose_pod_cidr, parse_proc_net_route};

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// `program args`, which must succeed: its stdout.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
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

/// Whether `program args` succeeds (its output dropped).
pub fn quiet(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn link_exists(name: &str) -> bool {
    quiet("ip", &["link", "show", "dev", name])
}

/// A /24 of 10.203.0.0/16 that overlaps no route of the host, searched
/// from an offset given by the pid: several test processes (of this
/// file and the other network tests, run by people working at once)
/// then rarely pick the same range before their bridges route it.
fn free_cidr() -> Ipv4Net {
    let routes = parse_proc_net_route(&fs::read_to_string("/proc/net/route").expect("routes"));
    let offset = (std::process::id() % 256) as usize;
    let candidates: Vec<Ipv4Net> = (0..256usize)
        .map(|i| ((i + offset) % 256) as u8)
        .filter_map(|third| Ipv4Net::new(Ipv4Addr::new(10, 203, third, 0), 24))
        .collect();
    choose_pod_cidr(&routes, &candidates).expect("a free /24 in 10.203.0.0/16")
}

/// What one test owns of the host's network. Dropped last (declared
/// first), after the daemon and its pods.
pub struct TestNet {
    pub bridge: String,
    pub cidr: Ipv4Net,
    /// The native network's NAT table, named after the bridge.
    pub table: String,
    pub conf_dir: tempfile::TempDir,
    ip_forward: String,
}

impl TestNet {
    pub fn new() -> TestNet {
        let bridge = format!("mpt{}", std::process::id());
        assert!(!link_exists(&bridge), "{bridge} already exists: not ours");
        TestNet {
            table: format!("minipod_{bridge}"),
            bridge,
            cidr: free_cidr(),
            conf_dir: tempfile::tempdir().expect("a conf dir"),
            ip_forward: fs::read_to_string(IP_FORWARD).expect("ip_forward"),
        }
    }

    /// Where host-local keeps its reservations for a test's `.conflist`
    /// (its default is the host-wide /var/lib/cni/networks).
    pub fn ipam_dir(&self) -> PathBuf {
        self.conf_dir.path().join("ipam")
    }

    /// Writes `text` as the conf dir's `10-test.conflist`, whole: written
    /// beside it under a name the conf dir's reader skips, then renamed.
    pub fn write_conflist(&self, text: &str) {
        let path = self.conf_dir.path().join("10-test.conflist");
        let tmp = self.conf_dir.path().join("10-test.partial");
        fs::write(&tmp, text).expect("write the conflist");
        fs::rename(&tmp, &path).expect("rename the conflist");
    }

    /// The bridge's ports (the pods' host ends), one line each.
    pub fn ports(&self) -> String {
        if !link_exists(&self.bridge) {
            return String::new();
        }
        run("ip", &["-o", "link", "show", "master", &self.bridge])
    }

    /// The elements of the NAT table's host-port maps (none when the
    /// table does not exist).
    pub fn host_port_elements(&self) -> Vec<String> {
        let mut found = Vec::new();
        for map in ["hostports", "hostports_any"] {
            let out = Command::new("nft")
                .args(["list", "map", "ip", &self.table, map])
                .stdin(Stdio::null())
                .output()
                .expect("nft runs");
            if !out.status.success() {
                continue;
            }
            let listed = String::from_utf8_lossy(&out.stdout).into_owned();
            if let Some(at) = listed.find("elements = {") {
                let rest = &listed[at + "elements = {".len()..];
                let end = rest.find('}').unwrap_or(rest.len());
                found.extend(
                    rest[..end]
                        .split(',')
                        .map(|e| format!("{map}: {}", e.trim()))
                        .filter(|e| !e.ends_with(": ")),
                );
            }
        }
        found
    }

    /// The host-wide `ip_forward` is as it was before the test.
    pub fn check_ip_forward_untouched(&self) {
        let now = fs::read_to_string(IP_FORWARD).expect("ip_forward");
        assert_eq!(
            now.trim(),
            self.ip_forward.trim(),
            "net.ipv4.ip_forward was changed"
        );
    }
}

impl Drop for TestNet {
    /// The bridge's ports (the pods' veths, if a failure left any), the
    /// bridge, the NAT table; `ip_forward` only if it changed (writing it
    /// resets every link's IPv4 settings).
    fn drop(&mut self) {
        if link_exists(&self.bridge) {
            for line in self.ports().lines() {
                // "7: mpod0123456789a@if2: <...> ..."
                if let Some(name) = line.split(": ").nth(1) {
                    let name = name.split('@').next().unwrap_or(name);
                    let _ = quiet("ip", &["link", "del", "dev", name]);
                }
            }
            let _ = quiet("ip", &["link", "del", "dev", &self.bridge]);
        }
        let _ = quiet("nft", &["delete", "table", "ip", &self.table]);
        if fs::read_to_string(IP_FORWARD).is_ok_and(|now| now.trim() != self.ip_forward.trim()) {
            let _ = fs::write(IP_FORWARD, self.ip_forward.trim());
        }
    }
}

/// `GET /` at `addr`, the whole answer.
pub fn http_get(addr: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET / HTTP/1.0\r\nHost: pod\r\n\r\n")?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply)
}

/// A TCP port nothing on the host listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The names in `dir` (none if it is not there).
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
