//! The monitor's loop seen from outside: the [`Message`]s it takes, and
//! the [`Controller`] that sends them (a signal thread, the monitor's
//! socket).

use std::sync::mpsc;
use std::time::SystemTime;

use minipod_lifecycle::machine::Input;
use minipod_runtime::exec::{AttachOptions, Attached};
use minipod_runtime::pod::PodError;

use crate::handlers::{ExecError, ExecResult};
use minipod_lifecycle::machine::PullDone;

/// Messages into the monitor's loop.
#[derive(Debug)]
pub(crate) enum Message {
    Input(Input),
    /// A container's pid 1 exited (and its output streams were drained).
    Exited {
        container: String,
        attempt: u32,
        status: std::io::Result<minipod_linux::container::ExitStatus>,
        at: SystemTime,
    },
    /// Run a command in a container (`kubectl exec`), answering on `reply`.
    Exec {
        container: String,
        command: Vec<String>,
        timeout: std::time::Duration,
        reply: mpsc::Sender<Result<ExecResult, ExecError>>,
    },
    /// Start a command in a container with its streams attached
    /// (`kubectl exec -i/-t`), answering with them on `reply`.
    ExecAttached {
        container: String,
        command: Vec<String>,
        options: AttachOptions,
        reply: mpsc::Sender<Result<Attached, ExecError>>,
    },
    /// The pull before the start of instance `attempt` of `container`
    /// ended (see `pull.rs`).
    Pulled {
        container: String,
        attempt: u32,
        image: String,
        result: Result<PullDone, String>,
    },
    /// The pod was updated (a new container image): run this spec from now
    /// on, answering on `reply` once the new pod is reported.
    Update {
        pod: Box<minipod_spec::AdmittedPod>,
        reply: mpsc::Sender<Result<(), UpdateError>>,
    },
}

/// Why a request through a [`Controller`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error("the pod is done; the monitor is exiting")]
    Exiting,
    /// The loop ended before it answered (`what`: the exec, the update).
    #[error("the monitor dropped the {what}")]
    Dropped { what: &'static str },
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    Update(#[from] UpdateError),
}

/// Asks a running monitor to stop its pod; cheap to clone and usable from
/// any thread (a signal handler thread, the daemon's API).
#[derive(Debug, Clone)]
pub struct Controller {
    pub(crate) sender: mpsc::Sender<Message>,
}

impl Controller {
    /// Stops the pod gracefully: preStop hooks, stop signals in the
    /// Kubernetes order, SIGKILL at the end of the grace period (`grace`
    /// seconds instead of the pod's `terminationGracePeriodSeconds` if
    /// given). Returns false if the monitor is gone.
    pub fn stop(&self, grace: Option<i64>) -> bool {
        self.sender
            .send(Message::Input(Input::Stop { grace }))
            .is_ok()
    }

    /// SIGKILLs every container at once.
    pub fn kill_now(&self) -> bool {
        self.sender.send(Message::Input(Input::KillNow)).is_ok()
    }

    /// Runs `command` in `container`'s current instance, as an exec probe
    /// does, and waits for it (at most `timeout`). Blocking.
    pub fn exec(
        &self,
        container: &str,
        command: Vec<String>,
        timeout: std::time::Duration,
    ) -> Result<ExecResult, ControllerError> {
        let (reply, answer) = mpsc::channel();
        self.sender
            .send(Message::Exec {
                container: container.to_owned(),
                command,
                timeout,
                reply,
            })
            .map_err(|_| ControllerError::Exiting)?;
        Ok(answer
            .recv()
            .map_err(|_| ControllerError::Dropped { what: "exec" })??)
    }

    /// Starts `command` in `container`'s current instance with its streams
    /// attached (`kubectl exec -i/-t`) and returns them with the exec
    /// helper, whose exit code is the command's. Blocking (until the
    /// command has been exec'd).
    pub fn exec_attached(
        &self,
        container: &str,
        command: Vec<String>,
        options: AttachOptions,
    ) -> Result<Attached, ControllerError> {
        let (reply, answer) = mpsc::channel();
        self.sender
            .send(Message::ExecAttached {
                container: container.to_owned(),
                command,
                options,
                reply,
            })
            .map_err(|_| ControllerError::Exiting)?;
        Ok(answer
            .recv()
            .map_err(|_| ControllerError::Dropped { what: "exec" })??)
    }

    /// Runs `pod`, an update of the monitored pod (same uid and containers;
    /// only what Kubernetes lets change on a running pod differs): each
    /// running container whose image changed is restarted, the others are
    /// left alone. Returns once the updated pod has been reported to the
    /// observer. Blocking.
    pub fn update(&self, pod: minipod_spec::AdmittedPod) -> Result<(), ControllerError> {
        let (reply, answer) = mpsc::channel();
        self.sender
            .send(Message::Update {
                pod: Box::new(pod),
                reply,
            })
            .map_err(|_| ControllerError::Exiting)?;
        Ok(answer
            .recv()
            .map_err(|_| ControllerError::Dropped { what: "update" })??)
    }
}

/// Why the monitor could not take an update of its pod.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Runtime(#[from] PodError),
}
