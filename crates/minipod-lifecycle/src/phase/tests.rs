use super::*;
use crate::fixtures::{StatusExt, spec, st};
use crate::status::ContainerStatus;

const ONE_INIT: &str =
    "{initContainers: [{name: init, image: x}], containers: [{name: app, image: x}]";
const ONE_SIDECAR: &str = "{initContainers: [{name: side, image: x, restartPolicy: Always}], containers: [{name: app, image: x}]";
const TWO_APPS: &str = "{containers: [{name: a, image: x}, {name: b, image: x}]";

fn pod(base: &str, policy: &str) -> PodSpec {
    if policy.is_empty() {
        spec(&format!("{base}}}"))
    } else {
        spec(&format!("{base}, restartPolicy: {policy}}}"))
    }
}

fn status(init: Vec<ContainerStatus>, apps: Vec<ContainerStatus>) -> PodStatus {
    PodStatus {
        init_container_statuses: init,
        container_statuses: apps,
        ..PodStatus::default()
    }
}

const FRESH: PhaseContext = PhaseContext {
    pod_is_terminal: false,
    pod_has_initialized: false,
};
const INITIALIZED: PhaseContext = PhaseContext {
    pod_is_terminal: false,
    pod_has_initialized: true,
};
const TERMINAL: PhaseContext = PhaseContext {
    pod_is_terminal: true,
    pod_has_initialized: true,
};

struct Case {
    name: &'static str,
    spec: PodSpec,
    status: PodStatus,
    context: PhaseContext,
    want: PodPhase,
}

fn check(cases: Vec<Case>) {
    for c in cases {
        assert_eq!(
            pod_phase(&c.spec, &c.status, c.context),
            c.want,
            "{}",
            c.name
        );
    }
}

#[test]
fn regular_init_containers() {
    use PodPhase::*;
    let app_waiting = || vec![st("app").waiting("PodInitializing")];
    check(vec![
        Case {
            name: "failed init under Never fails the pod",
            spec: pod(ONE_INIT, "Never"),
            status: status(vec![st("init").exited(1, "Error")], app_waiting()),
            context: FRESH,
            want: Failed,
        },
        Case {
            name: "init in back-off after a failure under Never fails the pod",
            spec: pod(ONE_INIT, "Never"),
            status: status(
                vec![st("init").waiting("CrashLoopBackOff").last_exited(1, 5)],
                app_waiting(),
            ),
            context: FRESH,
            want: Failed,
        },
        Case {
            name: "failed init under OnFailure is retried: Pending",
            spec: pod(ONE_INIT, "OnFailure"),
            status: status(vec![st("init").exited(1, "Error")], app_waiting()),
            context: FRESH,
            want: Pending,
        },
        Case {
            name: "failed init under Always is retried: Pending",
            spec: pod(ONE_INIT, ""),
            status: status(
                vec![st("init").waiting("CrashLoopBackOff").last_exited(2, 5)],
                app_waiting(),
            ),
            context: FRESH,
            want: Pending,
        },
        Case {
            name: "init without a status is pending",
            spec: pod(ONE_INIT, ""),
            status: status(vec![], vec![]),
            context: FRESH,
            want: Pending,
        },
        Case {
            name: "running init is pending",
            spec: pod(ONE_INIT, "Never"),
            status: status(vec![st("init").running()], app_waiting()),
            context: FRESH,
            want: Pending,
        },
        Case {
            name: "init waiting to be created is pending",
            spec: pod(ONE_INIT, ""),
            status: status(vec![st("init").waiting("PodInitializing")], app_waiting()),
            context: FRESH,
            want: Pending,
        },
        Case {
            name: "init with an unknown state is pending",
            spec: pod(ONE_INIT, ""),
            status: status(vec![st("init")], app_waiting()),
            context: FRESH,
            want: Pending,
        },
        Case {
            name: "completed init and a running app: Running",
            spec: pod(ONE_INIT, ""),
            status: status(
                vec![st("init").exited(0, "Completed")],
                vec![st("app").running()],
            ),
            context: INITIALIZED,
            want: Running,
        },
        Case {
            name: "init waiting after a successful run is neither pending nor failed",
            spec: pod(ONE_INIT, "Never"),
            status: status(
                vec![st("init").waiting("PodInitializing").last_exited(0, 5)],
                vec![st("app").running()],
            ),
            context: INITIALIZED,
            want: Running,
        },
    ]);
}

#[test]
fn sidecars() {
    use PodPhase::*;
    check(vec![
        Case {
            name: "sidecar without a status is unknown: Pending even with the app running",
            spec: pod(ONE_SIDECAR, ""),
            status: status(vec![], vec![st("app").running()]),
            context: INITIALIZED,
            want: Pending,
        },
        Case {
            name: "sidecar running but not started keeps a fresh pod Pending",
            spec: pod(ONE_SIDECAR, ""),
            status: status(
                vec![st("side").running().started(false)],
                vec![st("app").waiting("PodInitializing")],
            ),
            context: FRESH,
            want: Pending,
        },
        Case {
            name: "sidecar restarting (not started) after initialization keeps the pod Running",
            spec: pod(ONE_SIDECAR, ""),
            status: status(
                vec![st("side").running().started(false).restarts(1)],
                vec![st("app").running()],
            ),
            context: INITIALIZED,
            want: Running,
        },
        Case {
            name: "started sidecar with the app still waiting: Pending",
            spec: pod(ONE_SIDECAR, ""),
            status: status(
                vec![st("side").running().started(true)],
                vec![st("app").waiting("ContainerCreating")],
            ),
            context: FRESH,
            want: Pending,
        },
        Case {
            name: "sidecar in back-off after initialization is ignored: Running",
            spec: pod(ONE_SIDECAR, ""),
            status: status(
                vec![st("side").waiting("CrashLoopBackOff").last_exited(1, 5)],
                vec![st("app").running()],
            ),
            context: INITIALIZED,
            want: Running,
        },
        Case {
            name: "terminated sidecar is ignored: Running",
            spec: pod(ONE_SIDECAR, ""),
            status: status(
                vec![st("side").exited(1, "Error")],
                vec![st("app").running()],
            ),
            context: INITIALIZED,
            want: Running,
        },
        Case {
            name: "sidecar waiting to be created counts as waiting even after initialization",
            spec: pod(ONE_SIDECAR, ""),
            status: status(
                vec![st("side").waiting("ContainerCreating")],
                vec![st("app").running()],
            ),
            context: INITIALIZED,
            want: Pending,
        },
        Case {
            name: "sidecar with an unknown state: Pending",
            spec: pod(ONE_SIDECAR, ""),
            status: status(vec![st("side")], vec![st("app").running()]),
            context: INITIALIZED,
            want: Pending,
        },
        Case {
            name: "Job pod: app done, sidecar still running: Running",
            spec: pod(ONE_SIDECAR, "Never"),
            status: status(
                vec![st("side").running().started(true)],
                vec![st("app").exited(0, "Completed")],
            ),
            context: INITIALIZED,
            want: Running,
        },
        Case {
            name: "Job pod: app succeeded and sidecar stopped by termination: Succeeded",
            spec: pod(ONE_SIDECAR, "Never"),
            status: status(
                vec![st("side").exited(143, "Error")],
                vec![st("app").exited(0, "Completed")],
            ),
            context: TERMINAL,
            want: Succeeded,
        },
        Case {
            name: "a failed sidecar never fails the pod",
            spec: pod(ONE_SIDECAR, "Never"),
            status: status(
                vec![st("side").exited(1, "Error")],
                vec![st("app").exited(0, "Completed")],
            ),
            context: INITIALIZED,
            want: Succeeded,
        },
        Case {
            name: "a sidecar failure is not an init failure under Never",
            spec: pod(ONE_SIDECAR, "Never"),
            status: status(
                vec![st("side").waiting("CrashLoopBackOff").last_exited(1, 5)],
                vec![st("app").waiting("PodInitializing")],
            ),
            context: FRESH,
            want: Pending,
        },
    ]);
}

#[test]
fn app_containers() {
    use PodPhase::*;
    let two = |a: ContainerStatus, b: ContainerStatus| status(vec![], vec![a, b]);
    check(vec![
        Case {
            name: "no statuses yet: Pending",
            spec: pod(TWO_APPS, ""),
            status: status(vec![], vec![]),
            context: FRESH,
            want: Pending,
        },
        Case {
            name: "one app without a status: Pending",
            spec: pod(TWO_APPS, ""),
            status: status(vec![], vec![st("a").running()]),
            context: FRESH,
            want: Pending,
        },
        Case {
            name: "one app with an unknown state: Pending",
            spec: pod(TWO_APPS, ""),
            status: two(st("a").running(), st("b")),
            context: FRESH,
            want: Pending,
        },
        Case {
            name: "one app waiting to be created: Pending",
            spec: pod(TWO_APPS, ""),
            status: two(st("a").running(), st("b").waiting("ContainerCreating")),
            context: FRESH,
            want: Pending,
        },
        Case {
            name: "all running: Running",
            spec: pod(TWO_APPS, ""),
            status: two(st("a").running(), st("b").running()),
            context: INITIALIZED,
            want: Running,
        },
        Case {
            name: "one running, one exited: Running",
            spec: pod(TWO_APPS, "Never"),
            status: two(st("a").running(), st("b").exited(1, "Error")),
            context: INITIALIZED,
            want: Running,
        },
        Case {
            name: "crash-looping app is stopped, not waiting: Running under Always",
            spec: pod(TWO_APPS, ""),
            status: two(
                st("a").waiting("CrashLoopBackOff").last_exited(1, 5),
                st("b").exited(0, "Completed"),
            ),
            context: INITIALIZED,
            want: Running,
        },
        Case {
            name: "all exited 0 under Always: Running (restarting)",
            spec: pod(TWO_APPS, "Always"),
            status: two(
                st("a").exited(0, "Completed"),
                st("b").exited(0, "Completed"),
            ),
            context: INITIALIZED,
            want: Running,
        },
        Case {
            name: "all exited 0 under OnFailure: Succeeded",
            spec: pod(TWO_APPS, "OnFailure"),
            status: two(
                st("a").exited(0, "Completed"),
                st("b").exited(0, "Completed"),
            ),
            context: INITIALIZED,
            want: Succeeded,
        },
        Case {
            name: "all exited 0 under Never: Succeeded",
            spec: pod(TWO_APPS, "Never"),
            status: two(
                st("a").exited(0, "Completed"),
                st("b").exited(0, "Completed"),
            ),
            context: INITIALIZED,
            want: Succeeded,
        },
        Case {
            name: "one failure under Never: Failed",
            spec: pod(TWO_APPS, "Never"),
            status: two(st("a").exited(0, "Completed"), st("b").exited(2, "Error")),
            context: INITIALIZED,
            want: Failed,
        },
        Case {
            name: "one failure under OnFailure: Running (restarting)",
            spec: pod(TWO_APPS, "OnFailure"),
            status: two(st("a").exited(0, "Completed"), st("b").exited(2, "Error")),
            context: INITIALIZED,
            want: Running,
        },
        Case {
            name: "terminal pod, all succeeded: Succeeded even under Always",
            spec: pod(TWO_APPS, "Always"),
            status: two(
                st("a").exited(0, "Completed"),
                st("b").exited(0, "Completed"),
            ),
            context: TERMINAL,
            want: Succeeded,
        },
        Case {
            name: "terminal pod with a failure: Failed even under Always",
            spec: pod(TWO_APPS, "Always"),
            status: two(st("a").exited(0, "Completed"), st("b").exited(137, "Error")),
            context: TERMINAL,
            want: Failed,
        },
        Case {
            name: "terminal pod still running a container: Running",
            spec: pod(TWO_APPS, "Always"),
            status: two(st("a").running(), st("b").exited(137, "Error")),
            context: TERMINAL,
            want: Running,
        },
    ]);
}

#[test]
fn terminal_phases_are_final() {
    use PodPhase::*;
    assert_eq!(keep_terminal(Some(Succeeded), Running), Succeeded);
    assert_eq!(keep_terminal(Some(Failed), Pending), Failed);
    assert_eq!(keep_terminal(Some(Running), Failed), Failed);
    assert_eq!(keep_terminal(Some(Pending), Running), Running);
    assert_eq!(keep_terminal(None, Pending), Pending);
}

#[test]
fn an_app_that_ran_means_the_pod_initialized() {
    let spec = pod(ONE_SIDECAR, "");
    let waiting = status(
        vec![st("side").running()],
        vec![st("app").waiting("PodInitializing")],
    );
    assert!(!any_regular_container_started(&spec, &waiting));
    let running = status(vec![st("side").running()], vec![st("app").running()]);
    assert!(any_regular_container_started(&spec, &running));
    let exited = status(vec![], vec![st("app").exited(0, "Completed")]);
    assert!(any_regular_container_started(&spec, &exited));
    let stranger = status(vec![], vec![st("other").running()]);
    assert!(!any_regular_container_started(&spec, &stranger));
}
