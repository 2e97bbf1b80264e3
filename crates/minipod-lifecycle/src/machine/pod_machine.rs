//! The machine of one pod: its state, how it is built from the pod and its
//! plan, and `handle`: record the input, then re-derive every action from
//! the whole state ([`PodMachine::sync`]).

use std::collections::BTreeMap;

use minipod_plan::Plan;
use minipod_spec::AdmittedPod;
use minipod_spec::defaults::DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
use minipod_spec::model::{Container, PodSpec};

use super::action::{Action, PodEvent};
use super::input::Input;
use super::record::{Record, State};
use crate::backoff::{BackoffConfig, CrashLoop};
use crate::status::{PodPhase, PodStatus};
use crate::time::Timestamp;

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
    /// The pod was active longer than `activeDeadlineSeconds` (§4.16).
    DeadlineExceeded,
}

#[derive(Debug, Clone)]
pub(super) struct Termination {
    pub(super) cause: StopCause,
    /// When it began.
    pub(super) since: Timestamp,
    /// The deletion's grace, replacing the pod's.
    pub(super) grace: Option<i64>,
    /// Whose exit each container awaits before its stop signal.
    pub(super) waits: BTreeMap<String, Vec<String>>,
    /// SIGKILL at once.
    pub(super) now: bool,
}

/// Where the pod's sandbox stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sandbox {
    /// There is none: create it at `retry_at` (at once if `None`).
    /// `failures`: the creations that failed so far.
    Missing {
        failures: u32,
        retry_at: Option<Timestamp>,
    },
    /// [`Action::CreateSandbox`](super::Action::CreateSandbox) was sent; its outcome has not come back.
    Creating { failures: u32 },
    /// It exists: containers may start.
    Ready,
}

impl Sandbox {
    /// No sandbox yet, none asked for.
    pub(super) fn new() -> Sandbox {
        Sandbox::Missing {
            failures: 0,
            retry_at: None,
        }
    }
}

/// One pod's lifecycle state.
#[derive(Debug, Clone)]
pub struct PodMachine {
    pub(super) spec: PodSpec,
    pub(super) pod_label: String,
    pub(super) config: MachineConfig,
    pub(super) records: Vec<Record>,
    /// The sandbox: no container starts before it exists.
    pub(super) sandbox: Sandbox,
    pub(super) crash_loop: CrashLoop,
    pub(super) termination: Option<Termination>,
    /// An app container was started (`HasAnyActiveRegularContainerStarted`):
    /// regular init containers never run again.
    pub(super) initialized: bool,
    pub(super) finished: bool,
    /// `activeDeadlineSeconds` passed: the pod is Failed with reason
    /// `DeadlineExceeded` (`deadline.rs`).
    pub(super) deadline_exceeded: bool,
    /// [`Action::Finished`] was sent.
    pub(super) finish_reported: bool,
    pub(super) status: PodStatus,
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
            sandbox: Sandbox::new(),
            crash_loop: CrashLoop::new(config.backoff),
            termination: None,
            initialized: false,
            finished: false,
            deadline_exceeded: false,
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

    /// Derives what to do from the whole state (the kubelet's
    /// `computePodActions`, then the kills' and probes' deadlines).
    pub(super) fn sync(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        if self.finished {
            return;
        }
        let mut wake: Option<Timestamp> = None;
        self.check_active_deadline(now, out, &mut wake);
        if self.termination.is_some() {
            self.sync_termination(now, out);
        } else if self.has_sandbox() {
            self.restart_changed(now, out);
            self.sync_starts(now, out, &mut wake);
        } else {
            self.sync_sandbox(now, out, &mut wake);
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
        // A sandbox being created may still come back: it is removed with
        // the pod, so the pod ends after its outcome.
        if self.termination.is_some()
            && !matches!(self.sandbox, Sandbox::Creating { .. })
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

    pub(super) fn index(&self, name: &str) -> Option<usize> {
        self.records.iter().position(|r| r.name == name)
    }

    /// The index of `name` if instance `attempt` of it is the one starting
    /// now; an input about any other instance is stale and ignored.
    pub(super) fn starting(&self, name: &str, attempt: u32) -> Option<usize> {
        self.index(name).filter(|&i| {
            let rec = &self.records[i];
            matches!(rec.state, State::Starting) && rec.attempt() == attempt
        })
    }

    pub(super) fn container(&self, i: usize) -> &Container {
        let inits = self.spec.init_containers.len();
        if i < inits {
            &self.spec.init_containers[i]
        } else {
            &self.spec.containers[i - inits]
        }
    }

    pub(super) fn field_path(&self, i: usize) -> String {
        let rec = &self.records[i];
        rec.role.field_path(&rec.name)
    }

    pub(super) fn event(
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

pub(super) fn at_earliest(wake: &mut Option<Timestamp>, at: Timestamp) {
    *wake = Some(wake.map_or(at, |w| w.min(at)));
}
