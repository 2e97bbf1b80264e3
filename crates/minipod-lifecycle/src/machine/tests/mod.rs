//! The lifecycle's rules, one table test each, with a fake clock.
//!
//! A [`Sim`] plays the monitor: it feeds the machine inputs at chosen
//! times and keeps every action it answered. Named after the behaviour, as
//! the kubelet's `TestComputePodActions*` tests are. One file per part of
//! the machine: `starts.rs` (init progression), `restarts.rs` (restarts,
//! updates, back-off), `probing.rs`, `stopping.rs`, `deadline.rs`
//! (`activeDeadlineSeconds`), `completion.rs` (the
//! pod's end and its events).

use std::time::Duration;

use minipod_plan::addresses::PodAddresses;
use minipod_plan::{NodeFacts, plan};
use minipod_spec::{AdmittedPod, ServerAssigned, admit, load};

use super::pod_machine::PodMachine;
use super::record::State;
use super::*;
use crate::backoff::BackoffConfig;
use crate::printer::{PodView, kubectl_columns};
use crate::status::{ConditionStatus, ContainerStateTerminated, PodPhase, condition_type};
use crate::time::Timestamp;

mod addresses;
mod completion;
mod deadline;
mod probing;
mod restarts;
mod sandbox;
mod starts;
mod stopping;

const T0: i64 = 1_700_000_000;

fn pod(yaml: &str) -> AdmittedPod {
    let text = format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec: {yaml}\n");
    let loaded = load::parse_manifests(text.as_bytes(), "pod.yaml")
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let [item] = <[_; 1]>::try_from(loaded).unwrap_or_else(|_| panic!("one pod"));
    let assigned = ServerAssigned {
        uid: "00000000-0000-4000-8000-000000000000".into(),
        name_suffix: "abcde".into(),
    };
    admit(item.pod, &assigned).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// A fake monitor.
struct Sim {
    machine: PodMachine,
    now: Timestamp,
    /// Every action so far, with the second it came at (relative to T0).
    log: Vec<(f64, Action)>,
    /// Answer [`Action::CreateSandbox`] with success at once (the default;
    /// `sandbox.rs` answers by hand).
    auto_sandbox: bool,
}

impl Sim {
    fn new(spec_yaml: &str) -> Self {
        Self::with_sandbox(spec_yaml, true)
    }

    /// A sim whose sandbox creations the test answers itself.
    fn without_sandbox(spec_yaml: &str) -> Self {
        Self::with_sandbox(spec_yaml, false)
    }

    fn with_sandbox(spec_yaml: &str, auto_sandbox: bool) -> Self {
        let config = MachineConfig {
            backoff: BackoffConfig::default(),
        };
        let now = Timestamp::from_unix_seconds(T0);
        let pod = pod(spec_yaml);
        let node = NodeFacts {
            memory_capacity_bytes: 8 << 30,
        };
        let machine = PodMachine::new(&pod, &plan(&pod, &node), config, now);
        let mut sim = Sim {
            machine,
            now,
            log: Vec::new(),
            auto_sandbox,
        };
        sim.feed(Input::Tick);
        sim
    }

    fn feed(&mut self, input: Input) -> Vec<Action> {
        let mut actions = self.machine.handle(self.now, input);
        let at = self.now.nanos_since(Timestamp::from_unix_seconds(T0)) as f64 / 1e9;
        self.log.extend(actions.iter().cloned().map(|a| (at, a)));
        if self.auto_sandbox && actions.contains(&Action::CreateSandbox) {
            let addresses = PodAddresses::new(&[], &[]);
            actions.extend(self.feed(Input::SandboxCreated { addresses }));
        }
        actions
    }

    /// Moves the clock on and ticks.
    fn wait(&mut self, seconds: f64) -> Vec<Action> {
        self.now = self.now.plus(Duration::from_secs_f64(seconds));
        self.feed(Input::Tick)
    }

    fn attempt(&self, name: &str) -> u32 {
        self.machine.records[self.machine.index(name).unwrap()].attempt()
    }

    /// The pending start of `name` succeeds.
    fn started(&mut self, name: &str) -> Vec<Action> {
        let attempt = self.attempt(name);
        self.feed(Input::Started {
            container: name.into(),
            attempt,
            container_id: format!("minipod://{name}-{attempt}"),
            image_id: "sha256:0".into(),
        })
    }

    fn exited(&mut self, name: &str, code: i32) -> Vec<Action> {
        let reason = if code == 0 { "Completed" } else { "Error" };
        self.feed(Input::Exited {
            container: name.into(),
            terminated: ContainerStateTerminated {
                exit_code: code,
                reason: Some(reason.into()),
                finished_at: Some(self.now),
                ..ContainerStateTerminated::default()
            },
        })
    }

    fn probe(&mut self, name: &str, probe: ProbeKind, ok: bool) -> Vec<Action> {
        let attempt = self.attempt(name);
        let outcome = if ok {
            ProbeOutcome::Success
        } else {
            ProbeOutcome::Failure("boom".into())
        };
        self.feed(Input::ProbeDone {
            container: name.into(),
            attempt,
            probe,
            outcome,
        })
    }

    fn hook_done(&mut self, name: &str, hook: HookKind, error: Option<&str>) -> Vec<Action> {
        let attempt = self.attempt(name);
        self.feed(Input::HookDone {
            container: name.into(),
            attempt,
            hook,
            error: error.map(String::from),
        })
    }

    /// Starts `names` in turn, each answered with Started.
    fn start_all(&mut self, names: &[&str]) {
        for name in names {
            assert!(
                self.pending_start(name),
                "{name} should be starting; log:\n{}",
                self.dump()
            );
            self.started(name);
        }
    }

    fn pending_start(&self, name: &str) -> bool {
        matches!(
            self.machine.records[self.machine.index(name).unwrap()].state,
            State::Starting
        )
    }

    fn phase(&self) -> PodPhase {
        self.machine.status().phase.unwrap()
    }

    fn columns(&self) -> (String, String, String) {
        let spec = self.machine.spec().clone();
        let c = kubectl_columns(
            PodView {
                spec: &spec,
                status: self.machine.status(),
                created: None,
                deletion_requested: false,
            },
            self.now,
        );
        (c.ready, c.status, c.restarts)
    }

    /// The containers asked to start, in order, with their attempt.
    fn starts(&self) -> Vec<(String, u32)> {
        self.log
            .iter()
            .filter_map(|(_, a)| match a {
                Action::StartContainer { container, attempt } => {
                    Some((container.clone(), *attempt))
                }
                _ => None,
            })
            .collect()
    }

    fn start_times(&self, name: &str) -> Vec<f64> {
        self.log
            .iter()
            .filter_map(|(at, a)| match a {
                Action::StartContainer { container, .. } if container == name => Some(*at),
                _ => None,
            })
            .collect()
    }

    /// The signals sent, in order: (second, container, signal).
    fn signals(&self) -> Vec<(f64, String, StopSignal)> {
        self.log
            .iter()
            .filter_map(|(at, a)| match a {
                Action::Signal { container, signal } => Some((*at, container.clone(), *signal)),
                _ => None,
            })
            .collect()
    }

    fn hooks(&self, hook: HookKind) -> Vec<(f64, String)> {
        self.log
            .iter()
            .filter_map(|(at, a)| match a {
                Action::RunHook {
                    container, hook: h, ..
                } if *h == hook => Some((*at, container.clone())),
                _ => None,
            })
            .collect()
    }

    fn events(&self, reason: &str) -> Vec<String> {
        self.log
            .iter()
            .filter_map(|(_, a)| match a {
                Action::Event(e) if e.reason == reason => Some(e.message.clone()),
                _ => None,
            })
            .collect()
    }

    fn finished(&self) -> Option<PodPhase> {
        self.log.iter().find_map(|(_, a)| match a {
            Action::Finished { phase } => Some(*phase),
            _ => None,
        })
    }

    fn last_wake(&self) -> Option<Timestamp> {
        self.log.iter().rev().find_map(|(_, a)| match a {
            Action::WakeAt(t) => Some(*t),
            _ => None,
        })
    }

    fn dump(&self) -> String {
        self.log
            .iter()
            .map(|(at, a)| format!("{at:8.3} {a:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn names(starts: &[(String, u32)]) -> Vec<&str> {
    starts.iter().map(|(n, _)| n.as_str()).collect()
}

const SIDECARS: &str = "{restartPolicy: Never, terminationGracePeriodSeconds: 30,
  initContainers: [
    {name: init, image: busybox:1.36},
    {name: sidecar-1, image: busybox:1.36, restartPolicy: Always},
    {name: sidecar-2, image: busybox:1.36, restartPolicy: Always}],
  containers: [{name: app, image: busybox:1.36}]}";
