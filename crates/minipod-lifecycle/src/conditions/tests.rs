//! The tests of the pod conditions (`conditions.rs`): one table per
//! condition, and the `lastTransitionTime` rule.

use super::*;
use crate::fixtures::{StatusExt, ago, cond, now, spec, st};
use crate::status::ContainerStatus;
use ConditionStatus::{False, True};

/// A regular init container `init`, sidecar `side`, app containers `a`, `b`.
fn full() -> PodSpec {
    spec(
        "{initContainers: [{name: init, image: x}, {name: side, image: x, restartPolicy: Always}],
          containers: [{name: a, image: x}, {name: b, image: x}]}",
    )
}

fn status(init: Vec<ContainerStatus>, apps: Vec<ContainerStatus>) -> PodStatus {
    PodStatus {
        init_container_statuses: init,
        container_statuses: apps,
        ..PodStatus::default()
    }
}

/// Status, reason, message.
type Summary<'a> = (ConditionStatus, Option<&'a str>, Option<&'a str>);

fn summary(c: &PodCondition) -> Summary<'_> {
    (c.status, c.reason.as_deref(), c.message.as_deref())
}

#[test]
fn initialized_condition() {
    let running_pod = || {
        status(
            vec![
                st("init").exited(0, "Completed").ready(),
                st("side").running().started(true),
            ],
            vec![st("a").running(), st("b").running()],
        )
    };
    let cases: Vec<(&str, PodSpec, PodStatus, PodPhase, Summary)> = vec![
        (
            "no init containers and no statuses: True",
            spec("{containers: [{name: a, image: x}]}"),
            status(vec![], vec![]),
            PodPhase::Pending,
            (True, None, None),
        ),
        (
            "init containers and no statuses at all: UnknownContainerStatuses",
            full(),
            status(vec![], vec![]),
            PodPhase::Pending,
            (False, Some("UnknownContainerStatuses"), None),
        ),
        (
            "init containers without a status are unknown, a running init is incomplete",
            full(),
            status(
                vec![st("init").running()],
                vec![st("a").waiting("PodInitializing")],
            ),
            PodPhase::Pending,
            (
                False,
                Some("ContainersNotInitialized"),
                Some(
                    "containers with unknown status: [side], containers with incomplete status: [init]",
                ),
            ),
        ),
        (
            "a sidecar running but not started is incomplete",
            full(),
            status(
                vec![
                    st("init").exited(0, "Completed").ready(),
                    st("side").running().started(false),
                ],
                vec![
                    st("a").waiting("PodInitializing"),
                    st("b").waiting("PodInitializing"),
                ],
            ),
            PodPhase::Pending,
            (
                False,
                Some("ContainersNotInitialized"),
                Some("containers with incomplete status: [side]"),
            ),
        ),
        (
            "a failed init container is incomplete",
            full(),
            status(
                vec![
                    st("init").exited(1, "Error"),
                    st("side").waiting("PodInitializing"),
                ],
                vec![
                    st("a").waiting("PodInitializing"),
                    st("b").waiting("PodInitializing"),
                ],
            ),
            PodPhase::Pending,
            (
                False,
                Some("ContainersNotInitialized"),
                Some("containers with incomplete status: [init side]"),
            ),
        ),
        (
            "completed init and started sidecar: True",
            full(),
            running_pod(),
            PodPhase::Running,
            (True, None, None),
        ),
        (
            "a restarting sidecar after the apps ran stays True",
            full(),
            status(
                vec![
                    st("init").exited(0, "Completed").ready(),
                    st("side").waiting("CrashLoopBackOff").last_exited(1, 5),
                ],
                vec![st("a").running(), st("b").running()],
            ),
            PodPhase::Running,
            (True, None, None),
        ),
        (
            "Succeeded with every init status known: True PodCompleted",
            full(),
            status(
                vec![
                    st("init").exited(0, "Completed").ready(),
                    st("side").exited(143, "Error"),
                ],
                vec![
                    st("a").exited(0, "Completed"),
                    st("b").exited(0, "Completed"),
                ],
            ),
            PodPhase::Succeeded,
            (True, Some("PodCompleted"), None),
        ),
    ];
    for (name, spec, status, phase, want) in cases {
        assert_eq!(summary(&initialized(&spec, &status, phase)), want, "{name}");
    }
}

#[test]
fn containers_ready_condition() {
    let all_ready = || {
        status(
            vec![
                st("init").exited(0, "Completed").ready(),
                st("side").running().started(true).ready(),
            ],
            vec![st("a").running().ready(), st("b").running().ready()],
        )
    };
    let mut side_unready = all_ready();
    side_unready.init_container_statuses[1].ready = false;
    side_unready.container_statuses[1].ready = false;
    let mut b_missing = all_ready();
    b_missing.container_statuses.truncate(1);
    b_missing.container_statuses[0].ready = false;
    let mut init_unready = all_ready();
    init_unready.init_container_statuses[0].ready = false;

    let cases = vec![
        (
            "no statuses at all: UnknownContainerStatuses",
            status(vec![], vec![]),
            PodPhase::Pending,
            (False, Some("UnknownContainerStatuses"), None),
        ),
        (
            "sidecars and apps ready: True",
            all_ready(),
            PodPhase::Running,
            (True, None, None),
        ),
        (
            "an unready sidecar counts, listed before the apps",
            side_unready,
            PodPhase::Running,
            (
                False,
                Some("ContainersNotReady"),
                Some("containers with unready status: [side b]"),
            ),
        ),
        (
            "unknown before unready",
            b_missing.clone(),
            PodPhase::Running,
            (
                False,
                Some("ContainersNotReady"),
                Some("containers with unknown status: [b], containers with unready status: [a]"),
            ),
        ),
        (
            "a regular init container's readiness does not count",
            init_unready,
            PodPhase::Running,
            (True, None, None),
        ),
        (
            "Succeeded: False PodCompleted",
            all_ready(),
            PodPhase::Succeeded,
            (False, Some("PodCompleted"), None),
        ),
        (
            "Failed: False PodFailed even when all are ready",
            all_ready(),
            PodPhase::Failed,
            (False, Some("PodFailed"), None),
        ),
        (
            "Succeeded with an unknown container still reports it",
            b_missing,
            PodPhase::Succeeded,
            (
                False,
                Some("ContainersNotReady"),
                Some("containers with unknown status: [b], containers with unready status: [a]"),
            ),
        ),
    ];
    for (name, status, phase, want) in cases {
        assert_eq!(
            summary(&containers_ready(&full(), &status, phase)),
            want,
            "{name}"
        );
    }
}

#[test]
fn ready_condition() {
    let gated = spec(
        "{readinessGates: [{conditionType: example.com/lb}, {conditionType: example.com/dns}],
          containers: [{name: a, image: x}]}",
    );
    let ready_status = status(vec![], vec![st("a").running().ready()]);
    let unready_status = status(vec![], vec![st("a").running()]);
    let lb = |s| cond("example.com/lb", s);
    let dns = |s| cond("example.com/dns", s);
    let cases: Vec<(&str, &PodStatus, Vec<PodCondition>, PodPhase, Summary)> = vec![
        (
            "containers not ready: Ready copies ContainersReady",
            &unready_status,
            vec![lb(True), dns(True)],
            PodPhase::Running,
            (
                False,
                Some("ContainersNotReady"),
                Some("containers with unready status: [a]"),
            ),
        ),
        (
            "all gates True: True",
            &ready_status,
            vec![lb(True), dns(True)],
            PodPhase::Running,
            (True, None, None),
        ),
        (
            "a missing gate condition",
            &ready_status,
            vec![lb(True)],
            PodPhase::Running,
            (
                False,
                Some("ReadinessGatesNotReady"),
                Some(
                    "corresponding condition of pod readiness gate \"example.com/dns\" does not exist.",
                ),
            ),
        ),
        (
            "a False gate and a missing one, in spec order",
            &ready_status,
            vec![lb(False)],
            PodPhase::Running,
            (
                False,
                Some("ReadinessGatesNotReady"),
                Some(
                    "the status of pod readiness gate \"example.com/lb\" is not \"True\", but False, \
                     corresponding condition of pod readiness gate \"example.com/dns\" does not exist.",
                ),
            ),
        ),
        (
            "an Unknown gate",
            &ready_status,
            vec![lb(True), dns(ConditionStatus::Unknown)],
            PodPhase::Running,
            (
                False,
                Some("ReadinessGatesNotReady"),
                Some(
                    "the status of pod readiness gate \"example.com/dns\" is not \"True\", but Unknown",
                ),
            ),
        ),
        (
            "Succeeded: False PodCompleted",
            &ready_status,
            vec![lb(True), dns(True)],
            PodPhase::Succeeded,
            (False, Some("PodCompleted"), None),
        ),
    ];
    for (name, status, conditions, phase, want) in cases {
        assert_eq!(
            summary(&ready(&gated, status, &conditions, phase)),
            want,
            "{name}"
        );
    }
}

#[test]
fn pod_conditions_come_in_kubelet_order_after_foreign_ones() {
    let spec = spec(
        "{readinessGates: [{conditionType: example.com/lb}], containers: [{name: a, image: x}]}",
    );
    let status = status(vec![], vec![st("a").running().ready()]);
    let previous = vec![cond("example.com/lb", True), cond(READY, False)];
    let conditions = pod_conditions(&spec, &status, PodPhase::Running, &previous, true, now());
    let types: Vec<&str> = conditions
        .iter()
        .map(|c| c.condition_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "example.com/lb",
            "PodReadyToStartContainers",
            "Initialized",
            "Ready",
            "ContainersReady",
            "PodScheduled"
        ]
    );
    assert!(conditions.iter().skip(1).all(|c| c.status == True));
}

#[test]
fn transition_time_moves_only_when_the_status_changes() {
    let spec = spec("{containers: [{name: a, image: x}]}");
    let status = status(vec![], vec![st("a").running()]);
    let mut initialized_before = cond(INITIALIZED, True);
    initialized_before.last_transition_time = Some(ago(300));
    let mut ready_before = cond(READY, True);
    ready_before.last_transition_time = Some(ago(300));
    let previous = vec![initialized_before, ready_before];
    let conditions = pod_conditions(&spec, &status, PodPhase::Running, &previous, true, now());
    let time_of = |t: &str| {
        conditions
            .iter()
            .find(|c| c.condition_type == t)
            .unwrap()
            .last_transition_time
    };
    assert_eq!(time_of(INITIALIZED), Some(ago(300)), "unchanged: kept");
    assert_eq!(time_of(READY), Some(now()), "True → False: now");
    assert_eq!(time_of(CONTAINERS_READY), Some(now()), "new: now");
    assert_eq!(time_of(POD_SCHEDULED), Some(now()), "new: now");
}
