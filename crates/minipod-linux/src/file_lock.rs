//! Whole-file advisory locks, `flock(2)`
//! (<https://man7.org/linux/man-pages/man2/flock.2.html>): the image store
//! and the pulls' shared downloads serialise on them across processes. A
//! lock belongs to the open file description, so two descriptors opened by
//! one process exclude each other too, and closing the file releases it.
//!
//! [`open_no_follow`] opens the lock file and the files kept beside it in a
//! state directory (the native IPAM's) so that a symlink or a FIFO planted
//! there is refused rather than followed or waited on.

use std::fs::{File, OpenOptions};
use std::io;
use std::ops::Deref;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::fcntl::{Flock, FlockArg, OFlag};

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

/// Opens `path` with `options` (read, write, create: the caller's), adding
/// `O_NOFOLLOW` (a symlink as the last component fails with `ELOOP`,
/// open(2)) and `O_NONBLOCK` (a FIFO does not block the open; regular
/// files ignore it). The caller checks the file type on the descriptor
/// (`file.metadata()`), never on the path.
pub fn open_no_follow(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    options
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC).bits())
        .open(path)
}

impl Deref for FileLock {
    type Target = File;

    fn deref(&self) -> &File {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn open_no_follow_refuses_a_symlink_and_does_not_block_on_a_fifo() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("target");
        std::fs::write(&target, b"secret").unwrap();
        let link = tmp.path().join("link");
        symlink(&target, &link).unwrap();
        let e = open_no_follow(&link, OpenOptions::new().read(true)).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(nix::libc::ELOOP), "{e}");
        // Creating through a dangling symlink creates nothing at its target.
        let dangling = tmp.path().join("dangling");
        symlink(tmp.path().join("made"), &dangling).unwrap();
        assert!(open_no_follow(&dangling, OpenOptions::new().write(true).create(true)).is_err());
        assert!(!tmp.path().join("made").exists());
        let fifo = tmp.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let opened = open_no_follow(&fifo, OpenOptions::new().read(true)).unwrap();
        assert!(!opened.metadata().unwrap().is_file());
        let plain = open_no_follow(&target, OpenOptions::new().read(true)).unwrap();
        assert!(plain.metadata().unwrap().is_file());
    }
}
