//! `<state>/records`: the record directory of a node, one directory per pod.

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use minipod_spec::AdmittedPod;
use serde_json::json;

use super::error::{RecordError, io_error};
use super::json_file::write_json_atomically;
use super::layout::{CONTAINERS_DIR, POD_FILE, RECORDS_DIR, STATUS_FILE};
use super::record::{PodRecord, pod_file_json};
use crate::convert::timestamp;

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
    pub fn create(&self, pod: &AdmittedPod, created: SystemTime) -> Result<PodRecord, RecordError> {
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
        let record = PodRecord {
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
    pub fn open(&self, uid: &str) -> Result<PodRecord, RecordError> {
        if minipod_linux::cgroup::layout::check_uid(uid).is_err() {
            return Err(RecordError::NotFound { uid: uid.into() });
        }
        let dir = self.dir.join(uid);
        if !dir.join(POD_FILE).is_file() {
            return Err(RecordError::NotFound { uid: uid.into() });
        }
        Ok(PodRecord {
            dir,
            uid: uid.to_owned(),
        })
    }

    /// Every record (a directory with a `pod.json`), by uid. A directory
    /// left half-made by a crash during [`Records::create`] is skipped.
    pub fn list(&self) -> Result<Vec<PodRecord>, RecordError> {
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
        let mut records: Vec<PodRecord> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter_map(|uid| self.open(&uid).ok())
            .collect();
        records.sort_by(|a, b| a.uid.cmp(&b.uid));
        Ok(records)
    }
}
