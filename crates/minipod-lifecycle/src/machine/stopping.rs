//! Stopping containers and the pod (§4.7): the pod's termination, each
//! container's kill (preStop, its turn, the stop signal, SIGKILL at the
//! end of the grace), and the kill at once of a second stop.

use super::action::{Action, StopSignal};
use super::input::HookKind;
use super::kill::{Kill, KillStage};
use super::pod_machine::{PodMachine, StopCause, Termination, at_earliest};
use super::record::State;
use crate::termination::{KillCause, TerminationOrder, grace_period};
use crate::time::Timestamp;

impl PodMachine {
    pub(super) fn begin_termination(
        &mut self,
        cause: StopCause,
        grace: Option<i64>,
        now: Timestamp,
    ) {
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
    pub(super) fn sync_termination(&mut self, now: Timestamp, out: &mut Vec<Action>) {
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
    pub(super) fn begin_kill(
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
    pub(super) fn advance_kill(
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

    pub(super) fn kill_now(&mut self, i: usize, out: &mut Vec<Action>) {
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
}
