//! The daemon, for real: `minipodd` (built as `minipodd-under-test`) serving
//! the Kubernetes API, driven by the real `kubectl` and by the `minipod`
//! command line (`minipod-cli`), with real pods under detached monitors.
//!
//! Each test runs a daemon of its own ([`Node`]): its state, run and logs
//! directories under a fresh temporary directory, a cgroup root of its own,
//! an ephemeral TLS port. The pods are deleted through the API, the daemon
//! is stopped with SIGTERM, and the test checks that nothing is left: no
//! process, no mount, no pod directory, no record, no cgroup. A failing test
//! kills what it started (monitors and containers, found through the
//! records) when its [`Node`] drops.
//!
//! * `kubectl_drives_a_pod_with_an_init_container_and_two_sidecars`: apply,
//!   STATUS moving `Init:0/3` → ... → `Running` in order, describe, logs
//!   `-c`, `-f` (new lines as they come, ending when the container stops),
//!   `--previous` after a sidecar restarted, delete;
//! * `the_minipod_cli_applies_gets_logs_and_deletes`: the same through
//!   `minipod`, with kubectl's exact table header; then a Secret and a pod
//!   naming it in one file: the record's `pull-secrets.json` (0600), the
//!   Secret kept across a daemon restart, `delete -f` of both;
//! * `pods_survive_the_daemon_killed_with_sigkill`: same monitor, same
//!   container processes, logs complete and still following, a liveness
//!   failure after the restart still restarts the sidecar;
//! * `a_killed_monitor_is_reported_monitor_lost`: `Failed`, `MonitorLost`,
//!   a Warning event, nothing left;
//! * `a_pod_whose_sandbox_fails_stays_container_creating_and_its_event_is_counted`:
//!   a missing hostPath directory keeps the pod `Pending`,
//!   `ContainerCreating`, with one `FailedMount` Event whose count grows;
//!   the directory made, the pod starts by itself;
//! * `fifty_pods_at_once_and_a_stream_of_bad_requests`: 50 concurrent
//!   applies all run; malformed, unknown-field, oversized, wrongly routed
//!   and unauthenticated requests get their codes; no pod is affected.
//!
//! The kubectl parts are skipped, with a message, where kubectl is not
//! installed (as `crates/minipod-api/tests/kubectl.rs` does); the bad
//! requests need `curl`. Times are only checked with generous bounds.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread::sleep;
use std::time::{Duration, Instant};

use minipod_monitor::records::{MonitorState, ProcessId, Records};
use minipod_runtime::pod::NodeConfig;
use minipod_runtime_tests::node::mount_point;
use minipod_runtime_tests::registry::{Compression, TestRegistry};
use minipod_runtime_tests::timeline::{self, EXITING, STARTING, ScriptOptions, TERM, Timeline};
use minipod_runtime_tests::{
    MARKER_VAR, ScratchNode, read, root_or_skip, serial, tail, text, wait_until_or,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

/// The daemon under test.
/// `activeDeadlineSeconds` through kubectl.
#[path = "daemon/deadline.rs"]
mod deadline;

const DAEMON: &str = env!("CARGO_BIN_EXE_minipodd-under-test");
/// The real `minipod` command line (also each pod's monitor).
const CLI: &str = env!("CARGO_BIN_EXE_minipod-cli");
/// Generous: the v2 run is an emulated VM.
const PATIENCE: Duration = Duration::from_secs(120);
/// The image every container uses (imported by [`busybox_image_store`]).
const IMAGE: &str = "busybox:1.36";
/// Another tag of the same image, for updates.
const NEWER_IMAGE: &str = minipod_runtime_tests::NEWER_BUSYBOX;
/// kubectl's `get pods` header, exactly.
const HEADER: &str = "NAME   READY   STATUS    RESTARTS   AGE";

// ---------------------------------------------------------------------------
// Tools
// ---------------------------------------------------------------------------

/// Whether `tool` runs here (`tool version`-like probe with `args`).
fn installed(tool: &str, args: &[&str]) -> bool {
    Command::new(tool)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `args` of a `minipod` subcommand with `--socket SOCKET` after the
/// subcommand's name (before a `--` that starts a command to exec).
fn with_socket<'a>(args: &[&'a str], socket: &'a Path) -> Vec<&'a str> {
    let mut all = args.to_vec();
    let at = usize::from(!all.is_empty());
    all.splice(at..at, ["--socket", socket.to_str().expect("utf-8")]);
    all
}

fn kubectl_installed() -> bool {
    installed("kubectl", &["version", "--client"])
}

fn curl_installed() -> bool {
    installed("curl", &["--version"])
}

/// True when `tool` is installed; otherwise says the test (or part) is
/// skipped. Not a failure even with `MINIPOD_RUNTIME_TESTS_REQUIRED=1`
/// (which is about root): `scripts/setup.sh` installs neither kubectl nor
/// curl, as `crates/minipod-api/tests/kubectl.rs` skips without kubectl.
fn tool_or_skip(tool: &str, present: bool, what: &str) -> bool {
    if !present {
        let _ = writeln!(
            std::io::stderr(),
            "{what}: SKIPPED: {tool} is not installed"
        );
    }
    present
}

// ---------------------------------------------------------------------------
// Pods, built in code
// ---------------------------------------------------------------------------

/// [`timeline::script`], with each timeline line also printed on stdout
/// (`<container> <event>`), so the container's log has it; with `ticks`,
/// instead of sleeping until signalled it prints `tick 0`, `tick 1`, ...
/// five times a second.
fn chatty_script(name: &str, options: &ScriptOptions, ticks: bool) -> String {
    let mut s = timeline::script(name, options);
    // The end of the `log` function, the script's first line.
    let end_of_log = s.find("; }\n").expect("the log function");
    s.insert_str(end_of_log, &format!("; echo \"{name} $*\""));
    if ticks {
        let forever = "while true; do sleep 3600 & wait $!; done";
        assert!(s.contains(forever), "{s}");
        s = s.replace(
            forever,
            "i=0; while true; do echo \"tick $i\"; i=$((i+1)); sleep 0.2 & wait $!; done",
        );
    }
    s
}

/// A scenario container with the shared volume at `/shared`.
fn container(name: &str, options: &ScriptOptions, ticks: bool) -> Value {
    json!({
        "name": name,
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", chatty_script(name, options, ticks)],
        "volumeMounts": [{"name": "shared", "mountPath": timeline::SHARED_DIR}],
    })
}

/// A native sidecar: an init container with `restartPolicy: Always`.
fn sidecar(name: &str, options: &ScriptOptions, ticks: bool) -> Value {
    let mut c = container(name, options, ticks);
    c["restartPolicy"] = json!("Always");
    c
}

/// An exec probe, every second.
fn exec_probe(command: &[&str], failure_threshold: u32) -> Value {
    json!({
        "exec": {"command": command},
        "periodSeconds": 1,
        "failureThreshold": failure_threshold,
    })
}

/// The container's status (init or app) in a pod object.
fn container_status<'a>(pod: &'a Value, name: &str) -> Option<&'a Value> {
    ["initContainerStatuses", "containerStatuses"]
        .iter()
        .filter_map(|k| pod["status"][*k].as_array())
        .flatten()
        .find(|s| s["name"] == name)
}

/// The container runs, has started and is ready.
fn running_and_ready(pod: &Value, name: &str) -> bool {
    container_status(pod, name).is_some_and(|s| {
        s["state"]["running"].is_object() && s["ready"] == true && s["started"] != false
    })
}

fn restart_count(pod: &Value, name: &str) -> i64 {
    container_status(pod, name)
        .and_then(|s| s["restartCount"].as_i64())
        .unwrap_or(-1)
}

/// `tick N` lines of a log, in order.
fn ticks(log: &str) -> Vec<u64> {
    log.lines()
        .filter_map(|l| l.strip_prefix("tick ")?.trim().parse().ok())
        .collect()
}

/// The ticks are 0, 1, 2, ... without a gap or a repeat.
fn check_ticks_complete(log: &str) -> u64 {
    let seen = ticks(log);
    let expected: Vec<u64> = (0..seen.len() as u64).collect();
    assert_eq!(seen, expected, "ticks lost or repeated:\n{log}");
    seen.last().copied().unwrap_or(0)
}

// ---------------------------------------------------------------------------
// A node of its own, with its daemon
// ---------------------------------------------------------------------------

/// Which client drives the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Kubectl,
    Cli,
}

/// One test's node and daemon: a fresh directory (state, run, logs, the
/// shared hostPath directory, manifests, the daemon's output) and a cgroup
/// root of its own. [`Node::finish`] deletes nothing itself: the test
/// deletes its pods through the API; `finish` stops the daemon with
/// SIGTERM and checks that nothing is left.
struct Node {
    /// The node's directory and cgroup root. Its marker is in the daemon's
    /// environment, so in its monitors'.
    scratch: ScratchNode,
    daemon: Option<Child>,
    /// How many times the daemon was started (each has its own log file).
    starts: usize,
    finished: bool,
}

impl Node {
    fn new() -> Node {
        Node {
            scratch: ScratchNode::new("daemon"),
            daemon: None,
            starts: 0,
            finished: false,
        }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.scratch.path(sub)
    }

    fn shared(&self) -> PathBuf {
        self.scratch.shared()
    }

    fn socket(&self) -> PathBuf {
        self.path("run/minipodd.sock")
    }

    fn kubeconfig(&self) -> PathBuf {
        self.path("run/kubeconfig")
    }

    /// The node as the daemon knows it (for cleaning up after a failure).
    fn config(&self) -> NodeConfig {
        self.scratch.node_config(CLI, "daemon-test")
    }

    fn records(&self) -> Records {
        Records::new(&self.path("state"))
    }

    /// Starts the daemon and waits until it serves (its kubeconfig and
    /// socket are there). Whatever an earlier daemon left of both is
    /// removed first, so the wait is for this one.
    fn start_daemon(&mut self) {
        assert!(self.daemon.is_none(), "a daemon already runs");
        let _ = fs::remove_file(self.kubeconfig());
        let _ = fs::remove_file(self.socket());
        self.starts += 1;
        let log = fs::File::create(self.path(&format!("daemon-{}.log", self.starts)))
            .expect("the daemon's log");
        let child = Command::new(DAEMON)
            .args(["--monitor-program", CLI])
            .args(self.scratch.node_flags())
            .args(["--node-name", "daemon-test"])
            .args(["--listen", "127.0.0.1:0"])
            .args(["--backoff-initial", "1s", "--backoff-max", "4s"])
            .env(MARKER_VAR, &self.scratch.marker)
            .env("RUST_LOG", "info,libcgroups=error")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start minipodd");
        self.daemon = Some(child);
        let started = Instant::now();
        loop {
            if self.kubeconfig().exists() && self.socket().exists() {
                break;
            }
            if let Some(status) = self.daemon_exit() {
                panic!(
                    "minipodd exited ({status}) at start\n{}",
                    self.diagnostics()
                );
            }
            if started.elapsed() > PATIENCE {
                panic!(
                    "minipodd does not serve after {PATIENCE:?}\n{}",
                    self.diagnostics()
                );
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// The daemon's exit status, if it exited (reaped).
    fn daemon_exit(&mut self) -> Option<std::process::ExitStatus> {
        self.daemon
            .as_mut()
            .and_then(|c| c.try_wait().expect("waitpid"))
    }

    fn daemon_pid(&self) -> Pid {
        Pid::from_raw(self.daemon.as_ref().expect("a daemon").id() as i32)
    }

    /// The daemon has not exited.
    fn check_daemon_up(&mut self) {
        if let Some(status) = self.daemon_exit() {
            panic!("minipodd exited: {status}\n{}", self.diagnostics());
        }
    }

    /// SIGKILLs the daemon and reaps it.
    fn kill_daemon(&mut self) {
        let mut child = self.daemon.take().expect("a daemon");
        child.kill().expect("SIGKILL minipodd");
        child.wait().expect("reap minipodd");
    }

    /// SIGTERMs the daemon; it must exit 0.
    fn stop_daemon(&mut self) {
        let pid = self.daemon_pid();
        kill(pid, Signal::SIGTERM).expect("SIGTERM minipodd");
        let mut child = self.daemon.take().expect("a daemon");
        let status = minipod_runtime_tests::wait_for_exit(&mut child, PATIENCE);
        assert!(
            status.success(),
            "minipodd exited with {status} on SIGTERM\n{}",
            self.diagnostics()
        );
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
    }

    /// `command` run by `script`, which gives it a terminal (as a person at
    /// one would have). `script`'s own stdin stays open until it is done:
    /// at an EOF there, `script` would type an end-of-file character into
    /// the terminal, and a `-t` exec would pass it on to the command.
    fn in_a_terminal(&self, command: &str) -> Output {
        let mut child = Command::new("script")
            .args(["-qec", command, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run script");
        let stdin = child.stdin.take();
        let out = child.wait_with_output().expect("script's output");
        drop(stdin);
        out
    }

    /// The whole command line of `tool` for `args`, pointed at this daemon.
    fn args_for(&self, tool: Tool, args: &[&str]) -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        match tool {
            Tool::Kubectl => {
                let kubeconfig = self.kubeconfig().to_str().expect("utf-8").to_owned();
                all.splice(0..0, ["--kubeconfig".to_owned(), kubeconfig]);
            }
            Tool::Cli => {
                let socket = self.socket().to_str().expect("utf-8").to_owned();
                all.extend(["--socket".to_owned(), socket]);
            }
        }
        all
    }

    /// `kubectl --kubeconfig <run>/kubeconfig ARGS`.
    fn kubectl(&self, args: &[&str]) -> Output {
        let kubeconfig = self.kubeconfig();
        let mut all = vec!["--kubeconfig", kubeconfig.to_str().expect("utf-8")];
        all.extend_from_slice(args);
        self.run("kubectl", &all)
    }

    /// `kubectl --kubeconfig <run>/kubeconfig ARGS` with `input` on its stdin.
    fn kubectl_with_input(&self, args: &[&str], input: &[u8]) -> Output {
        let kubeconfig = self.kubeconfig();
        let mut all = vec!["--kubeconfig", kubeconfig.to_str().expect("utf-8")];
        all.extend_from_slice(args);
        self.run_with_input("kubectl", &all, input)
    }

    /// `minipod ARGS --socket <run>/minipodd.sock` with `input` on its stdin.
    fn cli_with_input(&self, args: &[&str], input: &[u8]) -> Output {
        let socket = self.socket();
        self.run_with_input(CLI, &with_socket(args, &socket), input)
    }

    /// `program ARGS` with `input` on its stdin.
    fn run_with_input(&self, program: &str, args: &[&str], input: &[u8]) -> Output {
        use std::io::Write;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input).expect("the program's stdin");
        drop(stdin);
        child.wait_with_output().expect("the program's output")
    }

    /// `minipod ARGS --socket <run>/minipodd.sock`.
    fn cli(&self, args: &[&str]) -> Output {
        let socket = self.socket();
        self.run(CLI, &with_socket(args, &socket))
    }

    fn with(&self, tool: Tool, args: &[&str]) -> Output {
        match tool {
            Tool::Kubectl => self.kubectl(args),
            Tool::Cli => self.cli(args),
        }
    }

    /// Runs `args` with `tool`; it must succeed. Its stdout.
    fn ok(&self, tool: Tool, args: &[&str]) -> String {
        let out = self.with(tool, args);
        if !out.status.success() {
            panic!(
                "{tool:?} {args:?} failed ({}):\n--- stdout\n{}--- stderr\n{}\n{}",
                out.status,
                text(&out.stdout),
                text(&out.stderr),
                self.diagnostics()
            );
        }
        text(&out.stdout)
    }

    /// The pod, or `None` once the API says it is not found.
    fn pod(&self, tool: Tool, name: &str) -> Option<Value> {
        let out = self.with(tool, &["get", "pod", name, "-o", "json"]);
        if out.status.success() {
            let pod: Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("get pod -o json: {e}\n{}", text(&out.stdout)));
            return Some(pod);
        }
        let err = text(&out.stderr);
        assert!(err.contains("NotFound"), "get pod {name}: {err}");
        None
    }

    /// Waits until `check` holds for the pod.
    fn wait_for_pod(
        &self,
        tool: Tool,
        name: &str,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        wait_until_or(what, PATIENCE, || match self.pod(tool, name) {
            Some(pod) if check(&pod) => Ok(pod),
            other => Err(format!(
                "{}\n{}",
                other.map_or("(no pod)".into(), |p| p["status"].to_string()),
                self.diagnostics()
            )),
        })
    }

    /// Writes `pod` as `<dir>/<name>.json`.
    fn manifest(&self, pod: &Value) -> PathBuf {
        let name = pod["metadata"]["name"].as_str().expect("a name");
        let path = self.path(&format!("{name}.json"));
        fs::write(&path, serde_json::to_string_pretty(pod).expect("json")).expect("manifest");
        path
    }

    /// A pod of scenario containers with the shared volume.
    fn scenario_pod(&self, name: &str, init: Vec<Value>, apps: Vec<Value>) -> Value {
        let mut spec = json!({
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 20,
            "volumes": [{
                "name": "shared",
                "hostPath": {"path": self.shared().to_str().expect("utf-8"), "type": "Directory"},
            }],
            "containers": apps,
        });
        if !init.is_empty() {
            spec["initContainers"] = Value::Array(init);
        }
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})
    }

    fn timeline(&self) -> Timeline {
        Timeline::read(&self.shared().join(timeline::LOG_NAME)).expect("the timeline")
    }

    /// The CRI log file of a container's run, read directly.
    fn log_file(&self, pod: &Value, container: &str, attempt: u32) -> PathBuf {
        let m = &pod["metadata"];
        self.path("logs")
            .join(format!(
                "{}_{}_{}",
                m["namespace"].as_str().unwrap_or("default"),
                m["name"].as_str().expect("name"),
                m["uid"].as_str().expect("uid")
            ))
            .join(container)
            .join(format!("{attempt}.log"))
    }

    /// Pod cgroups (`pod<uid>`) under the test root, in every hierarchy.
    fn pod_cgroups(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
            let Ok(entries) = fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    if e.file_name().to_string_lossy().starts_with("pod") {
                        found.push(e.path());
                    }
                    walk(&e.path(), found);
                }
            }
        }
        let mut found = Vec::new();
        for dir in self.scratch.cgroups.dirs() {
            walk(&dir, &mut found);
        }
        found
    }

    /// Nothing of any pod is left: no process but the daemon, no mount,
    /// no pod directory, no record, no pod cgroup.
    fn check_no_pods_left(&self) {
        let daemon = self.daemon.as_ref().map(Child::id);
        self.scratch
            .wait_until_no_processes("no process of a pod is left", daemon.as_slice());
        assert_eq!(
            self.scratch.mounts(),
            Vec::<String>::new(),
            "mounts left behind"
        );
        for sub in ["state/pods", "run/pods", "state/records"] {
            assert_eq!(
                self.scratch.entries(sub),
                Vec::<PathBuf>::new(),
                "left in {sub}"
            );
        }
        assert_eq!(
            self.pod_cgroups(),
            Vec::<PathBuf>::new(),
            "pod cgroups left"
        );
    }

    /// The pod `uid` is gone without a trace (other pods may run).
    fn check_pod_gone(&self, uid: &str) {
        let record = self.path("state/records").join(uid);
        assert!(!record.exists(), "{} is left", record.display());
        for sub in ["state/pods", "run/pods"] {
            let dir = self.path(sub).join(uid);
            assert!(!dir.exists(), "{} is left", dir.display());
        }
        let mounts: Vec<String> = self
            .scratch
            .mounts()
            .into_iter()
            .filter(|m| m.contains(uid))
            .collect();
        assert_eq!(mounts, Vec::<String>::new(), "mounts of {uid} left");
        let cgroups: Vec<PathBuf> = self
            .pod_cgroups()
            .into_iter()
            .filter(|p| p.to_string_lossy().contains(uid))
            .collect();
        assert_eq!(cgroups, Vec::<PathBuf>::new(), "cgroups of {uid} left");
    }

    /// Stops the daemon (SIGTERM), checks nothing is left, removes the
    /// cgroup root and the directory. The pods must have been deleted.
    fn finish(mut self) {
        self.check_daemon_up();
        self.stop_daemon();
        self.check_no_pods_left();
        self.scratch.cgroups.remove_and_check_clean();
        self.scratch.remove_dir();
        self.finished = true;
    }

    /// The daemon's output and the tail of every monitor's log.
    fn diagnostics(&self) -> String {
        let mut out = String::new();
        for n in 1..=self.starts {
            let log = fs::read_to_string(self.path(&format!("daemon-{n}.log"))).unwrap_or_default();
            out.push_str(&format!("--- daemon-{n}.log\n{}", tail(&log, 40)));
        }
        for record in self.scratch.entries("state/records") {
            let log = fs::read_to_string(record.join("monitor.log")).unwrap_or_default();
            out.push_str(&format!(
                "--- {}/monitor.log\n{}",
                record.display(),
                tail(&log, 20)
            ));
        }
        out
    }
}

impl Drop for Node {
    /// After a failure: SIGKILL every monitor (found through the records),
    /// have its pod's leftovers removed, SIGKILL the daemon, unmount what
    /// is left; the cgroup root is emptied when `cgroups` drops.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let config = self.config();
        for record in self.records().list().unwrap_or_default() {
            if let Ok(MonitorState::Running(monitor)) = record.monitor_state() {
                let _ = monitor.signal(Signal::SIGKILL);
                let start = Instant::now();
                while monitor.is_alive() && start.elapsed() < Duration::from_secs(10) {
                    sleep(Duration::from_millis(20));
                }
            }
            for c in record.containers().unwrap_or_default() {
                let _ = c.process().signal(Signal::SIGKILL);
            }
            let _ = record.check_monitor(&config);
        }
        if let Some(mut child) = self.daemon.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let mut mounts: Vec<String> = self
            .scratch
            .mounts()
            .iter()
            .filter_map(|m| mount_point(m).map(str::to_owned))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = nix::mount::umount2(m.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
        let _ = fs::remove_dir_all(&self.scratch.dir);
    }
}

/// A running `logs -f` (or any streaming command): its stdout lines come
/// through a channel, read by a thread of their own.
struct Follower {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Follower {
    fn start(program: &str, args: &[String]) -> Follower {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Follower {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits until a line satisfies `check`; the lines so far on timeout.
    fn wait_for_line(&mut self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        while start.elapsed() < PATIENCE {
            match self.lines.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if check(&line) {
                        return line;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!(
            "the follower never printed {what}; it printed:\n{}",
            self.seen.join("\n")
        );
    }

    /// Waits until it exits by itself; every line it printed.
    fn wait_for_end(&mut self, what: &str) -> Vec<String> {
        let status = minipod_runtime_tests::wait_for_exit(&mut self.child, PATIENCE);
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        assert!(
            status.success(),
            "{what} exited with {status}: {:?}",
            self.seen
        );
        self.seen.clone()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// 1. kubectl, end to end
// ---------------------------------------------------------------------------

/// kubectl's STATUS column values a pod with three init containers (a
/// regular one and two sidecars) passes through on its way to Running, in
/// their order. `ContainerCreating` ranks with `PodInitializing`.
fn init_rank(status: &str) -> Option<usize> {
    Some(match status {
        "Pending" => 0,
        "Init:0/3" => 1,
        "Init:1/3" => 2,
        "Init:2/3" => 3,
        "PodInitializing" | "ContainerCreating" => 4,
        "Running" => 5,
        _ => return None,
    })
}

#[test]
fn kubectl_drives_a_pod_with_an_init_container_and_two_sidecars() {
    const TEST: &str = "kubectl_drives_a_pod_with_an_init_container_and_two_sidecars";
    if !root_or_skip(TEST) || !tool_or_skip("kubectl", kubectl_installed(), TEST) {
        return;
    }
    let _serial = serial();
    let began = Instant::now();
    let mut node = Node::new();
    node.start_daemon();
    let k = Tool::Kubectl;

    // init (1 s) → side-a (started after 1 s, startup probe) → side-b
    // (exits 1 after 3 s, the first time only) → app (ticks).
    let pod = node.scenario_pod(
        "e2e",
        vec![
            container("init", &ScriptOptions::new().exit_after(1.0, 0), false),
            {
                let mut c = sidecar("side-a", &ScriptOptions::new().start_delay(1.0), false);
                c["startupProbe"] = exec_probe(&["test", "-e", "/tmp/started"], 120);
                c
            },
            sidecar(
                "side-b",
                &ScriptOptions::new().exit_after(3.0, 1).first_run_only(),
                false,
            ),
        ],
        vec![container("app", &ScriptOptions::new(), true)],
    );
    let manifest = node.manifest(&pod);
    let applied = node.ok(k, &["apply", "-f", manifest.to_str().expect("utf-8")]);
    assert_eq!(applied.trim(), "pod/e2e created");
    // A typo is refused by the server, named by its path.
    let mut typo = pod.clone();
    typo["metadata"]["name"] = json!("typo");
    typo["spec"]["containers"][0]["imagePullPolicyy"] = json!("Never");
    let typo = node.manifest(&typo);
    let refused = node.kubectl(&["apply", "-f", typo.to_str().expect("utf-8")]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("Error from server (BadRequest): error when creating \"")
            && text(&refused.stderr).contains(
                "strict decoding error: unknown field \"spec.containers[0].imagePullPolicyy\""
            ),
        "{}",
        text(&refused.stderr)
    );

    // STATUS, as `kubectl get pods` shows it, until Running.
    let mut seen: Vec<String> = Vec::new();
    wait_until_or("kubectl shows e2e Running", PATIENCE, || {
        let out = node.ok(k, &["get", "pods", "--no-headers"]);
        let columns: Vec<&str> = out.split_whitespace().collect();
        let [name, _ready, status, _restarts, _age] = columns[..] else {
            return Err(vec![format!("not one row: {out:?}")]);
        };
        assert_eq!(name, "e2e");
        if seen.last().map(String::as_str) != Some(status) {
            seen.push(status.to_owned());
        }
        (status == "Running").then_some(()).ok_or(seen.clone())
    });
    let ranks: Vec<Option<usize>> = seen.iter().map(|s| init_rank(s)).collect();
    assert!(
        ranks.iter().all(Option::is_some) && ranks.windows(2).all(|w| w[0] < w[1]),
        "STATUS went {seen:?}: not in the order Pending, Init:0/3, Init:1/3, Init:2/3, \
         PodInitializing, Running\n{}",
        node.timeline().render()
    );
    assert!(
        seen.iter().any(|s| s.starts_with("Init:")),
        "no Init:N/3 status seen: {seen:?}"
    );
    let reached_running = began.elapsed();

    // side-b exits once and is restarted; the others run on.
    let running = node.wait_for_pod(k, "e2e", "side-b restarted and every container runs", |p| {
        restart_count(p, "side-b") >= 1
            && ["side-a", "side-b", "app"]
                .iter()
                .all(|c| running_and_ready(p, c))
    });
    assert_eq!(restart_count(&running, "side-a"), 0);
    assert_eq!(restart_count(&running, "app"), 0);
    let t = node.timeline();
    for result in [
        t.event_before(("init", EXITING), ("side-a", STARTING)),
        t.started_before("side-a", "side-b"),
        t.started_before("side-b", "app"),
        t.has_restarted("side-b"),
        t.not_restarted("side-a"),
        t.not_restarted("app"),
        t.run_together("side-a", "app"),
    ] {
        if let Err(why) = result {
            panic!("{why}\n{}", node.diagnostics());
        }
    }
    let table = node.ok(k, &["get", "pods"]);
    let mut rows = table.lines();
    // kubectl widens RESTARTS for "1 (4s ago)".
    let header: Vec<&str> = rows.next().expect("a header").split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "{table}"
    );
    let row: Vec<&str> = rows.next().expect("a row").split_whitespace().collect();
    assert_eq!(row[..4], ["e2e", "3/3", "Running", "1"], "{table}");
    assert!(row[4].starts_with('(') && row[5] == "ago)", "{table}");
    // -o wide: the pod's IP (the sandbox's loopback address until pods get
    // a network) and the node, through the API's Table.
    let wide = node.ok(k, &["get", "pods", "-o", "wide"]);
    let cells: Vec<&str> = wide
        .lines()
        .nth(1)
        .expect("a row")
        .split_whitespace()
        .collect();
    assert_eq!(
        cells[cells.len() - 4..],
        ["127.0.0.1", "daemon-test", "<none>", "<none>"],
        "{wide}"
    );

    // describe: kubectl's layout, from the server's pod and events.
    let described = node.ok(k, &["describe", "pod", "e2e"]);
    for wanted in [
        "Init Containers:",
        "Containers:",
        "State:",
        "Last State:",
        "Ready:",
        "Restart Count:",
        "Conditions:",
        "Events:",
        "Started",
        "side-b:",
        "Restart Count:  1",
        "Exit Code:    1",
    ] {
        assert!(
            described.contains(wanted),
            "no {wanted:?} in describe:\n{described}"
        );
    }

    // exec -c: a command inside the container (its hostname is the pod's,
    // its pid 1 is the container's workload), and its exit code comes back.
    let inside = node.ok(
        k,
        &[
            "exec",
            "e2e",
            "-c",
            "side-a",
            "--",
            "sh",
            "-c",
            "hostname; cat /proc/1/cmdline | tr '\\0' ' '",
        ],
    );
    assert!(inside.starts_with("e2e\n"), "{inside:?}");
    assert!(inside.contains("sh -c"), "{inside:?}");
    let failed = node.with(k, &["exec", "e2e", "-c", "app", "--", "sh", "-c", "exit 3"]);
    assert_eq!(failed.status.code(), Some(3), "{failed:?}");
    // A command that cannot start: the kubelet's error, after the upgrade
    // (a refused upgrade would send kubectl to SPDY and hide the cause).
    let missing = node.with(k, &["exec", "e2e", "-c", "app", "--", "no-such-command"]);
    let said = text(&missing.stderr);
    assert!(
        !missing.status.success()
            && said.contains("error executing command in container")
            && said.contains("executable file not found in $PATH"),
        "{missing:?}"
    );
    // exec -i: stdin reaches the command, and its end ends `cat`.
    let echoed =
        node.kubectl_with_input(&["exec", "-i", "e2e", "-c", "app", "--", "cat"], b"a\nb\n");
    assert_eq!(
        (echoed.status.code(), text(&echoed.stdout).as_str()),
        (Some(0), "a\nb\n"),
        "{echoed:?}"
    );
    // stderr is its own stream, and the exit code comes back.
    let to_stderr = node.kubectl_with_input(
        &[
            "exec",
            "-i",
            "e2e",
            "-c",
            "app",
            "--",
            "sh",
            "-c",
            "cat >&2; exit 4",
        ],
        b"to stderr\n",
    );
    assert_eq!(to_stderr.status.code(), Some(4), "{to_stderr:?}");
    assert_eq!(text(&to_stderr.stdout), "");
    assert!(
        text(&to_stderr.stderr).starts_with("to stderr\n"),
        "{to_stderr:?}"
    );
    // Output is streamed, not capped at an exec probe's 10 KiB.
    let long = node.ok(
        k,
        &[
            "exec",
            "e2e",
            "-c",
            "app",
            "--",
            "sh",
            "-c",
            "yes | head -c 100000",
        ],
    );
    assert_eq!(long.len(), 100_000);
    // exec -it: a terminal of the container's devpts, with kubectl's size
    // (`script` gives kubectl a terminal, 30 rows of 100 columns).
    if installed("script", &["--version"]) {
        let kubeconfig = node.kubeconfig();
        let inner = format!(
            "stty rows 30 cols 100; kubectl --kubeconfig {} exec -it e2e -c app -- sh -c 'tty; stty size; test -t 0 && echo all-ttys'",
            kubeconfig.display()
        );
        let out = node.in_a_terminal(&inner);
        let seen = text(&out.stdout);
        assert!(out.status.success(), "{out:?}");
        for wanted in ["/dev/pts/0", "30 100\r", "all-ttys\r"] {
            assert!(seen.contains(wanted), "no {wanted:?} in {seen:?}");
        }
    }

    // A client that goes away takes its command with it.
    let mut client = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(node.kubeconfig())
        .args(["exec", "e2e", "-c", "app", "--", "sleep", "4321"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl runs");
    let sleeping = || {
        fs::read_dir("/proc")
            .expect("/proc")
            .flatten()
            .filter_map(|e| fs::read(e.path().join("cmdline")).ok())
            .filter(|c| c == b"sleep\x004321\x00")
            .count()
    };
    wait_until_or("the exec'd sleep runs", PATIENCE, || {
        (sleeping() == 1).then_some(()).ok_or("not yet")
    });
    client.kill().expect("kill kubectl");
    let _ = client.wait();
    wait_until_or("the exec'd sleep is gone with its client", PATIENCE, || {
        (sleeping() == 0).then_some(()).ok_or("still there")
    });

    // logs -c: each container's own lines.
    let init_log = node.ok(k, &["logs", "e2e", "-c", "init"]);
    assert_eq!(init_log, "init Starting\ninit Started\ninit Exiting 0\n");
    let side_a = node.ok(k, &["logs", "e2e", "-c", "side-a"]);
    assert_eq!(side_a, "side-a Starting\nside-a Started\n");
    // --previous: the run that exited; without: the current one.
    let previous = node.ok(k, &["logs", "e2e", "-c", "side-b", "--previous"]);
    assert_eq!(
        previous,
        "side-b Starting\nside-b Started\nside-b Exiting 1\n"
    );
    let current = node.ok(k, &["logs", "e2e", "-c", "side-b"]);
    assert_eq!(current, "side-b Starting\nside-b Started\n");
    let refused = node.kubectl(&["logs", "e2e", "-c", "app", "--previous"]);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("previous terminated container"));
    let app_log = node.ok(k, &["logs", "e2e", "-c", "app"]);
    assert!(
        app_log.starts_with("app Starting\napp Started\ntick 0\n"),
        "{app_log}"
    );
    let last_tick = check_ticks_complete(&app_log);

    // set image: a sidecar's new image restarts that sidecar alone, with
    // the kubelet's event; the others keep their instance.
    let before = node.pod(k, "e2e").expect("e2e");
    let instance = |p: &Value, c: &str| {
        let s = container_status(p, c).expect("a status");
        (s["containerID"].clone(), s["restartCount"].clone())
    };
    let set = node.ok(
        k,
        &["set", "image", "pod/e2e", &format!("side-b={NEWER_IMAGE}")],
    );
    assert_eq!(set.trim(), "pod/e2e image updated");
    let updated = node.wait_for_pod(k, "e2e", "side-b restarted with the new image", |p| {
        container_status(p, "side-b").is_some_and(|s| s["image"] == NEWER_IMAGE)
            && restart_count(p, "side-b") == restart_count(&before, "side-b") + 1
            && running_and_ready(p, "side-b")
    });
    assert_eq!(updated["spec"]["initContainers"][2]["image"], NEWER_IMAGE);
    for c in ["init", "side-a", "app"] {
        assert_eq!(
            instance(&updated, c),
            instance(&before, c),
            "{c} was left alone"
        );
    }
    let events = pod_events(&node, k, "e2e");
    assert!(
        has_event(
            &events,
            "Normal",
            "Killing",
            "Container side-b definition changed, will be restarted"
        ),
        "{events:#?}"
    );
    // Anything else is refused, as Kubernetes refuses it.
    let refused = node.kubectl(&[
        "patch",
        "pod",
        "e2e",
        "-p",
        r#"{"spec":{"containers":[{"name":"app","command":["true"]}]}}"#,
    ]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr)
            .contains("is invalid: spec: Forbidden: pod updates may not change fields"),
        "{}",
        text(&refused.stderr)
    );

    // logs -f: new lines as they come ...
    let kubeconfig = node.kubeconfig().to_str().expect("utf-8").to_owned();
    let mut follow = Follower::start(
        "kubectl",
        &[
            "--kubeconfig",
            &kubeconfig,
            "logs",
            "-f",
            "e2e",
            "-c",
            "app",
        ]
        .map(String::from),
    );
    follow.wait_for_line("a tick written after it started", |l| {
        ticks(l).first().is_some_and(|n| *n > last_tick + 2)
    });

    // delete returns once the pod is gone ...
    let uid = running["metadata"]["uid"].as_str().expect("uid").to_owned();
    let deleting = Instant::now();
    let deleted = node.ok(k, &["delete", "pod", "e2e"]);
    let delete_took = deleting.elapsed();
    assert_eq!(deleted.trim(), "pod \"e2e\" deleted");
    assert!(
        node.pod(k, "e2e").is_none(),
        "e2e is still there after delete"
    );
    node.check_pod_gone(&uid);
    assert_eq!(node.ok(k, &["get", "pods", "-o", "name"]), "");

    // ... and the follow ends with the container, to its last line.
    let followed = follow.wait_for_end("kubectl logs -f");
    assert_eq!(
        followed[followed.len() - 2..],
        ["app Term", "app Exiting 0"],
        "{followed:?}"
    );
    check_ticks_complete(&followed.join("\n"));
    let t = node.timeline();
    if let Err(why) = t.exits_in_order(&["app", "side-b", "side-a"]) {
        panic!("{why}");
    }
    assert!(
        t.count("side-b", TERM) >= 1 && t.count("side-a", TERM) >= 1,
        "{}",
        t.render()
    );

    node.finish();
    eprintln!(
        "{TEST}: STATUS went {seen:?}; Running after {reached_running:?}, \
         delete took {delete_took:?}, whole test {:?}",
        began.elapsed()
    );
}

// ---------------------------------------------------------------------------
// 2. The minipod command line
// ---------------------------------------------------------------------------

#[test]
fn the_minipod_cli_applies_gets_logs_and_deletes() {
    const TEST: &str = "the_minipod_cli_applies_gets_logs_and_deletes";
    if !root_or_skip(TEST) {
        return;
    }
    let _serial = serial();
    let began = Instant::now();
    let mut node = Node::new();
    node.start_daemon();
    let c = Tool::Cli;

    let none = node.cli(&["get", "pods"]);
    assert!(none.status.success());
    assert_eq!(text(&none.stdout), "");
    assert_eq!(
        text(&none.stderr).trim(),
        "No resources found in default namespace."
    );

    // `get pods -w`, from before the pod exists.
    let socket = node.socket().to_str().expect("utf-8").to_owned();
    let mut watch = Follower::start(
        CLI,
        &["get", "pods", "-w", "--socket", &socket].map(String::from),
    );
    let pod = node.scenario_pod(
        "cli",
        vec![sidecar("side", &ScriptOptions::new(), false)],
        vec![container("app", &ScriptOptions::new(), true)],
    );
    let manifest = node.manifest(&pod);
    let manifest = manifest.to_str().expect("utf-8");
    assert_eq!(
        node.ok(c, &["apply", "-f", manifest]).trim(),
        "pod/cli created"
    );
    // Applied again unchanged: nothing to do.
    assert_eq!(
        node.ok(c, &["apply", "-f", manifest]).trim(),
        "pod/cli unchanged"
    );

    wait_until_or("minipod get pods shows cli 2/2 Running", PATIENCE, || {
        let table = node.ok(c, &["get", "pods"]);
        let mut lines = table.lines();
        // Columns are as wide as their widest cell, as kubectl's are: the
        // header is exact once the row says Running (a slow machine may
        // show a wider STATUS such as PodInitializing first).
        let header = lines.next();
        let row: Vec<&str> = lines
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        if row.get(..4) == Some(&["cli", "2/2", "Running", "0"][..]) {
            assert_eq!(header, Some(HEADER), "{table}");
            return Ok(());
        }
        Err(table)
    });
    let row = watch.wait_for_line("cli 2/2 Running", |l| {
        l.split_whitespace().take(3).eq(["cli", "2/2", "Running"])
    });
    assert!(!row.contains("NAME"), "{row}");
    let wide = node.ok(c, &["get", "pods", "-o", "wide"]);
    assert!(
        wide.starts_with(&format!("{HEADER}   IP ")) && wide.contains("READINESS GATES"),
        "{wide}"
    );
    let cells: Vec<&str> = wide
        .lines()
        .nth(1)
        .expect("a row")
        .split_whitespace()
        .collect();
    assert_eq!(
        cells[cells.len() - 4..],
        ["127.0.0.1", "daemon-test", "<none>", "<none>"],
        "{wide}"
    );

    let json = node.ok(c, &["get", "pod", "cli", "-o", "json"]);
    let object: Value = serde_json::from_str(&json).expect("get pod -o json is JSON");
    assert_eq!(
        (object["kind"].as_str(), object["apiVersion"].as_str()),
        (Some("Pod"), Some("v1"))
    );
    assert_eq!(object["metadata"]["name"], "cli");
    assert_eq!(object["status"]["phase"], "Running");
    // Bound to this node, with the pod's loopback address (the sandbox has
    // only `lo`) and the node's address (its default route's, as the
    // kubelet's without `--node-ip`).
    assert!(
        object["spec"]["nodeName"]
            .as_str()
            .is_some_and(|n| !n.is_empty()),
        "{}",
        object["spec"]
    );
    assert_eq!(object["status"]["podIPs"], json!([{"ip": "127.0.0.1"}]));
    let host_ip = minipod_node::node_ip::host_default_ips()[0].to_string();
    assert_eq!(object["status"]["hostIPs"], json!([{ "ip": host_ip }]));
    assert_eq!(object["status"]["hostIP"], json!(host_ip));
    assert_eq!(object["status"]["podIP"], "127.0.0.1");
    assert!(running_and_ready(&object, "side") && running_and_ready(&object, "app"));
    let uid = object["metadata"]["uid"].as_str().expect("uid").to_owned();
    // apply with a new app image: configured, and the app alone restarts.
    let mut newer = pod.clone();
    newer["spec"]["containers"][0]["image"] = json!(NEWER_IMAGE);
    let newer_path = node.path("cli-newer.json");
    fs::write(&newer_path, newer.to_string()).expect("manifest");
    let newer = newer_path.to_str().expect("utf-8");
    assert_eq!(
        node.ok(c, &["apply", "-f", newer]).trim(),
        "pod/cli configured"
    );
    let side = container_status(&object, "side").expect("side")["containerID"].clone();
    let updated = node.wait_for_pod(c, "cli", "app restarted with the new image", |p| {
        container_status(p, "app").is_some_and(|s| s["image"] == NEWER_IMAGE)
            && restart_count(p, "app") == 1
            && running_and_ready(p, "app")
    });
    assert_eq!(
        container_status(&updated, "side").expect("side")["containerID"],
        side
    );
    assert_eq!(restart_count(&updated, "side"), 0);
    assert_eq!(
        node.ok(c, &["apply", "-f", newer]).trim(),
        "pod/cli unchanged"
    );
    // exec: stdin with -i, the exit code, stderr apart, and a terminal
    // with -it (`script` gives minipod one, 30 rows of 100 columns).
    let echoed = node.cli_with_input(&["exec", "cli", "-c", "app", "-i", "--", "cat"], b"x\ny\n");
    assert!(echoed.status.success(), "{echoed:?}");
    assert_eq!(text(&echoed.stdout), "x\ny\n");
    let failed = node.cli(&[
        "exec",
        "cli",
        "-c",
        "app",
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 6",
    ]);
    assert_eq!(failed.status.code(), Some(6), "{failed:?}");
    assert_eq!(text(&failed.stdout), "out\n");
    assert!(text(&failed.stderr).starts_with("err\n"), "{failed:?}");
    assert!(
        text(&failed.stderr).contains("command terminated with exit code 6"),
        "{failed:?}"
    );
    let inner = format!(
        "stty rows 30 cols 100; {CLI} exec -it cli -c app --socket {} -- sh -c 'tty; stty size; exit 7'",
        node.socket().display()
    );
    let out = node.in_a_terminal(&inner);
    let seen = text(&out.stdout);
    for wanted in ["/dev/pts/0", "30 100\r"] {
        assert!(seen.contains(wanted), "no {wanted:?} in {seen:?}");
    }

    // A change Kubernetes forbids on a running pod: one line, exit 2.
    let mut forbidden = pod.clone();
    forbidden["spec"]["containers"][0]["image"] = json!(NEWER_IMAGE);
    forbidden["spec"]["containers"][0]["workingDir"] = json!("/tmp");
    let forbidden_path = node.path("cli-forbidden.json");
    fs::write(&forbidden_path, forbidden.to_string()).expect("manifest");
    let refused = node.cli(&["apply", "-f", forbidden_path.to_str().expect("utf-8")]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(
        text(&refused.stderr).contains("Forbidden: pod updates may not change fields"),
        "{}",
        text(&refused.stderr)
    );

    let list: Value =
        serde_json::from_str(&node.ok(c, &["get", "pods", "-o", "json"])).expect("a JSON list");
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    let yaml = node.ok(c, &["get", "pod", "cli", "-o", "yaml"]);
    assert!(
        yaml.contains("kind: Pod") && yaml.contains("name: cli"),
        "{yaml}"
    );

    assert_eq!(
        node.ok(c, &["logs", "cli", "-c", "side"]),
        "side Starting\nside Started\n"
    );
    wait_until_or("the app ticked three times", PATIENCE, || {
        let log = node.ok(c, &["logs", "cli", "-c", "app"]);
        (ticks(&log).len() >= 3).then_some(()).ok_or(log)
    });
    let log = node.ok(c, &["logs", "cli", "-c", "app"]);
    assert!(
        log.starts_with("app Starting\napp Started\ntick 0\n"),
        "{log}"
    );
    let last = check_ticks_complete(&log);
    let tail = node.ok(c, &["logs", "cli", "-c", "app", "--tail", "1"]);
    assert_eq!(tail.lines().count(), 1, "{tail}");
    assert!(ticks(&tail)[0] >= last, "{tail}");
    let stamped = node.ok(c, &["logs", "cli", "-c", "side", "--timestamps"]);
    assert!(
        stamped
            .lines()
            .all(|l| l.split_once(' ').is_some_and(|(t, _)| t.ends_with('Z'))),
        "{stamped}"
    );
    let no_container = node.cli(&["logs", "cli"]);
    assert!(!no_container.status.success());
    assert!(text(&no_container.stderr).contains("a container name must be specified"));
    let events = node.ok(c, &["events"]);
    assert!(
        events.contains("Started") && events.contains("pod/cli"),
        "{events}"
    );

    // logs -f with the CLI, and delete.
    let mut follow = Follower::start(
        CLI,
        &["logs", "cli", "-c", "app", "-f", "--socket", &socket].map(String::from),
    );
    follow.wait_for_line("a new tick", |l| {
        ticks(l).first().is_some_and(|n| *n > last + 2)
    });
    let deleting = Instant::now();
    assert_eq!(
        node.ok(c, &["delete", "pod", "cli", "--grace-period", "5"])
            .trim(),
        "pod \"cli\" deleted"
    );
    let delete_took = deleting.elapsed();
    let followed = follow.wait_for_end("minipod logs -f");
    assert_eq!(
        followed.last().map(String::as_str),
        Some("app Exiting 0"),
        "{followed:?}"
    );
    let gone = node.cli(&["get", "pod", "cli", "-o", "json"]);
    assert!(!gone.status.success());
    assert!(
        text(&gone.stderr).contains("Error from server (NotFound): pods \"cli\" not found"),
        "{}",
        text(&gone.stderr)
    );
    node.check_pod_gone(&uid);
    // The watch saw it stop (`Terminating` may be too short-lived to be
    // seen: the containers leave at once on SIGTERM).
    watch.wait_for_line("cli Terminating or Completed", |l| {
        matches!(
            l.split_whitespace().nth(2),
            Some("Terminating" | "Completed")
        )
    });
    drop(watch);
    let again = node.cli(&["delete", "pod", "cli"]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("NotFound"),
        "{}",
        text(&again.stderr)
    );

    // A Secret and a pod that names it (and one that does not exist) in one
    // file: the Secret is created first, and the pod's record holds its
    // decoded Docker config, root only, before the monitor starts.
    let pulls = node.path("pulls.yaml");
    fs::write(
        &pulls,
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: pulls}}\nspec:\n  terminationGracePeriodSeconds: 1\n  imagePullSecrets: [{{name: regcred}}, {{name: nope}}]\n  containers:\n  - {{name: app, image: {IMAGE}, imagePullPolicy: Never, command: [sleep, '3600']}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: regcred}}\ntype: kubernetes.io/dockerconfigjson\nstringData:\n  .dockerconfigjson: '{{\"auths\": {{\"127.0.0.1:5000\": {{\"auth\": \"dTpw\"}}}}}}'\n"
        ),
    )
    .expect("manifest");
    let pulls = pulls.to_str().expect("utf-8");
    assert_eq!(
        node.ok(c, &["apply", "-f", pulls]),
        "secret/regcred created\npod/pulls created\n"
    );
    let pod: Value =
        serde_json::from_str(&node.ok(c, &["get", "pod", "pulls", "-o", "json"])).expect("JSON");
    let uid = pod["metadata"]["uid"].as_str().expect("uid").to_owned();
    let file = node
        .path("state/records")
        .join(&uid)
        .join("pull-secrets.json");
    let mode = |p: &Path| fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    let recorded: Value = serde_json::from_str(&read(&file)).expect("pull-secrets.json");
    assert_eq!(
        recorded,
        json!({
            "secrets": [{"name": "regcred",
                         "dockerconfigjson": {"auths": {"127.0.0.1:5000": {"auth": "dTpw"}}}}],
            "missing": ["nope"]
        })
    );
    let stored = node.path("state/secrets/default/regcred.json");
    assert_eq!(
        (mode(&stored), mode(&node.path("state/secrets"))),
        (0o600, 0o700)
    );
    // The Secret outlives the daemon.
    node.stop_daemon();
    node.start_daemon();
    let table = node.ok(c, &["get", "secrets"]);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["NAME", "TYPE", "DATA", "AGE"], "{table}");
    assert_eq!(
        rows[1][..3],
        ["regcred", "kubernetes.io/dockerconfigjson", "1"],
        "{table}"
    );
    assert_eq!(
        node.ok(c, &["delete", "-f", pulls]),
        "pod \"pulls\" deleted\nsecret \"regcred\" deleted\n"
    );
    node.check_pod_gone(&uid);
    assert!(!stored.exists(), "{} is left", stored.display());

    node.finish();
    eprintln!(
        "{TEST}: delete took {delete_took:?}, whole test {:?}",
        began.elapsed()
    );
}

// ---------------------------------------------------------------------------
// 3. Restart survival, and a lost monitor
// ---------------------------------------------------------------------------

/// kubectl when installed, else the CLI (same arguments for what is used).
fn api_tool(test: &str) -> Tool {
    if kubectl_installed() {
        Tool::Kubectl
    } else {
        let _ = writeln!(
            std::io::stderr(),
            "{test}: kubectl is not installed: using the minipod CLI instead"
        );
        Tool::Cli
    }
}

/// `(name, pid, pid start time, containerID)` of every container in the
/// record, sorted.
fn instances(node: &Node, uid: &str) -> Vec<(String, i32, u64, String)> {
    let record = node.records().open(uid).expect("the record");
    let mut all: Vec<_> = record
        .containers()
        .expect("containers/*.json")
        .into_iter()
        .map(|c| (c.name, c.pid, c.pid_start_time, c.container_id))
        .collect();
    all.sort();
    all
}

/// `(name, containerID, startedAt, restartCount)` as the API shows them.
fn api_containers(pod: &Value) -> Vec<(String, String, String, i64)> {
    let mut all: Vec<_> = ["initContainerStatuses", "containerStatuses"]
        .iter()
        .filter_map(|k| pod["status"][*k].as_array())
        .flatten()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                s["containerID"].as_str().unwrap_or_default().to_owned(),
                s["state"]["running"]["startedAt"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                s["restartCount"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    all.sort();
    all
}

/// The object's `metadata.resourceVersion`, as a number.
fn resource_version(object: &Value) -> u64 {
    object["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no resourceVersion: {}", object["metadata"]))
}

/// The pod's events, through the API.
fn pod_events(node: &Node, tool: Tool, name: &str) -> Vec<Value> {
    match tool {
        Tool::Kubectl => {
            let selector = format!("involvedObject.name={name}");
            let out = node.ok(
                tool,
                &["get", "events", "--field-selector", &selector, "-o", "json"],
            );
            let list: Value = serde_json::from_str(&out).expect("events JSON");
            list["items"].as_array().cloned().unwrap_or_default()
        }
        Tool::Cli => {
            // The CLI prints events as a table: read the record instead.
            let pod = node.pod(tool, name).expect("the pod");
            let uid = pod["metadata"]["uid"].as_str().expect("uid");
            node.records()
                .open(uid)
                .expect("record")
                .events()
                .expect("events")
        }
    }
}

fn has_event(events: &[Value], kind: &str, reason: &str, message: &str) -> bool {
    events.iter().any(|e| {
        e["type"] == kind
            && e["reason"] == reason
            && e["message"].as_str().is_some_and(|m| m.contains(message))
    })
}

#[test]
fn pods_survive_the_daemon_killed_with_sigkill() {
    const TEST: &str = "pods_survive_the_daemon_killed_with_sigkill";
    if !root_or_skip(TEST) {
        return;
    }
    let _serial = serial();
    let began = Instant::now();
    let k = api_tool(TEST);
    let mut node = Node::new();
    let alive = node.shared().join("alive");
    fs::write(&alive, "").expect("the liveness file");
    node.start_daemon();

    let pod = node.scenario_pod(
        "survivor",
        vec![{
            let mut side = sidecar("side", &ScriptOptions::new(), false);
            side["livenessProbe"] = exec_probe(&["test", "-e", "/shared/alive"], 2);
            side
        }],
        vec![container("app", &ScriptOptions::new(), true)],
    );
    let manifest = node.manifest(&pod);
    node.ok(k, &["apply", "-f", manifest.to_str().expect("utf-8")]);
    let running = node.wait_for_pod(k, "survivor", "survivor runs", |p| {
        p["status"]["phase"] == "Running"
            && running_and_ready(p, "side")
            && running_and_ready(p, "app")
    });
    let uid = running["metadata"]["uid"].as_str().expect("uid").to_owned();
    let record = node.records().open(&uid).expect("the record");
    let monitor = record.monitor().expect("monitor.json").expect("a monitor");
    let processes = instances(&node, &uid);
    assert_eq!(processes.len(), 2, "{processes:?}");
    let api_before = api_containers(&running);
    let version_before = resource_version(&running);
    let app_log_file = node.log_file(&running, "app", 0);
    let before_kill = wait_until_or("the app ticked three times", PATIENCE, || {
        let log = node.ok(k, &["logs", "survivor", "-c", "app"]);
        (ticks(&log).len() >= 3).then_some(log.clone()).ok_or(log)
    });
    let last_before = check_ticks_complete(&before_kill);

    // SIGKILL the daemon: the pod runs on, its output still written.
    node.kill_daemon();
    assert!(monitor.is_alive(), "the monitor died with the daemon");
    for (name, pid, start_time, _) in &processes {
        let p = ProcessId {
            pid: *pid,
            start_time: *start_time,
        };
        assert!(p.is_alive(), "{name} ({pid}) died with the daemon");
    }
    let during = wait_until_or("the app writes while the daemon is dead", PATIENCE, || {
        let log = fs::read_to_string(&app_log_file).unwrap_or_default();
        let last = ticks(
            &minipod_runtime::logs::read_entries(log.as_bytes())
                .map(|e| minipod_runtime::logs::render(&e, false))
                .map(|b| text(&b))
                .unwrap_or_default(),
        )
        .last()
        .copied()
        .unwrap_or(0);
        (last > last_before + 2).then_some(last).ok_or(last)
    });

    // Started again on the same roots: the same pod, as it is.
    node.start_daemon();
    let after = node.wait_for_pod(k, "survivor", "survivor is known again", |p| {
        p["status"]["phase"] == "Running"
    });
    assert_eq!(after["metadata"]["uid"], uid.as_str());
    // resourceVersions go on growing across the restart: a watch resumed
    // from the dead daemon's version gets a 410 and lists again.
    assert!(
        resource_version(&after) > version_before,
        "resourceVersion went from {version_before} to {}",
        resource_version(&after)
    );
    if curl_installed() {
        let (code, body) = curl(&[
            "--unix-socket".to_owned(),
            node.socket().to_str().expect("utf-8").to_owned(),
            format!(
                "http://localhost/api/v1/namespaces/default/pods?watch=true&resourceVersion={version_before}"
            ),
        ]);
        let status: Value = serde_json::from_str(&body).unwrap_or_default();
        assert!(
            code == 410 || (status["kind"] == "Status" && status["code"] == 410),
            "a watch from the old version: HTTP {code}: {body}"
        );
    }
    assert_eq!(record.monitor().expect("monitor.json"), Some(monitor));
    assert!(monitor.is_alive());
    assert_eq!(
        instances(&node, &uid),
        processes,
        "other container processes"
    );
    assert_eq!(
        api_containers(&after),
        api_before,
        "containerIDs or startedAt changed"
    );
    if k == Tool::Kubectl {
        let table = node.ok(k, &["get", "pods"]);
        let row: Vec<&str> = table
            .lines()
            .nth(1)
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        assert_eq!(row[..4], ["survivor", "2/2", "Running", "0"], "{table}");
    }
    // Nothing lost: every tick, before, during and after the daemon's death.
    let log = wait_until_or("the logs go on after the restart", PATIENCE, || {
        let log = node.ok(k, &["logs", "survivor", "-c", "app"]);
        (ticks(&log).last().is_some_and(|n| *n > during + 2))
            .then_some(log.clone())
            .ok_or(log)
    });
    assert!(
        log.starts_with("app Starting\napp Started\ntick 0\n"),
        "{log}"
    );
    let now = check_ticks_complete(&log);
    // ... and still following.
    let mut follow = Follower::start(
        match k {
            Tool::Kubectl => "kubectl",
            Tool::Cli => CLI,
        },
        &node.args_for(k, &["logs", "-f", "survivor", "-c", "app", "--tail", "1"]),
    );
    follow.wait_for_line("a new tick after the restart", |l| {
        ticks(l).first().is_some_and(|n| *n > now + 2)
    });
    drop(follow);

    // Probes are still enforced: a liveness failure caused now restarts
    // the sidecar, and the app runs on.
    fs::remove_file(&alive).expect("remove the liveness file");
    let restarted = node.wait_for_pod(k, "survivor", "the sidecar was restarted", |p| {
        restart_count(p, "side") >= 1
    });
    fs::write(&alive, "").expect("the liveness file again");
    assert_eq!(restart_count(&restarted, "app"), 0);
    node.wait_for_pod(k, "survivor", "the new sidecar runs", |p| {
        running_and_ready(p, "side")
    });
    if let Err(why) = node.timeline().has_restarted("side") {
        panic!("{why}");
    }
    let events = pod_events(&node, k, "survivor");
    assert!(
        has_event(&events, "Warning", "Unhealthy", "Liveness probe failed"),
        "{events:#?}"
    );
    assert!(
        has_event(&events, "Normal", "Killing", "failed liveness probe"),
        "{events:#?}"
    );
    // The same monitor did it; the app is the same process.
    assert_eq!(record.monitor().expect("monitor.json"), Some(monitor));
    let app_now: Vec<_> = instances(&node, &uid)
        .into_iter()
        .filter(|i| i.0 == "app")
        .collect();
    assert_eq!(
        app_now,
        processes
            .iter()
            .filter(|i| i.0 == "app")
            .cloned()
            .collect::<Vec<_>>()
    );

    node.ok(k, &["delete", "pod", "survivor"]);
    assert!(node.pod(k, "survivor").is_none());
    node.check_pod_gone(&uid);
    assert!(!monitor.is_alive());
    node.finish();
    eprintln!(
        "{TEST}: ticks {last_before} before the kill, {during} while dead, {now} after; whole test {:?}",
        began.elapsed()
    );
}

#[test]
fn a_killed_monitor_is_reported_monitor_lost() {
    const TEST: &str = "a_killed_monitor_is_reported_monitor_lost";
    if !root_or_skip(TEST) {
        return;
    }
    let _serial = serial();
    let began = Instant::now();
    let k = api_tool(TEST);
    let mut node = Node::new();
    node.start_daemon();
    let pod = node.scenario_pod(
        "orphan",
        vec![sidecar("side", &ScriptOptions::new(), false)],
        vec![container("app", &ScriptOptions::new(), true)],
    );
    let manifest = node.manifest(&pod);
    node.ok(k, &["apply", "-f", manifest.to_str().expect("utf-8")]);
    let running = node.wait_for_pod(k, "orphan", "orphan runs", |p| {
        running_and_ready(p, "side") && running_and_ready(p, "app")
    });
    let uid = running["metadata"]["uid"].as_str().expect("uid").to_owned();
    let record = node.records().open(&uid).expect("the record");
    let monitor = record.monitor().expect("monitor.json").expect("a monitor");
    let containers: Vec<ProcessId> = record
        .containers()
        .expect("containers")
        .iter()
        .map(|c| c.process())
        .collect();
    assert_eq!(containers.len(), 2);

    assert!(
        monitor
            .signal(Signal::SIGKILL)
            .expect("SIGKILL the monitor")
    );
    let killed = Instant::now();
    let lost = node.wait_for_pod(k, "orphan", "orphan is Failed, MonitorLost", |p| {
        p["status"]["phase"] == "Failed" && p["status"]["reason"] == "MonitorLost"
    });
    let noticed = killed.elapsed();
    let message = lost["status"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("pid {}", monitor.pid)),
        "{message}"
    );
    for name in ["side", "app"] {
        let s = container_status(&lost, name).expect("a status");
        assert_eq!(
            s["state"]["terminated"]["reason"], "ContainerStatusUnknown",
            "{s}"
        );
        assert_eq!(s["state"]["terminated"]["exitCode"], 137, "{s}");
        assert_eq!(s["ready"], false);
    }
    let events = pod_events(&node, k, "orphan");
    assert!(
        has_event(&events, "Warning", "MonitorLost", message),
        "{events:#?}"
    );
    if k == Tool::Kubectl {
        let table = node.ok(k, &["get", "pods"]);
        let row: Vec<&str> = table
            .lines()
            .nth(1)
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        // As kubectl prints it: a container's terminated reason wins over
        // the pod's reason.
        assert_eq!(
            row[..3],
            ["orphan", "0/2", "ContainerStatusUnknown"],
            "{table}"
        );
    }
    // Taken down already, before any delete: no container, mount, cgroup.
    for c in &containers {
        assert!(!c.is_alive(), "{c:?} still runs");
    }
    assert_eq!(
        node.scratch.mounts(),
        Vec::<String>::new(),
        "mounts left behind"
    );
    assert_eq!(node.pod_cgroups(), Vec::<PathBuf>::new());
    // The logs stay, to the end.
    let log = node.ok(k, &["logs", "orphan", "-c", "app"]);
    assert!(
        log.starts_with("app Starting\napp Started\ntick 0\n"),
        "{log}"
    );
    check_ticks_complete(&log);

    node.ok(k, &["delete", "pod", "orphan"]);
    assert!(node.pod(k, "orphan").is_none());
    node.check_pod_gone(&uid);
    node.finish();
    eprintln!(
        "{TEST}: MonitorLost seen {noticed:?} after the SIGKILL; whole test {:?}",
        began.elapsed()
    );
}

/// The latest version of each Event (a record lists a repeated event once
/// per repeat, under the same name), in order of first appearance.
fn latest_events(events: Vec<Value>) -> Vec<Value> {
    let mut latest: Vec<Value> = Vec::new();
    for event in events {
        match latest
            .iter_mut()
            .find(|e| e["metadata"]["name"] == event["metadata"]["name"])
        {
            Some(earlier) => *earlier = event,
            None => latest.push(event),
        }
    }
    latest
}

#[test]
fn a_pod_whose_sandbox_fails_stays_container_creating_and_its_event_is_counted() {
    const TEST: &str =
        "a_pod_whose_sandbox_fails_stays_container_creating_and_its_event_is_counted";
    if !root_or_skip(TEST) {
        return;
    }
    let _serial = serial();
    let began = Instant::now();
    let k = api_tool(TEST);
    let mut node = Node::new();
    node.start_daemon();
    // Its hostPath directory does not exist yet: each try is FailedMount.
    let later = node.path("later");
    let mut pod = node.scenario_pod(
        "later",
        vec![],
        vec![container("app", &ScriptOptions::new(), false)],
    );
    pod["spec"]["volumes"][0]["hostPath"]["path"] = json!(later.to_str().expect("utf-8"));
    let manifest = node.manifest(&pod);
    node.ok(k, &["apply", "-f", manifest.to_str().expect("utf-8")]);

    let message = format!(
        "MountVolume.SetUp failed for volume \"shared\" : hostPath type check failed: {} is not a directory",
        later.display()
    );
    // The daemon's back-off is 1 s: a try every 1 to 1.5 s, one Event.
    let event = wait_until_or("one FailedMount Event counted 3 times", PATIENCE, || {
        let events = latest_events(pod_events(&node, k, "later"));
        let failed: Vec<&Value> = events
            .iter()
            .filter(|e| e["reason"] == "FailedMount")
            .collect();
        match failed.as_slice() {
            [one] if one["count"].as_u64() >= Some(3) => Ok((*one).clone()),
            _ => Err(format!("{events:#?}")),
        }
    });
    assert_eq!(event["type"], "Warning");
    assert_eq!(event["message"], message.as_str());
    assert!(
        event["involvedObject"].get("fieldPath").is_none(),
        "{event}"
    );
    assert_ne!(event["firstTimestamp"], event["lastTimestamp"], "{event}");
    let pending = node.pod(k, "later").expect("the pod");
    assert_eq!(pending["status"]["phase"], "Pending", "{pending}");
    let app = container_status(&pending, "app").expect("the app's status");
    assert_eq!(
        app["state"]["waiting"]["reason"], "ContainerCreating",
        "{app}"
    );
    assert!(pending["status"].get("podIP").is_none(), "{pending}");
    let sandbox_condition = pending["status"]["conditions"].as_array().and_then(|all| {
        all.iter()
            .find(|c| c["type"] == "PodReadyToStartContainers")
            .cloned()
    });
    assert_eq!(
        sandbox_condition.map(|c| c["status"].clone()),
        Some(json!("False")),
        "{pending}"
    );
    if k == Tool::Kubectl {
        let table = node.ok(k, &["get", "pods"]);
        let row: Vec<&str> = table
            .lines()
            .nth(1)
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        assert_eq!(row[..3], ["later", "0/1", "ContainerCreating"], "{table}");
    }
    // No log yet: the kubelet's answer, not an empty one.
    let logs = node.with(k, &["logs", "later"]);
    assert!(!logs.status.success());
    let err = text(&logs.stderr);
    assert!(
        err.contains("container \"app\" in pod \"later\" is waiting to start: ContainerCreating"),
        "{err}"
    );

    // The directory appears: the next try starts the pod by itself.
    fs::create_dir(&later).expect("make the hostPath directory");
    let made = Instant::now();
    let running = node.wait_for_pod(k, "later", "the app runs", |p| running_and_ready(p, "app"));
    let started = made.elapsed();
    let uid = running["metadata"]["uid"].as_str().expect("uid").to_owned();
    node.ok(k, &["delete", "pod", "later"]);
    assert!(node.pod(k, "later").is_none());
    node.check_pod_gone(&uid);
    node.finish();
    eprintln!(
        "{TEST}: the app ran {started:?} after its directory was made; whole test {:?}",
        began.elapsed()
    );
}

// ---------------------------------------------------------------------------
// 4. Load and bad input
// ---------------------------------------------------------------------------

const LOAD: usize = 50;

fn load_pod(n: usize) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": format!("load-{n:02}"), "labels": {"test": "load"}},
        "spec": {
            "terminationGracePeriodSeconds": 10,
            "containers": [{
                "name": "sleep",
                "image": IMAGE,
                "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"],
            }],
        },
    })
}

/// `name → containerID` of the load pods, when all run ready with no
/// restart.
fn all_running(node: &Node, tool: Tool) -> Result<Vec<(String, String)>, String> {
    let list: Value = serde_json::from_str(&node.ok(tool, &["get", "pods", "-o", "json"]))
        .map_err(|e| e.to_string())?;
    let items = list["items"].as_array().cloned().unwrap_or_default();
    let mut ids = Vec::new();
    let mut not_yet = Vec::new();
    for pod in &items {
        let name = pod["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if pod["status"]["phase"] == "Running" && running_and_ready(pod, "sleep") {
            if restart_count(pod, "sleep") != 0 {
                return Err(format!("{name} restarted: {}", pod["status"]));
            }
            let id = container_status(pod, "sleep").expect("status")["containerID"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            ids.push((name, id));
        } else {
            not_yet.push(name);
        }
    }
    ids.sort();
    if ids.len() == LOAD && items.len() == LOAD {
        Ok(ids)
    } else {
        Err(format!(
            "{} pods, not yet running: {not_yet:?}",
            items.len()
        ))
    }
}

/// The TLS endpoint, from the kubeconfig the daemon wrote.
struct Endpoint {
    url: String,
    token: String,
    ca: PathBuf,
}

fn endpoint(node: &Node) -> Endpoint {
    let kubeconfig = fs::read_to_string(node.kubeconfig()).expect("kubeconfig");
    let field = |key: &str| {
        kubeconfig
            .lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .map(|v| v.trim().trim_matches('"').to_owned())
            .unwrap_or_else(|| panic!("no {key} in the kubeconfig:\n{kubeconfig}"))
    };
    let url = field("server:");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    Endpoint {
        url,
        token: field("token:"),
        ca: node.path("state/pki/ca.crt"),
    }
}

/// One request through curl: `(HTTP code, body)`.
fn curl(args: &[String]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "60", "-w", "\n%{http_code}"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run curl");
    let all = text(&out.stdout);
    let (body, code) = all.rsplit_once('\n').unwrap_or(("", &all));
    let code = code.trim().parse().unwrap_or_else(|_| {
        panic!(
            "curl {args:?}: no HTTP code in {all:?}; stderr: {}",
            text(&out.stderr)
        )
    });
    (code, body.to_owned())
}

/// A bad request and the codes it may get.
struct Bad {
    what: &'static str,
    authenticated: bool,
    method: &'static str,
    path: &'static str,
    /// `@file` or inline JSON.
    body: Option<String>,
    content_type: &'static str,
    codes: &'static [u16],
}

fn bad_requests(big: &Path) -> Vec<Bad> {
    let pods = "/api/v1/namespaces/default/pods";
    let unknown_field = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"typo"},"spec":{"containers":[{"name":"a","image":"busybox","imagePullPolicyy":"Never"}]}}"#;
    let invalid = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"Bad_Name"},"spec":{"containers":[]}}"#;
    let wrong_kind = r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"svc"}}"#;
    let duplicate = serde_json::to_string(&load_pod(0)).expect("json");
    let big = format!("@{}", big.display());
    let b = |what, authenticated, method, path, body: Option<&str>, codes| Bad {
        what,
        authenticated,
        method,
        path,
        body: body.map(str::to_owned),
        content_type: "application/json",
        codes,
    };
    vec![
        b(
            "malformed JSON",
            true,
            "POST",
            pods,
            Some("{\"apiVersion\": \"v1\", kind"),
            &[400],
        ),
        b(
            "not an object",
            true,
            "POST",
            pods,
            Some("[1, 2, 3]"),
            &[400],
        ),
        b(
            "an unknown field",
            true,
            "POST",
            pods,
            Some(unknown_field),
            &[400, 422],
        ),
        b("an invalid pod", true, "POST", pods, Some(invalid), &[422]),
        b("a wrong kind", true, "POST", pods, Some(wrong_kind), &[400]),
        b(
            "a pod that exists",
            true,
            "POST",
            pods,
            Some(&duplicate),
            &[409],
        ),
        b("a 4 MiB body", true, "POST", pods, Some(&big), &[413]),
        Bad {
            content_type: "text/plain",
            ..b(
                "not JSON at all",
                true,
                "POST",
                pods,
                Some("hello"),
                &[400, 415],
            )
        },
        b("PUT on the pod list", true, "PUT", pods, Some("{}"), &[405]),
        b("DELETE /version", true, "DELETE", "/version", None, &[405]),
        b(
            "POST /healthz",
            true,
            "POST",
            "/healthz",
            Some("{}"),
            &[405],
        ),
        b(
            "an unknown path",
            true,
            "GET",
            "/api/v1/nothing",
            None,
            &[404],
        ),
        b(
            "an unknown group",
            true,
            "GET",
            "/apis/apps/v1/namespaces/default/deployments",
            None,
            &[404],
        ),
        b(
            "a pod that does not exist",
            true,
            "GET",
            "/api/v1/namespaces/default/pods/ghost",
            None,
            &[404],
        ),
        b(
            "logs of a pod that does not exist",
            true,
            "GET",
            "/api/v1/namespaces/default/pods/ghost/log",
            None,
            &[404],
        ),
        b("no token", false, "GET", pods, None, &[401]),
        b(
            "no token, malformed JSON",
            false,
            "POST",
            pods,
            Some("{bad"),
            &[401],
        ),
        b(
            "no token, 4 MiB",
            false,
            "POST",
            pods,
            Some(&big),
            &[401, 413],
        ),
        b(
            "no token, delete a running pod",
            false,
            "DELETE",
            "/api/v1/namespaces/default/pods/load-00",
            None,
            &[401],
        ),
        b(
            "no token, an unknown path",
            false,
            "GET",
            "/nothing",
            None,
            &[401],
        ),
        b(
            "no token, the version",
            false,
            "GET",
            "/version",
            None,
            &[401],
        ),
    ]
}

#[test]
fn fifty_pods_at_once_and_a_stream_of_bad_requests() {
    const TEST: &str = "fifty_pods_at_once_and_a_stream_of_bad_requests";
    if !root_or_skip(TEST) {
        return;
    }
    let _serial = serial();
    let began = Instant::now();
    let mut node = Node::new();
    node.start_daemon();
    let c = Tool::Cli;

    // 50 `minipod apply` at once.
    let manifests: Vec<PathBuf> = (0..LOAD).map(|n| node.manifest(&load_pod(n))).collect();
    let applying = Instant::now();
    let results: Vec<(usize, Output)> = std::thread::scope(|scope| {
        let handles: Vec<_> = manifests
            .iter()
            .enumerate()
            .map(|(n, m)| {
                let node = &node;
                scope.spawn(move || (n, node.cli(&["apply", "-f", m.to_str().expect("utf-8")])))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("apply thread"))
            .collect()
    });
    let applied = applying.elapsed();
    for (n, out) in &results {
        assert!(
            out.status.success() && text(&out.stdout).trim() == format!("pod/load-{n:02} created"),
            "apply load-{n:02}: {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    let ids = wait_until_or("50 pods run", Duration::from_secs(600), || {
        all_running(&node, c)
    });
    let all_up = applying.elapsed();

    // A stream of bad requests, over TLS, with the real token and without.
    let mut bad_count = 0;
    let mut answers: Vec<String> = Vec::new();
    if tool_or_skip("curl", curl_installed(), &format!("{TEST} (bad requests)")) {
        let ep = endpoint(&node);
        let big = node.path("big.json");
        let mut body = String::with_capacity(4 << 20);
        body.push_str("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"big\",\"annotations\":{\"a\":\"");
        body.push_str(&"x".repeat(4 << 20));
        body.push_str("\"}},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"busybox\"}]}}");
        fs::write(&big, body).expect("the big body");
        let requests = bad_requests(&big);
        for round in 0..3 {
            for bad in &requests {
                let mut args = vec![
                    "--cacert".to_owned(),
                    ep.ca.to_str().expect("utf-8").to_owned(),
                    "-X".to_owned(),
                    bad.method.to_owned(),
                ];
                if bad.authenticated {
                    args.extend([
                        "-H".to_owned(),
                        format!("Authorization: Bearer {}", ep.token),
                    ]);
                } else if round == 1 {
                    args.extend(["-H".to_owned(), "Authorization: Bearer wrong".to_owned()]);
                } else if round == 2 {
                    args.extend([
                        "-H".to_owned(),
                        "Authorization: Basic YWRtaW46YWRtaW4=".to_owned(),
                    ]);
                }
                if let Some(body) = &bad.body {
                    args.extend([
                        "-H".to_owned(),
                        format!("Content-Type: {}", bad.content_type),
                        "--data-binary".to_owned(),
                        body.clone(),
                    ]);
                }
                args.push(format!("{}{}", ep.url, bad.path));
                let (code, body) = curl(&args);
                assert!(
                    bad.codes.contains(&code),
                    "{} (round {round}): HTTP {code}, expected {:?}: {body}",
                    bad.what,
                    bad.codes
                );
                // Every error is a Status with its code.
                let status: Value = serde_json::from_str(&body)
                    .unwrap_or_else(|e| panic!("{}: not a Status ({e}): {body}", bad.what));
                assert_eq!(
                    (status["kind"].as_str(), status["code"].as_u64()),
                    (Some("Status"), Some(u64::from(code))),
                    "{}: {body}",
                    bad.what
                );
                if bad.what == "an unknown field" {
                    // Named by its path, as the API server names it.
                    assert!(
                        status["message"]
                            .as_str()
                            .is_some_and(|m| m
                                .contains("unknown field \"spec.containers[0].imagePullPolicyy\"")),
                        "{body}"
                    );
                }
                if round == 0 {
                    answers.push(format!("{} → {code}", bad.what));
                }
                bad_count += 1;
            }
            // Raw junk on the TLS port, and half a TLS handshake.
            for junk in [
                &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
                b"\x16\x03\x01\x02\x00\x01",
                b"",
            ] {
                let port = ep.url.rsplit(':').next().expect("port");
                let mut s = std::net::TcpStream::connect(format!("127.0.0.1:{port}"))
                    .expect("connect to the TLS port");
                let _ = s.write_all(junk);
                drop(s);
            }
            // Junk on the unix socket (no auth there): a 400, not a crash.
            let mut s = std::os::unix::net::UnixStream::connect(node.socket()).expect("the socket");
            s.write_all(b"NOT HTTP AT ALL\r\n\r\n").expect("write");
            let _ = s.shutdown(std::net::Shutdown::Write);
            let mut answer = String::new();
            let _ = std::io::Read::read_to_string(&mut s, &mut answer);
            assert!(
                answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
                "{answer}"
            );
            node.check_daemon_up();
        }
        // Still serving, with the token.
        let (code, body) = curl(&[
            "--cacert".to_owned(),
            ep.ca.to_str().expect("utf-8").to_owned(),
            "-H".to_owned(),
            format!("Authorization: Bearer {}", ep.token),
            format!("{}/healthz", ep.url),
        ]);
        assert_eq!((code, body.as_str()), (200, "ok"));
    }
    node.check_daemon_up();
    // No pod affected: the same 50, the same containers, no restart.
    assert_eq!(all_running(&node, c).expect("all 50 still run"), ids);
    for name in ["typo", "Bad_Name", "svc", "big"] {
        assert!(node.pod(c, name).is_none(), "{name} was created");
    }

    // Delete all 50, at once.
    let deleting = Instant::now();
    let results: Vec<(usize, Output)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..LOAD)
            .map(|n| {
                let node = &node;
                scope.spawn(move || (n, node.cli(&["delete", "pod", &format!("load-{n:02}")])))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("delete thread"))
            .collect()
    });
    for (n, out) in &results {
        assert!(
            out.status.success(),
            "delete load-{n:02}: {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    let deleted = deleting.elapsed();
    let left = node.cli(&["get", "pods", "-o", "name"]);
    assert_eq!(text(&left.stdout), "");
    node.check_no_pods_left();
    node.finish();
    eprintln!(
        "{TEST}: 50 applies took {applied:?}, all Running after {all_up:?}, \
         {bad_count} bad requests ({}), 50 deletes took {deleted:?}; whole test {:?}",
        answers.join(", "),
        began.elapsed()
    );
}

// ---------------------------------------------------------------------------
// 5. Images from a registry, with a pull secret
// ---------------------------------------------------------------------------

#[test]
fn a_pod_pulls_its_private_image_with_a_docker_registry_secret() {
    const TEST: &str = "a_pod_pulls_its_private_image_with_a_docker_registry_secret";
    if !root_or_skip(TEST) {
        return;
    }
    let _serial = serial();
    let k = api_tool(TEST);
    let registry = TestRegistry::start(Some(("dave", "pw")));
    let pushed = registry.push_busybox("private/busybox:1", Compression::Gzip);
    let mut node = Node::new();
    node.start_daemon();

    // A Secret as `kubectl create secret docker-registry` makes it, and two
    // pods: one names it, one does not. Policy Always: a pull every start.
    let config = json!({"auths": {registry.host(): {"username": "dave", "password": "pw"}}});
    let secret = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "regcred"},
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": config.to_string()},
    });
    let pod = |name: &str, secrets: Value| {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {
                "terminationGracePeriodSeconds": 1,
                "imagePullSecrets": secrets,
                "containers": [{
                    "name": "app",
                    "image": pushed.name,
                    "imagePullPolicy": "Always",
                    "command": ["sh", "-c", "exec sleep 3600"],
                }],
            },
        })
    };
    let file = node.path("private.yaml");
    let docs = [
        secret,
        pod("with-secret", json!([{"name": "regcred"}])),
        pod("without", json!([])),
    ];
    let text: Vec<String> = docs.iter().map(|d| d.to_string()).collect();
    // YAML documents (each a JSON object, which YAML reads too); the comment
    // first, or kubectl takes the file for one JSON stream.
    fs::write(
        &file,
        format!("# a Secret and two pods\n{}", text.join("\n---\n")),
    )
    .expect("manifest");
    let applied = node.ok(k, &["apply", "-f", file.to_str().expect("utf-8")]);
    assert!(applied.contains("secret/regcred created"), "{applied}");

    node.wait_for_pod(k, "with-secret", "with-secret runs its pulled image", |p| {
        running_and_ready(p, "app")
    });
    let refused = node.wait_for_pod(k, "without", "without backs off its pull", |p| {
        container_status(p, "app")
            .is_some_and(|s| s["state"]["waiting"]["reason"] == "ImagePullBackOff")
    });
    let message = container_status(&refused, "app").expect("app")["state"]["waiting"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.starts_with(&format!(
            "Back-off pulling image {:?}: ErrImagePull: Failed to pull image",
            pushed.name
        )) && message.contains("pull access denied"),
        "{message}"
    );
    let events = pod_events(&node, k, "with-secret");
    assert!(
        has_event(
            &events,
            "Normal",
            "Pulling",
            &format!("Pulling image {:?}", pushed.name)
        ),
        "{events:#?}"
    );
    assert!(
        has_event(
            &events,
            "Normal",
            "Pulled",
            &format!("including waiting). Image size: {} bytes.", pushed.size())
        ),
        "{events:#?}"
    );
    let events = pod_events(&node, k, "without");
    assert!(
        has_event(&events, "Warning", "Failed", "Error: ErrImagePull"),
        "{events:#?}"
    );
    assert!(
        has_event(&events, "Normal", "BackOff", "Back-off pulling image"),
        "{events:#?}"
    );

    node.ok(k, &["delete", "-f", file.to_str().expect("utf-8")]);
    node.finish();
}
