//! What the monitor tells the machine: something happened ([`Input`]).

use std::time::Duration;

use minipod_plan::addresses::PodAddresses;
use minipod_spec::model::{Container, LifecycleHandler, PodSpec};

use super::probe::{ProbeKind, ProbeOutcome};
use crate::status::ContainerStateTerminated;

/// The two lifecycle hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    PostStart,
    PreStop,
}

impl HookKind {
    /// The hook of this kind in `container`'s spec.
    pub fn of(self, container: &Container) -> Option<&LifecycleHandler> {
        let lifecycle = container.lifecycle.as_ref()?;
        match self {
            HookKind::PostStart => lifecycle.post_start.as_ref(),
            HookKind::PreStop => lifecycle.pre_stop.as_ref(),
        }
    }
}

/// Something that happened, for the machine to take into account.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Time passed (a [`Action::WakeAt`](super::Action::WakeAt) came due): re-check deadlines.
    Tick,
    /// The sandbox asked for by [`Action::CreateSandbox`](super::Action::CreateSandbox)
    /// exists, with these addresses (the node's and the sandbox's).
    SandboxCreated { addresses: PodAddresses },
    /// The sandbox could not be created (and nothing of it is left): the
    /// pod stays Pending and it is tried again after the back-off.
    /// `error` is the error's whole text.
    SandboxFailed {
        reason: SandboxFailure,
        error: String,
    },
    /// Instance `attempt` of `container` runs (its workload was exec'd).
    Started {
        container: String,
        attempt: u32,
        container_id: String,
        image_id: String,
    },
    /// The image of instance `attempt` of `container` was pulled for its
    /// start, which follows (with [`Input::Started`] or
    /// [`Input::StartFailed`]). A start without it found the image present.
    ImagePulled {
        container: String,
        attempt: u32,
        image: String,
        pull: PullDone,
    },
    /// Instance `attempt` of `container` did not start.
    StartFailed {
        container: String,
        attempt: u32,
        failure: StartFailureStatus,
    },
    /// The current instance of `container` exited.
    Exited {
        container: String,
        terminated: ContainerStateTerminated,
    },
    /// A hook of instance `attempt` finished; `error` if it failed.
    HookDone {
        container: String,
        attempt: u32,
        hook: HookKind,
        error: Option<String>,
    },
    /// A probe of instance `attempt` finished.
    ProbeDone {
        container: String,
        attempt: u32,
        probe: ProbeKind,
        outcome: ProbeOutcome,
    },
    /// Stop the pod (a delete, Ctrl-C): the termination of §4.7, with
    /// `grace` seconds instead of the pod's own when given.
    Stop { grace: Option<i64> },
    /// Stop now: SIGKILL everything (a second Ctrl-C).
    KillNow,
    /// The pod was updated (`kubectl set image`, `apply`): its spec is now
    /// this one. Only what Kubernetes lets change on a running pod may
    /// differ, container images above all; a running container whose
    /// definition changed is killed and started again (§4.1 step 3, §4.2).
    SpecUpdated(Box<PodSpec>),
}

/// Which of the kubelet's events a failed sandbox creation is: the kubelet
/// sets up volumes (its volume manager) before it asks the runtime for the
/// sandbox (`SyncPod` in `pkg/kubelet/kubelet.go`, then
/// `kuberuntime_manager.go`), and each has its own event reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxFailure {
    /// A volume could not be set up: `FailedMount`, the error's text as is
    /// (`MountVolume.SetUp failed for volume "x" : ...`, the volume
    /// manager's `GenerateError`).
    Mount,
    /// Anything else (namespaces, cgroup, network, files):
    /// `FailedCreatePodSandBox`, `Failed to create pod sandbox: <error>`.
    CreatePodSandbox,
}

impl SandboxFailure {
    /// The event's reason.
    pub fn reason(self) -> &'static str {
        match self {
            SandboxFailure::Mount => "FailedMount",
            SandboxFailure::CreatePodSandbox => "FailedCreatePodSandBox",
        }
    }

    /// The event's message for `error`, in the kubelet's words.
    pub fn message(self, error: &str) -> String {
        match self {
            SandboxFailure::Mount => error.to_owned(),
            SandboxFailure::CreatePodSandbox => format!("Failed to create pod sandbox: {error}"),
        }
    }
}

/// How a pull went, as the monitor measured it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullDone {
    /// The image's size in the store (config and layer blobs).
    pub size: u64,
    /// The pull itself.
    pub took: Duration,
    /// From the start's request to the pull's end.
    pub waited: Duration,
}

/// A failed start as the container's status shows it, the machine's input
/// ([`Input::StartFailed`]), as the kubelet reports it.
///
/// Not to be confused with the container init's wire report of a failed
/// start (`minipod_linux::container`: which step, which errno): the runtime
/// turns that into a `StartError` message, and the monitor maps the
/// runtime's reason to this (`StartError` → [`Self::Terminated`], exit code
/// 128; any other reason → [`Self::Waiting`]).
#[derive(Debug, Clone, PartialEq)]
pub enum StartFailureStatus {
    /// No container was made (`ErrImagePull`, `CreateContainerConfigError`,
    /// ...): the container waits with this reason and is retried with
    /// back-off.
    Waiting { reason: String, message: String },
    /// The container was made but its process could not start
    /// (`StartError`): it counts as an instance that exited.
    Terminated(ContainerStateTerminated),
}
