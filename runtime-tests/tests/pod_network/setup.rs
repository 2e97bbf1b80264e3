//! What a pod network test owns (`tests/pod_network.rs`): a conf dir, a
//! bridge and a range of its own, its NAT table; all removed on drop, the
//! host's `ip_forward` restored.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use minipod_cni::NodeNetworkSettings;
use minipod_runtime_tests::TestNode;

use crate::scene::{self, BIN_DIRS, Cleanup, link_exists, quiet, test_cidr};

pub const INIT: &str = env!("CARGO_BIN_EXE_minipod-test-init");

/// Writes a test's `.conflist`: `(name, bridge, cidr, ipam_dir)`.
pub type Conflist = dyn Fn(&str, &str, &str, &str) -> String;

/// A test's network: its conf dir, bridge and range, restored and removed
/// on drop.
pub struct TestNetwork {
    pub conf_dir: tempfile::TempDir,
    pub bridge: String,
    pub name: String,
    pub cidr: minipod_cni::Ipv4Net,
    _cleanup: Cleanup,
}

impl TestNetwork {
    /// `conflist(name, bridge, cidr, ipam_dir)` is written to the conf dir;
    /// none: the conf dir stays empty, and the node uses the native
    /// default network on the test's bridge and range.
    pub fn new(conflist: Option<&Conflist>) -> TestNetwork {
        let mut cleanup = Cleanup::default();
        let forward = fs::read_to_string("/proc/sys/net/ipv4/ip_forward").expect("ip_forward");
        cleanup.push("ip_forward", move || {
            let _ = fs::write("/proc/sys/net/ipv4/ip_forward", forward.trim());
        });
        let pid = std::process::id();
        let bridge = format!("mpt{pid}");
        assert!(!link_exists(&bridge), "{bridge} already exists: not ours");
        let b = bridge.clone();
        cleanup.push("bridge", move || {
            if link_exists(&b) {
                let _ = quiet("ip", &["link", "del", "dev", &b]);
            }
        });
        // The native network's NAT table, named after the bridge.
        let t = format!("minipod_{bridge}");
        cleanup.push("nat table", move || {
            let _ = quiet("nft", &["delete", "table", "ip", &t]);
        });
        let name = format!("minipod-test-{pid}");
        let cidr = test_cidr();
        let conf_dir = tempfile::tempdir().expect("conf dir");
        // host-local's reservations in the test's own directory (its
        // default is the host-wide /var/lib/cni/networks).
        let ipam_dir = conf_dir.path().join("ipam");
        if let Some(conflist) = conflist {
            fs::write(
                conf_dir.path().join("10-test.conflist"),
                conflist(
                    &name,
                    &bridge,
                    &cidr.to_string(),
                    ipam_dir.to_str().expect("utf-8"),
                ),
            )
            .expect("write the conflist");
        }
        TestNetwork {
            conf_dir,
            bridge,
            name,
            cidr,
            _cleanup: cleanup,
        }
    }

    /// The native default network on the test's bridge and range.
    pub fn native() -> TestNetwork {
        TestNetwork::new(None)
    }

    /// The bridge/host-local chain of the default network, without
    /// `ipMasq` and portmap (the native NAT's tests cover those).
    pub fn bridge() -> TestNetwork {
        TestNetwork::new(Some(&|name, bridge, cidr, ipam_dir| {
            serde_json::json!({
                "cniVersion": "1.0.0",
                "name": name,
                "plugins": [{
                    "type": "bridge", "bridge": bridge, "isGateway": true, "hairpinMode": true,
                    "ipam": {"type": "host-local", "ranges": [[{"subnet": cidr}]],
                             "routes": [{"dst": "0.0.0.0/0"}], "dataDir": ipam_dir},
                }],
            })
            .to_string()
        }))
    }

    /// The node's settings: the test's conf dir; for the native network
    /// the test's bridge and range, and the host-wide `ip_forward` left
    /// alone (the tests reach nothing beyond the host).
    pub fn settings(&self) -> NodeNetworkSettings {
        NodeNetworkSettings {
            conf_dir: self.conf_dir.path().to_owned(),
            bin_dirs: BIN_DIRS.iter().map(PathBuf::from).collect(),
            pod_cidr: Some(self.cidr),
            bridge: self.bridge.clone(),
            ip_forward: false,
        }
    }

    pub fn node(&self) -> TestNode {
        let settings = self.settings();
        TestNode::configured(INIT, "nameserver 192.0.2.53\n", move |node| {
            node.network = Some(settings);
        })
    }

    /// The bridge's ports (the pods' host ends).
    pub fn ports(&self) -> String {
        scene::run("ip", &["-o", "link", "show", "master", &self.bridge])
    }
}

/// host-local's reservations (its files other than the lock and the last
/// reserved address).
pub fn reservations(net: &TestNetwork) -> Vec<String> {
    let dir = net.conf_dir.path().join("ipam").join(&net.name);
    fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "lock" && !n.starts_with("last_reserved_ip"))
                .collect()
        })
        .unwrap_or_default()
}

pub fn http_get(addr: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET / HTTP/1.0\r\nHost: pod\r\n\r\n")?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply)
}
