//! Where one container's stop stands (the steps of `killContainer`, §4.7).

use crate::termination::GraceBudget;
use crate::time::Timestamp;

/// The step a stopping container is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KillStage {
    /// Its preStop hook runs, until it ends or `deadline`.
    PreStop {
        since: Timestamp,
        deadline: Timestamp,
    },
    /// Waiting, since `since`, for the containers it must outlive to exit
    /// (sidecars: the apps and the next sidecar), within the grace left.
    Turn { since: Timestamp },
    /// The stop signal was sent; SIGKILL at `kill_at`.
    Signaled { kill_at: Timestamp },
    /// SIGKILL was sent; only its exit is awaited.
    Killed,
}

/// A container being stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Kill {
    pub budget: GraceBudget,
    pub stage: KillStage,
    pub pre_stop_done: bool,
    /// The containers whose exit it awaits before its stop signal.
    pub waits_for: Vec<String>,
}

impl Kill {
    /// A stop with `grace` seconds, starting at `now` with no preStop hook
    /// (the caller switches to [`KillStage::PreStop`] when there is one).
    pub fn new(grace: i64, now: Timestamp) -> Self {
        Self {
            budget: GraceBudget::new(grace),
            stage: KillStage::Turn { since: now },
            pre_stop_done: false,
            waits_for: Vec::new(),
        }
    }
}
