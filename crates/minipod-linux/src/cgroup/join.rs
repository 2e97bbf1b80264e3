//! Joining a container's cgroup *before* the container's program runs.
//!
//! A container must never run a single instruction outside its limits, so
//! its process joins the cgroup between `fork` and `exec`. But the parent
//! is multi-threaded (tokio), and in the child of a multi-threaded process
//! only async-signal-safe work is allowed until `exec` (`signal-safety(7)`):
//! another thread may have held the allocator's or a logger's lock at the
//! moment of the fork, and the child would wait for it forever. Opening a
//! path allocates (a `CString`) and may log; `write(2)` on a file
//! descriptor that is already open does neither.
//!
//! So the parent opens everything first ([`CgroupJoin`]), and the child
//! only writes:
//! * `"0"` into `cgroup.procs`, meaning "the writing process"
//!   (`cgroup-v1/cgroups.rst` §2.1 and `cgroup-v2.rst`, "Core Interface
//!   Files"), once per hierarchy on v1 (a process is in one cgroup per
//!   hierarchy), once on v2;
//! * or, on v2, the parent passes the cgroup's *directory* descriptor to
//!   `clone3(2)` with `CLONE_INTO_CGROUP` (Linux ≥ 5.7): the child is born
//!   in the cgroup and does nothing at all ([`CgroupJoin::cgroup_dir_fd`]).
//!
//! Every descriptor is opened `O_CLOEXEC`, so none of them leaks into the
//! container's program.

#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use super::CgroupError;
use super::hierarchy::CgroupVersion;

/// The most hierarchies a join can hold (cgroup v1 has 13 controllers).
pub const MAX_HIERARCHIES: usize = 16;

/// What a child needs to join one container cgroup before it execs, opened
/// by the parent. Keep it alive until the child has been spawned: the
/// descriptors in [`JoinFds`] are only borrowed from it.
#[derive(Debug)]
pub struct CgroupJoin {
    /// `cgroup.procs` of the cgroup in each hierarchy, write-only.
    procs: Vec<(PathBuf, File)>,
    /// v2: the cgroup directory, for `CLONE_INTO_CGROUP`.
    dir: Option<OwnedFd>,
}

/// The raw descriptors of a [`CgroupJoin`]: `Copy`, with no heap memory, so
/// a `pre_exec` hook can own a copy without allocating.
#[derive(Debug, Clone, Copy)]
pub struct JoinFds {
    fds: [RawFd; MAX_HIERARCHIES],
    len: usize,
}

impl CgroupJoin {
    /// Opens `cgroup.procs` in each of `dirs` (the container's cgroup, one
    /// directory per hierarchy) and, on v2, the directory itself.
    pub(super) fn open(version: CgroupVersion, dirs: &[PathBuf]) -> Result<Self, CgroupError> {
        if dirs.len() > MAX_HIERARCHIES {
            return Err(CgroupError::Open {
                path: dirs.first().cloned().unwrap_or_default(),
                source: io::Error::other(format!(
                    "{} hierarchies, more than the {MAX_HIERARCHIES} minipod supports",
                    dirs.len()
                )),
            });
        }
        let mut procs = Vec::with_capacity(dirs.len());
        for dir in dirs {
            let path = dir.join("cgroup.procs");
            let file = OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_CLOEXEC)
                .open(&path)
                .map_err(|source| CgroupError::Open {
                    path: path.clone(),
                    source,
                })?;
            procs.push((path, file));
        }
        let dir = match (version, dirs.first()) {
            (CgroupVersion::V2, Some(dir)) => Some(open_dir(dir)?),
            _ => None,
        };
        Ok(CgroupJoin { procs, dir })
    }

    /// The descriptors to hand to a `pre_exec` hook, which then calls
    /// [`JoinFds::join_current_process`].
    pub fn fds(&self) -> JoinFds {
        let mut fds = [-1; MAX_HIERARCHIES];
        for (slot, (_, file)) in fds.iter_mut().zip(&self.procs) {
            *slot = file.as_raw_fd();
        }
        JoinFds {
            fds,
            len: self.procs.len(),
        }
    }

    /// The `cgroup.procs` files the descriptors refer to, for messages.
    pub fn procs_paths(&self) -> impl Iterator<Item = &Path> {
        self.procs.iter().map(|(path, _)| path.as_path())
    }

    /// v2: the cgroup's directory, opened `O_RDONLY | O_DIRECTORY`, for
    /// `clone3(2)`'s `CLONE_INTO_CGROUP` (`clone_args.cgroup`). `None` on
    /// v1, where a process is in several hierarchies and the flag cannot
    /// name them all.
    pub fn cgroup_dir_fd(&self) -> Option<BorrowedFd<'_>> {
        self.dir.as_ref().map(|fd| fd.as_fd())
    }

    /// Spawns `cmd` with a `pre_exec` hook that joins this cgroup, so the
    /// program starts inside it. A failure to join fails the spawn with
    /// the `write(2)` errno, and the program never runs.
    ///
    /// The hook stays on `cmd`: spawn the same `Command` again only while
    /// this `CgroupJoin` is alive (the hook refuses descriptors that no
    /// longer refer to a cgroup file, but a reused one could).
    pub fn spawn(&self, cmd: &mut Command) -> io::Result<Child> {
        let fds = self.fds();
        // SAFETY: the hook runs in the forked child before exec, where only
        // async-signal-safe calls are sound. `join_current_process` makes
        // only `fstatfs(2)` and `write(2)` system calls on descriptors the
        // parent opened (owned by `self`, which outlives this `spawn`), and
        // builds its error from errno without allocating; `fds` is a `Copy`
        // array moved into the closure, so nothing is allocated or locked.
        unsafe {
            cmd.pre_exec(move || fds.join_current_process());
        }
        cmd.spawn()
    }
}

fn open_dir(dir: &Path) -> Result<OwnedFd, CgroupError> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .map(OwnedFd::from)
        .map_err(|source| CgroupError::Open {
            path: dir.to_owned(),
            source,
        })
}

impl JoinFds {
    /// Moves the calling process into the cgroup: writes `"0"` to each
    /// `cgroup.procs` descriptor.
    ///
    /// Async-signal-safe, for a `pre_exec` hook or a raw `clone` child: it
    /// makes only the `fstatfs(2)` and `write(2)` system calls, takes no
    /// lock and allocates nothing. Each descriptor is first checked to be
    /// on a cgroup file system, so a descriptor closed and reused for
    /// another file is refused (`EBADF`) instead of written to.
    pub fn join_current_process(&self) -> io::Result<()> {
        for &fd in self.fds.iter().take(self.len) {
            // SAFETY: `statfs` is plain old data, so all-zero is a valid
            // value; the kernel fills it.
            let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
            // SAFETY: `fstatfs` only writes into `fs`, a valid, exclusively
            // borrowed `statfs`; an invalid `fd` is reported as an error.
            if unsafe { libc::fstatfs(fd, &mut fs) } != 0 {
                return Err(io::Error::last_os_error());
            }
            let magic = fs.f_type;
            if magic != libc::CGROUP_SUPER_MAGIC && magic != libc::CGROUP2_SUPER_MAGIC {
                return Err(io::Error::from_raw_os_error(libc::EBADF));
            }
            // SAFETY: writes one byte from a static buffer that outlives the
            // call to `fd`; the kernel does not keep the pointer.
            let written = unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) };
            if written != 1 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }

    /// How many `cgroup.procs` descriptors there are (one per hierarchy).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
