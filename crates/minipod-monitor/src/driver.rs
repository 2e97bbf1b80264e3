//! The monitor's loop: inputs in, the machine decides, actions out.

use std::collections::{HashMap, VecDeque};
use std::str::FromStr;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use minipod_lifecycle::Timestamp;
use minipod_lifecycle::machine::{
    Action, Input, MachineConfig, PodMachine, ProbeOutcome, StartFailure, StopSignal,
};
use minipod_lifecycle::status::{ContainerStateTerminated, PodPhase, PodStatus};
use minipod_linux::cgroup::ContainerCgroup;
use minipod_linux::container::{Container as Process, ExitStatus};
use minipod_plan::Plan;
use minipod_runtime::exit::{self, OomKills};
use minipod_runtime::image::ImageNeed;
use minipod_runtime::logs;
use minipod_runtime::pod::{self, NodeConfig, PodError, PodRuntime, RunningPod};
use minipod_spec::AdmittedPod;
use minipod_spec::model::Container;
use nix::sys::signal::Signal;

use crate::convert::{self, timestamp};
use crate::handlers::{self, Handler, PodAccess};
use crate::pull::{self, PullContext};
use crate::{Controller, Message, Observer};

/// How long a postStart hook may run: the kubelet sets no limit of its own
/// (the hook ends when it ends, or with the container).
const POST_START_LIMIT: Duration = Duration::from_secs(24 * 3600);

/// Why the monitor could not run the pod.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("setting up the node: {0}")]
    Node(#[source] PodError),
    #[error("creating the pod: {0}")]
    Create(#[source] PodError),
    #[error("removing the pod: {0}")]
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

    /// Creates the pod, runs it until it is done (or stopped through a
    /// [`Controller`]), removes it, and says how it ended.
    pub fn run(self) -> Result<Outcome, MonitorError> {
        let runtime = Arc::new(PodRuntime::new(self.node.clone()).map_err(MonitorError::Node)?);
        let running = runtime
            .create_pod(&self.pod, &self.plan)
            .map_err(MonitorError::Create)?;
        self.observer.pod_created(&running);
        let created = SystemTime::now();
        let access = PodAccess {
            runtime: Arc::clone(&runtime),
            pod: Arc::new(RwLock::new(Some(running))),
        };
        let mut machine = PodMachine::new(&self.pod, self.machine, timestamp(created));
        machine.set_node_fields(self.plan.qos_class.as_str(), "127.0.0.1", "127.0.0.1");
        let mut driver = Driver {
            pod: self.pod.clone(),
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
            update_reply: None,
        };
        let phase = driver.run(&mut machine, &self.receiver);
        let status = machine.status().clone();
        let running = access.pod.write().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(running) = running {
            runtime.remove_pod(running).map_err(MonitorError::Remove)?;
        }
        Ok(Outcome { phase, status })
    }
}

/// The loop's state.
struct Driver<'a> {
    /// The pod as last applied (updates change container images).
    pod: AdmittedPod,
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
    /// The caller of an update, answered once its actions are carried out.
    update_reply: Option<mpsc::Sender<Result<(), String>>>,
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
                Ok(done) => {
                    let event = pull::pulled_event(&self.pod, &container, &image, &done);
                    self.observer.event(SystemTime::now(), &event);
                    self.start_now(&container, attempt, true);
                    None
                }
                Err(message) => Some(Input::StartFailed {
                    container,
                    attempt,
                    failure: StartFailure::Waiting {
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

    /// Takes an update of the pod: the runtime starts containers from the
    /// new spec from now on, and the machine decides what to restart.
    fn update(&mut self, pod: AdmittedPod) -> Result<Input, String> {
        {
            let mut guard = self.access.pod.write().unwrap_or_else(|p| p.into_inner());
            let running = guard.as_mut().ok_or("the pod is being removed")?;
            running.update(pod.clone()).map_err(|e| e.to_string())?;
        }
        let spec = pod.pod().spec.clone();
        self.pod = pod;
        Ok(Input::SpecUpdated(Box::new(spec)))
    }

    /// Runs an exec (`kubectl exec`) on a thread of its own, like an exec
    /// probe, and answers on `reply`.
    fn exec(
        &self,
        name: &str,
        command: Vec<String>,
        timeout: Duration,
        reply: mpsc::Sender<Result<crate::ExecResult, String>>,
    ) {
        let Some(process) = self.live.get(name).map(|l| Arc::clone(&l.process)) else {
            let _ = reply.send(Err(format!("container {name:?} is not running")));
            return;
        };
        let access = self.access.clone();
        let name = name.to_owned();
        let spawned = std::thread::Builder::new()
            .name(format!("exec-{name}"))
            .spawn(move || {
                let result = handlers::exec(&access, &name, &process, &command, timeout);
                let _ = reply.send(result);
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start a thread for an exec: {e}");
        }
    }

    /// Starts an attached exec on a thread of its own (the start takes a
    /// moment; the command then runs on its own, and the caller waits for
    /// it), and answers on `reply`.
    fn exec_attached(
        &self,
        name: &str,
        command: Vec<String>,
        options: crate::AttachOptions,
        reply: mpsc::Sender<Result<crate::Attached, String>>,
    ) {
        let Some(process) = self.live.get(name).map(|l| Arc::clone(&l.process)) else {
            let _ = reply.send(Err(format!("container {name:?} is not running")));
            return;
        };
        let access = self.access.clone();
        let name = name.to_owned();
        let spawned = std::thread::Builder::new()
            .name(format!("attach-{name}"))
            .spawn(move || {
                let result = handlers::exec_attached(&access, &name, &process, &command, options);
                let _ = reply.send(result);
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start a thread for an exec: {e}");
        }
    }

    /// A container's pid 1 exited: how, in Kubernetes' terms.
    fn exited(
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
                convert::terminated(
                    &exit::exited(status, oom, live.started_at, at),
                    &live.container_id,
                )
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

    fn execute(&mut self, machine: &PodMachine, action: Action) {
        match action {
            Action::StartContainer { container, attempt } => self.start(&container, attempt),
            Action::Signal { container, signal } => self.signal(&container, signal),
            Action::RunProbe {
                container,
                attempt,
                probe,
                timeout,
            } => {
                let handler = self.spec_container(&container).and_then(|c| {
                    let p = probe.of(c)?;
                    Some(Handler::of_probe(p, c))
                });
                let name = container.clone();
                self.spawn_handler(&name, attempt, handler, timeout, move |result| {
                    Input::ProbeDone {
                        container,
                        attempt,
                        probe,
                        outcome: match result {
                            Ok(()) => ProbeOutcome::Success,
                            Err(why) => ProbeOutcome::Failure(why),
                        },
                    }
                });
            }
            Action::RunHook {
                container,
                attempt,
                hook,
                timeout,
            } => {
                let handler = self.spec_container(&container).and_then(|c| {
                    let h = hook.of(c)?;
                    Some(Handler::of_hook(h, c))
                });
                let timeout = timeout.unwrap_or(POST_START_LIMIT);
                let name = container.clone();
                self.spawn_handler(&name, attempt, handler, timeout, move |result| {
                    if let Err(why) = &result {
                        tracing::warn!(%container, ?hook, "hook failed: {why}");
                    }
                    Input::HookDone {
                        container,
                        attempt,
                        hook,
                        error: result.err(),
                    }
                });
            }
            Action::Event(event) => self.observer.event(SystemTime::now(), &event),
            Action::WakeAt(at) => self.wake = Some(at),
            Action::StatusChanged => {
                let mut pod = pod_json(&self.pod, machine.status(), self.created);
                // Bound to this node, as the scheduler would have bound it.
                if let Some(spec) = pod.get_mut("spec").and_then(|s| s.as_object_mut()) {
                    spec.insert("nodeName".into(), self.node.node_name.clone().into());
                }
                if let Some((at, grace)) = machine.deletion()
                    && let Some(metadata) = pod.get_mut("metadata").and_then(|m| m.as_object_mut())
                {
                    metadata.insert("deletionTimestamp".into(), at.to_string().into());
                    metadata.insert("deletionGracePeriodSeconds".into(), grace.into());
                }
                self.observer.pod_changed(&pod);
            }
            Action::Finished { phase } => self.finished = Some(phase),
        }
    }

    fn spec_container(&self, name: &str) -> Option<&Container> {
        let spec = &self.pod.pod().spec;
        spec.init_containers
            .iter()
            .chain(&spec.containers)
            .find(|c| c.name == name)
    }

    /// Starts instance `attempt` of `name`, after a pull of its image if
    /// its `imagePullPolicy` wants one (on a thread: see `pull.rs`).
    fn start(&mut self, name: &str, attempt: u32) {
        let need = {
            let guard = self.access.pod.read().unwrap_or_else(|p| p.into_inner());
            let Some(running) = guard.as_ref() else {
                return;
            };
            self.access.runtime.image_need(running, name)
        };
        match need {
            ImageNeed::Ready => self.start_now(name, attempt, false),
            ImageNeed::Pull(image) => pull::spawn(
                &self.pod,
                self.pulls,
                self.access,
                self.observer.as_ref(),
                self.sender,
                name,
                attempt,
                image,
            ),
        }
    }

    /// Starts instance `attempt` of `name` now: the runtime makes it, a
    /// thread copies its output to its log (and the observer), another
    /// waits for its exit. `image_pulled`: its image was pulled for it.
    fn start_now(&mut self, name: &str, attempt: u32, image_pulled: bool) {
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
                        StartFailure::Terminated(ContainerStateTerminated {
                            exit_code: 128,
                            reason: Some("StartError".into()),
                            message: Some(error.message.clone()),
                            finished_at: Some(now()),
                            ..ContainerStateTerminated::default()
                        })
                    }
                    reason => StartFailure::Waiting {
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
        self.observer.container_started(&crate::ContainerStarted {
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
            image_pulled,
        });
    }

    fn signal(&self, name: &str, signal: StopSignal) {
        let Some(live) = self.live.get(name) else {
            return;
        };
        let signal = match signal {
            StopSignal::Stop => live.stop_signal,
            StopSignal::Kill => Signal::SIGKILL,
        };
        tracing::debug!(%name, %signal, pid = live.process.pid(), "signal");
        if let Err(e) = live.process.signal(signal) {
            // ESRCH: it exited already, and its exit is on its way.
            tracing::debug!(%name, "signal {signal}: {e}");
        }
    }

    /// Runs a probe or hook on a thread of its own; `done` turns its result
    /// into the input reporting it.
    fn spawn_handler(
        &self,
        name: &str,
        attempt: u32,
        handler: Option<Result<Handler, String>>,
        timeout: Duration,
        done: impl FnOnce(Result<(), String>) -> Input + Send + 'static,
    ) {
        let process = self
            .live
            .get(name)
            .filter(|l| l.attempt == attempt)
            .map(|l| Arc::clone(&l.process));
        let (Some(process), Some(handler)) = (process, handler) else {
            let _ = self.sender.send(Message::Input(done(Err(format!(
                "container {name:?} has no such handler or no process"
            )))));
            return;
        };
        let access = self.access.clone();
        let sender = self.sender.clone();
        let name = name.to_owned();
        let spawned = std::thread::Builder::new()
            .name(format!("handler-{name}"))
            .spawn(move || {
                let result =
                    handler.and_then(|h| handlers::run(&access, &name, &process, &h, timeout));
                let _ = sender.send(Message::Input(done(result)));
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start a thread for a probe or hook: {e}");
        }
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

/// The Pod as Kubernetes JSON: the admitted manifest, with
/// `metadata.creationTimestamp` and the current `status`.
pub fn pod_json(pod: &AdmittedPod, status: &PodStatus, created: SystemTime) -> serde_json::Value {
    let mut value = serde_json::to_value(pod.pod()).unwrap_or_default();
    if let Some(metadata) = value.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        metadata.insert(
            "creationTimestamp".into(),
            serde_json::Value::String(timestamp(created).to_string()),
        );
    }
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "status".into(),
            serde_json::to_value(status).unwrap_or_default(),
        );
    }
    value
}
