//! The pod network through the daemon, as users drive it: `minipodd`
//! (built as `minipodd-under-test`) with a network of the test's own,
//! the real `kubectl` and the `minipod` command line, real pods under
//! detached monitors, real packets from the host (issue 13, "done when").
//!
//! Each test owns its network (`daemon_network/net.rs`, removed even when
//! an assertion fails): a bridge `mpt<pid>`, a /24 of 10.203.0.0/16 the
//! host does not route, a CNI conf dir (empty: minipod's native default
//! network; or the test's `.conflist`), the NAT table `minipod_mpt<pid>`.
//! The daemon runs with `--no-ip-forward`, and every test checks that the
//! host-wide `net.ipv4.ip_forward` is as it was. All traffic stays on
//! this machine: the host to its pods, on their IPs and on 127.0.0.1.
//!
//! * `a_web_pod_is_ready_and_reached_at_its_ip_and_its_host_port`: a
//!   busybox httpd with a `readinessProbe` turns Ready (the probe dials
//!   the pod IP), `kubectl get pod -o wide` and `-o jsonpath` show its IP
//!   from the test's range, the host fetches the page at podIP:port and
//!   at 127.0.0.1:hostPort, and the page and `kubectl exec` show the
//!   `fieldRef: status.podIP` env equal to it; after `kubectl delete`,
//!   nothing of its network is left;
//! * `fifty_create_delete_cycles_with_a_host_port_leave_no_network_behind`:
//!   `minipod apply` / `delete` 50 times, each pod answering on its host
//!   port with its own IP; after each, no lease, record, link, NAT element
//!   or namespace pin; the times per cycle are printed;
//! * `a_sigkilled_monitor_leaves_no_network_behind`: the daemon notices
//!   (`MonitorLost`) and removes the pod's network before any delete;
//! * `a_daemon_started_again_cleans_the_network_of_a_pod_whose_monitor_died`:
//!   the daemon and the monitor SIGKILLed together leave a live network;
//!   the daemon's start-up clean-up removes it before it serves;
//! * `cni::a_broken_cni_configuration_keeps_the_pod_creating_until_it_is_fixed`:
//!   `ContainerCreating`, one `FailedCreatePodSandBox` Event naming the
//!   plugin and its error, counted up as the tries are retried with
//!   back-off, nothing left between tries; the file fixed, the pod starts
//!   by itself with an IP;
//! * `cni::a_daemon_started_again_deletes_the_cni_network_of_a_pod_whose_monitor_died`:
//!   the same on a CNI configuration: the chain's `DEL` from the result
//!   cache, before the daemon serves;
//! * `a_pod_claiming_a_held_host_port_is_rejected_and_the_port_stays_with_its_holder`:
//!   `NodePorts` with a real network: the rejected pod gets no link,
//!   address or NAT element, the holder keeps answering, and the port is
//!   free again once the holder is deleted.
//!
//! The kubectl parts are skipped, with a message, where kubectl is not
//! installed. Host only (the bridge and nftables are the host's).

#[path = "daemon_network/net.rs"]
mod net;
#[path = "daemon_network/node.rs"]
mod node;
#[path = "daemon_network/pods.rs"]
mod pods;

#[path = "daemon_network/cni.rs"]
mod cni;

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use minipod_cni::host_link_name;
use minipod_runtime_tests::{root_on_the_host_or_skip, serial, wait_until_or};
use nix::sys::signal::Signal;
use serde_json::json;

use net::{TestNet, free_port, http_get, names_in};
use node::{Node, PATIENCE};
use pods::{
    check_pod_holds_its_network, kubectl_or_skip, loopback, lost, ms, pod_ip, ready, running,
    running_web, spread, uid_of, wait_for_page, web_pod,
};

// ---------------------------------------------------------------------------
// 1. A web pod, as kubectl shows it and the host reaches it
// ---------------------------------------------------------------------------

#[test]
fn a_web_pod_is_ready_and_reached_at_its_ip_and_its_host_port() {
    const TEST: &str = "a_web_pod_is_ready_and_reached_at_its_ip_and_its_host_port";
    if !root_on_the_host_or_skip(TEST) || !kubectl_or_skip(TEST) {
        return;
    }
    let _serial = serial();
    let net = TestNet::new();
    let mut node = Node::new(&net, &[]);
    node.start_daemon();
    // Ports nothing of the host listens on: a probe dialled at the host's
    // loopback rather than the pod IP would fail.
    let port = free_port();
    let host_port = loop {
        let p = free_port();
        if p != port {
            break p;
        }
    };
    let manifest = node.manifest(&web_pod("web", port, Some(host_port), true));
    let applied = Instant::now();
    assert_eq!(
        node.kubectl_ok(&["apply", "-f", &manifest]).trim(),
        "pod/web created"
    );
    let pod = node.wait_for_pod("web", "web is Ready", ready);
    let became_ready = applied.elapsed();
    let ip = pod_ip(&pod, &net);
    let uid = uid_of(&pod);

    // kubectl's wide table: READY 1/1, the IP from the test's range.
    let wide = node.kubectl_ok(&["get", "pod", "web", "-o", "wide"]);
    let cells: Vec<&str> = wide
        .lines()
        .nth(1)
        .expect("a row")
        .split_whitespace()
        .collect();
    assert_eq!(cells[..3], ["web", "1/1", "Running"], "{wide}");
    assert_eq!(
        cells[cells.len() - 4..],
        [ip.to_string().as_str(), "net-test", "<none>", "<none>"],
        "{wide}"
    );
    let jsonpath = node.kubectl_ok(&["get", "pod", "web", "-o", "jsonpath={.status.podIP}"]);
    assert_eq!(jsonpath, ip.to_string());
    // The same IP in minipod's wide table, and in both describes.
    let wide = node.cli_ok(&["get", "pods", "-o", "wide"]);
    let cells: Vec<&str> = wide
        .lines()
        .nth(1)
        .expect("a row")
        .split_whitespace()
        .collect();
    assert_eq!(cells[..3], ["web", "1/1", "Running"], "{wide}");
    assert!(cells.contains(&ip.to_string().as_str()), "{wide}");
    let described = node.cli_ok(&["describe", "pod", "web"]);
    assert!(
        described.contains(&format!("\nIP:           {ip}\n")),
        "{described}"
    );
    let described = node.kubectl_ok(&["describe", "pod", "web"]);
    assert!(
        described
            .lines()
            .any(|l| l.starts_with("IP:") && l.ends_with(&format!(" {ip}"))),
        "{described}"
    );

    // The host reaches the server at the pod IP and on its host port on
    // 127.0.0.1; the page carries the container's POD_IP env.
    let page = format!("hello from {ip}\n");
    for addr in [SocketAddr::new(IpAddr::V4(ip), port), loopback(host_port)] {
        let reply = wait_for_page(addr, &page);
        assert!(reply.starts_with("HTTP/1.1 200 OK"), "{addr}: {reply}");
        assert!(
            reply.ends_with(&format!("\r\n\r\n{page}")),
            "{addr}: {reply}"
        );
    }
    let env = node.kubectl_ok(&[
        "exec",
        "web",
        "-c",
        "server",
        "--",
        "sh",
        "-c",
        "echo $POD_IP",
    ]);
    assert_eq!(env, format!("{ip}\n"));

    // What the pod holds of the node: its host link on the bridge, its
    // lease, its record, its host port in the NAT table.
    let link = host_link_name(&uid);
    assert!(
        net.ports().contains(&format!(": {link}@")),
        "{}",
        net.ports()
    );
    assert_eq!(
        names_in(&node.path("state/network/pods")),
        [format!("{uid}.json")]
    );
    assert_eq!(
        net.host_port_elements(),
        [format!("hostports_any: tcp . {host_port} : {ip} . {port}")]
    );

    let deleting = Instant::now();
    assert_eq!(
        node.kubectl_ok(&["delete", "pod", "web"]).trim(),
        "pod \"web\" deleted"
    );
    let deleted = deleting.elapsed();
    // Gone with the pod, by the time the delete returns.
    assert_eq!(node.network_leftovers(&net, &[&uid]), Vec::<String>::new());
    let gone = http_get(loopback(host_port));
    assert!(gone.is_err(), "the host port still answers: {gone:?}");
    node.finish(&net);
    eprintln!(
        "{TEST}: Ready {} after the apply, delete took {}",
        ms(became_ready),
        ms(deleted)
    );
}

// ---------------------------------------------------------------------------
// 2. Fifty create/delete cycles
// ---------------------------------------------------------------------------

#[test]
fn fifty_create_delete_cycles_with_a_host_port_leave_no_network_behind() {
    const TEST: &str = "fifty_create_delete_cycles_with_a_host_port_leave_no_network_behind";
    if !root_on_the_host_or_skip(TEST) {
        return;
    }
    let _serial = serial();
    let net = TestNet::new();
    let mut node = Node::new(&net, &[]);
    node.start_daemon();
    let host_port = free_port();
    let manifest = node.manifest(&web_pod("cycle", 8080, Some(host_port), false));
    let (mut up, mut down) = (Vec::new(), Vec::new());
    let (mut ips, mut uids) = (Vec::new(), Vec::new());
    let began = Instant::now();
    for cycle in 0..50 {
        let start = Instant::now();
        node.cli_ok(&["apply", "-f", &manifest]);
        let pod = node.wait_for_pod("cycle", "the pod runs with an IP", running);
        let ip = pod_ip(&pod, &net);
        let uid = uid_of(&pod);
        // This pod, not an earlier one, answers on the host port.
        wait_for_page(loopback(host_port), &format!("hello from {ip}\n"));
        up.push(start.elapsed());
        let start = Instant::now();
        node.cli_ok(&["delete", "pod", "cycle"]);
        down.push(start.elapsed());
        assert!(node.pod("cycle").is_none(), "cycle {cycle}: still there");
        let left = node.network_leftovers(&net, &[&uid]);
        assert!(
            left.is_empty(),
            "cycle {cycle} ({uid}, {ip}): left {left:?}"
        );
        ips.push(ip);
        uids.push(uid);
    }
    let total = began.elapsed();
    // Each address is the next one (host-local's order), none reused.
    let mut distinct = ips.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), ips.len(), "{ips:?}");
    assert!(http_get(loopback(host_port)).is_err());
    let uids: Vec<&str> = uids.iter().map(String::as_str).collect();
    assert_eq!(node.network_leftovers(&net, &uids), Vec::<String>::new());
    node.finish(&net);
    eprintln!(
        "{TEST}: 50 cycles in {:.1} s, {} per cycle; apply to the page on the host port: {}; \
         delete (until gone): {}",
        total.as_secs_f64(),
        ms(total / 50),
        spread(&up),
        spread(&down)
    );
}

// ---------------------------------------------------------------------------
// 3. A monitor that dies, alone or with the daemon
// ---------------------------------------------------------------------------

#[test]
fn a_sigkilled_monitor_leaves_no_network_behind() {
    const TEST: &str = "a_sigkilled_monitor_leaves_no_network_behind";
    if !root_on_the_host_or_skip(TEST) {
        return;
    }
    let _serial = serial();
    let net = TestNet::new();
    let mut node = Node::new(&net, &[]);
    node.start_daemon();
    let host_port = free_port();
    let (pod, _) = running_web(&node, &net, "orphan", host_port);
    let uid = uid_of(&pod);
    check_pod_holds_its_network(&node, &net, &uid);

    let monitor = node.monitor(&uid);
    assert!(
        monitor
            .signal(Signal::SIGKILL)
            .expect("SIGKILL the monitor")
    );
    let killed = Instant::now();
    let pod = node.wait_for_pod("orphan", "the pod is MonitorLost", lost);
    let noticed = killed.elapsed();
    let message = pod["status"]["message"].as_str().unwrap_or_default();
    assert!(
        message.ends_with("so what was left of the pod was removed")
            || message.contains("so what was left of the pod was killed and removed"),
        "{message}"
    );
    // The daemon's clean-up took the network down with the rest, before
    // any delete.
    assert_eq!(node.network_leftovers(&net, &[&uid]), Vec::<String>::new());
    assert!(http_get(loopback(host_port)).is_err());

    node.cli_ok(&["delete", "pod", "orphan"]);
    node.finish(&net);
    eprintln!(
        "{TEST}: MonitorLost and the network gone {} after the SIGKILL",
        ms(noticed)
    );
}

#[test]
fn a_daemon_started_again_cleans_the_network_of_a_pod_whose_monitor_died() {
    const TEST: &str = "a_daemon_started_again_cleans_the_network_of_a_pod_whose_monitor_died";
    if !root_on_the_host_or_skip(TEST) {
        return;
    }
    let _serial = serial();
    let net = TestNet::new();
    let mut node = Node::new(&net, &[]);
    node.start_daemon();
    let host_port = free_port();
    let (pod, ip) = running_web(&node, &net, "leftover", host_port);
    let uid = uid_of(&pod);
    let monitor = node.monitor(&uid);

    // The daemon and the monitor die together: nobody is left to notice.
    node.kill_daemon();
    assert!(
        monitor
            .signal(Signal::SIGKILL)
            .expect("SIGKILL the monitor")
    );
    wait_until_or("the monitor is gone", PATIENCE, || {
        (!monitor.is_alive()).then_some(()).ok_or("alive")
    });
    // Its network is still there, and live: the pod still answers.
    check_pod_holds_its_network(&node, &net, &uid);
    wait_for_page(loopback(host_port), &format!("hello from {ip}\n"));

    // Started again: the clean-up runs before the daemon serves.
    let started = Instant::now();
    node.start_daemon();
    let serving = started.elapsed();
    assert_eq!(node.network_leftovers(&net, &[&uid]), Vec::<String>::new());
    assert!(http_get(loopback(host_port)).is_err());
    let pod = node.pod("leftover").expect("the pod is still listed");
    assert!(lost(&pod), "{}", pod["status"]);
    let log = node.daemon_log(2);
    let by_gc = log.contains("removed the pod network of a pod that no longer runs");
    assert!(
        log.contains("pod network: minipod's default network"),
        "{log}"
    );

    node.cli_ok(&["delete", "pod", "leftover"]);
    node.finish(&net);
    eprintln!(
        "{TEST}: the daemon served {} after its start, nothing left; removed by {}",
        ms(serving),
        if by_gc {
            "the network garbage collection"
        } else {
            "the lost monitor's clean-up (the network's garbage collection found nothing left)"
        }
    );
}

// ---------------------------------------------------------------------------
// 5. A host port held by a running pod
// ---------------------------------------------------------------------------

#[test]
fn a_pod_claiming_a_held_host_port_is_rejected_and_the_port_stays_with_its_holder() {
    const TEST: &str =
        "a_pod_claiming_a_held_host_port_is_rejected_and_the_port_stays_with_its_holder";
    if !root_on_the_host_or_skip(TEST) {
        return;
    }
    let _serial = serial();
    let net = TestNet::new();
    let mut node = Node::new(&net, &[]);
    node.start_daemon();
    let host_port = free_port();
    let (first, first_ip) = running_web(&node, &net, "first", host_port);
    let first_uid = uid_of(&first);
    let first_element = format!("hostports_any: tcp . {host_port} : {first_ip} . 8080");
    assert_eq!(
        net.host_port_elements(),
        std::slice::from_ref(&first_element)
    );

    // The same port on 127.0.0.1 conflicts with the holder's 0.0.0.0.
    let mut second = web_pod("second", 8080, Some(host_port), false);
    second["spec"]["containers"][0]["ports"][0]["hostIP"] = json!("127.0.0.1");
    node.cli_ok(&["apply", "-f", &node.manifest(&second)]);
    let rejected = node.wait_for_pod("second", "the second pod is decided", |p| {
        p["status"]["phase"] == "Failed" || p["status"]["phase"] == "Running"
    });
    assert_eq!(rejected["status"]["reason"], "NodePorts", "{rejected}");
    let second_uid = uid_of(&rejected);
    assert!(rejected["status"].get("podIP").is_none(), "{rejected}");
    // It got nothing of the network; the holder keeps the port.
    assert!(!net::link_exists(&host_link_name(&second_uid)));
    assert_eq!(
        names_in(&node.path("state/network/pods")),
        [format!("{first_uid}.json")]
    );
    assert_eq!(net.host_port_elements(), [first_element]);
    wait_for_page(loopback(host_port), &format!("hello from {first_ip}\n"));

    // The holder deleted, the port is free again for a new pod.
    node.cli_ok(&["delete", "pod", "second"]);
    node.cli_ok(&["delete", "pod", "first"]);
    assert_eq!(
        node.network_leftovers(&net, &[&first_uid, &second_uid]),
        Vec::<String>::new()
    );
    let (third, third_ip) = running_web(&node, &net, "third", host_port);
    assert_eq!(third["status"]["phase"], "Running");
    assert_ne!(third_ip, first_ip);
    assert_eq!(
        net.host_port_elements(),
        [format!(
            "hostports_any: tcp . {host_port} : {third_ip} . 8080"
        )]
    );
    node.cli_ok(&["delete", "pod", "third"]);
    node.finish(&net);
}
