//! The pods of the daemon network tests (`tests/daemon_network.rs`) and
//! the checks made on them.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

use minipod_runtime_tests::wait_until_or;
use serde_json::{Value, json};

use crate::net::{TestNet, http_get};
use crate::node::{Node, PATIENCE};

const IMAGE: &str = "busybox:1.36";

/// A busybox httpd on `port` serving `hello from <its POD_IP env>`; with
/// `host_port`, published there on every host address; with `readiness`,
/// an `httpGet` readiness probe every second. It leaves at once on
/// SIGTERM.
pub fn web_pod(name: &str, port: u16, host_port: Option<u16>, readiness: bool) -> Value {
    let script = format!(
        "trap 'exit 0' TERM\n\
         mkdir -p /tmp/www\n\
         echo \"hello from $POD_IP\" > /tmp/www/index.html\n\
         httpd -f -p {port} -h /tmp/www &\n\
         wait\n"
    );
    let mut container_port = json!({"containerPort": port});
    if let Some(host_port) = host_port {
        container_port["hostPort"] = json!(host_port);
    }
    let mut container = json!({
        "name": "server",
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", script],
        "ports": [container_port],
        "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
    });
    if readiness {
        container["readinessProbe"] = json!({
            "httpGet": {"path": "/", "port": port},
            "periodSeconds": 1,
        });
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"terminationGracePeriodSeconds": 5, "containers": [container]},
    })
}

/// The pod's one IPv4 address, which must be in the test's range.
pub fn pod_ip(pod: &Value, net: &TestNet) -> Ipv4Addr {
    let ip: Ipv4Addr = pod["status"]["podIP"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no IPv4 podIP: {}", pod["status"]));
    assert!(net.cidr.contains(ip), "{ip} not in {}", net.cidr);
    assert_eq!(
        pod["status"]["podIPs"],
        json!([{"ip": ip.to_string()}]),
        "{}",
        pod["status"]
    );
    ip
}

pub fn uid_of(pod: &Value) -> String {
    pod["metadata"]["uid"].as_str().expect("a uid").to_owned()
}

pub fn condition(pod: &Value, kind: &str) -> Option<String> {
    pod["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
        .and_then(|c| c["status"].as_str().map(str::to_owned))
}

pub fn ready(pod: &Value) -> bool {
    condition(pod, "Ready").as_deref() == Some("True")
}

/// Running, with an IP.
pub fn running(pod: &Value) -> bool {
    pod["status"]["phase"] == "Running" && pod["status"]["podIP"].is_string()
}

/// Waits until `addr` answers with a page holding `expected`.
pub fn wait_for_page(addr: SocketAddr, expected: &str) -> String {
    wait_until_or(&format!("{addr} answers {expected:?}"), PATIENCE, || {
        let reply = http_get(addr).unwrap_or_else(|e| e.to_string());
        reply
            .contains(expected)
            .then_some(reply.clone())
            .ok_or(reply)
    })
}

pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port)
}

/// True when kubectl runs here; otherwise says the test is skipped.
pub fn kubectl_or_skip(test: &str) -> bool {
    let present = Command::new("kubectl")
        .args(["version", "--client"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !present {
        let _ = writeln!(
            std::io::stderr(),
            "{test}: SKIPPED: kubectl is not installed"
        );
    }
    present
}

pub fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// `min / median / max` of `times`.
pub fn spread(times: &[Duration]) -> String {
    let mut sorted = times.to_vec();
    sorted.sort();
    format!(
        "min {} / median {} / max {}",
        ms(sorted[0]),
        ms(sorted[sorted.len() / 2]),
        ms(sorted[sorted.len() - 1])
    )
}

/// Applies a web pod with a host port and waits until it answers there:
/// the pod, its IP.
pub fn running_web(node: &Node, net: &TestNet, name: &str, host_port: u16) -> (Value, Ipv4Addr) {
    let manifest = node.manifest(&web_pod(name, 8080, Some(host_port), false));
    node.cli_ok(&["apply", "-f", &manifest]);
    let pod = node.wait_for_pod(name, "the pod runs with an IP", running);
    let ip = pod_ip(&pod, net);
    wait_for_page(loopback(host_port), &format!("hello from {ip}\n"));
    (pod, ip)
}

/// What a running pod holds: its link, lease, record and NAT element.
pub fn check_pod_holds_its_network(node: &Node, net: &TestNet, uid: &str) {
    let held = node.network_leftovers(net, &[uid]);
    for wanted in [
        "host link mpod",
        "IPAM lease",
        "network record",
        "NAT element",
        "bridge port",
    ] {
        assert!(
            held.iter().any(|h| h.starts_with(wanted)),
            "no {wanted}: {held:?}"
        );
    }
}

pub fn lost(pod: &Value) -> bool {
    pod["status"]["phase"] == "Failed" && pod["status"]["reason"] == "MonitorLost"
}
