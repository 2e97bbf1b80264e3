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
//! every rule is a table test with a fake clock (`tests.rs`).
//!
//! Each [`PodMachine::handle`] records the input, then re-derives the
//! actions from the whole state ([`PodMachine::sync`]), as the kubelet's
//! level-triggered sync does: the same state always gives the same actions,
//! whatever order the events came in.
//!
//! Rules and their sources: `docs/kubernetes-semantics.md` §4.

mod kill;
mod probe;
mod record;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use minipod_plan::{Plan, Role};
use minipod_spec::AdmittedPod;
use minipod_spec::defaults::DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
use minipod_spec::enums::RestartPolicy;
use minipod_spec::model::{Container, LifecycleHandler, PodSpec};

pub use probe::{ProbeKind, ProbeOutcome, ProbeResult, ProbeSettings};

use crate::backoff::{BackoffConfig, CrashLoop};
use crate::conditions::pod_conditions;
use crate::go_duration::{go_duration, go_millis};
use crate::phase::{PhaseContext, keep_terminal, pod_phase};
use crate::status::{ContainerStateTerminated, PodPhase, PodStatus};
use crate::termination::{KillCause, TerminationOrder, grace_period};
use crate::time::Timestamp;
use kill::{Kill, KillStage};
use probe::ProbeWorker;
use record::{Record, State};

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

/// Which signal a [`Action::Signal`] sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// The container's stop signal: `lifecycle.stopSignal`, else the
    /// image's `STOPSIGNAL`, else SIGTERM (the runtime knows which).
    Stop,
    /// SIGKILL: the grace period is over.
    Kill,
}

/// Something that happened, for the machine to take into account.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Time passed (a [`Action::WakeAt`] came due): re-check deadlines.
    Tick,
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

/// Something for the monitor to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Start instance `attempt` (its restart count) of `container`; answer
    /// with [`Input::Started`] or [`Input::StartFailed`].
    StartContainer { container: String, attempt: u32 },
    /// Run a hook of instance `attempt` (within `timeout` if given); answer
    /// with [`Input::HookDone`].
    RunHook {
        container: String,
        attempt: u32,
        hook: HookKind,
        timeout: Option<Duration>,
    },
    /// Run a probe of instance `attempt`; answer with [`Input::ProbeDone`].
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
    /// Feed me [`Input::Tick`] at this time (replaces any earlier wake-up).
    WakeAt(Timestamp),
    /// [`PodMachine::status`] changed.
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

/// The node's settings the machine needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MachineConfig {
    pub backoff: BackoffConfig,
}

/// Why the pod is stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopCause {
    /// Asked for ([`Input::Stop`], [`Input::KillNow`]).
    Requested,
    /// Every app container is done and none restarts (the Job case, §4.6).
    Completed,
    /// A regular init container failed under `restartPolicy: Never`.
    InitFailed,
}

#[derive(Debug, Clone)]
struct Termination {
    cause: StopCause,
    /// When it began.
    since: Timestamp,
    /// The deletion's grace, replacing the pod's.
    grace: Option<i64>,
    /// Whose exit each container awaits before its stop signal.
    waits: BTreeMap<String, Vec<String>>,
    /// SIGKILL at once.
    now: bool,
}

/// One pod's lifecycle state.
#[derive(Debug, Clone)]
pub struct PodMachine {
    spec: PodSpec,
    pod_label: String,
    config: MachineConfig,
    records: Vec<Record>,
    crash_loop: CrashLoop,
    termination: Option<Termination>,
    /// An app container was started (`HasAnyActiveRegularContainerStarted`):
    /// regular init containers never run again.
    initialized: bool,
    finished: bool,
    /// [`Action::Finished`] was sent.
    finish_reported: bool,
    status: PodStatus,
}

impl PodMachine {
    /// The machine of `pod` as `plan` plans it (the plan of that pod),
    /// created at `now` (its `status.startTime`). Each container's role and
    /// the pod's QoS class are the plan's.
    pub fn new(pod: &AdmittedPod, plan: &Plan, config: MachineConfig, now: Timestamp) -> Self {
        let spec = pod.pod().spec.clone();
        // The plan lists the containers in start order: `initContainers`,
        // then `containers`, as the spec does.
        let records = plan
            .containers
            .iter()
            .zip(spec.init_containers.iter().chain(&spec.containers))
            .map(|(planned, container)| {
                debug_assert_eq!(planned.name, container.name, "the plan of another pod");
                Record::new(container, planned.role)
            })
            .collect();
        let status = PodStatus {
            start_time: Some(now),
            // The status is where the class becomes the API's string.
            qos_class: Some(plan.qos_class.as_str().to_owned()),
            ..PodStatus::default()
        };
        let mut machine = Self {
            pod_label: format!("{}_{}({})", pod.name(), pod.namespace(), pod.uid()),
            spec,
            config,
            records,
            crash_loop: CrashLoop::new(config.backoff),
            termination: None,
            initialized: false,
            finished: false,
            finish_reported: false,
            status,
        };
        machine.refresh_status(now);
        machine
    }

    /// The pod's status as the kubelet would report it now.
    pub fn status(&self) -> &PodStatus {
        &self.status
    }

    /// The node settings it runs with.
    pub fn config(&self) -> MachineConfig {
        self.config
    }

    /// The spec the machine runs.
    pub fn spec(&self) -> &PodSpec {
        &self.spec
    }

    /// Whether the pod is stopping (or stopped) for good.
    pub fn is_terminating(&self) -> bool {
        self.termination.is_some()
    }

    /// Why the pod stops, once it does.
    pub fn stop_cause(&self) -> Option<StopCause> {
        self.termination.as_ref().map(|t| t.cause)
    }

    /// When the pod was asked to stop and with what grace (seconds): its
    /// `metadata.deletionTimestamp` and `deletionGracePeriodSeconds`, which
    /// make kubectl show `Terminating`. `None` unless a stop was requested.
    pub fn deletion(&self) -> Option<(Timestamp, i64)> {
        let t = self.termination.as_ref()?;
        (t.cause == StopCause::Requested).then(|| {
            let grace = t
                .grace
                .or(self.spec.termination_grace_period_seconds)
                .unwrap_or(DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS);
            (t.since, grace)
        })
    }

    /// Whether every container stopped for good.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Takes `input` into account at `now` and says what to do next.
    pub fn handle(&mut self, now: Timestamp, input: Input) -> Vec<Action> {
        let mut out = Vec::new();
        let was_deleted = self.deletion().is_some();
        self.record(now, input, &mut out);
        self.sync(now, &mut out);
        // A requested stop changes the pod (its deletion time) even before
        // any container status does.
        if self.refresh_status(now) || was_deleted != self.deletion().is_some() {
            out.push(Action::StatusChanged);
        }
        if self.finished && !self.finish_reported {
            self.finish_reported = true;
            let phase = self.status.phase.unwrap_or(PodPhase::Unknown);
            out.push(Action::Finished { phase });
        }
        out
    }

    // ------------------------------------------------------------ inputs

    fn record(&mut self, now: Timestamp, input: Input, out: &mut Vec<Action>) {
        match input {
            Input::Tick => {}
            Input::Stop { grace } => self.begin_termination(StopCause::Requested, grace, now),
            Input::KillNow => {
                self.begin_termination(StopCause::Requested, Some(0), now);
                if let Some(t) = &mut self.termination {
                    t.now = true;
                }
            }
            Input::Started {
                container,
                attempt,
                container_id,
                image_id,
            } => {
                let Some(i) = self.index(&container) else {
                    return;
                };
                let rec = &mut self.records[i];
                if !matches!(rec.state, State::Starting) || rec.attempt() != attempt {
                    return;
                }
                let image_pulled = rec.image_pulled;
                rec.started(now, container_id, image_id);
                let c = self.container(i).clone();
                let image = c.image.clone().unwrap_or_default();
                let (name, path) = (c.name.clone(), self.field_path(i));
                let event = |event_type, reason, message: String| {
                    Action::Event(PodEvent {
                        event_type,
                        reason,
                        message,
                        container: Some(name.clone()),
                        field_path: Some(path.clone()),
                    })
                };
                if !image_pulled {
                    out.push(event(
                        "Normal",
                        "Pulled",
                        format!("Container image {image:?} already present on machine"),
                    ));
                }
                out.push(event(
                    "Normal",
                    "Created",
                    format!("Created container: {name}"),
                ));
                out.push(event(
                    "Normal",
                    "Started",
                    format!("Started container {name}"),
                ));
                let Some(run) = self.records[i].run_mut() else {
                    return;
                };
                if HookKind::PostStart.of(&c).is_some() {
                    run.post_start_done = false;
                    out.push(Action::RunHook {
                        container: name,
                        attempt,
                        hook: HookKind::PostStart,
                        timeout: None,
                    });
                }
                for kind in [
                    ProbeKind::Startup,
                    ProbeKind::Liveness,
                    ProbeKind::Readiness,
                ] {
                    if let Some(p) = kind.of(&c) {
                        run.probes
                            .push(ProbeWorker::new(kind, ProbeSettings::of(p), now));
                    }
                }
                if c.startup_probe.is_none() {
                    run.started = true;
                    run.ready = c.readiness_probe.is_none();
                }
            }
            Input::ImagePulled {
                container,
                attempt,
                image,
                pull,
            } => {
                let Some(i) = self.index(&container) else {
                    return;
                };
                let rec = &mut self.records[i];
                if !matches!(rec.state, State::Starting) || rec.attempt() != attempt {
                    return;
                }
                rec.image_pulled = true;
                // The image manager's event (`EnsureImageExists`).
                let message = format!(
                    "Successfully pulled image {image:?} in {} ({} including waiting). \
                     Image size: {} bytes.",
                    go_millis(pull.took),
                    go_millis(pull.waited),
                    pull.size
                );
                out.push(self.event(i, "Normal", "Pulled", message));
            }
            Input::StartFailed {
                container,
                attempt,
                failure,
            } => {
                let Some(i) = self.index(&container) else {
                    return;
                };
                if !matches!(self.records[i].state, State::Starting)
                    || self.records[i].attempt() != attempt
                {
                    return;
                }
                // The kubelet's events: for an image, what went wrong and
                // then `Error: <reason>`; otherwise `Error: <message>`.
                match &failure {
                    StartFailureStatus::Waiting { reason, message }
                        if reason.starts_with("ErrImage") =>
                    {
                        let first = if reason == "ErrImageNeverPull" {
                            "ErrImageNeverPull"
                        } else {
                            "Failed"
                        };
                        out.push(self.event(i, "Warning", first, message.clone()));
                        out.push(self.event(i, "Warning", "Failed", format!("Error: {reason}")));
                    }
                    StartFailureStatus::Waiting { message, .. } => {
                        out.push(self.event(i, "Warning", "Failed", format!("Error: {message}")));
                    }
                    StartFailureStatus::Terminated(t) => {
                        let message = t.message.clone().unwrap_or_default();
                        out.push(self.event(i, "Warning", "Failed", format!("Error: {message}")));
                    }
                }
                let key = self.records[i].name.clone();
                match failure {
                    StartFailureStatus::Waiting { reason, message } => {
                        self.records[i].start_failed(reason, message);
                        self.crash_loop.record_exit(&key, now);
                    }
                    StartFailureStatus::Terminated(t) => {
                        let finished = t.finished_at.unwrap_or(now);
                        self.records[i].exited_at_start(t);
                        self.crash_loop.record_exit(&key, finished);
                    }
                }
            }
            Input::Exited {
                container,
                terminated,
            } => {
                let Some(i) = self.index(&container) else {
                    return;
                };
                let finished = terminated.finished_at.unwrap_or(now);
                if self.records[i].exited(terminated) {
                    self.crash_loop.record_exit(&container, finished);
                }
            }
            Input::HookDone {
                container,
                attempt,
                hook,
                error,
            } => {
                let Some(i) = self.index(&container) else {
                    return;
                };
                if self.records[i].attempt() != attempt {
                    return;
                }
                let Some(run) = self.records[i].run_mut() else {
                    return;
                };
                match hook {
                    HookKind::PostStart => {
                        if error.is_none() {
                            run.post_start_done = true;
                        } else if run.kill.is_none() {
                            // `startContainer`: the hook's text is left out
                            // of the event so that secrets do not leak.
                            out.push(self.event(
                                i,
                                "Warning",
                                "FailedPostStartHook",
                                "PostStartHook failed".into(),
                            ));
                            self.begin_kill(i, KillCause::Stop, now, out, None);
                        }
                    }
                    HookKind::PreStop => {
                        if let Some(kill) = &mut run.kill {
                            kill.pre_stop_done = true;
                        }
                        if error.is_some() {
                            out.push(self.event(
                                i,
                                "Warning",
                                "FailedPreStopHook",
                                "PreStopHook failed".into(),
                            ));
                        }
                    }
                }
            }
            Input::ProbeDone {
                container,
                attempt,
                probe,
                outcome,
            } => self.probe_done(now, &container, attempt, probe, outcome, out),
            Input::SpecUpdated(spec) => self.spec_updated(*spec, out),
        }
    }

    /// Takes the new spec. A container whose definition changed gets a
    /// fresh CrashLoopBackOff: the kubelet's back-off key includes the
    /// container's hash (`GetStableKey`), so a new image is tried at once.
    /// Running ones are restarted by [`PodMachine::restart_changed`].
    fn spec_updated(&mut self, spec: PodSpec, out: &mut Vec<Action>) {
        let same_containers = |a: &[Container], b: &[Container]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.name == y.name)
        };
        if !same_containers(&spec.init_containers, &self.spec.init_containers)
            || !same_containers(&spec.containers, &self.spec.containers)
        {
            // The API server refuses such an update; never take it here.
            return;
        }
        self.spec = spec;
        for i in 0..self.records.len() {
            let c = self.container(i).clone();
            if self.records[i].set_definition(&c) {
                self.crash_loop.forget(&c.name);
            }
        }
        // The spec is part of the pod the monitor reports.
        out.push(Action::StatusChanged);
    }

    fn probe_done(
        &mut self,
        now: Timestamp,
        container: &str,
        attempt: u32,
        kind: ProbeKind,
        outcome: ProbeOutcome,
        out: &mut Vec<Action>,
    ) {
        let Some(i) = self.index(container) else {
            return;
        };
        if self.records[i].attempt() != attempt {
            return;
        }
        let has_readiness = self.container(i).readiness_probe.is_some();
        let Some(run) = self.records[i].run_mut() else {
            return;
        };
        let Some(worker) = run.probes.iter_mut().find(|w| w.kind == kind) else {
            return;
        };
        let changed = worker.finish(outcome == ProbeOutcome::Success);
        match changed {
            Some(ProbeResult::Success) => match kind {
                ProbeKind::Startup => {
                    run.started = true;
                    run.ready = !has_readiness;
                }
                ProbeKind::Readiness => run.ready = true,
                ProbeKind::Liveness => {}
            },
            Some(ProbeResult::Failure) if kind == ProbeKind::Readiness => run.ready = false,
            _ => {}
        }
        let terminating = self.termination.is_some();
        if let ProbeOutcome::Failure(why) = &outcome {
            let text = format!("{} probe failed: {}", kind.as_str(), why.trim_end());
            out.push(self.event(i, "Warning", "Unhealthy", text));
        }
        if changed == Some(ProbeResult::Failure) && kind != ProbeKind::Readiness && !terminating {
            let cause = match kind {
                ProbeKind::Startup => KillCause::StartupProbe,
                _ => KillCause::LivenessProbe,
            };
            let message = format!(
                "Container {} failed {} probe, will be restarted",
                self.records[i].name,
                kind.as_str().to_lowercase()
            );
            let restart = self.records[i].role == Role::Sidecar
                || self.spec.restart_policy != Some(RestartPolicy::Never);
            self.records[i].restart_after_kill = restart;
            self.begin_kill(i, cause, now, out, Some(message));
        }
    }

    // -------------------------------------------------------------- sync

    /// Derives what to do from the whole state (the kubelet's
    /// `computePodActions`, then the kills' and probes' deadlines).
    fn sync(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        if self.finished {
            return;
        }
        let mut wake: Option<Timestamp> = None;
        if self.termination.is_some() {
            self.sync_termination(now, out);
        } else {
            self.restart_changed(now, out);
            self.sync_starts(now, out, &mut wake);
        }
        if self.termination.is_some() && self.termination.as_ref().is_some_and(|t| t.now) {
            for i in 0..self.records.len() {
                self.kill_now(i, out);
            }
        }
        for i in 0..self.records.len() {
            self.advance_kill(i, now, out, &mut wake);
            self.run_probes(i, now, out, &mut wake);
        }
        if self.termination.is_some()
            && self
                .records
                .iter()
                .all(|r| !matches!(r.state, State::Running(_) | State::Starting))
        {
            self.finished = true;
            return;
        }
        if let Some(at) = wake {
            out.push(Action::WakeAt(at));
        }
    }

    /// Init progression (§4.2), then the app containers (§4.1 step 3), then
    /// whether the pod is done (§4.1 step 4).
    fn sync_starts(&mut self, now: Timestamp, out: &mut Vec<Action>, wake: &mut Option<Timestamp>) {
        let inits = self.spec.init_containers.len();
        for i in 0..inits {
            let sidecar = self.records[i].role == Role::Sidecar;
            // Completed init containers never run again once the pod has
            // initialized.
            if !sidecar && self.initialized {
                continue;
            }
            match &self.records[i].state {
                State::NotCreated => {
                    self.try_start(i, now, out, wake);
                    return;
                }
                State::Starting => return,
                State::Running(run) => {
                    // A sidecar lets the next container start once it runs,
                    // its startup probe succeeded and its postStart ended;
                    // a regular init container once it exits 0.
                    let initialized = sidecar && run.started && run.post_start_done;
                    if !initialized && !self.initialized {
                        return;
                    }
                }
                State::Exited(_) if sidecar => {
                    // Sidecars restart on any exit, under any policy.
                    self.try_start(i, now, out, wake);
                    if !self.initialized {
                        return;
                    }
                }
                State::Exited(t) => {
                    if t.exit_code == 0 {
                        continue;
                    }
                    if self.spec.restart_policy == Some(RestartPolicy::Never) {
                        self.begin_termination(StopCause::InitFailed, None, now);
                        self.sync_termination(now, out);
                        return;
                    }
                    self.try_start(i, now, out, wake);
                    return;
                }
            }
        }

        // Every init container is done: the app containers, in order, each
        // after the previous one's start (and postStart) finished.
        for i in inits..self.records.len() {
            match &self.records[i].state {
                State::NotCreated => {
                    self.initialized = true;
                    self.try_start(i, now, out, wake);
                    if !self.records[i].is_idle() {
                        return;
                    }
                }
                State::Starting => return,
                State::Running(run) => {
                    if !run.post_start_done {
                        return;
                    }
                }
                State::Exited(t) => {
                    if self.should_restart(i, t) {
                        self.try_start(i, now, out, wake);
                        if !self.records[i].is_idle() {
                            return;
                        }
                    }
                }
            }
        }

        let apps = &self.records[inits..];
        let done = !apps.is_empty()
            && apps.iter().enumerate().all(|(k, r)| match &r.state {
                State::Exited(t) => !self.should_restart(inits + k, t),
                _ => false,
            });
        if done {
            self.begin_termination(StopCause::Completed, None, now);
            self.sync_termination(now, out);
        }
    }

    /// Kills each running sidecar or app container whose definition
    /// changed since it started, to start it again with the new one,
    /// whatever the restart policy (`computePodActions`: "Container %s
    /// definition changed", `restart = true`). A regular init container
    /// runs to its end: the new definition is for its next run, if any.
    fn restart_changed(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        for i in 0..self.records.len() {
            let rec = &self.records[i];
            let changed = rec.role != Role::Init
                && rec.runs_outdated_definition()
                && matches!(&rec.state, State::Running(run) if run.kill.is_none());
            if changed {
                let message = format!(
                    "Container {} definition changed, will be restarted",
                    rec.name
                );
                self.records[i].restart_for_change = true;
                self.begin_kill(i, KillCause::Stop, now, out, Some(message));
            }
        }
    }

    /// `ShouldContainerBeRestarted` for an app container that exited.
    fn should_restart(&self, i: usize, t: &ContainerStateTerminated) -> bool {
        let policy = self
            .spec
            .restart_policy
            .clone()
            .unwrap_or(RestartPolicy::Always);
        if self.records[i].restart_for_change {
            return true;
        }
        if self.records[i].restart_after_kill {
            return policy != RestartPolicy::Never;
        }
        match policy {
            RestartPolicy::Never => false,
            RestartPolicy::OnFailure => t.exit_code != 0,
            _ => true,
        }
    }

    /// Starts container `i` unless its CrashLoopBackOff says wait (§4.9).
    fn try_start(
        &mut self,
        i: usize,
        now: Timestamp,
        out: &mut Vec<Action>,
        wake: &mut Option<Timestamp>,
    ) {
        let name = self.records[i].name.clone();
        match self.crash_loop.try_restart(&name, now) {
            Ok(()) => {
                let attempt = self.records[i].begin_start();
                out.push(Action::StartContainer {
                    container: name,
                    attempt,
                });
            }
            Err(remaining) => {
                let delay = self.crash_loop.delay(&name);
                let image = self.container(i).image.clone().unwrap_or_default();
                let rec = &mut self.records[i];
                let pulling = matches!(
                    rec.waiting_reason(),
                    Some("ErrImagePull") | Some("ImagePullBackOff")
                );
                if pulling {
                    // The image manager's back-off (`EnsureImageExists`):
                    // the status keeps the last pull's error; the events
                    // are a Normal BackOff and `Error: ImagePullBackOff`.
                    let reason = "ImagePullBackOff";
                    let first = rec.waiting_reason() != Some(reason);
                    if first {
                        let last_error = rec.waiting_message().unwrap_or_default().to_owned();
                        let back_off = format!("Back-off pulling image {image:?}");
                        rec.set_waiting(reason, format!("{back_off}: ErrImagePull: {last_error}"));
                        out.push(self.event(i, "Normal", "BackOff", back_off));
                        out.push(self.event(
                            i,
                            "Warning",
                            "Failed",
                            "Error: ImagePullBackOff".into(),
                        ));
                    }
                } else {
                    let reason = crate::status::reasons::CRASH_LOOP_BACK_OFF;
                    let message = format!(
                        "back-off {} restarting failed container={name} pod={}",
                        go_duration(delay),
                        self.pod_label
                    );
                    let first = rec.waiting_reason() != Some(reason);
                    rec.set_waiting(reason, message);
                    if first {
                        let event_message = format!(
                            "Back-off restarting failed container {name} in pod {}",
                            self.pod_label
                        );
                        out.push(self.event(i, "Warning", "BackOff", event_message));
                    }
                }
                at_earliest(wake, now.plus(remaining));
            }
        }
    }

    // ------------------------------------------------------- termination

    fn begin_termination(&mut self, cause: StopCause, grace: Option<i64>, now: Timestamp) {
        if let Some(t) = &mut self.termination {
            // A second stop may only shorten the grace.
            t.grace = match (t.grace, grace) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => b.or(a),
            };
            return;
        }
        let running: Vec<&str> = self
            .records
            .iter()
            .filter(|r| matches!(r.state, State::Running(_)))
            .map(|r| r.name.as_str())
            .collect();
        let order = TerminationOrder::new(&self.spec, &running);
        let waits = self
            .records
            .iter()
            .map(|r| {
                let waits = order
                    .waits_for(&r.name)
                    .into_iter()
                    .map(String::from)
                    .collect();
                (r.name.clone(), waits)
            })
            .collect();
        for rec in &mut self.records {
            rec.clear_waiting_after_exit();
        }
        self.termination = Some(Termination {
            cause,
            since: now,
            grace,
            waits,
            now: false,
        });
    }

    /// Every running container not being stopped yet starts its stop.
    fn sync_termination(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        for i in 0..self.records.len() {
            let stopping = match &self.records[i].state {
                State::Running(run) => run.kill.is_some(),
                _ => true,
            };
            if !stopping {
                let waits = self
                    .termination
                    .as_ref()
                    .and_then(|t| t.waits.get(&self.records[i].name).cloned())
                    .unwrap_or_default();
                self.begin_kill(i, KillCause::Stop, now, out, None);
                if let Some(kill) = self.records[i].run_mut().and_then(|r| r.kill.as_mut()) {
                    kill.waits_for = waits;
                }
            }
        }
    }

    /// Starts stopping container `i` (`killContainer`): its preStop hook
    /// first, if it has one and there is grace for it.
    fn begin_kill(
        &mut self,
        i: usize,
        cause: KillCause,
        now: Timestamp,
        out: &mut Vec<Action>,
        message: Option<String>,
    ) {
        let deletion_grace = self.termination.as_ref().and_then(|t| t.grace);
        let name = self.records[i].name.clone();
        let grace = grace_period(&self.spec, &name, cause, deletion_grace, None);
        let has_pre_stop = HookKind::PreStop.of(self.container(i)).is_some();
        let attempt = self.records[i].attempt();
        let message = message.unwrap_or_else(|| format!("Stopping container {name}"));
        out.push(self.event(i, "Normal", "Killing", message));
        let Some(run) = self.records[i].run_mut() else {
            return;
        };
        let mut kill = Kill::new(grace, now);
        if has_pre_stop && let Some(timeout) = kill.budget.pre_stop_timeout() {
            kill.stage = KillStage::PreStop {
                since: now,
                deadline: now.plus(timeout),
            };
            out.push(Action::RunHook {
                container: name,
                attempt,
                hook: HookKind::PreStop,
                timeout: Some(timeout),
            });
        } else {
            kill.pre_stop_done = true;
        }
        run.kill = Some(kill);
    }

    /// Moves container `i`'s stop along: preStop done or out of time →
    /// wait for its turn → stop signal → SIGKILL at the end of the grace.
    fn advance_kill(
        &mut self,
        i: usize,
        now: Timestamp,
        out: &mut Vec<Action>,
        wake: &mut Option<Timestamp>,
    ) {
        let running: Vec<bool> = self
            .records
            .iter()
            .map(|r| matches!(r.state, State::Running(_) | State::Starting))
            .collect();
        let names: Vec<String> = self.records.iter().map(|r| r.name.clone()).collect();
        let name = names[i].clone();
        let Some(kill) = self.records[i].run_mut().and_then(|r| r.kill.as_mut()) else {
            return;
        };
        let others_gone = |waits: &[String]| {
            waits.iter().all(|w| {
                names
                    .iter()
                    .position(|n| n == w)
                    .is_none_or(|k| !running[k])
            })
        };
        let mut signal = None;
        loop {
            match kill.stage {
                KillStage::PreStop { since, deadline } => {
                    if !(kill.pre_stop_done || now >= deadline) {
                        at_earliest(wake, deadline);
                        break;
                    }
                    kill.budget = kill.budget.after_pre_stop(now.since(since));
                    kill.stage = KillStage::Turn { since: now };
                }
                KillStage::Turn { since } => {
                    let deadline = kill.budget.wait_timeout().map(|d| since.plus(d));
                    let ready = kill.waits_for.is_empty() || others_gone(&kill.waits_for);
                    match deadline {
                        Some(d) if !ready && now < d => {
                            at_earliest(wake, d);
                            break;
                        }
                        Some(_) if !kill.waits_for.is_empty() => {
                            kill.budget = kill.budget.after_wait(now.since(since));
                        }
                        _ => {}
                    }
                    let timeout = kill.budget.stop_timeout();
                    kill.stage = KillStage::Signaled {
                        kill_at: now.plus_seconds(timeout),
                    };
                    signal = Some(StopSignal::Stop);
                }
                KillStage::Signaled { kill_at } => {
                    if now < kill_at {
                        at_earliest(wake, kill_at);
                        break;
                    }
                    kill.stage = KillStage::Killed;
                    signal = Some(StopSignal::Kill);
                }
                KillStage::Killed => break,
            }
            if let Some(signal) = signal.take() {
                out.push(Action::Signal {
                    container: name.clone(),
                    signal,
                });
            }
        }
    }

    fn kill_now(&mut self, i: usize, out: &mut Vec<Action>) {
        let name = self.records[i].name.clone();
        let Some(run) = self.records[i].run_mut() else {
            return;
        };
        let mut kill = run
            .kill
            .take()
            .unwrap_or_else(|| Kill::new(0, Timestamp::from_unix_nanos(0)));
        if kill.stage != KillStage::Killed {
            kill.stage = KillStage::Killed;
            out.push(Action::Signal {
                container: name,
                signal: StopSignal::Kill,
            });
        }
        run.kill = Some(kill);
    }

    // ------------------------------------------------------------ probes

    /// Asks for the probes of container `i` that are due: startup until it
    /// succeeds, then liveness and readiness (§4.5). During the pod's
    /// termination only readiness runs, and only while the preStop hook
    /// does (LC-A11).
    fn run_probes(
        &mut self,
        i: usize,
        now: Timestamp,
        out: &mut Vec<Action>,
        wake: &mut Option<Timestamp>,
    ) {
        let attempt = self.records[i].attempt();
        let name = self.records[i].name.clone();
        let Some(run) = self.records[i].run_mut() else {
            return;
        };
        let (started, stopping) = (run.started, run.kill.as_ref());
        let in_pre_stop = stopping.is_some_and(|k| matches!(k.stage, KillStage::PreStop { .. }));
        let mut asks = Vec::new();
        for worker in &mut run.probes {
            let active = match worker.kind {
                ProbeKind::Startup => !started && stopping.is_none(),
                ProbeKind::Liveness => started && stopping.is_none(),
                ProbeKind::Readiness => started && (stopping.is_none() || in_pre_stop),
            };
            if !active || worker.on_hold {
                continue;
            }
            if worker.due(now) {
                worker.begin(now);
                asks.push(Action::RunProbe {
                    container: name.clone(),
                    attempt,
                    probe: worker.kind,
                    timeout: worker.settings.timeout,
                });
            }
            if !worker.in_flight {
                at_earliest(wake, worker.next_at);
            }
        }
        out.extend(asks);
    }

    // ------------------------------------------------------------ status

    /// Recomputes the status; true if it changed.
    fn refresh_status(&mut self, now: Timestamp) -> bool {
        let has_init = !self.spec.init_containers.is_empty();
        let inits = self.spec.init_containers.len();
        let mut status = PodStatus {
            start_time: self.status.start_time,
            qos_class: self.status.qos_class.clone(),
            host_ip: self.status.host_ip.clone(),
            host_ips: self.status.host_ips.clone(),
            pod_ip: self.status.pod_ip.clone(),
            pod_ips: self.status.pod_ips.clone(),
            init_container_statuses: self.records[..inits]
                .iter()
                .map(|r| r.status(has_init))
                .collect(),
            container_statuses: self.records[inits..]
                .iter()
                .map(|r| r.status(has_init))
                .collect(),
            ..PodStatus::default()
        };
        let context = PhaseContext {
            pod_is_terminal: self.finished,
            pod_has_initialized: self.initialized,
        };
        let mut phase = keep_terminal(self.status.phase, pod_phase(&self.spec, &status, context));
        // A pod whose containers all stopped for good is over: if its
        // statuses still say Pending or Running (stopped while an init
        // container waited to restart), it Failed (`generateAPIPodStatus`).
        if self.finished && !phase.is_terminal() {
            phase = PodPhase::Failed;
        }
        status.phase = Some(phase);
        status.conditions =
            pod_conditions(&self.spec, &status, phase, &self.status.conditions, now);
        let changed = status != self.status;
        self.status = status;
        changed
    }

    /// Sets the node-given status fields (`hostIP(s)`, `podIP(s)`).
    pub fn set_node_fields(&mut self, host_ip: &str, pod_ip: &str) {
        let ip = |ip: &str| crate::status::PodIp { ip: ip.to_owned() };
        self.status.host_ip = Some(host_ip.to_owned());
        self.status.host_ips = vec![ip(host_ip)];
        self.status.pod_ip = Some(pod_ip.to_owned());
        self.status.pod_ips = vec![ip(pod_ip)];
    }

    // ----------------------------------------------------------- helpers

    fn index(&self, name: &str) -> Option<usize> {
        self.records.iter().position(|r| r.name == name)
    }

    fn container(&self, i: usize) -> &Container {
        let inits = self.spec.init_containers.len();
        if i < inits {
            &self.spec.init_containers[i]
        } else {
            &self.spec.containers[i - inits]
        }
    }

    fn field_path(&self, i: usize) -> String {
        let rec = &self.records[i];
        rec.role.field_path(&rec.name)
    }

    fn event(
        &self,
        i: usize,
        event_type: &'static str,
        reason: &'static str,
        message: String,
    ) -> Action {
        Action::Event(PodEvent {
            event_type,
            reason,
            message,
            container: Some(self.records[i].name.clone()),
            field_path: Some(self.field_path(i)),
        })
    }
}

fn at_earliest(wake: &mut Option<Timestamp>, at: Timestamp) {
    *wake = Some(wake.map_or(at, |w| w.min(at)));
}
