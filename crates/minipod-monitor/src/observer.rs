//! Where the monitor reports what happens.

use std::time::SystemTime;

use minipod_lifecycle::machine::PodEvent;
use minipod_runtime::logs::Stream;

/// Where the monitor reports what happens (the `minipod run` console, the
/// daemon's records).
pub trait Observer: Send + Sync {
    /// A Kubernetes Event happened at `at`.
    fn event(&self, at: SystemTime, event: &PodEvent);
    /// `container` wrote `line` (without its newline) to `stream`.
    fn output(&self, container: &str, stream: Stream, line: &[u8]);
    /// The pod changed; `pod` is the whole Pod object (spec and status) as
    /// Kubernetes JSON.
    fn pod_changed(&self, pod: &serde_json::Value);
    /// The pod was created (sandbox, cgroups, volumes), before any
    /// container starts.
    fn pod_created(&self, _pod: &minipod_runtime::pod::RunningPod) {}
    /// A container instance started (its workload runs).
    fn container_started(&self, _container: &ContainerStarted) {}
}

/// A container instance that just started, for observers that keep track
/// of processes (the daemon's records: exec without the monitor).
#[derive(Debug, Clone)]
pub struct ContainerStarted {
    pub name: String,
    /// The instance: its `restartCount`.
    pub attempt: u32,
    /// The host pid of its pid 1.
    pub pid: i32,
    /// `minipod://<uid>-<name>-<attempt>`.
    pub container_id: String,
    pub started_at: SystemTime,
    /// Its CRI log file.
    pub log_path: std::path::PathBuf,
    /// Its cgroup, relative to each hierarchy's root.
    pub cgroup: std::path::PathBuf,
}
