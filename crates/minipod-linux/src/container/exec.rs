//! Running a command inside a running container, as `runc exec` or
//! `nsenter` do: for exec probes and exec hooks (`postStart`, `preStop`).
//!
//! [`exec`] runs in the monitor, which may be multi-threaded, so it never
//! forks there: it re-executes our own binary as a helper
//! ([`crate::reexec::EXEC_HELPER`]) with `spawn_init`, exactly as a
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
//! [`StartFailure`] (`{step, errno, message}`), as the container init does.
//! The command's stdout and stderr share one pipe; the first
//! [`MAX_OUTPUT`] bytes are kept, as the kubelet keeps them for an exec
//! probe. Should the helper not end the command at the timeout (stuck, or
//! not yet forked), the parent SIGKILLs it through its pidfd
//! [`HELPER_GRACE`] later, and `PR_SET_PDEATHSIG` takes the command.
//!
//! The same helper runs an *attached* exec (`kubectl exec -i/-t`, see
//! [`super::attach`]): no timeout, the command's streams handed to the
//! caller, and with a terminal, a pty opened inside the container.

#![allow(unsafe_code)] // fd ownership, fork, prctl: each block says why

use std::convert::Infallible;
use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::{CloneFlags, setns};
use nix::sys::signal::Signal;
use nix::unistd::{ForkResult, chdir, fork, pipe2};
use serde::{Deserialize, Serialize};

use super::attach::{HelperAttach, open_terminal, take_terminal};
use super::init::{
    close_fds_from, exec_workload, find_executable, reset_signals, set_cloexec, step, switch_user,
};
use super::protocol::{ContainerConfig, StartFailure, User};
use super::spawn::{CONFIG_FD, CgroupEntry, ChildFds, EXTRA_FD, EXTRA2_FD, REPORT_FD, spawn_init};
use super::{Container, decode_report};
use crate::cgroup::CgroupJoin;
use crate::pidfd::PidFd;
use crate::reexec::EXEC_HELPER;

/// How much of a command's output is kept: the kubelet's limit for an exec
/// probe (`maxReadLength` in `pkg/probe/exec`, 10 KiB). The rest is read and
/// thrown away, so the command never blocks on a full pipe.
pub const MAX_OUTPUT: usize = 10 * 1024;

/// The exit code of a command killed at its timeout (128 + SIGKILL).
const KILLED: i32 = 128 + libc::SIGKILL;

/// What the helper writes to fd 4 when it killed the command at its
/// timeout (instead of a [`StartFailure`]).
const TIMED_OUT: &[u8] = b"timeout";

/// How long after the timeout the parent waits for the helper to kill and
/// reap the command itself, before it SIGKILLs the helper.
const HELPER_GRACE: Duration = Duration::from_secs(2);

/// What goes to the helper on fd 3.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct HelperConfig {
    pub(super) exec: ExecConfig,
    /// When the helper kills the command, counted from its start (not
    /// used by an attached exec, which has no timeout).
    pub(super) timeout_ms: u64,
    /// An attached exec (see `super::attach`): no timeout, the command's
    /// status as the helper's, and with a terminal, the master sent on fd 6.
    #[serde(default)]
    pub(super) attach: Option<HelperAttach>,
}

/// What the helper needs to become a process of the container: the
/// container's own process settings, with another command line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecConfig {
    pub argv: Vec<String>,
    /// `NAME=value`: the container's environment.
    pub env: Vec<String>,
    pub cwd: String,
    pub user: User,
    /// Capability names the process keeps, as the container's.
    pub capabilities: Vec<String>,
    pub no_new_privileges: bool,
    /// The container's seccomp profile: an exec'd process is confined as
    /// the container is (runc applies it to `runc exec` too).
    #[serde(default)]
    pub seccomp: Option<minipod_plan::seccomp::SeccompProfile>,
    /// The container's AppArmor profile: runc confines `runc exec` too.
    #[serde(default)]
    pub apparmor_profile: Option<String>,
}

impl ExecConfig {
    /// `argv`, run with what `config` gave the container's workload: env,
    /// working directory, user and groups, capabilities, `no_new_privs`.
    pub fn for_container(config: &ContainerConfig, argv: &[String]) -> ExecConfig {
        ExecConfig {
            argv: argv.to_vec(),
            env: config.env.clone(),
            cwd: config.cwd.clone(),
            user: config.user.clone(),
            // As the container's init does (`caps::held_by_this_process`).
            capabilities: if config.privileged {
                super::caps::held_by_this_process(&config.capabilities)
            } else {
                config.capabilities.clone()
            },
            no_new_privileges: config.no_new_privileges,
            seccomp: config.seccomp.clone(),
            apparmor_profile: config.apparmor_profile.clone(),
        }
    }
}

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
    Failed(StartFailure),
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
        return Err(ExecError::Failed(StartFailure {
            step: "exec".into(),
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
        nix::fcntl::fcntl(
            fd.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK),
        )
        .map_err(|e| ExecError::Spawn(e.into()))?;
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

// ---------------------------------------------------------------------------
// The helper's side (a fresh, single-threaded process).
// ---------------------------------------------------------------------------

/// Every namespace a container has, joined through its pidfd in one call.
/// (No user namespace: minipod's containers share the host's. No cgroup
/// namespace either: the helper is already in the container's cgroup.)
fn container_namespaces() -> CloneFlags {
    CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWNET
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWUTS
}

/// The exec helper: joins the container, forks the command into its PID
/// namespace, and exits with the command's status. Never returns.
pub fn helper_main() -> ! {
    let failure = match std::panic::catch_unwind(run_helper) {
        Ok(Ok(code)) => std::process::exit(code),
        Ok(Err(failure)) => failure,
        Err(_) => StartFailure {
            step: "exec helper".into(),
            errno: None,
            message: "the exec helper panicked".into(),
        },
    };
    report_and_exit(&failure)
}

/// Writes `failure` to fd 4 and exits with 128, the code of a process that
/// never started.
fn report_and_exit(failure: &StartFailure) -> ! {
    // SAFETY: fd 4 was placed by the parent for exactly this; only this
    // process (or this fork of it) writes there, once, right before exiting.
    let mut report = unsafe { fs::File::from_raw_fd(REPORT_FD) };
    let _ = report.write_all(&serde_json::to_vec(failure).unwrap_or_default());
    std::process::exit(128);
}

fn run_helper() -> Result<i32, StartFailure> {
    // Out of the monitor's process group and session, as the containers: a
    // Ctrl-C on the monitor's terminal must not reach the command directly.
    step("new session", nix::unistd::setsid().map(drop))?;
    step("set up fds", set_cloexec(REPORT_FD))?;
    step("set up fds", set_cloexec(EXTRA_FD))?;
    // fd 6, the terminal's way back, is there only for an attached exec
    // with a terminal (EBADF otherwise).
    let _ = set_cloexec(EXTRA2_FD);
    close_fds_from(EXTRA2_FD + 1);
    let started = Instant::now();
    let HelperConfig {
        exec: config,
        timeout_ms,
        attach,
    } = {
        // SAFETY: fd 3 was placed by the parent; we take ownership once.
        let mut file = unsafe { fs::File::from_raw_fd(CONFIG_FD) };
        let mut text = String::new();
        step("read config", file.read_to_string(&mut text))?;
        step("read config", serde_json::from_str(&text))?
    };
    {
        // SAFETY: fd 5 is the container's pidfd, placed by the parent; we
        // take ownership once and close it after the join.
        let target = unsafe { OwnedFd::from_raw_fd(EXTRA_FD) };
        // The container's root directory, opened before the join: joining a
        // mount namespace puts us at the root of its mount tree, which is
        // the container's root only if the host's own tree is laid out as
        // expected (nsenter's `--root` does the same).
        let root = step("open the container's root", container_root(target.as_fd()))?;
        step(
            "join container namespaces",
            setns(target.as_fd(), container_namespaces()),
        )?;
        step("enter the container's root", enter_root(root.as_fd()))?;
    }
    // With a terminal: opened now, inside the container's root, from its
    // own devpts (see `super::attach`), and its master sent back on fd 6.
    let terminal = match attach {
        Some(HelperAttach { tty: true, size }) => {
            // SAFETY: fd 6 was placed by the parent for a terminal exec;
            // we take ownership once and close it once the master is sent.
            let socket = unsafe { OwnedFd::from_raw_fd(EXTRA2_FD) };
            let (master, slave) = step("open the terminal", open_terminal(size))?;
            step(
                "send the terminal",
                crate::fdpass::send_fds(socket.as_fd(), b"t", &[master.as_fd()]),
            )?;
            Some(slave)
        }
        _ => None,
    };
    // A pidfd of this helper, inherited by the command: polling it tells the
    // command whether the helper already died (see `become_command`).
    let me = step("open pidfd", PidFd::open(std::process::id() as i32))?;

    // SAFETY: this process is single-threaded (a freshly exec'd helper that
    // starts no thread), so the child may run any code after the fork.
    match step("fork", unsafe { fork() })? {
        ForkResult::Child => {
            let start = || {
                if let Some(slave) = terminal {
                    step("take the terminal", take_terminal(slave))?;
                }
                become_command(&config, &me)
            };
            let failure = match std::panic::catch_unwind(start) {
                Ok(Err(failure)) => failure,
                Ok(Ok(never)) => match never {},
                Err(_) => StartFailure {
                    step: "exec".into(),
                    errno: None,
                    message: "the exec child panicked".into(),
                },
            };
            report_and_exit(&failure)
        }
        ForkResult::Parent { child } => {
            drop((me, terminal));
            if attach.is_some() {
                return Ok(wait_attached(child));
            }
            let deadline = started + Duration::from_millis(timeout_ms);
            if !wait_until_exit(child.as_raw(), deadline) {
                // Timed out: kill the command and reap it here, so that no
                // zombie is left to whoever would inherit it.
                let _ = nix::sys::signal::kill(child, Signal::SIGKILL);
                let _ = waitpid_retrying(child);
                // SAFETY: fd 4 was placed by the parent; written once, then exit.
                let mut report = unsafe { fs::File::from_raw_fd(REPORT_FD) };
                let _ = report.write_all(TIMED_OUT);
                return Ok(KILLED);
            }
            match waitpid_retrying(child) {
                Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => Ok(code),
                Ok(nix::sys::wait::WaitStatus::Signaled(_, signal, _)) => Ok(128 + signal as i32),
                Ok(other) => Err(StartFailure {
                    step: "wait".into(),
                    errno: None,
                    message: format!("unexpected wait status {other:?}"),
                }),
                Err(e) => step("wait", Err(e)),
            }
        }
    }
}

/// The helper of an attached exec, once the command is forked: closes its
/// copy of the report descriptor, so that the parent reads EOF as soon as
/// the command's `execve` closes the command's copy (or its failure, which
/// the command writes there), then waits without a timeout. Returns the
/// command's exit code, or 128 + the signal.
fn wait_attached(child: nix::unistd::Pid) -> i32 {
    // SAFETY: fd 4 was placed by the parent; this process takes ownership
    // once and never writes it afterwards (`run_helper` returns `Ok` below).
    drop(unsafe { OwnedFd::from_raw_fd(REPORT_FD) });
    match waitpid_retrying(child) {
        Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => code,
        Ok(nix::sys::wait::WaitStatus::Signaled(_, signal, _)) => 128 + signal as i32,
        _ => 128,
    }
}

/// Why the container's root could not be opened.
#[derive(Debug, thiserror::Error)]
enum ContainerRootError {
    #[error("fdinfo of the container's pidfd")]
    Fdinfo(#[source] io::Error),
    #[error("the container's process has exited")]
    Exited,
    #[error("/proc/{pid}/root")]
    Open {
        pid: i32,
        #[source]
        source: io::Error,
    },
}

impl From<ContainerRootError> for super::init::Failure {
    fn from(e: ContainerRootError) -> Self {
        super::init::Failure {
            errno: None,
            message: super::init::chain(&e),
        }
    }
}

/// `/proc/<pid>/root` of the process behind `pidfd` (its pid read from the
/// pidfd's fdinfo), checked afterwards to still be that process: had it
/// exited and its pid been reused meanwhile, the pidfd would show it exited.
fn container_root(pidfd: BorrowedFd<'_>) -> Result<OwnedFd, ContainerRootError> {
    let info = fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd()))
        .map_err(ContainerRootError::Fdinfo)?;
    let pid: i32 = info
        .lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|p| p.trim().parse().ok())
        .filter(|p| *p > 0)
        .ok_or(ContainerRootError::Exited)?;
    let root = fs::File::open(format!("/proc/{pid}/root"))
        .map_err(|source| ContainerRootError::Open { pid, source })?;
    if crate::poll::readable(&[Some(pidfd)], Duration::ZERO).map_or(true, |ready| ready[0]) {
        return Err(ContainerRootError::Exited);
    }
    Ok(root.into())
}

/// Makes `root` (a directory descriptor) our root and working directory.
fn enter_root(root: BorrowedFd<'_>) -> Result<(), Errno> {
    nix::unistd::fchdir(root.as_raw_fd())?;
    nix::unistd::chroot(".")?;
    chdir("/")
}

fn waitpid_retrying(child: nix::unistd::Pid) -> nix::Result<nix::sys::wait::WaitStatus> {
    loop {
        match nix::sys::wait::waitpid(child, None) {
            Err(Errno::EINTR) => continue,
            Ok(
                nix::sys::wait::WaitStatus::Stopped(..) | nix::sys::wait::WaitStatus::Continued(_),
            ) => {
                continue;
            }
            other => return other,
        }
    }
}

/// Waits for our child `pid` to exit, without reaping it, until
/// `deadline`; false if it is still running then.
fn wait_until_exit(pid: libc::pid_t, deadline: Instant) -> bool {
    // Our own unreaped child: its pid cannot be reused before we reap it.
    let Ok(pidfd) = PidFd::open(pid) else {
        return true; // cannot time it: wait for it without a limit
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        match pidfd.exits_within(left) {
            Ok(false) => {}
            Ok(true) | Err(_) => return true,
        }
    }
}

/// The command's process, inside the container's namespaces and cgroup:
/// takes on the container's user, capabilities, directory and environment,
/// and execs.
fn become_command(config: &ExecConfig, helper: &PidFd) -> Result<Infallible, StartFailure> {
    let (uid, gid, groups) = step("resolve user", super::user::resolve(&config.user))?;
    let seccomp = step(
        "load seccomp profile",
        super::seccomp::compile_optional(config.seccomp.as_ref()),
    )?;
    step(
        "set capabilities",
        super::caps::limit_bounding(&config.capabilities),
    )?;
    if let Some(profile) = &config.apparmor_profile {
        // Before the user switch and seccomp, as runc does: the write needs
        // no capability, but a Localhost seccomp profile may deny it.
        step(
            "apply AppArmor profile",
            super::apparmor::confine_next_exec(profile),
        )?;
    }
    super::seccomp::install_before_user_switch(&seccomp, config.no_new_privileges)?;
    step("switch user", switch_user(uid, gid, &groups))?;
    step("set capabilities", super::caps::apply(&config.capabilities))?;
    // Die with the helper. Set only now: a change of user clears the
    // parent-death signal (prctl(2), PR_SET_PDEATHSIG). getppid() can't
    // tell whether the helper already died (it is outside our PID
    // namespace, so it reads 0 either way); its pidfd can.
    // SAFETY: prctl with integer arguments.
    let rc = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    step("set parent death signal", Errno::result(rc))?;
    if helper.exits_within(Duration::ZERO).unwrap_or(true) {
        // The helper is gone (or poll failed): nobody waits for us.
        // SAFETY: _exit(2) ends the process at once.
        unsafe { libc::_exit(KILLED) };
    }
    if config.no_new_privileges {
        // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) takes plain integers.
        let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        step("set no_new_privs", Errno::result(rc))?;
    }
    super::seccomp::install_after_no_new_privs(&seccomp, config.no_new_privileges)?;
    step("change to workingDir", chdir(config.cwd.as_str()))?;
    let program = step(
        "find executable",
        find_executable(&config.argv[0], &config.env),
    )?;
    step("reset signals", reset_signals())?;
    Err(exec_workload(&program, &config.argv, &config.env))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exec_config_is_the_containers_with_another_command() {
        let config = ContainerConfig {
            join_namespaces: vec![],
            rootfs: super::super::Rootfs {
                lower: vec![],
                upper: "/u".into(),
                work: "/w".into(),
                merged: "/m".into(),
                readonly: false,
            },
            mounts: vec![],
            args: vec!["sleep".into(), "300".into()],
            env: vec!["PATH=/bin".into(), "A=b".into()],
            cwd: "/srv".into(),
            user: User {
                uid: Some(1000),
                gid: Some(1000),
                image_user: None,
                supplemental_groups: vec![5],
                run_as_non_root: true,
            },
            capabilities: vec!["CAP_CHOWN".into()],
            no_new_privileges: true,
            privileged: false,
            seccomp: None,
            apparmor_profile: None,
        };
        let exec = ExecConfig::for_container(&config, &["cat".into(), "/x".into()]);
        assert_eq!(exec.argv, ["cat", "/x"]);
        assert_eq!(exec.env, config.env);
        assert_eq!(exec.cwd, "/srv");
        assert_eq!(exec.user.uid, Some(1000));
        assert_eq!(exec.user.supplemental_groups, [5]);
        assert_eq!(exec.capabilities, ["CAP_CHOWN"]);
        assert!(exec.no_new_privileges);
    }
}
