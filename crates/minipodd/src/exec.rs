//! `kubectl exec`: an attached exec through the pod's monitor, bridged to
//! the API's [`ExecSession`].
//!
//! The monitor hands over the command's streams as descriptors (see
//! `minipod_monitor::records::PodRecord::exec_attached`): pipes, or the master
//! of a terminal allocated inside the container. They become tokio pipes
//! here (`O_NONBLOCK`, registered with the reactor; a pty master polls like
//! a pipe), so output is streamed as it comes, with no size limit, and
//! closing stdin (channel 255, or the websocket's end) closes the pipe: EOF
//! for the command. With a terminal, closing stdin types `^D` instead (the
//! terminal's end-of-file), and resizes become `TIOCSWINSZ` on the master.

use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use minipod_api::ApiError;
use minipod_api::backend::{ByteStream, ExecFailure, ExecSession, TerminalSize};
use minipod_monitor::records::{AttachedExec, ExecExit, PodRecord};
use minipod_monitor::{AttachOptions, Streams, WindowSize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::sync::{mpsc, oneshot};

/// How long a terminal exec waits for kubectl's first terminal size before
/// it starts the command without one. kubectl sends it as soon as the
/// websocket is up; starting with it means a command that asks for its
/// size at once (`stty size`) sees the real one. (The kubelet and runc
/// start first and resize after; this closes that race in most cases.)
const FIRST_SIZE_WAIT: Duration = Duration::from_secs(2);

/// The terminal's end-of-file character (`VEOF`, `^D` by default).
const EOF_CHARACTER: u8 = 0x04;

/// What went wrong between the monitor's answer and the client's streams.
#[derive(Debug, thiserror::Error)]
enum BridgeError {
    #[error("the monitor sent a terminal for an exec without one")]
    UnexpectedTerminal,
    #[error("the monitor sent no terminal")]
    NoTerminal,
    #[error("the exec's terminal")]
    Terminal(#[source] std::io::Error),
}

/// Starts `command` in `container` without a terminal and returns its
/// streams. A command that cannot start (a missing binary) ends the
/// session with its error, as the kubelet reports it after the upgrade
/// (the final status on the error channel), not as an answer to the
/// upgrade: kubectl would retry a refused upgrade over SPDY and show that
/// retry's refusal instead of the cause.
pub(crate) async fn with_pipes(
    record: PodRecord,
    container: String,
    command: Vec<String>,
    stdin: bool,
) -> Result<ExecSession, ApiError> {
    let options = AttachOptions {
        stdin,
        tty: false,
        size: None,
    };
    let started =
        tokio::task::spawn_blocking(move || record.exec_attached(&container, command, options))
            .await
            .map_err(ApiError::internal)?;
    let attached = match started {
        Ok(attached) => attached,
        Err(e) => {
            let (done, exit) = oneshot::channel::<Result<i32, ExecFailure>>();
            let _ = done.send(Err(Box::new(e)));
            return Ok(ExecSession {
                stdin: None,
                stdout: None,
                stderr: None,
                resize: None,
                exit,
            });
        }
    };
    let AttachedExec { streams, exit } = attached;
    let Streams::Pipes {
        stdin,
        stdout,
        stderr,
    } = streams
    else {
        return Err(ApiError::internal(BridgeError::UnexpectedTerminal));
    };
    let stdin = match stdin {
        Some(fd) => {
            Some(Box::pin(pipe::Sender::from_owned_fd(fd).map_err(ApiError::internal)?) as _)
        }
        None => None,
    };
    let reader = |fd: OwnedFd| -> Result<ByteStream, ApiError> {
        Ok(Box::pin(
            pipe::Receiver::from_owned_fd(fd).map_err(ApiError::internal)?,
        ))
    };
    Ok(ExecSession {
        stdin,
        stdout: Some(reader(stdout)?),
        stderr: Some(reader(stderr)?),
        resize: None,
        exit: exit_of(exit),
    })
}

/// A terminal exec: the session is returned at once, and the command
/// starts once kubectl has sent its terminal size (or after
/// [`FIRST_SIZE_WAIT`]). A failure to start ends the session with its
/// message.
pub(crate) fn with_terminal(
    record: PodRecord,
    container: String,
    command: Vec<String>,
    stdin: bool,
) -> ExecSession {
    let (stdin_client, stdin_ours) = tokio::io::duplex(64 * 1024);
    let (stdout_ours, stdout_client) = tokio::io::duplex(64 * 1024);
    let (resize, mut resizes) = mpsc::channel::<TerminalSize>(8);
    let (done, exit) = oneshot::channel::<Result<i32, ExecFailure>>();
    tokio::spawn(async move {
        let first = tokio::time::timeout(FIRST_SIZE_WAIT, resizes.recv())
            .await
            .ok()
            .flatten();
        let options = AttachOptions {
            stdin,
            tty: true,
            size: first.map(window_size),
        };
        let started =
            tokio::task::spawn_blocking(move || record.exec_attached(&container, command, options))
                .await;
        let attached = match started {
            Ok(Ok(attached)) => attached,
            Ok(Err(e)) => return drop(done.send(Err(Box::new(e)))),
            Err(e) => return drop(done.send(Err(Box::new(e)))),
        };
        let AttachedExec { streams, exit } = attached;
        let master = match streams {
            Streams::Terminal(master) => master,
            Streams::Pipes { .. } => {
                return drop(done.send(Err(Box::new(BridgeError::NoTerminal))));
            }
        };
        if let Err(e) = bridge_terminal(master, stdin_ours, stdout_ours, resizes) {
            return drop(done.send(Err(Box::new(BridgeError::Terminal(e)))));
        }
        report_exit(exit, done).await;
    });
    ExecSession {
        stdin: stdin.then(|| Box::pin(stdin_client) as _),
        stdout: Some(Box::pin(stdout_client)),
        stderr: None,
        resize: Some(resize),
        exit,
    }
}

/// Copies between the terminal's master and the session's streams, and
/// applies resizes, each on a task of its own.
fn bridge_terminal(
    master: OwnedFd,
    mut input: tokio::io::DuplexStream,
    mut output: tokio::io::DuplexStream,
    mut resizes: mpsc::Receiver<TerminalSize>,
) -> std::io::Result<()> {
    minipod_linux::fd_flags::set_nonblocking(master.as_fd())?;
    let resizer = master.try_clone()?;
    let mut writer = pipe::Sender::from_owned_fd_unchecked(master.try_clone()?)?;
    let mut reader = pipe::Receiver::from_owned_fd_unchecked(master)?;
    tokio::spawn(async move {
        while let Some(size) = resizes.recv().await {
            let _ = minipod_linux::container::attach::set_window_size(
                resizer.as_fd(),
                window_size(size),
            );
        }
    });
    tokio::spawn(async move {
        // Until the client closes stdin; then the terminal's end-of-file.
        if tokio::io::copy(&mut input, &mut writer).await.is_ok() {
            let _ = writer.write_all(&[EOF_CHARACTER]).await;
        }
    });
    tokio::spawn(async move {
        // Reading the master fails with EIO once the command (and every
        // process holding the terminal) has ended: the end of the output.
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = reader.read(&mut buf).await
            && n > 0
        {
            if output.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
        let _ = output.shutdown().await;
    });
    Ok(())
}

fn window_size(size: TerminalSize) -> WindowSize {
    WindowSize {
        width: size.width,
        height: size.height,
    }
}

/// The exit code, once the monitor sends it.
fn exit_of(exit: ExecExit) -> oneshot::Receiver<Result<i32, ExecFailure>> {
    let (done, receiver) = oneshot::channel();
    tokio::spawn(report_exit(exit, done));
    receiver
}

/// Sends the exit code on `done` once the monitor sends it; if the session
/// is dropped first (its client went away), ends the exec, so that the
/// command does not outlive its client.
async fn report_exit(exit: ExecExit, mut done: oneshot::Sender<Result<i32, ExecFailure>>) {
    let cancel = exit.canceller().ok();
    tokio::select! {
        code = wait_exit(exit) => {
            let _ = done.send(code);
        }
        () = done.closed() => {
            if let Some(cancel) = cancel {
                cancel.cancel();
            }
        }
    }
}

async fn wait_exit(exit: ExecExit) -> Result<i32, ExecFailure> {
    Ok(tokio::task::spawn_blocking(move || exit.wait()).await??)
}
