//! Signalling a process by its pid (kill(2)), for the processes a cgroup
//! lists, of which we hold no pidfd (a pod left behind by a dead monitor).
//! A pid may be reused once its process is reaped: callers signal only
//! what a cgroup lists at the time, and only SIGKILL, as the kubelet's
//! cgroup cleanup does.

use std::io;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// Sends `signal` to process `pid`. `Ok(false)` when there is no such
/// process (it exited meanwhile). A pid below 1 is refused: kill(2) reads
/// 0 and -1 as a process group and every process.
pub fn kill(pid: i32, signal: Signal) -> io::Result<bool> {
    if pid < 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("pid {pid} names a group of processes"),
        ));
    }
    match nix::sys::signal::kill(Pid::from_raw(pid), signal) {
        Ok(()) => Ok(true),
        Err(Errno::ESRCH) => Ok(false),
        Err(errno) => Err(errno.into()),
    }
}

/// Sends `signal` to every process of process group `pgid` (killpg(3),
/// kill(2) with a negative pid): a child started as the leader of its own
/// group, and whatever it started in turn (a CNI plugin and the `iptables`
/// it runs). `Ok(false)` when the group has no process left. Group ids
/// below 2 are refused: 0 is the caller's own group, 1 would be init's.
pub fn kill_group(pgid: i32, signal: Signal) -> io::Result<bool> {
    if pgid < 2 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("process group {pgid} is not a child's group"),
        ));
    }
    match nix::sys::signal::killpg(Pid::from_raw(pgid), signal) {
        Ok(()) => Ok(true),
        Err(Errno::ESRCH) => Ok(false),
        Err(errno) => Err(errno.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_is_never_signalled_and_a_missing_process_is_no_error() {
        assert!(kill(0, Signal::SIGKILL).is_err());
        assert!(kill(-1, Signal::SIGKILL).is_err());
        // pid_max is at most 2^22: this pid does not exist.
        assert!(!kill(i32::MAX, Signal::SIGKILL).unwrap());
        assert!(kill_group(0, Signal::SIGKILL).is_err());
        assert!(kill_group(1, Signal::SIGKILL).is_err());
        assert!(!kill_group(i32::MAX, Signal::SIGKILL).unwrap());
    }
}
