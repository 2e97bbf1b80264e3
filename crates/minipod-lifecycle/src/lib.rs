//! # minipod-lifecycle: what the kubelet decides about a pod, without doing it
//!
//! The lifecycle's rules as pure functions (no clock, no I/O: every time is
//! an input), and the state machine that applies them to one pod.
//!
//! * [`machine`]: [`machine::PodMachine`], the supervisor's decisions,
//!   `handle(now, input) -> actions`; built from the pod and its plan
//!   (`minipod_plan`), driven by `minipod-monitor`.
//!
//! * [`time`]: [`Timestamp`], RFC 3339 in and out, written by hand.
//! * [`status`]: the Kubernetes `PodStatus` (core/v1) as serde types.
//! * [`phase`]: the pod phase (kubelet `getPhase`).
//! * [`conditions`]: `Initialized`, `ContainersReady`, `Ready`,
//!   `PodScheduled` (kubelet `pkg/kubelet/status/generate.go`).
//! * [`printer`]: kubectl's READY / STATUS / RESTARTS / AGE columns
//!   (`printPod`), with [`duration::human_duration`] for the ages.
//! * [`go_duration`]: durations as Go prints them, for the kubelet's
//!   messages.
//! * [`backoff`]: CrashLoopBackOff (client-go's `Backoff` as the kubelet
//!   uses it: first restart immediate, then 10 s doubling to 300 s).
//! * [`termination`]: who waits for whom when a pod stops (sidecars after
//!   the apps, in reverse order) and the grace budget (preStop and waiting
//!   deducted, at least 2 s before SIGKILL).
//!
//! Rules and their sources: `docs/kubernetes-semantics.md` §4.7–§5.

#![forbid(unsafe_code)]

pub mod backoff;
pub mod conditions;
pub mod duration;
pub mod go_duration;
pub mod machine;
pub mod phase;
pub mod printer;
pub mod status;
pub mod termination;
pub mod time;

pub use conditions::pod_conditions;
pub use phase::{PhaseContext, pod_phase};
pub use printer::{KubectlColumns, kubectl_columns};
pub use status::{ContainerState, ContainerStatus, PodCondition, PodPhase, PodStatus};
pub use time::Timestamp;

#[cfg(test)]
pub(crate) mod fixtures;
