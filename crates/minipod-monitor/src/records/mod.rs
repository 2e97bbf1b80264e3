//! Pod records: one directory per pod that outlives the daemon, the pod's
//! monitor and the pod itself.
//!
//! ```text
//! <state>/records/<uid>/        0700
//!   pod.json                    the admitted Pod (uid, namespace, creationTimestamp), written once
//!   status.json                 the whole Pod with status, replaced atomically on every change
//!   events.jsonl                one core/v1 Event per line, appended (a repeat: same name, count + 1)
//!   monitor.json                {"pid", "startTime"} of the pod's monitor
//!   monitor.sock                0600: {"stop":{"gracePeriodSeconds":N|null}} / {"kill":{}} → {"ok":true};
//!                               exec, and attached exec with its streams as descriptors (see `socket`)
//!   monitor.log                 the monitor's stdout and stderr
//!   pause.json                  {"pid", "startTime"} of the pause process (shareProcessNamespace only)
//!   containers/<name>.json      the current instance of each container (pid, start time, containerID, ...)
//! ```
//!
//! The daemon side: [`Records`] creates ([`Records::create`]) and lists
//! records; a [`PodRecord`] reads them, spawns the pod's monitor detached
//! ([`PodRecord::spawn_monitor`]), tells whether it is alive
//! ([`PodRecord::monitor_state`]), sends it stop and kill ([`PodRecord::stop`],
//! [`PodRecord::kill`]), and when the monitor died while the pod ran, cleans
//! up and says so ([`PodRecord::check_monitor`]). The monitor side
//! (`minipod monitor --record DIR`) is [`run_monitor`].
//!
//! | module | what |
//! |---|---|
//! | `layout`, `json_file`, `error` | the file names, atomic JSON files, [`RecordError`] |
//! | `store` | [`Records`]: the node's record directory |
//! | `record` | [`PodRecord`]: one pod's directory and what its files say |
//! | `socket` | `monitor.sock`'s protocol: [`Command`], its lines and path |
//! | `client`, `attach` | the daemon's side of the socket (attach: both sides of an attached exec) |
//! | `server`, `serve` | the monitor's side: the socket, and the monitor run from its record |
//! | `launcher`, `spawn`, `monitor_life` | starting a monitor detached; when it is gone ([`Checked`]) |
//! | `process`, `event`, `terminate` | processes by pid and start time, Events, the status of a lost pod |
//!
//! Everything here is synchronous std code: the daemon calls it from a
//! blocking thread.

mod attach;
mod client;
mod error;
mod event;
mod json_file;
mod launcher;
mod layout;
mod monitor_life;
mod process;
mod record;
mod serve;
mod server;
mod socket;
mod spawn;
mod store;
mod terminate;

pub use attach::{AttachedExec, ExecCancel, ExecExit};
pub use error::RecordError;
pub use event::{EventFacts, EventSource, event_json};
pub use json_file::write_json_atomically;
pub use launcher::MonitorLauncher;
pub use layout::*;
pub use minipod_runtime::image::PullSecret;
pub use monitor_life::Checked;
pub use process::ProcessId;
pub use record::{ContainerInstance, MonitorState, PodRecord, PullSecrets};
// The name `spawn.rs` still uses (it is being moved to minipod-linux
// elsewhere); to go once it names `PodRecord`.
use record::PodRecord as Record;
pub use serve::{RecordObserver, RecordedMonitor, ServeError, run_monitor};
pub use socket::{Command, CommandError};
pub use spawn::{READY_FD, announce_ready};
pub use store::Records;
pub use terminate::{
    CONTAINER_NOT_LOCATED, CONTAINER_STATUS_UNKNOWN, MONITOR_LOST, terminate_lost,
};

#[cfg(test)]
mod tests;
