//! The sandbox first, and its failures retried with the pod worker's
//! back-off (§4.12).

use std::net::IpAddr;

use minipod_plan::addresses::PodAddresses;

use super::*;
use crate::status::condition_type::POD_READY_TO_START_CONTAINERS;
use crate::status::reasons::{CONTAINER_CREATING, POD_INITIALIZING};

const APP: &str = "{containers: [{name: app, image: b:1}]}";

/// A CNI plugin's error, as the runtime would word it.
const CNI_ERROR: &str = "plugin type=\"bridge\" failed (add): failed to set bridge addr";

fn fail(sim: &mut Sim, reason: SandboxFailure, error: &str) -> Vec<Action> {
    sim.feed(Input::SandboxFailed {
        reason,
        error: error.into(),
    })
}

fn create_requests(sim: &Sim) -> Vec<f64> {
    sim.log
        .iter()
        .filter(|(_, a)| *a == Action::CreateSandbox)
        .map(|(at, _)| *at)
        .collect()
}

fn waiting_reason(sim: &Sim, name: &str) -> Option<String> {
    let status = sim.machine.status();
    let c = status.container_status(name).expect("a status");
    c.state.waiting.as_ref().and_then(|w| w.reason.clone())
}

/// The `PodReadyToStartContainers` condition.
fn sandbox_condition(sim: &Sim) -> Option<ConditionStatus> {
    let status = sim.machine.status();
    status
        .condition(POD_READY_TO_START_CONTAINERS)
        .map(|c| c.status)
}

/// Seconds from now to the machine's last wake-up.
fn wake_in(sim: &Sim) -> f64 {
    let at = sim.last_wake().expect("a wake-up");
    at.nanos_since(sim.now) as f64 / 1e9
}

#[test]
fn the_sandbox_comes_first_and_nothing_starts_before_it() {
    let mut sim = Sim::without_sandbox(SIDECARS);
    assert_eq!(create_requests(&sim), [0.0]);
    assert!(sim.starts().is_empty());
    assert!(!sim.machine.has_sandbox());
    // Time passing changes nothing while the creation is under way.
    sim.wait(30.0);
    assert_eq!(create_requests(&sim), [0.0], "asked once");
    assert!(sim.starts().is_empty());
    let ip: IpAddr = "10.88.0.7".parse().unwrap();
    sim.feed(Input::SandboxCreated {
        addresses: PodAddresses::new(&[], &[ip]),
    });
    assert!(sim.machine.has_sandbox());
    assert_eq!(names(&sim.starts()), ["init"]);
}

#[test]
fn a_failed_sandbox_is_a_warning_event_and_the_pod_stays_container_creating() {
    let mut sim = Sim::without_sandbox(APP);
    let actions = fail(&mut sim, SandboxFailure::CreatePodSandbox, CNI_ERROR);
    let event = actions
        .iter()
        .find_map(|a| match a {
            Action::Event(e) => Some(e.clone()),
            _ => None,
        })
        .expect("an event");
    assert_eq!(
        event,
        PodEvent {
            event_type: "Warning",
            reason: "FailedCreatePodSandBox",
            message: format!("Failed to create pod sandbox: {CNI_ERROR}"),
            container: None,
            field_path: None,
        }
    );
    assert_eq!(sim.phase(), PodPhase::Pending);
    assert_eq!(
        waiting_reason(&sim, "app").as_deref(),
        Some(CONTAINER_CREATING)
    );
    assert_eq!(sim.columns().1, "ContainerCreating");
    assert_eq!(sandbox_condition(&sim), Some(ConditionStatus::False));
    assert_eq!(sim.finished(), None, "never failed for it");
    assert!(sim.starts().is_empty());
    // The pod worker's back-off: 10 s, plus up to half of it.
    let wait = wake_in(&sim);
    assert!((10.0..15.0).contains(&wait), "retry in {wait} s");
}

#[test]
fn the_retry_comes_at_the_back_off_and_a_success_starts_the_containers() {
    let mut sim = Sim::without_sandbox(APP);
    fail(&mut sim, SandboxFailure::CreatePodSandbox, CNI_ERROR);
    let wait = wake_in(&sim);
    sim.wait(wait - 0.001);
    assert_eq!(create_requests(&sim).len(), 1, "not before the back-off");
    sim.wait(0.001);
    assert_eq!(create_requests(&sim).len(), 2, "{}", sim.dump());
    let ip: IpAddr = "10.88.0.9".parse().unwrap();
    sim.feed(Input::SandboxCreated {
        addresses: PodAddresses::new(&[], &[ip]),
    });
    assert_eq!(sim.machine.status().pod_ip.as_deref(), Some("10.88.0.9"));
    assert_eq!(sandbox_condition(&sim), Some(ConditionStatus::True));
    sim.start_all(&["app"]);
    assert_eq!(sim.phase(), PodPhase::Running);
    assert_eq!(sim.events("FailedCreatePodSandBox").len(), 1);
    // The pod's end takes its sandbox away.
    sim.feed(Input::Stop { grace: None });
    sim.exited("app", 0);
    assert!(sim.finished().is_some());
    assert_eq!(sandbox_condition(&sim), Some(ConditionStatus::False));
}

#[test]
fn each_failure_is_an_event_and_the_back_off_does_not_grow() {
    let mut sim = Sim::without_sandbox(APP);
    let mut waits = Vec::new();
    for _ in 0..5 {
        fail(&mut sim, SandboxFailure::CreatePodSandbox, CNI_ERROR);
        let wait = wake_in(&sim);
        waits.push(wait);
        sim.wait(wait);
    }
    assert_eq!(sim.events("FailedCreatePodSandBox").len(), 5);
    assert_eq!(create_requests(&sim).len(), 6);
    assert!(
        waits.iter().all(|w| (10.0..15.0).contains(w)),
        "{waits:?}: the pod worker's back-off is a fixed period with jitter"
    );
    assert!(
        waits.windows(2).any(|w| w[0] != w[1]),
        "{waits:?}: jittered"
    );
    assert_eq!(sim.phase(), PodPhase::Pending);
}

#[test]
fn a_volume_failure_is_failed_mount_and_init_containers_show_pod_initializing() {
    let mut sim = Sim::without_sandbox(SIDECARS);
    let error = "MountVolume.SetUp failed for volume \"host\" : hostPath type check failed: \
                 /srv/x is not a directory";
    fail(&mut sim, SandboxFailure::Mount, error);
    assert_eq!(sim.events("FailedMount"), [error]);
    for name in ["init", "sidecar-1", "sidecar-2", "app"] {
        assert_eq!(
            waiting_reason(&sim, name).as_deref(),
            Some(POD_INITIALIZING),
            "{name}"
        );
    }
    assert_eq!(sim.columns().1, "Init:0/3");
}

#[test]
fn the_node_back_off_setting_is_the_retry_period() {
    let mut sim = Sim::without_sandbox(APP);
    sim.machine.config.backoff.initial = Duration::from_millis(500);
    fail(&mut sim, SandboxFailure::CreatePodSandbox, CNI_ERROR);
    let wait = wake_in(&sim);
    assert!((0.5..0.75).contains(&wait), "retry in {wait} s");
}

#[test]
fn a_stop_while_the_sandbox_is_missing_ends_the_pod_at_once() {
    let mut sim = Sim::without_sandbox(APP);
    fail(&mut sim, SandboxFailure::CreatePodSandbox, CNI_ERROR);
    sim.wait(1.0);
    sim.feed(Input::Stop { grace: None });
    assert_eq!(sim.finished(), Some(PodPhase::Failed));
    assert!(sim.starts().is_empty());
    assert!(sim.signals().is_empty(), "nothing to kill");
    assert!(sim.events("Killing").is_empty());
    // No retry after the end.
    sim.wait(60.0);
    assert_eq!(create_requests(&sim).len(), 1);
}

#[test]
fn a_stop_during_the_creation_waits_for_its_outcome() {
    let mut sim = Sim::without_sandbox(APP);
    sim.feed(Input::Stop { grace: None });
    assert_eq!(sim.finished(), None, "the sandbox may still come back");
    // A failure after the delete: no event (the kubelet returns quietly).
    fail(&mut sim, SandboxFailure::CreatePodSandbox, CNI_ERROR);
    assert_eq!(sim.finished(), Some(PodPhase::Failed));
    assert!(sim.events("FailedCreatePodSandBox").is_empty());

    let mut sim = Sim::without_sandbox(APP);
    sim.feed(Input::Stop { grace: None });
    sim.feed(Input::SandboxCreated {
        addresses: PodAddresses::new(&[], &[]),
    });
    assert_eq!(sim.finished(), Some(PodPhase::Failed));
    assert!(
        sim.starts().is_empty(),
        "no container starts in a deleted pod"
    );
}

#[test]
fn a_stale_sandbox_answer_is_ignored() {
    let mut sim = Sim::new(APP);
    sim.start_all(&["app"]);
    fail(&mut sim, SandboxFailure::CreatePodSandbox, CNI_ERROR);
    assert!(sim.events("FailedCreatePodSandBox").is_empty());
    assert!(sim.machine.has_sandbox());
    assert_eq!(sim.phase(), PodPhase::Running);
}
