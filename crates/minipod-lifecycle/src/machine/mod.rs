//! The pod supervisor's brain: `handle(now, input) -> actions`.
//!
//! The kubelet decides what to do with a pod in `computePodActions` and does
//! it in `SyncPod` (`pkg/kubelet/kuberuntime/kuberuntime_manager.go`). The
//! [`PodMachine`] is that decision half for one pod, driven by events
//! instead of periodic syncs: the monitor feeds it what happened
//! ([`Input`]: a container started or exited, a probe or hook finished, a
//! timer fired, a stop was asked for) and carries out what it answers
//! ([`Action`]: start a container, run a probe or hook, send a signal, wake
//! me at, tell the world). There is no clock, no I/O and no tokio here, so
//! every rule is a table test with a fake clock (`tests/`).
//!
//! Each [`PodMachine::handle`] records the input, then re-derives the
//! actions from the whole state (`PodMachine::sync`), as the kubelet's
//! level-triggered sync does: the same state always gives the same actions,
//! whatever order the events came in.
//!
//! Rules and their sources: `docs/kubernetes-semantics.md` §4.

//!
//! The modules, one responsibility each:
//!
//! * `input.rs`, `action.rs`: what comes in and what goes out;
//! * `sandbox.rs`: the pod's sandbox, created first and retried with the
//!   pod worker's back-off when it fails;
//! * `pod_machine.rs`: the state, [`PodMachine::new`] from the pod and its
//!   plan, [`PodMachine::handle`] and the sync;
//! * `on_input.rs`: how each input is taken into account;
//! * `starts.rs`: init progression, app containers, restarts and back-off;
//! * `probing.rs`: the probes of running containers (with `probe.rs`, one
//!   prober worker's bookkeeping);
//! * `deadline.rs`: `activeDeadlineSeconds`, which fails and stops the pod;
//! * `stopping.rs`: the pod's termination and each container's kill (with
//!   `kill.rs`, where one container's stop stands);
//! * `pod_status.rs`: the status; `record.rs`: one container's record.

mod action;
mod deadline;
mod input;
mod kill;
mod on_input;
mod pod_machine;
mod pod_status;
mod probe;
mod probing;
mod record;
mod sandbox;
mod starts;
mod stopping;
#[cfg(test)]
mod tests;

pub use action::{Action, PodEvent, StopSignal};
pub use deadline::{DEADLINE_EXCEEDED_MESSAGE, DEADLINE_EXCEEDED_REASON};
pub use input::{HookKind, Input, PullDone, SandboxFailure, StartFailureStatus};
pub use pod_machine::{MachineConfig, PodMachine, StopCause};
pub use probe::{ProbeKind, ProbeOutcome, ProbeResult, ProbeSettings};
