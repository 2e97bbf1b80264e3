//! The pod's and the node's addresses, for real: a pod run by `minipod
//! run` whose container prints the downward API's `status.podIP(s)` and
//! `status.hostIP(s)` (env `fieldRef`s), checked against the status the
//! run reports, as the kubelet makes both from the same values
//! (`podFieldSelectorRuntimeValue`, `generateAPIPodStatus`). Once with the
//! node's default address (its default route's), once with `--node-ip`,
//! and once for a `hostNetwork` pod, whose IPs are the node's.
//!
//! Each run has a node of its own ([`ScratchNode`]) and checks at the end
//! that nothing of the pod is left. No traffic: only addresses are read.

use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use minipod_runtime_tests::node::ScratchNode;
use minipod_runtime_tests::{MARKER_VAR, root_on_the_host_or_skip, serial, wait_for_exit};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

/// The real `minipod` command line, built inside this package.
const CLI: &str = env!("CARGO_BIN_EXE_minipod-cli");
/// Generous: the host is shared.
const PATIENCE: Duration = Duration::from_secs(120);

/// A pod whose container prints the four addresses of the downward API,
/// one `NAME=value` a line, to its log and to `/shared/addresses`; with
/// `hostNetwork` when `host_network`.
fn pod(shared: &str, host_network: bool) -> Value {
    let field = |name: &str, path: &str| json!({"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}});
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "addresses"},
        "spec": {
            "restartPolicy": "Never",
            "hostNetwork": host_network,
            "terminationGracePeriodSeconds": 5,
            "volumes": [{"name": "shared", "hostPath": {"path": shared, "type": "Directory"}}],
            "containers": [{
                "name": "app",
                "image": "busybox:1.36",
                "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c",
                    "env | grep '^MY_' | sort | tee /shared/addresses"],
                "env": [
                    field("MY_POD_IP", "status.podIP"),
                    field("MY_POD_IPS", "status.podIPs"),
                    field("MY_HOST_IP", "status.hostIP"),
                    field("MY_HOST_IPS", "status.hostIPs"),
                ],
                "volumeMounts": [{"name": "shared", "mountPath": "/shared"}],
            }],
        },
    })
}

/// `minipod run`, stopped (SIGTERM, then SIGKILL) if a failed assertion
/// drops it while it still runs.
struct Run(Child);

impl Drop for Run {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let pid = Pid::from_raw(self.0.id() as i32);
            let _ = kill(pid, Signal::SIGTERM);
            std::thread::sleep(Duration::from_secs(10));
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// What the pod's container printed, the Pod of the status file and what
/// `minipod run` printed on stderr (the events), after running it
/// (`hostNetwork` when `host_network`) with `extra` flags on a node of its
/// own.
fn run_pod(host_network: bool, extra: &[&str]) -> (String, Value, String) {
    let node = ScratchNode::new("addresses");
    let shared = node.shared();
    let manifest = node.path("pod.json");
    let manifest_json = pod(shared.to_str().expect("utf-8"), host_network);
    fs::write(&manifest, manifest_json.to_string()).expect("write the manifest");
    let status_file = node.path("status.json");
    let started = std::time::Instant::now();
    let child = Command::new(CLI)
        .arg("run")
        .arg("-f")
        .arg(&manifest)
        .arg("--status-file")
        .arg(&status_file)
        .args(node.node_flags())
        .args(extra)
        .env(MARKER_VAR, &node.marker)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(node.path("stderr")).expect("stderr file"))
        .spawn()
        .expect("start minipod run");
    let mut run = Run(child);
    let exit = wait_for_exit(&mut run.0, PATIENCE);
    eprintln!("minipod run: {exit} after {:?}", started.elapsed());
    let printed = fs::read_to_string(shared.join("addresses")).unwrap_or_default();
    let pod: Value = serde_json::from_str(&fs::read_to_string(&status_file).unwrap_or_default())
        .unwrap_or(Value::Null);
    assert!(
        exit.success(),
        "minipod run: {exit}\nprinted:\n{printed}\npod: {pod}"
    );
    let stderr = fs::read_to_string(node.path("stderr")).unwrap_or_default();
    node.check_nothing_left();
    node.remove_dir();
    (printed, pod, stderr)
}

/// The printed `NAME=value` lines, and the status's addresses in the same
/// form (the plural ones comma-separated), must agree.
fn check_env_matches_status(printed: &str, status: &Value) {
    let joined = |list: &Value| -> String {
        let ips: Vec<&str> = list
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["ip"].as_str()).collect())
            .unwrap_or_default();
        ips.join(",")
    };
    let want = format!(
        "MY_HOST_IP={}\nMY_HOST_IPS={}\nMY_POD_IP={}\nMY_POD_IPS={}\n",
        status["hostIP"].as_str().unwrap_or("(no hostIP)"),
        joined(&status["hostIPs"]),
        status["podIP"].as_str().unwrap_or("(no podIP)"),
        joined(&status["podIPs"]),
    );
    assert_eq!(printed, want, "status: {status}");
}

#[test]
fn a_container_sees_the_addresses_of_its_pods_status() {
    if !root_on_the_host_or_skip("a_container_sees_the_addresses_of_its_pods_status") {
        return;
    }
    let _serial = serial();
    let (printed, pod, stderr) = run_pod(false, &[]);
    let status = &pod["status"];
    assert_eq!(status["phase"], "Succeeded", "{pod}");
    check_env_matches_status(&printed, status);
    // The node runs without a pod network here (`--pod-network none`):
    // the sandbox has only `lo`.
    assert_eq!(status["podIP"], "127.0.0.1", "{status}");
    // `ClusterFirst` (the default) on a node without cluster DNS: the
    // node's resolver file, with the kubelet's warning event.
    assert!(
        stderr.contains("Warning MissingClusterDNS")
            && stderr.contains("kubelet does not have ClusterDNS IP configured and cannot create Pod using \"ClusterFirst\" policy. Falling back to \"Default\" policy."),
        "{stderr}"
    );
    // The node's address: its default route's, as the kubelet's without
    // `--node-ip`.
    let node_ip = minipod_node::node_ip::host_default_ips()[0].to_string();
    assert_eq!(status["hostIP"], json!(node_ip), "{status}");
    assert_eq!(status["hostIPs"], json!([{ "ip": node_ip }]), "{status}");
}

#[test]
fn the_node_ip_flag_gives_the_pods_host_ips_in_status_and_env() {
    if !root_on_the_host_or_skip("the_node_ip_flag_gives_the_pods_host_ips_in_status_and_env") {
        return;
    }
    let _serial = serial();
    // Documentation addresses: set as the node's, never used for traffic.
    let (printed, pod, _) = run_pod(false, &["--node-ip", "192.0.2.200,2001:db8::200"]);
    let status = &pod["status"];
    assert_eq!(status["phase"], "Succeeded", "{pod}");
    check_env_matches_status(&printed, status);
    assert_eq!(status["hostIP"], "192.0.2.200", "{status}");
    assert_eq!(
        status["hostIPs"],
        json!([{"ip": "192.0.2.200"}, {"ip": "2001:db8::200"}]),
        "{status}"
    );
    assert!(
        printed.contains("MY_HOST_IPS=192.0.2.200,2001:db8::200\n"),
        "{printed}"
    );
}

#[test]
fn a_host_network_pods_ips_are_the_nodes_in_status_and_env() {
    if !root_on_the_host_or_skip("a_host_network_pods_ips_are_the_nodes_in_status_and_env") {
        return;
    }
    let _serial = serial();
    // "HostNetwork Pods inherit the node IPs as PodIPs" (the kubelet's
    // `generateAPIPodStatus`). Documentation addresses, never used.
    let (printed, pod, stderr) = run_pod(true, &["--node-ip", "192.0.2.200,2001:db8::200"]);
    // `ClusterFirst` on the host's network is `Default`: no warning.
    assert!(!stderr.contains("MissingClusterDNS"), "{stderr}");
    let status = &pod["status"];
    assert_eq!(status["phase"], "Succeeded", "{pod}");
    check_env_matches_status(&printed, status);
    assert_eq!(status["podIP"], "192.0.2.200", "{status}");
    assert_eq!(status["podIPs"], status["hostIPs"], "{status}");
    assert!(
        printed.contains("MY_POD_IPS=192.0.2.200,2001:db8::200\n"),
        "{printed}"
    );
}
