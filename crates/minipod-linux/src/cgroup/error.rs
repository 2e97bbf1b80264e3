//! The cgroup module's errors. Each names the cgroup directory or file
//! involved, so a message alone says where to look (`cat` it, `ls` it).

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Anything that went wrong creating, filling, joining or removing a cgroup.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cannot tell which cgroup version this host runs: {0}")]
    Detect(String),
    #[error("no cgroup v1 hierarchy minipod can use is mounted under /sys/fs/cgroup")]
    NoHierarchies,
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidName {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("cgroup {path} already exists")]
    AlreadyExists { path: PathBuf },
    #[error("cannot create cgroup {path}")]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {value:?} to {path}")]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot open {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("unexpected content in {path}: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("cannot set the resources of cgroup {path}")]
    Apply {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "cgroup v1 has no devices hierarchy mounted: a container's access to the host's devices cannot be confined"
    )]
    NoDevicesController,
    #[error("cannot {step} for cgroup {path}")]
    DeviceFilter {
        path: PathBuf,
        step: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("cgroup {path} holds process {pid}, which minipod never kills (itself or init)")]
    WontKill { path: PathBuf, pid: i32 },
    #[error("cannot kill process {pid} of cgroup {path}")]
    Kill {
        path: PathBuf,
        pid: i32,
        #[source]
        source: io::Error,
    },
    #[error("cgroup {path} still holds processes {pids:?} after {waited:?}")]
    StillPopulated {
        path: PathBuf,
        pids: Vec<i32>,
        waited: Duration,
    },
    #[error("cannot remove cgroup {path}: it has child cgroups; remove them first")]
    HasChildren { path: PathBuf },
    #[error("cannot remove cgroup {path}")]
    Remove {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}
