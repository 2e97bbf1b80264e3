//! What the machine asks the monitor to do ([`Action`]).

use std::time::Duration;

use super::input::HookKind;
use super::probe::ProbeKind;
use crate::status::PodPhase;
use crate::time::Timestamp;

/// Which signal a [`Action::Signal`] sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// The container's stop signal: `lifecycle.stopSignal`, else the
    /// image's `STOPSIGNAL`, else SIGTERM (the runtime knows which).
    Stop,
    /// SIGKILL: the grace period is over.
    Kill,
}

/// Something for the monitor to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Create the pod's sandbox (directories, cgroup, volumes, namespaces,
    /// network); answer with [`Input::SandboxCreated`](super::Input::SandboxCreated)
    /// or [`Input::SandboxFailed`](super::Input::SandboxFailed). Always the
    /// first action: no container starts before it succeeded.
    CreateSandbox,
    /// Start instance `attempt` (its restart count) of `container`; answer
    /// with [`Input::Started`](super::Input::Started) or [`Input::StartFailed`](super::Input::StartFailed).
    StartContainer { container: String, attempt: u32 },
    /// Run a hook of instance `attempt` (within `timeout` if given); answer
    /// with [`Input::HookDone`](super::Input::HookDone).
    RunHook {
        container: String,
        attempt: u32,
        hook: HookKind,
        timeout: Option<Duration>,
    },
    /// Run a probe of instance `attempt`; answer with [`Input::ProbeDone`](super::Input::ProbeDone).
    RunProbe {
        container: String,
        attempt: u32,
        probe: ProbeKind,
        timeout: Duration,
    },
    /// Send a signal to `container`'s current instance.
    Signal {
        container: String,
        signal: StopSignal,
    },
    /// Something worth telling (a Kubernetes Event).
    Event(PodEvent),
    /// Feed me [`Input::Tick`](super::Input::Tick) at this time (replaces any earlier wake-up).
    WakeAt(Timestamp),
    /// [`PodMachine::status`](super::PodMachine::status) changed.
    StatusChanged,
    /// The pod is done: every container stopped and none will start again.
    /// The sandbox can go.
    Finished { phase: PodPhase },
}

/// A Kubernetes Event about the pod or one of its containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodEvent {
    /// `Normal` or `Warning`.
    pub event_type: &'static str,
    pub reason: &'static str,
    pub message: String,
    /// The container it is about (`involvedObject.fieldPath`), if any.
    pub container: Option<String>,
    /// `spec.initContainers{name}` or `spec.containers{name}`.
    pub field_path: Option<String>,
}
