//! Carrying out the machine's actions (starts are `start`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use minipod_lifecycle::machine::{Action, Input, PodMachine, ProbeOutcome, StopSignal};
use minipod_lifecycle::status::PodStatus;
use minipod_linux::signals::Signal;
use minipod_spec::AdmittedPod;
use minipod_spec::model::Container;

use super::Driver;
use crate::controller::Message;
use crate::convert::timestamp;
use crate::handlers::{self, Handler, HandlerError, ResolveError};
use minipod_spec::error_chain;

/// How long a postStart hook may run: the kubelet sets no limit of its own
/// (the hook ends when it ends, or with the container).
const POST_START_LIMIT: Duration = Duration::from_secs(24 * 3600);

impl Driver<'_> {
    pub(super) fn execute(&mut self, machine: &PodMachine, action: Action) {
        match action {
            Action::CreateSandbox => self.create_sandbox(),
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
                            // The event's text: the boundary where the
                            // error becomes a string.
                            Err(why) => ProbeOutcome::Failure(error_chain(&why)),
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
                    let error = result.err().map(|why| error_chain(&why));
                    if let Some(why) = &error {
                        tracing::warn!(%container, ?hook, "hook failed: {why}");
                    }
                    Input::HookDone {
                        container,
                        attempt,
                        hook,
                        error,
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
        handler: Option<Result<Handler, ResolveError>>,
        timeout: Duration,
        done: impl FnOnce(Result<(), HandlerError>) -> Input + Send + 'static,
    ) {
        let process = self
            .live
            .get(name)
            .filter(|l| l.attempt == attempt)
            .map(|l| Arc::clone(&l.process));
        let (Some(process), Some(handler)) = (process, handler) else {
            let _ = self
                .sender
                .send(Message::Input(done(Err(HandlerError::NoProcess(
                    name.to_owned(),
                )))));
            return;
        };
        let access = self.access.clone();
        let sender = self.sender.clone();
        let name = name.to_owned();
        let spawned = std::thread::Builder::new()
            .name(format!("handler-{name}"))
            .spawn(move || {
                let result = handler
                    .map_err(HandlerError::from)
                    .and_then(|h| handlers::run(&access, &name, &process, &h, timeout));
                let _ = sender.send(Message::Input(done(result)));
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start a thread for a probe or hook: {e}");
        }
    }
}

/// The Pod as Kubernetes JSON: the admitted manifest, with
/// `metadata.creationTimestamp` and the current `status`.
fn pod_json(pod: &AdmittedPod, status: &PodStatus, created: SystemTime) -> serde_json::Value {
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
