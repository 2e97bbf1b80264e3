//! Containers: start one as a real, isolated process, signal it, wait for it.
//!
//! [`start`] runs in the monitor (which may be multi-threaded): it clones the
//! container's init into new PID and mount namespaces and its cgroup
//! ([`spawn`]), sends it its [`ContainerConfig`], and waits until the init
//! has either exec'd the workload or reported the step that failed
//! ([`StepFailure`], shown by Kubernetes as `StartError`). The init
//! ([`init`]) does the set-up inside the container.
//!
//! Signals go through the container's pidfd, so they reach exactly its pid 1
//! and never a recycled pid, nor 0, 1 or -1. Because [`start`] returns only
//! once the workload runs, no signal can arrive before the exec and be lost.

pub mod apparmor;
pub mod attach;
pub mod caps;
pub mod exec;
pub(crate) mod exec_helper;
mod failure;
pub mod init;
pub mod protocol;
pub mod seccomp;
pub mod spawn;
mod user;
mod workload;

use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::unistd::pipe2;

use init::CONTAINER_INIT;
pub use protocol::{BindMount, ContainerConfig, Namespace, Rootfs, Step, StepFailure, User};
use spawn::{CgroupEntry, ChildFailure, ChildFds, spawn_init};

use crate::cgroup::CgroupJoin;
pub use crate::pidfd::ExitStatus;
use crate::pidfd::PidFd;

/// The container's standard streams (its stdout and stderr usually go to the
/// monitor, which writes the CRI log).
#[derive(Debug)]
pub struct Stdio {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// Why a container did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("starting the container's init")]
    Spawn(#[source] std::io::Error),
    #[error("{0}")]
    Failed(StepFailure),
}

/// A running container: its pid 1, as a pidfd.
#[derive(Debug)]
pub struct Container {
    pid: i32,
    pidfd: PidFd,
}

/// Starts a container in a PID namespace of its own: returns once its
/// workload has been exec'd.
///
/// `program` is our own binary (it must call
/// [`crate::reexec::run_helper_if_asked`]); `cgroup` was opened from the
/// container's cgroup.
pub fn start(
    program: &Path,
    config: &ContainerConfig,
    stdio: &Stdio,
    cgroup: &CgroupJoin,
) -> Result<Container, StartError> {
    start_in(program, config, stdio, cgroup, None)
}

/// Like [`start`], but with `pod_pid_namespace` (a `/proc/<pid>/ns/pid`
/// descriptor of the pod's pause process) the container joins the pod's
/// shared PID namespace (`shareProcessNamespace: true`) instead of getting
/// its own: it then sees every process of the pod, and its workload is not
/// pid 1 (the pause process is).
///
/// Joining works through `setns(CLONE_NEWPID)`, which changes only the
/// namespace the calling *thread* gives its future children (setns(2)).
/// So a short-lived thread does it and clones the container, and no other
/// thread of the monitor is affected.
pub fn start_in(
    program: &Path,
    config: &ContainerConfig,
    stdio: &Stdio,
    cgroup: &CgroupJoin,
    pod_pid_namespace: Option<BorrowedFd<'_>>,
) -> Result<Container, StartError> {
    let pipe = || pipe2(OFlag::O_CLOEXEC).map_err(|e| StartError::Spawn(e.into()));
    let (config_r, config_w) = pipe()?;
    let (report_r, report_w) = pipe()?;
    let entry = match cgroup.cgroup_dir_fd() {
        Some(dir) => CgroupEntry::Directory(dir),
        None => CgroupEntry::Procs(cgroup.fds()),
    };
    let fds = ChildFds {
        stdin: &stdio.stdin,
        stdout: &stdio.stdout,
        stderr: &stdio.stderr,
        config: &config_r,
        report: &report_w,
        extra: &[],
    };
    let argv = ["minipod-init", CONTAINER_INIT];
    let spawned = match pod_pid_namespace {
        None => {
            let namespaces = (libc::CLONE_NEWPID | libc::CLONE_NEWNS) as u64;
            spawn_init(program, &argv, &fds, namespaces, entry)
        }
        Some(pid_namespace) => std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    nix::sched::setns(pid_namespace, nix::sched::CloneFlags::CLONE_NEWPID)
                        .map_err(std::io::Error::from)?;
                    spawn_init(program, &argv, &fds, libc::CLONE_NEWNS as u64, entry)
                })
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the spawning thread panicked")))
        }),
    }
    .map_err(StartError::Spawn)?;
    drop((config_r, report_w));
    let container = Container {
        pid: spawned.pid,
        pidfd: spawned.pidfd,
    };

    // The configuration, then EOF. A write error means the init is gone; its
    // report (read next) says why.
    let text =
        serde_json::to_vec(config).map_err(|e| StartError::Spawn(std::io::Error::other(e)))?;
    let _ = std::io::Write::write_all(&mut std::fs::File::from(config_w), &text);

    let mut report = Vec::new();
    std::fs::File::from(report_r)
        .read_to_end(&mut report)
        .map_err(StartError::Spawn)?;
    if report.is_empty() {
        return Ok(container); // fd 4 closed by the workload's exec
    }
    // Reap the failed init so it leaves no zombie.
    let _ = container.wait();
    Err(StartError::Failed(decode_report(&report)))
}

/// A helper's failure report (fd 4): the clone3 child's five-byte record,
/// or the helper's JSON [`StepFailure`].
fn decode_report(report: &[u8]) -> StepFailure {
    match ChildFailure::decode(report) {
        Some((failure, errno)) => StepFailure {
            step: failure.step(),
            errno: Some(errno),
            message: nix::errno::Errno::from_raw(errno).desc().to_owned(),
        },
        None => serde_json::from_slice(report).unwrap_or_else(|_| StepFailure {
            step: Step::Init,
            errno: None,
            message: String::from_utf8_lossy(report).into_owned(),
        }),
    }
}

impl Container {
    /// The host pid of the container's pid 1 (for display and `/proc`).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The pidfd, for waiting in an event loop (it becomes readable at exit).
    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    /// Sends `signal` to the container's pid 1 (pidfd_send_signal(2)).
    ///
    /// As on any node, pid 1 of a PID namespace only receives signals it has
    /// a handler for (SIGKILL excepted): a shell that traps nothing ignores
    /// SIGTERM, and the grace period ends in SIGKILL.
    pub fn signal(&self, signal: Signal) -> std::io::Result<()> {
        self.pidfd.send_signal(signal)
    }

    /// Waits (blocking) for pid 1 to exit and reaps it (waitid(2) on the pidfd).
    pub fn wait(&self) -> std::io::Result<ExitStatus> {
        self.pidfd.wait()
    }
}
