//! kubectl's `get pods` columns: READY, STATUS, RESTARTS, AGE, and with
//! `-o wide` the ones of [`wide`].
//!
//! Mirrors `printPod` of `pkg/printers/internalversion/printers.go` (with
//! native sidecars) and its `translateTimestampSince`. Spec §5.

use minipod_plan::Role;
use minipod_plan::roles::role_of;
use minipod_spec::model::PodSpec;

mod wide;

pub use wide::{WideColumns, wide_columns};

use crate::duration::human_duration;
use crate::status::condition_type::{INITIALIZED, POD_SCHEDULED, READY};
use crate::status::{ContainerStateTerminated, ContainerStatus, PodPhase, PodStatus};
use crate::time::Timestamp;

/// The `status.reason` of pods on an unreachable node (`NodeLost`).
const NODE_UNREACHABLE_REASON: &str = "NodeLost";
const SCHEDULING_GATED: &str = "SchedulingGated";
const POD_INITIALIZING: &str = "PodInitializing";

/// One `kubectl get pods` row, without the NAME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubectlColumns {
    /// `ready/total`, sidecars counted in both.
    pub ready: String,
    /// `Running`, `Init:1/2`, `CrashLoopBackOff`, `Terminating`, ...
    pub status: String,
    /// `3` or `3 (10s ago)`.
    pub restarts: String,
    /// Since creation, or `<unknown>`.
    pub age: String,
}

/// The pod as kubectl sees it.
#[derive(Debug, Clone, Copy)]
pub struct PodView<'a> {
    pub spec: &'a PodSpec,
    pub status: &'a PodStatus,
    /// `metadata.creationTimestamp`.
    pub created: Option<Timestamp>,
    /// `metadata.deletionTimestamp` is set.
    pub deletion_requested: bool,
}

/// The READY, STATUS, RESTARTS and AGE columns of `kubectl get pods` at `now`.
pub fn kubectl_columns(pod: PodView<'_>, now: Timestamp) -> KubectlColumns {
    let PodView {
        spec,
        status,
        created,
        deletion_requested,
    } = pod;
    let phase = status.phase.map_or("", PodPhase::as_str);
    let mut reason = status.reason.clone().unwrap_or_else(|| phase.to_owned());
    if status
        .conditions
        .iter()
        .any(|c| c.condition_type == POD_SCHEDULED && c.reason.as_deref() == Some(SCHEDULING_GATED))
    {
        reason = SCHEDULING_GATED.to_owned();
    }

    let sidecars = spec
        .init_containers
        .iter()
        .filter(|c| c.is_restartable_init())
        .count();
    let total = spec.containers.len() + sidecars;
    let mut ready = 0;
    let mut restarts = Restarts::default();
    let mut sidecar_restarts = Restarts::default();

    let mut initializing = false;
    for (i, s) in status.init_container_statuses.iter().enumerate() {
        restarts.add(s);
        // A name the spec does not have is not a sidecar, as in kubectl's
        // `isRestartableInitContainer(nil)`.
        let is_sidecar = role_of(spec, &s.name) == Some(Role::Sidecar);
        if is_sidecar {
            sidecar_restarts.add(s);
        }
        if s.state
            .terminated
            .as_ref()
            .is_some_and(|t| t.exit_code == 0)
        {
            continue;
        }
        if is_sidecar && s.is_started() {
            ready += usize::from(s.ready);
            continue;
        }
        reason = if let Some(t) = &s.state.terminated {
            format!("Init:{}", terminated_reason(t))
        } else if let Some(r) = waiting_reason(s).filter(|r| *r != POD_INITIALIZING) {
            format!("Init:{r}")
        } else {
            format!("Init:{i}/{}", spec.init_containers.len())
        };
        initializing = true;
        break;
    }

    let initialized = status.conditions.iter().any(|c| c.is_true(INITIALIZED));
    if !initializing || initialized {
        restarts = sidecar_restarts;
        let mut has_running = false;
        for s in status.container_statuses.iter().rev() {
            restarts.add(s);
            if let Some(r) = waiting_reason(s) {
                reason = r.to_owned();
            } else if let Some(t) = &s.state.terminated {
                reason = terminated_reason(t);
            } else if s.ready && s.state.running.is_some() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = status.conditions.iter().any(|c| c.is_true(READY));
            reason = if pod_ready { "Running" } else { "NotReady" }.to_owned();
        }
    }

    if deletion_requested {
        if status.reason.as_deref() == Some(NODE_UNREACHABLE_REASON) {
            reason = "Unknown".to_owned();
        } else if !status.phase.is_some_and(PodPhase::is_terminal) {
            reason = "Terminating".to_owned();
        }
    }

    KubectlColumns {
        ready: format!("{ready}/{total}"),
        status: reason,
        restarts: restarts.column(now),
        age: since(created, now),
    }
}

/// A terminated container's reason, else `Signal:<n>`, else `ExitCode:<n>`.
fn terminated_reason(t: &ContainerStateTerminated) -> String {
    match t.reason.as_deref() {
        Some(r) if !r.is_empty() => r.to_owned(),
        _ if t.signal != 0 => format!("Signal:{}", t.signal),
        _ => format!("ExitCode:{}", t.exit_code),
    }
}

fn waiting_reason(s: &ContainerStatus) -> Option<&str> {
    s.state
        .waiting
        .as_ref()
        .and_then(|w| w.reason.as_deref())
        .filter(|r| !r.is_empty())
}

/// The restart count and the latest `lastState.terminated.finishedAt`.
#[derive(Debug, Default, Clone, Copy)]
struct Restarts {
    count: i64,
    last: Option<Timestamp>,
}

impl Restarts {
    fn add(&mut self, s: &ContainerStatus) {
        self.count += i64::from(s.restart_count);
        if let Some(finished) = s.last_state.terminated.as_ref().and_then(|t| t.finished_at) {
            self.last = Some(self.last.map_or(finished, |last| last.max(finished)));
        }
    }

    fn column(self, now: Timestamp) -> String {
        match self.last {
            Some(last) if self.count != 0 => {
                format!("{} ({} ago)", self.count, since(Some(last), now))
            }
            _ => self.count.to_string(),
        }
    }
}

/// kubectl's `translateTimestampSince`.
fn since(t: Option<Timestamp>, now: Timestamp) -> String {
    match t {
        Some(t) => human_duration(now.nanos_since(t)),
        None => "<unknown>".to_owned(),
    }
}

#[cfg(test)]
mod tests;
