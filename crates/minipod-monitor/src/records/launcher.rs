//! How to start a pod's monitor (see `spawn` for how it is started).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

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
