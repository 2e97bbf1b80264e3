//! The pod conditions the kubelet owns: `PodReadyToStartContainers`,
//! `Initialized`, `Ready`, `ContainersReady`, `PodScheduled`.
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
/// `..., PodReadyToStartContainers, Initialized, Ready, ContainersReady,
/// PodScheduled`. `sandbox_ready`: the pod's sandbox exists, with its
/// network (`GeneratePodReadyToStartContainersCondition`: True unless a new
/// sandbox is needed: before it is made, after a failure, once the pod is
/// over and its sandbox gone; on by default since Kubernetes 1.29).
///
/// `lastTransitionTime` is `now` for a condition that is new or changed its
/// status, else the previous one.
pub fn pod_conditions(
    spec: &PodSpec,
    status: &PodStatus,
    phase: PodPhase,
    previous: &[PodCondition],
    sandbox_ready: bool,
    now: Timestamp,
) -> Vec<PodCondition> {
    let mut conditions: Vec<PodCondition> = previous
        .iter()
        .filter(|c| !is_kubelet_owned(&c.condition_type))
        .cloned()
        .collect();
    let sandbox = if sandbox_ready {
        ConditionStatus::True
    } else {
        ConditionStatus::False
    };
    conditions.push(PodCondition::new(POD_READY_TO_START_CONTAINERS, sandbox));
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
mod tests;
