//! The daemon on a CNI configuration of the test's own (Debian's
//! `bridge` + `host-local`, on the test's bridge and range): a broken
//! one, then fixed; a pod whose monitor died with the daemon, deleted from
//! the CNI result cache when the daemon starts again. Part of
//! `tests/daemon_network.rs`.

use std::time::Instant;

use minipod_runtime_tests::{root_on_the_host_or_skip, serial, wait_until_or};
use nix::sys::signal::Signal;
use serde_json::{Value, json};

use crate::net::{TestNet, names_in};
use crate::node::{Node, PATIENCE};
use crate::pods::{kubectl_or_skip, lost, ms, pod_ip, running, uid_of, web_pod};

/// A `.conflist` of Debian's `bridge` + `host-local` on the test's bridge
/// and `subnet`, host-local's files in the test's directory. Without
/// `isGateway`: the plugin would turn the host-wide `ip_forward` on.
fn bridge_conflist(net: &TestNet, subnet: &str) -> String {
    json!({
        "cniVersion": "1.0.0",
        "name": format!("minipod-test-{}", std::process::id()),
        "plugins": [{
            "type": "bridge", "bridge": net.bridge, "isGateway": false,
            "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]],
                     "dataDir": net.ipam_dir()},
        }],
    })
    .to_string()
}

/// host-local's reservations (its files but the lock and the last one).
fn reservations(net: &TestNet) -> Vec<String> {
    let dir = net
        .ipam_dir()
        .join(format!("minipod-test-{}", std::process::id()));
    names_in(&dir)
        .into_iter()
        .filter(|n| n != "lock" && !n.starts_with("last_reserved_ip"))
        .collect()
}

/// The count of the pod's `FailedCreatePodSandBox` Event, read from its
/// record (fast: the tries are timed from it).
fn failures_counted(node: &Node, uid: &str) -> u64 {
    let Ok(record) = node.records().open(uid) else {
        return 0;
    };
    record
        .events()
        .unwrap_or_default()
        .iter()
        .filter(|e| e["reason"] == "FailedCreatePodSandBox")
        .filter_map(|e| e["count"].as_u64())
        .max()
        .unwrap_or(0)
}

#[test]
fn a_broken_cni_configuration_keeps_the_pod_creating_until_it_is_fixed() {
    const TEST: &str = "a_broken_cni_configuration_keeps_the_pod_creating_until_it_is_fixed";
    if !root_on_the_host_or_skip(TEST) || !kubectl_or_skip(TEST) {
        return;
    }
    let _serial = serial();
    let net = TestNet::new();
    // host-local refuses the range: bridge's ADD fails after it made the
    // bridge and the veth pair.
    net.write_conflist(&bridge_conflist(&net, "10.203.0.0/33"));
    let mut node = Node::new(&net, &["--backoff-initial", "300ms", "--backoff-max", "5s"]);
    node.start_daemon();
    let manifest = node.manifest(&web_pod("creating", 8080, None, false));
    node.kubectl_ok(&["apply", "-f", &manifest]);
    let uid = uid_of(&node.pod("creating").expect("the pod"));

    // Each try fails whole: right after its Event is counted (the next
    // try is at least 300 ms away), nothing of it is left.
    let mut last = 0;
    let mut between = Vec::new();
    wait_until_or("the failure counted 4 times", PATIENCE, || {
        let count = failures_counted(&node, &uid);
        if count > last {
            last = count;
            let mut left = names_in(&node.path("state/cni/results"));
            left.extend(names_in(&node.path("run/pods")));
            left.extend(node.scratch.mounts());
            between.push((count, net.ports(), left));
        }
        (count >= 4).then_some(()).ok_or(count)
    });
    // No port of the bridge, no CNI cache entry, no sandbox (its run
    // directory, its namespaces' pins).
    for (count, ports, left) in &between {
        assert_eq!(ports, "", "after try {count}: a bridge port is left");
        assert!(left.is_empty(), "after try {count}: left {left:?}");
    }
    assert!(reservations(&net).is_empty(), "{:?}", reservations(&net));

    // As kubectl shows it (once the daemon has read the record): one
    // Warning Event, counted up, naming the plugin and its error; the pod
    // Pending, ContainerCreating, no IP.
    let event = wait_until_or("kubectl shows the Event counted 4 times", PATIENCE, || {
        let events = node.events("creating");
        let failed: Vec<&Value> = events
            .iter()
            .filter(|e| e["reason"] == "FailedCreatePodSandBox")
            .collect();
        match failed[..] {
            [one] if one["count"].as_u64() >= Some(4) => Ok(one.clone()),
            _ => Err(events.clone()),
        }
    });
    assert_eq!(event["type"], "Warning");
    assert_ne!(event["firstTimestamp"], event["lastTimestamp"], "{event}");
    let message = event["message"].as_str().unwrap_or_default();
    for wanted in [
        format!("failed to setup network for sandbox \"{uid}\""),
        "CNI plugin bridge failed ADD".to_owned(),
        "10.203.0.0/33".to_owned(),
    ] {
        assert!(message.contains(&wanted), "no {wanted:?} in {message:?}");
    }
    let row = node.kubectl_ok(&["get", "pod", "creating", "--no-headers"]);
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells[..3],
        ["creating", "0/1", "ContainerCreating"],
        "{row}"
    );
    let pending = node.pod("creating").expect("the pod");
    assert_eq!(pending["status"]["phase"], "Pending");
    assert!(pending["status"].get("podIP").is_none(), "{pending}");

    // Fixed: the next try attaches the pod, with nobody's help.
    net.write_conflist(&bridge_conflist(&net, &net.cidr.to_string()));
    let fixed = Instant::now();
    let pod = node.wait_for_pod("creating", "the pod runs with an IP", running);
    let started = fixed.elapsed();
    let ip = pod_ip(&pod, &net);
    let jsonpath = node.kubectl_ok(&["get", "pod", "creating", "-o", "jsonpath={.status.podIP}"]);
    assert_eq!(jsonpath, ip.to_string());
    assert_eq!(reservations(&net), [ip.to_string()]);
    assert_eq!(net.ports().lines().count(), 1, "{}", net.ports());
    assert_eq!(names_in(&node.path("state/cni/results")).len(), 1);

    node.kubectl_ok(&["delete", "pod", "creating"]);
    assert_eq!(node.network_leftovers(&net, &[&uid]), Vec::<String>::new());
    assert!(reservations(&net).is_empty(), "{:?}", reservations(&net));
    node.finish(&net);
    eprintln!(
        "{TEST}: {last} failed tries seen, the Event: {message:?}; the pod ran {} after the \
         configuration was fixed",
        ms(started)
    );
}

#[test]
fn a_daemon_started_again_deletes_the_cni_network_of_a_pod_whose_monitor_died() {
    const TEST: &str = "a_daemon_started_again_deletes_the_cni_network_of_a_pod_whose_monitor_died";
    if !root_on_the_host_or_skip(TEST) {
        return;
    }
    let _serial = serial();
    let net = TestNet::new();
    net.write_conflist(&bridge_conflist(&net, &net.cidr.to_string()));
    let mut node = Node::new(&net, &[]);
    node.start_daemon();
    let manifest = node.manifest(&web_pod("cached", 8080, None, false));
    node.cli_ok(&["apply", "-f", &manifest]);
    let pod = node.wait_for_pod("cached", "the pod runs with an IP", running);
    let ip = pod_ip(&pod, &net);
    let uid = uid_of(&pod);
    let monitor = node.monitor(&uid);

    // The daemon and the monitor die together: the attachment stays, with
    // its cached result, its address and its port of the bridge.
    node.kill_daemon();
    assert!(
        monitor
            .signal(Signal::SIGKILL)
            .expect("SIGKILL the monitor")
    );
    wait_until_or("the monitor is gone", PATIENCE, || {
        (!monitor.is_alive()).then_some(()).ok_or("alive")
    });
    assert_eq!(names_in(&node.path("state/cni/results")).len(), 1);
    assert_eq!(reservations(&net), [ip.to_string()]);
    assert_eq!(net.ports().lines().count(), 1, "{}", net.ports());

    // Started again: the chain's DEL ran from the cache before it serves.
    let started = Instant::now();
    node.start_daemon();
    let serving = started.elapsed();
    assert_eq!(node.network_leftovers(&net, &[&uid]), Vec::<String>::new());
    assert!(reservations(&net).is_empty(), "{:?}", reservations(&net));
    let pod = node.pod("cached").expect("the pod is still listed");
    assert!(lost(&pod), "{}", pod["status"]);

    node.cli_ok(&["delete", "pod", "cached"]);
    node.finish(&net);
    eprintln!(
        "{TEST}: the daemon served {} after its start, the CNI attachment deleted",
        ms(serving)
    );
}
