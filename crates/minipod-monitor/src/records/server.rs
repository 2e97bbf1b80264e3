//! The monitor's side of `monitor.sock` (protocol: see `socket`): a
//! thread per connection, each command handed to the monitor's
//! [`Controller`].

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use serde_json::{Value, json};

use super::attach;
use super::error::RecordError;
use super::layout::SOCKET_FILE;
use super::record::PodRecord;
use super::socket::{Command, MAX_LINE, TIMEOUT, short_path, write_line};
use crate::controller::Controller;
use minipod_spec::error_chain;

/// Binds the record's socket (replacing a stale one), mode 0600.
pub(super) fn bind(record: &PodRecord) -> Result<UnixListener, RecordError> {
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
pub(super) fn serve(listener: UnixListener, controller: Controller, record: PodRecord) {
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

fn answer(stream: UnixStream, controller: &Controller, record: &PodRecord) -> std::io::Result<()> {
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
        }) => return attach::serve(&stream, controller, &container, command, options),
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
