//! Starting a process detached from its starter, through a double fork: the
//! child makes a new session (setsid(2)), forks again and exits at once; the
//! grandchild execs the command. So the command
//! * is not the starter's child: the starter never waits for it, and the
//!   starter's death (even SIGKILL) sends it nothing, as it is reparented to
//!   init (or the nearest subreaper, prctl(2) `PR_SET_CHILD_SUBREAPER`);
//! * has no controlling terminal and is in no process group of the
//!   starter's, so no terminal signal (Ctrl-C, SIGHUP) meant for the
//!   starter reaches it (credentials(7), "Sessions and process groups").
//!
//! The caller decides *what* runs (the command, its arguments and stdio);
//! this module only does the fork/setsid/exec mechanics.

#![allow(unsafe_code)] // fork and _exit in the pre_exec hook: each block says why

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::unistd::{ForkResult, dup2, fork, setsid};

/// Runs `command` detached (see the module), with `pass` as its descriptor
/// `target` (every other descriptor of ours stays closed-on-exec), and
/// returns once the intermediate process is reaped: the command itself may
/// still be starting, or may have failed to exec.
pub fn spawn_detached(command: &mut Command, pass: OwnedFd, target: RawFd) -> io::Result<()> {
    let pass_raw = pass.as_raw_fd();
    // Runs in the forked child, before exec: only async-signal-safe calls
    // (signal-safety(7)): setsid, fork, _exit, dup2, fcntl. Nothing
    // allocates or takes a lock.
    let hook = move || -> io::Result<()> {
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
        if pass_raw == target {
            fcntl(target, FcntlArg::F_SETFD(FdFlag::empty()))?;
        } else {
            dup2(pass_raw, target)?;
        }
        Ok(())
    };
    // SAFETY: `hook` only makes async-signal-safe calls (see above).
    unsafe {
        command.pre_exec(hook);
    }
    let spawned = command.spawn();
    // Only the detached process keeps `pass` from now on.
    drop(pass);
    // The intermediate child exits at once; reap it.
    let _ = spawned?.wait();
    Ok(())
}

/// Closes descriptor `fd`, which this process inherited by number (as
/// [`spawn_detached`] passes one) and never took ownership of.
pub fn close_inherited(fd: RawFd) -> io::Result<()> {
    nix::unistd::close(fd)?;
    Ok(())
}
