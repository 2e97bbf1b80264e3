//! `activeDeadlineSeconds`, for real, through `minipod run` as users run
//! it: a pod whose container would sleep for 1000 s is stopped at its
//! deadline and ends `Failed` with reason `DeadlineExceeded`, its container
//! killed, nothing of it left (`docs/kubernetes-semantics.md` §4.16, the
//! kubelet's `active_deadline.go`).
//!
//! The container is `sleep 1000` as the PID 1 of its own PID namespace:
//! the kernel drops SIGTERM for it (no handler), so it dies only by the
//! SIGKILL at the end of the pod's grace period, which the test keeps short.
//! Times are only checked with generous bounds and in order: the v2 run is
//! an emulated VM.
//!
//! Run as root, on the host's cgroup version by `cargo test`, and on cgroup
//! v2 by `scripts/vm-test`.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use minipod_lifecycle::{PodPhase, PodStatus};
use minipod_runtime_tests::{
    MARKER_VAR, ScratchNode, root_or_skip, serial, tail, wait_for_exit, wait_until_or,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;

/// The real `minipod` command line, built inside this package.
const CLI: &str = env!("CARGO_BIN_EXE_minipod-cli");
/// Generous: the v2 run is an emulated VM.
const PATIENCE: Duration = Duration::from_secs(120);
const MESSAGE: &str = "Pod was active on the node longer than the specified deadline";

/// `minipod run` on one pod, its events on stderr, its Pod in a status file.
struct Run {
    child: Child,
    stderr: PathBuf,
    status_file: PathBuf,
    exited: bool,
}

impl Run {
    fn start(node: &ScratchNode, pod: &serde_json::Value) -> Run {
        let manifest = node.path("pod.json");
        fs::write(&manifest, pod.to_string()).expect("write the manifest");
        let status_file = node.path("status.json");
        let stderr = node.path("stderr");
        let child = Command::new(CLI)
            .arg("run")
            .arg("-f")
            .arg(&manifest)
            .arg("--status-file")
            .arg(&status_file)
            .args(node.node_flags())
            .env(MARKER_VAR, &node.marker)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("start minipod run");
        Run {
            child,
            stderr,
            status_file,
            exited: false,
        }
    }

    /// What `minipod run` printed on stderr: one line per event.
    fn events(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The index of the first event line with `reason`.
    fn first_event(&self, reason: &str) -> Option<usize> {
        let needle = format!(" {reason} ");
        self.events().lines().position(|l| l.contains(&needle))
    }

    fn event_count(&self, reason: &str) -> usize {
        let needle = format!(" {reason} ");
        self.events()
            .lines()
            .filter(|l| l.contains(&needle))
            .count()
    }

    fn status(&self) -> Option<PodStatus> {
        let text = fs::read_to_string(&self.status_file).ok()?;
        let pod: serde_json::Value = serde_json::from_str(&text).ok()?;
        serde_json::from_value(pod["status"].clone()).ok()
    }

    fn diagnostics(&self) -> String {
        format!(
            "--- minipod run stderr ---\n{}--- status ---\n{:?}",
            tail(&self.events(), 40),
            self.status()
        )
    }
}

impl Drop for Run {
    /// A failed test still stops `minipod run` (which removes the pod).
    fn drop(&mut self) {
        if self.exited {
            return;
        }
        let pid = Pid::from_raw(self.child.id() as i32);
        for signal in [Signal::SIGTERM, Signal::SIGTERM, Signal::SIGKILL] {
            let _ = kill(pid, signal);
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(15) {
                if self.child.try_wait().ok().flatten().is_some() {
                    return;
                }
                sleep(Duration::from_millis(20));
            }
        }
    }
}

#[test]
fn a_pod_past_its_active_deadline_is_killed_and_fails_with_deadline_exceeded() {
    if !root_or_skip("a_pod_past_its_active_deadline_is_killed_and_fails_with_deadline_exceeded") {
        return;
    }
    let _serial = serial();
    let node = ScratchNode::new("deadline");
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "deadline"},
        "spec": {
            // Always: the deadline ends the pod whatever its restart policy.
            "restartPolicy": "Always",
            "activeDeadlineSeconds": 2,
            "terminationGracePeriodSeconds": 2,
            "containers": [{
                "name": "app",
                "image": "busybox:1.36",
                "imagePullPolicy": "IfNotPresent",
                "command": ["sleep", "1000"],
            }],
        },
    });
    let started = Instant::now();
    let mut run = Run::start(&node, &pod);

    wait_until_or("the app runs", PATIENCE, || {
        let running = run
            .status()
            .and_then(|s| s.container_status("app").cloned())
            .is_some_and(|c| c.state.running.is_some());
        running.then_some(()).ok_or_else(|| run.diagnostics())
    });
    let status = run.status().expect("a status");
    assert_eq!(
        status.phase,
        Some(PodPhase::Running),
        "{}",
        run.diagnostics()
    );
    assert_eq!(status.reason, None, "{}", run.diagnostics());

    // The deadline: minipod run ends by itself, long before `sleep 1000`.
    let code = wait_for_exit(&mut run.child, PATIENCE).code();
    run.exited = true;
    let took = started.elapsed();
    eprintln!(
        "minipod run exited {code:?} after {took:?}; it said:\n{}",
        tail(&run.events(), 8)
    );
    assert_eq!(code, Some(1), "Failed\n{}", run.diagnostics());
    assert!(
        took >= Duration::from_secs(2),
        "not before the deadline: {took:?}\n{}",
        run.diagnostics()
    );
    assert!(
        took < Duration::from_secs(90),
        "the pod outlived its deadline: {took:?}\n{}",
        run.diagnostics()
    );

    let status = run.status().expect("a final status");
    assert_eq!(
        status.phase,
        Some(PodPhase::Failed),
        "{}",
        run.diagnostics()
    );
    assert_eq!(status.reason.as_deref(), Some("DeadlineExceeded"));
    assert_eq!(status.message.as_deref(), Some(MESSAGE));
    let app = status.container_status("app").expect("the app's status");
    let terminated = app
        .state
        .terminated
        .as_ref()
        .unwrap_or_else(|| panic!("the app is terminated\n{}", run.diagnostics()));
    assert_eq!(
        terminated.exit_code,
        137,
        "SIGKILL at the end of the grace (PID 1 ignores SIGTERM)\n{}",
        run.diagnostics()
    );
    assert_eq!(app.restart_count, 0, "no restart after the deadline");

    // The kubelet's story, in order: started, the deadline, the kill.
    let order = [
        run.first_event("Started"),
        run.first_event("DeadlineExceeded"),
        run.first_event("Killing"),
    ];
    assert!(
        order.iter().all(Option::is_some) && order.is_sorted(),
        "Started, DeadlineExceeded, Killing in that order: {order:?}\n{}",
        run.diagnostics()
    );
    assert_eq!(run.event_count("DeadlineExceeded"), 1);
    assert!(
        run.events()
            .lines()
            .any(|l| l.contains(" DeadlineExceeded ") && l.ends_with(MESSAGE)),
        "{}",
        run.diagnostics()
    );

    drop(run);
    node.check_nothing_left();
    node.remove_dir();
}
