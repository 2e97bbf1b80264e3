//! Init progression: init containers, sidecars, postStart (§4.2).

use super::*;

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
