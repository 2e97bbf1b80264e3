//! Starting a monitor detached from whoever starts it (the daemon).
//!
//! `<program> monitor --record DIR --ready-fd 3 <node flags>` is started
//! through a double fork: the child makes a new session (`setsid`), forks
//! again and exits at once; the grandchild execs the monitor. So the
//! monitor
//! * is not the daemon's child: the daemon never waits for it, and its
//!   death (even SIGKILL) sends the monitor nothing, as it is reparented to
//!   init (or the nearest subreaper);
//! * has no controlling terminal and is in no process group of the
//!   daemon's, so no terminal signal (Ctrl-C, SIGHUP) meant for the daemon
//!   reaches it;
//! * reads `/dev/null` and writes to `DIR/monitor.log`.
//!
//! Its readiness comes back through a pipe (its fd 3): the monitor writes
//! `ready` once `monitor.json` is written and `monitor.sock` listens; if it
//! dies first, the pipe closes empty and the log says why.

#![allow(unsafe_code)] // the pre_exec hook: the block says why

use std::io::{BufRead, BufReader};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::unistd::{ForkResult, dup2, fork, pipe2, setsid};

use super::{LOG_FILE, MonitorLauncher, ProcessId, Record, RecordError};

/// The monitor's descriptor for its readiness pipe.
pub const READY_FD: i32 = 3;

pub(crate) fn spawn_detached(
    record: &Record,
    launcher: &MonitorLauncher,
) -> Result<ProcessId, RecordError> {
    let failed = |message: String| RecordError::Spawn {
        uid: record.uid().to_owned(),
        message,
    };
    // A monitor.json of an earlier, dead monitor must not be taken for
    // the new one's.
    let _ = std::fs::remove_file(record.path(super::MONITOR_FILE));
    let log_path = record.path(LOG_FILE);
    let log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&log_path)
        .map_err(|source| RecordError::Io {
            path: log_path.clone(),
            source,
        })?;
    let (ready_r, ready_w) = pipe2(OFlag::O_CLOEXEC).map_err(|e| failed(format!("pipe: {e}")))?;
    let ready_w: OwnedFd = ready_w;
    let ready_raw = ready_w.as_raw_fd();

    let mut command = Command::new(&launcher.program);
    command
        .arg("monitor")
        .arg("--record")
        .arg(record.dir())
        .arg("--ready-fd")
        .arg(READY_FD.to_string())
        .args(&launcher.node_args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| failed(format!("{e}")))?)
        .stderr(log);
    // Runs in the forked child, before exec: only async-signal-safe calls
    // (signal-safety(7)): setsid, fork, _exit, dup2, fcntl. Nothing
    // allocates or takes a lock.
    let hook = move || -> std::io::Result<()> {
        setsid()?;
        // SAFETY: fork(2) in a single-threaded child (the one that std's
        // spawn forked); the intermediate process only calls _exit.
        match unsafe { fork() }? {
            ForkResult::Parent { .. } => {
                // SAFETY: _exit(2) ends the intermediate process at once,
                // without running any handler or destructor.
                unsafe { libc::_exit(0) }
            }
            ForkResult::Child => {}
        }
        if ready_raw == READY_FD {
            fcntl(READY_FD, FcntlArg::F_SETFD(FdFlag::empty()))?;
        } else {
            dup2(ready_raw, READY_FD)?;
        }
        Ok(())
    };
    // SAFETY: `hook` only makes async-signal-safe calls (see above).
    unsafe {
        command.pre_exec(hook);
    }
    let spawned = command.spawn();
    // Only the monitor keeps the write end from now on.
    drop(ready_w);
    let mut intermediate =
        spawned.map_err(|e| failed(format!("{}: {e}", launcher.program.display())))?;
    // The intermediate child exits at once; reap it.
    let _ = intermediate.wait();

    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("monitor-ready".into())
        .spawn(move || {
            let mut line = String::new();
            let read = BufReader::new(std::fs::File::from(ready_r)).read_line(&mut line);
            let _ = sender.send(read.map(|_| line));
        })
        .map_err(|e| failed(format!("a thread to wait for it: {e}")))?;
    let tail = || {
        let text = std::fs::read_to_string(record.path(LOG_FILE)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    };
    match receiver.recv_timeout(launcher.ready_timeout) {
        Ok(Ok(line)) if line.trim() == "ready" => {}
        Ok(Ok(_)) | Ok(Err(_)) => {
            return Err(failed(format!(
                "it exited before it was ready; {}:\n{}",
                log_path.display(),
                tail()
            )));
        }
        Err(_) => {
            return Err(failed(format!(
                "not ready after {:?}; {}:\n{}",
                launcher.ready_timeout,
                log_path.display(),
                tail()
            )));
        }
    }
    record.monitor()?.ok_or_else(|| {
        failed(format!(
            "it said ready without writing {}",
            super::MONITOR_FILE
        ))
    })
}

/// The monitor's side: says "ready" on the descriptor the spawner gave it,
/// then closes it (through `/proc/self/fd`, without taking ownership of a
/// raw descriptor).
pub fn announce_ready(fd: i32) -> std::io::Result<()> {
    use std::io::Write;
    let mut pipe = std::fs::OpenOptions::new()
        .write(true)
        .open(format!("/proc/self/fd/{fd}"))?;
    pipe.write_all(b"ready\n")?;
    drop(pipe);
    nix::unistd::close(fd)?;
    Ok(())
}
