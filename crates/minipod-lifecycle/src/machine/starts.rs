//! Which containers start, and when (§4.1–§4.3, §4.9): init progression,
//! the app containers, restarts by policy, restarts for a changed
//! definition, CrashLoopBackOff and ImagePullBackOff.

use minipod_plan::Role;
use minipod_spec::enums::RestartPolicy;

use super::action::Action;
use super::pod_machine::{PodMachine, StopCause, at_earliest};
use super::record::State;
use crate::go_duration::go_duration;
use crate::status::ContainerStateTerminated;
use crate::termination::KillCause;
use crate::time::Timestamp;

impl PodMachine {
    /// Init progression (§4.2), then the app containers (§4.1 step 3), then
    /// whether the pod is done (§4.1 step 4).
    pub(super) fn sync_starts(
        &mut self,
        now: Timestamp,
        out: &mut Vec<Action>,
        wake: &mut Option<Timestamp>,
    ) {
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
    pub(super) fn restart_changed(&mut self, now: Timestamp, out: &mut Vec<Action>) {
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
    pub(super) fn should_restart(&self, i: usize, t: &ContainerStateTerminated) -> bool {
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
    pub(super) fn try_start(
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
}
