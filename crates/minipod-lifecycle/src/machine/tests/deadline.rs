//! `activeDeadlineSeconds` (§4.16): counted from `startTime`, it fails the
//! pod with `DeadlineExceeded` and stops it through the usual termination.

use super::*;
use crate::machine::{DEADLINE_EXCEEDED_MESSAGE, DEADLINE_EXCEEDED_REASON};

const MESSAGE: &str = "Pod was active on the node longer than the specified deadline";

fn app(deadline: i64, extra: &str) -> String {
    format!(
        "{{activeDeadlineSeconds: {deadline}, terminationGracePeriodSeconds: 30, {extra}
          containers: [{{name: a, image: b:1}}]}}"
    )
}

fn deadline_events(sim: &Sim) -> Vec<(String, &'static str)> {
    sim.log
        .iter()
        .filter_map(|(_, a)| match a {
            Action::Event(e) if e.reason == "DeadlineExceeded" => {
                assert_eq!((e.container.as_ref(), e.field_path.as_ref()), (None, None));
                Some((e.message.clone(), e.event_type))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn the_kubelets_words() {
    assert_eq!(DEADLINE_EXCEEDED_REASON, "DeadlineExceeded");
    assert_eq!(DEADLINE_EXCEEDED_MESSAGE, MESSAGE);
}

#[test]
fn nothing_happens_before_the_deadline_and_the_machine_wakes_at_it() {
    let mut sim = Sim::new(&app(10, ""));
    sim.start_all(&["a"]);
    assert_eq!(sim.last_wake(), Some(Timestamp::from_unix_seconds(T0 + 10)));
    sim.wait(9.999);
    assert!(deadline_events(&sim).is_empty());
    assert!(sim.signals().is_empty());
    assert!(!sim.machine.is_terminating());
    assert_eq!(sim.phase(), PodPhase::Running);
    assert_eq!(sim.machine.status().reason, None);
}

#[test]
fn at_the_deadline_the_pod_fails_and_its_containers_are_stopped_with_the_pods_grace() {
    let mut sim = Sim::new(&app(10, ""));
    sim.start_all(&["a"]);
    sim.wait(10.0);
    assert_eq!(deadline_events(&sim), [(MESSAGE.to_owned(), "Normal")]);
    assert_eq!(sim.machine.stop_cause(), Some(StopCause::DeadlineExceeded));
    assert!(sim.machine.deadline_exceeded());
    let status = sim.machine.status();
    assert_eq!(status.phase, Some(PodPhase::Failed));
    assert_eq!(status.reason.as_deref(), Some("DeadlineExceeded"));
    assert_eq!(status.message.as_deref(), Some(MESSAGE));
    assert_eq!(sim.columns().1, "DeadlineExceeded");
    // Not a deletion: no deletionTimestamp, so kubectl never shows Terminating.
    assert_eq!(sim.machine.deletion(), None);
    assert_eq!(sim.signals(), [(10.0, "a".into(), StopSignal::Stop)]);
    // The pod's own grace (30 s) before SIGKILL.
    sim.wait(29.0);
    assert_eq!(sim.signals().len(), 1);
    sim.wait(1.0);
    assert_eq!(sim.signals()[1], (40.0, "a".into(), StopSignal::Kill));
    sim.exited("a", 137);
    assert_eq!(sim.finished(), Some(PodPhase::Failed));
    assert_eq!(
        deadline_events(&sim).len(),
        1,
        "one event, not one per sync"
    );
    assert_eq!(
        sim.machine.status().reason.as_deref(),
        Some("DeadlineExceeded")
    );
}

#[test]
fn a_container_exiting_zero_after_the_deadline_does_not_make_the_pod_succeed() {
    let mut sim = Sim::new(&app(5, "restartPolicy: Never,"));
    sim.start_all(&["a"]);
    sim.wait(5.0);
    sim.exited("a", 0);
    assert_eq!(sim.finished(), Some(PodPhase::Failed));
}

#[test]
fn a_pre_stop_hook_runs_as_in_any_stop() {
    let mut sim = Sim::new(
        "{activeDeadlineSeconds: 3, containers: [{name: a, image: b:1,
           lifecycle: {preStop: {exec: {command: [sleep, '1']}}}}]}",
    );
    sim.start_all(&["a"]);
    sim.wait(3.0);
    assert_eq!(sim.hooks(HookKind::PreStop), [(3.0, "a".into())]);
}

#[test]
fn the_deadline_counts_from_start_time_while_init_containers_still_run() {
    let mut sim = Sim::new(&app(
        4,
        "initContainers: [{name: init, image: b:1}, {name: never, image: b:1}],",
    ));
    sim.start_all(&["init"]);
    sim.wait(4.0);
    assert_eq!(sim.signals(), [(4.0, "init".into(), StopSignal::Stop)]);
    sim.exited("init", 0);
    assert_eq!(names(&sim.starts()), ["init"], "nothing more starts");
    assert_eq!(sim.finished(), Some(PodPhase::Failed));
    assert_eq!(
        sim.machine.status().reason.as_deref(),
        Some("DeadlineExceeded")
    );
    // kubectl's printer lets an unfinished init container override the
    // pod's reason, as it does on a cluster.
    assert_eq!(sim.columns().1, "Init:1/2");
}

#[test]
fn restarts_under_restart_policy_always_do_not_move_the_deadline() {
    let mut sim = Sim::new(&app(60, "restartPolicy: Always,"));
    sim.start_all(&["a"]);
    sim.wait(20.0);
    sim.exited("a", 1);
    sim.wait(10.0);
    sim.start_all(&["a"]);
    assert_eq!(sim.attempt("a"), 1);
    assert_eq!(sim.last_wake(), Some(Timestamp::from_unix_seconds(T0 + 60)));
    sim.wait(29.0);
    assert!(!sim.machine.is_terminating());
    sim.wait(1.0);
    assert_eq!(sim.machine.stop_cause(), Some(StopCause::DeadlineExceeded));
    sim.exited("a", 143);
    assert_eq!(sim.starts().len(), 2, "no restart after the deadline");
    assert_eq!(sim.finished(), Some(PodPhase::Failed));
}

#[test]
fn a_pod_still_waiting_for_its_sandbox_fails_at_the_deadline() {
    let mut sim = Sim::without_sandbox(&app(2, ""));
    sim.feed(Input::SandboxFailed {
        reason: SandboxFailure::CreatePodSandbox,
        error: "boom".into(),
    });
    sim.wait(2.0);
    sim.wait(0.1);
    if !sim.machine.is_finished() {
        // A creation still on its way ends the pod once it is answered.
        sim.feed(Input::SandboxFailed {
            reason: SandboxFailure::CreatePodSandbox,
            error: "boom".into(),
        });
    }
    assert_eq!(sim.finished(), Some(PodPhase::Failed));
    assert_eq!(deadline_events(&sim).len(), 1);
    assert!(sim.starts().is_empty());
}

#[test]
fn a_pod_already_stopping_keeps_its_stop_but_fails_with_the_deadlines_reason() {
    let mut sim = Sim::new(&app(10, ""));
    sim.start_all(&["a"]);
    sim.wait(5.0);
    sim.feed(Input::Stop { grace: Some(20) });
    assert_eq!(sim.signals(), [(5.0, "a".into(), StopSignal::Stop)]);
    sim.wait(5.0);
    assert_eq!(deadline_events(&sim).len(), 1);
    assert_eq!(sim.machine.stop_cause(), Some(StopCause::Requested));
    assert_eq!(sim.signals().len(), 1, "no second stop signal");
    // The deletion's 20 s grace still decides the SIGKILL.
    sim.wait(14.9);
    assert_eq!(sim.signals().len(), 1);
    sim.wait(0.1);
    assert_eq!(sim.signals()[1].2, StopSignal::Kill);
    sim.exited("a", 137);
    assert_eq!(sim.finished(), Some(PodPhase::Failed));
    assert_eq!(
        sim.machine.status().reason.as_deref(),
        Some("DeadlineExceeded")
    );
}

#[test]
fn a_pod_that_already_succeeded_keeps_its_phase() {
    let mut sim = Sim::new(&app(10, "restartPolicy: Never,"));
    sim.start_all(&["a"]);
    sim.wait(1.0);
    sim.exited("a", 0);
    assert_eq!(sim.finished(), Some(PodPhase::Succeeded));
    sim.wait(20.0);
    assert!(deadline_events(&sim).is_empty());
    assert_eq!(sim.phase(), PodPhase::Succeeded);
}

#[test]
fn a_lowered_deadline_applies_at_once() {
    let mut sim = Sim::new(&app(100, ""));
    sim.start_all(&["a"]);
    sim.wait(30.0);
    let mut spec = sim.machine.spec().clone();
    spec.active_deadline_seconds = Some(20);
    sim.feed(Input::SpecUpdated(Box::new(spec)));
    assert_eq!(deadline_events(&sim).len(), 1);
    assert_eq!(sim.machine.stop_cause(), Some(StopCause::DeadlineExceeded));
}
