//! The status of a pod whose monitor is gone: what the kubelet's status
//! manager writes when it terminates a pod whose containers it cannot find
//! (`pkg/kubelet/status/status_manager.go`, `TerminatePod`):
//!
//! * once the pod has initialized (`hasPodInitialized`), every app
//!   container that is not terminated becomes terminated with reason
//!   `ContainerStatusUnknown`, exit code 137 and the message "The container
//!   could not be located when the pod was terminated";
//! * so does every init container that is not terminated, up to the last
//!   one that shows any sign of having been started (`initializedContainers`);
//! * a `Pending` or `Running` pod becomes `Failed`.
//!
//! The kubelet's words fit: without the monitor nobody observed how the
//! containers ended (they were SIGKILLed by the clean-up, or died of their
//! closed output pipes before), so their exit is unknown and 137 is the
//! honest guess. On top of that the pod's own `reason` and `message` say
//! why ([`MONITOR_LOST`]), and the conditions are recomputed for a failed
//! pod.

use minipod_lifecycle::status::{
    ContainerState, ContainerStateTerminated, ContainerStatus, PodPhase, PodStatus,
};
use minipod_lifecycle::{Timestamp, pod_conditions};
use minipod_spec::model::PodSpec;

/// The pod's `status.reason` when its monitor died under it.
pub const MONITOR_LOST: &str = "MonitorLost";
/// The kubelet's reason for a container it cannot find
/// (`kubecontainer.ContainerReasonStatusUnknown`).
pub const CONTAINER_STATUS_UNKNOWN: &str = "ContainerStatusUnknown";
/// The kubelet's message for it, word for word.
pub const CONTAINER_NOT_LOCATED: &str =
    "The container could not be located when the pod was terminated";

fn unknown() -> ContainerState {
    ContainerState::terminated(ContainerStateTerminated {
        exit_code: 137,
        reason: Some(CONTAINER_STATUS_UNKNOWN.into()),
        message: Some(CONTAINER_NOT_LOCATED.into()),
        ..ContainerStateTerminated::default()
    })
}

/// `hasPodInitialized`.
fn has_initialized(spec: &PodSpec, status: &PodStatus) -> bool {
    if spec.init_containers.is_empty() {
        return true;
    }
    if status
        .container_statuses
        .iter()
        .any(|s| s.last_state.terminated.is_some() || s.state.waiting.is_none())
    {
        return true;
    }
    let Some(last) = status.init_container_statuses.last() else {
        return false;
    };
    let Some(container) = spec.init_containers.iter().find(|c| c.name == last.name) else {
        return false;
    };
    if container.is_restartable_init() {
        last.state.running.is_some() && last.started == Some(true)
    } else {
        let zero =
            |t: &Option<ContainerStateTerminated>| t.as_ref().is_some_and(|t| t.exit_code == 0);
        zero(&last.last_state.terminated) || zero(&last.state.terminated)
    }
}

/// `initializedContainers`: how many init statuses, from the first, have
/// been started at least once (at least one).
fn initialized_prefix(statuses: &[ContainerStatus]) -> usize {
    for i in (0..statuses.len()).rev() {
        if statuses[i].state.waiting.is_none() || statuses[i].last_state.terminated.is_some() {
            return i + 1;
        }
    }
    statuses.len().min(1)
}

fn mark_unknown(status: &mut ContainerStatus) {
    if status.state.terminated.is_some() {
        return;
    }
    status.state = unknown();
    status.ready = false;
    status.started = Some(false);
}

/// `status` as the kubelet leaves a pod it terminated without finding its
/// containers, with `reason`/`message` on the pod, at `now`.
pub fn terminate_lost(
    spec: &PodSpec,
    status: &PodStatus,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> PodStatus {
    let mut next = status.clone();
    if has_initialized(spec, status) {
        next.container_statuses.iter_mut().for_each(mark_unknown);
    }
    let prefix = initialized_prefix(&next.init_container_statuses);
    next.init_container_statuses[..prefix]
        .iter_mut()
        .for_each(mark_unknown);
    if !matches!(next.phase, Some(p) if p.is_terminal()) {
        next.phase = Some(PodPhase::Failed);
    }
    next.reason = Some(reason.to_owned());
    next.message = Some(message.to_owned());
    let phase = next.phase.unwrap_or(PodPhase::Failed);
    // What was left of the pod was removed: no sandbox.
    next.conditions = pod_conditions(spec, &next, phase, &status.conditions, false, now);
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use minipod_lifecycle::status::ConditionStatus;

    fn spec(yaml: &str) -> PodSpec {
        let loaded = minipod_spec::load::parse_manifests(yaml.as_bytes(), "pod.yaml").unwrap();
        loaded.into_iter().next().unwrap().pod.spec
    }

    fn running(name: &str) -> ContainerStatus {
        ContainerStatus {
            state: ContainerState::running(Some(Timestamp::from_unix_seconds(100))),
            ready: true,
            started: Some(true),
            ..ContainerStatus::new(name)
        }
    }

    const SIDECAR_AND_APP: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers: [{name: side, image: i, restartPolicy: Always}]\n  containers: [{name: app, image: i}, {name: done, image: i}]\n";

    #[test]
    fn a_running_pod_fails_and_its_live_containers_become_unknown_with_137() {
        let spec = spec(SIDECAR_AND_APP);
        let done = ContainerStatus {
            state: ContainerState::terminated(ContainerStateTerminated {
                exit_code: 0,
                reason: Some("Completed".into()),
                ..ContainerStateTerminated::default()
            }),
            ..ContainerStatus::new("done")
        };
        let status = PodStatus {
            phase: Some(PodPhase::Running),
            init_container_statuses: vec![running("side")],
            container_statuses: vec![running("app"), done.clone()],
            ..PodStatus::default()
        };
        let now = Timestamp::from_unix_seconds(200);
        let next = terminate_lost(&spec, &status, MONITOR_LOST, "gone", now);
        assert_eq!(next.phase, Some(PodPhase::Failed));
        assert_eq!(next.reason.as_deref(), Some(MONITOR_LOST));
        assert_eq!(next.message.as_deref(), Some("gone"));
        for s in [
            &next.init_container_statuses[0],
            &next.container_statuses[0],
        ] {
            let t = s.state.terminated.as_ref().unwrap();
            assert_eq!(t.exit_code, 137, "{}", s.name);
            assert_eq!(t.reason.as_deref(), Some(CONTAINER_STATUS_UNKNOWN));
            assert_eq!(t.message.as_deref(), Some(CONTAINER_NOT_LOCATED));
            assert!(!s.ready);
        }
        // An ended container keeps how it ended.
        assert_eq!(next.container_statuses[1], done);
        let ready = next.condition("Ready").unwrap();
        assert_eq!(ready.status, ConditionStatus::False);
        assert_eq!(ready.reason.as_deref(), Some("PodFailed"));
        assert_eq!(ready.last_transition_time, Some(now));
    }

    #[test]
    fn init_containers_that_never_started_stay_waiting() {
        let spec = spec(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers: [{name: a, image: i}, {name: b, image: i}]\n  containers: [{name: app, image: i}]\n",
        );
        let waiting = |name: &str| ContainerStatus {
            state: ContainerState::waiting("PodInitializing"),
            ..ContainerStatus::new(name)
        };
        let status = PodStatus {
            phase: Some(PodPhase::Pending),
            init_container_statuses: vec![running("a"), waiting("b")],
            container_statuses: vec![waiting("app")],
            ..PodStatus::default()
        };
        let next = terminate_lost(
            &spec,
            &status,
            MONITOR_LOST,
            "gone",
            Timestamp::from_unix_seconds(1),
        );
        assert_eq!(next.phase, Some(PodPhase::Failed));
        assert!(next.init_container_statuses[0].state.terminated.is_some());
        assert_eq!(next.init_container_statuses[1], waiting("b"));
        // Not initialized: the app container never ran, and stays waiting.
        assert_eq!(next.container_statuses[0], waiting("app"));
    }

    #[test]
    fn a_terminal_phase_is_kept() {
        let spec = spec(SIDECAR_AND_APP);
        let status = PodStatus {
            phase: Some(PodPhase::Succeeded),
            ..PodStatus::default()
        };
        let next = terminate_lost(
            &spec,
            &status,
            MONITOR_LOST,
            "gone",
            Timestamp::from_unix_seconds(1),
        );
        assert_eq!(next.phase, Some(PodPhase::Succeeded));
    }
}
