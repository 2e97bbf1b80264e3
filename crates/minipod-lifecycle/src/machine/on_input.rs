//! How the machine takes each input into account ([`PodMachine::record`]),
//! before it re-derives its actions: the kubelet's events for starts, start
//! failures and hooks, the records' new states, an updated spec.

use minipod_spec::model::{Container, PodSpec};

use super::action::{Action, PodEvent};
use super::input::{HookKind, Input, PullDone, StartFailureStatus};
use super::pod_machine::{PodMachine, StopCause};
use super::probe::{ProbeKind, ProbeSettings, ProbeWorker};
use super::record::State;
use crate::go_duration::go_millis;
use crate::status::ContainerStateTerminated;
use crate::termination::KillCause;
use crate::time::Timestamp;

impl PodMachine {
    /// Takes `input` into account at `now`; the events it causes go to `out`.
    pub(super) fn record(&mut self, now: Timestamp, input: Input, out: &mut Vec<Action>) {
        match input {
            Input::Tick => {}
            Input::SandboxCreated { addresses } => self.sandbox_created(&addresses),
            Input::SandboxFailed { reason, error } => {
                self.sandbox_failed(now, reason, &error, out);
            }
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
            } => self.started(now, container, attempt, container_id, image_id, out),
            Input::ImagePulled {
                container,
                attempt,
                image,
                pull,
            } => self.image_pulled(container, attempt, image, pull, out),
            Input::StartFailed {
                container,
                attempt,
                failure,
            } => self.start_failed(now, container, attempt, failure, out),
            Input::Exited {
                container,
                terminated,
            } => self.exited(now, container, terminated),
            Input::HookDone {
                container,
                attempt,
                hook,
                error,
            } => self.hook_done(now, container, attempt, hook, error, out),
            Input::ProbeDone {
                container,
                attempt,
                probe,
                outcome,
            } => self.probe_done(now, &container, attempt, probe, outcome, out),
            Input::SpecUpdated(spec) => self.spec_updated(*spec, out),
        }
    }

    /// Instance `attempt` runs: the kubelet's `Pulled` (when no pull came
    /// first), `Created` and `Started` events, its postStart hook and its
    /// probe workers.
    fn started(
        &mut self,
        now: Timestamp,
        container: String,
        attempt: u32,
        container_id: String,
        image_id: String,
        out: &mut Vec<Action>,
    ) {
        let Some(i) = self.starting(&container, attempt) else {
            return;
        };
        let rec = &mut self.records[i];
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

    /// The image of the starting instance was pulled for it: the image
    /// manager's `Pulled` event.
    fn image_pulled(
        &mut self,
        container: String,
        attempt: u32,
        image: String,
        pull: PullDone,
        out: &mut Vec<Action>,
    ) {
        let Some(i) = self.starting(&container, attempt) else {
            return;
        };
        let rec = &mut self.records[i];
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

    /// The start of instance `attempt` failed: the kubelet's events, then
    /// the record waits or counts an exit, for the back-off.
    fn start_failed(
        &mut self,
        now: Timestamp,
        container: String,
        attempt: u32,
        failure: StartFailureStatus,
        out: &mut Vec<Action>,
    ) {
        let Some(i) = self.index(&container) else {
            return;
        };
        if !matches!(self.records[i].state, State::Starting) || self.records[i].attempt() != attempt
        {
            return;
        }
        // The kubelet's events: for an image, what went wrong and
        // then `Error: <reason>`; otherwise `Error: <message>`.
        match &failure {
            StartFailureStatus::Waiting { reason, message } if reason.starts_with("ErrImage") => {
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

    /// The current instance exited.
    fn exited(&mut self, now: Timestamp, container: String, terminated: ContainerStateTerminated) {
        let Some(i) = self.index(&container) else {
            return;
        };
        let finished = terminated.finished_at.unwrap_or(now);
        if self.records[i].exited(terminated) {
            self.crash_loop.record_exit(&container, finished);
        }
    }

    /// A hook of instance `attempt` finished: a failed postStart kills the
    /// container; a preStop ends its stage.
    fn hook_done(
        &mut self,
        now: Timestamp,
        container: String,
        attempt: u32,
        hook: HookKind,
        error: Option<String>,
        out: &mut Vec<Action>,
    ) {
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

    /// Takes the new spec. A container whose definition changed gets a
    /// fresh CrashLoopBackOff: the kubelet's back-off key includes the
    /// container's hash (`GetStableKey`), so a new image is tried at once.
    /// Running ones are restarted by [`PodMachine::restart_changed`].
    pub(super) fn spec_updated(&mut self, spec: PodSpec, out: &mut Vec<Action>) {
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
}
