//! The native default network through the runtime (decision 0018): an
//! empty conf dir, the test's bridge and range. Part of
//! `tests/pod_network.rs`.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use minipod_cni::host_link_name;
use minipod_linux::signals::Signal;
use minipod_runtime::pod::{RunningPod, StartedContainer};
use minipod_runtime_tests::{TestNode, root_or_skip, serial, wait_until};

use crate::PATIENCE;
use crate::scene::link_exists;
use crate::setup::{TestNetwork, http_get};

/// A web server on 8080, published on `host_port` of the host if given.
fn web(host_port: Option<u16>) -> String {
    let ports = match host_port {
        Some(port) => format!("[{{containerPort: 8080, hostPort: {port}}}]"),
        None => "[{containerPort: 8080}]".to_owned(),
    };
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: web}}
spec:
  hostname: web
  containers:
  - name: server
    image: busybox
    imagePullPolicy: Never
    ports: {ports}
    command:
    - sh
    - -c
    - |
      mkdir -p /tmp/www
      echo hello from the pod network > /tmp/www/index.html
      exec httpd -f -p 8080 -h /tmp/www
"#
    )
}

/// A pod whose one container fetches `url` and prints it.
fn client(url: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: client}}
spec:
  containers:
  - name: fetch
    image: busybox
    imagePullPolicy: Never
    command: [sh, -c, "for i in $(seq 1 100); do wget -q -O - {url} && exit 0; sleep 0.1; done; exit 1"]
"#
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn pod_ip(pod: &RunningPod, net: &TestNetwork) -> Ipv4Addr {
    let [IpAddr::V4(ip)] = pod.pod_ips()[..] else {
        panic!("one IPv4 address expected: {:?}", pod.pod_ips());
    };
    assert!(net.cidr.contains(ip), "{ip} not in {}", net.cidr);
    ip
}

/// The addresses the node's IPAM holds (its files named by an address).
fn leases(node: &TestNode) -> Vec<String> {
    fs::read_dir(node.dir.join("state/network/minipod"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.parse::<Ipv4Addr>().is_ok())
                .collect()
        })
        .unwrap_or_default()
}

fn records(node: &TestNode) -> Vec<String> {
    fs::read_dir(node.dir.join("state/network/pods"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Waits for `started` to exit; its stdout.
fn output_of(started: StartedContainer) -> String {
    started.container.wait().expect("wait");
    let mut text = String::new();
    File::from(started.stdout)
        .read_to_string(&mut text)
        .expect("read stdout");
    text
}

fn stop(started: StartedContainer) {
    started.container.signal(Signal::SIGKILL).expect("kill");
    started.container.wait().expect("wait");
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[test]
fn the_default_network_gives_an_ip_the_host_reaches_and_a_host_port_on_loopback() {
    let test = "the_default_network_gives_an_ip_the_host_reaches_and_a_host_port_on_loopback";
    if !root_or_skip(test) {
        return;
    }
    let _serial = serial();
    let net = TestNetwork::native();
    let node = net.node();
    let host_port = free_port();

    let start = Instant::now();
    let mut pod = node.create(&web(Some(host_port))).expect("create the pod");
    eprintln!(
        "{test}: create_pod, first pod of the node: {}",
        ms(start.elapsed())
    );
    let ip = pod_ip(&pod, &net);
    let hosts = fs::read_to_string(&pod.paths().hosts).expect("hosts");
    assert!(hosts.contains(&format!("{ip}\tweb\n")), "{hosts}");
    let link = host_link_name(pod.uid());
    assert!(
        net.ports().contains(&format!(": {link}@")),
        "{}",
        net.ports()
    );
    assert_eq!(leases(&node), [ip.to_string()]);
    assert_eq!(records(&node), [format!("{}.json", pod.uid())]);

    let server = node.start(&mut pod, "server");
    for addr in [
        SocketAddr::new(ip.into(), 8080),
        SocketAddr::new(Ipv4Addr::LOCALHOST.into(), host_port),
    ] {
        let mut reply = String::new();
        wait_until(&format!("httpd answers at {addr}"), PATIENCE, || {
            reply = http_get(addr).unwrap_or_default();
            reply.contains("hello from the pod network")
        });
        assert!(reply.starts_with("HTTP/1.1 200 OK"), "{addr}: {reply}");
    }
    stop(server);
    let start = Instant::now();
    node.runtime.remove_pod(pod).expect("remove the pod");
    eprintln!("{test}: remove_pod: {}", ms(start.elapsed()));

    // Nothing of the pod's network is left: link, address, record, and
    // the host port answers no more.
    assert!(!link_exists(&link), "{link} is left");
    assert!(leases(&node).is_empty(), "{:?}", leases(&node));
    assert!(records(&node).is_empty(), "{:?}", records(&node));
    let gone = http_get(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), host_port));
    assert!(gone.is_err(), "the host port still answers: {gone:?}");
    node.finish();
}

#[test]
fn pods_reach_each_other_and_the_host_by_ip() {
    let test = "pods_reach_each_other_and_the_host_by_ip";
    if !root_or_skip(test) {
        return;
    }
    let _serial = serial();
    let net = TestNetwork::native();
    let node = net.node();
    let mut web_pod = node.create(&web(None)).expect("create web");
    let web_ip = pod_ip(&web_pod, &net);
    let server = node.start(&mut web_pod, "server");

    // Pod to pod, by IP, across the bridge.
    let mut to_pod = node
        .create(&client(&format!("http://{web_ip}:8080/")))
        .expect("create the client");
    let fetched = output_of(node.start(&mut to_pod, "fetch"));
    assert_eq!(fetched, "hello from the pod network\n");
    node.runtime.remove_pod(to_pod).expect("remove the client");

    // Pod to a server of the host's, at the host's address on the bridge:
    // it sees the pod's own address (no NAT towards the host).
    let gateway = net.cidr.nth(1).expect("gateway");
    let listener = TcpListener::bind((gateway, 0)).expect("listen on the bridge address");
    let port = listener.local_addr().expect("addr").port();
    let host_server = std::thread::spawn(move || {
        let (mut stream, peer) = listener.accept().expect("accept");
        let mut request = [0u8; 512];
        let _ = stream.read(&mut request);
        let _ = write!(
            stream,
            "HTTP/1.0 200 OK\r\nContent-Length: 20\r\n\r\nhello from the host\n"
        );
        peer.ip()
    });
    let mut to_host = node
        .create(&client(&format!("http://{gateway}:{port}/")))
        .expect("create the client");
    let client_ip = pod_ip(&to_host, &net);
    let fetched = output_of(node.start(&mut to_host, "fetch"));
    assert_eq!(fetched, "hello from the host\n");
    assert_eq!(host_server.join().expect("server"), IpAddr::V4(client_ip));
    node.runtime.remove_pod(to_host).expect("remove the client");

    stop(server);
    node.runtime.remove_pod(web_pod).expect("remove web");
    assert_eq!(net.ports(), "", "a bridge port is left");
    node.finish();
}

#[test]
fn a_native_pod_whose_monitor_died_is_cleaned_up_from_its_record() {
    let test = "a_native_pod_whose_monitor_died_is_cleaned_up_from_its_record";
    if !root_or_skip(test) {
        return;
    }
    let _serial = serial();
    let net = TestNetwork::native();
    let node = net.node();
    let host_port = free_port();
    let mut kept = node.create(&web(None)).expect("a pod that lives on");
    let pod = node.create(&web(Some(host_port))).expect("create the pod");
    let (admitted, qos) = (pod.pod().clone(), pod.plan().qos_class);
    let link = host_link_name(pod.uid());
    // Its holder goes away without removing it, as a SIGKILLed monitor
    // does.
    std::mem::forget(pod);
    assert!(link_exists(&link));

    // The daemon's clean-up at start: every pod but the one that lives
    // on is gone, so its network goes, from the record.
    let network = node.runtime.network().expect("a pod network");
    let cleaned = network
        .collect_garbage(&[kept.uid().to_owned()])
        .expect("collect");
    assert_eq!(cleaned, [admitted.uid().to_owned()]);
    assert!(!link_exists(&link), "{link} is left");
    assert_eq!(leases(&node).len(), 1, "{:?}", leases(&node));
    assert_eq!(records(&node), [format!("{}.json", kept.uid())]);
    // The rest of the pod (cgroups, mounts, directories): its network is
    // found gone already.
    let removal = node
        .runtime
        .remove_orphaned(&admitted, qos)
        .expect("remove the orphan");
    assert!(!removal.network, "{removal:?}");

    let server = node.start(&mut kept, "server");
    let kept_ip = pod_ip(&kept, &net);
    wait_until("the pod that lives on still answers", PATIENCE, || {
        http_get(SocketAddr::new(kept_ip.into(), 8080)).is_ok()
    });
    stop(server);
    node.runtime.remove_pod(kept).expect("remove");
    assert!(leases(&node).is_empty());
    node.finish();
}
