//! The lifecycle's rules, one table test each, with a fake clock.
//!
//! A [`Sim`] plays the monitor: it feeds the machine inputs at chosen
//! times and keeps every action it answered. Named after the behaviour, as
//! the kubelet's `TestComputePodActions*` tests are.

use std::time::Duration;

use minipod_plan::{NodeFacts, plan};
use minipod_spec::{AdmittedPod, ServerAssigned, admit, load};

use super::*;
use crate::backoff::BackoffConfig;
use crate::printer::{PodView, kubectl_columns};
use crate::status::{ConditionStatus, ContainerStateTerminated, condition_type};

const T0: i64 = 1_700_000_000;

fn pod(yaml: &str) -> AdmittedPod {
    let text = format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec: {yaml}\n");
    let loaded = load::parse_manifests(text.as_bytes(), "pod.yaml")
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let [item] = <[_; 1]>::try_from(loaded).unwrap_or_else(|_| panic!("one pod"));
    let assigned = ServerAssigned {
        uid: "00000000-0000-4000-8000-000000000000".into(),
        name_suffix: "abcde".into(),
    };
    admit(item.pod, &assigned).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// A fake monitor.
struct Sim {
    machine: PodMachine,
    now: Timestamp,
    /// Every action so far, with the second it came at (relative to T0).
    log: Vec<(f64, Action)>,
}

impl Sim {
    fn new(spec_yaml: &str) -> Self {
        let config = MachineConfig {
            backoff: BackoffConfig::default(),
        };
        let now = Timestamp::from_unix_seconds(T0);
        let pod = pod(spec_yaml);
        let node = NodeFacts {
            memory_capacity_bytes: 8 << 30,
        };
        let machine = PodMachine::new(&pod, &plan(&pod, &node), config, now);
        let mut sim = Sim {
            machine,
            now,
            log: Vec::new(),
        };
        sim.feed(Input::Tick);
        sim
    }

    fn feed(&mut self, input: Input) -> Vec<Action> {
        let actions = self.machine.handle(self.now, input);
        let at = self.now.nanos_since(Timestamp::from_unix_seconds(T0)) as f64 / 1e9;
        self.log.extend(actions.iter().cloned().map(|a| (at, a)));
        actions
    }

    /// Moves the clock on and ticks.
    fn wait(&mut self, seconds: f64) -> Vec<Action> {
        self.now = self.now.plus(Duration::from_secs_f64(seconds));
        self.feed(Input::Tick)
    }

    fn attempt(&self, name: &str) -> u32 {
        self.machine.records[self.machine.index(name).unwrap()].attempt()
    }

    /// The pending start of `name` succeeds.
    fn started(&mut self, name: &str) -> Vec<Action> {
        let attempt = self.attempt(name);
        self.feed(Input::Started {
            container: name.into(),
            attempt,
            container_id: format!("minipod://{name}-{attempt}"),
            image_id: "sha256:0".into(),
        })
    }

    fn exited(&mut self, name: &str, code: i32) -> Vec<Action> {
        let reason = if code == 0 { "Completed" } else { "Error" };
        self.feed(Input::Exited {
            container: name.into(),
            terminated: ContainerStateTerminated {
                exit_code: code,
                reason: Some(reason.into()),
                finished_at: Some(self.now),
                ..ContainerStateTerminated::default()
            },
        })
    }

    fn probe(&mut self, name: &str, probe: ProbeKind, ok: bool) -> Vec<Action> {
        let attempt = self.attempt(name);
        let outcome = if ok {
            ProbeOutcome::Success
        } else {
            ProbeOutcome::Failure("boom".into())
        };
        self.feed(Input::ProbeDone {
            container: name.into(),
            attempt,
            probe,
            outcome,
        })
    }

    fn hook_done(&mut self, name: &str, hook: HookKind, error: Option<&str>) -> Vec<Action> {
        let attempt = self.attempt(name);
        self.feed(Input::HookDone {
            container: name.into(),
            attempt,
            hook,
            error: error.map(String::from),
        })
    }

    /// Starts `names` in turn, each answered with Started.
    fn start_all(&mut self, names: &[&str]) {
        for name in names {
            assert!(
                self.pending_start(name),
                "{name} should be starting; log:\n{}",
                self.dump()
            );
            self.started(name);
        }
    }

    fn pending_start(&self, name: &str) -> bool {
        matches!(
            self.machine.records[self.machine.index(name).unwrap()].state,
            State::Starting
        )
    }

    fn phase(&self) -> PodPhase {
        self.machine.status().phase.unwrap()
    }

    fn columns(&self) -> (String, String, String) {
        let spec = self.machine.spec().clone();
        let c = kubectl_columns(
            PodView {
                spec: &spec,
                status: self.machine.status(),
                created: None,
                deletion_requested: false,
            },
            self.now,
        );
        (c.ready, c.status, c.restarts)
    }

    /// The containers asked to start, in order, with their attempt.
    fn starts(&self) -> Vec<(String, u32)> {
        self.log
            .iter()
            .filter_map(|(_, a)| match a {
                Action::StartContainer { container, attempt } => {
                    Some((container.clone(), *attempt))
                }
                _ => None,
            })
            .collect()
    }

    fn start_times(&self, name: &str) -> Vec<f64> {
        self.log
            .iter()
            .filter_map(|(at, a)| match a {
                Action::StartContainer { container, .. } if container == name => Some(*at),
                _ => None,
            })
            .collect()
    }

    /// The signals sent, in order: (second, container, signal).
    fn signals(&self) -> Vec<(f64, String, StopSignal)> {
        self.log
            .iter()
            .filter_map(|(at, a)| match a {
                Action::Signal { container, signal } => Some((*at, container.clone(), *signal)),
                _ => None,
            })
            .collect()
    }

    fn hooks(&self, hook: HookKind) -> Vec<(f64, String)> {
        self.log
            .iter()
            .filter_map(|(at, a)| match a {
                Action::RunHook {
                    container, hook: h, ..
                } if *h == hook => Some((*at, container.clone())),
                _ => None,
            })
            .collect()
    }

    fn events(&self, reason: &str) -> Vec<String> {
        self.log
            .iter()
            .filter_map(|(_, a)| match a {
                Action::Event(e) if e.reason == reason => Some(e.message.clone()),
                _ => None,
            })
            .collect()
    }

    fn finished(&self) -> Option<PodPhase> {
        self.log.iter().find_map(|(_, a)| match a {
            Action::Finished { phase } => Some(*phase),
            _ => None,
        })
    }

    fn last_wake(&self) -> Option<Timestamp> {
        self.log.iter().rev().find_map(|(_, a)| match a {
            Action::WakeAt(t) => Some(*t),
            _ => None,
        })
    }

    fn dump(&self) -> String {
        self.log
            .iter()
            .map(|(at, a)| format!("{at:8.3} {a:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn names(starts: &[(String, u32)]) -> Vec<&str> {
    starts.iter().map(|(n, _)| n.as_str()).collect()
}

const SIDECARS: &str = "{restartPolicy: Never, terminationGracePeriodSeconds: 30,
  initContainers: [
    {name: init, image: busybox:1.36},
    {name: sidecar-1, image: busybox:1.36, restartPolicy: Always},
    {name: sidecar-2, image: busybox:1.36, restartPolicy: Always}],
  containers: [{name: app, image: busybox:1.36}]}";

// ------------------------------------------------------------- init progression

#[test]
fn regular_init_containers_run_one_by_one_to_success_before_the_apps() {
    let mut sim = Sim::new(
        "{initContainers: [{name: i1, image: b:1}, {name: i2, image: b:1}],
          containers: [{name: a, image: b:1}]}",
    );
    assert_eq!(names(&sim.starts()), ["i1"]);
    assert_eq!(sim.columns().1, "Init:0/2");
    sim.started("i1");
    assert_eq!(names(&sim.starts()), ["i1"], "i2 waits for i1 to exit");
    // Running is not done: not ready, the pod not initialized.
    assert!(!sim.machine.status().init_container_statuses[0].ready);
    assert_eq!(sim.columns().1, "Init:0/2");
    sim.wait(1.0);
    sim.exited("i1", 0);
    assert_eq!(names(&sim.starts()), ["i1", "i2"]);
    assert_eq!(sim.columns().1, "Init:1/2");
    sim.started("i2");
    sim.exited("i2", 0);
    assert_eq!(names(&sim.starts()), ["i1", "i2", "a"]);
    assert_eq!(sim.columns().1, "PodInitializing");
    sim.started("a");
    assert_eq!(sim.phase(), PodPhase::Running);
    assert_eq!(sim.columns(), ("1/1".into(), "Running".into(), "0".into()));
}

#[test]
fn a_sidecar_lets_the_next_container_start_as_soon_as_it_runs() {
    let mut sim = Sim::new(SIDECARS);
    sim.start_all(&["init"]);
    sim.exited("init", 0);
    sim.start_all(&["sidecar-1", "sidecar-2", "app"]);
    assert_eq!(
        names(&sim.starts()),
        ["init", "sidecar-1", "sidecar-2", "app"]
    );
    assert_eq!(sim.columns().0, "3/3");
    assert_eq!(sim.phase(), PodPhase::Running);
}

#[test]
fn a_sidecar_startup_probe_holds_back_the_next_container_until_it_succeeds() {
    let mut sim = Sim::new(
        "{initContainers: [{name: s, image: b:1, restartPolicy: Always,
            startupProbe: {exec: {command: [test, -e, /tmp/ok]}, periodSeconds: 1, failureThreshold: 30}}],
          containers: [{name: a, image: b:1}]}",
    );
    let actions = sim.started("s");
    assert!(
        actions.iter().any(|a| matches!(
            a,
            Action::RunProbe {
                probe: ProbeKind::Startup,
                ..
            }
        )),
        "the startup probe runs at once (no initialDelay): {actions:?}"
    );
    sim.probe("s", ProbeKind::Startup, false);
    sim.wait(1.0);
    sim.probe("s", ProbeKind::Startup, false);
    assert_eq!(names(&sim.starts()), ["s"], "the app waits");
    assert_eq!(sim.phase(), PodPhase::Pending);
    assert_eq!(sim.columns().1, "Init:0/1");
    sim.wait(1.0);
    sim.probe("s", ProbeKind::Startup, true);
    assert_eq!(names(&sim.starts()), ["s", "a"]);
    let status = sim.machine.status().init_container_statuses[0].clone();
    assert_eq!(status.started, Some(true));
}

#[test]
fn a_slow_post_start_hook_delays_the_next_container() {
    let mut sim = Sim::new(
        "{containers: [
            {name: a1, image: b:1, lifecycle: {postStart: {exec: {command: [sleep, '5']}}}},
            {name: a2, image: b:1}]}",
    );
    let actions = sim.started("a1");
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::RunHook {
            hook: HookKind::PostStart,
            ..
        }
    )));
    sim.wait(3.0);
    assert_eq!(names(&sim.starts()), ["a1"], "a2 waits for a1's postStart");
    sim.wait(2.0);
    sim.hook_done("a1", HookKind::PostStart, None);
    assert_eq!(names(&sim.starts()), ["a1", "a2"]);
}

#[test]
fn a_failed_post_start_hook_kills_the_container() {
    let mut sim = Sim::new(
        "{restartPolicy: Never, containers: [
            {name: a, image: b:1, lifecycle: {postStart: {exec: {command: ['false']}}}}]}",
    );
    sim.started("a");
    sim.hook_done("a", HookKind::PostStart, Some("exit 1"));
    assert_eq!(sim.events("FailedPostStartHook"), ["PostStartHook failed"]);
    assert_eq!(sim.signals()[0].1, "a");
    assert_eq!(sim.signals()[0].2, StopSignal::Stop);
}

// ------------------------------------------------------------------ restarts

#[test]
fn a_failed_regular_init_under_never_fails_the_pod_and_stops_the_sidecars() {
    let mut sim = Sim::new(
        "{restartPolicy: Never,
          initContainers: [{name: s, image: b:1, restartPolicy: Always}, {name: i, image: b:1}],
          containers: [{name: a, image: b:1}]}",
    );
    sim.start_all(&["s", "i"]);
    sim.exited("i", 1);
    assert_eq!(sim.signals()[0].1, "s", "the running sidecar is stopped");
    assert_eq!(sim.machine.stop_cause(), Some(StopCause::InitFailed));
    sim.exited("s", 143);
    assert_eq!(sim.finished(), Some(PodPhase::Failed));
    assert!(!names(&sim.starts()).contains(&"a"), "the app never starts");
    assert_eq!(sim.columns().1, "Init:Error");
}

#[test]
fn a_failed_regular_init_under_always_is_retried_with_back_off_and_the_pod_stays_pending() {
    let mut sim = Sim::new(
        "{restartPolicy: Always, initContainers: [{name: i, image: b:1}],
          containers: [{name: a, image: b:1}]}",
    );
    sim.started("i");
    sim.exited("i", 1);
    assert_eq!(
        sim.starts(),
        [("i".into(), 0), ("i".into(), 1)],
        "first restart at once"
    );
    sim.started("i");
    sim.exited("i", 1);
    assert_eq!(sim.starts().len(), 2, "then back-off");
    assert_eq!(sim.columns().1, "Init:CrashLoopBackOff");
    assert_eq!(sim.phase(), PodPhase::Pending);
    sim.wait(10.0);
    assert_eq!(sim.starts().len(), 3, "retried after 10 s");
    assert!(!names(&sim.starts()).contains(&"a"));
    sim.started("i");
    sim.exited("i", 1);
    sim.feed(Input::Stop { grace: None });
    assert_eq!(
        sim.finished(),
        Some(PodPhase::Failed),
        "stopped for good: Failed"
    );
}

#[test]
fn sidecars_restart_on_any_exit_even_under_never_and_the_app_is_untouched() {
    let mut sim = Sim::new(SIDECARS);
    sim.start_all(&["init"]);
    sim.exited("init", 0);
    sim.start_all(&["sidecar-1", "sidecar-2", "app"]);
    sim.exited("sidecar-1", 0);
    assert_eq!(sim.starts().last().unwrap(), &("sidecar-1".into(), 1));
    sim.started("sidecar-1");
    sim.exited("sidecar-2", 1);
    assert_eq!(sim.starts().last().unwrap(), &("sidecar-2".into(), 1));
    assert_eq!(
        sim.starts().iter().filter(|(n, _)| n == "app").count(),
        1,
        "the app is not restarted"
    );
    assert!(sim.signals().is_empty(), "nothing is stopped");
    assert_eq!(sim.machine.status().container_statuses[0].restart_count, 0);
    assert_eq!(sim.phase(), PodPhase::Running);
}

/// The pod's spec with `container`'s image replaced, as `kubectl set image`
/// makes it.
fn with_image(sim: &Sim, container: &str, image: &str) -> Input {
    let mut spec = sim.machine.spec().clone();
    for c in spec.init_containers.iter_mut().chain(&mut spec.containers) {
        if c.name == container {
            c.image = Some(image.into());
        }
    }
    Input::SpecUpdated(Box::new(spec))
}

fn image_of(sim: &Sim, container: &str) -> String {
    let status = sim.machine.status();
    let all = status
        .init_container_statuses
        .iter()
        .chain(&status.container_statuses);
    all.into_iter()
        .find(|c| c.name == container)
        .map(|c| c.image.clone())
        .unwrap()
}

#[test]
fn a_sidecars_new_image_restarts_that_sidecar_alone() {
    let mut sim = Sim::new(SIDECARS);
    sim.start_all(&["init"]);
    sim.exited("init", 0);
    sim.start_all(&["sidecar-1", "sidecar-2", "app"]);
    let starts_before = sim.starts().len();

    let update = with_image(&sim, "sidecar-2", "busybox:1.37");
    sim.feed(update);
    assert_eq!(
        sim.events("Killing"),
        ["Container sidecar-2 definition changed, will be restarted"]
    );
    assert_eq!(
        sim.signals()
            .iter()
            .map(|(_, c, s)| (c.as_str(), *s))
            .collect::<Vec<_>>(),
        [("sidecar-2", StopSignal::Stop)],
        "only the changed sidecar is stopped"
    );
    assert_eq!(
        image_of(&sim, "sidecar-2"),
        "busybox:1.36",
        "the running instance still runs the old image"
    );
    assert_eq!(
        sim.machine.spec().init_containers[2].image.as_deref(),
        Some("busybox:1.37")
    );

    sim.wait(0.5);
    sim.exited("sidecar-2", 143);
    assert_eq!(
        sim.starts()[starts_before..],
        [("sidecar-2".to_owned(), 1)],
        "restarted at once, nothing else"
    );
    sim.started("sidecar-2");
    assert_eq!(image_of(&sim, "sidecar-2"), "busybox:1.37");
    assert_eq!(image_of(&sim, "sidecar-1"), "busybox:1.36");
    assert_eq!(
        sim.machine.status().init_container_statuses[2].restart_count,
        1
    );
    assert_eq!(sim.machine.status().container_statuses[0].restart_count, 0);
    assert_eq!(sim.phase(), PodPhase::Running);
}

#[test]
fn a_new_app_image_restarts_the_app_even_under_never() {
    let mut sim = Sim::new(
        "{restartPolicy: Never, containers: [{name: a, image: b:1}, {name: c, image: b:1}]}",
    );
    sim.start_all(&["a", "c"]);
    let update = with_image(&sim, "a", "b:2");
    sim.feed(update);
    assert_eq!(sim.signals().len(), 1);
    sim.exited("a", 137);
    assert_eq!(sim.starts().last().unwrap(), &("a".into(), 1));
    assert_eq!(sim.finished(), None, "a definition change is no end");
    sim.started("a");
    assert_eq!(image_of(&sim, "a"), "b:2");
    assert_eq!(
        sim.columns(),
        ("2/2".into(), "Running".into(), "1 (0s ago)".into())
    );
}

#[test]
fn a_new_image_for_a_crash_looping_container_is_tried_at_once() {
    let mut sim = Sim::new("{containers: [{name: a, image: b:1}]}");
    for _ in 0..3 {
        sim.wait(1.0);
        if sim.pending_start("a") {
            sim.started("a");
            sim.exited("a", 1);
        }
    }
    assert_eq!(sim.columns().1, "CrashLoopBackOff");
    let starts = sim.starts().len();
    let update = with_image(&sim, "a", "b:fixed");
    sim.feed(update);
    assert_eq!(
        sim.starts().len(),
        starts + 1,
        "no back-off for the new definition"
    );
    assert!(sim.signals().is_empty(), "nothing ran to kill");
    sim.started("a");
    assert_eq!(image_of(&sim, "a"), "b:fixed");
}

#[test]
fn an_update_of_a_terminating_pod_restarts_nothing() {
    let mut sim = Sim::new("{containers: [{name: a, image: b:1}]}");
    sim.started("a");
    sim.feed(Input::Stop { grace: Some(10) });
    let update = with_image(&sim, "a", "b:2");
    sim.feed(update);
    assert_eq!(sim.events("Killing"), ["Stopping container a"]);
    sim.exited("a", 143);
    assert_eq!(sim.starts().len(), 1);
    assert!(sim.finished().is_some());
}

#[test]
fn a_regular_init_container_is_not_killed_for_a_new_image() {
    let mut sim =
        Sim::new("{initContainers: [{name: i, image: b:1}], containers: [{name: a, image: b:1}]}");
    sim.started("i");
    let update = with_image(&sim, "i", "b:2");
    sim.feed(update);
    assert!(sim.signals().is_empty(), "it runs to its end");
    sim.exited("i", 0);
    assert_eq!(names(&sim.starts()), ["i", "a"]);
}

#[test]
fn app_restarts_follow_the_restart_policy() {
    for (policy, code, restarted) in [
        ("Always", 0, true),
        ("Always", 1, true),
        ("OnFailure", 0, false),
        ("OnFailure", 1, true),
        ("Never", 0, false),
        ("Never", 1, false),
    ] {
        let mut sim = Sim::new(&format!(
            "{{restartPolicy: {policy}, containers: [{{name: a, image: b:1}}]}}"
        ));
        sim.started("a");
        sim.exited("a", code);
        assert_eq!(sim.starts().len() == 2, restarted, "{policy} exit {code}");
        if !restarted {
            let want = if code == 0 {
                PodPhase::Succeeded
            } else {
                PodPhase::Failed
            };
            assert_eq!(sim.finished(), Some(want), "{policy} exit {code}");
        }
    }
}

#[test]
fn crash_loop_back_off_starts_at_once_then_waits_10_20_40_seconds() {
    let mut sim = Sim::new("{containers: [{name: a, image: b:1}]}");
    for _ in 0..5 {
        sim.started("a");
        sim.wait(1.0);
        sim.exited("a", 1);
        while !sim.pending_start("a") {
            sim.wait(1.0);
        }
    }
    let times = sim.start_times("a");
    let gaps: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]).round()).collect();
    // Each run lasts 1 s; the back-off counts from the exit.
    assert_eq!(gaps, [1.0, 11.0, 21.0, 41.0, 81.0], "{times:?}");
    let waiting = sim.machine.status().container_statuses[0].clone();
    assert_eq!(
        waiting.restart_count, 4,
        "the sixth instance is still starting"
    );
    assert!(!sim.events("BackOff").is_empty());
}

#[test]
fn the_crash_loop_status_says_back_off_with_the_delay() {
    let mut sim = Sim::new("{containers: [{name: a, image: b:1}]}");
    sim.started("a");
    sim.exited("a", 1);
    sim.started("a");
    sim.exited("a", 2);
    let status = sim.machine.status().container_statuses[0].clone();
    let waiting = status.state.waiting.clone().unwrap();
    assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));
    assert_eq!(
        waiting.message.as_deref(),
        Some(
            "back-off 10s restarting failed container=a pod=p_default(00000000-0000-4000-8000-000000000000)"
        )
    );
    assert_eq!(status.last_state.terminated.unwrap().exit_code, 2);
    assert_eq!(status.restart_count, 1);
    assert_eq!(sim.columns().1, "CrashLoopBackOff");
    assert_eq!(sim.last_wake(), Some(sim.now.plus_seconds(10)));
}

#[test]
fn an_image_that_cannot_be_pulled_waits_and_is_retried_with_back_off() {
    let mut sim = Sim::new("{containers: [{name: a, image: b:1}]}");
    let attempt = sim.attempt("a");
    sim.feed(Input::StartFailed {
        container: "a".into(),
        attempt,
        failure: StartFailureStatus::Waiting {
            reason: "ErrImagePull".into(),
            message: "no registry".into(),
        },
    });
    assert_eq!(sim.columns().1, "ErrImagePull");
    assert_eq!(sim.events("Failed"), ["no registry", "Error: ErrImagePull"]);
    assert_eq!(sim.starts().len(), 2, "first retry at once");
    sim.feed(Input::StartFailed {
        container: "a".into(),
        attempt,
        failure: StartFailureStatus::Waiting {
            reason: "ErrImagePull".into(),
            message: "no registry".into(),
        },
    });
    assert_eq!(sim.columns().1, "ImagePullBackOff");
    assert_eq!(sim.phase(), PodPhase::Pending);
    let status = &sim.machine.status().container_statuses[0];
    assert_eq!(status.restart_count, 0);
    assert_eq!(
        status
            .state
            .waiting
            .as_ref()
            .and_then(|w| w.message.as_deref()),
        Some("Back-off pulling image \"b:1\": ErrImagePull: no registry")
    );
    assert_eq!(sim.events("BackOff"), ["Back-off pulling image \"b:1\""]);
    assert_eq!(
        sim.events("Failed").last().map(String::as_str),
        Some("Error: ImagePullBackOff")
    );
    // The back-off over, the pull is tried again, and succeeds.
    let wake = sim.last_wake().expect("a wake-up for the retry");
    sim.now = wake;
    sim.feed(Input::Tick);
    assert_eq!(sim.starts().len(), 3, "{}", sim.dump());
    let attempt = sim.attempt("a");
    sim.feed(Input::ImagePulled {
        container: "a".into(),
        attempt,
        image: "b:1".into(),
        pull: PullDone {
            size: 1065542,
            took: Duration::from_micros(1_234_567),
            waited: Duration::from_millis(1500),
        },
    });
    sim.feed(Input::Started {
        container: "a".into(),
        attempt,
        container_id: "minipod://a-0".into(),
        image_id: "sha256:0".into(),
    });
    assert_eq!(sim.columns().1, "Running");
    assert_eq!(
        sim.events("Pulled"),
        [
            "Successfully pulled image \"b:1\" in 1.234s (1.5s including waiting). \
          Image size: 1065542 bytes."
        ],
        "one Pulled event: the pull's, not `already present`"
    );
}

// -------------------------------------------------------------------- probes

#[test]
fn a_failing_liveness_probe_kills_the_container_after_the_threshold_and_restarts_it() {
    let mut sim = Sim::new(
        "{restartPolicy: Always, terminationGracePeriodSeconds: 30, containers: [{name: a, image: b:1,
            livenessProbe: {exec: {command: ['true']}, periodSeconds: 1, failureThreshold: 2,
                            terminationGracePeriodSeconds: 5},
            lifecycle: {preStop: {exec: {command: ['true']}}}}]}",
    );
    sim.started("a");
    sim.probe("a", ProbeKind::Liveness, false);
    assert!(
        sim.hooks(HookKind::PreStop).is_empty(),
        "one failure is not enough"
    );
    sim.wait(1.0);
    sim.probe("a", ProbeKind::Liveness, false);
    assert_eq!(sim.hooks(HookKind::PreStop).len(), 1, "preStop first");
    assert_eq!(
        sim.events("Killing"),
        ["Container a failed liveness probe, will be restarted"]
    );
    sim.hook_done("a", HookKind::PreStop, None);
    let (_, _, signal) = sim.signals()[0].clone();
    assert_eq!(signal, StopSignal::Stop);
    sim.wait(5.0);
    assert_eq!(
        sim.signals().last().unwrap().2,
        StopSignal::Kill,
        "the probe's own grace (5 s) applies"
    );
    sim.exited("a", 137);
    assert_eq!(sim.starts().len(), 2, "restarted");
    assert_eq!(sim.events("Unhealthy").len(), 2);
}

#[test]
fn a_liveness_kill_under_never_does_not_restart_the_app() {
    let mut sim = Sim::new(
        "{restartPolicy: Never, containers: [{name: a, image: b:1,
            livenessProbe: {exec: {command: ['true']}, failureThreshold: 1}}]}",
    );
    sim.started("a");
    sim.probe("a", ProbeKind::Liveness, false);
    sim.exited("a", 143);
    assert_eq!(sim.starts().len(), 1);
    assert_eq!(sim.finished(), Some(PodPhase::Failed));
}

#[test]
fn a_failing_liveness_probe_restarts_a_sidecar_even_under_never() {
    let mut sim = Sim::new(
        "{restartPolicy: Never,
          initContainers: [{name: s, image: b:1, restartPolicy: Always,
             livenessProbe: {exec: {command: ['true']}, failureThreshold: 1}}],
          containers: [{name: a, image: b:1}]}",
    );
    sim.start_all(&["s", "a"]);
    sim.probe("s", ProbeKind::Liveness, false);
    assert_eq!(sim.signals()[0].1, "s");
    sim.exited("s", 143);
    assert_eq!(sim.starts().last().unwrap(), &("s".into(), 1));
    assert_eq!(sim.machine.status().container_statuses[0].restart_count, 0);
}

#[test]
fn liveness_and_readiness_wait_for_the_startup_probe() {
    let mut sim = Sim::new(
        "{containers: [{name: a, image: b:1,
            startupProbe: {exec: {command: ['true']}, periodSeconds: 1},
            livenessProbe: {exec: {command: ['true']}, periodSeconds: 1},
            readinessProbe: {exec: {command: ['true']}, periodSeconds: 1}}]}",
    );
    sim.started("a");
    sim.probe("a", ProbeKind::Startup, false);
    sim.wait(1.0);
    let probes: Vec<ProbeKind> = sim
        .log
        .iter()
        .filter_map(|(_, a)| match a {
            Action::RunProbe { probe, .. } => Some(*probe),
            _ => None,
        })
        .collect();
    assert_eq!(probes, [ProbeKind::Startup, ProbeKind::Startup]);
    let actions = sim.probe("a", ProbeKind::Startup, true);
    let kinds: Vec<ProbeKind> = actions
        .iter()
        .filter_map(|a| match a {
            Action::RunProbe { probe, .. } => Some(*probe),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, [ProbeKind::Liveness, ProbeKind::Readiness]);
}

#[test]
fn a_failing_readiness_probe_keeps_the_pod_not_ready() {
    let mut sim = Sim::new(
        "{initContainers: [{name: s, image: b:1, restartPolicy: Always}],
          containers: [{name: a, image: b:1,
            readinessProbe: {exec: {command: ['false']}, periodSeconds: 1}}]}",
    );
    sim.start_all(&["s", "a"]);
    sim.probe("a", ProbeKind::Readiness, false);
    assert_eq!(sim.columns().0, "1/2");
    let ready = sim
        .machine
        .status()
        .condition(condition_type::READY)
        .unwrap();
    assert_eq!(ready.status, ConditionStatus::False);
    assert_eq!(sim.phase(), PodPhase::Running);
    assert!(sim.signals().is_empty(), "readiness never kills");
    sim.wait(1.0);
    sim.probe("a", ProbeKind::Readiness, true);
    assert_eq!(sim.columns().0, "2/2");
    let ready = sim
        .machine
        .status()
        .condition(condition_type::READY)
        .unwrap();
    assert_eq!(ready.status, ConditionStatus::True);
}

#[test]
fn a_result_from_an_earlier_instance_is_ignored() {
    let mut sim = Sim::new(
        "{containers: [{name: a, image: b:1,
            livenessProbe: {exec: {command: ['true']}, failureThreshold: 1}}]}",
    );
    sim.started("a");
    sim.exited("a", 1);
    sim.started("a");
    sim.feed(Input::ProbeDone {
        container: "a".into(),
        attempt: 0,
        probe: ProbeKind::Liveness,
        outcome: ProbeOutcome::Failure("old".into()),
    });
    assert!(sim.signals().is_empty());
}

// --------------------------------------------------------------- termination

#[test]
fn termination_stops_the_app_first_then_the_sidecars_in_reverse_order() {
    let mut sim = Sim::new(SIDECARS);
    sim.start_all(&["init"]);
    sim.exited("init", 0);
    sim.start_all(&["sidecar-1", "sidecar-2", "app"]);
    sim.wait(5.0);
    sim.feed(Input::Stop { grace: None });
    let order = |sim: &Sim| -> Vec<String> { sim.signals().into_iter().map(|s| s.1).collect() };
    assert_eq!(order(&sim), ["app"]);
    sim.wait(1.0);
    sim.exited("app", 0);
    assert_eq!(order(&sim), ["app", "sidecar-2"]);
    sim.wait(1.0);
    sim.exited("sidecar-2", 0);
    assert_eq!(order(&sim), ["app", "sidecar-2", "sidecar-1"]);
    sim.exited("sidecar-1", 0);
    assert_eq!(sim.finished(), Some(PodPhase::Succeeded));
    assert_eq!(
        names(&sim.starts()),
        ["init", "sidecar-1", "sidecar-2", "app"]
    );
}

#[test]
fn pre_stop_hooks_of_apps_and_sidecars_all_start_at_once() {
    let hook = "lifecycle: {preStop: {exec: {command: [sleep, '3']}}}";
    let mut sim = Sim::new(&format!(
        "{{initContainers: [{{name: s, image: b:1, restartPolicy: Always, {hook}}}],
          containers: [{{name: a, image: b:1, {hook}}}]}}"
    ));
    sim.start_all(&["s", "a"]);
    sim.feed(Input::Stop { grace: None });
    let mut hooks = sim.hooks(HookKind::PreStop);
    hooks.sort_by(|x, y| x.1.cmp(&y.1));
    assert_eq!(hooks, [(0.0, "a".into()), (0.0, "s".into())]);
    assert!(sim.signals().is_empty(), "signals wait for the hooks");
    sim.wait(3.0);
    sim.hook_done("a", HookKind::PreStop, None);
    sim.hook_done("s", HookKind::PreStop, None);
    assert_eq!(sim.signals().len(), 1, "the app now; the sidecar after it");
    sim.exited("a", 0);
    assert_eq!(sim.signals()[1].1, "s");
}

#[test]
fn a_container_ignoring_its_stop_signal_is_killed_at_the_end_of_the_grace() {
    let mut sim =
        Sim::new("{terminationGracePeriodSeconds: 3, containers: [{name: a, image: b:1}]}");
    sim.started("a");
    sim.feed(Input::Stop { grace: None });
    assert_eq!(sim.last_wake(), Some(sim.now.plus_seconds(3)));
    sim.wait(2.9);
    assert_eq!(sim.signals().len(), 1);
    sim.wait(0.1);
    let signals = sim.signals();
    assert_eq!(signals[1].2, StopSignal::Kill);
    assert!((signals[1].0 - signals[0].0 - 3.0).abs() < 1e-6);
    sim.exited("a", 137);
    assert_eq!(sim.finished(), Some(PodPhase::Failed));
}

#[test]
fn a_sidecar_that_waited_out_the_grace_still_gets_two_seconds() {
    let mut sim = Sim::new(
        "{terminationGracePeriodSeconds: 5,
          initContainers: [{name: s, image: b:1, restartPolicy: Always}],
          containers: [{name: a, image: b:1}]}",
    );
    sim.start_all(&["s", "a"]);
    sim.feed(Input::Stop { grace: None });
    sim.wait(5.0);
    // The app ignores SIGTERM: SIGKILL at 5 s, and the sidecar's wait is
    // over at the same moment, leaving it the minimum of 2 s.
    let at5: Vec<_> = sim.signals();
    assert_eq!(at5.len(), 3, "{}", sim.dump());
    assert!(at5.iter().all(|s| s.0 == 5.0 || s.1 == "a"));
    assert!(at5.contains(&(5.0, "a".into(), StopSignal::Kill)));
    assert!(at5.contains(&(5.0, "s".into(), StopSignal::Stop)));
    sim.exited("a", 137);
    sim.wait(2.0);
    assert_eq!(sim.signals().last().unwrap().2, StopSignal::Kill);
    assert!((sim.signals().last().unwrap().0 - 7.0).abs() < 1e-6);
}

#[test]
fn a_delete_grace_replaces_the_pods() {
    let mut sim =
        Sim::new("{terminationGracePeriodSeconds: 30, containers: [{name: a, image: b:1}]}");
    sim.started("a");
    sim.feed(Input::Stop { grace: Some(4) });
    assert_eq!(sim.machine.deletion(), Some((sim.now, 4)));
    sim.wait(4.0);
    assert_eq!(sim.signals().last().unwrap().2, StopSignal::Kill);
}

#[test]
fn nothing_restarts_while_the_pod_terminates() {
    let mut sim = Sim::new(
        "{restartPolicy: Always, initContainers: [{name: s, image: b:1, restartPolicy: Always}],
          containers: [{name: a, image: b:1}]}",
    );
    sim.start_all(&["s", "a"]);
    sim.feed(Input::Stop { grace: None });
    sim.exited("a", 0);
    sim.exited("s", 1);
    assert_eq!(sim.starts().len(), 2);
    assert_eq!(sim.finished(), Some(PodPhase::Succeeded));
}

#[test]
fn a_second_stop_kills_everything_at_once() {
    let mut sim = Sim::new(
        "{initContainers: [{name: s, image: b:1, restartPolicy: Always}],
          containers: [{name: a, image: b:1}]}",
    );
    sim.start_all(&["s", "a"]);
    sim.feed(Input::Stop { grace: None });
    sim.feed(Input::KillNow);
    let kills: Vec<String> = sim
        .signals()
        .into_iter()
        .filter(|s| s.2 == StopSignal::Kill)
        .map(|s| s.1)
        .collect();
    assert_eq!(kills, ["s", "a"]);
}

#[test]
fn a_container_that_starts_during_termination_is_stopped_too() {
    let mut sim = Sim::new("{containers: [{name: a, image: b:1}]}");
    assert!(sim.pending_start("a"));
    sim.feed(Input::Stop { grace: None });
    sim.started("a");
    assert_eq!(sim.signals()[0].1, "a");
}

// ---------------------------------------------------------------- completion

#[test]
fn a_job_with_sidecars_succeeds_when_its_apps_exit_zero_whatever_the_sidecars_do() {
    let mut sim = Sim::new(SIDECARS);
    sim.start_all(&["init"]);
    sim.exited("init", 0);
    sim.start_all(&["sidecar-1", "sidecar-2", "app"]);
    sim.wait(1.0);
    sim.exited("app", 0);
    assert_eq!(sim.machine.stop_cause(), Some(StopCause::Completed));
    assert_eq!(sim.signals()[0].1, "sidecar-2", "the last sidecar first");
    assert_eq!(sim.columns().1, "Completed");
    sim.wait(5.0);
    sim.exited("sidecar-2", 137);
    assert_eq!(sim.signals().last().unwrap().1, "sidecar-1");
    sim.exited("sidecar-1", 1);
    assert_eq!(sim.finished(), Some(PodPhase::Succeeded));
    let ready = sim
        .machine
        .status()
        .condition(condition_type::READY)
        .unwrap();
    assert_eq!(ready.reason.as_deref(), Some("PodCompleted"));
}

#[test]
fn on_failure_with_every_app_exiting_zero_completes_the_pod() {
    let mut sim = Sim::new(
        "{restartPolicy: OnFailure, containers: [{name: a1, image: b:1}, {name: a2, image: b:1}]}",
    );
    sim.start_all(&["a1", "a2"]);
    sim.exited("a1", 0);
    assert!(sim.finished().is_none(), "a2 still runs");
    sim.exited("a2", 3);
    assert_eq!(
        sim.starts().last().unwrap(),
        &("a2".into(), 1),
        "a2 failed: restarted"
    );
    sim.started("a2");
    sim.exited("a2", 0);
    assert_eq!(sim.finished(), Some(PodPhase::Succeeded));
}

#[test]
fn events_tell_the_story_in_kubernetes_words() {
    let mut sim = Sim::new("{containers: [{name: a, image: 'busybox:1.36'}]}");
    sim.started("a");
    assert_eq!(
        sim.events("Pulled"),
        ["Container image \"busybox:1.36\" already present on machine"]
    );
    assert_eq!(sim.events("Created"), ["Created container: a"]);
    assert_eq!(sim.events("Started"), ["Started container a"]);
    sim.feed(Input::Stop { grace: None });
    assert_eq!(sim.events("Killing"), ["Stopping container a"]);
}
