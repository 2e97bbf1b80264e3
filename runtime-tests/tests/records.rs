//! Pod records and detached monitors, for real: what the daemon relies on
//! to survive its own death (`docs/daemon.md`, "Pod records and detached
//! monitors").
//!
//! Each test creates a pod's record and spawns its monitor through the
//! record API (`minipod_monitor::records`), exactly as the daemon does, on
//! a node of its own (state, run and logs directories, a cgroup root), and
//! checks at the end that nothing is left: no process, no mount, no pod
//! directory, no cgroup. The record itself stays, complete.
//!
//! * the spawner's death does not matter: the monitor is spawned from a
//!   child process (this test binary, re-executed) that is then SIGKILLed;
//!   the pod runs on, reports `Running` and its events, and a stop through
//!   `monitor.sock` ends it as Kubernetes would;
//! * a SIGKILLed monitor is detected by pid and start time, what was left
//!   of its pod is killed and removed, and its status says `Failed`,
//!   `MonitorLost`, with the kubelet's `ContainerStatusUnknown` for its
//!   containers; the container logs stay.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use minipod_monitor::records::{
    CONTAINER_STATUS_UNKNOWN, Checked, MONITOR_LOST, MonitorLauncher, MonitorState, PodRecord,
    ProcessId, Records,
};
use minipod_runtime::pod::NodeConfig;
use minipod_runtime_tests::{
    MARKER_VAR, ScratchNode, admitted, root_or_skip, serial, wait_until_or,
};
use nix::sys::signal::Signal;
use serde_json::Value;

/// The real `minipod` command line, built inside this package.
const CLI: &str = env!("CARGO_BIN_EXE_minipod-cli");
/// Generous: the v2 run is an emulated VM.
const PATIENCE: Duration = Duration::from_secs(120);
/// Set for the re-executed spawner: the record directory to spawn for.
const SPAWN_RECORD: &str = "MINIPOD_RT_SPAWN_RECORD";
/// Set for the re-executed spawner: the node flags, one per line.
const SPAWN_ARGS: &str = "MINIPOD_RT_SPAWN_ARGS";
const NODE_NAME: &str = "records-node";

/// A sidecar and an app that log to stdout and leave on SIGTERM (exit 0).
fn pod_yaml(name: &str, share_process_namespace: bool) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  shareProcessNamespace: {share_process_namespace}
  terminationGracePeriodSeconds: 20
  initContainers:
  - name: side
    image: busybox:1.36
    restartPolicy: Always
    command: [sh, -c, 'trap "echo side term; exit 0" TERM; echo side started; while true; do sleep 0.1; done']
  containers:
  - name: app
    image: busybox:1.36
    command: [sh, -c, 'trap "echo app term; exit 0" TERM; echo app started; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done']
"#
    )
}

/// One test's node ([`ScratchNode`]: a fresh directory and a cgroup root
/// of its own); [`Node::finish`] checks nothing is left. Its marker is in
/// the environment of the spawner, and so of the monitor and its helpers.
struct Node {
    scratch: ScratchNode,
}

impl Node {
    fn new() -> Node {
        Node {
            scratch: ScratchNode::new("records"),
        }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.scratch.path(sub)
    }

    /// The node flags the daemon would pass to its monitors.
    fn args(&self) -> Vec<String> {
        let mut args = self.scratch.node_flags();
        args.extend(["--node-name".into(), NODE_NAME.into()]);
        args
    }

    /// The same node, as the daemon knows it.
    fn config(&self) -> NodeConfig {
        self.scratch.node_config(CLI, NODE_NAME)
    }

    fn records(&self) -> Records {
        Records::new(&self.path("state"))
    }

    fn launcher(&self) -> MonitorLauncher {
        MonitorLauncher::new(CLI, self.args().into_iter().map(Into::into).collect())
    }

    /// Spawns the record's monitor from a child process (this test binary,
    /// re-executed: [`spawner`]), then SIGKILLs that child: the daemon
    /// dying right after it spawned the monitor.
    fn spawn_from_doomed_child(&self, record: &PodRecord) -> ProcessId {
        let mut child = Command::new(std::env::current_exe().expect("this test binary"))
            .args(["--exact", "spawner", "--include-ignored", "--nocapture"])
            .env(SPAWN_RECORD, record.dir())
            .env(SPAWN_ARGS, self.args().join("\n"))
            .env(MARKER_VAR, &self.scratch.marker)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the spawner");
        let stdout = child.stdout.take().expect("its stdout");
        let mut spawned = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("the spawner's output");
            if let Some(pid) = line.strip_prefix("spawned monitor ") {
                spawned = Some(pid.trim().parse::<i32>().expect("a pid"));
                break;
            }
        }
        let pid = spawned.expect("the spawner spawned a monitor");
        // The spawner is still alive, waiting: kill it as the daemon dies.
        child.kill().expect("SIGKILL the spawner");
        let status = child.wait().expect("reap the spawner");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGKILL)
        );
        let monitor = record.monitor().expect("monitor.json").expect("a monitor");
        assert_eq!(monitor.pid, pid);
        monitor
    }

    /// Nothing of the node's pods is left: no process, no mount, no pod
    /// directory, no cgroup.
    fn check_clean(&self) {
        self.scratch.check_nothing_left();
    }

    fn finish(self) {
        self.check_clean();
        self.scratch.remove_dir();
    }
}

/// Whatever a failing test leaves running is killed and cleaned up.
struct Cleanup<'a> {
    node: &'a Node,
    record: PodRecord,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Ok(MonitorState::Running(monitor)) = self.record.monitor_state() {
            let _ = monitor.signal(Signal::SIGKILL);
            let start = Instant::now();
            while monitor.is_alive() && start.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.record.check_monitor(&self.node.config());
    }
}

/// Everything the record says, for a failing assertion.
fn diagnostics(record: &PodRecord) -> String {
    let read = |file: &str| fs::read_to_string(record.path(file)).unwrap_or_default();
    format!(
        "--- status.json\n{}\n--- events.jsonl\n{}\n--- monitor.log\n{}",
        read("status.json"),
        read("events.jsonl"),
        read("monitor.log")
    )
}

/// `(reason, fieldPath)` of each event, in order.
fn event_reasons(record: &PodRecord) -> Vec<(String, String)> {
    record
        .events()
        .expect("events.jsonl")
        .iter()
        .map(|e| {
            (
                e["reason"].as_str().unwrap_or_default().to_owned(),
                e["involvedObject"]["fieldPath"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

/// Waits until both containers run and are started, and the pod is Running.
fn wait_until_running(record: &PodRecord) -> Value {
    wait_until_or("the pod runs", PATIENCE, || {
        let pod = record.status_json().map_err(|e| e.to_string())?;
        let running = |list: &str, name: &str| {
            pod["status"][list]
                .as_array()
                .and_then(|l| l.iter().find(|c| c["name"] == name))
                .is_some_and(|c| c["state"]["running"].is_object() && c["started"] == true)
        };
        let ok = pod["status"]["phase"] == "Running"
            && running("initContainerStatuses", "side")
            && running("containerStatuses", "app");
        if ok {
            Ok(pod)
        } else {
            Err(diagnostics(record))
        }
    })
}

fn log_of(node: &Node, pod: &minipod_spec::AdmittedPod, container: &str) -> PathBuf {
    node.path("logs")
        .join(format!("{}_{}_{}", pod.namespace(), pod.name(), pod.uid()))
        .join(container)
        .join("0.log")
}

/// Not a test: the daemon's stand-in, run by [`Node::spawn_from_doomed_child`].
/// Spawns the monitor of the record in `$MINIPOD_RT_SPAWN_RECORD`, says so,
/// and waits to be killed.
#[test]
#[ignore = "a helper process of the other tests"]
fn spawner() {
    let Some(dir) = std::env::var_os(SPAWN_RECORD) else {
        return;
    };
    let args = std::env::var(SPAWN_ARGS).unwrap_or_default();
    let record = PodRecord::at(Path::new(&dir)).expect("the record");
    let launcher = MonitorLauncher::new(CLI, args.lines().map(Into::into).collect());
    let monitor = record.spawn_monitor(&launcher).expect("spawn the monitor");
    println!("spawned monitor {}", monitor.pid);
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

#[test]
fn a_detached_monitor_outlives_its_spawner_and_stops_the_pod_through_its_socket() {
    if !root_or_skip("a_detached_monitor_outlives_its_spawner_and_stops_the_pod_through_its_socket")
    {
        return;
    }
    let _serial = serial();
    let node = Node::new();
    let pod = admitted(&pod_yaml("detached", false));
    let record = node
        .records()
        .create(&pod, SystemTime::now())
        .expect("create the record");
    let cleanup = Cleanup {
        node: &node,
        record: record.clone(),
    };

    let monitor = node.spawn_from_doomed_child(&record);
    // The spawner is dead; the monitor is not its orphan in any way that
    // matters: alive, in a session of its own, not ours.
    assert_eq!(
        record.monitor_state().expect("monitor state"),
        MonitorState::Running(monitor)
    );
    let stat = fs::read_to_string(format!("/proc/{}/stat", monitor.pid)).expect("monitor stat");
    let fields: Vec<&str> = stat[stat.rfind(')').expect("stat") + 2..]
        .split(' ')
        .collect();
    let session: i32 = fields[3].parse().expect("sid");
    assert_ne!(
        session,
        nix::unistd::getsid(None).expect("our sid").as_raw()
    );
    assert_ne!(session, monitor.pid, "the monitor is not a session leader");

    let running = wait_until_running(&record);
    assert_eq!(running["metadata"]["uid"], pod.uid());
    assert!(running["metadata"]["creationTimestamp"].is_string());
    let reasons = event_reasons(&record);
    for wanted in [
        ("Created", "spec.initContainers{side}"),
        ("Started", "spec.initContainers{side}"),
        ("Created", "spec.containers{app}"),
        ("Started", "spec.containers{app}"),
    ] {
        assert!(
            reasons.contains(&(wanted.0.to_owned(), wanted.1.to_owned())),
            "{wanted:?} not in {reasons:?}"
        );
    }
    let events = record.events().expect("events");
    assert!(events.iter().all(|e| {
        e["kind"] == "Event"
            && e["involvedObject"]["uid"] == pod.uid()
            && e["source"]["host"] == NODE_NAME
            && e["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("detached."))
    }));

    // The daemon can find the containers without the monitor.
    let app = record
        .container("app")
        .expect("containers/app.json")
        .expect("an app instance");
    assert_eq!(app.attempt, 0);
    assert!(app.process().is_alive(), "the app's pid 1 runs");
    assert_eq!(app.log_path, log_of(&node, &pod, "app"));
    assert_eq!(record.containers().expect("containers").len(), 2);

    // Stop, as `kubectl delete --grace-period=5`.
    record.stop(Some(5)).expect("stop through monitor.sock");
    wait_until_or("the monitor exits", PATIENCE, || {
        match record.monitor_state().expect("monitor state") {
            MonitorState::Gone(_) => Ok(()),
            other => Err(format!("{other:?}\n{}", diagnostics(&record))),
        }
    });
    let done = record.status_json().expect("status.json");
    // Both containers left on SIGTERM with 0: as Kubernetes, Succeeded.
    assert_eq!(
        done["status"]["phase"],
        "Succeeded",
        "{}",
        diagnostics(&record)
    );
    assert!(done["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(done["metadata"]["deletionGracePeriodSeconds"], 5);
    let app_status = &done["status"]["containerStatuses"][0];
    assert_eq!(app_status["state"]["terminated"]["exitCode"], 0);
    assert!(
        event_reasons(&record).contains(&("Killing".into(), "spec.containers{app}".into())),
        "{}",
        diagnostics(&record)
    );
    // The record is left complete; the socket is gone with the monitor.
    for file in [
        "pod.json",
        "status.json",
        "events.jsonl",
        "monitor.json",
        "monitor.log",
    ] {
        assert!(record.path(file).is_file(), "{file} is missing");
    }
    assert!(!record.path("monitor.sock").exists());
    assert!(matches!(
        record.stop(None),
        Err(minipod_monitor::records::RecordError::MonitorGone { .. })
    ));
    // Finished as it should: nothing to clean, nothing rewritten.
    assert_eq!(
        record.check_monitor(&node.config()).expect("check"),
        Checked::Finished { leftovers: None }
    );
    assert_eq!(record.status_json().expect("status.json"), done);
    // The logs stay, complete to the last line.
    let log = fs::read_to_string(log_of(&node, &pod, "app")).expect("the app's log");
    assert!(
        log.contains("app started") && log.contains("app term"),
        "{log}"
    );

    drop(cleanup);
    node.finish();
}

#[test]
fn a_monitor_killed_with_sigkill_is_reported_and_its_pod_removed() {
    if !root_or_skip("a_monitor_killed_with_sigkill_is_reported_and_its_pod_removed") {
        return;
    }
    let _serial = serial();
    let node = Node::new();
    // A shared PID namespace: the pause process must go too.
    let pod = admitted(&pod_yaml("orphaned", true));
    let record = node
        .records()
        .create(&pod, SystemTime::now())
        .expect("create the record");
    let cleanup = Cleanup {
        node: &node,
        record: record.clone(),
    };
    let monitor = record
        .spawn_monitor(&node.launcher())
        .expect("spawn the monitor");
    // Started again while it runs: refused.
    assert!(record.spawn_monitor(&node.launcher()).is_err());
    wait_until_running(&record);
    let containers: Vec<ProcessId> = record
        .containers()
        .expect("containers")
        .iter()
        .map(|c| c.process())
        .collect();
    assert_eq!(containers.len(), 2);
    let pause: ProcessId =
        serde_json::from_str(&fs::read_to_string(record.path("pause.json")).expect("pause.json"))
            .expect("pause.json is a process id");
    assert!(pause.is_alive());

    // Checking while the monitor runs does nothing.
    assert_eq!(
        record.check_monitor(&node.config()).expect("check"),
        Checked::Running(monitor)
    );
    assert!(
        monitor
            .signal(Signal::SIGKILL)
            .expect("SIGKILL the monitor")
    );
    wait_until_or("the monitor is gone", PATIENCE, || {
        (!monitor.is_alive()).then_some(()).ok_or("alive")
    });

    let checked = record.check_monitor(&node.config()).expect("check");
    let Checked::Lost {
        monitor: lost,
        removal,
    } = checked
    else {
        panic!("not reported lost: {checked:?}\n{}", diagnostics(&record));
    };
    assert_eq!(lost, monitor);
    assert!(removal.pod_cgroup, "{removal:?}");
    assert_eq!(removal.cgroups.len(), 2, "{removal:?}");
    assert!(removal.killed.contains(&pause.pid), "{removal:?}");
    assert!(!removal.unmounted.is_empty(), "{removal:?}");
    for process in containers.iter().chain([&pause]) {
        // Killed: gone at once, or a zombie until init reaps it.
        assert!(!process.is_alive(), "{process:?} still runs");
    }

    let status = record.status().expect("status");
    assert_eq!(
        status.phase,
        Some(minipod_lifecycle::PodPhase::Failed),
        "{}",
        diagnostics(&record)
    );
    assert_eq!(status.reason.as_deref(), Some(MONITOR_LOST));
    let message = status.message.clone().unwrap_or_default();
    assert!(
        message.contains("monitor") && message.contains(&monitor.pid.to_string()),
        "{message}"
    );
    for c in status
        .init_container_statuses
        .iter()
        .chain(&status.container_statuses)
    {
        let t = c
            .state
            .terminated
            .as_ref()
            .unwrap_or_else(|| panic!("{c:?}"));
        assert_eq!(t.exit_code, 137);
        assert_eq!(t.reason.as_deref(), Some(CONTAINER_STATUS_UNKNOWN));
        assert!(!c.ready);
    }
    let last = record.events().expect("events").pop().expect("an event");
    assert_eq!(
        (last["type"].as_str(), last["reason"].as_str()),
        (Some("Warning"), Some(MONITOR_LOST))
    );
    assert_eq!(last["message"].as_str(), Some(message.as_str()));

    // The logs stay.
    let log = fs::read_to_string(log_of(&node, &pod, "app")).expect("the app's log");
    assert!(log.contains("app started"), "{log}");
    // Checking again changes nothing.
    let before = record.status_json().expect("status.json");
    assert_eq!(
        record.check_monitor(&node.config()).expect("check"),
        Checked::Finished { leftovers: None }
    );
    assert_eq!(record.status_json().expect("status.json"), before);

    drop(cleanup);
    node.check_clean();
    // The record stays until removed.
    assert_eq!(node.records().list().expect("list"), vec![record.clone()]);
    record.remove().expect("remove the record");
    node.finish();
}

#[test]
fn sigterm_stops_a_detached_monitor_gracefully_and_sighup_sigint_do_not() {
    if !root_or_skip("sigterm_stops_a_detached_monitor_gracefully_and_sighup_sigint_do_not") {
        return;
    }
    let _serial = serial();
    let node = Node::new();
    let pod = admitted(&pod_yaml("signalled", false));
    let record = node
        .records()
        .create(&pod, SystemTime::now())
        .expect("create the record");
    let cleanup = Cleanup {
        node: &node,
        record: record.clone(),
    };
    let monitor = record
        .spawn_monitor(&node.launcher())
        .expect("spawn the monitor");
    wait_until_running(&record);

    // A terminal's signals mean nothing to a detached monitor.
    for signal in [Signal::SIGHUP, Signal::SIGINT] {
        assert!(monitor.signal(signal).expect("signal the monitor"));
        wait_until_or("the monitor says it ignored it", PATIENCE, || {
            let log = fs::read_to_string(record.path("monitor.log")).unwrap_or_default();
            log.contains(&format!("{signal} ignored"))
                .then_some(())
                .ok_or(log)
        });
    }
    assert!(monitor.is_alive());
    assert_eq!(
        record.phase().expect("phase"),
        Some(minipod_lifecycle::PodPhase::Running)
    );
    assert!(record.status_json().expect("status")["metadata"]["deletionTimestamp"].is_null());

    // SIGTERM: a graceful stop, as `kubectl delete`.
    assert!(
        monitor
            .signal(Signal::SIGTERM)
            .expect("SIGTERM the monitor")
    );
    wait_until_or("the monitor exits", PATIENCE, || {
        (!monitor.is_alive())
            .then_some(())
            .ok_or_else(|| diagnostics(&record))
    });
    let done = record.status_json().expect("status.json");
    assert_eq!(
        done["status"]["phase"],
        "Succeeded",
        "{}",
        diagnostics(&record)
    );
    assert_eq!(done["metadata"]["deletionGracePeriodSeconds"], 20);
    assert_eq!(
        record.check_monitor(&node.config()).expect("check"),
        Checked::Finished { leftovers: None }
    );

    drop(cleanup);
    node.finish();
}
