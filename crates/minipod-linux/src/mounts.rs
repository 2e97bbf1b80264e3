//! Small mount helpers: the tmpfs behind a pod's `/dev/shm` and behind an
//! `emptyDir` with `medium: Memory`, resolving a volumeMount's `subPath`
//! without ever leaving the volume, and the new mount API's detached mounts
//! (`open_tree`, `mount_setattr`, `move_mount`, Linux >= 5.12), which let a
//! bind mount be made read-only *before* it is attached, and attached onto a
//! descriptor rather than a path.

#![allow(unsafe_code)] // the new mount API's system calls (nix 0.29 has none): each block says why

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::Mode;

use crate::in_root::{self, Create, Symlinks, into_owned};

/// Mounts a new tmpfs on `target` (an existing directory), `nosuid,nodev`,
/// plus `noexec` when asked, with `size` bytes (none: the kernel's default,
/// half of RAM) and the root directory's `mode`.
///
/// containerd mounts a sandbox's `/dev/shm` as
/// `tmpfs (nosuid,nodev,noexec) mode=1777,size=65536k`; the kubelet mounts a
/// memory-backed emptyDir as `tmpfs` with `size=<sizeLimit>` (tmpfs(5)).
pub fn mount_tmpfs(target: &Path, size: Option<u64>, mode: u32, noexec: bool) -> io::Result<()> {
    let mut options = format!("mode={mode:o}");
    if let Some(size) = size {
        options.push_str(&format!(",size={size}"));
    }
    let mut flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    if noexec {
        flags |= MsFlags::MS_NOEXEC;
    }
    mount(
        Some("tmpfs"),
        target,
        Some("tmpfs"),
        flags,
        Some(options.as_str()),
    )
    .map_err(io::Error::from)
}

/// Unmounts `target`. `MNT_DETACH`: the mount leaves the host's tree at once
/// (a container still holding it keeps its own reference until it exits),
/// so the directory can be removed right after (umount(2)). Not mounted
/// (`EINVAL`) or already gone (`ENOENT`) counts as done.
pub fn unmount(target: &Path) -> io::Result<()> {
    match umount2(target, MntFlags::MNT_DETACH) {
        Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Opens `sub_path` inside the directory `volume` as an `O_PATH` descriptor,
/// creating missing directories on the way (the kubelet creates a missing
/// subPath as a directory), and refusing any symlink or `..` on the way, so
/// the result is inside the volume even if a container swaps a directory for
/// a symlink meanwhile: `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`
/// component by component ([`in_root::open_in`] with [`Symlinks::Refuse`]).
///
/// The descriptor is what to bind-mount (through `/proc/<pid>/fd/<n>`,
/// [`fd_path`]), as the kubelet's `doSafeOpen` does: the mount then follows
/// the descriptor, never the path again.
pub fn open_beneath(volume: &Path, sub_path: &str) -> io::Result<OwnedFd> {
    let dir = open_dir(volume)?;
    in_root::open_in(dir.as_fd(), sub_path, Symlinks::Refuse, Create::Directories)
        .map_err(|e| io::Error::new(e.kind(), format!("subPath {sub_path:?}: {e}")))
}

/// The path through which another process (a container's init, still seeing
/// the host's `/proc`) reaches `fd` of this process: `/proc/<pid>/fd/<n>`.
pub fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!(
        "/proc/{}/fd/{}",
        std::process::id(),
        fd.as_raw_fd()
    ))
}

/// Bind-mounts `source` (a directory or file, possibly a `/proc/<pid>/fd/<n>`
/// path from [`fd_path`]) onto `target`, which is made first as the same
/// kind (mount(2), `MS_BIND`). Used to pin a resolved subPath in the host's
/// mount namespace, as the kubelet's `volume-subpaths` directory does:
/// a container's init cannot bind-mount a descriptor of another mount
/// namespace (`EINVAL`), but it can bind-mount this path.
pub fn bind(source: &Path, target: &Path) -> io::Result<()> {
    if std::fs::metadata(source)?.is_dir() {
        std::fs::create_dir_all(target)?;
    } else {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(target)?;
    }
    mount(
        Some(source),
        target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(io::Error::from)
}

/// A detached copy of the mount at `path` (relative to `dir`, or `dir`
/// itself when `path` is empty), as a descriptor:
/// `open_tree(OPEN_TREE_CLONE)`. With `recursive`, the mounts below come
/// along (`AT_RECURSIVE`, what `MS_BIND | MS_REC` does). Nothing is attached
/// anywhere until [`attach`]: a detached mount propagates nowhere, and
/// vanishes when its last descriptor closes (open_tree(2)).
pub fn clone_mount(
    dir: Option<BorrowedFd<'_>>,
    path: &Path,
    recursive: bool,
) -> io::Result<OwnedFd> {
    let path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path with a NUL byte"))?;
    let mut flags = libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    if path.is_empty() {
        flags |= libc::AT_EMPTY_PATH as libc::c_uint;
    }
    let dirfd = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: open_tree(2) with a valid descriptor (or AT_FDCWD), a
    // NUL-terminated path that outlives the call, and plain flags.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, dirfd, path.as_ptr(), flags) };
    Errno::result(fd)?;
    // SAFETY: open_tree returned a new descriptor that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// Sets `attributes` (`libc::MOUNT_ATTR_*`: `RDONLY`, `NOSUID`, ...) on the
/// mount behind `mount` (a [`clone_mount`] descriptor), and on the mounts
/// below it when `recursive` (mount_setattr(2)).
pub fn set_mount_attributes(
    mount: BorrowedFd<'_>,
    attributes: u64,
    recursive: bool,
) -> io::Result<()> {
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    let attr = libc::mount_attr {
        attr_set: attributes,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: mount_setattr(2) on a descriptor we hold, the empty path, and
    // a fully initialised mount_attr of the size we pass.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            mount.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    Errno::result(rc).map(drop).map_err(io::Error::from)
}

/// Attaches the detached `mount` ([`clone_mount`]) onto what `target` (an
/// `O_PATH` descriptor, as [`in_root::open_in`] gives) resolved to:
/// `move_mount(MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)`. The
/// target's path is never looked up again (move_mount(2)).
pub fn attach(mount: BorrowedFd<'_>, target: BorrowedFd<'_>) -> io::Result<()> {
    let flags = libc::MOVE_MOUNT_F_EMPTY_PATH | libc::MOVE_MOUNT_T_EMPTY_PATH;
    // SAFETY: move_mount(2) between two descriptors we hold, with empty
    // NUL-terminated paths and plain flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mount.as_raw_fd(),
            c"".as_ptr(),
            target.as_raw_fd(),
            c"".as_ptr(),
            flags,
        )
    };
    Errno::result(rc).map(drop).map_err(io::Error::from)
}

/// Mounts a new `fstype` filesystem onto what `target` (an `O_PATH`
/// descriptor) resolved to, through `/proc/self/fd/<n>` (mount(2) follows
/// that link to the descriptor's own directory, looking nothing up by name).
pub fn mount_onto(
    target: &OwnedFd,
    source: &str,
    fstype: &str,
    flags: MsFlags,
    data: Option<&str>,
) -> io::Result<()> {
    mount(
        Some(source),
        &in_root::self_fd_path(target),
        Some(fstype),
        flags,
        data,
    )
    .map_err(io::Error::from)
}

/// `dir` as an `O_PATH` directory descriptor, following its symlinks: for
/// directories minipod made itself (a container's root, a volume).
pub fn open_dir(dir: &Path) -> io::Result<OwnedFd> {
    Ok(into_owned(open(
        dir,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?))
}
