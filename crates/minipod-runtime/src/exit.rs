//! How a container ended, as Kubernetes reports it in
//! `status.containerStatuses[].state.terminated`.
//!
//! The rules are containerd's CRI plugin's, which the kubelet passes on:
//! * `exitCode`: the exit code, or 128 + the signal that killed pid 1;
//! * `reason`: `OOMKilled` when the kernel OOM-killed a process of the
//!   container's cgroup during the run, whatever the exit code (containerd
//!   sets it on any OOM event of the container); otherwise `Completed` for
//!   exit code 0 and `Error` for anything else;
//! * a container that never started: `StartError`, exit code 128, the
//!   failure as the message, no start time.
//!
//! Pure: the caller reads the clock and the cgroup's OOM-kill counter.

use std::time::SystemTime;

use minipod_linux::container::{ExitStatus, StartError};

/// The exit code Kubernetes shows for a container that failed to start
/// (containerd's `errorStartExitCode`).
pub const START_ERROR_EXIT_CODE: i32 = 128;

/// `state.terminated.reason`. Why a start failed before that is
/// [`crate::pod::NotStartedReason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TerminatedReason {
    /// Exit code 0.
    Completed,
    /// Any other exit code, or a signal.
    Error,
    /// The kernel OOM-killed a process of the container.
    OomKilled,
    /// The container's process never ran its workload.
    StartError,
}

impl TerminatedReason {
    /// The reason as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            TerminatedReason::Completed => "Completed",
            TerminatedReason::Error => "Error",
            TerminatedReason::OomKilled => "OOMKilled",
            TerminatedReason::StartError => "StartError",
        }
    }
}

impl std::fmt::Display for TerminatedReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The container cgroup's OOM-kill counter
/// (`ContainerCgroup::read_oom_kills`) read before the start and after the
/// exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OomKills {
    pub before: u64,
    pub after: u64,
}

impl OomKills {
    /// True when the counter rose. Not "rose by one": on cgroup v2 with
    /// `memory.oom.group` one kill counts twice, and a container may be
    /// OOM-killed in several processes.
    pub fn rose(self) -> bool {
        self.after > self.before
    }
}

/// `state.terminated`: how one run of a container ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminated {
    pub exit_code: i32,
    /// The signal that killed pid 1, if one did. (The kubelet leaves the
    /// API's `signal` field unset; this is for minipod's own display.)
    pub signal: Option<i32>,
    pub reason: TerminatedReason,
    /// Why it failed to start; `None` for a container that ran. (The
    /// monitor adds a run's termination message from
    /// [`crate::termination_message::read`].)
    pub message: Option<String>,
    /// `None` for a container that never started.
    pub started_at: Option<SystemTime>,
    pub finished_at: SystemTime,
}

/// A container that ran and exited with `status`. `oom_kills` is `None`
/// when the counter could not be read (no memory controller).
pub fn exited(
    status: ExitStatus,
    oom_kills: Option<OomKills>,
    started_at: SystemTime,
    finished_at: SystemTime,
) -> Terminated {
    let exit_code = status.code();
    let reason = if oom_kills.is_some_and(OomKills::rose) {
        TerminatedReason::OomKilled
    } else if exit_code == 0 {
        TerminatedReason::Completed
    } else {
        TerminatedReason::Error
    };
    Terminated {
        exit_code,
        signal: match status {
            ExitStatus::Signaled(signal) => Some(signal),
            ExitStatus::Exited(_) => None,
        },
        reason,
        message: None,
        started_at: Some(started_at),
        finished_at,
    }
}

/// A container whose start failed at `at`.
pub fn start_failed(error: &StartError, at: SystemTime) -> Terminated {
    Terminated {
        exit_code: START_ERROR_EXIT_CODE,
        signal: None,
        reason: TerminatedReason::StartError,
        message: Some(start_error_message(error)),
        started_at: None,
        finished_at: at,
    }
}

/// The status message of a failed start, shaped like containerd's
/// (`failed to create containerd task: ... unable to start container
/// process: exec: "x": executable file not found in $PATH`), naming the
/// step of the container's init that failed.
pub fn start_error_message(error: &StartError) -> String {
    const PREFIX: &str = "failed to start container: unable to start container process";
    match error {
        // The init's message already says what the errno means.
        StartError::Failed(failure) => format!("{PREFIX}: {}: {}", failure.step, failure.message),
        StartError::Spawn(error) => format!("{PREFIX}: start the container's init: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minipod_linux::container::{Step, StepFailure};
    use std::time::{Duration, UNIX_EPOCH};

    fn t(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    #[test]
    fn exits_as_kubernetes_reports_them() {
        use ExitStatus::*;
        let oom = |before, after| Some(OomKills { before, after });
        let cases = [
            (
                "exit 0",
                Exited(0),
                None,
                0,
                None,
                TerminatedReason::Completed,
            ),
            ("exit 1", Exited(1), None, 1, None, TerminatedReason::Error),
            (
                "exit 255",
                Exited(255),
                oom(0, 0),
                255,
                None,
                TerminatedReason::Error,
            ),
            (
                "SIGTERM",
                Signaled(15),
                oom(0, 0),
                143,
                Some(15),
                TerminatedReason::Error,
            ),
            (
                "SIGKILL",
                Signaled(9),
                oom(0, 0),
                137,
                Some(9),
                TerminatedReason::Error,
            ),
            (
                "OOM kill",
                Signaled(9),
                oom(0, 1),
                137,
                Some(9),
                TerminatedReason::OomKilled,
            ),
            (
                "OOM kill, v2 oom.group",
                Signaled(9),
                oom(0, 2),
                137,
                Some(9),
                TerminatedReason::OomKilled,
            ),
            (
                "OOM kill after earlier ones",
                Signaled(9),
                oom(3, 4),
                137,
                Some(9),
                TerminatedReason::OomKilled,
            ),
            (
                "earlier OOM kills only",
                Signaled(9),
                oom(3, 3),
                137,
                Some(9),
                TerminatedReason::Error,
            ),
            (
                "a child OOM-killed, exit 0",
                Exited(0),
                oom(0, 1),
                0,
                None,
                TerminatedReason::OomKilled,
            ),
            (
                "a child OOM-killed, exit 1",
                Exited(1),
                oom(0, 1),
                1,
                None,
                TerminatedReason::OomKilled,
            ),
            (
                "counter went down (cgroup recreated)",
                Exited(0),
                oom(5, 0),
                0,
                None,
                TerminatedReason::Completed,
            ),
        ];
        for (name, status, oom_kills, code, signal, reason) in cases {
            let got = exited(status, oom_kills, t(1), t(2));
            assert_eq!(
                got,
                Terminated {
                    exit_code: code,
                    signal,
                    reason,
                    message: None,
                    started_at: Some(t(1)),
                    finished_at: t(2),
                },
                "{name}"
            );
        }
    }

    #[test]
    fn start_failures_name_the_step() {
        let failed = |step: Step, errno, message: &str| {
            StartError::Failed(StepFailure {
                step,
                errno,
                message: message.into(),
            })
        };
        let cases = [
            (
                failed(
                    Step::FindExecutable,
                    Some(libc::ENOENT),
                    "exec: \"x\": executable file not found in $PATH",
                ),
                "failed to start container: unable to start container process: find executable: \
                 exec: \"x\": executable file not found in $PATH",
            ),
            (
                failed(
                    Step::ChangeToWorkingDir,
                    Some(libc::ENOTDIR),
                    "Not a directory",
                ),
                "failed to start container: unable to start container process: change to workingDir: \
                 Not a directory",
            ),
            (
                failed(
                    Step::CheckRunAsNonRoot,
                    None,
                    "container has runAsNonRoot and image will run as root",
                ),
                "failed to start container: unable to start container process: check runAsNonRoot: \
                 container has runAsNonRoot and image will run as root",
            ),
            (
                StartError::Spawn(std::io::Error::from_raw_os_error(libc::EAGAIN)),
                "failed to start container: unable to start container process: start the container's init: \
                 Resource temporarily unavailable (os error 11)",
            ),
        ];
        for (error, message) in cases {
            let got = start_failed(&error, t(5));
            assert_eq!(got.exit_code, 128);
            assert_eq!(got.reason, TerminatedReason::StartError);
            assert_eq!(got.reason.to_string(), "StartError");
            assert_eq!(got.started_at, None);
            assert_eq!(got.finished_at, t(5));
            assert_eq!(got.message.as_deref(), Some(message));
        }
    }

    #[test]
    fn reasons_are_spelled_as_kubernetes_does() {
        let all = [
            TerminatedReason::Completed,
            TerminatedReason::Error,
            TerminatedReason::OomKilled,
            TerminatedReason::StartError,
        ];
        let names: Vec<&str> = all.iter().map(|r| r.as_str()).collect();
        assert_eq!(names, ["Completed", "Error", "OOMKilled", "StartError"]);
    }
}
