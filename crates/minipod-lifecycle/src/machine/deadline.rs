//! `spec.activeDeadlineSeconds` (§4.16): a pod active on the node for that
//! long is stopped and Failed with reason `DeadlineExceeded`.
//!
//! The kubelet's `activeDeadlineHandler` (`pkg/kubelet/active_deadline.go`)
//! compares `now - status.startTime` with the deadline at each status
//! generation (`generateAPIPodStatus` in `kubelet_pods.go`): once it is
//! reached, it records a `Normal` event `DeadlineExceeded` and the status
//! becomes `phase: Failed` with its reason and message. `SyncPod` then sees
//! a terminal phase and the pod worker terminates the pod with no grace
//! override (`podWorkerLoop`: `KillPodOptions` is nil), so each container
//! gets the pod's own `terminationGracePeriodSeconds` and its preStop hook:
//! the same stop as a pod whose apps completed.
//!
//! The deadline counts from `startTime`, whatever happened since (init
//! containers still running, restarts under `restartPolicy: Always`). The
//! machine wakes at it instead of polling; a lowered deadline
//! ([`Input::SpecUpdated`](super::Input::SpecUpdated): the only change the
//! API server allows) is seen at the sync that follows the update.

use super::action::{Action, PodEvent};
use super::pod_machine::{PodMachine, StopCause, at_earliest};
use crate::time::Timestamp;

/// The pod status's `reason` (`active_deadline.go`).
pub const DEADLINE_EXCEEDED_REASON: &str = "DeadlineExceeded";
/// The pod status's `message` and the event's (`active_deadline.go`).
pub const DEADLINE_EXCEEDED_MESSAGE: &str =
    "Pod was active on the node longer than the specified deadline";

impl PodMachine {
    /// When the pod's active deadline falls, if it has one.
    pub(super) fn active_deadline(&self) -> Option<Timestamp> {
        let seconds = self.spec.active_deadline_seconds?;
        Some(self.status.start_time?.plus_seconds(seconds))
    }

    /// Whether the pod failed its active deadline.
    pub fn deadline_exceeded(&self) -> bool {
        self.deadline_exceeded
    }

    /// Checks the deadline at `now`: past it, the event, the Failed status
    /// and the pod's termination; before it, a wake-up at it.
    ///
    /// A pod already stopping for another cause keeps its stop as it is
    /// (the kubelet does not kill a terminating pod again), but its status
    /// still turns Failed with the deadline's reason, as the kubelet's
    /// status generation does for it; a pod whose phase is already terminal
    /// keeps it (`generateAPIPodStatus`: no transition out of a terminal
    /// phase).
    pub(super) fn check_active_deadline(
        &mut self,
        now: Timestamp,
        out: &mut Vec<Action>,
        wake: &mut Option<Timestamp>,
    ) {
        if self.deadline_exceeded {
            return;
        }
        let Some(deadline) = self.active_deadline() else {
            return;
        };
        if now < deadline {
            at_earliest(wake, deadline);
            return;
        }
        if self.status.phase.is_some_and(|p| p.is_terminal()) {
            return;
        }
        self.deadline_exceeded = true;
        out.push(Action::Event(PodEvent {
            event_type: "Normal",
            reason: DEADLINE_EXCEEDED_REASON,
            message: DEADLINE_EXCEEDED_MESSAGE.to_owned(),
            container: None,
            field_path: None,
        }));
        if self.termination.is_none() {
            self.begin_termination(StopCause::DeadlineExceeded, None, now);
        }
    }
}
