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

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use super::{Record, RecordError, SOCKET_FILE};
use crate::{AttachOptions, Controller, WindowSize, error_chain};

/// The longest line either side reads.
const MAX_LINE: u64 = 64 * 1024;
/// The longest answer read (an exec's output is at most 10 KiB, escaped).
const MAX_REPLY: u64 = 256 * 1024;
/// How long either side waits for the other.
const TIMEOUT: Duration = Duration::from_secs(10);
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
fn short_path(dir: &Path) -> std::io::Result<(PathBuf, Option<OwnedFd>)> {
    let path = dir.join(SOCKET_FILE);
    if path.as_os_str().len() < 100 {
        return Ok((path, None));
    }
    let fd: OwnedFd = std::fs::File::open(dir)?.into();
    let short = PathBuf::from(format!("/proc/self/fd/{}/{SOCKET_FILE}", fd.as_raw_fd()));
    Ok((short, Some(fd)))
}

/// Binds the record's socket (replacing a stale one), mode 0600.
pub(crate) fn bind(record: &Record) -> Result<UnixListener, RecordError> {
    let path = record.path(SOCKET_FILE);
    let io = |source| RecordError::Io {
        path: path.clone(),
        source,
    };
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let (short, _dir) = short_path(record.dir()).map_err(io)?;
    let listener = UnixListener::bind(&short).map_err(io)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    Ok(listener)
}

/// Serves commands until the listener fails (the process exits with it).
pub(crate) fn serve(listener: UnixListener, controller: Controller, record: Record) {
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                // A thread per connection: an exec may hold its connection
                // for as long as its command runs.
                let controller = controller.clone();
                let record = record.clone();
                let spawned = std::thread::Builder::new()
                    .name("monitor-socket".into())
                    .spawn(move || {
                        if let Err(e) = answer(stream, &controller, &record) {
                            tracing::debug!("monitor socket: {e}");
                        }
                    });
                if let Err(e) = spawned {
                    tracing::warn!("monitor socket: no thread for a connection: {e}");
                }
            }
            Err(e) => {
                tracing::warn!("monitor socket: accept: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn answer(stream: UnixStream, controller: &Controller, record: &Record) -> std::io::Result<()> {
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let mut line = String::new();
    BufReader::new((&stream).take(MAX_LINE)).read_line(&mut line)?;
    // The answer's `error` is where an error becomes text for the caller.
    let refusal = |error: &(dyn std::error::Error + 'static)| json!({"ok": false, "error": error_chain(error)});
    let command = match serde_json::from_str::<Value>(&line) {
        Ok(value) => Command::from_json(&value),
        Err(e) => {
            let reply = json!({"ok": false, "error": format!("not JSON: {e}")});
            return write_line(&stream, &reply);
        }
    };
    let reply = match command {
        Ok(Command::Attach {
            container,
            command,
            options,
        }) => return super::attach::serve(&stream, controller, &container, command, options),
        Ok(Command::Exec {
            container,
            command,
            timeout_seconds,
        }) => match controller.exec(&container, command, Duration::from_secs(timeout_seconds)) {
            Ok(result) => json!({
                "ok": true,
                "exitCode": result.exit_code,
                "output": String::from_utf8_lossy(&result.output),
                "timedOut": result.timed_out,
            }),
            Err(error) => refusal(&error),
        },
        Ok(Command::Update) => match record.admitted() {
            Ok(pod) => match controller.update(pod) {
                Ok(()) => json!({"ok": true}),
                Err(error) => refusal(&error),
            },
            Err(error) => refusal(&error),
        },
        Ok(command) => {
            let taken = match command {
                Command::Stop { grace } => controller.stop(grace),
                Command::Kill => controller.kill_now(),
                Command::Exec { .. } | Command::Attach { .. } | Command::Update => false,
            };
            if taken {
                json!({"ok": true})
            } else {
                json!({"ok": false, "error": "the pod is done; the monitor is exiting"})
            }
        }
        Err(error) => refusal(&error),
    };
    write_line(&stream, &reply)
}

/// Writes `value` as one line.
pub(super) fn write_line(stream: &UnixStream, value: &Value) -> std::io::Result<()> {
    let mut text = value.to_string();
    text.push('\n');
    (&*stream).write_all(text.as_bytes())
}

/// Connects to the record's monitor socket.
pub(super) fn connect(record: &Record) -> Result<UnixStream, RecordError> {
    let path = record.path(SOCKET_FILE);
    let io = |source| RecordError::Io {
        path: path.clone(),
        source,
    };
    let (short, _dir) = short_path(record.dir()).map_err(io)?;
    match UnixStream::connect(&short) {
        Ok(stream) => Ok(stream),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
            ) =>
        {
            Err(RecordError::MonitorGone {
                uid: record.uid().to_owned(),
            })
        }
        Err(e) => Err(io(e)),
    }
}

/// Sends `command` and reads the answer.
pub(crate) fn send(record: &Record, command: &Command) -> Result<(), RecordError> {
    call(record, command, TIMEOUT).map(drop)
}

/// Sends `command`, waits up to `wait` for the answer, and returns it
/// (an `{"ok": false}` answer is an error).
pub(crate) fn call(
    record: &Record,
    command: &Command,
    wait: Duration,
) -> Result<Value, RecordError> {
    let path = record.path(SOCKET_FILE);
    let io = |source| RecordError::Io {
        path: path.clone(),
        source,
    };
    let stream = connect(record)?;
    stream.set_read_timeout(Some(wait)).map_err(io)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
    let mut text = command.to_json().to_string();
    text.push('\n');
    (&stream).write_all(text.as_bytes()).map_err(io)?;
    let mut reply = String::new();
    BufReader::new((&stream).take(MAX_REPLY))
        .read_line(&mut reply)
        .map_err(io)?;
    let reply: Value = serde_json::from_str(&reply).map_err(|e| RecordError::Refused {
        uid: record.uid().to_owned(),
        message: format!("an unreadable answer ({e}): {reply:?}"),
    })?;
    if reply["ok"] == json!(true) {
        Ok(reply)
    } else {
        Err(RecordError::Refused {
            uid: record.uid().to_owned(),
            message: reply["error"]
                .as_str()
                .unwrap_or("no reason given")
                .to_owned(),
        })
    }
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
