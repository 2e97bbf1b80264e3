//! Node capacity: a pod cannot claim more of the node than it has.
//!
//! The attack: `limits: {memory: 8Ei}` (so requests of 8Ei) was admitted
//! and run as a high-priority pod (`oom_score_adj` -997 when Guaranteed),
//! and nothing compared any pod's requests with the node. Now each pod goes
//! through the kubelet's resource admission (`minipod_plan::admission`):
//! one that does not fit next to the pods already there fails
//! `OutOfcpu`/`OutOfmemory` with the kubelet's message, and nothing of it
//! is started.
//!
//! * `minipod run` of an 8Ei pod exits 1, OutOfmemory, and creates no
//!   cgroup, no process, no file (its container would have written one);
//! * through the daemon, on a node with exactly 1 CPU allocatable
//!   (`--system-reserved`), a second pod of 600m next to a running one of
//!   600m is `Failed`/`OutOfcpu` with the kubelet's words in `get`,
//!   `describe` and its event, and the first keeps running;
//! * host ports are capacity too (the kubelet's `NodePorts` check): through
//!   the daemon, a pod claiming a `hostPort` that a running pod holds is
//!   `Failed`/`NodePorts` with the kubelet's words, while one claiming
//!   another port runs beside the first.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use minipod_runtime_tests::{
    MARKER_VAR, ScratchNode, root_on_the_host_or_skip, serial, tail, text, wait_for_exit,
    wait_until_or,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

/// The real `minipod` command line (also each pod's monitor).
const CLI: &str = env!("CARGO_BIN_EXE_minipod-cli");
/// The daemon under test.
const DAEMON: &str = env!("CARGO_BIN_EXE_minipodd-under-test");
/// Generous: the v2 run is an emulated VM.
const PATIENCE: Duration = Duration::from_secs(120);

/// A busybox pod whose container writes `/shared/<name>-started` on the
/// node's shared directory, so a start is seen from the host.
fn pod(node: &ScratchNode, name: &str, resources: Value, command: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "volumes": [{"name": "shared", "hostPath": {
                "path": node.shared().to_str().expect("utf-8"), "type": "Directory"}}],
            "containers": [{
                "name": "app",
                "image": "busybox:1.36",
                "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c", format!("touch /shared/{name}-started; {command}")],
                "resources": resources,
                "volumeMounts": [{"name": "shared", "mountPath": "/shared"}],
            }],
        },
    })
}

fn write_manifest(node: &ScratchNode, pod: &Value) -> PathBuf {
    let name = pod["metadata"]["name"].as_str().expect("a name");
    let path = node.path(&format!("{name}.json"));
    fs::write(&path, serde_json::to_vec_pretty(pod).expect("json")).expect("the manifest");
    path
}

#[test]
fn minipod_run_rejects_an_8ei_pod_and_starts_nothing() {
    if !root_on_the_host_or_skip("minipod_run_rejects_an_8ei_pod_and_starts_nothing") {
        return;
    }
    let _serial = serial();
    let node = ScratchNode::new("capacity-run");
    // Guaranteed: on main it ran with oom_score_adj -997.
    let resources = json!({"limits": {"cpu": "100m", "memory": "8Ei"}});
    let manifest = write_manifest(&node, &pod(&node, "huge", resources, "true"));
    let status_file = node.path("status.json");

    let mut child = Command::new(CLI)
        .arg("run")
        .arg("-f")
        .arg(&manifest)
        .arg("--status-file")
        .arg(&status_file)
        .args(node.node_flags())
        .env(MARKER_VAR, &node.marker)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start minipod run");
    let status = wait_for_exit(&mut child, PATIENCE);
    let output = child.wait_with_output().expect("the output");
    let stderr = text(&output.stderr);
    assert_eq!(status.code(), Some(1), "minipod run: {status}\n{stderr}");
    // i64::MAX bytes: 8Ei is capped there, as Kubernetes caps it.
    let expected = "Pod was rejected: Node didn't have enough resource: memory, requested: 9223372036854775807, used: 0, capacity: ";
    assert!(
        stderr.contains("OutOfmemory") && stderr.contains(expected),
        "{stderr}"
    );
    let reported: Value =
        serde_json::from_slice(&fs::read(&status_file).expect("the status file")).expect("json");
    assert_eq!(reported["status"]["phase"], "Failed", "{reported}");
    assert_eq!(reported["status"]["reason"], "OutOfmemory", "{reported}");
    assert!(
        reported["status"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with(expected)),
        "{reported}"
    );

    // Nothing was started: no container ran, not even a cgroup was made.
    assert!(
        !node.shared().join("huge-started").exists(),
        "the container ran"
    );
    assert_eq!(node.cgroups.count_dirs(), 0, "cgroups were created");
    assert!(node.leftover_processes(&[]).is_empty());
    node.check_nothing_left();
    node.remove_dir();
}

/// A daemon of the test's own, on `node`, with `extra` node flags.
struct Daemon<'a> {
    node: &'a ScratchNode,
    child: Option<Child>,
}

impl<'a> Daemon<'a> {
    fn start(node: &'a ScratchNode, extra: &[&str]) -> Daemon<'a> {
        let log = fs::File::create(node.path("daemon.log")).expect("the daemon's log");
        let child = Command::new(DAEMON)
            .args(["--monitor-program", CLI])
            .args(node.node_flags())
            .args(["--node-name", "capacity-test", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env(MARKER_VAR, &node.marker)
            .env("RUST_LOG", "info,libcgroups=error")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start minipodd");
        let mut daemon = Daemon {
            node,
            child: Some(child),
        };
        let socket = daemon.socket();
        let kubeconfig = daemon.kubeconfig();
        wait_until_or("the daemon serves", PATIENCE, || {
            if let Some(status) = daemon
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("minipodd exited ({status})\n{}", daemon.log());
            }
            (socket.exists() && kubeconfig.exists())
                .then_some(())
                .ok_or("no socket or kubeconfig yet")
        });
        daemon
    }

    fn socket(&self) -> PathBuf {
        self.node.path("run/minipodd.sock")
    }

    fn kubeconfig(&self) -> PathBuf {
        self.node.path("run/kubeconfig")
    }

    /// `kubectl get pods` (the daemon's table), if kubectl is installed.
    fn kubectl_get_pods(&self) -> Option<String> {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .args(["get", "pods"])
            .stdin(Stdio::null())
            .output()
            .ok()?;
        assert!(
            out.status.success(),
            "kubectl get pods: {}",
            text(&out.stderr)
        );
        Some(text(&out.stdout))
    }

    fn log(&self) -> String {
        tail(
            &fs::read_to_string(self.node.path("daemon.log")).unwrap_or_default(),
            40,
        )
    }

    /// `minipod ARGS --socket ...`.
    fn cli(&self, args: &[&str]) -> Output {
        Command::new(CLI)
            .args(args)
            .arg("--socket")
            .arg(self.socket())
            .stdin(Stdio::null())
            .output()
            .expect("run minipod")
    }

    /// `minipod ARGS`, which must succeed: its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "minipod {args:?}: {}\n{}\n{}",
            out.status,
            text(&out.stderr),
            self.log()
        );
        text(&out.stdout)
    }

    fn pod(&self, name: &str) -> Option<Value> {
        let out = self.cli(&["get", "pod", name, "-o", "json"]);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).expect("json"))
    }

    /// SIGTERM; the daemon must exit 0 (its pods keep running: delete them first).
    fn stop(mut self) {
        let mut child = self.child.take().expect("a daemon");
        kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).expect("SIGTERM minipodd");
        let status = wait_for_exit(&mut child, PATIENCE);
        assert!(status.success(), "minipodd: {status}\n{}", self.log());
    }
}

impl Drop for Daemon<'_> {
    /// After a failure: the pods are deleted through the API (their
    /// monitors outlive the daemon), then the daemon is killed.
    fn drop(&mut self) {
        if self.child.is_some() {
            for name in ["first", "second", "third"] {
                let _ = self.cli(&["delete", "pod", name, "--now"]);
            }
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn the_daemon_fails_a_pod_that_does_not_fit_next_to_a_running_one() {
    if !root_on_the_host_or_skip("the_daemon_fails_a_pod_that_does_not_fit_next_to_a_running_one") {
        return;
    }
    let _serial = serial();
    let node = ScratchNode::new("capacity-daemon");
    // Exactly one CPU allocatable, whatever the host has.
    let cpus = minipod_node::host::cpu_capacity_millis().expect("the host's CPUs");
    let reserved = format!("cpu={}m", cpus - 1000);
    let daemon = Daemon::start(&node, &["--system-reserved", &reserved]);
    let requests = json!({"requests": {"cpu": "600m"}});
    let first = write_manifest(
        &node,
        &pod(&node, "first", requests.clone(), "exec sleep 600"),
    );
    daemon.ok(&["apply", "-f", first.to_str().expect("utf-8")]);
    wait_until_or("the first pod runs", PATIENCE, || {
        let phase = daemon.pod("first").map(|p| p["status"]["phase"].clone());
        (phase == Some(json!("Running")) && node.shared().join("first-started").exists())
            .then_some(())
            .ok_or(phase)
    });

    let second = write_manifest(&node, &pod(&node, "second", requests, "exec sleep 600"));
    // Accepted by the API, as Kubernetes accepts it, then rejected by the node.
    daemon.ok(&["apply", "-f", second.to_str().expect("utf-8")]);
    let message =
        "Node didn't have enough resource: cpu, requested: 600, used: 600, capacity: 1000";
    let decided = |p: &Value| matches!(p["status"]["phase"].as_str(), Some("Failed" | "Running"));
    let rejected = wait_until_or("the node decides on the second pod", PATIENCE, || {
        let pod = daemon.pod("second");
        pod.clone().filter(decided).ok_or(pod)
    });
    assert_eq!(rejected["status"]["phase"], "Failed", "{rejected}");
    assert_eq!(rejected["status"]["reason"], "OutOfcpu", "{rejected}");
    assert_eq!(
        rejected["status"]["message"],
        format!("Pod was rejected: {message}"),
        "{rejected}"
    );
    // STATUS is the reason, as kubectl prints a rejected pod.
    let tables = [Some(daemon.ok(&["get", "pods"])), daemon.kubectl_get_pods()];
    for table in tables.into_iter().flatten() {
        let row = table
            .lines()
            .find(|l| l.starts_with("second "))
            .unwrap_or_else(|| panic!("no row for the second pod:\n{table}"));
        assert!(row.contains(" OutOfcpu "), "{table}");
    }
    let described = daemon.ok(&["describe", "pod", "second"]);
    for needle in [
        "Status:       Failed\n".to_owned(),
        "Reason:       OutOfcpu\n".to_owned(),
        format!("Message:      Pod was rejected: {message}\n"),
    ] {
        assert!(
            described.contains(&needle),
            "{needle:?} not in\n{described}"
        );
    }
    // The event: the kubelet's reason, and its message without the prefix.
    assert!(
        described
            .lines()
            .any(|l| l.trim_start().starts_with("Warning")
                && l.contains(" OutOfcpu ")
                && l.ends_with(message)),
        "no OutOfcpu event in\n{described}"
    );
    // Nothing of it started; the first pod was not disturbed.
    assert!(!node.shared().join("second-started").exists());
    let uid = rejected["metadata"]["uid"].as_str().expect("a uid");
    assert!(!node.path("run/pods").join(uid).exists());
    let first_now = daemon.pod("first").expect("the first pod");
    assert_eq!(first_now["status"]["phase"], "Running", "{first_now}");
    assert_eq!(
        first_now["status"]["containerStatuses"][0]["restartCount"], 0,
        "{first_now}"
    );

    // A rejected pod is deleted like any other (no monitor to wait for).
    daemon.ok(&["delete", "pod", "second"]);
    daemon.ok(&["delete", "pod", "first", "--grace-period", "1"]);
    wait_until_or("both pods are gone", PATIENCE, || {
        let left: Vec<&str> = ["first", "second"]
            .into_iter()
            .filter(|n| daemon.pod(n).is_some())
            .collect();
        left.is_empty().then_some(()).ok_or(left)
    });
    let pid = daemon.child.as_ref().map(Child::id).expect("the daemon");
    node.wait_until_no_processes("the pods' processes are gone", &[pid]);
    assert!(node.entries("state/records").is_empty());
    daemon.stop();
    node.check_nothing_left();
    node.remove_dir();
}

/// `pod` with one container port, `80`, claiming `host_port` on `host_ip`
/// (`""`: all addresses).
fn with_host_port(mut pod: Value, host_port: u16, host_ip: &str) -> Value {
    let mut port = json!({"containerPort": 80, "hostPort": host_port});
    if !host_ip.is_empty() {
        port["hostIP"] = json!(host_ip);
    }
    pod["spec"]["containers"][0]["ports"] = json!([port]);
    pod
}

#[test]
fn the_daemon_fails_a_pod_whose_host_port_a_running_pod_holds() {
    if !root_on_the_host_or_skip("the_daemon_fails_a_pod_whose_host_port_a_running_pod_holds") {
        return;
    }
    let _serial = serial();
    let node = ScratchNode::new("host-ports-daemon");
    let daemon = Daemon::start(&node, &[]);
    // A port nothing on the host listens on now (admission binds nothing,
    // but a forwarding added later must not meet a listener of the host).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let none = json!({});
    let running = |name: &str| {
        wait_until_or(&format!("{name} runs"), PATIENCE, || {
            let phase = daemon.pod(name).map(|p| p["status"]["phase"].clone());
            (phase == Some(json!("Running"))
                && node.shared().join(format!("{name}-started")).exists())
            .then_some(())
            .ok_or(phase)
        })
    };
    // The first holds the port on every address (no hostIP: 0.0.0.0).
    let first = with_host_port(
        pod(&node, "first", none.clone(), "exec sleep 600"),
        port,
        "",
    );
    daemon.ok(&[
        "apply",
        "-f",
        write_manifest(&node, &first).to_str().expect("utf-8"),
    ]);
    running("first");

    // The same port on one address conflicts with the first's 0.0.0.0.
    let second = with_host_port(
        pod(&node, "second", none.clone(), "exec sleep 600"),
        port,
        "127.0.0.1",
    );
    daemon.ok(&[
        "apply",
        "-f",
        write_manifest(&node, &second).to_str().expect("utf-8"),
    ]);
    let decided = |p: &Value| matches!(p["status"]["phase"].as_str(), Some("Failed" | "Running"));
    let rejected = wait_until_or("the node decides on the second pod", PATIENCE, || {
        let pod = daemon.pod("second");
        pod.clone().filter(decided).ok_or(pod)
    });
    let message =
        "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports";
    assert_eq!(rejected["status"]["phase"], "Failed", "{rejected}");
    assert_eq!(rejected["status"]["reason"], "NodePorts", "{rejected}");
    assert_eq!(
        rejected["status"]["message"],
        format!("Pod was rejected: {message}"),
        "{rejected}"
    );
    let described = daemon.ok(&["describe", "pod", "second"]);
    assert!(
        described
            .lines()
            .any(|l| l.trim_start().starts_with("Warning")
                && l.contains(" NodePorts ")
                && l.ends_with(message)),
        "no NodePorts event in\n{described}"
    );
    assert!(!node.shared().join("second-started").exists());
    let uid = rejected["metadata"]["uid"].as_str().expect("a uid");
    assert!(!node.path("run/pods").join(uid).exists());

    // Another port fits beside the first.
    let third = with_host_port(pod(&node, "third", none, "exec sleep 600"), port + 1, "");
    daemon.ok(&[
        "apply",
        "-f",
        write_manifest(&node, &third).to_str().expect("utf-8"),
    ]);
    running("third");
    let first_now = daemon.pod("first").expect("the first pod");
    assert_eq!(first_now["status"]["phase"], "Running", "{first_now}");

    for name in ["second", "first", "third"] {
        daemon.ok(&["delete", "pod", name, "--grace-period", "1"]);
    }
    wait_until_or("the pods are gone", PATIENCE, || {
        let left: Vec<&str> = ["first", "second", "third"]
            .into_iter()
            .filter(|n| daemon.pod(n).is_some())
            .collect();
        left.is_empty().then_some(()).ok_or(left)
    });
    let pid = daemon.child.as_ref().map(Child::id).expect("the daemon");
    node.wait_until_no_processes("the pods' processes are gone", &[pid]);
    assert!(node.entries("state/records").is_empty());
    daemon.stop();
    node.check_nothing_left();
    node.remove_dir();
}
