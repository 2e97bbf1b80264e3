//! The probes of running containers (§4.5): which are due, and what a
//! result does (started, ready, or a kill and a restart by policy). The
//! bookkeeping of one prober worker is in `probe.rs`.

use minipod_plan::Role;
use minipod_spec::enums::RestartPolicy;

use super::action::Action;
use super::kill::KillStage;
use super::pod_machine::{PodMachine, at_earliest};
use super::probe::{ProbeKind, ProbeOutcome, ProbeResult};
use crate::termination::KillCause;
use crate::time::Timestamp;

impl PodMachine {
    pub(super) fn probe_done(
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

    /// Asks for the probes of container `i` that are due: startup until it
    /// succeeds, then liveness and readiness (§4.5). During the pod's
    /// termination only readiness runs, and only while the preStop hook
    /// does (LC-A11).
    pub(super) fn run_probes(
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
}
