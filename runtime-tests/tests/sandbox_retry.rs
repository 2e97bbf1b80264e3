//! A pod whose sandbox cannot be created, for real, through `minipod run`
//! as users run it: the kubelet never fails a pod for it; it reports each
//! failure (`FailedMount` for a volume, `FailedCreatePodSandBox` for the
//! rest), keeps the pod Pending with its containers `ContainerCreating`,
//! and tries again after the pod worker's back-off (the node's
//! `--backoff-initial`, short here), with nothing of the pod left between
//! tries (`docs/kubernetes-semantics.md` §4.12).
//!
//! The failure is one the test can undo: a hostPath volume of `type:
//! Directory` whose directory does not exist yet (the kubelet's
//! `checkTypeInternal`). Once the test makes the directory, the next retry
//! starts the pod by itself. A pod that keeps failing ends on SIGTERM, as
//! on a node where it is deleted.
//!
//! Run as root, on the host's cgroup version by `cargo test`, and on cgroup
//! v2 by `scripts/vm-test`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use minipod_lifecycle::status::ConditionStatus;
use minipod_lifecycle::status::condition_type::POD_READY_TO_START_CONTAINERS;
use minipod_lifecycle::{PodPhase, PodStatus};
use minipod_linux::cgroup::layout::POD_PREFIX;
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
/// The node's back-off period, so the retries come every 0.3–0.45 s.
const BACKOFF: &str = "300ms";

/// `minipod run` on a pod whose volume `data` is the hostPath `dir`, of
/// `type: Directory`; its app writes `up` into it, then waits for SIGTERM
/// and exits 0.
struct Run {
    child: Child,
    stderr: PathBuf,
    status_file: PathBuf,
    exited: bool,
}

impl Run {
    fn start(node: &ScratchNode, name: &str, dir: &Path) -> Run {
        let pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 10,
                "volumes": [{
                    "name": "data",
                    "hostPath": {"path": dir.to_str().expect("utf-8"), "type": "Directory"},
                }],
                "containers": [{
                    "name": "app",
                    "image": "busybox:1.36",
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c",
                        "trap 'exit 0' TERM; echo up > /data/up; while true; do sleep 0.1; done"],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                }],
            },
        });
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
            .args(["--backoff-initial", BACKOFF])
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

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn diagnostics(&self) -> String {
        format!(
            "--- minipod run stderr ---\n{}--- status ---\n{:?}",
            tail(&self.events(), 40),
            self.status()
        )
    }

    /// SIGTERM (a delete), then the exit code, within `timeout`.
    fn terminate(&mut self, timeout: Duration) -> Option<i32> {
        let pid = Pid::from_raw(i32::try_from(self.pid()).expect("pid"));
        kill(pid, Signal::SIGTERM).expect("SIGTERM to minipod run");
        let status = wait_for_exit(&mut self.child, timeout);
        self.exited = true;
        status.code()
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

/// Pod cgroups (`pod<uid>`) under the node's cgroup root.
fn pod_cgroups(node: &ScratchNode) -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                let path = entry.path();
                if entry.file_name().to_string_lossy().starts_with(POD_PREFIX) {
                    found.push(path.clone());
                }
                walk(&path, found);
            }
        }
    }
    let mut found = Vec::new();
    for dir in node.cgroups.dirs() {
        walk(&dir, &mut found);
    }
    found
}

/// Between two tries nothing of the pod exists: no pod directory, mount,
/// cgroup or process but `minipod run` itself. A try may be under way at
/// any moment, so this waits for a quiet moment; a leak never has one.
fn check_nothing_between_tries(node: &ScratchNode, run: &Run) {
    wait_until_or("nothing of the pod is left between tries", PATIENCE, || {
        let mounts = node.mounts();
        let dirs = [node.entries("state/pods"), node.entries("run/pods")].concat();
        let cgroups = pod_cgroups(node);
        let processes = node.leftover_processes(&[run.pid()]);
        if mounts.is_empty() && dirs.is_empty() && cgroups.is_empty() && processes.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "mounts {mounts:?}, pod directories {dirs:?}, cgroups {cgroups:?}, processes {processes:?}"
            ))
        }
    });
}

#[test]
fn a_pod_whose_volume_fails_is_retried_and_starts_once_the_directory_exists() {
    if !root_or_skip("a_pod_whose_volume_fails_is_retried_and_starts_once_the_directory_exists") {
        return;
    }
    let _serial = serial();
    let node = ScratchNode::new("sandbox-retry");
    let dir = node.path("later");
    let mut run = Run::start(&node, "mount-later", &dir);

    // Each try is an event; the pod stays Pending, ContainerCreating.
    wait_until_or("three FailedMount events", PATIENCE, || {
        let n = run.event_count("FailedMount");
        (n >= 3).then_some(()).ok_or_else(|| run.diagnostics())
    });
    eprintln!("minipod run said:\n{}", tail(&run.events(), 4));
    let message = format!(
        "pod: MountVolume.SetUp failed for volume \"data\" : hostPath type check failed: {} is not a directory",
        dir.display()
    );
    assert!(
        run.events().lines().any(|l| l.ends_with(&message)),
        "{message}\n{}",
        run.diagnostics()
    );
    let status = run.status().expect("a status while the sandbox fails");
    assert_eq!(
        status.phase,
        Some(PodPhase::Pending),
        "{}",
        run.diagnostics()
    );
    let app = status.container_status("app").expect("the app's status");
    let waiting = app.state.waiting.as_ref().expect("waiting");
    assert_eq!(waiting.reason.as_deref(), Some("ContainerCreating"));
    assert_eq!(status.pod_ip, None, "no sandbox, no pod IP");
    let sandbox_ready =
        |s: &PodStatus| s.condition(POD_READY_TO_START_CONTAINERS).map(|c| c.status);
    assert_eq!(sandbox_ready(&status), Some(ConditionStatus::False));
    assert_eq!(run.event_count("Started"), 0, "{}", run.diagnostics());
    check_nothing_between_tries(&node, &run);

    // The directory appears: the next try starts the pod by itself.
    let failures_before = run.event_count("FailedMount");
    let made = Instant::now();
    fs::create_dir(&dir).expect("make the hostPath directory");
    wait_until_or("the app runs and wrote /data/up", PATIENCE, || {
        let running = run
            .status()
            .and_then(|s| s.container_status("app").cloned())
            .is_some_and(|c| c.state.running.is_some());
        (running && dir.join("up").exists())
            .then_some(())
            .ok_or_else(|| run.diagnostics())
    });
    eprintln!(
        "the pod ran {:?} after its directory was made ({failures_before} FailedMount events before)",
        made.elapsed()
    );
    assert!(
        run.event_count("FailedMount") <= failures_before + 1,
        "at most the try under way failed after the directory was made\n{}",
        run.diagnostics()
    );
    let status = run.status().expect("a status");
    assert_eq!(status.phase, Some(PodPhase::Running));
    assert_eq!(sandbox_ready(&status), Some(ConditionStatus::True));

    assert_eq!(run.terminate(PATIENCE), Some(0), "{}", run.diagnostics());
    assert_eq!(
        run.status().and_then(|s| s.phase),
        Some(PodPhase::Succeeded),
        "{}",
        run.diagnostics()
    );
    drop(run);
    node.check_nothing_left();
    node.remove_dir();
}

#[test]
fn a_pod_whose_sandbox_keeps_failing_ends_on_sigterm_with_nothing_left() {
    if !root_or_skip("a_pod_whose_sandbox_keeps_failing_ends_on_sigterm_with_nothing_left") {
        return;
    }
    let _serial = serial();
    let node = ScratchNode::new("sandbox-retry");
    let dir = node.path("never");
    let mut run = Run::start(&node, "mount-never", &dir);
    wait_until_or("a FailedMount event", PATIENCE, || {
        (run.event_count("FailedMount") >= 1)
            .then_some(())
            .ok_or_else(|| run.diagnostics())
    });

    // A delete: the pod ends at once, no container having run.
    let asked = Instant::now();
    let code = run.terminate(Duration::from_secs(20));
    eprintln!("minipod run exited {:?} after SIGTERM", asked.elapsed());
    assert_eq!(code, Some(1), "Failed\n{}", run.diagnostics());
    let status = run.status().expect("a final status");
    assert_eq!(
        status.phase,
        Some(PodPhase::Failed),
        "{}",
        run.diagnostics()
    );
    assert_eq!(run.event_count("Started"), 0);
    assert_eq!(run.event_count("Killing"), 0, "nothing to kill");
    assert!(!dir.exists(), "a hostPath of type Directory is never made");
    drop(run);
    node.check_nothing_left();
    node.remove_dir();
}
