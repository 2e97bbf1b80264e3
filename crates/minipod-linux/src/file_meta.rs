//! Owners and times of files set without following symlinks, and
//! overlayfs whiteouts: what extracting an untrusted image layer needs
//! beyond `std` (see `docs/security/images.md`). Each function is one
//! system call; the caller opens the directory descriptors
//! ([`crate::private_fs::open_beneath`]) so that nothing here resolves a
//! path through a symlink.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use nix::fcntl::AtFlags;
use nix::sys::stat::{Mode, SFlag, UtimensatFlags, futimens, makedev, mknod, utimensat};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, fchownat};

/// Makes an overlayfs whiteout at `path`: a character device with device
/// number 0/0, `mknod(2)`
/// (<https://docs.kernel.org/filesystems/overlayfs.html#whiteouts-and-opaque-directories>).
/// Needs `CAP_MKNOD`.
pub fn make_whiteout(path: &Path) -> io::Result<()> {
    mknod(path, SFlag::S_IFCHR, Mode::empty(), makedev(0, 0))?;
    Ok(())
}

/// Sets the owner of `name` in the directory `dir`, on a symlink itself
/// rather than its target: `fchownat(2)` with `AT_SYMLINK_NOFOLLOW`.
pub fn chown_nofollow_at(dir: &File, name: &OsStr, uid: u32, gid: u32) -> io::Result<()> {
    fchownat(
        Some(dir.as_raw_fd()),
        name,
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )?;
    Ok(())
}

/// Sets the access and modification times of `name` in the directory
/// `dir` to `seconds` since the epoch, on a symlink itself rather than its
/// target: `utimensat(2)` with `AT_SYMLINK_NOFOLLOW`.
pub fn set_times_nofollow_at(dir: &File, name: &OsStr, seconds: i64) -> io::Result<()> {
    let time = TimeSpec::new(seconds, 0);
    utimensat(
        Some(dir.as_raw_fd()),
        name,
        &time,
        &time,
        UtimensatFlags::NoFollowSymlink,
    )?;
    Ok(())
}

/// Sets the access and modification times of an open file (a directory
/// opened read-only included) to `seconds` since the epoch: `futimens(2)`.
pub fn set_times(file: &File, seconds: i64) -> io::Result<()> {
    let time = TimeSpec::new(seconds, 0);
    futimens(file.as_raw_fd(), &time, &time)?;
    Ok(())
}
