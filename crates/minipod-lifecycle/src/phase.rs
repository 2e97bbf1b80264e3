//! The pod phase, from the spec and the container statuses.
//!
//! Mirrors the kubelet's `getPhase` (`pkg/kubelet/kubelet_pods.go`, 1.30+:
//! with `podHasInitialized` and native sidecars; without the 1.34 alpha
//! ContainerRestartRules) and the rule of `generateAPIPodStatus` that a pod
//! never leaves a terminal phase ([`keep_terminal`]). Spec §4.10.

use minipod_spec::enums::RestartPolicy;
use minipod_spec::model::PodSpec;

use crate::status::{ContainerStatus, PodPhase, PodStatus};

/// What the kubelet knows besides the statuses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhaseContext {
    /// The pod is being stopped for good (deleted, or every app container
    /// is done and none will restart): its containers will not restart, so
    /// stopped containers decide Succeeded/Failed whatever the restartPolicy.
    pub pod_is_terminal: bool,
    /// An app container of the current sandbox has been created
    /// (`HasAnyActiveRegularContainerStarted`): the pod initialized once, so a
    /// sidecar restarting (running, not started yet) does not make it Pending.
    /// [`any_regular_container_started`] computes it from API statuses.
    pub pod_has_initialized: bool,
}

/// Counters over the statuses, as `getPhase` keeps them.
#[derive(Debug, Default)]
struct Counts {
    pending_regular_init: u32,
    pending_sidecar: u32,
    failed_init: u32,
    unknown: u32,
    running: u32,
    waiting: u32,
    stopped: u32,
    succeeded: u32,
}

/// The phase of a pod given its statuses (kubelet `getPhase`).
///
/// Regular init containers: not yet run, running or waiting to run → pending;
/// exited non-zero (or waiting after such an exit) → failed, which fails the
/// pod under `restartPolicy: Never`. Sidecars: a stopped one is ignored (its
/// failures never fail the pod); one running but not started keeps the pod
/// Pending until it has initialized. App containers decide the rest.
pub fn pod_phase(spec: &PodSpec, status: &PodStatus, context: PhaseContext) -> PodPhase {
    let mut n = Counts::default();
    let lookup = |name: &str| status.container_status(name);

    for container in spec
        .init_containers
        .iter()
        .filter(|c| !c.is_restartable_init())
    {
        let Some(s) = lookup(&container.name) else {
            n.pending_regular_init += 1;
            continue;
        };
        if s.state.running.is_some() {
            n.pending_regular_init += 1;
        } else if let Some(t) = &s.state.terminated {
            if t.exit_code != 0 {
                n.failed_init += 1;
            }
        } else if s.state.waiting.is_some() {
            match &s.last_state.terminated {
                Some(last) if last.exit_code != 0 => n.failed_init += 1,
                Some(_) => {}
                None => n.pending_regular_init += 1,
            }
        } else {
            n.pending_regular_init += 1;
        }
    }

    for container in spec
        .init_containers
        .iter()
        .filter(|c| c.is_restartable_init())
    {
        let Some(s) = lookup(&container.name) else {
            n.unknown += 1;
            continue;
        };
        if s.state.running.is_some() {
            if !s.is_started() {
                n.pending_sidecar += 1;
            }
            n.running += 1;
        } else if s.state.terminated.is_some() {
            // A stopped sidecar does not count towards the phase.
        } else if s.state.waiting.is_some() {
            if s.last_state.terminated.is_none() {
                n.pending_sidecar += 1;
                n.waiting += 1;
            }
        } else {
            n.pending_sidecar += 1;
            n.unknown += 1;
        }
    }

    for container in &spec.containers {
        let Some(s) = lookup(&container.name) else {
            n.unknown += 1;
            continue;
        };
        count_app_container(s, &mut n);
    }

    let policy = spec.restart_policy.clone().unwrap_or(RestartPolicy::Always);
    if n.failed_init > 0 && policy == RestartPolicy::Never {
        return PodPhase::Failed;
    }
    if n.pending_regular_init > 0
        || (n.pending_sidecar > 0 && !context.pod_has_initialized)
        || n.waiting > 0
    {
        return PodPhase::Pending;
    }
    if n.running > 0 && n.unknown == 0 {
        return PodPhase::Running;
    }
    if n.running == 0 && n.stopped > 0 && n.unknown == 0 {
        let all_succeeded = n.stopped == n.succeeded;
        return match () {
            () if context.pod_is_terminal && all_succeeded => PodPhase::Succeeded,
            () if context.pod_is_terminal => PodPhase::Failed,
            () if policy == RestartPolicy::Always => PodPhase::Running,
            () if all_succeeded => PodPhase::Succeeded,
            () if policy == RestartPolicy::Never => PodPhase::Failed,
            // OnFailure with a failure: restarting.
            () => PodPhase::Running,
        };
    }
    PodPhase::Pending
}

fn count_app_container(s: &ContainerStatus, n: &mut Counts) {
    if s.state.running.is_some() {
        n.running += 1;
    } else if let Some(t) = &s.state.terminated {
        n.stopped += 1;
        if t.exit_code == 0 {
            n.succeeded += 1;
        }
    } else if s.state.waiting.is_some() {
        if s.last_state.terminated.is_some() {
            n.stopped += 1;
        } else {
            n.waiting += 1;
        }
    } else {
        n.unknown += 1;
    }
}

/// Whether an app container has run (`HasAnyRegularContainerStarted`): one of
/// `spec.containers` reports running or terminated. The Initialized condition
/// uses it; callers without runtime knowledge can use it for
/// [`PhaseContext::pod_has_initialized`].
pub fn any_regular_container_started(spec: &PodSpec, status: &PodStatus) -> bool {
    status.container_statuses.iter().any(|s| {
        spec.containers.iter().any(|c| c.name == s.name)
            && (s.state.running.is_some() || s.state.terminated.is_some())
    })
}

/// The phase to report after `previous`: Succeeded and Failed are final.
pub fn keep_terminal(previous: Option<PodPhase>, computed: PodPhase) -> PodPhase {
    match previous {
        Some(p) if p.is_terminal() => p,
        _ => computed,
    }
}

#[cfg(test)]
mod tests {
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
}
