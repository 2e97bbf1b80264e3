//! Starting a monitor detached from whoever starts it (the daemon).
//!
//! `<program> monitor --record DIR --ready-fd 3 <node flags>` is started
//! detached (`minipod_linux::detached`: a double fork), so the monitor
//! * is not the daemon's child: the daemon never waits for it, and its
//!   death (even SIGKILL) sends the monitor nothing;
//! * has no controlling terminal and is in no process group of the
//!   daemon's, so no terminal signal (Ctrl-C, SIGHUP) meant for the daemon
//!   reaches it;
//! * reads `/dev/null` and writes to `DIR/monitor.log`.
//!
//! Its readiness comes back through a pipe (its fd 3): the monitor writes
//! `ready` once `monitor.json` is written and `monitor.sock` listens; if it
//! dies first, the pipe closes empty and the log says why.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;

use minipod_linux::detached;

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
    // Both ends close-on-exec: the monitor gets the write end as fd 3 only.
    let (ready_r, ready_w) = std::io::pipe().map_err(|e| failed(format!("pipe: {e}")))?;

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
    detached::spawn_detached(&mut command, ready_w.into(), READY_FD)
        .map_err(|e| failed(format!("{}: {e}", launcher.program.display())))?;

    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("monitor-ready".into())
        .spawn(move || {
            let mut line = String::new();
            let read = BufReader::new(ready_r).read_line(&mut line);
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
/// then closes it (written through `/proc/self/fd`, without taking
/// ownership of a raw descriptor).
pub fn announce_ready(fd: i32) -> std::io::Result<()> {
    use std::io::Write;
    let mut pipe = std::fs::OpenOptions::new()
        .write(true)
        .open(format!("/proc/self/fd/{fd}"))?;
    pipe.write_all(b"ready\n")?;
    drop(pipe);
    detached::close_inherited(fd)?;
    Ok(())
}
