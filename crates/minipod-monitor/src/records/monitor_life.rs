//! The pod's monitor, seen from its record: started detached, and, once it
//! is gone, the pod marked `Failed` and what is left of it removed
//! (`docs/daemon.md`, "When a monitor dies").

use std::time::{Duration, SystemTime};

use minipod_lifecycle::status::PodStatus;
use minipod_runtime::orphan::OrphanRemoval;
use minipod_runtime::pod::{NodeConfig, PodRuntime};
use serde_json::json;

use super::error::RecordError;
use super::event::{EventFacts, EventSource, event_json};
use super::json_file::{read_json, read_optional, write_json_atomically};
use super::launcher::MonitorLauncher;
use super::layout::{PAUSE_FILE, STATUS_FILE};
use super::process::ProcessId;
use super::record::{MonitorState, PodRecord};
use super::spawn;
use super::terminate::{MONITOR_LOST, terminate_lost};
use crate::convert::timestamp;

/// What [`PodRecord::check_monitor`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// No monitor was started yet: nothing was done.
    NotStarted,
    /// The monitor runs: nothing to do.
    Running(ProcessId),
    /// The monitor ended after the pod did, as it should; `leftovers` is
    /// what it had not removed yet (it died while removing the pod), if
    /// anything.
    Finished { leftovers: Option<OrphanRemoval> },
    /// The monitor died while the pod was not done: what was left of the
    /// pod was removed and the status now says `Failed`, `MonitorLost`.
    Lost {
        monitor: ProcessId,
        removal: OrphanRemoval,
    },
}

impl PodRecord {
    /// Starts the pod's monitor, detached (see [`spawn`](self) and
    /// `docs/daemon.md`): it outlives the caller, whatever happens to it.
    /// Returns once the monitor has written `monitor.json` and listens on
    /// `monitor.sock`. Refused while a monitor of this record runs.
    pub fn spawn_monitor(&self, launcher: &MonitorLauncher) -> Result<ProcessId, RecordError> {
        if let MonitorState::Running(p) = self.monitor_state()? {
            return Err(RecordError::MonitorRunning {
                uid: self.uid.clone(),
                pid: p.pid,
            });
        }
        spawn::spawn_detached(self, launcher)
    }

    /// Ends the pod's record as `Failed` with `reason` and `message`
    /// without a monitor (it died, or never started): every container not
    /// terminated is `ContainerStatusUnknown` (see [`terminate_lost`]), and
    /// a Warning event with `reason` and `message` is appended. Does
    /// nothing if `status.json` is already terminal; returns whether it
    /// wrote.
    pub fn mark_failed(
        &self,
        reason: &str,
        message: &str,
        node_name: &str,
    ) -> Result<bool, RecordError> {
        self.mark_failed_with_event(reason, message, message, node_name)
    }

    /// [`PodRecord::mark_failed`] with an event message of its own: the
    /// kubelet's `rejectPod` prefixes only the status's message
    /// (`Pod was rejected: ...`), not the event's.
    pub fn mark_failed_with_event(
        &self,
        reason: &str,
        message: &str,
        event_message: &str,
        node_name: &str,
    ) -> Result<bool, RecordError> {
        let path = self.path(STATUS_FILE);
        let mut pod = read_json(&path).or_else(|_| self.pod_json())?;
        let status: PodStatus =
            serde_json::from_value(pod.get("status").cloned().unwrap_or(json!({})))
                .unwrap_or_default();
        if status.phase.is_some_and(|p| p.is_terminal()) {
            return Ok(false);
        }
        let admitted = self.admitted()?;
        let now = timestamp(SystemTime::now());
        let next = terminate_lost(&admitted.pod().spec, &status, reason, message, now);
        pod["status"] = serde_json::to_value(&next).unwrap_or_default();
        write_json_atomically(&path, &pod)?;
        let source = EventSource {
            pod: admitted.name().to_owned(),
            namespace: admitted.namespace().to_owned(),
            uid: self.uid.clone(),
            node: node_name.to_owned(),
        };
        let facts = EventFacts {
            event_type: "Warning",
            reason,
            message: event_message,
            field_path: None,
        };
        self.append_event(&event_json(&source, &facts, now))?;
        Ok(true)
    }

    /// "Is the monitor gone?", acted upon: call it for every record when
    /// the daemon starts, and whenever a pod's monitor might have died.
    ///
    /// * not started, or running: nothing is done;
    /// * gone after the pod ended (`status.json` terminal): whatever it had
    ///   not removed yet (it died while removing the pod) is removed;
    /// * gone while the pod was not done: the pause process (if recorded
    ///   and still the same process) is SIGKILLed, what is left of the pod
    ///   is removed ([`PodRuntime::remove_orphaned`]: container processes
    ///   SIGKILLed through their cgroups, mounts, directories, cgroups), and
    ///   the status says `Failed` with reason [`MONITOR_LOST`]
    ///   ([`PodRecord::mark_failed`]), with a Warning event.
    ///
    /// `node` must be the node the monitor ran on (the same directories and
    /// cgroup root).
    pub fn check_monitor(&self, node: &NodeConfig) -> Result<Checked, RecordError> {
        let monitor = match self.monitor_state()? {
            MonitorState::NotStarted => return Ok(Checked::NotStarted),
            MonitorState::Running(p) => return Ok(Checked::Running(p)),
            MonitorState::Gone(p) => p,
        };
        let terminal = self.phase()?.is_some_and(|p| p.is_terminal());
        let removal = self.remove_leftovers(node);
        if terminal {
            let removal = removal?;
            return Ok(Checked::Finished {
                leftovers: removal.found_anything().then_some(removal),
            });
        }
        // The pod is marked first, whatever the clean-up did: a monitor's
        // death is never hidden, even when removing its pod fails (that
        // error is returned afterwards, and the next check tries again).
        let cleanup = match &removal {
            Ok(r) if r.killed.is_empty() => ", so what was left of the pod was removed".to_owned(),
            Ok(r) => format!(
                ", so what was left of the pod was killed and removed ({} processes killed)",
                r.killed.len()
            ),
            // The status message: where the error becomes text.
            Err(e) => format!(
                "; removing what was left of the pod failed: {}",
                minipod_spec::error_chain(e)
            ),
        };
        let message = format!(
            "The pod monitor (pid {}) died while the pod was running; nobody could observe or \
             control its containers any more{cleanup}",
            monitor.pid,
        );
        self.mark_failed(MONITOR_LOST, &message, &node.node_name)?;
        let removal = removal?;
        Ok(Checked::Lost { monitor, removal })
    }

    /// Kills the recorded pause process (if still the same) and removes
    /// what is left of the pod on `node`. Refused while the monitor runs.
    pub fn remove_leftovers(&self, node: &NodeConfig) -> Result<OrphanRemoval, RecordError> {
        if let MonitorState::Running(p) = self.monitor_state()? {
            return Err(RecordError::MonitorRunning {
                uid: self.uid.clone(),
                pid: p.pid,
            });
        }
        let cleanup = |source| RecordError::Cleanup {
            uid: self.uid.clone(),
            source,
        };
        let mut killed = Vec::new();
        if let Some(pause) = read_optional::<ProcessId>(&self.path(PAUSE_FILE))?
            && pause
                .signal(minipod_linux::signals::Signal::SIGKILL)
                .map_err(|source| RecordError::Io {
                    path: self.path(PAUSE_FILE),
                    source,
                })?
        {
            killed.push(pause.pid);
            // Its death kills its PID namespace: wait for it, as a cgroup
            // removal waits for its members.
            let start = std::time::Instant::now();
            while pause.is_alive() && start.elapsed() < minipod_linux::cgroup::EXIT_TIMEOUT {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let pod = self.admitted()?;
        let runtime = PodRuntime::new(node.clone()).map_err(cleanup)?;
        let qos = minipod_plan::qos::qos_class(&pod.pod().spec);
        let mut removal = runtime.remove_orphaned(&pod, qos).map_err(cleanup)?;
        removal.killed.extend(killed);
        Ok(removal)
    }
}
