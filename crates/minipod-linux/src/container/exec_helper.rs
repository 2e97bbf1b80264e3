//! The exec helper's side of [`super::exec`]: a fresh, single-threaded
//! process (our own binary, re-executed as [`super::exec::EXEC_HELPER`])
//! that joins a running container, forks the command into its PID
//! namespace, makes it the container's process and waits for it. The steps
//! and why are in [`super::exec`]'s documentation.

#![allow(unsafe_code)] // fd ownership, fork, prctl: each block says why

use std::convert::Infallible;
use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sched::{CloneFlags, setns};
use nix::sys::signal::Signal;
use nix::unistd::{ForkResult, chdir, fork};

use super::attach::{open_terminal, take_terminal};
use super::exec::{KILLED, TIMED_OUT};
use super::failure::step;
use super::init::{close_fds_from, set_cloexec};
use super::protocol::{ExecConfig, HelperAttach, HelperConfig, Step, StepFailure};
use super::spawn::{CONFIG_FD, EXTRA_FD, EXTRA2_FD, REPORT_FD};
use super::workload::{Workload, become_workload};
use crate::pidfd::PidFd;

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
        Err(_) => StepFailure {
            step: Step::ExecHelper,
            errno: None,
            message: "the exec helper panicked".into(),
        },
    };
    report_and_exit(&failure)
}

/// Writes `failure` to fd 4 and exits with 128, the code of a process that
/// never started.
fn report_and_exit(failure: &StepFailure) -> ! {
    // SAFETY: fd 4 was placed by the parent for exactly this; only this
    // process (or this fork of it) writes there, once, right before exiting.
    let mut report = unsafe { fs::File::from_raw_fd(REPORT_FD) };
    let _ = report.write_all(&serde_json::to_vec(failure).unwrap_or_default());
    std::process::exit(128);
}

fn run_helper() -> Result<i32, StepFailure> {
    // Out of the monitor's process group and session, as the containers: a
    // Ctrl-C on the monitor's terminal must not reach the command directly.
    step(Step::NewSession, nix::unistd::setsid().map(drop))?;
    step(Step::SetUpFds, set_cloexec(REPORT_FD))?;
    step(Step::SetUpFds, set_cloexec(EXTRA_FD))?;
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
        step(Step::ReadConfig, file.read_to_string(&mut text))?;
        step(Step::ReadConfig, serde_json::from_str(&text))?
    };
    {
        // SAFETY: fd 5 is the container's pidfd, placed by the parent; we
        // take ownership once and close it after the join.
        let target = unsafe { OwnedFd::from_raw_fd(EXTRA_FD) };
        // The container's root directory, opened before the join: joining a
        // mount namespace puts us at the root of its mount tree, which is
        // the container's root only if the host's own tree is laid out as
        // expected (nsenter's `--root` does the same).
        let root = step(Step::OpenContainerRoot, container_root(target.as_fd()))?;
        step(
            Step::JoinContainerNamespaces,
            setns(target.as_fd(), container_namespaces()),
        )?;
        step(Step::EnterContainerRoot, enter_root(root.as_fd()))?;
    }
    // With a terminal: opened now, inside the container's root, from its
    // own devpts (see `super::attach`), and its master sent back on fd 6.
    let terminal = match attach {
        Some(HelperAttach { tty: true, size }) => {
            // SAFETY: fd 6 was placed by the parent for a terminal exec;
            // we take ownership once and close it once the master is sent.
            let socket = unsafe { OwnedFd::from_raw_fd(EXTRA2_FD) };
            let (master, slave) = step(Step::OpenTerminal, open_terminal(size))?;
            step(
                Step::SendTerminal,
                crate::fdpass::send_fds(socket.as_fd(), b"t", &[master.as_fd()]),
            )?;
            Some(slave)
        }
        _ => None,
    };
    // A pidfd of this helper, inherited by the command: polling it tells the
    // command whether the helper already died (see `become_command`).
    let me = step(Step::OpenPidfd, PidFd::open(std::process::id() as i32))?;

    // SAFETY: this process is single-threaded (a freshly exec'd helper that
    // starts no thread), so the child may run any code after the fork.
    match step(Step::Fork, unsafe { fork() })? {
        ForkResult::Child => {
            let start = || {
                if let Some(slave) = terminal {
                    step(Step::TakeTerminal, take_terminal(slave))?;
                }
                become_command(&config, &me)
            };
            let failure = match std::panic::catch_unwind(start) {
                Ok(Err(failure)) => failure,
                Ok(Ok(never)) => match never {},
                Err(_) => StepFailure {
                    step: Step::Exec,
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
                Ok(other) => Err(StepFailure {
                    step: Step::Wait,
                    errno: None,
                    message: format!("unexpected wait status {other:?}"),
                }),
                Err(e) => step(Step::Wait, Err(e)),
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

impl From<ContainerRootError> for super::failure::Failure {
    fn from(e: ContainerRootError) -> Self {
        super::failure::Failure {
            errno: None,
            message: minipod_spec::error_chain(&e),
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
fn become_command(config: &ExecConfig, helper: &PidFd) -> Result<Infallible, StepFailure> {
    let (uid, gid, groups) = step(Step::ResolveUser, super::user::resolve(&config.user))?;
    let seccomp = step(
        Step::LoadSeccompProfile,
        super::seccomp::compile_optional(config.seccomp.as_ref()),
    )?;
    let after_user_switch = || {
        // Die with the helper. Set only now: a change of user clears the
        // parent-death signal (prctl(2), PR_SET_PDEATHSIG). getppid() can't
        // tell whether the helper already died (it is outside our PID
        // namespace, so it reads 0 either way); its pidfd can.
        // SAFETY: prctl with integer arguments.
        let rc = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
        step(Step::SetParentDeathSignal, Errno::result(rc))?;
        if helper.exits_within(Duration::ZERO).unwrap_or(true) {
            // The helper is gone (or poll failed): nobody waits for us.
            // SAFETY: _exit(2) ends the process at once.
            unsafe { libc::_exit(KILLED) };
        }
        Ok(())
    };
    become_workload(
        &Workload {
            uid,
            gid,
            groups: &groups,
            capabilities: &config.capabilities,
            apparmor_profile: config.apparmor_profile.as_deref(),
            seccomp: &seccomp,
            no_new_privileges: config.no_new_privileges,
            cwd: &config.cwd,
            argv: &config.argv,
            env: &config.env,
        },
        after_user_switch,
        || Ok(()),
    )
}
