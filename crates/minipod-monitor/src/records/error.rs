//! Why a record could not be read, written or acted on.

use std::io;
use std::path::{Path, PathBuf};

use minipod_runtime::pod::PodError;

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
    /// The monitor's answer is not the protocol's JSON.
    #[error("the monitor of pod {uid} answered unreadably: {answer:?}")]
    Unreadable {
        uid: String,
        answer: String,
        #[source]
        source: serde_json::Error,
    },
    /// The connection to the monitor failed while an attached exec ran.
    #[error("the connection to the monitor of pod {uid}")]
    Connection {
        uid: String,
        #[source]
        source: io::Error,
    },
    #[error("removing what is left of pod {uid}")]
    Cleanup {
        uid: String,
        #[source]
        source: PodError,
    },
}

pub(super) fn io_error(path: &Path) -> impl FnOnce(io::Error) -> RecordError + '_ {
    move |source| RecordError::Io {
        path: path.to_owned(),
        source,
    }
}

pub(super) fn json_error(path: &Path) -> impl FnOnce(serde_json::Error) -> RecordError + '_ {
    move |source| RecordError::Json {
        path: path.to_owned(),
        source,
    }
}
