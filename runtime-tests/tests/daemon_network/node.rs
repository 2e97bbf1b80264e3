//! A daemon of the test's own on the test's network
//! (`tests/daemon_network.rs`): `minipodd` (built as
//! `minipodd-under-test`) on a [`ScratchNode`], driven by the real
//! `kubectl` and the `minipod` command line, as `tests/daemon.rs` drives
//! it; and the checks that nothing of a pod's network is left.

use std::fs;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use minipod_cni::{NodeNetworkSettings, host_link_name};
use minipod_monitor::records::{MonitorState, ProcessId, Records};
use minipod_runtime::pod::NodeConfig;
use minipod_runtime_tests::node::mount_point;
use minipod_runtime_tests::{MARKER_VAR, ScratchNode, tail, text, wait_until_or};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::net::{TestNet, link_exists, names_in};

/// The daemon under test.
const DAEMON: &str = env!("CARGO_BIN_EXE_minipodd-under-test");
/// The real `minipod` command line (also each pod's monitor).
pub const CLI: &str = env!("CARGO_BIN_EXE_minipod-cli");
/// Generous: the machine is shared and busy.
pub const PATIENCE: Duration = Duration::from_secs(120);
const NODE_NAME: &str = "net-test";

/// One test's node and daemon. Declared after its [`TestNet`], so it
/// drops first: after a failure its monitors are killed and their pods'
/// leftovers (the network included) removed while the bridge and table
/// still exist.
pub struct Node {
    pub scratch: ScratchNode,
    settings: NodeNetworkSettings,
    flags: Vec<String>,
    daemon: Option<Child>,
    starts: usize,
    finished: bool,
}

impl Node {
    /// A node on `net`; `extra` node flags for its daemon.
    pub fn new(net: &TestNet, extra: &[&str]) -> Node {
        let scratch = ScratchNode::new("daemon-net");
        let mut flags = scratch.node_flags_with_network(
            &net.bridge,
            &net.cidr.to_string(),
            net.conf_dir.path(),
        );
        flags.extend(extra.iter().map(|f| (*f).to_owned()));
        let settings = NodeNetworkSettings {
            conf_dir: net.conf_dir.path().to_owned(),
            pod_cidr: Some(net.cidr),
            bridge: net.bridge.clone(),
            ip_forward: false,
            ..NodeNetworkSettings::default()
        };
        Node {
            scratch,
            settings,
            flags,
            daemon: None,
            starts: 0,
            finished: false,
        }
    }

    pub fn path(&self, sub: &str) -> PathBuf {
        self.scratch.path(sub)
    }

    fn kubeconfig(&self) -> PathBuf {
        self.path("run/kubeconfig")
    }

    fn socket(&self) -> PathBuf {
        self.path("run/minipodd.sock")
    }

    pub fn records(&self) -> Records {
        Records::new(&self.path("state"))
    }

    /// The node as the daemon knows it, its network included (for the
    /// clean-up after a failure).
    fn config(&self) -> NodeConfig {
        let mut config = self.scratch.node_config(CLI, NODE_NAME);
        config.network = Some(self.settings.clone());
        config
    }

    /// Starts the daemon and waits until it serves. What an earlier
    /// daemon left of its kubeconfig and socket is removed first.
    pub fn start_daemon(&mut self) {
        assert!(self.daemon.is_none(), "a daemon already runs");
        let _ = fs::remove_file(self.kubeconfig());
        let _ = fs::remove_file(self.socket());
        self.starts += 1;
        let log = fs::File::create(self.path(&format!("daemon-{}.log", self.starts)))
            .expect("the daemon's log");
        let child = Command::new(DAEMON)
            .args(["--monitor-program", CLI])
            .args(&self.flags)
            .args(["--node-name", NODE_NAME, "--listen", "127.0.0.1:0"])
            .env(MARKER_VAR, &self.scratch.marker)
            .env("RUST_LOG", "info,libcgroups=error")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start minipodd");
        self.daemon = Some(child);
        let started = Instant::now();
        while !(self.kubeconfig().exists() && self.socket().exists()) {
            if let Some(status) = self
                .daemon
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "minipodd exited ({status}) at start\n{}",
                    self.diagnostics()
                );
            }
            assert!(
                started.elapsed() < PATIENCE,
                "minipodd does not serve\n{}",
                self.diagnostics()
            );
            sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILLs the daemon and reaps it.
    pub fn kill_daemon(&mut self) {
        let mut child = self.daemon.take().expect("a daemon");
        child.kill().expect("SIGKILL minipodd");
        child.wait().expect("reap minipodd");
    }

    /// SIGTERMs the daemon; it must exit 0.
    fn stop_daemon(&mut self) {
        let mut child = self.daemon.take().expect("a daemon");
        kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).expect("SIGTERM minipodd");
        let status = minipod_runtime_tests::wait_for_exit(&mut child, PATIENCE);
        assert!(
            status.success(),
            "minipodd: {status}\n{}",
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

    /// `kubectl --kubeconfig <run>/kubeconfig ARGS`.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        let kubeconfig = self.kubeconfig();
        let mut all = vec!["--kubeconfig", kubeconfig.to_str().expect("utf-8")];
        all.extend_from_slice(args);
        self.run("kubectl", &all)
    }

    /// `minipod ARGS --socket <run>/minipodd.sock`.
    pub fn cli(&self, args: &[&str]) -> Output {
        let socket = self.socket();
        let mut all = args.to_vec();
        all.extend(["--socket", socket.to_str().expect("utf-8")]);
        self.run(CLI, &all)
    }

    /// `out` succeeded: its stdout.
    pub fn ok(&self, what: &str, out: Output) -> String {
        assert!(
            out.status.success(),
            "{what} failed ({}):\n--- stdout\n{}--- stderr\n{}\n{}",
            out.status,
            text(&out.stdout),
            text(&out.stderr),
            self.diagnostics()
        );
        text(&out.stdout)
    }

    /// `kubectl ARGS`, which must succeed: its stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        self.ok(&format!("kubectl {args:?}"), self.kubectl(args))
    }

    /// `minipod ARGS`, which must succeed: its stdout.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        self.ok(&format!("minipod {args:?}"), self.cli(args))
    }

    /// Writes `pod` as `<dir>/<name>.json`: its path.
    pub fn manifest(&self, pod: &Value) -> String {
        let name = pod["metadata"]["name"].as_str().expect("a name");
        let path = self.path(&format!("{name}.json"));
        fs::write(&path, serde_json::to_string_pretty(pod).expect("json")).expect("manifest");
        path.to_str().expect("utf-8").to_owned()
    }

    /// The pod (read with the `minipod` CLI), `None` once it is not found.
    pub fn pod(&self, name: &str) -> Option<Value> {
        let out = self.cli(&["get", "pod", name, "-o", "json"]);
        if out.status.success() {
            return Some(serde_json::from_slice(&out.stdout).expect("get pod -o json"));
        }
        let err = text(&out.stderr);
        assert!(err.contains("NotFound"), "get pod {name}: {err}");
        None
    }

    /// Waits until `check` holds for the pod: the pod.
    pub fn wait_for_pod(&self, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        wait_until_or(what, PATIENCE, || match self.pod(name) {
            Some(pod) if check(&pod) => Ok(pod),
            other => Err(format!(
                "{}\n{}",
                other.map_or("(no pod)".into(), |p| p["status"].to_string()),
                self.diagnostics()
            )),
        })
    }

    /// The pod's Events, through kubectl.
    pub fn events(&self, name: &str) -> Vec<Value> {
        let selector = format!("involvedObject.name={name}");
        let out = self.kubectl_ok(&["get", "events", "--field-selector", &selector, "-o", "json"]);
        let list: Value = serde_json::from_str(&out).expect("events JSON");
        list["items"].as_array().cloned().unwrap_or_default()
    }

    /// The pod's monitor, from its record.
    pub fn monitor(&self, uid: &str) -> ProcessId {
        let record = self.records().open(uid).expect("the record");
        record.monitor().expect("monitor.json").expect("a monitor")
    }

    /// What is left of the pod network of the pods `uids` (and of any
    /// pod, for what is the node's): IPAM leases, native records, CNI
    /// cache entries, ports of the bridge, the pods' host links, host
    /// ports in the NAT table, network namespace pins (mounts of the
    /// node's directory), pod run directories. Empty when nothing is.
    pub fn network_leftovers(&self, net: &TestNet, uids: &[&str]) -> Vec<String> {
        let mut left = Vec::new();
        let leases: Vec<String> = names_in(&self.path("state/network/minipod"))
            .into_iter()
            .filter(|n| n.parse::<Ipv4Addr>().is_ok() || n.starts_with("owner."))
            .collect();
        left.extend(leases.into_iter().map(|l| format!("IPAM lease {l}")));
        for (dir, what) in [
            ("state/network/pods", "network record"),
            ("state/cni/results", "CNI cache entry"),
            ("run/pods", "pod run directory"),
        ] {
            left.extend(
                names_in(&self.path(dir))
                    .into_iter()
                    .map(|n| format!("{what} {n}")),
            );
        }
        left.extend(
            net.ports()
                .lines()
                .map(|l| format!("bridge port {}", l.trim())),
        );
        for uid in uids {
            let link = host_link_name(uid);
            if link_exists(&link) {
                left.push(format!("host link {link}"));
            }
        }
        left.extend(
            net.host_port_elements()
                .into_iter()
                .map(|e| format!("NAT element {e}")),
        );
        left.extend(
            self.scratch
                .mounts()
                .into_iter()
                .map(|m| format!("mount {m}")),
        );
        left
    }

    /// Stops the daemon (SIGTERM) and checks that nothing of the pods is
    /// left: processes, mounts, pod directories, records, cgroups, and
    /// their network. The pods must have been deleted.
    pub fn finish(mut self, net: &TestNet) {
        self.stop_daemon();
        assert_eq!(self.network_leftovers(net, &[]), Vec::<String>::new());
        assert!(
            self.scratch.entries("state/records").is_empty(),
            "records left"
        );
        self.scratch.check_nothing_left();
        net.check_ip_forward_untouched();
        self.scratch.remove_dir();
        self.finished = true;
    }

    /// The daemons' output and the tail of every monitor's log.
    pub fn diagnostics(&self) -> String {
        let mut out = String::new();
        for n in 1..=self.starts {
            let log = fs::read_to_string(self.path(&format!("daemon-{n}.log"))).unwrap_or_default();
            out.push_str(&format!("--- daemon-{n}.log\n{}", tail(&log, 30)));
        }
        for record in self.scratch.entries("state/records") {
            let log = fs::read_to_string(record.join("monitor.log")).unwrap_or_default();
            out.push_str(&format!(
                "--- {}/monitor.log\n{}",
                record.display(),
                tail(&log, 15)
            ));
        }
        out
    }

    /// The log of the `n`th daemon start.
    pub fn daemon_log(&self, n: usize) -> String {
        fs::read_to_string(self.path(&format!("daemon-{n}.log"))).unwrap_or_default()
    }
}

impl Drop for Node {
    /// After a failure: SIGKILL every monitor (found through the
    /// records) and have its pod's leftovers removed, its network
    /// included; SIGKILL the daemon; unmount what is left.
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
