//! What the machine knows about one container: its current instance, its
//! last termination, and how that shows in its `ContainerStatus` (§4.8).

use minipod_plan::Role;
use minipod_spec::model::Container;

use super::kill::Kill;
use super::probe::ProbeWorker;
use crate::status::{
    ContainerState, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus,
};
use crate::time::Timestamp;

/// The current instance of a container.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum State {
    /// Never created.
    NotCreated,
    /// Asked to start; the outcome has not come back yet.
    Starting,
    Running(Run),
    /// The last instance exited (and no newer one was created).
    Exited(ContainerStateTerminated),
}

/// A running instance.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    pub started_at: Timestamp,
    /// Its postStart hook ended well (or it has none).
    pub post_start_done: bool,
    /// `started`: it has no startup probe, or that succeeded.
    pub started: bool,
    /// `ready`: started, and its readiness probe (if any) succeeds.
    pub ready: bool,
    pub probes: Vec<ProbeWorker>,
    /// It is being stopped.
    pub kill: Option<Kill>,
}

/// One container of the pod.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub name: String,
    /// Its role, as the plan decided it.
    pub role: Role,
    /// The image of the current (or last) instance, as its status shows
    /// it; the spec's image before the first start.
    pub image: String,
    /// The image in the spec: what the next instance runs.
    spec_image: String,
    /// Instances created so far (`restartCount` is one less).
    pub runs: u32,
    /// The instance being started or running: the restart count it was
    /// started with (so results of an earlier instance are told apart).
    attempt: u32,
    pub state: State,
    /// The instance being started had its image pulled for it.
    pub image_pulled: bool,
    /// What `state` was before [`State::Starting`], shown while starting.
    pub state_before_start: Option<Box<State>>,
    /// The termination before the current instance (`lastState`).
    previous: Option<ContainerStateTerminated>,
    /// Why it waits instead (`CrashLoopBackOff`, `ErrImagePull`, ...).
    waiting: Option<(String, String)>,
    container_id: Option<String>,
    image_id: String,
    /// It was killed by a failed probe: restart it after it exits unless
    /// the pod's restartPolicy is Never (sidecars: always).
    pub restart_after_kill: bool,
    /// It was killed because its definition changed: restart it after it
    /// exits, under any restart policy.
    pub restart_for_change: bool,
}

impl Record {
    pub fn new(container: &Container, role: Role) -> Self {
        Self {
            name: container.name.clone(),
            role,
            image: container.image.clone().unwrap_or_default(),
            spec_image: container.image.clone().unwrap_or_default(),
            runs: 0,
            attempt: 0,
            state: State::NotCreated,
            image_pulled: false,
            state_before_start: None,
            previous: None,
            waiting: None,
            container_id: None,
            image_id: String::new(),
            restart_after_kill: false,
            restart_for_change: false,
        }
    }

    /// Takes `container`'s definition from an updated spec; true if it
    /// changed. A container never created shows the new image at once.
    pub fn set_definition(&mut self, container: &Container) -> bool {
        let image = container.image.clone().unwrap_or_default();
        if image == self.spec_image {
            return false;
        }
        self.spec_image = image;
        if matches!(self.state, State::NotCreated) {
            self.image = self.spec_image.clone();
        }
        true
    }

    /// The current instance was started from an older definition.
    pub fn runs_outdated_definition(&self) -> bool {
        self.image != self.spec_image
    }

    /// The restart count of the current (or starting) instance.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Marks it starting; returns the attempt to start.
    pub fn begin_start(&mut self) -> u32 {
        self.state_before_start = Some(Box::new(std::mem::replace(
            &mut self.state,
            State::Starting,
        )));
        self.restart_after_kill = false;
        self.restart_for_change = false;
        self.image_pulled = false;
        self.image = self.spec_image.clone();
        self.attempt = self.runs;
        self.attempt
    }

    pub fn run_mut(&mut self) -> Option<&mut Run> {
        match &mut self.state {
            State::Running(run) => Some(run),
            _ => None,
        }
    }

    /// The start was not issued (back-off) or has finished.
    pub fn is_idle(&self) -> bool {
        !matches!(self.state, State::Starting)
    }

    /// The last instance's termination, before the one starting now.
    fn take_last_exit(&mut self) {
        if let Some(State::Exited(t)) = self.state_before_start.take().map(|b| *b) {
            self.previous = Some(t);
        }
    }

    /// The instance runs since `now`.
    pub fn started(&mut self, now: Timestamp, container_id: String, image_id: String) {
        self.take_last_exit();
        self.runs += 1;
        self.waiting = None;
        self.container_id = Some(container_id);
        self.image_id = image_id;
        self.state = State::Running(Run {
            started_at: now,
            post_start_done: true,
            started: false,
            ready: false,
            probes: Vec::new(),
            kill: None,
        });
    }

    /// No instance was made: back to what it was, waiting for `reason`.
    pub fn start_failed(&mut self, reason: String, message: String) {
        self.state = self
            .state_before_start
            .take()
            .map_or(State::NotCreated, |b| *b);
        self.waiting = Some((reason, message));
    }

    /// An instance was made but failed to start (`StartError`).
    pub fn exited_at_start(&mut self, terminated: ContainerStateTerminated) {
        self.take_last_exit();
        self.runs += 1;
        self.waiting = None;
        self.state = State::Exited(terminated);
    }

    /// The running instance exited; false if none was running.
    pub fn exited(&mut self, mut terminated: ContainerStateTerminated) -> bool {
        match &self.state {
            State::Running(run) => {
                terminated.started_at = terminated.started_at.or(Some(run.started_at));
                terminated.container_id = terminated
                    .container_id
                    .clone()
                    .or_else(|| self.container_id.clone());
                self.state = State::Exited(terminated);
                true
            }
            _ => false,
        }
    }

    pub fn waiting_reason(&self) -> Option<&str> {
        self.waiting.as_ref().map(|(reason, _)| reason.as_str())
    }

    pub fn waiting_message(&self) -> Option<&str> {
        self.waiting.as_ref().map(|(_, message)| message.as_str())
    }

    pub fn set_waiting(&mut self, reason: &str, message: String) {
        self.waiting = Some((reason.to_owned(), message));
    }

    /// A stopping pod restarts nothing: a container that exited shows as
    /// terminated, not as waiting to restart.
    pub fn clear_waiting_after_exit(&mut self) {
        if matches!(self.state, State::Exited(_)) {
            self.waiting = None;
        }
    }

    /// Its `ContainerStatus` (§4.8).
    pub fn status(&self, pod_has_init_containers: bool) -> ContainerStatus {
        let mut status = ContainerStatus {
            image: self.image.clone(),
            image_id: self.image_id.clone(),
            container_id: self.container_id.clone(),
            restart_count: i32::try_from(self.runs.saturating_sub(1)).unwrap_or(i32::MAX),
            ..ContainerStatus::new(&self.name)
        };
        let waiting = self
            .waiting
            .as_ref()
            .map(|(reason, message)| ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some(reason.clone()),
                    message: (!message.is_empty()).then(|| message.clone()),
                }),
                ..ContainerState::default()
            });
        let previous = || {
            self.previous
                .clone()
                .map(ContainerState::terminated)
                .unwrap_or_default()
        };
        let state = match &self.state {
            State::Starting => self
                .state_before_start
                .as_deref()
                .unwrap_or(&State::NotCreated),
            other => other,
        };
        match state {
            State::NotCreated | State::Starting => match waiting {
                Some(waiting) => status.state = waiting,
                None => {
                    let fresh = ContainerStatus::not_created(
                        &self.name,
                        &self.image,
                        pod_has_init_containers,
                    );
                    status.state = fresh.state;
                }
            },
            State::Running(run) => {
                status.state = ContainerState::running(Some(run.started_at));
                status.last_state = previous();
                // A regular init container is ready once it has completed,
                // never while it runs (the kubelet's status manager): else
                // the pod would count as initialized already.
                status.ready = run.ready && self.role != Role::Init;
                status.started = Some(run.started);
            }
            State::Exited(t) => {
                match waiting {
                    Some(waiting) => {
                        status.state = waiting;
                        status.last_state = ContainerState::terminated(t.clone());
                    }
                    None => {
                        status.state = ContainerState::terminated(t.clone());
                        status.last_state = previous();
                    }
                }
                // A regular init container that completed stays ready.
                status.ready = self.role == Role::Init && t.exit_code == 0;
                status.started = Some(false);
            }
        }
        status
    }
}
