//! A pod's network through the runtime (`PodRuntime::create_pod` and
//! `remove_pod`), on a CNI configuration (this file) and on the native
//! default network (`pod_network/native.rs`): the host reaching a server
//! in the pod at the pod IP, the pod's `/etc/hosts`, a broken
//! configuration failing the sandbox with nothing left, and the removal
//! of a pod whose monitor died.
//!
//! Everything the test makes is its own and removed even when an
//! assertion fails (`pod_network/setup.rs`): a conf dir (with a
//! `.conflist` for Debian's `bridge` + `host-local` plugins, or empty for
//! the native network), a bridge `mpt<pid>` and a /24 of 10.203.0.0/16
//! that the host does not route, the native network's NAT table
//! `minipod_mpt<pid>`, the node's directories and cgroups (`TestNode`).
//! The bridge plugin's `isGateway` turns `net.ipv4.ip_forward` on
//! host-wide: it is restored to its value before the test (the native
//! network is told to leave it alone). All traffic stays on this machine.

#[path = "cni/scene.rs"]
#[allow(dead_code)] // shared with tests/cni.rs, which uses the rest
mod scene;
#[path = "pod_network/setup.rs"]
mod setup;

#[path = "pod_network/native.rs"]
mod native;

use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use minipod_linux::signals::Signal;
use minipod_runtime_tests::{root_or_skip, serial, wait_until};
use scene::link_exists;
use setup::{TestNetwork, http_get, reservations};

const PATIENCE: Duration = Duration::from_secs(60);

const WEB: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  hostname: web
  containers:
  - name: server
    image: busybox
    imagePullPolicy: Never
    command:
    - sh
    - -c
    - |
      mkdir -p /tmp/www
      echo hello from the pod network > /tmp/www/index.html
      exec httpd -f -p 8080 -h /tmp/www
"#;

#[test]
fn a_pod_on_a_cni_network_answers_the_host_at_its_ip() {
    let test = "a_pod_on_a_cni_network_answers_the_host_at_its_ip";
    if !root_or_skip(test) {
        return;
    }
    let _serial = serial();
    let net = TestNetwork::bridge();
    let node = net.node();
    let state_dir = node.dir.join("state");

    let start = Instant::now();
    let mut pod = node.create(WEB).expect("create the pod");
    let created = start.elapsed();
    eprintln!(
        "{test}: create_pod with the CNI bridge chain took {:.1} ms",
        created.as_secs_f64() * 1000.0
    );
    // The pod's IP is the network's, in the test's range.
    let [IpAddr::V4(pod_ip)] = pod.pod_ips()[..] else {
        panic!("one IPv4 address expected: {:?}", pod.pod_ips());
    };
    assert!(net.cidr.contains(pod_ip), "{pod_ip} not in {}", net.cidr);
    // /etc/hosts as the kubelet writes it: the pod's IP with its hostname.
    let hosts = fs::read_to_string(&pod.paths().hosts).expect("hosts");
    assert!(hosts.contains(&format!("{pod_ip}\tweb\n")), "{hosts}");
    // The pod's eth0 is one port of the bridge; the cache holds the result.
    assert_eq!(net.ports().lines().count(), 1, "{}", net.ports());
    assert_eq!(reservations(&net), [pod_ip.to_string()]);

    // A server in the pod answers the host at the pod IP.
    let server = node.start(&mut pod, "server");
    let addr = SocketAddr::new(pod_ip.into(), 8080);
    let mut reply = String::new();
    wait_until("httpd answers at the pod IP", PATIENCE, || {
        reply = http_get(addr).unwrap_or_default();
        reply.contains("hello from the pod network")
    });
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");

    server.container.signal(Signal::SIGKILL).expect("kill");
    server.container.wait().expect("wait");
    drop(server);
    node.runtime.remove_pod(pod).expect("remove the pod");
    // Nothing of the attachment is left: no port, no reservation, no cache.
    assert_eq!(net.ports(), "", "a bridge port is left");
    assert!(reservations(&net).is_empty());
    let cache = state_dir.join("cni/results");
    let cached: Vec<_> = fs::read_dir(&cache)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(cached.is_empty(), "{cached:?}");
    node.finish();
}

#[test]
fn a_broken_network_configuration_fails_the_sandbox_and_leaves_nothing() {
    let test = "a_broken_network_configuration_fails_the_sandbox_and_leaves_nothing";
    if !root_or_skip(test) {
        return;
    }
    let _serial = serial();
    // host-local cannot use this range: the bridge plugin's ADD fails
    // after it made the bridge.
    let net = TestNetwork::new(Some(&|name, bridge, _, ipam_dir| {
        serde_json::json!({
            "cniVersion": "1.0.0",
            "name": name,
            "plugins": [{
                "type": "bridge", "bridge": bridge, "isGateway": true,
                "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.203.0.0/33"}]],
                         "dataDir": ipam_dir},
            }],
        })
        .to_string()
    }));
    let node = net.node();
    let e = node.create(WEB).expect_err("the sandbox fails");
    let chain = minipod_spec::error_chain(&e);
    assert!(
        chain.contains("failed to setup network for sandbox")
            && chain.contains("CNI plugin bridge failed ADD"),
        "{chain}"
    );
    // Nothing half-created: no port on the bridge, no cache, and the pod's
    // directories, mounts and cgroups are gone (`finish` checks those).
    if link_exists(&net.bridge) {
        assert_eq!(net.ports(), "");
    }
    let cache = node.dir.join("state/cni/results");
    assert!(
        fs::read_dir(&cache).map_or(true, |mut d| d.next().is_none()),
        "a cache entry is left"
    );
    node.finish();
}

#[test]
fn a_pod_whose_monitor_died_is_detached_from_its_network() {
    let test = "a_pod_whose_monitor_died_is_detached_from_its_network";
    if !root_or_skip(test) {
        return;
    }
    let _serial = serial();
    let net = TestNetwork::bridge();
    let node = net.node();
    let pod = node.create(WEB).expect("create the pod");
    let planned_qos = pod.plan().qos_class;
    let admitted_pod = pod.pod().clone();
    // The holder of the pod goes away without removing it (as a
    // SIGKILLed monitor does): the runtime's orphan removal finds the
    // attachment in the cache and deletes it.
    std::mem::forget(pod);
    assert_eq!(net.ports().lines().count(), 1);
    let removal = node
        .runtime
        .remove_orphaned(&admitted_pod, planned_qos)
        .expect("remove the orphan");
    assert!(removal.network, "{removal:?}");
    assert_eq!(net.ports(), "", "a bridge port is left");
    assert!(reservations(&net).is_empty());
    node.finish();
}
