//! Starting a container instance: its image pulled first if need be, its
//! output copied to its log, a thread waiting for its exit.

use std::str::FromStr;
use std::sync::Arc;
use std::time::SystemTime;

use minipod_lifecycle::machine::{Input, StartFailureStatus};
use minipod_lifecycle::status::ContainerStateTerminated;
use minipod_linux::signals::Signal;
use minipod_runtime::image::ImageNeed;
use minipod_runtime::logs;
use minipod_runtime::pod::{self, NodeConfig, RunningPod};

use super::{Driver, Live, now};
use crate::controller::Message;
use crate::observer::ContainerStarted;
use crate::pull;

impl Driver<'_> {
    /// Starts instance `attempt` of `name`, after a pull of its image if
    /// its `imagePullPolicy` wants one (on a thread: see `pull.rs`).
    pub(super) fn start(&mut self, name: &str, attempt: u32) {
        let need = {
            let guard = self.access.pod.read().unwrap_or_else(|p| p.into_inner());
            let Some(running) = guard.as_ref() else {
                return;
            };
            self.access.runtime.image_need(running, name)
        };
        match need {
            ImageNeed::Ready => self.start_now(name, attempt),
            ImageNeed::Pull(image) => {
                let (sender, container) = (self.sender.clone(), name.to_owned());
                pull::spawn(
                    &self.pod,
                    self.pulls,
                    self.access,
                    self.observer.as_ref(),
                    name,
                    image,
                    move |image, result| {
                        let _ = sender.send(Message::Pulled {
                            container,
                            attempt,
                            image,
                            result,
                        });
                    },
                );
            }
        }
    }

    /// Starts instance `attempt` of `name` now: the runtime makes it, a
    /// thread copies its output to its log (and the observer), another
    /// waits for its exit.
    pub(super) fn start_now(&mut self, name: &str, attempt: u32) {
        let result = {
            let mut guard = self.access.pod.write().unwrap_or_else(|p| p.into_inner());
            let Some(running) = guard.as_mut() else {
                return;
            };
            self.access
                .runtime
                .start_container(running, name, attempt)
                .map(|started| (started, log_path(running, self.node, name, attempt)))
        };
        let (started, log_path) = match result {
            Ok(ok) => ok,
            Err(error) => {
                let failure = match error.reason {
                    pod::NotStartedReason::StartError => {
                        StartFailureStatus::Terminated(ContainerStateTerminated {
                            exit_code: 128,
                            reason: Some("StartError".into()),
                            message: Some(error.message.clone()),
                            finished_at: Some(now()),
                            ..ContainerStateTerminated::default()
                        })
                    }
                    reason => StartFailureStatus::Waiting {
                        reason: reason.to_string(),
                        message: error.message.clone(),
                    },
                };
                self.queue.push_back(Input::StartFailed {
                    container: name.to_owned(),
                    attempt,
                    failure,
                });
                return;
            }
        };
        let started_at = SystemTime::now();
        let container_id = format!("minipod://{}-{name}-{attempt}", self.pod.uid());
        let tee = crate::console::console_tee(Arc::clone(self.observer), name.to_owned());
        let copy = logs::copy_to_file_and(
            &log_path,
            self.node.log_rotation,
            started.stdout,
            started.stderr,
            Some(tee),
        )
        .map_err(|e| tracing::warn!(%name, "cannot write {}: {e}", log_path.display()))
        .ok();
        self.observer.container_started(&ContainerStarted {
            name: name.to_owned(),
            attempt,
            pid: started.container.pid(),
            container_id: container_id.clone(),
            started_at,
            log_path: log_path.clone(),
            cgroup: started.cgroup.path().to_owned(),
        });
        let process = Arc::new(started.container);
        let stop_signal = Signal::from_str(&started.stop_signal).unwrap_or(Signal::SIGTERM);
        self.live.insert(
            name.to_owned(),
            Live {
                attempt,
                process: Arc::clone(&process),
                stop_signal,
                started_at,
                oom_before: started.cgroup.read_oom_kills().ok(),
                cgroup: started.cgroup,
                container_id: container_id.clone(),
                termination_message: started.termination_message,
                log_path: log_path.clone(),
            },
        );
        let sender = self.sender.clone();
        let who = name.to_owned();
        let waiter = std::thread::Builder::new()
            .name(format!("wait-{name}"))
            .spawn(move || {
                let status = process.wait();
                let at = SystemTime::now();
                // The output is complete before the exit is reported.
                if let Some(copy) = copy {
                    let _ = copy.wait();
                }
                let _ = sender.send(Message::Exited {
                    container: who,
                    attempt,
                    status,
                    at,
                });
            });
        if let Err(e) = waiter {
            tracing::error!(%name, "cannot start a thread to wait for the container: {e}");
        }
        self.queue.push_back(Input::Started {
            container: name.to_owned(),
            attempt,
            container_id,
            image_id: started.image_id,
        });
    }
}

fn log_path(
    running: &RunningPod,
    node: &NodeConfig,
    name: &str,
    attempt: u32,
) -> std::path::PathBuf {
    running.log_path(&node.logs_dir, name, attempt)
}
