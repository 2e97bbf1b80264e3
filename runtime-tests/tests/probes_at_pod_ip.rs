//! `tcpSocket` and `httpGet` checks of a pod with an IP, as the kubelet
//! makes them (`pkg/kubelet/prober/prober.go`): from the node's network
//! namespace, to the probe's `host`, else to the pod's IP
//! (`minipod_runtime::probe::dial_target`). The pod is on the native
//! default network of the test's own bridge and range
//! (`pod_network/setup.rs`, removed even when an assertion fails).
//!
//! The pod serves on every address (port 8080) and on its own 127.0.0.1
//! only (another port): a check without `host` reaches the first at the
//! pod IP and not the second; a check naming `127.0.0.1` is the node's
//! loopback, where nothing of the pod listens. Made from inside the pod,
//! as minipod did while pods had loopback only, that last check would
//! succeed. All traffic stays on this machine.

#[path = "cni/scene.rs"]
#[allow(dead_code)] // shared with tests/cni.rs, which uses the rest
mod scene;
#[path = "pod_network/setup.rs"]
#[allow(dead_code)] // shared with tests/pod_network.rs
mod setup;

use std::net::{IpAddr, TcpListener};
use std::time::Duration;

use minipod_linux::signals::Signal;
use minipod_runtime::probe::{self, HttpGetRequest};
use minipod_runtime_tests::{root_on_the_host_or_skip, serial, wait_until};
use minipod_spec::enums::UriScheme;
use setup::TestNetwork;

const PATIENCE: Duration = Duration::from_secs(60);

/// A port free on the node now: nothing of the node answers there.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn pod(loopback_port: u16) -> String {
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: probed}}
spec:
  containers:
  - name: server
    image: busybox
    imagePullPolicy: Never
    ports: [{{containerPort: 8080}}]
    command:
    - sh
    - -c
    - |
      mkdir -p /tmp/www
      echo hello at the pod ip > /tmp/www/index.html
      httpd -p 127.0.0.1:{loopback_port} -h /tmp/www
      exec httpd -f -p 8080 -h /tmp/www
"#
    )
}

fn get(host: Option<&str>, port: u16) -> HttpGetRequest {
    HttpGetRequest {
        host: host.map(str::to_owned),
        port,
        path: "/index.html".to_owned(),
        scheme: UriScheme::Http,
        headers: vec![],
    }
}

#[test]
fn checks_of_a_pod_with_an_ip_go_from_the_node_to_its_ip_or_the_host_given() {
    let test = "checks_of_a_pod_with_an_ip_go_from_the_node_to_its_ip_or_the_host_given";
    if !root_on_the_host_or_skip(test) {
        return;
    }
    let _serial = serial();
    let net = TestNetwork::native();
    let node = net.node();
    let loopback_port = free_port();
    let mut running = node.create(&pod(loopback_port)).expect("create the pod");
    let [IpAddr::V4(ip)] = running.pod_ips()[..] else {
        panic!("one IPv4 address expected: {:?}", running.pod_ips());
    };
    assert!(net.cidr.contains(ip), "{ip} not in {}", net.cidr);
    let target = probe::dial_target(None, running.pod_ips(), false);
    assert_eq!(target.from, probe::DialFrom::Node);
    assert_eq!(target.host, ip.to_string());

    let server = node.start(&mut running, "server");
    let timeout = Duration::from_secs(5);
    wait_until("the pod's httpd answers at its IP", PATIENCE, || {
        probe::tcp_check(&running, None, 8080, timeout).is_ok()
    });
    // The loopback server answers inside the pod (busybox's wget, run
    // there), so what follows is about where the checks go.
    let fetch = format!("wget -q -O - http://127.0.0.1:{loopback_port}/index.html");
    wait_until(
        "the pod's loopback httpd answers inside it",
        PATIENCE,
        || {
            let argv = ["sh".to_owned(), "-c".to_owned(), fetch.clone()];
            node.runtime
                .exec_in_container(&running, "server", &server.container, &argv, timeout)
                .is_ok_and(|out| out.exit_code == 0 && out.output == b"hello at the pod ip\n")
        },
    );
    let ok = probe::http_get(&running, &get(None, 8080), timeout).expect("httpGet");
    assert_eq!(
        (ok.status, ok.body.as_slice()),
        (200, &b"hello at the pod ip\n"[..])
    );
    // The loopback server is not at the pod IP, which a check without
    // host dials ...
    let refused = String::from(
        probe::tcp_check(&running, None, loopback_port, timeout).expect_err("not at the pod IP"),
    );
    assert_eq!(
        refused,
        format!("dial tcp {ip}:{loopback_port}: connect: connection refused")
    );
    // ... and a host given is dialled from the node: 127.0.0.1 is the
    // node's own, where nothing listens.
    let node_loopback = String::from(
        probe::http_get(&running, &get(Some("127.0.0.1"), loopback_port), timeout)
            .expect_err("the node's loopback"),
    );
    assert_eq!(
        node_loopback,
        format!("dial tcp 127.0.0.1:{loopback_port}: connect: connection refused")
    );

    server.container.signal(Signal::SIGKILL).expect("kill");
    server.container.wait().expect("wait");
    drop(server);
    node.runtime.remove_pod(running).expect("remove the pod");
    assert_eq!(net.ports(), "", "a bridge port is left");
    node.finish();
}
