//! Test fixtures: small YAML pod specs and hand-made container statuses.

use minipod_spec::model::PodSpec;

use crate::status::{
    ConditionStatus, ContainerState, ContainerStateTerminated, ContainerStatus, PodCondition,
};
use crate::time::Timestamp;

/// A pod spec from flow-style YAML, e.g.
/// `{initContainers: [{name: i, image: x}], containers: [{name: a, image: x}]}`.
pub(crate) fn spec(yaml: &str) -> PodSpec {
    yaml_serde::from_str(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

/// The fixed "now" of every test: 2024-05-01T12:00:00Z.
pub(crate) fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2024-05-01T12:00:00Z").unwrap()
}

/// `seconds` before [`now`].
pub(crate) fn ago(seconds: i64) -> Timestamp {
    now().plus_seconds(-seconds)
}

/// A container status under construction.
pub(crate) fn st(name: &str) -> ContainerStatus {
    ContainerStatus::new(name)
}

pub(crate) fn terminated(exit_code: i32, reason: &str) -> ContainerStateTerminated {
    ContainerStateTerminated {
        exit_code,
        reason: (!reason.is_empty()).then(|| reason.to_owned()),
        ..ContainerStateTerminated::default()
    }
}

/// Builders over [`ContainerStatus`] for readable tables.
pub(crate) trait StatusExt: Sized {
    fn running(self) -> Self;
    fn waiting(self, reason: &str) -> Self;
    fn exited(self, exit_code: i32, reason: &str) -> Self;
    fn signaled(self, signal: i32) -> Self;
    fn last_exited(self, exit_code: i32, finished_seconds_ago: i64) -> Self;
    fn ready(self) -> Self;
    fn started(self, started: bool) -> Self;
    fn restarts(self, n: i32) -> Self;
}

impl StatusExt for ContainerStatus {
    fn running(mut self) -> Self {
        self.state = ContainerState::running(Some(ago(60)));
        self
    }
    fn waiting(mut self, reason: &str) -> Self {
        self.state = ContainerState::waiting(reason);
        self
    }
    fn exited(mut self, exit_code: i32, reason: &str) -> Self {
        self.state = ContainerState::terminated(terminated(exit_code, reason));
        self
    }
    fn signaled(mut self, signal: i32) -> Self {
        self.state = ContainerState::terminated(ContainerStateTerminated {
            exit_code: 128 + signal,
            signal,
            ..ContainerStateTerminated::default()
        });
        self
    }
    fn last_exited(mut self, exit_code: i32, finished_seconds_ago: i64) -> Self {
        self.last_state = ContainerState::terminated(ContainerStateTerminated {
            finished_at: Some(ago(finished_seconds_ago)),
            ..terminated(
                exit_code,
                if exit_code == 0 { "Completed" } else { "Error" },
            )
        });
        self
    }
    fn ready(mut self) -> Self {
        self.ready = true;
        self
    }
    fn started(mut self, started: bool) -> Self {
        self.started = Some(started);
        self
    }
    fn restarts(mut self, n: i32) -> Self {
        self.restart_count = n;
        self
    }
}

/// A condition with only a type and a status.
pub(crate) fn cond(condition_type: &str, status: ConditionStatus) -> PodCondition {
    PodCondition::new(condition_type, status)
}
