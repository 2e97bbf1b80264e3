//! Whole-file advisory locks, `flock(2)`
//! (<https://man7.org/linux/man-pages/man2/flock.2.html>): the image store
//! and the pulls' shared downloads serialise on them across processes. A
//! lock belongs to the open file description, so two descriptors opened by
//! one process exclude each other too, and closing the file releases it.

use std::fs::File;
use std::io;
use std::ops::Deref;

use nix::fcntl::{Flock, FlockArg};

/// Who may hold the lock at the same time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Any number of readers, no writer (`LOCK_SH`).
    Shared,
    /// One holder only (`LOCK_EX`).
    Exclusive,
}

/// A file held under `flock` until it is dropped (closed).
#[derive(Debug)]
pub struct FileLock(Flock<File>);

impl FileLock {
    /// Waits until `file` is locked in `mode`.
    pub fn lock(file: File, mode: LockMode) -> io::Result<FileLock> {
        let arg = match mode {
            LockMode::Shared => FlockArg::LockShared,
            LockMode::Exclusive => FlockArg::LockExclusive,
        };
        Flock::lock(file, arg)
            .map(FileLock)
            .map_err(|(_, errno)| errno.into())
    }
}

impl Deref for FileLock {
    type Target = File;

    fn deref(&self) -> &File {
        &self.0
    }
}
