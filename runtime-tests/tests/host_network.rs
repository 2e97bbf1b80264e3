//! `hostNetwork: true`, for real: the pod's containers stay in the node's
//! network and UTS namespaces (containerd's sandbox for a pod whose network
//! mode is `NODE`), keep an IPC namespace of the pod's own, see the node's
//! hostname and a hosts file made from the node's, and show the node's IPs
//! as the pod's (`minipod_plan::launch::sandbox_namespaces`,
//! `sandbox_files`, `addresses`; `docs/kubernetes-semantics.md` §10.5).
//!
//! Probes of such a pod go, as the kubelet's, from the node to the pod's
//! IP, which is the node's (`minipod_runtime::probe::dial_target`).
//!
//! The node's hostname must survive the pod: a guard puts it back (and the
//! test fails) if the sandbox set the pod's on the node. The only traffic
//! is the test's own, to 127.0.0.1 and to an address of the node's that
//! the test adds on a link of its own, `mph<pid>` (removed on drop): no
//! route of the host is assumed, so it runs the same on the host and in
//! the cgroup v2 VM, whose only link is `lo`. Run as root; the pod's
//! namespaces, mounts, cgroups and directories are checked gone at the end.

use std::fs;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use minipod_linux::container::ExitStatus;
use minipod_runtime::probe::{self, HttpGetRequest};
use minipod_runtime_tests::{TestNode, root_or_skip, serial, wait_until_or};
use minipod_spec::enums::UriScheme;
use nix::sys::signal::Signal;

const INIT: &str = env!("CARGO_BIN_EXE_minipod-test-init");
/// Generous: the host is shared.
const PATIENCE: Duration = Duration::from_secs(60);
/// The node's resolver file: `ClusterFirst` on a `hostNetwork` pod is the
/// node's own (`dns.rs`).
const NODE_RESOLV: &str = "nameserver 192.0.2.53\nsearch example.test\n";
/// A documentation address as the node's, never used for traffic.
const NODE_IP: &str = "192.0.2.200";

/// The node's hostname when the test began, put back on drop if a pod
/// changed it.
struct HostnameGuard(String);

impl HostnameGuard {
    fn new() -> HostnameGuard {
        HostnameGuard(minipod_linux::uts::host_name().expect("the node's hostname"))
    }

    fn changed(&self) -> Option<String> {
        minipod_linux::uts::host_name().filter(|now| *now != self.0)
    }
}

impl Drop for HostnameGuard {
    fn drop(&mut self) {
        if self.changed().is_some() {
            let _ = nix::unistd::sethostname(&self.0);
        }
    }
}

/// An address of the node's own, on a bridge without ports that the test
/// makes (`mph<pid>`) and deletes on drop: traffic to it stays on this
/// machine, through `lo`, as to any local address. Its /24 is one of
/// 10.203.0.0/16 that no route of the host overlaps, from an offset of the
/// pid (so that tests running at the same time pick different ones).
struct NodeAddress {
    link: String,
    ip: IpAddr,
}

impl NodeAddress {
    fn add() -> NodeAddress {
        let link = format!("mph{}", std::process::id());
        assert!(
            !ip_quiet(&["link", "show", "dev", &link]),
            "{link} exists: not ours"
        );
        let routes = fs::read_to_string("/proc/net/route").expect("the host's routes");
        let routes = minipod_cni::cidr::parse_proc_net_route(&routes);
        let offset = std::process::id() % 256;
        let candidates: Vec<minipod_cni::Ipv4Net> = (0..256u32)
            .filter_map(|i| {
                let third = ((i + offset) % 256) as u8;
                minipod_cni::Ipv4Net::new(Ipv4Addr::new(10, 203, third, 0), 24)
            })
            .collect();
        let range = minipod_cni::cidr::choose_pod_cidr(&routes, &candidates)
            .expect("a free /24 of 10.203.0.0/16");
        let ip = range.nth(1).expect("an address of the /24");
        // The guard first: a failed step below still deletes the link.
        let guard = NodeAddress {
            link,
            ip: IpAddr::V4(ip),
        };
        for args in [
            &["link", "add", "name", &guard.link, "type", "bridge"][..],
            &["addr", "add", &format!("{ip}/24"), "dev", &guard.link],
            &["link", "set", "dev", &guard.link, "up"],
        ] {
            let out = Command::new("ip").args(args).output().expect("run ip");
            assert!(
                out.status.success(),
                "ip {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        guard
    }
}

impl Drop for NodeAddress {
    fn drop(&mut self) {
        if ip_quiet(&["link", "show", "dev", &self.link]) {
            let _ = ip_quiet(&["link", "del", "dev", &self.link]);
        }
    }
}

fn ip_quiet(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn node() -> TestNode {
    TestNode::configured(INIT, NODE_RESOLV, |node| {
        node.host_ips = vec![NODE_IP.parse().expect("an address")];
    })
}

/// A `hostNetwork` pod whose one container, `app`, runs `script`. Its own
/// `hostname` would be the pod's on a pod network: here it must not be.
fn pod(script: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: hostnet}}\nspec:\n  hostNetwork: true\n  hostname: not-the-node\n  containers:\n  - name: app\n    image: busybox\n    imagePullPolicy: Never\n    command: [sh, -c, {script:?}]\n"
    )
}

fn own_namespace(kind: &str) -> String {
    fs::read_link(format!("/proc/self/ns/{kind}"))
        .expect("the test's namespace")
        .display()
        .to_string()
}

#[test]
fn a_host_network_pod_has_the_nodes_network_hostname_and_files_and_its_own_ipc() {
    if !root_or_skip("a_host_network_pod_has_the_nodes_network_hostname_and_files_and_its_own_ipc")
    {
        return;
    }
    let _serial = serial();
    let hostname = HostnameGuard::new();
    let node = node();
    let script = "for ns in net uts ipc; do readlink /proc/self/ns/$ns; done; \
                  uname -n; echo \"$HOSTNAME\"; echo ---; cat /etc/hostname; echo ---; \
                  cat /etc/hosts; echo ---; cat /etc/resolv.conf";
    let mut running = node.create(&pod(script)).expect("create the pod");
    // The node's IPs are the pod's (`generateAPIPodStatus`).
    let node_ip: IpAddr = NODE_IP.parse().unwrap();
    assert_eq!(running.pod_ips(), [node_ip]);
    assert_eq!(running.addresses(&[node_ip]).pod_ip(), Some(node_ip));
    // No network namespace of its own to probe into.
    assert_eq!(running.network_namespace_path(), None);

    let started = node.start(&mut running, "app");
    let status = started.container.wait().expect("wait");
    let mut out = String::new();
    fs::File::from(started.stdout)
        .read_to_string(&mut out)
        .expect("read");
    assert_eq!(status, ExitStatus::Exited(0), "{out}");
    // Its descriptors (stderr, pidfd) before the node counts them.
    drop((started.container, started.stderr, started.cgroup));
    assert_eq!(hostname.changed(), None, "the node's hostname was changed");

    let node_hostname = &hostname.0;
    let node_hosts = fs::read_to_string("/etc/hosts").expect("the node's /etc/hosts");
    let mut parts = out.split("---\n");
    let ids: Vec<&str> = parts.next().expect("ids").lines().collect();
    assert_eq!(ids[0], own_namespace("net"), "network namespace: {out}");
    assert_eq!(ids[1], own_namespace("uts"), "UTS namespace: {out}");
    assert_ne!(ids[2], own_namespace("ipc"), "IPC namespace: {out}");
    assert!(ids[2].starts_with("ipc:["), "{out}");
    // `uname -n` and `HOSTNAME`: the node's.
    assert_eq!(ids[3], node_hostname, "{out}");
    assert_eq!(ids[4], node_hostname, "{out}");
    assert_eq!(parts.next(), Some(format!("{node_hostname}\n").as_str()));
    assert_eq!(
        parts.next(),
        Some(format!("# Kubernetes-managed hosts file (host network).\n{node_hosts}").as_str())
    );
    assert_eq!(
        parts.next(),
        Some("search example.test\nnameserver 192.0.2.53\n")
    );

    node.runtime.remove_pod(running).expect("remove the pod");
    assert_eq!(hostname.changed(), None, "the node's hostname was changed");
    node.finish();
}

/// A port free on the node now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `GET /index.html` on `addr`, the whole answer.
fn get_index(addr: (IpAddr, u16)) -> Result<String, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| e.to_string())?;
    Ok(answer)
}

fn get(port: u16) -> HttpGetRequest {
    HttpGetRequest {
        host: None,
        port,
        path: "/index.html".to_owned(),
        scheme: UriScheme::Http,
        headers: vec![],
    }
}

/// One pod, two servers in the node's network: on 127.0.0.1, where the
/// test reaches it as it would any local server, and on the node's own
/// address (the pod's IP), where probes without a `host` go, dialled
/// from the node as the kubelet dials.
#[test]
fn a_host_network_pods_servers_answer_the_node_and_its_probes_at_the_nodes_ip() {
    if !root_or_skip("a_host_network_pods_servers_answer_the_node_and_its_probes_at_the_nodes_ip") {
        return;
    }
    let _serial = serial();
    let _hostname = HostnameGuard::new();
    // An address of the node's own (not the default route's: the VM has
    // none); traffic to it stays on this machine.
    let address = NodeAddress::add();
    let node_ip = address.ip;
    let node = TestNode::configured(INIT, NODE_RESOLV, |node| node.host_ips = vec![node_ip]);
    let (loopback_port, node_port) = (free_port(), free_port());
    let script = format!(
        "mkdir -p /tmp/www && echo hello-from-the-host-network > /tmp/www/index.html && \
         httpd -p 127.0.0.1:{loopback_port} -h /tmp/www && \
         exec httpd -f -p {node_ip}:{node_port} -h /tmp/www"
    );
    let mut running = node.create(&pod(&script)).expect("create the pod");
    assert_eq!(running.pod_ips(), [node_ip]);
    let started = node.start(&mut running, "app");
    let loopback = IpAddr::from([127, 0, 0, 1]);
    for addr in [(loopback, loopback_port), (node_ip, node_port)] {
        let answer = wait_until_or("the pod's httpd answers the node", PATIENCE, || {
            get_index(addr)
        });
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(
            answer.ends_with("\r\n\r\nhello-from-the-host-network\n"),
            "{answer}"
        );
    }

    // Probes: no host is the pod's IP, the node's, dialled from the node.
    let timeout = Duration::from_secs(10);
    probe::tcp_check(&running, None, node_port, timeout).expect("tcpSocket at the pod IP");
    let ok = probe::http_get(&running, &get(node_port), timeout).expect("httpGet at the pod IP");
    assert_eq!(
        (ok.status, ok.body.as_slice()),
        (200, &b"hello-from-the-host-network\n"[..])
    );
    // Not 127.0.0.1: the loopback server is not at the pod's IP ...
    let refused = String::from(
        probe::tcp_check(&running, None, loopback_port, timeout).expect_err("not at the pod IP"),
    );
    assert_eq!(
        refused,
        format!("dial tcp {node_ip}:{loopback_port}: connect: connection refused")
    );
    // ... but a `host` is honoured, from the node.
    probe::tcp_check(&running, Some("127.0.0.1"), loopback_port, timeout)
        .expect("tcpSocket at the host given");
    let given = HttpGetRequest {
        host: Some("127.0.0.1".to_owned()),
        ..get(loopback_port)
    };
    assert_eq!(
        probe::http_get(&running, &given, timeout)
            .expect("httpGet at the host given")
            .status,
        200
    );

    started
        .container
        .signal(Signal::SIGKILL)
        .expect("kill httpd");
    let _ = started.container.wait();
    drop(started);
    node.runtime.remove_pod(running).expect("remove the pod");
    // Nothing listens any more: the pod's cgroup took the daemonized httpd too.
    assert!(TcpStream::connect((loopback, loopback_port)).is_err());
    assert!(TcpStream::connect((node_ip, node_port)).is_err());
    node.finish();
}
