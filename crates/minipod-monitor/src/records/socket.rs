//! `monitor.sock`: the monitor's control socket. One connection, one line
//! of JSON in, one line out:
//!
//! ```text
//! {"stop":{"gracePeriodSeconds":30}}     → {"ok":true}
//! {"stop":{"gracePeriodSeconds":null}}   → {"ok":true}     (the pod's own grace period)
//! {"kill":{}}                            → {"ok":true}
//! {"update":{}}                          → {"ok":true}     (once the new pod is reported)
//! {"exec":{"container":"app","command":["ls"],"timeoutSeconds":60}}
//!                                        → {"ok":true,"exitCode":0,"output":"...","timedOut":false}
//! anything else                          → {"ok":false,"error":"..."}
//! ```
//!
//! `update` tells the monitor that `pod.json` holds an update of its pod
//! (new container images): it reads and admits it again, and restarts the
//! running containers whose image changed.
//!
//! ## Attached exec
//!
//! `kubectl exec -i/-t` keeps its connection for as long as the command
//! runs, and gets the command's streams as descriptors (`SCM_RIGHTS`, sent
//! with the first answer's bytes, see `minipod_linux::fdpass`):
//!
//! ```text
//! {"exec":{"container":"app","command":["sh"],"attach":true,"stdin":true,"tty":false}}
//!        → {"ok":true,"tty":false,"stdin":true}   + [stdin write end, stdout, stderr read ends]
//! {"exec":{..., "attach":true,"stdin":true,"tty":true,"width":80,"height":24}}
//!        → {"ok":true,"tty":true,"stdin":true}    + [the terminal's master]
//!   ... the command runs; the monitor has closed its own copies ...
//!        → {"exitCode":0}                          when it ended (128 + signal if killed)
//! a failure to start                     → {"ok":false,"error":"..."}  (no descriptors)
//! ```
//!
//! Without `stdin` there is no stdin descriptor (the command reads
//! `/dev/null`). `width`/`height` (optional) size the terminal before the
//! command starts. If the caller closes the connection before the
//! `exitCode` line, the monitor kills the command. Each connection is
//! served on a thread of its own, so an exec never holds up a `stop`.
//!
//! The socket is a unix socket of mode 0600 in the record's directory
//! (0700): only root talks to the monitor. A socket path longer than
//! `sun_path` allows (108 bytes) is reached through
//! `/proc/self/fd/<dir>/monitor.sock`.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use super::layout::SOCKET_FILE;
use minipod_runtime::exec::{AttachOptions, WindowSize};

/// The longest line either side reads.
pub(super) const MAX_LINE: u64 = 64 * 1024;
/// The longest answer read (an exec's output is at most 10 KiB, escaped).
pub(super) const MAX_REPLY: u64 = 256 * 1024;
/// How long either side waits for the other.
pub(super) const TIMEOUT: Duration = Duration::from_secs(10);
/// The longest an exec through the socket may run.
pub const EXEC_TIMEOUT_SECONDS: u64 = 3600;

/// Why a line on `monitor.sock` is not a command (the answer's `error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("a command is a JSON object")]
    NotAnObject,
    #[error("a command has exactly one key: stop, kill, update or exec")]
    NotOneKey,
    #[error("stop.gracePeriodSeconds must be a non-negative integer or null")]
    BadGracePeriod,
    #[error("exec.container must be a string")]
    BadContainer,
    #[error("exec.command must be a non-empty list")]
    EmptyCommand,
    #[error("exec.command holds strings")]
    CommandNotStrings,
    #[error("unknown command (stop, kill, update or exec)")]
    Unknown,
}

/// A command to a monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Stop the pod gracefully, with this grace period (seconds) or the pod's.
    Stop { grace: Option<i64> },
    /// SIGKILL every container now.
    Kill,
    /// Run the pod of `pod.json` from now on (an update).
    Update,
    /// Run a command in a container and answer with its exit code and
    /// output (`{"ok":true,"exitCode":0,"output":"...","timedOut":false}`).
    Exec {
        container: String,
        command: Vec<String>,
        timeout_seconds: u64,
    },
    /// Start a command in a container with its streams attached: see
    /// "Attached exec" above.
    Attach {
        container: String,
        command: Vec<String>,
        options: AttachOptions,
    },
}

impl Command {
    pub fn to_json(&self) -> Value {
        match self.clone() {
            Command::Stop { grace } => json!({"stop": {"gracePeriodSeconds": grace}}),
            Command::Kill => json!({"kill": {}}),
            Command::Update => json!({"update": {}}),
            Command::Exec {
                container,
                command,
                timeout_seconds,
            } => {
                json!({"exec": {"container": container, "command": command, "timeoutSeconds": timeout_seconds}})
            }
            Command::Attach {
                container,
                command,
                options,
            } => {
                let mut exec = json!({
                    "container": container,
                    "command": command,
                    "attach": true,
                    "stdin": options.stdin,
                    "tty": options.tty,
                });
                if let Some(size) = options.size {
                    exec["width"] = json!(size.width);
                    exec["height"] = json!(size.height);
                }
                json!({ "exec": exec })
            }
        }
    }

    pub fn from_json(value: &Value) -> Result<Command, CommandError> {
        let object = value.as_object().ok_or(CommandError::NotAnObject)?;
        if object.len() != 1 {
            return Err(CommandError::NotOneKey);
        }
        if let Some(stop) = object.get("stop") {
            let grace = match stop.get("gracePeriodSeconds") {
                None | Some(Value::Null) => None,
                Some(n) => Some(
                    n.as_i64()
                        .filter(|n| *n >= 0)
                        .ok_or(CommandError::BadGracePeriod)?,
                ),
            };
            return Ok(Command::Stop { grace });
        }
        if object.contains_key("kill") {
            return Ok(Command::Kill);
        }
        if object.contains_key("update") {
            return Ok(Command::Update);
        }
        if let Some(exec) = object.get("exec") {
            let container = exec["container"]
                .as_str()
                .ok_or(CommandError::BadContainer)?
                .to_owned();
            let command: Vec<String> = exec["command"]
                .as_array()
                .filter(|a| !a.is_empty())
                .ok_or(CommandError::EmptyCommand)?
                .iter()
                .map(|c| {
                    c.as_str()
                        .map(String::from)
                        .ok_or(CommandError::CommandNotStrings)
                })
                .collect::<Result<_, _>>()?;
            if exec["attach"] == json!(true) {
                let flag = |key: &str| exec[key] == json!(true);
                let dimension = |key: &str| exec[key].as_u64().and_then(|v| u16::try_from(v).ok());
                let size = match (dimension("width"), dimension("height")) {
                    (Some(width), Some(height)) => Some(WindowSize { width, height }),
                    _ => None,
                };
                return Ok(Command::Attach {
                    container,
                    command,
                    options: AttachOptions {
                        stdin: flag("stdin"),
                        tty: flag("tty"),
                        size,
                    },
                });
            }
            let timeout_seconds = exec["timeoutSeconds"]
                .as_u64()
                .unwrap_or(EXEC_TIMEOUT_SECONDS);
            return Ok(Command::Exec {
                container,
                command,
                timeout_seconds: timeout_seconds.clamp(1, EXEC_TIMEOUT_SECONDS),
            });
        }
        Err(CommandError::Unknown)
    }
}

/// A path for the socket that fits in `sun_path`: the real one, or the
/// same file through a descriptor of its directory (kept open in the
/// returned `OwnedFd` while the path is used).
pub(super) fn short_path(dir: &Path) -> std::io::Result<(PathBuf, Option<OwnedFd>)> {
    let path = dir.join(SOCKET_FILE);
    if path.as_os_str().len() < 100 {
        return Ok((path, None));
    }
    let fd: OwnedFd = std::fs::File::open(dir)?.into();
    let short = PathBuf::from(format!("/proc/self/fd/{}/{SOCKET_FILE}", fd.as_raw_fd()));
    Ok((short, Some(fd)))
}

/// Writes `value` as one line.
pub(super) fn write_line(stream: &UnixStream, value: &Value) -> std::io::Result<()> {
    let mut text = value.to_string();
    text.push('\n');
    (&*stream).write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_one_json_object_each() {
        let attach = |stdin, tty, size| Command::Attach {
            container: "app".into(),
            command: vec!["sh".into()],
            options: AttachOptions { stdin, tty, size },
        };
        for command in [
            Command::Stop { grace: Some(30) },
            Command::Stop { grace: None },
            Command::Kill,
            Command::Update,
            attach(true, false, None),
            attach(
                true,
                true,
                Some(WindowSize {
                    width: 80,
                    height: 24,
                }),
            ),
        ] {
            assert_eq!(Command::from_json(&command.to_json()), Ok(command));
        }
        assert_eq!(
            Command::Stop { grace: Some(5) }.to_json().to_string(),
            r#"{"stop":{"gracePeriodSeconds":5}}"#
        );
        assert_eq!(Command::Kill.to_json().to_string(), r#"{"kill":{}}"#);
        assert_eq!(
            attach(false, true, None).to_json().to_string(),
            r#"{"exec":{"attach":true,"command":["sh"],"container":"app","stdin":false,"tty":true}}"#
        );
        assert_eq!(
            Command::from_json(&json!({"stop": {}})),
            Ok(Command::Stop { grace: None })
        );
        for bad in [
            json!({}),
            json!([]),
            json!({"restart": {}}),
            json!({"stop": {"gracePeriodSeconds": -1}}),
            json!({"stop": {"gracePeriodSeconds": "5"}}),
            json!({"stop": {}, "kill": {}}),
        ] {
            assert!(Command::from_json(&bad).is_err(), "{bad}");
        }
    }
}
