//! The attached exec over `monitor.sock` (protocol: see `socket`): the
//! monitor's side ([`serve`], for `server`) and the caller's
//! ([`PodRecord::exec_attached`], returning an [`AttachedExec`]).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use minipod_linux::fdpass;
use minipod_linux::signals::Signal;
use serde_json::{Value, json};

use super::client::connect;
use super::error::RecordError;
use super::layout::SOCKET_FILE;
use super::record::{MonitorState, PodRecord};
use super::socket::{Command, write_line};
use minipod_runtime::exec::{AttachOptions, Attached, Streams};

use crate::controller::Controller;
use minipod_spec::error_chain;

/// How long the caller waits for the command to start (a busy, emulated
/// VM can take seconds to clone and exec the helper).
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest line either side reads.
const MAX_LINE: usize = 64 * 1024;

/// The monitor's side: starts the command, sends its streams with the
/// first answer, then the exit code when it ends. Blocking, on the
/// connection's own thread.
pub(super) fn serve(
    stream: &UnixStream,
    controller: &Controller,
    container: &str,
    command: Vec<String>,
    options: AttachOptions,
) -> std::io::Result<()> {
    let Attached { streams, process } = match controller.exec_attached(container, command, options)
    {
        Ok(attached) => attached,
        // The answer's `error`: where the error becomes text for the caller.
        Err(error) => {
            return write_line(stream, &json!({"ok": false, "error": error_chain(&error)}));
        }
    };
    let (tty, has_stdin, fds): (bool, bool, Vec<OwnedFd>) = match streams {
        Streams::Pipes {
            stdin,
            stdout,
            stderr,
        } => (
            false,
            stdin.is_some(),
            stdin.into_iter().chain([stdout, stderr]).collect(),
        ),
        Streams::Terminal(master) => (true, options.stdin, vec![master]),
    };
    let mut line = json!({"ok": true, "tty": tty, "stdin": has_stdin}).to_string();
    line.push('\n');
    let borrowed: Vec<BorrowedFd<'_>> = fds.iter().map(AsFd::as_fd).collect();
    let sent = fdpass::send_fds(stream.as_fd(), line.as_bytes(), &borrowed);
    // Our copies go now: the command sees EOF on stdin once the caller
    // closes its end, and the caller sees EOF once the command's ends close.
    drop(borrowed);
    drop(fds);
    if let Err(e) = sent {
        let _ = process.signal(Signal::SIGKILL);
        let _ = process.wait();
        return Err(e);
    }

    // The caller waits for the exit line. If it goes away first (the
    // connection reads EOF), nobody will read the command's output or
    // status: the command is killed, with its helper.
    let process = Arc::new(process);
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (process, done) = (Arc::clone(&process), Arc::clone(&done));
        let reader = stream.try_clone()?;
        reader.set_read_timeout(None)?;
        std::thread::Builder::new()
            .name("attach-watch".into())
            .spawn(move || {
                let mut buf = [0u8; 64];
                while let Ok(n) = (&reader).read(&mut buf)
                    && n > 0
                {}
                if !done.load(Ordering::SeqCst) {
                    // After the wait below this is ESRCH: a pidfd never
                    // names another process.
                    let _ = process.signal(Signal::SIGKILL);
                }
            })?
    };
    let code = process.wait().map(|s| s.code()).unwrap_or(128);
    done.store(true, Ordering::SeqCst);
    let written = write_line(stream, &json!({"exitCode": code}));
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = watcher.join();
    written
}

/// A command running in a container with its streams attached, seen from
/// the caller (the daemon).
#[derive(Debug)]
pub struct AttachedExec {
    /// The command's streams: pipes, or the terminal's master.
    pub streams: Streams,
    /// Its end.
    pub exit: ExecExit,
}

/// The connection on which a running attached exec's exit code will come.
/// Dropping it without waiting closes the connection, and the monitor
/// kills the command.
#[derive(Debug)]
pub struct ExecExit {
    connection: UnixStream,
    /// What was read past the first line.
    pending: Vec<u8>,
    uid: String,
}

impl AttachedExec {
    /// Waits (blocking) for the command to end: see [`ExecExit::wait`].
    pub fn wait(self) -> Result<i32, RecordError> {
        self.exit.wait()
    }
}

/// Ends an attached exec from another thread than the one waiting for it
/// (the client went away): the monitor sees its connection close and kills
/// the command, and the wait returns an error.
#[derive(Debug)]
pub struct ExecCancel(UnixStream);

impl ExecCancel {
    pub fn cancel(&self) {
        let _ = self.0.shutdown(std::net::Shutdown::Both);
    }
}

impl ExecExit {
    /// A handle that ends the exec early (see [`ExecCancel`]).
    pub fn canceller(&self) -> std::io::Result<ExecCancel> {
        self.connection.try_clone().map(ExecCancel)
    }

    /// Waits (blocking) for the command to end: its exit code, or 128 +
    /// the signal that killed it.
    pub fn wait(self) -> Result<i32, RecordError> {
        let refused = |message: String| RecordError::Refused {
            uid: self.uid.clone(),
            message,
        };
        self.connection
            .set_read_timeout(None)
            .map_err(|source| RecordError::Connection {
                uid: self.uid.clone(),
                source,
            })?;
        let mut reader = BufReader::new(
            self.pending
                .as_slice()
                .chain(&self.connection)
                .take(MAX_LINE as u64),
        );
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .map_err(|source| RecordError::Connection {
                uid: self.uid.clone(),
                source,
            })?;
        let reply: Value = serde_json::from_str(&line).map_err(|_| {
            refused(format!(
                "the monitor ended the exec without a status: {line:?}"
            ))
        })?;
        reply["exitCode"]
            .as_i64()
            .and_then(|c| i32::try_from(c).ok())
            .ok_or_else(|| refused(format!("no exit code in {line:?}")))
    }
}

impl PodRecord {
    /// Starts `command` in `container` through the monitor with its streams
    /// attached (`kubectl exec -i/-t`): returns them once the command runs;
    /// [`AttachedExec::wait`] gives its exit code. No timeout. Blocking.
    pub fn exec_attached(
        &self,
        container: &str,
        command: Vec<String>,
        options: AttachOptions,
    ) -> Result<AttachedExec, RecordError> {
        if !matches!(self.monitor_state()?, MonitorState::Running(_)) {
            return Err(RecordError::MonitorGone {
                uid: self.uid.clone(),
            });
        }
        call(self, container, command, options)
    }
}

/// The caller's side: sends the command, receives the streams.
fn call(
    record: &PodRecord,
    container: &str,
    command: Vec<String>,
    options: AttachOptions,
) -> Result<AttachedExec, RecordError> {
    let path = record.path(SOCKET_FILE);
    let io = |source| RecordError::Io {
        path: path.clone(),
        source,
    };
    let refused = |message: String| RecordError::Refused {
        uid: record.uid().to_owned(),
        message,
    };
    let stream = connect(record)?;
    stream.set_read_timeout(Some(START_TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(START_TIMEOUT)).map_err(io)?;
    let mut text = Command::Attach {
        container: container.to_owned(),
        command,
        options,
    }
    .to_json()
    .to_string();
    text.push('\n');
    (&stream).write_all(text.as_bytes()).map_err(io)?;

    // The first line, with the descriptors that came with it.
    let mut received = Vec::new();
    let mut fds = Vec::new();
    let newline = loop {
        if let Some(at) = received.iter().position(|b| *b == b'\n') {
            break at;
        }
        if received.len() > MAX_LINE {
            return Err(refused("an answer without an end".into()));
        }
        let mut buf = [0u8; 4096];
        let (n, more) = fdpass::recv_fds(stream.as_fd(), &mut buf).map_err(io)?;
        if n == 0 {
            return Err(RecordError::MonitorGone {
                uid: record.uid().to_owned(),
            });
        }
        received.extend_from_slice(&buf[..n]);
        fds.extend(more);
    };
    let pending = received.split_off(newline + 1);
    let reply: Value =
        serde_json::from_slice(&received).map_err(|source| RecordError::Unreadable {
            uid: record.uid().to_owned(),
            answer: String::from_utf8_lossy(&received).into_owned(),
            source,
        })?;
    if reply["ok"] != json!(true) {
        return Err(refused(
            reply["error"]
                .as_str()
                .unwrap_or("no reason given")
                .to_owned(),
        ));
    }
    let mut fds = fds.into_iter();
    let mut next = || {
        fds.next()
            .ok_or_else(|| refused("missing descriptors".into()))
    };
    let streams = if reply["tty"] == json!(true) {
        Streams::Terminal(next()?)
    } else {
        let stdin = if reply["stdin"] == json!(true) {
            Some(next()?)
        } else {
            None
        };
        Streams::Pipes {
            stdin,
            stdout: next()?,
            stderr: next()?,
        }
    };
    Ok(AttachedExec {
        streams,
        exit: ExecExit {
            connection: stream,
            pending,
            uid: record.uid().to_owned(),
        },
    })
}
