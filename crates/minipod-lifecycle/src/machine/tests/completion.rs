//! The pod's end (§4.6) and the events that tell its story.

use super::*;

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
