//! Pod records: one directory per pod that outlives the daemon, the pod's
//! monitor and the pod itself.
//!
//! ```text
//! <state>/records/<uid>/        0700
//!   pod.json                    the admitted Pod (uid, namespace, creationTimestamp), written once
//!   status.json                 the whole Pod with status, replaced atomically on every change
//!   events.jsonl                one core/v1 Event per line, appended
//!   monitor.json                {"pid", "startTime"} of the pod's monitor
//!   monitor.sock                0600: {"stop":{"gracePeriodSeconds":N|null}} / {"kill":{}} → {"ok":true};
//!                               exec, and attached exec with its streams as descriptors (see `socket`)
//!   monitor.log                 the monitor's stdout and stderr
//!   pause.json                  {"pid", "startTime"} of the pause process (shareProcessNamespace only)
//!   containers/<name>.json      the current instance of each container (pid, start time, containerID, ...)
//! ```
//!
//! The daemon side: [`Records`] creates ([`Records::create`]) and lists
//! records; a [`Record`] reads them, spawns the pod's monitor detached
//! ([`Record::spawn_monitor`]), tells whether it is alive
//! ([`Record::monitor_state`]), sends it stop and kill ([`Record::stop`],
//! [`Record::kill`]), and when the monitor died while the pod ran, cleans
//! up and says so ([`Record::check_monitor`]). The monitor side
//! (`minipod monitor --record DIR`) is [`run_monitor`].
//!
//! Everything here is synchronous std code: the daemon calls it from a
//! blocking thread.

mod attach;
mod event;
mod process;
mod serve;
mod socket;
mod spawn;
mod terminate;

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use minipod_lifecycle::Timestamp;
use minipod_lifecycle::status::{PodPhase, PodStatus};
use minipod_runtime::orphan::OrphanRemoval;
use minipod_runtime::pod::{NodeConfig, PodError, PodRuntime};
use minipod_spec::{AdmittedPod, ServerAssigned, admit};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use attach::{AttachedExec, ExecCancel, ExecExit};
pub use event::{EventFacts, EventSource, event_json};
pub use minipod_runtime::image::PullSecret;
pub use process::ProcessId;
pub use serve::{RecordObserver, RecordedMonitor, ServeError, run_monitor};
pub use socket::Command;
pub use spawn::{READY_FD, announce_ready};
pub use terminate::{
    CONTAINER_NOT_LOCATED, CONTAINER_STATUS_UNKNOWN, MONITOR_LOST, terminate_lost,
};

use crate::convert::timestamp;

/// `records` under the node's state directory.
pub const RECORDS_DIR: &str = "records";
pub const POD_FILE: &str = "pod.json";
pub const STATUS_FILE: &str = "status.json";
pub const EVENTS_FILE: &str = "events.jsonl";
pub const MONITOR_FILE: &str = "monitor.json";
pub const SOCKET_FILE: &str = "monitor.sock";
pub const LOG_FILE: &str = "monitor.log";
pub const PAUSE_FILE: &str = "pause.json";
/// The logins of the pod's `imagePullSecrets` (mode 0600), written by
/// whoever creates the record: see [`PullSecrets`].
pub const PULL_SECRETS_FILE: &str = "pull-secrets.json";
pub const CONTAINERS_DIR: &str = "containers";

/// Why a record could not be read, written or acted on.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Not the JSON the file should hold.
    #[error("{path}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    /// A pod uid that cannot name a record (nor a cgroup).
    #[error("{path}")]
    Uid {
        path: PathBuf,
        #[source]
        source: minipod_linux::cgroup::CgroupError,
    },
    /// `pod.json` does not admit again.
    #[error("{path}")]
    Admit {
        path: PathBuf,
        #[source]
        source: Box<minipod_spec::validate::InvalidPod>,
    },
    #[error("pod {uid} already has a record")]
    Exists { uid: String },
    #[error("no record of pod {uid}")]
    NotFound { uid: String },
    #[error("the monitor of pod {uid} is not running")]
    MonitorGone { uid: String },
    #[error("the monitor of pod {uid} is still running (pid {pid})")]
    MonitorRunning { uid: String, pid: i32 },
    #[error("the monitor of pod {uid} did not start: {message}")]
    Spawn { uid: String, message: String },
    #[error("the monitor of pod {uid} answered: {message}")]
    Refused { uid: String, message: String },
    #[error("removing what is left of pod {uid}")]
    Cleanup {
        uid: String,
        #[source]
        source: PodError,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> RecordError + '_ {
    move |source| RecordError::Io {
        path: path.to_owned(),
        source,
    }
}

fn json_error(path: &Path) -> impl FnOnce(serde_json::Error) -> RecordError + '_ {
    move |source| RecordError::Json {
        path: path.to_owned(),
        source,
    }
}

/// The record directory of a node: `<state>/records`.
#[derive(Debug, Clone)]
pub struct Records {
    dir: PathBuf,
}

impl Records {
    /// The records of the node whose state directory is `state_dir`.
    pub fn new(state_dir: &Path) -> Records {
        Records {
            dir: state_dir.join(RECORDS_DIR),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the record of `pod`, admitted at `created`: its directory,
    /// `pod.json` (with `metadata.creationTimestamp`) and a first
    /// `status.json` (`Pending`, with the QoS class). Fails if the pod
    /// already has one.
    pub fn create(&self, pod: &AdmittedPod, created: SystemTime) -> Result<Record, RecordError> {
        let uid = pod.uid();
        minipod_linux::cgroup::layout::check_uid(uid).map_err(|source| RecordError::Uid {
            path: self.dir.clone(),
            source,
        })?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(io_error(&self.dir))?;
        let dir = self.dir.join(uid);
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(RecordError::Exists { uid: uid.into() });
            }
            Err(source) => return Err(RecordError::Io { path: dir, source }),
        }
        let record = Record {
            dir,
            uid: uid.to_owned(),
        };
        let result = (|| {
            let pod_value = pod_file_json(pod, timestamp(created));
            write_json_atomically(&record.path(POD_FILE), &pod_value)?;
            let mut status = pod_value;
            status["status"] = json!({
                "phase": "Pending",
                "qosClass": minipod_plan::qos::qos_class(&pod.pod().spec).as_str(),
            });
            write_json_atomically(&record.path(STATUS_FILE), &status)?;
            let containers = record.path(CONTAINERS_DIR);
            fs::create_dir(&containers).map_err(io_error(&containers))
        })();
        match result {
            Ok(()) => Ok(record),
            Err(e) => {
                let _ = fs::remove_dir_all(&record.dir);
                Err(e)
            }
        }
    }

    /// The record of pod `uid`.
    pub fn open(&self, uid: &str) -> Result<Record, RecordError> {
        if minipod_linux::cgroup::layout::check_uid(uid).is_err() {
            return Err(RecordError::NotFound { uid: uid.into() });
        }
        let dir = self.dir.join(uid);
        if !dir.join(POD_FILE).is_file() {
            return Err(RecordError::NotFound { uid: uid.into() });
        }
        Ok(Record {
            dir,
            uid: uid.to_owned(),
        })
    }

    /// Every record (a directory with a `pod.json`), by uid. A directory
    /// left half-made by a crash during [`Records::create`] is skipped.
    pub fn list(&self) -> Result<Vec<Record>, RecordError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(RecordError::Io {
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut records: Vec<Record> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter_map(|uid| self.open(&uid).ok())
            .collect();
        records.sort_by(|a, b| a.uid.cmp(&b.uid));
        Ok(records)
    }
}

/// The logins a pod's `imagePullSecrets` name, as found when the pod was
/// created (the kubelet reads them at each pull; minipod once).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PullSecrets {
    /// In the pod's order: each secret's name and its `.dockerconfigjson`
    /// (decoded: the Docker config JSON itself).
    #[serde(default)]
    pub secrets: Vec<PullSecret>,
    /// Names the pod gives that no Secret of its namespace has: the monitor
    /// reports them (`FailedToRetrieveImagePullSecret`) and pulls without.
    #[serde(default)]
    pub missing: Vec<String>,
}

/// `pod.json`: the admitted Pod with its creation time.
fn pod_file_json(pod: &AdmittedPod, created: Timestamp) -> Value {
    let mut value = serde_json::to_value(pod.pod()).unwrap_or_default();
    if let Some(metadata) = value.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        metadata.insert("creationTimestamp".into(), created.to_string().into());
    }
    value
}

/// Writes `value` (pretty, with a final newline) through a temporary file
/// in the same directory and a rename: a reader sees the old file or the
/// new one, never half of one.
pub fn write_json_atomically(path: &Path, value: &Value) -> Result<(), RecordError> {
    let mut text = serde_json::to_vec_pretty(value).map_err(json_error(path))?;
    text.push(b'\n');
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut f| f.write_all(&text));
    if let Err(source) = written {
        let _ = fs::remove_file(&temporary);
        return Err(RecordError::Io {
            path: temporary,
            source,
        });
    }
    fs::rename(&temporary, path).map_err(io_error(path))
}

fn read_json(path: &Path) -> Result<Value, RecordError> {
    let text = fs::read(path).map_err(io_error(path))?;
    serde_json::from_slice(&text).map_err(json_error(path))
}

fn read_optional<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, RecordError> {
    match fs::read(path) {
        Ok(text) => serde_json::from_slice(&text)
            .map(Some)
            .map_err(json_error(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(RecordError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// The current instance of a container (`containers/<name>.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerInstance {
    pub name: String,
    /// Its `restartCount`.
    pub attempt: u32,
    /// Its pid 1 on the host, and that process's start time.
    pub pid: i32,
    pub pid_start_time: u64,
    #[serde(rename = "containerID")]
    pub container_id: String,
    pub started_at: Timestamp,
    pub log_path: PathBuf,
    /// Its cgroup, relative to each hierarchy's root.
    pub cgroup: PathBuf,
}

impl ContainerInstance {
    /// Its pid 1, as a [`ProcessId`] (check [`ProcessId::is_alive`]).
    pub fn process(&self) -> ProcessId {
        ProcessId {
            pid: self.pid,
            start_time: self.pid_start_time,
        }
    }
}

/// Whether a record's monitor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorState {
    /// No monitor was ever started for it (no `monitor.json`).
    NotStarted,
    /// The monitor recorded in `monitor.json` runs.
    Running(ProcessId),
    /// It ran and is gone (ended, or killed: its pid is free or another
    /// process's).
    Gone(ProcessId),
}

/// What [`Record::check_monitor`] found.
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

/// How to start a monitor: our binary and the node's flags
/// (`--state-dir`, `--run-dir`, `--cgroup-root`, `--config`, ...), which the
/// monitor needs to find the same node as the daemon.
#[derive(Debug, Clone)]
pub struct MonitorLauncher {
    /// The `minipod` binary (it has the hidden `monitor` subcommand).
    pub program: PathBuf,
    /// Node flags, passed after `monitor --record DIR`.
    pub node_args: Vec<OsString>,
    /// How long the monitor may take to say it is ready.
    pub ready_timeout: Duration,
}

impl MonitorLauncher {
    pub fn new(program: impl Into<PathBuf>, node_args: Vec<OsString>) -> MonitorLauncher {
        MonitorLauncher {
            program: program.into(),
            node_args,
            ready_timeout: Duration::from_secs(30),
        }
    }
}

/// One pod's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    dir: PathBuf,
    uid: String,
}

impl Record {
    /// The record in `dir` (the monitor's `--record DIR`).
    pub fn at(dir: &Path) -> Result<Record, RecordError> {
        let uid = dir
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|uid| minipod_linux::cgroup::layout::check_uid(uid).is_ok())
            .ok_or_else(|| RecordError::Invalid {
                path: dir.to_owned(),
                message: "not a pod record directory (named by a pod uid)".into(),
            })?
            .to_owned();
        if !dir.join(POD_FILE).is_file() {
            return Err(RecordError::NotFound { uid });
        }
        Ok(Record {
            dir: dir.to_owned(),
            uid,
        })
    }

    pub fn uid(&self) -> &str {
        &self.uid
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A file of the record.
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// `pod.json`.
    pub fn pod_json(&self) -> Result<Value, RecordError> {
        read_json(&self.path(POD_FILE))
    }

    /// `metadata.creationTimestamp` of `pod.json`.
    pub fn created(&self) -> Result<Timestamp, RecordError> {
        let path = self.path(POD_FILE);
        let pod = read_json(&path)?;
        pod["metadata"]["creationTimestamp"]
            .as_str()
            .and_then(|t| Timestamp::parse_rfc3339(t).ok())
            .ok_or_else(|| RecordError::Invalid {
                path,
                message: "no metadata.creationTimestamp".into(),
            })
    }

    /// The pod of `pod.json`, admitted again (defaulting is idempotent,
    /// and the uid is kept).
    pub fn admitted(&self) -> Result<AdmittedPod, RecordError> {
        let path = self.path(POD_FILE);
        let mut value = read_json(&path)?;
        if let Some(metadata) = value.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            // Set by the system: given back through `ServerAssigned`, so
            // that re-admitting warns about neither.
            metadata.remove("creationTimestamp");
            metadata.remove("uid");
        }
        let invalid = |message: String| RecordError::Invalid {
            path: path.clone(),
            message,
        };
        let pod: minipod_spec::model::Pod =
            serde_json::from_value(value).map_err(json_error(&path))?;
        let assigned = ServerAssigned {
            uid: self.uid.clone(),
            name_suffix: String::new(),
        };
        let admitted = admit(pod, &assigned).map_err(|source| RecordError::Admit {
            path: path.clone(),
            source: Box::new(source),
        })?;
        if admitted.uid() != self.uid {
            return Err(invalid(format!("its uid is not {}", self.uid)));
        }
        Ok(admitted)
    }

    /// `status.json`: the whole Pod with its status.
    /// Stores the pod's pull secrets (`pull-secrets.json`, mode 0600),
    /// before its monitor starts.
    pub fn write_pull_secrets(&self, secrets: &PullSecrets) -> Result<(), RecordError> {
        let path = self.path(PULL_SECRETS_FILE);
        let value = serde_json::to_value(secrets).map_err(json_error(&path))?;
        write_json_atomically(&path, &value)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).map_err(io_error(&path))
    }

    /// The pod's pull secrets; none if the record has no such file.
    pub fn pull_secrets(&self) -> Result<PullSecrets, RecordError> {
        let path = self.path(PULL_SECRETS_FILE);
        if !path.exists() {
            return Ok(PullSecrets::default());
        }
        serde_json::from_value(read_json(&path)?).map_err(json_error(&path))
    }

    pub fn status_json(&self) -> Result<Value, RecordError> {
        read_json(&self.path(STATUS_FILE))
    }

    /// The `status` of `status.json`, typed.
    pub fn status(&self) -> Result<PodStatus, RecordError> {
        let path = self.path(STATUS_FILE);
        let value = read_json(&path)?;
        serde_json::from_value(value.get("status").cloned().unwrap_or(json!({})))
            .map_err(json_error(&path))
    }

    /// `status.phase` of `status.json`.
    pub fn phase(&self) -> Result<Option<PodPhase>, RecordError> {
        Ok(self.status()?.phase)
    }

    /// Every event of `events.jsonl`, oldest first. A last line cut short
    /// (the writer died mid-line) is skipped.
    pub fn events(&self) -> Result<Vec<Value>, RecordError> {
        let path = self.path(EVENTS_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(RecordError::Io { path, source }),
        };
        Ok(text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }

    /// Appends one event line to `events.jsonl`.
    pub fn append_event(&self, event: &Value) -> Result<(), RecordError> {
        let path = self.path(EVENTS_FILE);
        let mut line = serde_json::to_vec(event).map_err(json_error(&path))?;
        line.push(b'\n');
        // One write(2) with O_APPEND: lines never interleave.
        fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(&line))
            .map_err(io_error(&path))
    }

    /// Every `containers/<name>.json`, by name.
    pub fn containers(&self) -> Result<Vec<ContainerInstance>, RecordError> {
        let dir = self.path(CONTAINERS_DIR);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(RecordError::Io { path: dir, source }),
        };
        let mut all = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json")
                && let Some(instance) = read_optional::<ContainerInstance>(&path)?
            {
                all.push(instance);
            }
        }
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// The current instance of container `name`, if one started.
    pub fn container(&self, name: &str) -> Result<Option<ContainerInstance>, RecordError> {
        if minipod_linux::cgroup::layout::check_container_name(name).is_err() {
            return Ok(None);
        }
        read_optional(&self.path(CONTAINERS_DIR).join(format!("{name}.json")))
    }

    /// `monitor.json`: the monitor's pid and start time, once it started.
    pub fn monitor(&self) -> Result<Option<ProcessId>, RecordError> {
        read_optional(&self.path(MONITOR_FILE))
    }

    /// Whether the monitor runs (by pid *and* start time).
    pub fn monitor_state(&self) -> Result<MonitorState, RecordError> {
        Ok(match self.monitor()? {
            None => MonitorState::NotStarted,
            Some(p) if p.is_alive() => MonitorState::Running(p),
            Some(p) => MonitorState::Gone(p),
        })
    }

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

    /// Asks the monitor to stop the pod gracefully (`kubectl delete`):
    /// `grace` seconds instead of `terminationGracePeriodSeconds` if given.
    /// Returns once the monitor took the request.
    pub fn stop(&self, grace: Option<i64>) -> Result<(), RecordError> {
        self.send(&Command::Stop { grace })
    }

    /// Asks the monitor to SIGKILL every container now.
    pub fn kill(&self) -> Result<(), RecordError> {
        self.send(&Command::Kill)
    }

    /// Stores `pod`, an update of the recorded pod (same uid; only what
    /// Kubernetes lets change on a running pod differs, which the caller
    /// checked), in `pod.json`, and has a running monitor take it: it
    /// restarts the containers whose image changed and reports the new pod
    /// in `status.json` before it answers. Without a running monitor the
    /// update is only recorded (`status.json` shows the new spec; nothing
    /// runs any more to restart).
    pub fn update(&self, pod: &AdmittedPod) -> Result<(), RecordError> {
        if pod.uid() != self.uid {
            return Err(RecordError::Invalid {
                path: self.path(POD_FILE),
                message: format!("the update's uid {} is not {}", pod.uid(), self.uid),
            });
        }
        let value = pod_file_json(pod, self.created()?);
        write_json_atomically(&self.path(POD_FILE), &value)?;
        if matches!(self.monitor_state()?, MonitorState::Running(_)) {
            return socket::call(self, &Command::Update, Duration::from_secs(60)).map(drop);
        }
        let mut status = self.status_json()?;
        let deletion = ["deletionTimestamp", "deletionGracePeriodSeconds"]
            .map(|k| (k, status["metadata"].get(k).cloned()));
        status["spec"] = value["spec"].clone();
        status["metadata"] = value["metadata"].clone();
        for (key, old) in deletion {
            if let (Some(old), Some(metadata)) = (old, status["metadata"].as_object_mut()) {
                metadata.insert(key.into(), old);
            }
        }
        write_json_atomically(&self.path(STATUS_FILE), &status)
    }

    /// Runs `command` in `container` through the monitor (`kubectl exec`),
    /// waiting at most `timeout_seconds` (capped at an hour). Blocking.
    pub fn exec(
        &self,
        container: &str,
        command: Vec<String>,
        timeout_seconds: u64,
    ) -> Result<crate::ExecResult, RecordError> {
        if !matches!(self.monitor_state()?, MonitorState::Running(_)) {
            return Err(RecordError::MonitorGone {
                uid: self.uid.clone(),
            });
        }
        let timeout_seconds = timeout_seconds.clamp(1, socket::EXEC_TIMEOUT_SECONDS);
        let reply = socket::call(
            self,
            &Command::Exec {
                container: container.to_owned(),
                command,
                timeout_seconds,
            },
            Duration::from_secs(timeout_seconds + 10),
        )?;
        Ok(crate::ExecResult {
            exit_code: reply["exitCode"]
                .as_i64()
                .and_then(|c| i32::try_from(c).ok())
                .unwrap_or(-1),
            output: reply["output"].as_str().unwrap_or("").as_bytes().to_vec(),
            timed_out: reply["timedOut"] == serde_json::json!(true),
        })
    }

    /// Starts `command` in `container` through the monitor with its streams
    /// attached (`kubectl exec -i/-t`): returns them once the command runs;
    /// [`AttachedExec::wait`] gives its exit code. No timeout. Blocking.
    pub fn exec_attached(
        &self,
        container: &str,
        command: Vec<String>,
        options: crate::AttachOptions,
    ) -> Result<AttachedExec, RecordError> {
        if !matches!(self.monitor_state()?, MonitorState::Running(_)) {
            return Err(RecordError::MonitorGone {
                uid: self.uid.clone(),
            });
        }
        attach::call(self, container, command, options)
    }

    /// Sends one command to the monitor's socket and waits for its answer.
    pub fn send(&self, command: &Command) -> Result<(), RecordError> {
        if !matches!(self.monitor_state()?, MonitorState::Running(_)) {
            return Err(RecordError::MonitorGone {
                uid: self.uid.clone(),
            });
        }
        socket::send(self, command)
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

    /// [`Record::mark_failed`] with an event message of its own: the
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
    ///   ([`Record::mark_failed`]), with a Warning event.
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
                crate::error_chain(e)
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
                .signal(nix::sys::signal::Signal::SIGKILL)
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

    /// Removes the record (the pod's history). Refused while its monitor
    /// runs; the pod's runtime state is not touched (call
    /// [`Record::check_monitor`] first).
    pub fn remove(self) -> Result<(), RecordError> {
        if let MonitorState::Running(p) = self.monitor_state()? {
            return Err(RecordError::MonitorRunning {
                uid: self.uid.clone(),
                pid: p.pid,
            });
        }
        fs::remove_dir_all(&self.dir).map_err(io_error(&self.dir))
    }
}

#[cfg(test)]
mod tests;
