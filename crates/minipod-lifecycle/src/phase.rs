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
mod tests;
