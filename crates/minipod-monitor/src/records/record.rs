//! One pod's record: its directory and the files in it (see the module's
//! docs for the layout). Talking to its monitor is `client` and
//! `attach`; the monitor's life and death, `monitor_life`.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use minipod_lifecycle::Timestamp;
use minipod_lifecycle::status::{PodPhase, PodStatus};
use minipod_runtime::image::PullSecret;
use minipod_spec::{AdmittedPod, ServerAssigned, admit};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::{RecordError, io_error, json_error};
use super::json_file::{read_json, read_optional, write_json_atomically};
use super::layout::{
    CONTAINERS_DIR, EVENTS_FILE, MONITOR_FILE, POD_FILE, PULL_SECRETS_FILE, STATUS_FILE,
};
use super::process::ProcessId;

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
pub(super) fn pod_file_json(pod: &AdmittedPod, created: Timestamp) -> Value {
    let mut value = serde_json::to_value(pod.pod()).unwrap_or_default();
    if let Some(metadata) = value.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        metadata.insert("creationTimestamp".into(), created.to_string().into());
    }
    value
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

/// One pod's record: its directory on disk, which outlives the daemon,
/// the monitor and the pod. (Not the lifecycle machine's per-container
/// `Record`, which lives in memory.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRecord {
    pub(super) dir: PathBuf,
    pub(super) uid: String,
}

impl PodRecord {
    /// The record in `dir` (the monitor's `--record DIR`).
    pub fn at(dir: &Path) -> Result<PodRecord, RecordError> {
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
        Ok(PodRecord {
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

    /// `status.json`: the whole Pod with its status.
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

    /// Every event of `events.jsonl`, oldest first. A line with the name of
    /// an earlier one is the newer version of that Event (a repeat: its
    /// count grew). A last line cut short (the writer died mid-line) is
    /// skipped.
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

    /// Removes the record (the pod's history). Refused while its monitor
    /// runs; the pod's runtime state is not touched (call
    /// [`PodRecord::check_monitor`] first).
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
