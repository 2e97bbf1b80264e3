//! The pod conditions the kubelet owns: `Initialized`, `Ready`,
//! `ContainersReady`, `PodScheduled`.
//!
//! Mirrors `pkg/kubelet/status/generate.go` (GeneratePodInitializedCondition,
//! GenerateContainersReadyCondition, GeneratePodReadyCondition), the order in
//! which `generateAPIPodStatus` (`pkg/kubelet/kubelet_pods.go`) lists them, and
//! the status manager's rule for `lastTransitionTime` (kept while the status
//! stays the same). Spec §4.11.

use minipod_spec::model::PodSpec;

use crate::phase::any_regular_container_started;
use crate::status::condition_type::{
    CONTAINERS_READY, INITIALIZED, POD_READY_TO_START_CONTAINERS, POD_SCHEDULED, READY,
};
use crate::status::{ConditionStatus, PodCondition, PodPhase, PodStatus};
use crate::time::Timestamp;

/// Condition reasons the kubelet writes.
pub mod reasons {
    pub const UNKNOWN_CONTAINER_STATUSES: &str = "UnknownContainerStatuses";
    pub const POD_COMPLETED: &str = "PodCompleted";
    pub const POD_FAILED: &str = "PodFailed";
    pub const CONTAINERS_NOT_READY: &str = "ContainersNotReady";
    pub const CONTAINERS_NOT_INITIALIZED: &str = "ContainersNotInitialized";
    pub const READINESS_GATES_NOT_READY: &str = "ReadinessGatesNotReady";
}

/// The kubelet's conditions for the pod, after the conditions it does not own
/// (readiness gates set by others) carried over from `previous`:
/// `..., Initialized, Ready, ContainersReady, PodScheduled`.
///
/// `lastTransitionTime` is `now` for a condition that is new or changed its
/// status, else the previous one.
pub fn pod_conditions(
    spec: &PodSpec,
    status: &PodStatus,
    phase: PodPhase,
    previous: &[PodCondition],
    now: Timestamp,
) -> Vec<PodCondition> {
    let mut conditions: Vec<PodCondition> = previous
        .iter()
        .filter(|c| !is_kubelet_owned(&c.condition_type))
        .cloned()
        .collect();
    conditions.push(initialized(spec, status, phase));
    let ready = ready(spec, status, &conditions, phase);
    conditions.push(ready);
    conditions.push(containers_ready(spec, status, phase));
    conditions.push(PodCondition::new(POD_SCHEDULED, ConditionStatus::True));
    for condition in conditions
        .iter_mut()
        .filter(|c| is_kubelet_owned(&c.condition_type))
    {
        let old = previous
            .iter()
            .find(|o| o.condition_type == condition.condition_type);
        condition.last_transition_time = match old {
            Some(old) if old.status == condition.status => old.last_transition_time,
            _ => Some(now),
        };
    }
    conditions
}

fn is_kubelet_owned(condition_type: &str) -> bool {
    [
        POD_SCHEDULED,
        POD_READY_TO_START_CONTAINERS,
        INITIALIZED,
        CONTAINERS_READY,
        READY,
    ]
    .contains(&condition_type)
}

/// Go's `%s` of a `[]string`: `[a b]`.
fn go_list(names: &[&str]) -> String {
    format!("[{}]", names.join(" "))
}

fn no_statuses(status: &PodStatus) -> bool {
    status.init_container_statuses.is_empty() && status.container_statuses.is_empty()
}

/// `Initialized`: every init container is done, a regular one by completing
/// (`ready`), a sidecar by having started. Also True once an app container
/// has run (sidecars may restart later), and True/`PodCompleted` for a
/// Succeeded pod whose init containers all have a status.
pub fn initialized(spec: &PodSpec, status: &PodStatus, phase: PodPhase) -> PodCondition {
    if no_statuses(status) && !spec.init_containers.is_empty() {
        return PodCondition::new(INITIALIZED, ConditionStatus::False)
            .with_reason(reasons::UNKNOWN_CONTAINER_STATUSES);
    }
    let mut unknown = Vec::new();
    let mut incomplete = Vec::new();
    for container in &spec.init_containers {
        let Some(s) = status.container_status(&container.name) else {
            unknown.push(container.name.as_str());
            continue;
        };
        let done = if container.is_restartable_init() {
            s.is_started()
        } else {
            s.ready
        };
        if !done {
            incomplete.push(container.name.as_str());
        }
    }
    if phase == PodPhase::Succeeded && unknown.is_empty() {
        return PodCondition::new(INITIALIZED, ConditionStatus::True)
            .with_reason(reasons::POD_COMPLETED);
    }
    if any_regular_container_started(spec, status) {
        return PodCondition::new(INITIALIZED, ConditionStatus::True);
    }
    let mut messages = Vec::new();
    if !unknown.is_empty() {
        messages.push(format!(
            "containers with unknown status: {}",
            go_list(&unknown)
        ));
    }
    if !incomplete.is_empty() {
        messages.push(format!(
            "containers with incomplete status: {}",
            go_list(&incomplete)
        ));
    }
    if messages.is_empty() {
        return PodCondition::new(INITIALIZED, ConditionStatus::True);
    }
    PodCondition::new(INITIALIZED, ConditionStatus::False)
        .with_reason(reasons::CONTAINERS_NOT_INITIALIZED)
        .with_message(messages.join(", "))
}

/// `ContainersReady`: every sidecar and every app container is `ready`.
/// False with `PodCompleted` / `PodFailed` once the pod is terminal.
pub fn containers_ready(spec: &PodSpec, status: &PodStatus, phase: PodPhase) -> PodCondition {
    if no_statuses(status) {
        return PodCondition::new(CONTAINERS_READY, ConditionStatus::False)
            .with_reason(reasons::UNKNOWN_CONTAINER_STATUSES);
    }
    let sidecars = spec
        .init_containers
        .iter()
        .filter(|c| c.is_restartable_init());
    let mut unknown = Vec::new();
    let mut unready = Vec::new();
    for container in sidecars.chain(&spec.containers) {
        match status.container_status(&container.name) {
            None => unknown.push(container.name.as_str()),
            Some(s) if !s.ready => unready.push(container.name.as_str()),
            Some(_) => {}
        }
    }
    if (phase == PodPhase::Succeeded && unknown.is_empty()) || phase == PodPhase::Failed {
        return terminal(CONTAINERS_READY, phase);
    }
    let mut messages = Vec::new();
    if !unknown.is_empty() {
        messages.push(format!(
            "containers with unknown status: {}",
            go_list(&unknown)
        ));
    }
    if !unready.is_empty() {
        messages.push(format!(
            "containers with unready status: {}",
            go_list(&unready)
        ));
    }
    if messages.is_empty() {
        return PodCondition::new(CONTAINERS_READY, ConditionStatus::True);
    }
    PodCondition::new(CONTAINERS_READY, ConditionStatus::False)
        .with_reason(reasons::CONTAINERS_NOT_READY)
        .with_message(messages.join(", "))
}

fn terminal(condition_type: &str, phase: PodPhase) -> PodCondition {
    let reason = if phase == PodPhase::Failed {
        reasons::POD_FAILED
    } else {
        reasons::POD_COMPLETED
    };
    PodCondition::new(condition_type, ConditionStatus::False).with_reason(reason)
}

/// `Ready`: `ContainersReady` (its status, reason and message when not True)
/// and every readiness gate's condition, looked up in `conditions`, True.
pub fn ready(
    spec: &PodSpec,
    status: &PodStatus,
    conditions: &[PodCondition],
    phase: PodPhase,
) -> PodCondition {
    let containers = containers_ready(spec, status, phase);
    if containers.status != ConditionStatus::True {
        return PodCondition {
            condition_type: READY.to_owned(),
            ..containers
        };
    }
    let mut messages = Vec::new();
    for gate in &spec.readiness_gates {
        let gate_type = &gate.condition_type;
        match conditions.iter().find(|c| &c.condition_type == gate_type) {
            None => messages.push(format!(
                "corresponding condition of pod readiness gate {} does not exist.",
                go_quote(gate_type)
            )),
            Some(c) if c.status != ConditionStatus::True => messages.push(format!(
                "the status of pod readiness gate {} is not \"True\", but {:?}",
                go_quote(gate_type),
                c.status
            )),
            Some(_) => {}
        }
    }
    if messages.is_empty() {
        return PodCondition::new(READY, ConditionStatus::True);
    }
    PodCondition::new(READY, ConditionStatus::False)
        .with_reason(reasons::READINESS_GATES_NOT_READY)
        .with_message(messages.join(", "))
}

/// Go's `%q` for the printable ASCII of condition types.
fn go_quote(text: &str) -> String {
    let mut quoted = String::from("\"");
    for ch in text.chars() {
        match ch {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            _ => quoted.push(ch),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
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
                    Some(
                        "containers with unknown status: [b], containers with unready status: [a]",
                    ),
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
                    Some(
                        "containers with unknown status: [b], containers with unready status: [a]",
                    ),
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
        let conditions = pod_conditions(&spec, &status, PodPhase::Running, &previous, now());
        let types: Vec<&str> = conditions
            .iter()
            .map(|c| c.condition_type.as_str())
            .collect();
        assert_eq!(
            types,
            [
                "example.com/lb",
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
        let conditions = pod_conditions(&spec, &status, PodPhase::Running, &previous, now());
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
}
