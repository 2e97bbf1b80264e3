//! Two file-system guards for directories that hold untrusted content as
//! root: the image store, and the node's state and run directories.
//!
//! * [`private_dir`]: a directory only root can enter (0700 whatever the
//!   umask, and an existing one tightened). An extracted layer keeps the
//!   image's setuid-root binaries and world-writable `tmp/`; behind a 0700
//!   directory no local user reaches them. overlayfs does not need more: the
//!   layers are looked up by the mounter (root) when the overlay is mounted,
//!   and a container process only ever sees the merged tree, never the store
//!   path (overlayfs(5), "Permission model").
//! * [`open_beneath`]: opens a path inside a directory without following
//!   any symlink on the way, so that metadata set through the descriptor
//!   lands inside that directory even if a component was swapped for a
//!   symlink since it was created (`openat2(2)` with `RESOLVE_BENEATH |
//!   RESOLVE_NO_SYMLINKS`, Linux 5.6+).

#![allow(unsafe_code)] // taking ownership of the descriptor nix's openat2 returns raw

use std::fs::{self, File, Permissions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
use nix::sys::stat::Mode;

/// The mode of a private directory: owner (root) only.
pub const PRIVATE_DIR_MODE: u32 = 0o700;

/// Makes `dir` a directory only its owner can enter: creates it (and its
/// missing parents, with the usual mode) as 0700 whatever the umask, or
/// takes the group and other bits off an existing one. Follows `dir` if it
/// is a symlink (an administrator may have moved the store elsewhere).
pub fn private_dir(dir: &Path) -> io::Result<()> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    match fs::DirBuilder::new().mode(PRIVATE_DIR_MODE).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = fs::metadata(dir)?;
    if !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "exists and is not a directory",
        ));
    }
    // Exactly 0700: the umask can only have narrowed it, an older minipod
    // (or an administrator) may have widened it.
    if meta.permissions().mode() & 0o7777 != PRIVATE_DIR_MODE {
        fs::set_permissions(dir, Permissions::from_mode(PRIVATE_DIR_MODE))?;
    }
    Ok(())
}

/// Opens `relative` inside the directory `root` with `flags` (e.g.
/// `O_RDONLY | O_DIRECTORY`), refusing `..`, absolute paths and every
/// symlink on the way, the last component included: `ELOOP` when a
/// component is a symlink (`ENOTDIR` for a last one with `O_DIRECTORY`), `EXDEV` when the path would leave `root`.
/// `O_CLOEXEC` and `O_NOFOLLOW` are always added; a file made with
/// `O_CREAT` is made 0600 (the caller sets its mode on the descriptor).
pub fn open_beneath(root: &File, relative: &Path, flags: OFlag) -> io::Result<File> {
    let mut how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW)
        .resolve(
            ResolveFlag::RESOLVE_BENEATH
                | ResolveFlag::RESOLVE_NO_SYMLINKS
                | ResolveFlag::RESOLVE_NO_MAGICLINKS,
        );
    if flags.contains(OFlag::O_CREAT) {
        // openat2 wants a mode only with O_CREAT; the caller sets the real one on the descriptor.
        how = how.mode(Mode::from_bits_truncate(0o600));
    }
    // openat2 on "" fails (ENOENT): the root itself is ".".
    let relative = if relative.as_os_str().is_empty() {
        Path::new(".")
    } else {
        relative
    };
    let fd = openat2(root.as_raw_fd(), relative, how)?;
    // SAFETY: `fd` was just returned by a successful openat2 and nothing else owns it.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok(File::from(owned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_private_dir_is_0700_when_made_and_when_found_wider() {
        let tmp = tempfile::tempdir().unwrap();
        let made = tmp.path().join("a/b/store");
        private_dir(&made).unwrap();
        assert_eq!(mode(&made), 0o700);
        let wide = tmp.path().join("wide");
        fs::create_dir(&wide).unwrap();
        fs::set_permissions(&wide, Permissions::from_mode(0o1777)).unwrap();
        private_dir(&wide).unwrap();
        assert_eq!(mode(&wide), 0o700);
        let file = tmp.path().join("file");
        fs::write(&file, b"").unwrap();
        assert!(private_dir(&file).is_err());
    }

    #[test]
    fn open_beneath_refuses_symlinks_and_dotdot() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("root/a/b")).unwrap();
        fs::create_dir(tmp.path().join("outside")).unwrap();
        symlink("../outside", tmp.path().join("root/link")).unwrap();
        let root = File::open(tmp.path().join("root")).unwrap();
        let dir = OFlag::O_RDONLY | OFlag::O_DIRECTORY;
        assert!(open_beneath(&root, Path::new("a/b"), dir).is_ok());
        assert!(open_beneath(&root, Path::new(""), dir).is_ok());
        let errno = |p: &str| {
            open_beneath(&root, Path::new(p), dir)
                .unwrap_err()
                .raw_os_error()
        };
        // A symlink as the last component, opened as a directory: ENOTDIR.
        assert_eq!(errno("link"), Some(libc::ENOTDIR));
        let as_file = open_beneath(&root, Path::new("link"), OFlag::O_RDONLY).unwrap_err();
        assert_eq!(as_file.raw_os_error(), Some(libc::ELOOP));
        assert_eq!(errno("link/x"), Some(libc::ELOOP));
        assert_eq!(errno("../outside"), Some(libc::EXDEV));
        assert_eq!(errno("/etc"), Some(libc::EXDEV));
    }
}
