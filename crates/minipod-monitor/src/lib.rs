//! # minipod-monitor: one pod, alive
//!
//! The monitor is the process that keeps one pod going, as the kubelet's
//! pod worker and containerd's shim do together: it creates the pod
//! (sandbox, cgroups, volumes) through `minipod-runtime`, then runs the
//! pod's [`PodMachine`](minipod_lifecycle::machine::PodMachine): it feeds
//! it what happens and does what it decides.
//!
//! ```text
//!              inputs (channel)                       actions
//!  waiter threads ──Exited──┐                 ┌── StartContainer → runtime.start_container
//!  probe/hook threads ──────┼─► machine.handle├── Signal → pidfd_send_signal
//!  Controller (Ctrl-C) ─────┤   (main loop)   ├── RunProbe / RunHook → a thread each
//!  timer (recv_timeout) ────┘                 ├── Event / StatusChanged → the Observer
//!                                             └── Finished → remove the pod, return
//! ```
//!
//! * One thread owns the machine and the pod; everything slow (waiting for
//!   an exit, a probe, a hook, copying logs) runs on threads of its own and
//!   reports back through one channel. Plain threads, not an async runtime:
//!   see `docs/decisions/0005-monitor-threads.md`.
//! * The monitor is the parent of every container's pid 1 (they are
//!   cloned from it), so it learns of each exit through the container's
//!   pidfd.
//! * Whatever happens, the pod is removed before [`Monitor::run`] returns:
//!   no cgroup, mount, namespace or process is left behind.
//!
//! [`records`] is the daemon's side: a pod's record on disk (its Pod,
//! status, events, monitor and container processes), the monitor started
//! detached from it (`minipod monitor --record DIR`), and what happens when
//! a monitor dies (`docs/daemon.md`).

#![forbid(unsafe_code)]

mod console;
mod convert;
mod driver;
mod handlers;
mod pull;
pub mod records;

use std::sync::mpsc;
use std::time::SystemTime;

pub use driver::{Monitor, MonitorError, Outcome};
use minipod_lifecycle::machine::Input;
pub use minipod_lifecycle::machine::PodEvent;
pub use minipod_runtime::exec::{AttachOptions, Attached, Streams, WindowSize};
pub use minipod_runtime::logs::Stream;
pub use pull::PullContext;

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

/// Messages into the monitor's loop.
#[derive(Debug)]
pub(crate) enum Message {
    Input(Input),
    /// A container's pid 1 exited (and its output streams were drained).
    Exited {
        container: String,
        attempt: u32,
        status: std::io::Result<minipod_linux::container::ExitStatus>,
        at: SystemTime,
    },
    /// Run a command in a container (`kubectl exec`), answering on `reply`.
    Exec {
        container: String,
        command: Vec<String>,
        timeout: std::time::Duration,
        reply: mpsc::Sender<Result<ExecResult, String>>,
    },
    /// Start a command in a container with its streams attached
    /// (`kubectl exec -i/-t`), answering with them on `reply`.
    ExecAttached {
        container: String,
        command: Vec<String>,
        options: AttachOptions,
        reply: mpsc::Sender<Result<Attached, String>>,
    },
    /// The pull before the start of instance `attempt` of `container`
    /// ended (see `pull.rs`).
    Pulled {
        container: String,
        attempt: u32,
        image: String,
        result: Result<pull::PullDone, String>,
    },
    /// The pod was updated (a new container image): run this spec from now
    /// on, answering on `reply` once the new pod is reported.
    Update {
        pod: Box<minipod_spec::AdmittedPod>,
        reply: mpsc::Sender<Result<(), String>>,
    },
}

/// How an exec through the monitor ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecResult {
    /// The command's exit code (128 + signal when killed).
    pub exit_code: i32,
    /// Its stdout and stderr together (at most 10 KiB).
    pub output: Vec<u8>,
    /// It ran out of time and was killed.
    pub timed_out: bool,
}

/// Asks a running monitor to stop its pod; cheap to clone and usable from
/// any thread (a signal handler thread, the daemon's API).
#[derive(Debug, Clone)]
pub struct Controller {
    sender: mpsc::Sender<Message>,
}

impl Controller {
    /// Stops the pod gracefully: preStop hooks, stop signals in the
    /// Kubernetes order, SIGKILL at the end of the grace period (`grace`
    /// seconds instead of the pod's `terminationGracePeriodSeconds` if
    /// given). Returns false if the monitor is gone.
    pub fn stop(&self, grace: Option<i64>) -> bool {
        self.sender
            .send(Message::Input(Input::Stop { grace }))
            .is_ok()
    }

    /// SIGKILLs every container at once.
    pub fn kill_now(&self) -> bool {
        self.sender.send(Message::Input(Input::KillNow)).is_ok()
    }

    /// Runs `command` in `container`'s current instance, as an exec probe
    /// does, and waits for it (at most `timeout`). Blocking.
    pub fn exec(
        &self,
        container: &str,
        command: Vec<String>,
        timeout: std::time::Duration,
    ) -> Result<ExecResult, String> {
        let (reply, answer) = mpsc::channel();
        self.sender
            .send(Message::Exec {
                container: container.to_owned(),
                command,
                timeout,
                reply,
            })
            .map_err(|_| "the pod is done; the monitor is exiting".to_owned())?;
        answer
            .recv()
            .map_err(|_| "the monitor dropped the exec".to_owned())?
    }

    /// Starts `command` in `container`'s current instance with its streams
    /// attached (`kubectl exec -i/-t`) and returns them with the exec
    /// helper, whose exit code is the command's. Blocking (until the
    /// command has been exec'd).
    pub fn exec_attached(
        &self,
        container: &str,
        command: Vec<String>,
        options: AttachOptions,
    ) -> Result<Attached, String> {
        let (reply, answer) = mpsc::channel();
        self.sender
            .send(Message::ExecAttached {
                container: container.to_owned(),
                command,
                options,
                reply,
            })
            .map_err(|_| "the pod is done; the monitor is exiting".to_owned())?;
        answer
            .recv()
            .map_err(|_| "the monitor dropped the exec".to_owned())?
    }

    /// Runs `pod`, an update of the monitored pod (same uid and containers;
    /// only what Kubernetes lets change on a running pod differs): each
    /// running container whose image changed is restarted, the others are
    /// left alone. Returns once the updated pod has been reported to the
    /// observer. Blocking.
    pub fn update(&self, pod: minipod_spec::AdmittedPod) -> Result<(), String> {
        let (reply, answer) = mpsc::channel();
        self.sender
            .send(Message::Update {
                pod: Box::new(pod),
                reply,
            })
            .map_err(|_| "the pod is done; the monitor is exiting".to_owned())?;
        answer
            .recv()
            .map_err(|_| "the monitor dropped the update".to_owned())?
    }
}
