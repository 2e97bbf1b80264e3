//! Small mount helpers for the pod runtime: the tmpfs behind a pod's
//! `/dev/shm` and behind an `emptyDir` with `medium: Memory`, and resolving a
//! volumeMount's `subPath` without ever leaving the volume.

#![allow(unsafe_code)] // taking ownership of descriptors nix returns raw: each block says why

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, open, openat2};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::{Mode, mkdirat};

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
/// component by component (openat2(2)).
///
/// The descriptor is what to bind-mount (through `/proc/<pid>/fd/<n>`,
/// [`fd_path`]), as the kubelet's `doSafeOpen` does: the mount then follows
/// the descriptor, never the path again.
pub fn open_beneath(volume: &Path, sub_path: &str) -> io::Result<OwnedFd> {
    let mut dir = into_owned(open(
        volume,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?);
    let components: Vec<&std::ffi::OsStr> = Path::new(sub_path)
        .components()
        .map(|c| match c {
            Component::Normal(name) => Ok(name),
            Component::CurDir => Ok(std::ffi::OsStr::new(".")),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("subPath {sub_path:?} must be a relative path without '..'"),
            )),
        })
        .collect::<Result<_, _>>()?;
    let how = || {
        OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS)
    };
    for (i, name) in components.iter().enumerate() {
        let next = match openat2(dir.as_raw_fd(), *name, how()) {
            Err(Errno::ENOENT) => {
                mkdirat(
                    Some(dir.as_raw_fd()),
                    *name,
                    Mode::from_bits_truncate(0o755),
                )?;
                openat2(dir.as_raw_fd(), *name, how())
            }
            other => other,
        };
        let fd = next.map_err(|e| {
            let what = if e == Errno::ELOOP {
                "is a symlink (refused: it could point out of the volume)".to_owned()
            } else {
                e.desc().to_owned()
            };
            io::Error::new(
                io::Error::from(e).kind(),
                format!(
                    "subPath {sub_path:?}: {}: {what}",
                    components[..=i].iter().collect::<PathBuf>().display()
                ),
            )
        })?;
        dir = into_owned(fd);
    }
    Ok(dir)
}

/// nix 0.29's `open` and `openat2` return raw descriptors; this takes ownership.
fn into_owned(fd: std::os::fd::RawFd) -> OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: `fd` was just returned by a successful open/openat2 and is owned by no one else.
    unsafe { OwnedFd::from_raw_fd(fd) }
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
