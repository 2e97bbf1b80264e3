//! `spec.securityContext.sysctls`, for real: set in the pod's own network
//! and IPC namespaces, never on the node (`minipod_plan::sysctl`,
//! `minipod_linux::pod_sysctl`; `docs/kubernetes-semantics.md` §11).
//!
//! * safe sysctls (`net.ipv4.ip_local_port_range`, `kernel.shm_rmid_forced`,
//!   a slash-separated name) are what the container reads under
//!   `/proc/sys`, while the node's values stay as they were;
//! * the writing itself is the defence, not only the allowlist: unsafe
//!   namespaced sysctls handed to the runtime directly (as if admission
//!   were skipped) still change only the pod's namespaces;
//! * `minipod run` rejects a pod with an unsafe sysctl before anything
//!   exists (`Failed`, `SysctlForbidden`, the kubelet's message), and runs
//!   it on a node that allows it with `--allowed-unsafe-sysctls`;
//! * the daemon does the same: the unsafe pod `Failed`/`SysctlForbidden`
//!   with no container run, a safe one beside it `Succeeded` with its value;
//! * hostile names (`../` out of `/proc/sys/net`) and `net.*` on a
//!   `hostNetwork` pod are refused by validation, before anything exists.
//!
//! Every test reads the node's values first and, should a pod have
//! changed one, puts it back and fails. Run as root.

use std::fs;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use minipod_linux::container::ExitStatus;
use minipod_runtime_tests::{
    MARKER_VAR, ScratchNode, TestNode, root_on_the_host_or_skip, root_or_skip, serial, text,
    wait_for_exit, wait_until_or,
};
use serde_json::{Value, json};

const INIT: &str = env!("CARGO_BIN_EXE_minipod-test-init");
/// The real `minipod` command line.
const CLI: &str = env!("CARGO_BIN_EXE_minipod-cli");
const PATIENCE: Duration = Duration::from_secs(120);

/// The node's values of some sysctls when the test began; on drop, any
/// that changed is put back (and [`NodeSysctls::check_unchanged`] has
/// failed the test already).
struct NodeSysctls(Vec<(&'static str, String)>);

impl NodeSysctls {
    fn read(files: &[&'static str]) -> NodeSysctls {
        NodeSysctls(
            files
                .iter()
                .map(|f| (*f, fs::read_to_string(f).expect("a sysctl of the node")))
                .collect(),
        )
    }

    fn value(&self, file: &str) -> &str {
        let (_, value) = self.0.iter().find(|(f, _)| *f == file).expect("read");
        value.trim()
    }

    fn check_unchanged(&self) {
        for (file, before) in &self.0 {
            let now = fs::read_to_string(file).expect("a sysctl of the node");
            assert_eq!(&now, before, "the pod changed the node's {file}");
        }
    }
}

impl Drop for NodeSysctls {
    fn drop(&mut self) {
        for (file, before) in &self.0 {
            if fs::read_to_string(file).is_ok_and(|now| now != *before) {
                let _ = fs::write(file, before.trim());
            }
        }
    }
}

const PORT_RANGE: &str = "/proc/sys/net/ipv4/ip_local_port_range";
const SHM_RMID_FORCED: &str = "/proc/sys/kernel/shm_rmid_forced";
const SYNCOOKIES: &str = "/proc/sys/net/ipv4/tcp_syncookies";
const SOMAXCONN: &str = "/proc/sys/net/core/somaxconn";
const MSGMAX: &str = "/proc/sys/kernel/msgmax";

/// A value other than the node's `current` one for a 0/1 sysctl.
fn flipped(current: &str) -> &'static str {
    if current == "0" { "1" } else { "0" }
}

/// A number other than the node's `current` one.
fn other_number(current: &str) -> String {
    (current.parse::<u64>().expect("a number") + 7).to_string()
}

/// Runs the pod's only container, `cat`, to its end and returns its output.
fn cat_in_pod(node: &TestNode, yaml: &str) -> String {
    let mut pod = node.create(yaml).expect("create the pod");
    let started = node.start(&mut pod, "cat");
    let status = started.container.wait().expect("wait");
    let mut out = String::new();
    fs::File::from(started.stdout)
        .read_to_string(&mut out)
        .expect("read");
    assert_eq!(status, ExitStatus::Exited(0), "{out}");
    node.runtime.remove_pod(pod).expect("remove the pod");
    out
}

fn pod_yaml(sysctls: &[(&str, String)], files: &[&str]) -> String {
    let sysctls: Vec<String> = sysctls
        .iter()
        .map(|(name, value)| format!("{{name: {name}, value: '{value}'}}"))
        .collect();
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: sysctls}}\nspec:\n  securityContext:\n    sysctls: [{}]\n  containers:\n  - {{name: cat, image: busybox, imagePullPolicy: Never, command: [cat, {}]}}\n",
        sysctls.join(", "),
        files.join(", ")
    )
}

#[test]
fn safe_sysctls_are_set_inside_the_pod_and_the_node_keeps_its_own() {
    if !root_or_skip("safe_sysctls_are_set_inside_the_pod_and_the_node_keeps_its_own") {
        return;
    }
    let _serial = serial();
    let host = NodeSysctls::read(&[PORT_RANGE, SHM_RMID_FORCED, SYNCOOKIES]);
    let range = if host.value(PORT_RANGE) == "40000\t40100" {
        ("40001", "40101")
    } else {
        ("40000", "40100")
    };
    let shm = flipped(host.value(SHM_RMID_FORCED));
    let cookies = flipped(host.value(SYNCOOKIES));
    let node = TestNode::new(INIT);
    let out = cat_in_pod(
        &node,
        &pod_yaml(
            &[
                (
                    "net.ipv4.ip_local_port_range",
                    format!("{} {}", range.0, range.1),
                ),
                ("kernel.shm_rmid_forced", shm.to_owned()),
                // The slash form names the same file.
                ("net/ipv4/tcp_syncookies", cookies.to_owned()),
            ],
            &[PORT_RANGE, SHM_RMID_FORCED, SYNCOOKIES],
        ),
    );
    assert_eq!(
        out,
        format!("{}\t{}\n{shm}\n{cookies}\n", range.0, range.1),
        "what the container reads"
    );
    host.check_unchanged();
    node.finish();
}

#[test]
fn unsafe_sysctls_given_to_the_runtime_still_stay_in_the_pod() {
    if !root_or_skip("unsafe_sysctls_given_to_the_runtime_still_stay_in_the_pod") {
        return;
    }
    let _serial = serial();
    let host = NodeSysctls::read(&[SOMAXCONN, MSGMAX]);
    let somaxconn = other_number(host.value(SOMAXCONN));
    let msgmax = other_number(host.value(MSGMAX));
    let node = TestNode::new(INIT);
    // TestNode creates the pod without the node's allowlist: the runtime
    // alone decides where these are written.
    let out = cat_in_pod(
        &node,
        &pod_yaml(
            &[
                ("net.core.somaxconn", somaxconn.clone()),
                ("kernel.msgmax", msgmax.clone()),
            ],
            &[SOMAXCONN, MSGMAX],
        ),
    );
    assert_eq!(out, format!("{somaxconn}\n{msgmax}\n"));
    host.check_unchanged();
    node.finish();
}

#[test]
fn a_bad_sysctl_value_fails_the_pod_with_nothing_left() {
    if !root_or_skip("a_bad_sysctl_value_fails_the_pod_with_nothing_left") {
        return;
    }
    let _serial = serial();
    let host = NodeSysctls::read(&[PORT_RANGE]);
    let node = TestNode::new(INIT);
    let err = node
        .create(&pod_yaml(
            &[("net.ipv4.ip_local_port_range", "high low".to_owned())],
            &[PORT_RANGE],
        ))
        .expect_err("the kernel refuses the value");
    assert_eq!(
        minipod_spec::error_chain(&err),
        "pod sysctls: writing sysctl \"net.ipv4.ip_local_port_range\" (/proc/sys/net/ipv4/ip_local_port_range): Invalid argument (os error 22)"
    );
    host.check_unchanged();
    // The sandbox and everything before it are gone again.
    node.finish();
}

fn run_pod(node: &ScratchNode, pod: &Value, extra_flags: &[&str]) -> (Option<i32>, String, String) {
    let manifest = node.path("pod.json");
    fs::write(&manifest, serde_json::to_vec_pretty(pod).expect("json")).expect("the manifest");
    let status_file = node.path("status.json");
    let _ = fs::remove_file(&status_file);
    let mut child = Command::new(CLI)
        .arg("run")
        .arg("-f")
        .arg(&manifest)
        .arg("--status-file")
        .arg(&status_file)
        .args(node.node_flags())
        .args(extra_flags)
        .env(MARKER_VAR, &node.marker)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start minipod run");
    let status = wait_for_exit(&mut child, PATIENCE);
    let output = child.wait_with_output().expect("the output");
    (status.code(), text(&output.stdout), text(&output.stderr))
}

#[test]
fn minipod_run_forbids_an_unsafe_sysctl_unless_the_node_allows_it() {
    if !root_on_the_host_or_skip("minipod_run_forbids_an_unsafe_sysctl_unless_the_node_allows_it") {
        return;
    }
    let _serial = serial();
    let host = NodeSysctls::read(&[MSGMAX]);
    let msgmax = other_number(host.value(MSGMAX));
    let node = ScratchNode::new("sysctl-run");
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "msg"},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "securityContext": {"sysctls": [
                {"name": "kernel.shm_rmid_forced", "value": "1"},
                {"name": "kernel.msgmax", "value": msgmax},
            ]},
            "volumes": [{"name": "shared", "hostPath": {
                "path": node.shared().to_str().expect("utf-8"), "type": "Directory"}}],
            "containers": [{
                "name": "app",
                "image": "busybox:1.36",
                "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c", "touch /shared/started; cat /proc/sys/kernel/msgmax"],
                "volumeMounts": [{"name": "shared", "mountPath": "/shared"}],
            }],
        },
    });

    let (code, _, stderr) = run_pod(&node, &pod, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    let message = r#"Pod was rejected: forbidden sysctl: "kernel.msgmax" not allowlisted"#;
    assert!(
        stderr.contains(
            "Warning SysctlForbidden: forbidden sysctl: \"kernel.msgmax\" not allowlisted"
        ) && stderr.contains(message),
        "{stderr}"
    );
    let reported: Value =
        serde_json::from_slice(&fs::read(node.path("status.json")).expect("the status file"))
            .expect("json");
    assert_eq!(reported["status"]["phase"], "Failed", "{reported}");
    assert_eq!(
        reported["status"]["reason"], "SysctlForbidden",
        "{reported}"
    );
    assert_eq!(reported["status"]["message"], message, "{reported}");
    // Nothing was made: no container ran, no cgroup, no process, no file.
    assert!(!node.shared().join("started").exists(), "the container ran");
    assert_eq!(node.cgroups.count_dirs(), 0, "cgroups were created");
    assert!(node.leftover_processes(&[]).is_empty());
    node.check_nothing_left();

    // A node that allows the IPC message sysctls runs it, with the value.
    let (code, stdout, stderr) = run_pod(&node, &pod, &["--allowed-unsafe-sysctls", "kernel.msg*"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.lines().any(|l| l.ends_with(&format!(" {msgmax}"))),
        "{stdout}"
    );
    assert!(node.shared().join("started").exists(), "the container ran");
    host.check_unchanged();
    assert!(node.leftover_processes(&[]).is_empty());
    node.check_nothing_left();
    node.remove_dir();
}

#[test]
fn hostile_sysctls_are_refused_before_anything_is_made() {
    if !root_on_the_host_or_skip("hostile_sysctls_are_refused_before_anything_is_made") {
        return;
    }
    let _serial = serial();
    let host = NodeSysctls::read(&[PORT_RANGE, "/proc/sys/kernel/core_pattern"]);
    let node = ScratchNode::new("sysctl-hostile");
    let pod = |host_network: bool, name: &str| {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "hostile"},
            "spec": {
                "hostNetwork": host_network,
                "securityContext": {"sysctls": [{"name": name, "value": "|/tmp/x"}]},
                "containers": [{"name": "app", "image": "busybox:1.36",
                    "imagePullPolicy": "IfNotPresent", "command": ["true"]}],
            },
        })
    };
    // A path out of /proc/sys/net, to a node-wide sysctl.
    let (code, _, stderr) = run_pod(
        &node,
        &pod(false, "net/ipv4/conf/../../../kernel/core_pattern"),
        &["--allowed-unsafe-sysctls", "net.*"],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(r#"spec.securityContext.sysctls[0].name: Invalid value: "net/ipv4/conf/../../../kernel/core_pattern": must have at most 253 characters"#),
        "{stderr}"
    );
    // The node's own network namespace.
    let (code, _, stderr) = run_pod(&node, &pod(true, "net.ipv4.ip_local_port_range"), &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(r#"spec.securityContext.sysctls[0].name: Invalid value: "net.ipv4.ip_local_port_range": may not be specified when 'hostNetwork' is true"#),
        "{stderr}"
    );
    host.check_unchanged();
    assert_eq!(node.cgroups.count_dirs(), 0, "cgroups were created");
    assert!(node.leftover_processes(&[]).is_empty());
    node.check_nothing_left();
    node.remove_dir();
}

/// The daemon under test.
const DAEMON: &str = env!("CARGO_BIN_EXE_minipodd-under-test");

/// A daemon of the test's own on `node`; killed (after deleting `pods`)
/// if the test fails before [`Daemon::stop`].
struct Daemon<'a> {
    node: &'a ScratchNode,
    child: Option<std::process::Child>,
    pods: &'static [&'static str],
}

impl<'a> Daemon<'a> {
    fn start(node: &'a ScratchNode, pods: &'static [&'static str]) -> Daemon<'a> {
        let log = fs::File::create(node.path("daemon.log")).expect("the daemon's log");
        let child = Command::new(DAEMON)
            .args(["--monitor-program", CLI])
            .args(node.node_flags())
            .args(["--node-name", "sysctl-test", "--listen", "127.0.0.1:0"])
            .env(MARKER_VAR, &node.marker)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start minipodd");
        let mut daemon = Daemon {
            node,
            child: Some(child),
            pods,
        };
        let socket = node.path("run/minipodd.sock");
        wait_until_or("the daemon serves", PATIENCE, || {
            if let Some(status) = daemon
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("minipodd exited ({status})");
            }
            socket.exists().then_some(()).ok_or("no socket yet")
        });
        daemon
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(CLI)
            .args(args)
            .arg("--socket")
            .arg(self.node.path("run/minipodd.sock"))
            .stdin(Stdio::null())
            .output()
            .expect("run minipod")
    }

    fn pod(&self, name: &str) -> Option<Value> {
        let out = self.cli(&["get", "pod", name, "-o", "json"]);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).expect("json"))
    }

    fn finished(&self, name: &str) -> Value {
        wait_until_or(&format!("pod {name} finishes"), PATIENCE, || {
            let pod = self.pod(name);
            pod.clone()
                .filter(|p| matches!(p["status"]["phase"].as_str(), Some("Failed" | "Succeeded")))
                .ok_or(pod)
        })
    }

    fn stop(mut self) {
        for name in self.pods {
            let out = self.cli(&["delete", "pod", name, "--now"]);
            assert!(out.status.success(), "delete {name}: {}", text(&out.stderr));
        }
        let mut child = self.child.take().expect("a daemon");
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .expect("SIGTERM minipodd");
        let status = wait_for_exit(&mut child, PATIENCE);
        assert!(status.success(), "minipodd: {status}");
    }
}

impl Drop for Daemon<'_> {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            for name in self.pods {
                let _ = self.cli(&["delete", "pod", name, "--now"]);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn the_daemon_fails_an_unsafe_sysctl_pod_and_runs_a_safe_one() {
    if !root_on_the_host_or_skip("the_daemon_fails_an_unsafe_sysctl_pod_and_runs_a_safe_one") {
        return;
    }
    let _serial = serial();
    let host = NodeSysctls::read(&[MSGMAX, SHM_RMID_FORCED]);
    let shm = flipped(host.value(SHM_RMID_FORCED));
    let node = ScratchNode::new("sysctl-daemon");
    let daemon = Daemon::start(&node, &["unsafe", "safe"]);
    let pod = |name: &str, sysctl: &str, value: &str| {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 1,
                "securityContext": {"sysctls": [{"name": sysctl, "value": value}]},
                "volumes": [{"name": "shared", "hostPath": {
                    "path": node.shared().to_str().expect("utf-8"), "type": "Directory"}}],
                "containers": [{
                    "name": "app",
                    "image": "busybox:1.36",
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", format!(
                        "cat /proc/sys/{} > /shared/{name}", sysctl.replace('.', "/"))],
                    "volumeMounts": [{"name": "shared", "mountPath": "/shared"}],
                }],
            },
        })
    };
    for (name, manifest) in [
        ("unsafe", pod("unsafe", "kernel.msgmax", "100000")),
        ("safe", pod("safe", "kernel.shm_rmid_forced", shm)),
    ] {
        let path = node.path(&format!("{name}.json"));
        fs::write(&path, serde_json::to_vec(&manifest).expect("json")).expect("manifest");
        let out = daemon.cli(&["apply", "-f", path.to_str().expect("utf-8")]);
        assert!(out.status.success(), "apply {name}: {}", text(&out.stderr));
    }

    let rejected = daemon.finished("unsafe");
    assert_eq!(rejected["status"]["phase"], "Failed", "{rejected}");
    assert_eq!(
        rejected["status"]["reason"], "SysctlForbidden",
        "{rejected}"
    );
    assert_eq!(
        rejected["status"]["message"],
        r#"Pod was rejected: forbidden sysctl: "kernel.msgmax" not allowlisted"#,
        "{rejected}"
    );
    assert!(!node.shared().join("unsafe").exists(), "the container ran");

    let safe = daemon.finished("safe");
    assert_eq!(safe["status"]["phase"], "Succeeded", "{safe}");
    assert_eq!(
        fs::read_to_string(node.shared().join("safe")).expect("the pod's value"),
        format!("{shm}\n")
    );
    host.check_unchanged();
    daemon.stop();
    node.wait_until_no_processes("the pods' processes", &[]);
    node.check_nothing_left();
    node.remove_dir();
}
