//! Tables after `TestPrintPod` and `TestPrintPodWithRestartableInitContainer`
//! (`pkg/printers/internalversion/printers_test.go`), plus the cases of
//! spec §5's notes, written as our own.

use minipod_spec::model::PodSpec;

use super::*;
use crate::fixtures::{StatusExt, ago, cond, now, spec, st};
use crate::status::ConditionStatus::{False, True};
use crate::status::{ContainerStatus, PodCondition};

struct Row {
    name: &'static str,
    spec: PodSpec,
    status: PodStatus,
    deleting: bool,
    /// READY, STATUS, RESTARTS.
    want: (&'static str, &'static str, &'static str),
}

fn pod_status(
    phase: Option<PodPhase>,
    init: Vec<ContainerStatus>,
    apps: Vec<ContainerStatus>,
    conditions: Vec<PodCondition>,
) -> PodStatus {
    PodStatus {
        phase,
        init_container_statuses: init,
        container_statuses: apps,
        conditions,
        ..PodStatus::default()
    }
}

fn check(rows: Vec<Row>) {
    for row in rows {
        let view = PodView {
            spec: &row.spec,
            status: &row.status,
            created: None,
            deletion_requested: row.deleting,
        };
        let got = kubectl_columns(view, now());
        let want = KubectlColumns {
            ready: row.want.0.into(),
            status: row.want.1.into(),
            restarts: row.want.2.into(),
            age: "<unknown>".into(),
        };
        assert_eq!(got, want, "{}", row.name);
    }
}

fn two_apps() -> PodSpec {
    spec("{containers: [{name: a, image: x}, {name: b, image: x}]}")
}

fn one_app() -> PodSpec {
    spec("{containers: [{name: a, image: x}]}")
}

fn inits(n: usize) -> PodSpec {
    let init: Vec<String> = (0..n)
        .map(|i| format!("{{name: init{i}, image: x}}"))
        .collect();
    spec(&format!(
        "{{initContainers: [{}], containers: [{{name: a, image: x}}]}}",
        init.join(", ")
    ))
}

fn two_sidecars() -> PodSpec {
    spec(
        "{initContainers: [{name: side1, image: x, restartPolicy: Always}, {name: side2, image: x, restartPolicy: Always}],
          containers: [{name: a, image: x}]}",
    )
}

/// Regular init `init`, sidecar `side`, app `a`.
fn init_and_sidecar() -> PodSpec {
    spec(
        "{initContainers: [{name: init, image: x}, {name: side, image: x, restartPolicy: Always}],
          containers: [{name: a, image: x}]}",
    )
}

use PodPhase::{Failed, Pending, Running, Succeeded};

#[test]
fn app_containers() {
    let initialized_true = || vec![cond(INITIALIZED, True)];
    check(vec![
        Row {
            name: "READY counts running ready containers, STATUS is the phase, RESTARTS sums",
            spec: two_apps(),
            status: pod_status(
                Some(Running),
                vec![],
                vec![st("a").running().ready().restarts(3), st("b").restarts(3)],
                vec![],
            ),
            deleting: false,
            want: ("1/2", "Running", "6"),
        },
        Row {
            name: "a waiting reason replaces the phase",
            spec: two_apps(),
            status: pod_status(
                Some(Running),
                vec![],
                vec![
                    st("a").running().ready().restarts(3),
                    st("b").waiting("ContainerWaitingReason").restarts(3),
                ],
                vec![],
            ),
            deleting: false,
            want: ("1/2", "ContainerWaitingReason", "6"),
        },
        Row {
            name: "the first container in spec order wins",
            spec: two_apps(),
            status: pod_status(
                Some(Running),
                vec![],
                vec![
                    st("a").waiting("CrashLoopBackOff").restarts(3),
                    st("b").exited(1, "Error").restarts(3),
                ],
                vec![],
            ),
            deleting: false,
            want: ("0/2", "CrashLoopBackOff", "6"),
        },
        Row {
            name: "ready is not enough to count: it must also run",
            spec: two_apps(),
            status: pod_status(
                Some(Running),
                vec![],
                vec![
                    st("a").running().ready().restarts(3),
                    st("b").ready().restarts(3),
                ],
                vec![],
            ),
            deleting: false,
            want: ("1/2", "Running", "6"),
        },
        Row {
            name: "status.reason replaces the phase",
            spec: two_apps(),
            status: PodStatus {
                reason: Some("Evicted".into()),
                ..pod_status(
                    Some(Failed),
                    vec![],
                    vec![st("a").running().ready(), st("b").ready()],
                    vec![],
                )
            },
            deleting: false,
            want: ("1/2", "Evicted", "0"),
        },
        Row {
            name: "Completed with another container running and no Ready condition: NotReady",
            spec: two_apps(),
            status: pod_status(
                Some(Running),
                vec![],
                vec![
                    st("a").exited(0, "Completed").ready().restarts(3),
                    st("b").running().ready().restarts(3),
                ],
                vec![],
            ),
            deleting: false,
            want: ("1/2", "NotReady", "6"),
        },
        Row {
            name: "Completed with another container running and Ready True: Running",
            spec: two_apps(),
            status: pod_status(
                Some(Running),
                vec![],
                vec![
                    st("a").exited(0, "Completed").ready().restarts(3),
                    st("b").running().ready().restarts(3),
                ],
                vec![cond(READY, True)],
            ),
            deleting: false,
            want: ("1/2", "Running", "6"),
        },
        Row {
            name: "RESTARTS shows the last restart in days",
            spec: one_app(),
            status: pod_status(
                Some(Running),
                vec![],
                vec![
                    st("a")
                        .running()
                        .ready()
                        .restarts(3)
                        .last_exited(1, 5 * 86_400),
                ],
                vec![],
            ),
            deleting: false,
            want: ("1/1", "Running", "3 (5d ago)"),
        },
        Row {
            name: "RESTARTS: a container that never restarted does not hide another's date",
            spec: two_apps(),
            status: pod_status(
                Some(Running),
                vec![],
                vec![
                    st("a").running().ready(),
                    st("b")
                        .running()
                        .ready()
                        .restarts(3)
                        .last_exited(1, 10 * 86_400),
                ],
                vec![],
            ),
            deleting: false,
            want: ("2/2", "Running", "3 (10d ago)"),
        },
        Row {
            name: "RESTARTS takes the most recent of the last terminations",
            spec: two_apps(),
            status: pod_status(
                Some(Running),
                vec![],
                vec![
                    st("a")
                        .running()
                        .ready()
                        .restarts(6)
                        .last_exited(1, 5 * 86_400),
                    st("b")
                        .running()
                        .ready()
                        .restarts(3)
                        .last_exited(1, 20 * 86_400),
                ],
                vec![],
            ),
            deleting: false,
            want: ("2/2", "Running", "9 (5d ago)"),
        },
        Row {
            name: "RESTARTS with minutes and seconds",
            spec: one_app(),
            status: pod_status(
                Some(Running),
                vec![],
                vec![
                    st("a")
                        .waiting("CrashLoopBackOff")
                        .restarts(5)
                        .last_exited(1, 330),
                ],
                vec![],
            ),
            deleting: false,
            want: ("0/1", "CrashLoopBackOff", "5 (5m30s ago)"),
        },
        Row {
            name: "a scheduling gate replaces the phase",
            spec: two_apps(),
            status: pod_status(
                Some(Pending),
                vec![],
                vec![],
                vec![cond(POD_SCHEDULED, False).with_reason("SchedulingGated")],
            ),
            deleting: false,
            want: ("0/2", "SchedulingGated", "0"),
        },
        Row {
            name: "Succeeded pod shows the container's Completed",
            spec: one_app(),
            status: pod_status(
                Some(Succeeded),
                vec![],
                vec![st("a").exited(0, "Completed")],
                vec![],
            ),
            deleting: false,
            want: ("0/1", "Completed", "0"),
        },
        Row {
            name: "Failed pod shows the container's Error",
            spec: one_app(),
            status: pod_status(
                Some(Failed),
                vec![],
                vec![st("a").exited(1, "Error")],
                vec![],
            ),
            deleting: false,
            want: ("0/1", "Error", "0"),
        },
        Row {
            name: "waiting without a reason keeps the phase",
            spec: one_app(),
            status: pod_status(
                Some(Running),
                vec![],
                vec![st("a").waiting("").restarts(1).last_exited(137, 5)],
                vec![],
            ),
            deleting: false,
            want: ("0/1", "Running", "1 (5s ago)"),
        },
        Row {
            name: "a terminated container's reason, e.g. OOMKilled",
            spec: one_app(),
            status: pod_status(
                Some(Failed),
                vec![],
                vec![st("a").exited(137, "OOMKilled")],
                vec![],
            ),
            deleting: false,
            want: ("0/1", "OOMKilled", "0"),
        },
        Row {
            name: "terminated without a reason: ExitCode:N",
            spec: one_app(),
            status: pod_status(Some(Failed), vec![], vec![st("a").exited(3, "")], vec![]),
            deleting: false,
            want: ("0/1", "ExitCode:3", "0"),
        },
        Row {
            name: "terminated by a signal without a reason: Signal:N",
            spec: one_app(),
            status: pod_status(Some(Failed), vec![], vec![st("a").signaled(9)], vec![]),
            deleting: false,
            want: ("0/1", "Signal:9", "0"),
        },
        Row {
            name: "a container being created: ContainerCreating",
            spec: one_app(),
            status: pod_status(
                Some(Pending),
                vec![],
                vec![st("a").waiting("ContainerCreating")],
                vec![],
            ),
            deleting: false,
            want: ("0/1", "ContainerCreating", "0"),
        },
        Row {
            name: "Succeeded and being deleted: still Completed",
            spec: one_app(),
            status: pod_status(
                Some(Succeeded),
                vec![],
                vec![st("a").exited(0, "Completed")],
                vec![],
            ),
            deleting: true,
            want: ("0/1", "Completed", "0"),
        },
        Row {
            name: "Running and being deleted: Terminating",
            spec: one_app(),
            status: pod_status(Some(Running), vec![], vec![st("a").running()], vec![]),
            deleting: true,
            want: ("0/1", "Terminating", "0"),
        },
        Row {
            name: "Pending and being deleted: Terminating",
            spec: one_app(),
            status: pod_status(Some(Pending), vec![], vec![], vec![]),
            deleting: true,
            want: ("0/1", "Terminating", "0"),
        },
        Row {
            name: "being deleted on a lost node: Unknown",
            spec: one_app(),
            status: PodStatus {
                reason: Some("NodeLost".into()),
                ..pod_status(Some(Running), vec![], vec![st("a").running()], vec![])
            },
            deleting: true,
            want: ("0/1", "Unknown", "0"),
        },
        Row {
            name: "app waiting for initialization: PodInitializing",
            spec: inits(1),
            status: pod_status(
                Some(Pending),
                vec![st("init0").exited(0, "Completed").ready()],
                vec![st("a").waiting("PodInitializing")],
                initialized_true(),
            ),
            deleting: false,
            want: ("0/1", "PodInitializing", "0"),
        },
    ]);
}

#[test]
fn regular_init_containers() {
    check(vec![
        Row {
            name: "an init container restarting: Init:0/1 with its restarts",
            spec: inits(1),
            status: pod_status(
                Some(Pending),
                vec![st("init0").running().restarts(3).last_exited(1, 10)],
                vec![st("a").waiting("")],
                vec![],
            ),
            deleting: false,
            want: ("0/1", "Init:0/1", "3 (10s ago)"),
        },
        Row {
            name: "the first of two init containers restarting: Init:0/2",
            spec: inits(2),
            status: pod_status(
                Some(Pending),
                vec![
                    st("init0").running().restarts(3).last_exited(1, 10),
                    st("init1").waiting(""),
                ],
                vec![st("a").waiting("")],
                vec![],
            ),
            deleting: false,
            want: ("0/1", "Init:0/2", "3 (10s ago)"),
        },
        Row {
            name: "first completed, second restarting: Init:1/2",
            spec: inits(2),
            status: pod_status(
                Some(Pending),
                vec![
                    st("init0").exited(0, ""),
                    st("init1").running().restarts(3).last_exited(1, 10),
                ],
                vec![st("a").waiting("")],
                vec![],
            ),
            deleting: false,
            want: ("0/1", "Init:1/2", "3 (10s ago)"),
        },
        Row {
            name: "restarts of a completed init container count while initializing",
            spec: inits(2),
            status: pod_status(
                Some(Pending),
                vec![
                    st("init0").exited(0, "").restarts(2).last_exited(1, 120),
                    st("init1").running().restarts(3).last_exited(1, 10),
                ],
                vec![st("a").waiting("")],
                vec![],
            ),
            deleting: false,
            want: ("0/1", "Init:1/2", "5 (10s ago)"),
        },
        Row {
            name: "once initialized, regular init restarts are dropped",
            spec: inits(1),
            status: pod_status(
                Some(Running),
                vec![st("init0").exited(0, "").restarts(2).last_exited(1, 120)],
                vec![st("a").running().restarts(4).last_exited(1, 20)],
                vec![],
            ),
            deleting: false,
            want: ("0/1", "Running", "4 (20s ago)"),
        },
        Row {
            name: "a failed init container: Init:Error",
            spec: inits(2),
            status: pod_status(
                Some(Failed),
                vec![
                    st("init0").exited(1, "Error"),
                    st("init1").waiting("PodInitializing"),
                ],
                vec![st("a").waiting("PodInitializing")],
                vec![],
            ),
            deleting: false,
            want: ("0/1", "Init:Error", "0"),
        },
        Row {
            name: "an init container in back-off: Init:CrashLoopBackOff",
            spec: inits(1),
            status: pod_status(
                Some(Pending),
                vec![
                    st("init0")
                        .waiting("CrashLoopBackOff")
                        .restarts(4)
                        .last_exited(1, 30),
                ],
                vec![st("a").waiting("PodInitializing")],
                vec![],
            ),
            deleting: false,
            want: ("0/1", "Init:CrashLoopBackOff", "4 (30s ago)"),
        },
        Row {
            name: "an init container failed without a reason: Init:ExitCode:N",
            spec: inits(1),
            status: pod_status(
                Some(Pending),
                vec![st("init0").exited(3, "")],
                vec![st("a").waiting("PodInitializing")],
                vec![],
            ),
            deleting: false,
            want: ("0/1", "Init:ExitCode:3", "0"),
        },
        Row {
            name: "an init container killed by a signal without a reason: Init:Signal:N",
            spec: inits(1),
            status: pod_status(
                Some(Pending),
                vec![st("init0").signaled(9)],
                vec![st("a").waiting("PodInitializing")],
                vec![],
            ),
            deleting: false,
            want: ("0/1", "Init:Signal:9", "0"),
        },
        Row {
            name: "an init container OOM-killed: Init:OOMKilled",
            spec: inits(1),
            status: pod_status(
                Some(Pending),
                vec![st("init0").exited(137, "OOMKilled")],
                vec![st("a").waiting("PodInitializing")],
                vec![],
            ),
            deleting: false,
            want: ("0/1", "Init:OOMKilled", "0"),
        },
        Row {
            name: "an init container waiting with PodInitializing shows its index",
            spec: inits(2),
            status: pod_status(
                Some(Pending),
                vec![
                    st("init0").exited(0, "Completed"),
                    st("init1").waiting("PodInitializing"),
                ],
                vec![st("a").waiting("PodInitializing")],
                vec![],
            ),
            deleting: false,
            want: ("0/1", "Init:1/2", "0"),
        },
        Row {
            name: "an init container being pulled: Init:ErrImagePull",
            spec: inits(1),
            status: pod_status(
                Some(Pending),
                vec![st("init0").waiting("ErrImagePull")],
                vec![st("a").waiting("PodInitializing")],
                vec![],
            ),
            deleting: false,
            want: ("0/1", "Init:ErrImagePull", "0"),
        },
        Row {
            name: "initializing and being deleted: Terminating",
            spec: inits(1),
            status: pod_status(
                Some(Pending),
                vec![st("init0").running()],
                vec![st("a").waiting("PodInitializing")],
                vec![],
            ),
            deleting: true,
            want: ("0/1", "Terminating", "0"),
        },
    ]);
}

#[test]
fn sidecars() {
    let not_initialized = || vec![cond(INITIALIZED, False)];
    let initialized = || vec![cond(INITIALIZED, True)];
    check(vec![
        Row {
            name: "first sidecar running but not started: Init:0/2, sidecars in the total",
            spec: two_sidecars(),
            status: pod_status(
                Some(Pending),
                vec![st("side1").running().started(false).restarts(3).last_exited(1, 10), st("side2").waiting("").started(false)],
                vec![st("a").waiting("")],
                not_initialized(),
            ),
            deleting: false,
            want: ("0/3", "Init:0/2", "3 (10s ago)"),
        },
        Row {
            name: "first sidecar started, second not yet: Init:1/2",
            spec: two_sidecars(),
            status: pod_status(
                Some(Pending),
                vec![st("side1").running().started(true).restarts(3).last_exited(1, 10), st("side2").running().started(false)],
                vec![st("a").waiting("")],
                not_initialized(),
            ),
            deleting: false,
            want: ("0/3", "Init:1/2", "3 (10s ago)"),
        },
        Row {
            name: "both sidecars started, app running: sidecar restarts kept",
            spec: two_sidecars(),
            status: pod_status(
                Some(Running),
                vec![st("side1").running().started(true).restarts(3).last_exited(1, 10), st("side2").running().started(true)],
                vec![st("a").running().ready().restarts(4).last_exited(1, 20)],
                initialized(),
            ),
            deleting: false,
            want: ("1/3", "Running", "7 (10s ago)"),
        },
        Row {
            name: "sidecars stopped with errors after the app completed: Completed",
            spec: two_sidecars(),
            status: pod_status(
                Some(Succeeded),
                vec![st("side1").exited(137, "Error").started(false).restarts(3).last_exited(1, 10), st("side2").exited(137, "Error").started(false)],
                vec![st("a").exited(0, "Completed").restarts(4).last_exited(1, 20)],
                initialized(),
            ),
            deleting: false,
            want: ("0/3", "Completed", "7 (10s ago)"),
        },
        Row {
            name: "statuses of containers the spec does not have",
            spec: spec(
                "{initContainers: [{name: init1, image: x}, {name: sidecar1, image: x, restartPolicy: Always}],
                  containers: [{name: container1, image: x}]}",
            ),
            status: pod_status(
                Some(Running),
                vec![st("initinvalid"), st("init1"), st("sidecar1")],
                vec![st("containerinvalid"), st("container1")],
                vec![],
            ),
            deleting: false,
            want: ("0/2", "Init:0/2", "0"),
        },
        Row {
            name: "started and ready sidecars count as ready",
            spec: init_and_sidecar(),
            status: pod_status(
                Some(Running),
                vec![st("init").exited(0, "Completed").ready(), st("side").running().started(true).ready()],
                vec![st("a").running().ready()],
                vec![cond(INITIALIZED, True), cond(READY, True)],
            ),
            deleting: false,
            want: ("2/2", "Running", "0"),
        },
        Row {
            name: "a ready sidecar that has not started is not counted",
            spec: init_and_sidecar(),
            status: pod_status(
                Some(Pending),
                vec![st("init").exited(0, "Completed").ready(), st("side").running().started(false).ready()],
                vec![st("a").waiting("PodInitializing")],
                not_initialized(),
            ),
            deleting: false,
            want: ("0/2", "Init:1/2", "0"),
        },
        Row {
            name: "a crash-looping sidecar after initialization shows Init:CrashLoopBackOff",
            spec: init_and_sidecar(),
            status: pod_status(
                Some(Running),
                vec![st("init").exited(0, "Completed").ready(), st("side").waiting("CrashLoopBackOff").started(false).restarts(2).last_exited(1, 30)],
                vec![st("a").running().ready()],
                initialized(),
            ),
            deleting: false,
            want: ("1/2", "Init:CrashLoopBackOff", "2 (30s ago)"),
        },
        Row {
            name: "Job pod: app completed while the sidecar runs: Completed",
            spec: init_and_sidecar(),
            status: pod_status(
                Some(Running),
                vec![st("init").exited(0, "Completed").ready(), st("side").running().started(true).ready()],
                vec![st("a").exited(0, "Completed")],
                initialized(),
            ),
            deleting: false,
            want: ("1/2", "Completed", "0"),
        },
        Row {
            name: "after initialization: regular init restarts dropped, sidecar restarts kept",
            spec: init_and_sidecar(),
            status: pod_status(
                Some(Running),
                vec![
                    st("init").exited(0, "Completed").ready().restarts(2).last_exited(1, 120),
                    st("side").running().started(true).ready().restarts(1).last_exited(1, 40),
                ],
                vec![st("a").running().ready().restarts(1).last_exited(1, 20)],
                initialized(),
            ),
            deleting: false,
            want: ("2/2", "Running", "2 (20s ago)"),
        },
        Row {
            name: "a regular init failing before the sidecar starts: Init:Error",
            spec: init_and_sidecar(),
            status: pod_status(
                Some(Pending),
                vec![st("init").exited(1, "Error").restarts(1).last_exited(1, 15), st("side").waiting("PodInitializing")],
                vec![st("a").waiting("PodInitializing")],
                not_initialized(),
            ),
            deleting: false,
            want: ("0/2", "Init:Error", "1 (15s ago)"),
        },
        Row {
            name: "sidecar running after the pod was deleted: Terminating",
            spec: init_and_sidecar(),
            status: pod_status(
                Some(Running),
                vec![st("init").exited(0, "Completed").ready(), st("side").running().started(true).ready()],
                vec![st("a").exited(143, "Error")],
                initialized(),
            ),
            deleting: true,
            want: ("1/2", "Terminating", "0"),
        },
    ]);
}

#[test]
fn age_is_the_time_since_creation() {
    let spec = one_app();
    let status = PodStatus::default();
    let view = |created| PodView {
        spec: &spec,
        status: &status,
        created,
        deletion_requested: false,
    };
    assert_eq!(kubectl_columns(view(None), now()).age, "<unknown>");
    assert_eq!(kubectl_columns(view(Some(ago(330))), now()).age, "5m30s");
    assert_eq!(
        kubectl_columns(view(Some(ago(3 * 3600 + 300))), now()).age,
        "3h5m"
    );
    assert_eq!(
        kubectl_columns(view(Some(ago(-10))), now()).age,
        "<invalid>"
    );
}
