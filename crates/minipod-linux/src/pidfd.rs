//! A process as a pidfd: a descriptor that names exactly one process, so a
//! signal or a wait through it can never reach another process that got the
//! same pid later (pidfd_open(2), pidfd_send_signal(2), waitid(2) with
//! `P_PIDFD`). A pidfd becomes readable when its process exits, which is how
//! it is polled (see [`crate::poll`]).
//!
//! One wrapper per system call, each behind a safe method of [`PidFd`].

#![allow(unsafe_code)] // pidfd_open, pidfd_send_signal, waitid: each block says why

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

use nix::sys::signal::Signal;

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
}

impl ExitStatus {
    /// The exit code Kubernetes reports: the code, or 128 + the signal.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Signaled(signal) => 128 + signal,
        }
    }
}

/// An owned pidfd.
#[derive(Debug)]
pub struct PidFd(OwnedFd);

impl PidFd {
    /// A pidfd of the process that has `pid` now (pidfd_open(2)). Fails with
    /// `ESRCH` if there is none. The descriptor is close-on-exec.
    ///
    /// The caller decides whether that is the process it means: a pid read
    /// from a file may have been reused; the pidfd then pins the new one.
    pub fn open(pid: i32) -> io::Result<PidFd> {
        // SAFETY: pidfd_open(2) takes a pid and flags (none) and returns a
        // new descriptor or -1; it reads and writes no memory of ours.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0u32) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by pidfd_open and no one else owns it.
        Ok(PidFd(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) }))
    }

    /// A pidfd the kernel handed over another way (clone3's `CLONE_PIDFD`,
    /// or a descriptor inherited across exec).
    pub fn from_owned(fd: OwnedFd) -> PidFd {
        PidFd(fd)
    }

    /// Sends `signal` to the process (pidfd_send_signal(2)). Fails with
    /// `ESRCH` once the process has exited.
    pub fn send_signal(&self, signal: Signal) -> io::Result<()> {
        // SAFETY: pidfd_send_signal(2) on a pidfd we own, a valid signal
        // number, no siginfo (a null pointer is allowed) and no flags.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                signal as libc::c_int,
                std::ptr::null::<libc::siginfo_t>(),
                0u32,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Waits (blocking) for the process, our child, to exit and reaps it
    /// (waitid(2), `P_PIDFD`, `WEXITED`), retrying on `EINTR`.
    pub fn wait(&self) -> io::Result<ExitStatus> {
        // SAFETY: siginfo_t is plain old data, valid all zero; waitid fills it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: waitid(P_PIDFD) on a pidfd we own, writing only into
            // `info`, a live local of the right type.
            let rc = unsafe {
                libc::waitid(
                    libc::P_PIDFD,
                    self.0.as_raw_fd() as libc::id_t,
                    &mut info,
                    libc::WEXITED,
                )
            };
            if rc == 0 {
                break;
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
        // SAFETY: after a successful waitid with WEXITED, si_code and the
        // status field of the union are set.
        let (code, status) = unsafe { (info.si_code, info.si_status()) };
        Ok(if code == libc::CLD_EXITED {
            ExitStatus::Exited(status)
        } else {
            ExitStatus::Signaled(status)
        })
    }

    /// Whether the process exits within `timeout` (zero: has it exited
    /// already), without reaping it. An error of poll(2) other than `EINTR`
    /// is returned; `EINTR` counts as "not yet".
    pub fn exits_within(&self, timeout: Duration) -> io::Result<bool> {
        Ok(crate::poll::readable(&[Some(self.0.as_fd())], timeout)?[0])
    }

    /// A second descriptor for the same process (to hand to a child).
    pub fn try_clone(&self) -> io::Result<PidFd> {
        Ok(PidFd(self.0.try_clone()?))
    }
}

impl AsFd for PidFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl From<PidFd> for OwnedFd {
    fn from(pidfd: PidFd) -> OwnedFd {
        pidfd.0
    }
}

/// Whether `error` says the process is gone (`ESRCH`): it exited, or was
/// reaped, before the call reached it.
pub fn is_gone(error: &io::Error) -> bool {
    error.raw_os_error() == Some(libc::ESRCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_is_signalled_waited_for_and_then_gone() {
        let child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pidfd = PidFd::open(child.id() as i32).unwrap();
        assert!(!pidfd.exits_within(Duration::ZERO).unwrap());
        pidfd.send_signal(Signal::SIGKILL).unwrap();
        assert!(pidfd.exits_within(Duration::from_secs(10)).unwrap());
        assert_eq!(pidfd.wait().unwrap(), ExitStatus::Signaled(9));
        let gone = pidfd.send_signal(Signal::SIGTERM).unwrap_err();
        assert_eq!(gone.raw_os_error(), Some(libc::ESRCH));
        drop(child);
    }
}
