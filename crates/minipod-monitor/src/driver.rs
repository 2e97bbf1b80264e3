//! The monitor's loop: inputs in, the machine decides, actions out
//! (`actions`, `sandbox`, `start`); requests from outside are `requests`.

mod actions;
mod requests;
mod sandbox;
mod start;

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use minipod_lifecycle::Timestamp;
use minipod_lifecycle::machine::{Action, Input, MachineConfig, PodMachine, StartFailureStatus};
use minipod_lifecycle::status::{PodPhase, PodStatus};
use minipod_linux::cgroup::ContainerCgroup;
use minipod_linux::container::Container as Process;
use minipod_linux::signals::Signal;
use minipod_plan::Plan;
use minipod_plan::addresses::PodAddresses;
use minipod_runtime::pod::{NodeConfig, PodError, PodRuntime};
use minipod_spec::AdmittedPod;

use crate::controller::{Controller, Message, UpdateError};
use crate::convert::{self, timestamp};
use crate::handlers::PodAccess;
use crate::observer::Observer;
use crate::pull::PullContext;

/// Why the monitor could not run the pod.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("setting up the node")]
    Node(#[source] PodError),
    /// The pod was refused (the kubelet's admission): it is never retried,
    /// unlike a sandbox that could not be created.
    #[error("admitting the pod")]
    Admit(#[source] PodError),
    #[error("removing the pod")]
    Remove(#[source] PodError),
}

/// How the pod ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `Succeeded` or `Failed`.
    pub phase: PodPhase,
    /// The last status.
    pub status: PodStatus,
}

/// The monitor of one pod (see the crate docs).
pub struct Monitor {
    pod: AdmittedPod,
    plan: Plan,
    node: NodeConfig,
    machine: MachineConfig,
    observer: Arc<dyn Observer>,
    pulls: PullContext,
    sender: mpsc::Sender<Message>,
    receiver: mpsc::Receiver<Message>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("pod", &self.pod.name())
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

/// A container instance that runs (or ran and has not been reaped yet).
struct Live {
    attempt: u32,
    process: Arc<Process>,
    stop_signal: Signal,
    started_at: SystemTime,
    oom_before: Option<u64>,
    cgroup: ContainerCgroup,
    container_id: String,
    /// Where the run's termination message is read from when it exits,
    /// and its log (for `FallbackToLogsOnError`).
    termination_message: Option<minipod_plan::launch::TerminationMessage>,
    log_path: std::path::PathBuf,
}

impl Monitor {
    /// A monitor for `pod` (admitted and planned), on a node laid out as
    /// `node`, reporting to `observer`.
    pub fn new(
        pod: AdmittedPod,
        plan: Plan,
        node: NodeConfig,
        machine: MachineConfig,
        observer: Arc<dyn Observer>,
    ) -> Self {
        let (sender, receiver) = mpsc::channel();
        Self {
            pod,
            plan,
            node,
            machine,
            observer,
            pulls: PullContext::default(),
            sender,
            receiver,
        }
    }

    /// The pod's pull secrets (from its `imagePullSecrets`), for its pulls.
    pub fn with_pull_context(mut self, pulls: PullContext) -> Self {
        self.pulls = pulls;
        self
    }

    /// A handle to stop the pod from elsewhere.
    pub fn controller(&self) -> Controller {
        Controller {
            sender: self.sender.clone(),
        }
    }

    /// Runs the pod until it is done (or stopped through a [`Controller`]):
    /// its sandbox first, created again after each failure as the machine
    /// decides, then its containers; removes it, and says how it ended.
    pub fn run(self) -> Result<Outcome, MonitorError> {
        let runtime = Arc::new(PodRuntime::new(self.node.clone()).map_err(MonitorError::Node)?);
        let created = SystemTime::now();
        // No pod until its sandbox is created (`Action::CreateSandbox`).
        let access = PodAccess {
            runtime: Arc::clone(&runtime),
            pod: Arc::new(RwLock::new(None)),
        };
        let mut machine = PodMachine::new(&self.pod, &self.plan, self.machine, timestamp(created));
        // The node's addresses show from the start, the pod's once its
        // sandbox exists.
        machine.set_addresses(&PodAddresses::new(&self.node.host_ips, &[]));
        let mut driver = Driver {
            pod: self.pod.clone(),
            plan: &self.plan,
            node: &self.node,
            pulls: &self.pulls,
            created,
            observer: &self.observer,
            sender: &self.sender,
            access: &access,
            live: HashMap::new(),
            queue: VecDeque::from([Input::Tick]),
            wake: None,
            finished: None,
            refused: None,
            update_reply: None,
        };
        // The pod is Pending, its containers ContainerCreating, from now on.
        driver.execute(&machine, Action::StatusChanged);
        let phase = driver.run(&mut machine, &self.receiver);
        let refused = driver.refused.take();
        let status = machine.status().clone();
        let running = access.pod.write().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(running) = running {
            runtime.remove_pod(running).map_err(MonitorError::Remove)?;
        }
        if let Some(error) = refused {
            return Err(MonitorError::Admit(error));
        }
        Ok(Outcome { phase, status })
    }
}

/// The loop's state.
struct Driver<'a> {
    /// The pod as last applied (updates change container images).
    pod: AdmittedPod,
    plan: &'a Plan,
    node: &'a NodeConfig,
    pulls: &'a PullContext,
    created: SystemTime,
    observer: &'a Arc<dyn Observer>,
    sender: &'a mpsc::Sender<Message>,
    access: &'a PodAccess,
    live: HashMap<String, Live>,
    /// Inputs produced by our own actions (a start's outcome), handled
    /// before anything else.
    queue: VecDeque<Input>,
    wake: Option<Timestamp>,
    finished: Option<PodPhase>,
    /// The runtime refused the pod (an admission error): the loop ends.
    refused: Option<PodError>,
    /// The caller of an update, answered once its actions are carried out.
    update_reply: Option<mpsc::Sender<Result<(), UpdateError>>>,
}

fn now() -> Timestamp {
    timestamp(SystemTime::now())
}

impl Driver<'_> {
    fn run(&mut self, machine: &mut PodMachine, receiver: &mpsc::Receiver<Message>) -> PodPhase {
        loop {
            let input = match self.queue.pop_front() {
                Some(input) => input,
                None => match self.next_message(receiver) {
                    Some(input) => input,
                    None => continue,
                },
            };
            tracing::debug!(?input, "input");
            let actions = machine.handle(now(), input);
            for action in actions {
                self.execute(machine, action);
            }
            if let Some(reply) = self.update_reply.take() {
                let _ = reply.send(Ok(()));
            }
            if let Some(phase) = self.finished {
                return phase;
            }
            if self.refused.is_some() {
                return machine.status().phase.unwrap_or(PodPhase::Failed);
            }
        }
    }

    /// Waits for the next message, or the wake-up time (a tick).
    fn next_message(&mut self, receiver: &mpsc::Receiver<Message>) -> Option<Input> {
        let message = match self.wake {
            Some(at) => match receiver.recv_timeout(convert::until(now(), at)) {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) => {
                    self.wake = None;
                    return Some(Input::Tick);
                }
                // We hold a sender ourselves, so the channel never closes.
                Err(RecvTimeoutError::Disconnected) => return Some(Input::Tick),
            },
            None => receiver.recv().ok()?,
        };
        match message {
            Message::Input(input) => Some(input),
            Message::Exec {
                container,
                command,
                timeout,
                reply,
            } => {
                self.exec(&container, command, timeout, reply);
                None
            }
            Message::ExecAttached {
                container,
                command,
                options,
                reply,
            } => {
                self.exec_attached(&container, command, options, reply);
                None
            }
            Message::Exited {
                container,
                attempt,
                status,
                at,
            } => self.exited(&container, attempt, status, at),
            Message::Pulled {
                container,
                attempt,
                image,
                result,
            } => match result {
                Ok(pull) => {
                    // The machine hears of the pull before the start's outcome.
                    self.queue.push_back(Input::ImagePulled {
                        container: container.clone(),
                        attempt,
                        image,
                        pull,
                    });
                    self.start_now(&container, attempt);
                    None
                }
                Err(message) => Some(Input::StartFailed {
                    container,
                    attempt,
                    failure: StartFailureStatus::Waiting {
                        reason: "ErrImagePull".into(),
                        message,
                    },
                }),
            },
            Message::Update { pod, reply } => match self.update(*pod) {
                Ok(input) => {
                    self.update_reply = Some(reply);
                    Some(input)
                }
                Err(error) => {
                    let _ = reply.send(Err(error));
                    None
                }
            },
        }
    }
}
