//! The loop's answers to requests from outside the machine: an update of
//! the pod, an exec, and a container's exit turned into its status.

use std::sync::{Arc, mpsc};
use std::time::{Duration, SystemTime};

use minipod_lifecycle::machine::Input;
use minipod_lifecycle::status::ContainerStateTerminated;
use minipod_linux::container::ExitStatus;
use minipod_runtime::exec::{AttachOptions, Attached};
use minipod_runtime::exit::{self, OomKills};
use minipod_runtime::termination_message;
use minipod_spec::AdmittedPod;

use super::{Driver, Process};
use crate::controller::UpdateError;
use crate::convert::{self, timestamp};
use crate::handlers::{self, ExecError, ExecResult, PodAccess};

impl Driver<'_> {
    /// Takes an update of the pod: the runtime starts containers from the
    /// new spec from now on, and the machine decides what to restart. A
    /// pod without a sandbox yet is created from the new spec.
    pub(super) fn update(&mut self, pod: AdmittedPod) -> Result<Input, UpdateError> {
        {
            let mut guard = self.access.pod.write().unwrap_or_else(|p| p.into_inner());
            // The pod is only taken away after the loop: `None` here is a
            // sandbox not created yet.
            match guard.as_mut() {
                Some(running) => running.update(pod.clone())?,
                None => minipod_runtime::pod::check_update(&self.pod, &pod)?,
            }
        }
        let spec = pod.pod().spec.clone();
        self.pod = pod;
        Ok(Input::SpecUpdated(Box::new(spec)))
    }

    /// Runs an exec (`kubectl exec`) on a thread of its own, like an exec
    /// probe, and answers on `reply`.
    pub(super) fn exec(
        &self,
        name: &str,
        command: Vec<String>,
        timeout: Duration,
        reply: mpsc::Sender<Result<ExecResult, ExecError>>,
    ) {
        self.on_exec_thread("exec", name, reply, move |access, name, process| {
            handlers::exec(access, name, process, &command, timeout)
        });
    }

    /// Starts an attached exec on a thread of its own (the start takes a
    /// moment; the command then runs on its own, and the caller waits for
    /// it), and answers on `reply`.
    pub(super) fn exec_attached(
        &self,
        name: &str,
        command: Vec<String>,
        options: AttachOptions,
        reply: mpsc::Sender<Result<Attached, ExecError>>,
    ) {
        self.on_exec_thread("attach", name, reply, move |access, name, process| {
            handlers::exec_attached(access, name, process, &command, options)
        });
    }

    /// Runs `run` against container `name`'s current process on a thread
    /// named `<kind>-<name>`, so the loop never waits for an exec, and
    /// sends its result on `reply`; a container that is not running is
    /// answered at once.
    fn on_exec_thread<T: Send + 'static>(
        &self,
        kind: &str,
        name: &str,
        reply: mpsc::Sender<Result<T, ExecError>>,
        run: impl FnOnce(&PodAccess, &str, &Process) -> Result<T, ExecError> + Send + 'static,
    ) {
        let Some(process) = self.live.get(name).map(|l| Arc::clone(&l.process)) else {
            let _ = reply.send(Err(ExecError::NotRunning(name.to_owned())));
            return;
        };
        let access = self.access.clone();
        let name = name.to_owned();
        let spawned = std::thread::Builder::new()
            .name(format!("{kind}-{name}"))
            .spawn(move || {
                let _ = reply.send(run(&access, &name, &process));
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start a thread for an exec: {e}");
        }
    }

    /// A container's pid 1 exited: how, in Kubernetes' terms.
    pub(super) fn exited(
        &mut self,
        name: &str,
        attempt: u32,
        status: std::io::Result<ExitStatus>,
        at: SystemTime,
    ) -> Option<Input> {
        let live = self.live.get(name).filter(|l| l.attempt == attempt)?;
        let terminated = match status {
            Ok(status) => {
                let oom = match (live.oom_before, live.cgroup.read_oom_kills().ok()) {
                    (Some(before), Some(after)) => Some(OomKills { before, after }),
                    _ => None,
                };
                let mut terminated = convert::terminated(
                    &exit::exited(status, oom, live.started_at, at),
                    &live.container_id,
                );
                // The waiter reports the exit once the output is all in
                // the log, so the log's tail is complete here.
                if let Some(source) = &live.termination_message {
                    terminated.message =
                        termination_message::read(source, terminated.exit_code, &live.log_path);
                }
                terminated
            }
            Err(error) => ContainerStateTerminated {
                exit_code: 255,
                reason: Some("Error".into()),
                message: Some(format!("waiting for the container failed: {error}")),
                started_at: Some(timestamp(live.started_at)),
                finished_at: Some(timestamp(at)),
                container_id: Some(live.container_id.clone()),
                ..ContainerStateTerminated::default()
            },
        };
        Some(Input::Exited {
            container: name.to_owned(),
            terminated,
        })
    }
}
