//! Running a command inside a running container, as `runc exec` or
//! `nsenter` do: for exec probes and exec hooks (`postStart`, `preStop`).
//!
//! [`exec`] runs in the monitor, which may be multi-threaded, so it never
//! forks there: it re-executes our own binary as a helper
//! ([`EXEC_HELPER`]) with `spawn_init`, exactly as a
//! container's init is started, born in the container's cgroup
//! (`CLONE_INTO_CGROUP` on v2, a write to `cgroup.procs` on v1). The helper
//! gets the container's pid-1 pidfd as fd 5 and its [`ExecConfig`] as JSON on
//! fd 3. It is single-threaded, so ordinary Rust is safe in it:
//!
//! 1. `setns(pidfd, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
//!    CLONE_NEWUTS)`: one call joins all the container's namespaces at once
//!    (a pidfd as `setns`' first argument: Linux ≥ 5.8). Then it enters the
//!    container's root directory, opened as `/proc/<pid>/root` before the
//!    join (as `nsenter --root` does): joining a mount namespace only moves
//!    to the root of its mount tree, which is not always the container's
//!    root (it was not in `scripts/vm-test`'s VM, Debian's 6.1 kernel).
//! 2. `fork`: `setns(CLONE_NEWPID)` does not move the caller, only its
//!    future children (pid_namespaces(7)). So the command runs in a child,
//!    which is really inside the container's PID namespace: `ps` there shows
//!    it, and it dies with the namespace.
//! 3. The child becomes the container's process, with the container's own
//!    configuration: its user and groups (names from the container's
//!    `/etc/passwd`), its capabilities (bounding set first), `no_new_privs`
//!    when the container has it, its working directory and environment,
//!    default signal dispositions, and `execve` after a `$PATH` lookup with
//!    the container's `PATH`. It asks for SIGKILL when the helper dies
//!    (`PR_SET_PDEATHSIG`), so killing the helper kills the command.
//! 4. The helper waits for the child and exits with its status: the exit
//!    code, or 128 + the signal. At the timeout it SIGKILLs the child, reaps
//!    it (so no zombie is handed to a reaper that does not expect it) and
//!    says `timeout` on fd 4.
//!
//! A step that fails before the command's `execve` is written to fd 4 as a
//! [`StepFailure`] (`{step, errno, message}`), as the container init does.
//! The command's stdout and stderr share one pipe; the first
//! [`MAX_OUTPUT`] bytes are kept, as the kubelet keeps them for an exec
//! probe. Should the helper not end the command at the timeout (stuck, or
//! not yet forked), the parent SIGKILLs it through its pidfd
//! [`HELPER_GRACE`] later, and `PR_SET_PDEATHSIG` takes the command.
//!
//! The same helper runs an *attached* exec (`kubectl exec -i/-t`, see
//! [`super::attach`]): no timeout, the command's streams handed to the
//! caller, and with a terminal, a pty opened inside the container.

use std::fs;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::unistd::pipe2;

pub use super::protocol::ExecConfig;
use super::protocol::HelperConfig;
use super::protocol::{Step, StepFailure};
use super::spawn::{CgroupEntry, ChildFds, spawn_init};
use super::{Container, decode_report};
use crate::cgroup::CgroupJoin;

/// `argv[1]` of the helper that runs a command inside a running container
/// (see [`crate::reexec`]).
pub const EXEC_HELPER: &str = "__minipod-exec";

/// How much of a command's output is kept: the kubelet's limit for an exec
/// probe (`maxReadLength` in `pkg/probe/exec`, 10 KiB). The rest is read and
/// thrown away, so the command never blocks on a full pipe.
pub const MAX_OUTPUT: usize = 10 * 1024;

/// The exit code of a command killed at its timeout (128 + SIGKILL).
pub(super) const KILLED: i32 = 128 + libc::SIGKILL;

/// What the helper writes to fd 4 when it killed the command at its
/// timeout (instead of a [`StepFailure`]).
pub(super) const TIMED_OUT: &[u8] = b"timeout";

/// How long after the timeout the parent waits for the helper to kill and
/// reap the command itself, before it SIGKILLs the helper.
const HELPER_GRACE: Duration = Duration::from_secs(2);

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutcome {
    /// The exit code, or 128 + the signal that ended it.
    pub exit_code: i32,
    /// Its stdout and stderr together, at most [`MAX_OUTPUT`] bytes.
    pub output: Vec<u8>,
    /// The timeout passed: the command was killed (`exit_code` is then 137).
    pub timed_out: bool,
}

/// Why a command did not run.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The helper could not be started (pipes, clone3, ...).
    #[error("starting the exec helper")]
    Spawn(#[source] io::Error),
    /// A step before the command's `execve` failed (a missing binary:
    /// step `find executable`, errno `ENOENT`).
    #[error("{0}")]
    Failed(StepFailure),
}

/// Runs `config.argv` inside `target`, a running container, and waits for
/// it at most `timeout`. Blocking: call it from a blocking thread.
///
/// `program` is our own binary (it must call
/// [`crate::reexec::run_helper_if_asked`]); `cgroup` was opened from the
/// container's cgroup, and the command runs inside it.
pub fn exec(
    program: &Path,
    config: &ExecConfig,
    target: &Container,
    cgroup: &CgroupJoin,
    timeout: Duration,
) -> Result<ExecOutcome, ExecError> {
    let deadline = Instant::now() + timeout;
    let spawn_error = |e: Errno| ExecError::Spawn(e.into());
    let (out_r, out_w) = pipe2(OFlag::O_CLOEXEC).map_err(spawn_error)?;
    let devnull: OwnedFd = fs::File::open("/dev/null")
        .map_err(ExecError::Spawn)?
        .into();
    let helper_config = HelperConfig {
        exec: config.clone(),
        timeout_ms: deadline
            .saturating_duration_since(Instant::now())
            .as_millis()
            .try_into()
            .unwrap_or(u64::MAX),
        attach: None,
    };
    let (helper, report_r) = start_helper(
        program,
        target,
        cgroup,
        [&devnull, &out_w, &out_w],
        None,
        &helper_config,
    )?;
    drop((out_w, devnull));

    // The helper kills and reaps the command at the timeout itself. Only if
    // it does not (stuck, or the timeout was hit before it even forked) is
    // it SIGKILLed; then PR_SET_PDEATHSIG takes the command.
    let backstop = deadline + HELPER_GRACE;
    let mut output = Pipe::new(out_r, MAX_OUTPUT)?;
    let mut report = Pipe::new(report_r, 64 * 1024)?;
    let mut timed_out = false;
    loop {
        let remaining = backstop.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            let _ = helper.signal(Signal::SIGKILL);
            timed_out = true;
            break;
        }
        let exited = wait_readable(helper.pidfd(), &mut [&mut output, &mut report], remaining)
            .map_err(ExecError::Spawn)?;
        if exited {
            break;
        }
    }
    let status = helper.wait().map_err(ExecError::Spawn)?;
    // What is still in the pipes was written before the command exited. (Not
    // to EOF: a background process the command started may hold them open.)
    output.read_available();
    report.read_available();
    if report.data == TIMED_OUT {
        timed_out = true;
    } else if !report.data.is_empty() && !timed_out {
        return Err(ExecError::Failed(decode_report(&report.data)));
    }
    Ok(ExecOutcome {
        exit_code: if timed_out { KILLED } else { status.code() },
        output: output.data,
        timed_out,
    })
}

/// Starts the exec helper with `stdio` as its fds 0-2, `target`'s pidfd as
/// fd 5 and `socket` (a terminal's way back) as fd 6, and sends it
/// `helper_config`. Returns the helper and the read end of its report (fd 4).
pub(super) fn start_helper(
    program: &Path,
    target: &Container,
    cgroup: &CgroupJoin,
    stdio: [&OwnedFd; 3],
    socket: Option<&OwnedFd>,
    helper_config: &HelperConfig,
) -> Result<(Container, OwnedFd), ExecError> {
    if helper_config.exec.argv.is_empty() {
        return Err(ExecError::Failed(StepFailure {
            step: Step::Exec,
            errno: None,
            message: "no command given".into(),
        }));
    }
    let spawn_error = |e: Errno| ExecError::Spawn(e.into());
    let (config_r, config_w) = pipe2(OFlag::O_CLOEXEC).map_err(spawn_error)?;
    let (report_r, report_w) = pipe2(OFlag::O_CLOEXEC).map_err(spawn_error)?;
    let target_pidfd = target
        .pidfd()
        .try_clone_to_owned()
        .map_err(ExecError::Spawn)?;
    let entry = match cgroup.cgroup_dir_fd() {
        Some(dir) => CgroupEntry::Directory(dir),
        None => CgroupEntry::Procs(cgroup.fds()),
    };
    let mut extra = vec![&target_pidfd];
    extra.extend(socket);
    let spawned = spawn_init(
        program,
        &["minipod-exec", EXEC_HELPER],
        &ChildFds {
            stdin: stdio[0],
            stdout: stdio[1],
            stderr: stdio[2],
            config: &config_r,
            report: &report_w,
            extra: &extra,
        },
        0,
        entry,
    )
    .map_err(ExecError::Spawn)?;
    drop(extra);
    drop((config_r, report_w, target_pidfd));
    let helper = Container {
        pid: spawned.pid,
        pidfd: spawned.pidfd,
    };
    // The configuration, then EOF. A write error means the helper is gone;
    // its report says why.
    let text =
        serde_json::to_vec(helper_config).map_err(|e| ExecError::Spawn(io::Error::other(e)))?;
    let _ = fs::File::from(config_w).write_all(&text);
    Ok((helper, report_r))
}

/// The read end of a pipe, non-blocking, with what was read from it (up to
/// `keep` bytes; more is read and dropped).
struct Pipe {
    fd: Option<OwnedFd>,
    data: Vec<u8>,
    keep: usize,
}

impl Pipe {
    fn new(fd: OwnedFd, keep: usize) -> Result<Pipe, ExecError> {
        crate::fd_flags::set_nonblocking(fd.as_fd()).map_err(|e| ExecError::Spawn(e.into()))?;
        Ok(Pipe {
            fd: Some(fd),
            data: Vec::new(),
            keep,
        })
    }

    /// Reads what the pipe holds now; closes it at EOF.
    fn read_available(&mut self) {
        let Some(fd) = &self.fd else { return };
        let mut buf = [0u8; 8192];
        loop {
            match nix::unistd::read(fd.as_raw_fd(), &mut buf) {
                Ok(0) => {
                    self.fd = None;
                    return;
                }
                Ok(n) => {
                    let room = self.keep.saturating_sub(self.data.len());
                    self.data.extend_from_slice(&buf[..n.min(room)]);
                }
                Err(Errno::EINTR) => {}
                Err(_) => return, // EAGAIN: nothing more for now
            }
        }
    }
}

/// Waits up to `timeout` for the helper to exit or a pipe to have data, and
/// reads what came. Returns true once the helper has exited.
fn wait_readable(
    helper: BorrowedFd<'_>,
    pipes: &mut [&mut Pipe],
    timeout: Duration,
) -> io::Result<bool> {
    let mut fds = vec![Some(helper)];
    fds.extend(
        pipes
            .iter()
            .map(|pipe| pipe.fd.as_ref().map(|fd| fd.as_fd())),
    );
    let ready = crate::poll::readable(&fds, timeout.max(Duration::from_millis(1)))?;
    for (pipe, ready) in pipes.iter_mut().zip(&ready[1..]) {
        if *ready {
            pipe.read_available();
        }
    }
    Ok(ready[0])
}
