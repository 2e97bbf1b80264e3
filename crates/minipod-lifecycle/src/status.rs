//! The Pod status as the Kubernetes API spells it (core/v1 `PodStatus`).
//!
//! Field names and JSON shapes follow `staging/src/k8s.io/api/core/v1/types.go`:
//! `name`, `ready`, `restartCount`, `image`, `imageID`, `state` and `lastState`
//! are always written (`state: {}` when nothing is known), optional fields only
//! when set. A container state is the API's struct of three optional members
//! (at most one set), not an enum, so that an unknown (empty) state stays
//! representable, as kubectl's printer has to handle it.
//! Reading is lenient (unknown fields ignored): statuses written by newer
//! Kubernetes versions still load.

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// `status.phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

impl PodPhase {
    /// The API spelling (`Pending`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            PodPhase::Pending => "Pending",
            PodPhase::Running => "Running",
            PodPhase::Succeeded => "Succeeded",
            PodPhase::Failed => "Failed",
            PodPhase::Unknown => "Unknown",
        }
    }

    /// `Succeeded` or `Failed`: a pod never leaves these.
    pub fn is_terminal(self) -> bool {
        matches!(self, PodPhase::Succeeded | PodPhase::Failed)
    }
}

/// `status.conditions[].status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

/// Condition types the kubelet owns (`status.conditions[].type`).
pub mod condition_type {
    pub const POD_SCHEDULED: &str = "PodScheduled";
    pub const POD_READY_TO_START_CONTAINERS: &str = "PodReadyToStartContainers";
    pub const INITIALIZED: &str = "Initialized";
    pub const CONTAINERS_READY: &str = "ContainersReady";
    pub const READY: &str = "Ready";
}

/// `status.conditions[]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodCondition {
    /// A kubelet type from [`condition_type`], or a readiness gate's type.
    #[serde(rename = "type")]
    pub condition_type: String,
    pub status: ConditionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Always written (`null` when never probed), as the API does.
    #[serde(default)]
    pub last_probe_time: Option<Timestamp>,
    #[serde(default)]
    pub last_transition_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl PodCondition {
    /// A condition with no reason, message or times.
    pub fn new(condition_type: &str, status: ConditionStatus) -> Self {
        Self {
            condition_type: condition_type.to_owned(),
            status,
            observed_generation: None,
            last_probe_time: None,
            last_transition_time: None,
            reason: None,
            message: None,
        }
    }

    /// With `reason` set.
    pub fn with_reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_owned());
        self
    }

    /// With `message` set.
    pub fn with_message(mut self, message: String) -> Self {
        self.message = Some(message);
        self
    }

    /// Whether this is a condition of `condition_type` with status `True`.
    pub fn is_true(&self, condition_type: &str) -> bool {
        self.condition_type == condition_type && self.status == ConditionStatus::True
    }
}

/// `state.waiting`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStateWaiting {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `state.running`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStateRunning {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
}

/// `state.terminated`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStateTerminated {
    pub exit_code: i32,
    /// The signal that ended the process, 0 when none or unknown.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub signal: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    #[serde(
        default,
        rename = "containerID",
        skip_serializing_if = "Option::is_none"
    )]
    pub container_id: Option<String>,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

/// `state` / `lastState`: at most one member is set; none means unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<ContainerStateWaiting>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<ContainerStateRunning>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminated: Option<ContainerStateTerminated>,
}

impl ContainerState {
    /// Waiting with a reason (`ContainerCreating`, `CrashLoopBackOff`, ...).
    pub fn waiting(reason: &str) -> Self {
        let reason = (!reason.is_empty()).then(|| reason.to_owned());
        Self {
            waiting: Some(ContainerStateWaiting {
                reason,
                message: None,
            }),
            ..Self::default()
        }
    }

    /// Running since `started_at`.
    pub fn running(started_at: Option<Timestamp>) -> Self {
        Self {
            running: Some(ContainerStateRunning { started_at }),
            ..Self::default()
        }
    }

    /// Terminated as described.
    pub fn terminated(terminated: ContainerStateTerminated) -> Self {
        Self {
            terminated: Some(terminated),
            ..Self::default()
        }
    }

    /// The terminated member, if that is the state.
    pub fn as_terminated(&self) -> Option<&ContainerStateTerminated> {
        self.terminated.as_ref()
    }
}

/// `initContainerStatuses[]` / `containerStatuses[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    pub name: String,
    #[serde(default)]
    pub state: ContainerState,
    #[serde(default)]
    pub last_state: ContainerState,
    #[serde(default)]
    pub ready: bool,
    #[serde(default)]
    pub restart_count: i32,
    #[serde(default)]
    pub image: String,
    #[serde(default, rename = "imageID")]
    pub image_id: String,
    #[serde(
        default,
        rename = "containerID",
        skip_serializing_if = "Option::is_none"
    )]
    pub container_id: Option<String>,
    /// `None` until the kubelet has an opinion (only set while running or after).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<bool>,
}

impl ContainerStatus {
    /// A status with an unknown state and nothing else.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }

    /// The status of a container not created yet (§4.8): waiting with
    /// `PodInitializing` if the pod has init containers, else
    /// `ContainerCreating` (for init and app containers alike).
    pub fn not_created(name: &str, image: &str, pod_has_init_containers: bool) -> Self {
        let reason = if pod_has_init_containers {
            reasons::POD_INITIALIZING
        } else {
            reasons::CONTAINER_CREATING
        };
        Self {
            image: image.to_owned(),
            state: ContainerState::waiting(reason),
            ..Self::new(name)
        }
    }

    /// Whether `started` is `Some(true)`.
    pub fn is_started(&self) -> bool {
        self.started == Some(true)
    }
}

/// Container state reasons the kubelet writes.
pub mod reasons {
    pub const POD_INITIALIZING: &str = "PodInitializing";
    pub const CONTAINER_CREATING: &str = "ContainerCreating";
    pub const CRASH_LOOP_BACK_OFF: &str = "CrashLoopBackOff";
    pub const COMPLETED: &str = "Completed";
    pub const ERROR: &str = "Error";
    pub const OOM_KILLED: &str = "OOMKilled";
}

/// An entry of `status.podIPs` or `status.hostIPs` (the API's `PodIP` and
/// `HostIP`: one field, `ip`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PodIp {
    pub ip: String,
}

/// `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<PodPhase>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<PodCondition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, rename = "hostIP", skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    #[serde(default, rename = "hostIPs", skip_serializing_if = "Vec::is_empty")]
    pub host_ips: Vec<PodIp>,
    #[serde(default, rename = "podIP", skip_serializing_if = "Option::is_none")]
    pub pod_ip: Option<String>,
    #[serde(default, rename = "podIPs", skip_serializing_if = "Vec::is_empty")]
    pub pod_ips: Vec<PodIp>,
    /// Set by the scheduler on preemption; minipod never sets it, but the
    /// wide printers show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nominated_node_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_container_statuses: Vec<ContainerStatus>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub container_statuses: Vec<ContainerStatus>,
    /// `Guaranteed`, `Burstable` or `BestEffort` (decided by minipod-plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qos_class: Option<String>,
}

impl PodStatus {
    /// The status of the container `name`, init or app (names are unique in a
    /// valid pod), like the kubelet's lookup over both lists.
    pub fn container_status(&self, name: &str) -> Option<&ContainerStatus> {
        self.init_container_statuses
            .iter()
            .chain(&self.container_statuses)
            .find(|s| s.name == name)
    }

    /// The condition of `condition_type`, if present.
    pub fn condition(&self, condition_type: &str) -> Option<&PodCondition> {
        self.conditions
            .iter()
            .find(|c| c.condition_type == condition_type)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn container_status_writes_the_fields_the_api_always_has() {
        let status = ContainerStatus::not_created("app", "busybox", false);
        assert_eq!(
            serde_json::to_value(&status).unwrap(),
            json!({
                "name": "app",
                "state": {"waiting": {"reason": "ContainerCreating"}},
                "lastState": {},
                "ready": false,
                "restartCount": 0,
                "image": "busybox",
                "imageID": ""
            })
        );
    }

    #[test]
    fn not_created_containers_wait_for_pod_initialization_when_there_are_init_containers() {
        let status = ContainerStatus::not_created("app", "busybox", true);
        assert_eq!(status.state, ContainerState::waiting("PodInitializing"));
    }

    #[test]
    fn terminated_state_round_trips_in_camel_case() {
        let text = json!({
            "name": "init",
            "state": {"terminated": {
                "exitCode": 137, "signal": 9, "reason": "OOMKilled", "message": "oom",
                "startedAt": "2024-05-01T00:00:00Z", "finishedAt": "2024-05-01T00:00:05Z",
                "containerID": "minipod://abc"
            }},
            "lastState": {"running": {"startedAt": "2024-05-01T00:00:00Z"}},
            "ready": false, "restartCount": 2, "image": "busybox", "imageID": "sha256:00",
            "started": false
        });
        let status: ContainerStatus = serde_json::from_value(text.clone()).unwrap();
        let terminated = status.state.as_terminated().unwrap();
        assert_eq!((terminated.exit_code, terminated.signal), (137, 9));
        assert_eq!(
            terminated.finished_at.unwrap().to_string(),
            "2024-05-01T00:00:05Z"
        );
        assert_eq!(serde_json::to_value(&status).unwrap(), text);
    }

    #[test]
    fn pod_status_uses_api_names_and_omits_what_is_unset() {
        let status = PodStatus {
            phase: Some(PodPhase::Running),
            conditions: vec![PodCondition::new(
                condition_type::READY,
                ConditionStatus::True,
            )],
            qos_class: Some("BestEffort".into()),
            start_time: Some(Timestamp::from_unix_seconds(0)),
            ..PodStatus::default()
        };
        assert_eq!(
            serde_json::to_value(&status).unwrap(),
            json!({
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True",
                                "lastProbeTime": null, "lastTransitionTime": null}],
                "startTime": "1970-01-01T00:00:00Z",
                "qosClass": "BestEffort"
            })
        );
    }

    #[test]
    fn unknown_status_fields_from_newer_kubernetes_are_ignored() {
        let status: PodStatus = serde_json::from_value(json!({
            "phase": "Pending", "podIPs": [{"ip": "10.0.0.1"}], "resize": "InProgress"
        }))
        .unwrap();
        assert_eq!(status.phase, Some(PodPhase::Pending));
    }

    #[test]
    fn container_status_lookup_spans_init_and_app_statuses() {
        let status = PodStatus {
            init_container_statuses: vec![ContainerStatus::new("i")],
            container_statuses: vec![ContainerStatus::new("a")],
            ..PodStatus::default()
        };
        assert_eq!(status.container_status("i").unwrap().name, "i");
        assert_eq!(status.container_status("a").unwrap().name, "a");
        assert!(status.container_status("x").is_none());
    }
}
