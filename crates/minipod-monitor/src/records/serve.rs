//! The monitor's side of a record (`minipod monitor --record DIR`): it runs
//! the pod's [`Monitor`] with an observer that writes the record's files,
//! and takes commands on `monitor.sock`.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use minipod_lifecycle::Timestamp;
use minipod_lifecycle::machine::MachineConfig;
use minipod_plan::NodeFacts;
use minipod_runtime::pod::{NodeConfig, RunningPod};
use serde_json::Value;

use super::error::RecordError;
use super::event::{Correlator, EventFacts, EventSource};
use super::json_file::write_json_atomically;
use super::layout::{CONTAINERS_DIR, MONITOR_FILE, PAUSE_FILE, SOCKET_FILE, STATUS_FILE};
use super::process::{ProcessId, children_running};
use super::record::{ContainerInstance, PodRecord};
use super::{server, spawn};
use crate::convert::timestamp;
use minipod_lifecycle::machine::PodEvent;
use minipod_runtime::logs::Stream;

use crate::controller::Controller;
use crate::driver::{Monitor, MonitorError, Outcome};
use crate::observer::{ContainerStarted, Observer};
use crate::pull::PullContext;
use minipod_spec::error_chain;

/// Why a recorded monitor could not run its pod.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    PodRecord(#[from] RecordError),
    #[error(transparent)]
    Monitor(#[from] MonitorError),
}

/// Writes what the monitor reports into the record: `status.json`,
/// `events.jsonl` (an event repeated is a line with the same Event name and
/// a higher count), `containers/<name>.json`, `pause.json`. Container output
/// is not written here: it is in the CRI log files already.
#[derive(Debug)]
pub struct RecordObserver {
    record: PodRecord,
    source: EventSource,
    created: Timestamp,
    /// A repeated event is its Event again, its count one more.
    events: Mutex<Correlator>,
}

impl RecordObserver {
    pub fn new(record: PodRecord, source: EventSource, created: Timestamp) -> RecordObserver {
        RecordObserver {
            record,
            source,
            created,
            events: Mutex::default(),
        }
    }

    fn warn(&self, what: &str, result: Result<(), RecordError>) {
        if let Err(e) = result {
            tracing::warn!(uid = %self.record.uid(), "{what}: {}", error_chain(&e));
        }
    }
}

impl Observer for RecordObserver {
    fn event(&self, at: SystemTime, event: &PodEvent) {
        let facts = EventFacts {
            event_type: event.event_type,
            reason: event.reason,
            message: &event.message,
            field_path: event.field_path.as_deref(),
        };
        let value = self.events.lock().unwrap_or_else(|p| p.into_inner()).event(
            &self.source,
            &facts,
            timestamp(at),
        );
        self.warn("appending an event", self.record.append_event(&value));
    }

    fn output(&self, _container: &str, _stream: Stream, _line: &[u8]) {}

    fn pod_changed(&self, pod: &Value) {
        let mut pod = pod.clone();
        // The record's creation time, not the monitor's start.
        if let Some(metadata) = pod.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            metadata.insert("creationTimestamp".into(), self.created.to_string().into());
        }
        self.warn(
            "writing the status",
            write_json_atomically(&self.record.path(STATUS_FILE), &pod),
        );
    }

    fn pod_created(&self, pod: &RunningPod) {
        if pod.pod().pod().spec.share_process_namespace != Some(true) {
            return;
        }
        // The pause process is our child, started by the sandbox just now.
        match children_running(minipod_linux::reexec::PAUSE_HELPER).as_slice() {
            [pause] => self.warn(
                "writing pause.json",
                write_json_atomically(
                    &self.record.path(PAUSE_FILE),
                    &serde_json::to_value(pause).unwrap_or_default(),
                ),
            ),
            other => tracing::warn!(
                "expected one pause process among our children, found {}",
                other.len()
            ),
        }
    }

    fn container_started(&self, c: &ContainerStarted) {
        let Ok(process) = ProcessId::of(c.pid) else {
            // It exited already; its exit is on its way to the monitor.
            return;
        };
        let instance = ContainerInstance {
            name: c.name.clone(),
            attempt: c.attempt,
            pid: c.pid,
            pid_start_time: process.start_time,
            container_id: c.container_id.clone(),
            started_at: timestamp(c.started_at),
            log_path: c.log_path.clone(),
            cgroup: c.cgroup.clone(),
        };
        let path = self
            .record
            .path(CONTAINERS_DIR)
            .join(format!("{}.json", c.name));
        self.warn(
            "writing the container instance",
            write_json_atomically(&path, &serde_json::to_value(&instance).unwrap_or_default()),
        );
    }
}

/// A pod's monitor working from its record.
#[derive(Debug)]
pub struct RecordedMonitor {
    record: PodRecord,
    monitor: Monitor,
    node_name: String,
}

impl RecordedMonitor {
    /// Writes `monitor.json` (this process), reads and plans the pod of
    /// `record`, and makes its monitor for `node`.
    pub fn new(
        record: PodRecord,
        node: NodeConfig,
        machine: MachineConfig,
        facts: &NodeFacts,
    ) -> Result<RecordedMonitor, ServeError> {
        let me = ProcessId::current().map_err(|source| RecordError::Io {
            path: "/proc/self/stat".into(),
            source,
        })?;
        write_json_atomically(
            &record.path(MONITOR_FILE),
            &serde_json::to_value(me).unwrap_or_default(),
        )?;
        let pod = record.admitted()?;
        let created = record.created()?;
        let plan = minipod_plan::plan(&pod, facts);
        let source = EventSource {
            pod: pod.name().to_owned(),
            namespace: pod.namespace().to_owned(),
            uid: pod.uid().to_owned(),
            node: node.node_name.clone(),
        };
        let node_name = node.node_name.clone();
        let observer = Arc::new(RecordObserver::new(record.clone(), source, created));
        let secrets = record.pull_secrets()?;
        let monitor =
            Monitor::new(pod, plan, node, machine, observer).with_pull_context(PullContext {
                secrets: secrets.secrets,
                missing: secrets.missing,
            });
        Ok(RecordedMonitor {
            record,
            monitor,
            node_name,
        })
    }

    /// A handle to stop the pod (a signal thread's).
    pub fn controller(&self) -> Controller {
        self.monitor.controller()
    }

    /// Listens on `monitor.sock`, says ready on `ready_fd` (see
    /// `PodRecord::spawn_monitor`), runs the pod until it is done and removes
    /// it. A sandbox that cannot be created is retried (the pod stays
    /// Pending with the kubelet's events); if the node cannot be set up or
    /// the pod is refused, the record says `Failed` with reason
    /// `FailedCreatePodSandBox`, never nothing.
    pub fn run(self, ready_fd: Option<i32>) -> Result<Outcome, ServeError> {
        let listener = server::bind(&self.record)?;
        let controller = self.monitor.controller();
        let record = self.record.clone();
        std::thread::Builder::new()
            .name("monitor-socket".into())
            .spawn(move || server::serve(listener, controller, record))
            .map_err(|source| RecordError::Io {
                path: self.record.path(SOCKET_FILE),
                source,
            })?;
        if let Some(fd) = ready_fd
            && let Err(e) = spawn::announce_ready(fd)
        {
            tracing::warn!("cannot say ready on fd {fd}: {e}");
        }
        let result = self.monitor.run();
        let _ = std::fs::remove_file(self.record.path(SOCKET_FILE));
        match result {
            Ok(outcome) => Ok(outcome),
            Err(error) => {
                let reason = match &error {
                    MonitorError::Node(_) | MonitorError::Admit(_) => "FailedCreatePodSandBox",
                    MonitorError::Remove(_) => "FailedKillPod",
                };
                // The status message: where the error becomes text.
                let message = format!("the pod monitor failed: {}", error_chain(&error));
                if let Err(e) = self.record.mark_failed(reason, &message, &self.node_name) {
                    tracing::warn!("cannot record the failure: {}", error_chain(&e));
                }
                Err(error.into())
            }
        }
    }
}

/// `RecordedMonitor::new(...)?.run(ready_fd)`, for callers that need no
/// controller.
pub fn run_monitor(
    record: PodRecord,
    node: NodeConfig,
    machine: MachineConfig,
    facts: &NodeFacts,
    ready_fd: Option<i32>,
) -> Result<Outcome, ServeError> {
    RecordedMonitor::new(record, node, machine, facts)?.run(ready_fd)
}
