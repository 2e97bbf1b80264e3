//! Restarts by policy, restarts for a new image, CrashLoopBackOff and ImagePullBackOff (§4.1, §4.9).

use super::*;

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
