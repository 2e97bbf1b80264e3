//! Starting a container's init process: `clone3` into new namespaces, then at
//! once `execve` of our own binary, which does the real set-up.
//!
//! Why `clone3` and nothing else in the child: the caller is a multi-threaded
//! tokio process. Between clone and exec the child is a copy of one thread of
//! it, with other threads' locks (malloc, tracing) possibly held forever, so
//! it may only make async-signal-safe system calls (signal-safety(7)): here
//! `dup2`, `fcntl` and `execve`, on memory prepared before the clone.
//!
//! The flags (clone(2)):
//! * `CLONE_NEWPID` (unless the pod shares one PID namespace, see
//!   [`super::start_in`]): the child is pid 1 of a new PID namespace; when it
//!   exits, the kernel kills everything else in the container.
//! * `CLONE_NEWNS`: its own mount namespace, so its mounts vanish with it.
//! * `CLONE_PIDFD`: a pidfd to signal and wait for exactly this process
//!   (never a recycled pid).
//! * `CLONE_CLEAR_SIGHAND`: the child does not inherit our signal handlers,
//!   so a SIGTERM that arrives before its exec is not swallowed by a copy of
//!   tokio's handler (it takes the default action and kills it).
//! * `CLONE_INTO_CGROUP` (cgroup v2): born inside its container cgroup, so no
//!   instruction runs outside it. On v1 the child writes itself into each
//!   hierarchy's `cgroup.procs` (descriptors opened by the parent) before its
//!   exec.
//!
//! The child executes `program` from a read-only, detached bind mount of it
//! ([`read_only_program`]), never from the host's own mount of the file:
//! the runc CVE-2019-5736 class. Once in a container's namespaces, our
//! helper's `/proc/<pid>/exe` is reachable from inside the container, and
//! a root process there that opens it for writing (or opens it `O_PATH` and
//! reopens it through `/proc/self/fd` once the binary is no longer running)
//! would write to minipod's binary on the host, which root then runs. On a
//! read-only mount that open fails with `EROFS`, whatever the file's
//! permissions; a container cannot make the mount writable (that needs
//! `CAP_SYS_ADMIN`, which no unprivileged container has), and it is in no
//! mount namespace a container can reach. Costs about 0.1 ms per start
//! (making the mount, and unmounting it when the parent closes it);
//! nothing is copied. (runc 1.1 copied the binary into a sealed memfd; runc
//! 1.2 uses a read-only bind mount of it, as here.) The helpers also make
//! themselves non-dumpable first thing (`crate::reexec`), so that a process
//! without `CAP_SYS_PTRACE` cannot even open `/proc/<pid>/exe`, `mem` or
//! `environ` of a helper before it becomes the workload.
//!
//! A failure in the child before the exec cannot allocate a message, so it
//! writes a fixed five-byte record (a [`ChildFailure`] tag and the errno) to
//! the report descriptor and exits.

#![allow(unsafe_code)] // clone3, dup2 and execve between clone and exec: each block says why

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use super::protocol::Step;
use crate::cgroup::JoinFds;
use crate::pidfd::PidFd;

/// `struct clone_args` of `<linux/sched.h>` (kernel >= 5.7 for `cgroup`).
#[repr(C)]
#[derive(Debug, Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_PIDFD: u64 = 0x0000_1000;
const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// The file descriptors the init process starts with, by number.
#[derive(Debug)]
pub struct ChildFds<'a> {
    pub stdin: &'a OwnedFd,
    pub stdout: &'a OwnedFd,
    pub stderr: &'a OwnedFd,
    /// fd 3: the configuration, read to EOF.
    pub config: &'a OwnedFd,
    /// fd 4: where a failure before exec is reported; closed by the exec.
    pub report: &'a OwnedFd,
    /// fds 5, 6, ...: more descriptors for the helper (the exec helper's
    /// target pidfd, and its terminal socket, see `super::exec`).
    pub extra: &'a [&'a OwnedFd],
}

/// Where the child's fds land.
pub const CONFIG_FD: RawFd = 3;
pub const REPORT_FD: RawFd = 4;
pub const EXTRA_FD: RawFd = 5;
/// The exec helper's second extra descriptor: its terminal socket.
pub const EXTRA2_FD: RawFd = 6;

/// What went wrong in the clone3 child, before it could run our code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ChildFailure {
    /// Placing the standard and protocol descriptors (`dup2`).
    Descriptors = 1,
    /// Joining the container cgroup (cgroup v1).
    JoinCgroup = 2,
    /// `execve` of the init program.
    ExecInit = 3,
}

/// `program` as a descriptor of a detached, read-only bind mount of it
/// (`open_tree(OPEN_TREE_CLONE)`, then `mount_setattr(MOUNT_ATTR_RDONLY)`):
/// what a helper is executed from, so that its `/proc/<pid>/exe` opened for
/// writing fails with `EROFS` (see the module's documentation).
pub fn read_only_program(program: &Path) -> io::Result<OwnedFd> {
    let clone = crate::mounts::clone_mount(None, program, false).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("a read-only mount of {}: {e}", program.display()),
        )
    })?;
    crate::mounts::set_mount_attributes(
        std::os::fd::AsFd::as_fd(&clone),
        libc::MOUNT_ATTR_RDONLY,
        false,
    )
    .map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("making the mount of {} read-only: {e}", program.display()),
        )
    })?;
    Ok(clone)
}

impl ChildFailure {
    /// Decodes a five-byte record: the tag, then the errno (native endian).
    pub fn decode(bytes: &[u8]) -> Option<(ChildFailure, i32)> {
        let [tag, a, b, c, d] = *bytes else {
            return None;
        };
        let failure = match tag {
            1 => ChildFailure::Descriptors,
            2 => ChildFailure::JoinCgroup,
            3 => ChildFailure::ExecInit,
            _ => return None,
        };
        Some((failure, i32::from_ne_bytes([a, b, c, d])))
    }

    /// The step's name, as reported in a container's status.
    pub fn step(self) -> Step {
        match self {
            ChildFailure::Descriptors => Step::SetUpFds,
            ChildFailure::JoinCgroup => Step::JoinCgroup,
            ChildFailure::ExecInit => Step::ExecInit,
        }
    }
}

/// Writes a failure record and exits: async-signal-safe (a stack buffer, `write`, `_exit`).
fn fail_in_child(report: RawFd, failure: ChildFailure) -> ! {
    // SAFETY: reading errno is a thread-local load.
    let errno = unsafe { *libc::__errno_location() };
    let e = errno.to_ne_bytes();
    let record = [failure as u8, e[0], e[1], e[2], e[3]];
    // SAFETY: write(2) of a stack buffer to a descriptor we hold; _exit(2)
    // ends the process without running any Rust code.
    unsafe {
        libc::write(report, record.as_ptr().cast(), record.len());
        libc::_exit(127)
    }
}

/// `prctl(PR_SET_DUMPABLE, 0)` (see [`crate::reexec::run_helper_if_asked`]).
/// It cannot fail for the value 0; were it to, the helper still runs, from
/// a read-only binary.
pub(crate) fn make_undumpable() {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
}

/// A started init process.
#[derive(Debug)]
pub struct Spawned {
    pub pid: libc::pid_t,
    pub pidfd: PidFd,
}

/// How the child joins its cgroup.
#[derive(Debug, Clone, Copy)]
pub enum CgroupEntry<'a> {
    /// Stay in the parent's cgroup (the sandbox holder).
    None,
    /// cgroup v2: be born in this directory (`CLONE_INTO_CGROUP`).
    Directory(std::os::fd::BorrowedFd<'a>),
    /// cgroup v1: write "0" into these `cgroup.procs` before exec.
    Procs(JoinFds),
}

/// Clones a child into the new namespaces named by `namespaces` (`CLONE_NEW*`
/// flags) that immediately executes `program` (our own binary) with `argv`.
pub fn spawn_init(
    program: &Path,
    argv: &[&str],
    fds: &ChildFds<'_>,
    namespaces: u64,
    cgroup: CgroupEntry<'_>,
) -> io::Result<Spawned> {
    // Everything the child touches is prepared here, before the clone.
    let exe = read_only_program(program)?;
    let exe_raw = exe.as_raw_fd();
    let argv: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(*a).map_err(io::Error::other))
        .collect::<io::Result<_>>()?;
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];

    // Move each source fd above the target range first, so that dup2-ing one
    // into place can never overwrite another that is still to be moved.
    let mut sources = vec![fds.stdin, fds.stdout, fds.stderr, fds.config, fds.report];
    sources.extend(fds.extra.iter().copied());
    let high: Vec<OwnedFd> = sources
        .iter()
        .map(|fd| {
            // SAFETY: fcntl(F_DUPFD_CLOEXEC) on a valid fd returns a new fd we own.
            let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
            if new < 0 {
                Err(io::Error::last_os_error())
            } else {
                // SAFETY: `new` is a freshly duplicated descriptor owned by nobody else.
                Ok(unsafe { OwnedFd::from_raw_fd(new) })
            }
        })
        .collect::<io::Result<_>>()?;
    let high_raw: Vec<RawFd> = high.iter().map(AsRawFd::as_raw_fd).collect();

    let mut pidfd: libc::c_int = -1;
    let mut args = CloneArgs {
        flags: CLONE_PIDFD | CLONE_CLEAR_SIGHAND | namespaces,
        pidfd: &mut pidfd as *mut libc::c_int as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    let join_procs = match cgroup {
        CgroupEntry::None => None,
        CgroupEntry::Directory(dir) => {
            args.flags |= CLONE_INTO_CGROUP;
            args.cgroup = dir.as_raw_fd() as u64;
            None
        }
        CgroupEntry::Procs(fds) => Some(fds),
    };
    let report_high = high_raw[4];

    // SAFETY: clone3 with a valid, fully initialised clone_args of the size we
    // pass. In the child (return 0) only async-signal-safe calls follow, on
    // memory prepared above, ending in execve or _exit.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if ret == 0 {
        // Child. Join the cgroup first (v1), so that nothing of ours, let
        // alone the workload, runs outside it.
        if let Some(procs) = join_procs
            && procs.join_current_process().is_err()
        {
            fail_in_child(report_high, ChildFailure::JoinCgroup);
        }
        // Put the fds in place (dup2 clears FD_CLOEXEC on the copy) and exec.
        for (target, source) in high_raw.iter().enumerate() {
            // SAFETY: dup2 is async-signal-safe; both fds are valid.
            if unsafe { libc::dup2(*source, target as RawFd) } < 0 {
                fail_in_child(report_high, ChildFailure::Descriptors);
            }
        }
        // SAFETY: execveat(2) of the read-only mount's descriptor (the
        // empty path and AT_EMPTY_PATH: the descriptor itself), with
        // NUL-terminated arrays built before the clone.
        unsafe {
            libc::syscall(
                libc::SYS_execveat,
                exe_raw,
                c"".as_ptr(),
                argv_ptrs.as_ptr(),
                envp.as_ptr(),
                libc::AT_EMPTY_PATH,
            )
        };
        fail_in_child(REPORT_FD, ChildFailure::ExecInit);
    }
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel filled `pidfd` with a new descriptor for the child.
    let pidfd = PidFd::from_owned(unsafe { OwnedFd::from_raw_fd(pidfd) });
    Ok(Spawned {
        pid: ret as libc::pid_t,
        pidfd,
    })
}
