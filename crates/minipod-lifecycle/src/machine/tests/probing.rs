//! Probes: startup, liveness, readiness (§4.5).

use super::*;

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
