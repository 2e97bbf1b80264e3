//! The pod's termination and each container's stop (§4.7).

use super::*;

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
