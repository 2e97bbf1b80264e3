//! A command run inside a running container: exec probes and exec hooks
//! (`postStart`, `preStop`).
//!
//! The command gets exactly what the container's workload got (user and
//! groups, environment, working directory, capabilities, `no_new_privs`),
//! joins all its namespaces and its cgroup. How: see
//! `minipod_linux::container::exec` and `docs/probes.md`.

use std::time::Duration;

use minipod_linux::cgroup::CgroupError;
use minipod_linux::container::exec::{self, ExecConfig};
use minipod_linux::container::{Container, Step, StepFailure};

pub use minipod_linux::container::attach::{
    AttachOptions, Attached, Streams, WindowSize, set_window_size,
};
pub use minipod_linux::container::exec::{ExecOutcome, MAX_OUTPUT};

use crate::pod::{PodRuntime, RunningPod};

/// Why a command could not be run in a container (its own failure, a
/// non-zero exit or a timeout, is an [`ExecOutcome`]).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// No run of this container was started (or it was removed).
    #[error("container {0:?} has no running process in the pod")]
    NoSuchContainer(String),
    /// The container's cgroup could not be opened to join it.
    #[error("cgroup")]
    Cgroup(#[from] CgroupError),
    /// The exec helper could not be started.
    #[error("starting the exec helper")]
    Spawn(#[source] std::io::Error),
    /// A step before the command's `execve` failed: with a missing binary,
    /// step `find executable` and the message
    /// `exec: "x": executable file not found in $PATH`.
    #[error("failed to exec in container: {}", exec_message(.0))]
    Failed(StepFailure),
}

/// The text `kubectl exec` shows: the error and its causes.
impl From<ExecError> for String {
    fn from(error: ExecError) -> String {
        minipod_spec::error_chain(&error)
    }
}

fn exec_message(failure: &StepFailure) -> String {
    if failure.step == Step::FindExecutable || failure.message.starts_with("exec") {
        failure.message.clone()
    } else {
        format!("{}: {}", failure.step, failure.message)
    }
}

impl PodRuntime {
    /// Runs `argv` inside container `name` of `running`, whose pid 1 is
    /// `target` (the `container` of its [`crate::pod::StartedContainer`]),
    /// and waits at most `timeout`. Blocking: from async code, call it
    /// through `spawn_blocking`.
    ///
    /// Returns the exit code (128 + signal when killed) with stdout and
    /// stderr together, at most [`MAX_OUTPUT`] bytes. After `timeout` the
    /// command is SIGKILLed and `timed_out` is set.
    pub fn exec_in_container(
        &self,
        running: &RunningPod,
        name: &str,
        target: &Container,
        argv: &[String],
        timeout: Duration,
    ) -> Result<ExecOutcome, ExecError> {
        let (config, cgroup) = running
            .container_run(name)
            .ok_or_else(|| ExecError::NoSuchContainer(name.to_owned()))?;
        let join = cgroup.open_join()?;
        let config = ExecConfig::for_container(config, argv);
        exec::exec(&self.node().init_program, &config, target, &join, timeout).map_err(from_linux)
    }

    /// Starts `argv` inside container `name` of `running` with its streams
    /// attached to the caller (`kubectl exec -i`/`-it`): pipes, or a
    /// terminal allocated in the container's own devpts. Returns once the
    /// command has been exec'd; no timeout. The caller waits for
    /// [`Attached::process`] (its exit code is the command's) and may kill
    /// it to end the command. Blocking (briefly).
    pub fn exec_attached(
        &self,
        running: &RunningPod,
        name: &str,
        target: &Container,
        argv: &[String],
        options: AttachOptions,
    ) -> Result<Attached, ExecError> {
        let (config, cgroup) = running
            .container_run(name)
            .ok_or_else(|| ExecError::NoSuchContainer(name.to_owned()))?;
        let join = cgroup.open_join()?;
        let config = ExecConfig::for_container(config, argv);
        minipod_linux::container::attach::exec_attached(
            &self.node().init_program,
            &config,
            target,
            &join,
            options,
        )
        .map_err(from_linux)
    }
}

fn from_linux(error: exec::ExecError) -> ExecError {
    match error {
        exec::ExecError::Spawn(e) => ExecError::Spawn(e),
        exec::ExecError::Failed(failure) => ExecError::Failed(failure),
    }
}
