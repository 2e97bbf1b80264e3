//! The pod lifecycle, for real: whole pods run by `minipod run`, as users
//! run them, in the style of the kubelet's node e2e tests
//! (`test/e2e_node/container_lifecycle_test.go`). Every container is a
//! busybox script ([`timeline::script`]) that appends `Starting`, `Started`,
//! `Exiting` (and `Term`, `PreStop`) lines to one file on a hostPath volume,
//! and each test asserts on the order of those lines
//! ([`Timeline::starts_before`], [`Timeline::exits_before`], ...) and on the
//! Pod status that `--status-file` keeps. Times are only checked with
//! generous bounds: the v2 run is an emulated VM.
//!
//! Each test runs its pod on a node of its own (state, run, logs
//! directories and a cgroup root, [`Scenario`]) and checks at the end that
//! nothing is left: no process, no mount, no pod directory, no cgroup.
//!
//! Run as root, on the host's cgroup version by `cargo test`, and on cgroup
//! v2 by `scripts/vm-test`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use minipod_lifecycle::printer::PodView;
use minipod_lifecycle::status::ConditionStatus;
use minipod_lifecycle::{ContainerStatus, PodPhase, PodStatus, Timestamp, kubectl_columns};
use minipod_runtime_tests::timeline::{
    self, EXITING, PRE_STOP, STARTED, STARTING, ScriptOptions, TERM, Timeline, host_uptime,
};
use minipod_runtime_tests::{MARKER_VAR, ScratchNode, root_or_skip, serial, tail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

/// The real `minipod` command line, built inside this package.
const CLI: &str = env!("CARGO_BIN_EXE_minipod-cli");
/// Generous: the v2 run is an emulated VM.
const PATIENCE: Duration = Duration::from_secs(120);
/// The image every scenario container uses (imported by
/// [`minipod_runtime_tests::busybox_image_store`]).
const IMAGE: &str = "busybox:1.36";

// ---------------------------------------------------------------------------
// Pods, built in code
// ---------------------------------------------------------------------------

/// A scenario container: `script(name, options)` under `sh -c`, with the
/// shared volume at `/shared`.
fn container(name: &str, options: &ScriptOptions) -> Value {
    json!({
        "name": name,
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", timeline::script(name, options)],
        "volumeMounts": [{"name": "shared", "mountPath": timeline::SHARED_DIR}],
    })
}

/// A native sidecar: an init container with `restartPolicy: Always`.
fn sidecar(name: &str, options: &ScriptOptions) -> Value {
    let mut c = container(name, options);
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

/// A startup probe passing once the script wrote `Started`.
fn started_probe() -> Value {
    exec_probe(&["test", "-e", "/tmp/started"], 120)
}

/// An exec hook that logs `<container> <event>` in the timeline.
fn logging_hook(container: &str, event: &str) -> Value {
    json!({"exec": {"command": timeline::hook_command(container, event)}})
}

// ---------------------------------------------------------------------------
// A node of its own, and `minipod run`
// ---------------------------------------------------------------------------

/// One test's node ([`ScratchNode`]: a fresh directory with state, run,
/// logs, the shared hostPath directory, the manifest, the status file, and
/// a cgroup root of its own). [`Scenario::finish`] checks that nothing of
/// it is left.
struct Scenario {
    node: ScratchNode,
}

impl Scenario {
    fn new() -> Scenario {
        Scenario {
            node: ScratchNode::new("lifecycle"),
        }
    }

    /// The host side of the containers' `/shared`.
    fn shared(&self) -> PathBuf {
        self.node.shared()
    }

    /// A pod of scenario containers with the shared volume.
    fn pod(&self, name: &str, restart_policy: &str, init: Vec<Value>, apps: Vec<Value>) -> Value {
        let mut spec = json!({
            "restartPolicy": restart_policy,
            "terminationGracePeriodSeconds": 30,
            "volumes": [{
                "name": "shared",
                "hostPath": {"path": self.shared().to_str().expect("utf-8"), "type": "Directory"},
            }],
            "containers": apps,
        });
        if !init.is_empty() {
            spec["initContainers"] = Value::Array(init);
        }
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": spec,
        })
    }

    /// Writes `pod` as the manifest and starts `minipod run` on it.
    fn run(&self, pod: &Value, extra: &[&str]) -> PodRun {
        let manifest = self.node.path("pod.json");
        fs::write(&manifest, serde_json::to_string_pretty(pod).expect("json"))
            .expect("write the manifest");
        self.run_file(&manifest, extra)
    }

    /// Starts `minipod run -f manifest` with this node's directories.
    fn run_file(&self, manifest: &Path, extra: &[&str]) -> PodRun {
        let status_file = self.node.path("status.json");
        let stdout_path = self.node.path("stdout");
        let stderr_path = self.node.path("stderr");
        let out = fs::File::create(&stdout_path).expect("stdout file");
        let err = fs::File::create(&stderr_path).expect("stderr file");
        let child = Command::new(CLI)
            .arg("run")
            .arg("-f")
            .arg(manifest)
            .arg("--status-file")
            .arg(&status_file)
            .args(self.node.node_flags())
            .args(extra)
            .env(MARKER_VAR, &self.node.marker)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start minipod run");
        PodRun {
            child,
            exited: None,
            manifest: manifest.to_owned(),
            status_file,
            stdout_path,
            stderr_path,
            log: self.shared().join(timeline::LOG_NAME),
        }
    }

    /// Checks that the finished run left nothing behind: no process, no
    /// mount, no pod directory, no cgroup; then removes the directory.
    fn finish(self, run: PodRun) {
        assert!(run.exited.is_some(), "finish() needs a finished run");
        drop(run);
        self.node.check_nothing_left();
        self.node.remove_dir();
    }
}

/// A running (or finished) `minipod run`. Dropped while still running (a
/// failed assertion), it is stopped: SIGTERM, then a second SIGTERM (kill
/// at once), then SIGKILL, each after a wait.
struct PodRun {
    child: Child,
    exited: Option<Finished>,
    manifest: PathBuf,
    status_file: PathBuf,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
    log: PathBuf,
}

/// How `minipod run` ended.
#[derive(Debug, Clone)]
struct Finished {
    /// The exit code (`None`: killed by a signal).
    code: Option<i32>,
    /// `/proc/uptime` just after the exit was seen.
    uptime: Duration,
}

impl PodRun {
    /// The timeline so far.
    fn timeline(&self) -> Timeline {
        Timeline::read(&self.log).unwrap_or_else(|e| panic!("{e}\n{}", self.diagnostics()))
    }

    /// The Pod in the status file (`None` before it is first written).
    fn pod(&self) -> Option<Value> {
        let text = match fs::read_to_string(&self.status_file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => panic!("cannot read {}: {e}", self.status_file.display()),
        };
        // Replaced atomically (write + rename): always whole.
        let pod: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("the status file is not JSON ({e}):\n{text}"));
        assert_eq!(
            (pod["apiVersion"].as_str(), pod["kind"].as_str()),
            (Some("v1"), Some("Pod")),
            "the status file holds a Pod: {text}"
        );
        Some(pod)
    }

    /// The Pod's `status` from the status file.
    fn status(&self) -> Option<PodStatus> {
        let pod = self.pod()?;
        Some(
            serde_json::from_value(pod["status"].clone())
                .unwrap_or_else(|e| panic!("status: {e}: {}", pod["status"])),
        )
    }

    /// The status, which must be there by now.
    fn status_now(&self) -> PodStatus {
        self.status()
            .unwrap_or_else(|| panic!("no status file yet\n{}", self.diagnostics()))
    }

    /// kubectl's READY and STATUS columns of `status`, for this manifest.
    fn columns(&self, status: &PodStatus) -> (String, String) {
        columns_of(&self.manifest, status)
    }

    /// Sends `signal` to `minipod run`.
    fn signal(&self, signal: Signal) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        kill(pid, signal).unwrap_or_else(|e| panic!("{signal} to minipod run: {e}"));
    }

    /// Whether `minipod run` has exited (and reaps it if so).
    fn poll_exit(&mut self) -> Option<Finished> {
        if self.exited.is_none()
            && let Some(status) = self.child.try_wait().expect("waitpid")
        {
            self.exited = Some(Finished {
                code: status.code(),
                uptime: host_uptime(),
            });
        }
        self.exited.clone()
    }

    /// Waits for `minipod run` to exit by itself, up to `timeout`.
    fn wait(&mut self, timeout: Duration) -> Finished {
        let start = Instant::now();
        loop {
            if let Some(finished) = self.poll_exit() {
                return finished;
            }
            if start.elapsed() > timeout {
                panic!(
                    "minipod run still running after {timeout:?}\n{}",
                    self.diagnostics()
                );
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `check` passes on the timeline and the status; fails at
    /// once if `minipod run` exits meanwhile, and after [`PATIENCE`].
    fn wait_for(
        &mut self,
        what: &str,
        mut check: impl FnMut(&Timeline, Option<&PodStatus>) -> bool,
    ) {
        let start = Instant::now();
        loop {
            let (timeline, status) = (self.timeline(), self.status());
            if check(&timeline, status.as_ref()) {
                return;
            }
            if let Some(finished) = self.poll_exit() {
                panic!(
                    "minipod run exited ({:?}) before {what}\n{}",
                    finished.code,
                    self.diagnostics()
                );
            }
            if start.elapsed() > PATIENCE {
                panic!(
                    "timed out after {PATIENCE:?} waiting until {what}\n{}",
                    self.diagnostics()
                );
            }
            sleep(Duration::from_millis(50));
        }
    }

    /// Passes, or panics with `result`'s explanation (which holds the
    /// timeline) and the run's output.
    fn check(&self, result: Result<(), String>) {
        if let Err(why) = result {
            panic!("{why}\n{}", self.output());
        }
    }

    /// Panics with `why` and everything known about the run.
    fn fail(&self, why: &str) -> ! {
        panic!("{why}\n{}", self.diagnostics())
    }

    /// The output of `minipod run` so far.
    fn output(&self) -> String {
        let read = |p: &Path| fs::read_to_string(p).unwrap_or_default();
        format!(
            "--- minipod run stderr (events) ---\n{}--- minipod run stdout (containers) ---\n{}",
            tail(&read(&self.stderr_path), 80),
            tail(&read(&self.stdout_path), 80)
        )
    }

    /// The timeline, the output and the status file.
    fn diagnostics(&self) -> String {
        let timeline = Timeline::read(&self.log).map_or_else(|e| e, |t| t.render());
        let status =
            fs::read_to_string(&self.status_file).unwrap_or_else(|_| "(no status file)".to_owned());
        format!("{timeline}{}--- status file ---\n{status}\n", self.output())
    }

    /// Stops the run with SIGTERM and waits for it; checks that its exit
    /// code matches the final phase.
    fn terminate(&mut self) -> Finished {
        self.signal(Signal::SIGTERM);
        let finished = self.wait(PATIENCE);
        self.check_exit_matches_phase(&finished);
        finished
    }

    /// `0` when the final phase is Succeeded, `1` when Failed (the contract
    /// of `minipod run`).
    fn check_exit_matches_phase(&self, finished: &Finished) {
        let phase = self.status_now().phase;
        let expected = match phase {
            Some(PodPhase::Succeeded) => Some(0),
            Some(PodPhase::Failed) => Some(1),
            other => self.fail(&format!(
                "minipod run exited ({:?}) with the pod in phase {other:?}, not a final phase",
                finished.code
            )),
        };
        if finished.code != expected {
            self.fail(&format!(
                "minipod run exited with {:?}, the final phase is {phase:?}",
                finished.code
            ));
        }
    }
}

impl Drop for PodRun {
    fn drop(&mut self) {
        if self.exited.is_some() {
            return;
        }
        for (signal, patience) in [
            (Signal::SIGTERM, Duration::from_secs(40)),
            (Signal::SIGTERM, Duration::from_secs(10)),
            (Signal::SIGKILL, Duration::from_secs(10)),
        ] {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            let _ = kill(Pid::from_raw(self.child.id() as i32), signal);
            let start = Instant::now();
            while start.elapsed() < patience {
                if self.child.try_wait().ok().flatten().is_some() {
                    return;
                }
                sleep(Duration::from_millis(20));
            }
        }
    }
}

/// The status of `name`, which must be there.
fn container_status<'a>(run: &PodRun, status: &'a PodStatus, name: &str) -> &'a ContainerStatus {
    status
        .container_status(name)
        .unwrap_or_else(|| run.fail(&format!("no status for container {name}")))
}

fn is_running(status: Option<&PodStatus>, name: &str) -> bool {
    status
        .and_then(|s| s.container_status(name))
        .is_some_and(|c| c.state.running.is_some())
}

fn condition(status: &PodStatus, condition_type: &str) -> Option<ConditionStatus> {
    status.condition(condition_type).map(|c| c.status)
}

fn secs(seconds: f64) -> Duration {
    Duration::from_secs_f64(seconds)
}

// ---------------------------------------------------------------------------
// The scenarios
// ---------------------------------------------------------------------------

#[test]
fn sidecars_start_in_order_before_the_app_and_stop_in_reverse_order_after_it() {
    if !root_or_skip("sidecars_start_in_order_before_the_app_and_stop_in_reverse_order_after_it") {
        return;
    }
    let _serial = serial();
    let scenario = Scenario::new();
    // Each sidecar takes a moment to start (its startup probe sees it
    // through) and a second to stop, so that every step waits for the
    // previous one visibly.
    let sidecar_options = ScriptOptions::new().start_delay(0.3).on_term(1.0, 0);
    let mut first = sidecar("first-sidecar", &sidecar_options);
    first["startupProbe"] = started_probe();
    let mut second = sidecar("second-sidecar", &sidecar_options);
    second["startupProbe"] = started_probe();
    let app = container("app", &ScriptOptions::new().exit_after(1.0, 0));
    let pod = scenario.pod("sidecar-order", "Never", vec![first, second], vec![app]);

    let mut run = scenario.run(&pod, &[]);
    let finished = run.wait(PATIENCE);
    run.check_exit_matches_phase(&finished);
    assert_eq!(finished.code, Some(0), "{}", run.diagnostics());

    let t = run.timeline();
    run.check(t.started_before("first-sidecar", "second-sidecar"));
    run.check(t.started_before("second-sidecar", "app"));
    run.check(t.run_together("first-sidecar", "app"));
    run.check(t.run_together("second-sidecar", "app"));
    run.check(t.exits_in_order(&["app", "second-sidecar", "first-sidecar"]));
    // Each sidecar is signalled only once the containers after it are gone.
    run.check(t.exits_before_term("app", "second-sidecar"));
    run.check(t.exits_before_term("second-sidecar", "first-sidecar"));
    for name in ["first-sidecar", "second-sidecar", "app"] {
        run.check(t.not_restarted(name));
    }

    let status = run.status_now();
    assert_eq!(status.phase, Some(PodPhase::Succeeded));
    for name in ["first-sidecar", "second-sidecar", "app"] {
        let s = container_status(&run, &status, name);
        let terminated = s.state.terminated.as_ref().unwrap_or_else(|| {
            run.fail(&format!(
                "{name} is not terminated at the end: {:?}",
                s.state
            ))
        });
        assert_eq!(terminated.exit_code, 0, "{name}");
    }
    scenario.finish(run);
}

#[test]
fn a_job_style_pod_with_sidecars_succeeds_once_its_app_is_done() {
    if !root_or_skip("a_job_style_pod_with_sidecars_succeeds_once_its_app_is_done") {
        return;
    }
    let _serial = serial();
    let scenario = Scenario::new();
    let prepare = container("prepare", &ScriptOptions::new().exit_after(0.0, 0));
    let server = sidecar("server", &ScriptOptions::new());
    // A sidecar's exit code never decides the phase.
    let shipper = sidecar("shipper", &ScriptOptions::new().on_term(0.0, 1));
    let worker = container("worker", &ScriptOptions::new().exit_after(1.0, 0));
    // The default grace period (30 s): the sidecars must be stopped at once,
    // not after it ran out.
    let mut pod = scenario.pod(
        "job-with-sidecars",
        "Never",
        vec![prepare, server, shipper],
        vec![worker],
    );
    pod["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("terminationGracePeriodSeconds");

    let mut run = scenario.run(&pod, &[]);
    let finished = run.wait(PATIENCE);
    run.check_exit_matches_phase(&finished);
    assert_eq!(finished.code, Some(0), "{}", run.diagnostics());

    let t = run.timeline();
    run.check(t.event_before(("prepare", EXITING), ("server", STARTING)));
    run.check(t.run_together("server", "worker"));
    run.check(t.run_together("shipper", "worker"));
    run.check(t.exits_in_order(&["worker", "shipper", "server"]));
    run.check(t.exits_before_term("worker", "shipper"));
    run.check(t.exits_before_term("shipper", "server"));
    for name in ["prepare", "server", "shipper", "worker"] {
        run.check(t.not_restarted(name));
    }
    let worker_done = t
        .last("worker", EXITING)
        .map(|e| e.at)
        .unwrap_or_else(|| run.fail("no worker Exiting"));
    let teardown = finished.uptime.saturating_sub(worker_done);
    assert!(
        teardown < secs(15.0),
        "the pod took {teardown:?} to finish after its worker was done (grace period 30 s)\n{}",
        run.diagnostics()
    );

    let status = run.status_now();
    assert_eq!(status.phase, Some(PodPhase::Succeeded));
    let shipper = container_status(&run, &status, "shipper");
    assert_eq!(
        shipper.state.terminated.as_ref().map(|t| t.exit_code),
        Some(1),
        "the shipper exited 1 and the pod still Succeeded: {shipper:?}"
    );
    scenario.finish(run);
}

#[test]
fn a_failing_init_container_under_restart_policy_never_fails_the_pod_and_the_app_never_starts() {
    if !root_or_skip(
        "a_failing_init_container_under_restart_policy_never_fails_the_pod_and_the_app_never_starts",
    ) {
        return;
    }
    let _serial = serial();
    let scenario = Scenario::new();
    let setup = container("setup", &ScriptOptions::new().exit_after(0.0, 1));
    let app = container("app", &ScriptOptions::new());
    let pod = scenario.pod("init-fails", "Never", vec![setup], vec![app]);

    let mut run = scenario.run(&pod, &[]);
    let finished = run.wait(PATIENCE);
    run.check_exit_matches_phase(&finished);
    assert_eq!(finished.code, Some(1), "{}", run.diagnostics());

    let t = run.timeline();
    run.check(t.not_restarted("setup"));
    run.check(t.not_started("app"));

    let status = run.status_now();
    assert_eq!(status.phase, Some(PodPhase::Failed));
    let setup = container_status(&run, &status, "setup");
    assert_eq!(
        setup.state.terminated.as_ref().map(|t| t.exit_code),
        Some(1),
        "{setup:?}"
    );
    assert_eq!(setup.restart_count, 0);
    if let Some(app) = status.container_status("app") {
        assert!(
            app.state.running.is_none() && app.state.terminated.is_none(),
            "the app never ran: {app:?}"
        );
    }
    assert_eq!(
        run.columns(&status),
        ("0/1".to_owned(), "Init:Error".to_owned())
    );
    scenario.finish(run);
}

#[test]
fn a_failing_init_container_under_restart_policy_always_is_retried_and_the_pod_stays_pending() {
    if !root_or_skip(
        "a_failing_init_container_under_restart_policy_always_is_retried_and_the_pod_stays_pending",
    ) {
        return;
    }
    let _serial = serial();
    let scenario = Scenario::new();
    let setup = container("setup", &ScriptOptions::new().exit_after(0.0, 1));
    let app = container("app", &ScriptOptions::new());
    let pod = scenario.pod("init-retried", "Always", vec![setup], vec![app]);

    let mut run = scenario.run(&pod, &["--backoff-initial", "500ms", "--backoff-max", "2s"]);
    run.wait_for("setup was retried twice and the status shows it", |t, s| {
        t.restart_count("setup") >= 2
            && s.and_then(|s| s.container_status("setup"))
                .is_some_and(|c| c.restart_count >= 1)
    });

    let status = run.status_now();
    assert_eq!(
        status.phase,
        Some(PodPhase::Pending),
        "{}",
        run.diagnostics()
    );
    let (ready, column) = run.columns(&status);
    assert_eq!(ready, "0/1");
    // Init:Error or Init:CrashLoopBackOff between runs, Init:0/1 while a
    // retry runs.
    assert!(
        ["Init:Error", "Init:CrashLoopBackOff", "Init:0/1"].contains(&column.as_str()),
        "STATUS {column}\n{}",
        run.diagnostics()
    );
    run.check(run.timeline().has_restarted("setup"));
    run.check(run.timeline().not_started("app"));

    let starts_before_stop = run.timeline().count("setup", STARTING);
    run.terminate();
    let t = run.timeline();
    run.check(t.not_started("app"));
    // Nothing restarts during termination (one start may have been under
    // way when the signal came).
    assert!(
        t.count("setup", STARTING) <= starts_before_stop + 1,
        "setup kept restarting after SIGTERM\n{}",
        t.render()
    );
    scenario.finish(run);
}

#[test]
fn a_sidecar_that_crashes_after_starting_is_restarted_and_the_app_is_untouched() {
    if !root_or_skip("a_sidecar_that_crashes_after_starting_is_restarted_and_the_app_is_untouched")
    {
        return;
    }
    let _serial = serial();
    let scenario = Scenario::new();
    // Crashes 3 s into its first run (the app runs by then); later runs stay.
    let helper = sidecar(
        "helper",
        &ScriptOptions::new().exit_after(3.0, 1).first_run_only(),
    );
    let app = container("app", &ScriptOptions::new());
    // restartPolicy Never: sidecars restart whatever the pod's policy.
    let pod = scenario.pod("sidecar-crash", "Never", vec![helper], vec![app]);

    let mut run = scenario.run(&pod, &["--backoff-initial", "1s"]);
    run.wait_for(
        "the helper crashed, was restarted and started again",
        |t, s| {
            t.count("helper", STARTED) >= 2
                && is_running(s, "helper")
                && s.and_then(|s| s.container_status("helper"))
                    .is_some_and(|c| c.restart_count >= 1)
        },
    );
    let t = run.timeline();
    run.check(t.event_before(("app", STARTED), ("helper", EXITING)));
    run.check(t.has_restarted("helper"));
    run.check(t.not_restarted("app"));
    assert_eq!(
        t.count("app", TERM),
        0,
        "the app was signalled\n{}",
        t.render()
    );
    run.check(t.run_together("helper", "app"));

    let status = run.status_now();
    assert_eq!(status.phase, Some(PodPhase::Running));
    let helper = container_status(&run, &status, "helper");
    assert_eq!(
        helper.last_state.terminated.as_ref().map(|t| t.exit_code),
        Some(1),
        "{helper:?}"
    );
    let app = container_status(&run, &status, "app");
    assert_eq!(app.restart_count, 0, "{app:?}");
    assert!(app.state.running.is_some(), "{app:?}");

    run.terminate();
    let t = run.timeline();
    run.check(t.not_restarted("app"));
    run.check(t.exits_before("app", "helper"));
    scenario.finish(run);
}

#[test]
fn a_failing_liveness_probe_restarts_a_sidecar() {
    if !root_or_skip("a_failing_liveness_probe_restarts_a_sidecar") {
        return;
    }
    let _serial = serial();
    let scenario = Scenario::new();
    let healthy = scenario.shared().join("healthy");
    fs::write(&healthy, "").expect("healthy");
    let mut helper = sidecar("helper", &ScriptOptions::new());
    helper["livenessProbe"] = exec_probe(&["test", "-e", "/shared/healthy"], 1);
    let app = container("app", &ScriptOptions::new());
    let pod = scenario.pod("liveness", "Always", vec![helper], vec![app]);

    let mut run = scenario.run(&pod, &[]);
    run.wait_for("the app and the helper run", |t, s| {
        t.started("app").is_ok() && is_running(s, "app") && is_running(s, "helper")
    });
    // A passing probe kills nothing: a few periods of it.
    sleep(secs(2.5));
    run.check(run.timeline().not_restarted("helper"));

    fs::remove_file(&healthy).expect("make the helper unhealthy");
    run.wait_for("the helper was told to stop", |t, _| {
        t.count("helper", TERM) >= 1
    });
    fs::write(&healthy, "").expect("healthy again");
    run.wait_for("the helper was restarted and reported it", |t, s| {
        t.count("helper", STARTED) >= 2
            && s.and_then(|s| s.container_status("helper"))
                .is_some_and(|c| c.restart_count >= 1 && c.state.running.is_some())
    });

    let t = run.timeline();
    run.check(t.has_restarted("helper"));
    // Killed (SIGTERM, then its own exit), not crashed.
    let term = t.nth("helper", TERM, 0).map(|e| e.seq);
    let restart = t.nth("helper", STARTING, 1).map(|e| e.seq);
    assert!(
        term < restart,
        "the helper's first run ended by SIGTERM before its restart\n{}",
        t.render()
    );
    run.check(t.not_restarted("app"));
    assert_eq!(t.count("app", TERM), 0, "{}", t.render());

    let status = run.status_now();
    assert_eq!(status.phase, Some(PodPhase::Running));
    assert!(
        container_status(&run, &status, "helper")
            .last_state
            .terminated
            .is_some()
    );
    assert_eq!(container_status(&run, &status, "app").restart_count, 0);

    run.terminate();
    scenario.finish(run);
}

#[test]
fn a_failing_readiness_probe_keeps_the_pod_not_ready() {
    if !root_or_skip("a_failing_readiness_probe_keeps_the_pod_not_ready") {
        return;
    }
    let _serial = serial();
    let scenario = Scenario::new();
    let mut helper = sidecar("helper", &ScriptOptions::new());
    helper["readinessProbe"] = exec_probe(&["test", "-e", "/shared/ready"], 1);
    let app = container("app", &ScriptOptions::new());
    let pod = scenario.pod("readiness", "Always", vec![helper], vec![app]);

    let mut run = scenario.run(&pod, &[]);
    let manifest = run.manifest.clone();
    run.wait_for("the app runs and READY shows 1/2", |t, s| {
        t.started("app").is_ok()
            && is_running(s, "app")
            && s.is_some_and(|s| columns_of(&manifest, s).0 == "1/2")
    });
    // For several probe periods the helper stays not ready, and so the pod.
    let until = Instant::now() + secs(3.0);
    while Instant::now() < until {
        let status = run.status_now();
        let helper = container_status(&run, &status, "helper");
        let why = format!("{helper:?}\n{}", run.diagnostics());
        assert!(!helper.ready, "the helper is never ready: {why}");
        assert_eq!(helper.started, Some(true), "{why}");
        assert_eq!(status.phase, Some(PodPhase::Running), "{why}");
        assert_eq!(
            condition(&status, "Ready"),
            Some(ConditionStatus::False),
            "{why}"
        );
        assert_eq!(
            condition(&status, "ContainersReady"),
            Some(ConditionStatus::False),
            "{why}"
        );
        assert_eq!(
            run.columns(&status),
            ("1/2".to_owned(), "Running".to_owned()),
            "{why}"
        );
        sleep(Duration::from_millis(200));
    }
    run.check(run.timeline().not_restarted("helper"));

    // The probe passing makes it ready: it was the probe that held it.
    fs::write(scenario.shared().join("ready"), "").expect("ready");
    run.wait_for("the pod is ready, 2/2", |_, s| {
        s.is_some_and(|s| {
            condition(s, "Ready") == Some(ConditionStatus::True)
                && columns_of(&manifest, s).0 == "2/2"
        })
    });
    run.terminate();
    scenario.finish(run);
}

/// kubectl's READY and STATUS columns of `status`, for the pod of `manifest`.
fn columns_of(manifest: &Path, status: &PodStatus) -> (String, String) {
    let bytes = fs::read(manifest).expect("the manifest");
    let loaded = minipod_spec::load::parse_manifests(&bytes, "pod.json")
        .unwrap_or_else(|e| panic!("the manifest does not load: {e}"));
    let columns = kubectl_columns(
        PodView {
            spec: &loaded[0].pod.spec,
            status,
            created: None,
            deletion_requested: false,
        },
        Timestamp::from_unix_seconds(0),
    );
    (columns.ready, columns.status)
}

#[test]
fn a_startup_probe_on_a_sidecar_holds_back_the_app() {
    if !root_or_skip("a_startup_probe_on_a_sidecar_holds_back_the_app") {
        return;
    }
    let _serial = serial();
    let scenario = Scenario::new();
    let mut helper = sidecar("helper", &ScriptOptions::new());
    helper["startupProbe"] = exec_probe(&["test", "-e", "/shared/startup-done"], 600);
    let app = container("app", &ScriptOptions::new());
    let pod = scenario.pod("startup", "Always", vec![helper], vec![app]);

    let mut run = scenario.run(&pod, &[]);
    run.wait_for("the helper runs", |t, s| {
        t.started("helper").is_ok() && is_running(s, "helper")
    });
    // Several probe periods: the app stays held back.
    sleep(secs(3.0));
    run.check(run.timeline().not_started("app"));
    let status = run.status_now();
    assert_eq!(
        status.phase,
        Some(PodPhase::Pending),
        "{}",
        run.diagnostics()
    );
    let helper = container_status(&run, &status, "helper");
    assert_ne!(helper.started, Some(true), "{helper:?}");
    assert!(!is_running(Some(&status), "app"), "{}", run.diagnostics());
    assert_eq!(
        run.columns(&status),
        ("0/2".to_owned(), "Init:0/1".to_owned())
    );

    let released = host_uptime();
    fs::write(scenario.shared().join("startup-done"), "").expect("startup-done");
    run.wait_for("the app runs", |t, s| {
        t.started("app").is_ok() && is_running(s, "app")
    });
    let t = run.timeline();
    run.check(t.started_before("helper", "app"));
    run.check(t.happened_within("app", STARTING, released, PATIENCE));
    run.check(t.not_restarted("helper"));
    let status = run.status_now();
    assert_eq!(
        container_status(&run, &status, "helper").started,
        Some(true)
    );

    run.terminate();
    scenario.finish(run);
}

#[test]
fn pre_stop_hooks_run_at_the_start_of_termination() {
    if !root_or_skip("pre_stop_hooks_run_at_the_start_of_termination") {
        return;
    }
    let _serial = serial();
    let scenario = Scenario::new();
    let mut helper = sidecar("helper", &ScriptOptions::new());
    helper["lifecycle"] = json!({"preStop": logging_hook("helper", PRE_STOP)});
    // The app takes 2 s to stop: the sidecar's hook must not wait for it.
    let mut app = container("app", &ScriptOptions::new().on_term(2.0, 0));
    app["lifecycle"] = json!({"preStop": logging_hook("app", PRE_STOP)});
    let pod = scenario.pod("pre-stop", "Always", vec![helper], vec![app]);

    let mut run = scenario.run(&pod, &[]);
    run.wait_for("the app and the helper run", |t, s| {
        t.started("app").is_ok() && is_running(s, "app") && is_running(s, "helper")
    });
    let stop = host_uptime();
    let finished = run.terminate();
    assert_eq!(finished.code, Some(0), "{}", run.diagnostics());

    let t = run.timeline();
    // Both hooks right away (generous: a second or so, more on a slow VM).
    run.check(t.happened_within("app", PRE_STOP, stop, secs(3.0)));
    run.check(t.happened_within("helper", PRE_STOP, stop, secs(3.0)));
    // The app's hook before its SIGTERM; the sidecar's hook at the start,
    // not after the app is gone; the sidecar's SIGTERM after the app.
    run.check(t.event_before(("app", PRE_STOP), ("app", TERM)));
    run.check(t.event_before(("helper", PRE_STOP), ("app", EXITING)));
    run.check(t.exits_before_term("app", "helper"));
    assert_eq!(t.count("app", PRE_STOP), 1, "{}", t.render());
    assert_eq!(t.count("helper", PRE_STOP), 1, "{}", t.render());
    scenario.finish(run);
}

#[test]
fn a_process_ignoring_sigterm_is_killed_at_the_end_of_the_grace_period() {
    if !root_or_skip("a_process_ignoring_sigterm_is_killed_at_the_end_of_the_grace_period") {
        return;
    }
    let _serial = serial();
    let scenario = Scenario::new();
    let app = container("stubborn", &ScriptOptions::new().ignore_term());
    let mut pod = scenario.pod("stubborn", "Never", vec![], vec![app]);
    pod["spec"]["terminationGracePeriodSeconds"] = json!(3);

    let mut run = scenario.run(&pod, &[]);
    run.wait_for("the container runs", |t, s| {
        t.started("stubborn").is_ok() && is_running(s, "stubborn")
    });
    let signalled = Instant::now();
    run.signal(Signal::SIGTERM);
    let finished = run.wait(PATIENCE);
    let took = signalled.elapsed();
    run.check_exit_matches_phase(&finished);

    let t = run.timeline();
    assert!(
        t.count("stubborn", TERM) >= 1,
        "it got SIGTERM\n{}",
        t.render()
    );
    assert_eq!(
        t.count("stubborn", EXITING),
        0,
        "it never exited by itself\n{}",
        t.render()
    );
    assert!(
        took >= secs(2.9),
        "killed after {took:?}, before the 3 s grace period ran out\n{}",
        run.diagnostics()
    );
    assert!(
        took < secs(20.0),
        "took {took:?}: the pod's 3 s grace period, not the default 30 s, applies\n{}",
        run.diagnostics()
    );
    let status = run.status_now();
    let stubborn = container_status(&run, &status, "stubborn");
    assert_eq!(
        stubborn.state.terminated.as_ref().map(|t| t.exit_code),
        Some(137),
        "SIGKILL: 128 + 9: {stubborn:?}"
    );
    assert_eq!(status.phase, Some(PodPhase::Failed));
    assert_eq!(finished.code, Some(1));
    scenario.finish(run);
}

#[test]
fn crash_loop_back_off_delays_grow() {
    if !root_or_skip("crash_loop_back_off_delays_grow") {
        return;
    }
    let _serial = serial();
    let scenario = Scenario::new();
    let app = container("crasher", &ScriptOptions::new().exit_after(0.0, 1));
    let pod = scenario.pod("crash-loop", "Always", vec![], vec![app]);

    let mut run = scenario.run(&pod, &["--backoff-initial", "1s", "--backoff-max", "8s"]);
    let mut saw_back_off = false;
    run.wait_for("the crasher started five times", |t, s| {
        let waiting = s
            .and_then(|s| s.container_status("crasher"))
            .and_then(|c| c.state.waiting.as_ref())
            .and_then(|w| w.reason.as_deref());
        saw_back_off |= waiting == Some("CrashLoopBackOff");
        t.count("crasher", STARTING) >= 5
    });
    let t = run.timeline();
    let delays = t.restart_delays("crasher");
    // First restart immediate, then 1 s, 2 s, 4 s: order, and bounds that
    // only a wrong back-off breaks (never below the delay, well above it
    // allowed).
    let expected = [0.0, 1.0, 2.0, 4.0];
    let explain = || {
        format!(
            "restart delays {delays:?}, expected about {expected:?} s\n{}",
            t.render()
        )
    };
    assert!(delays.len() >= 4, "{}", explain());
    for (i, want) in expected.iter().enumerate() {
        assert!(
            delays[i] >= secs(want * 0.9) && delays[i] <= secs(want + 5.0),
            "restart {}: {}",
            i + 1,
            explain()
        );
    }
    for pair in delays[..4].windows(2) {
        assert!(pair[0] < pair[1], "the delays grow: {}", explain());
    }
    assert!(
        saw_back_off,
        "the status showed waiting: CrashLoopBackOff between restarts\n{}",
        run.diagnostics()
    );
    let status = run.status_now();
    assert!(
        container_status(&run, &status, "crasher").restart_count >= 3,
        "{}",
        run.diagnostics()
    );

    run.terminate();
    scenario.finish(run);
}

/// `examples/sidecar-order.yaml` as it is, through `minipod run`: it ends
/// Succeeded and its containers' own timestamped lines show the reverse stop
/// order its comment promises.
#[test]
fn the_sidecar_order_example_runs_as_its_comment_says() {
    if !root_or_skip("the_sidecar_order_example_runs_as_its_comment_says") {
        return;
    }
    let _serial = serial();
    let scenario = Scenario::new();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/sidecar-order.yaml");
    let mut run = scenario.run_file(&example, &[]);
    let finished = run.wait(PATIENCE);
    run.check_exit_matches_phase(&finished);
    assert_eq!(finished.code, Some(0), "{}", run.diagnostics());

    // stdout: `<container> | HH:MM:SS <container> <what>`.
    let stdout = fs::read_to_string(&run.stdout_path).expect("stdout");
    let position = |container: &str, what: &str| {
        stdout
            .lines()
            .position(|l| {
                l.starts_with(&format!("{container} | "))
                    && l.ends_with(&format!(" {container} {what}"))
            })
            .unwrap_or_else(|| run.fail(&format!("no `{container} | ... {what}` line")))
    };
    assert!(position("sidecar-1", "Started") < position("sidecar-2", "Starting"));
    assert!(position("sidecar-2", "Started") < position("app", "Starting"));
    // Seconds apart (each sidecar takes 2 s to stop), so the output order is
    // the true order.
    assert!(position("sidecar-2", "Exiting") < position("sidecar-1", "Exiting"));
    assert!(position("app", "Exiting") < position("sidecar-1", "Exiting"));
    scenario.finish(run);
}
