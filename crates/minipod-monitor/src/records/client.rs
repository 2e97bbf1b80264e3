//! The daemon's side of `monitor.sock` (protocol: see `socket`): one
//! command, one answer. The attached exec, which keeps its connection, is
//! `attach`.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use minipod_spec::AdmittedPod;
use serde_json::{Value, json};

use super::error::RecordError;
use super::json_file::write_json_atomically;
use super::layout::{POD_FILE, SOCKET_FILE, STATUS_FILE};
use super::record::{MonitorState, PodRecord, pod_file_json};
use super::socket::{Command, EXEC_TIMEOUT_SECONDS, MAX_REPLY, TIMEOUT, short_path};
use crate::handlers::ExecResult;

impl PodRecord {
    /// Asks the monitor to stop the pod gracefully (`kubectl delete`):
    /// `grace` seconds instead of `terminationGracePeriodSeconds` if given.
    /// Returns once the monitor took the request.
    pub fn stop(&self, grace: Option<i64>) -> Result<(), RecordError> {
        self.send(&Command::Stop { grace })
    }

    /// Asks the monitor to SIGKILL every container now.
    pub fn kill(&self) -> Result<(), RecordError> {
        self.send(&Command::Kill)
    }

    /// Stores `pod`, an update of the recorded pod (same uid; only what
    /// Kubernetes lets change on a running pod differs, which the caller
    /// checked), in `pod.json`, and has a running monitor take it: it
    /// restarts the containers whose image changed and reports the new pod
    /// in `status.json` before it answers. Without a running monitor the
    /// update is only recorded (`status.json` shows the new spec; nothing
    /// runs any more to restart).
    pub fn update(&self, pod: &AdmittedPod) -> Result<(), RecordError> {
        if pod.uid() != self.uid {
            return Err(RecordError::Invalid {
                path: self.path(POD_FILE),
                message: format!("the update's uid {} is not {}", pod.uid(), self.uid),
            });
        }
        let value = pod_file_json(pod, self.created()?);
        write_json_atomically(&self.path(POD_FILE), &value)?;
        if matches!(self.monitor_state()?, MonitorState::Running(_)) {
            return call(self, &Command::Update, Duration::from_secs(60)).map(drop);
        }
        let mut status = self.status_json()?;
        let deletion = ["deletionTimestamp", "deletionGracePeriodSeconds"]
            .map(|k| (k, status["metadata"].get(k).cloned()));
        status["spec"] = value["spec"].clone();
        status["metadata"] = value["metadata"].clone();
        for (key, old) in deletion {
            if let (Some(old), Some(metadata)) = (old, status["metadata"].as_object_mut()) {
                metadata.insert(key.into(), old);
            }
        }
        write_json_atomically(&self.path(STATUS_FILE), &status)
    }

    /// Runs `command` in `container` through the monitor (`kubectl exec`),
    /// waiting at most `timeout_seconds` (capped at an hour). Blocking.
    pub fn exec(
        &self,
        container: &str,
        command: Vec<String>,
        timeout_seconds: u64,
    ) -> Result<ExecResult, RecordError> {
        if !matches!(self.monitor_state()?, MonitorState::Running(_)) {
            return Err(RecordError::MonitorGone {
                uid: self.uid.clone(),
            });
        }
        let timeout_seconds = timeout_seconds.clamp(1, EXEC_TIMEOUT_SECONDS);
        let reply = call(
            self,
            &Command::Exec {
                container: container.to_owned(),
                command,
                timeout_seconds,
            },
            Duration::from_secs(timeout_seconds + 10),
        )?;
        Ok(ExecResult {
            exit_code: reply["exitCode"]
                .as_i64()
                .and_then(|c| i32::try_from(c).ok())
                .unwrap_or(-1),
            output: reply["output"].as_str().unwrap_or("").as_bytes().to_vec(),
            timed_out: reply["timedOut"] == serde_json::json!(true),
        })
    }

    /// Sends one command to the monitor's socket and waits for its answer.
    pub fn send(&self, command: &Command) -> Result<(), RecordError> {
        if !matches!(self.monitor_state()?, MonitorState::Running(_)) {
            return Err(RecordError::MonitorGone {
                uid: self.uid.clone(),
            });
        }
        send(self, command)
    }
}

/// Connects to the record's monitor socket.
pub(super) fn connect(record: &PodRecord) -> Result<UnixStream, RecordError> {
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
fn send(record: &PodRecord, command: &Command) -> Result<(), RecordError> {
    call(record, command, TIMEOUT).map(drop)
}

/// Sends `command`, waits up to `wait` for the answer, and returns it
/// (an `{"ok": false}` answer is an error).
fn call(record: &PodRecord, command: &Command, wait: Duration) -> Result<Value, RecordError> {
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
    let reply: Value = serde_json::from_str(&reply).map_err(|source| RecordError::Unreadable {
        uid: record.uid().to_owned(),
        answer: reply.clone(),
        source,
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
