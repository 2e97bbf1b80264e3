//! Opening a path inside a directory that must never be left: a container's
//! root filesystem, or a volume.
//!
//! A path joined to a directory and handed to the kernel (`root.join(p)`) is
//! followed wherever its symlinks lead. A container image is untrusted: a
//! layer holding `etc -> /root/.ssh` would make "create `<rootfs>/etc/hosts`"
//! create `/root/.ssh/hosts` on the host. So every path minipod creates or
//! mounts on inside a container root is resolved here, with one of two rules:
//!
//! * [`Symlinks::InRoot`]: symlinks are followed *as if the directory were
//!   `/`*: an absolute target starts again at the directory, and `..` stops
//!   there (`openat2(RESOLVE_IN_ROOT)`, openat2(2)). This is what runc does
//!   for mount destinations (its `securejoin`/`pathrs`), so an image whose
//!   `/etc` is a symlink still gets its `/etc/hosts`, inside itself.
//! * [`Symlinks::Refuse`]: any symlink (and any `..`) is an error
//!   (`RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`, component by component). This
//!   is the kubelet's rule for a volumeMount's `subPath` (`doSafeOpen`).
//!
//! Missing components are created through the descriptor of their parent
//! (`mkdirat`, `openat(O_CREAT | O_EXCL | O_NOFOLLOW)`), never through a path,
//! and the result is an `O_PATH` descriptor: mount onto it (through
//! `/proc/self/fd/<n>`, or `move_mount`), never onto the path again, so a
//! directory swapped for a symlink afterwards changes nothing.

#![allow(unsafe_code)] // taking ownership of descriptors nix returns raw: each block says why

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Component, Path};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, OpenHow, ResolveFlag, openat, openat2, readlinkat};
use nix::sys::stat::{Mode, SFlag, fstatat, mkdirat};

/// How symlinks on the way are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symlinks {
    /// Followed, but resolved as if the directory were `/` (runc's rule for
    /// mount destinations). `..` is allowed and stops at the directory.
    InRoot,
    /// Refused, as is `..` (the kubelet's rule for `subPath`).
    Refuse,
}

/// What to do about missing components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Nothing: a missing component is `ENOENT`.
    Nothing,
    /// Every missing component becomes a directory (mode 0755).
    Directories,
    /// Missing parents become directories, a missing last component an
    /// empty file (mode 0644): a mount point for a file.
    File,
}

/// How many symlinks a dangling path may go through before it is `ELOOP`
/// (the kernel's own limit, `MAXSYMLINKS`).
const MAX_SYMLINKS: usize = 40;

/// Opens `path` inside `dir` as an `O_PATH | O_CLOEXEC` descriptor, with
/// `symlinks` as the rule for symlinks on the way and `create` for missing
/// components. An absolute `path` is taken relative to `dir`.
///
/// Errors name the part of `path` that failed (never anything outside it).
pub fn open_in(
    dir: BorrowedFd<'_>,
    path: &str,
    symlinks: Symlinks,
    create: Create,
) -> io::Result<OwnedFd> {
    let mut components = components_of(Path::new(path), symlinks)
        .map_err(|what| error(io::ErrorKind::InvalidInput, path, what))?;
    let mut links_followed = 0;
    'restart: loop {
        let mut current = dup(dir)?;
        for i in 0..components.len() {
            let last = i + 1 == components.len();
            let opened = match open_step(dir, current.as_fd(), &components, i, symlinks) {
                Err(Errno::ENOENT) if create != Create::Nothing => {
                    let name = components[i].as_os_str();
                    if symlinks == Symlinks::InRoot
                        && let Some(target) = dangling_symlink(current.as_fd(), name)?
                    {
                        // `etc/resolv.conf -> ../run/resolv.conf` with no
                        // `run/`: follow it by hand, as a path inside `dir`
                        // again, and create what it names.
                        links_followed += 1;
                        if links_followed > MAX_SYMLINKS {
                            return Err(error(
                                io::ErrorKind::InvalidInput,
                                &shown(&components[..=i]),
                                "too many levels of symlinks",
                            ));
                        }
                        components = substitute(&components, i, Path::new(&target));
                        continue 'restart;
                    }
                    make(current.as_fd(), name, last && create == Create::File)
                        .map_err(|e| error(e.kind(), &shown(&components[..=i]), &e))?;
                    open_step(dir, current.as_fd(), &components, i, symlinks)
                }
                other => other,
            };
            current = into_owned(opened.map_err(|e| {
                let what = if e == Errno::ELOOP && symlinks == Symlinks::Refuse {
                    "is a symlink (refused: it could point out of the volume)".to_owned()
                } else {
                    e.desc().to_owned()
                };
                error(io::Error::from(e).kind(), &shown(&components[..=i]), what)
            })?);
        }
        return Ok(current);
    }
}

/// Opens `components[..=i]`: with [`Symlinks::InRoot`] each time from
/// `dir` with every component so far, so the kernel resolves symlinks and
/// `..` against `dir` as `/`; with [`Symlinks::Refuse`] one name in
/// `parent` (the previous step's result), no symlink allowed.
fn open_step(
    dir: BorrowedFd<'_>,
    parent: BorrowedFd<'_>,
    components: &[OsString],
    i: usize,
    symlinks: Symlinks,
) -> nix::Result<RawFd> {
    match symlinks {
        Symlinks::InRoot => openat2(
            dir.as_raw_fd(),
            Path::new(&join(&components[..=i])),
            how(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS),
        ),
        Symlinks::Refuse => openat2(
            parent.as_raw_fd(),
            components[i].as_os_str(),
            how(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS),
        ),
    }
}

/// The components of `path` to walk: names, and with [`Symlinks::InRoot`]
/// `..` (which the kernel stops at the root). `/` and `.` add nothing.
fn components_of(path: &Path, symlinks: Symlinks) -> Result<Vec<OsString>, &'static str> {
    let mut names = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => names.push(name.to_owned()),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir if symlinks == Symlinks::InRoot => names.push("..".into()),
            Component::ParentDir | Component::Prefix(_) => {
                return Err("must not contain '..'");
            }
        }
    }
    Ok(names)
}

/// `components[..i]`, then the symlink's `target` (from the top if it is
/// absolute), then `components[i + 1..]`.
fn substitute(components: &[OsString], i: usize, target: &Path) -> Vec<OsString> {
    let mut replaced: Vec<OsString> = if target.is_absolute() {
        Vec::new()
    } else {
        components[..i].to_vec()
    };
    // A symlink's target may hold `..` whatever the rule: it is resolved
    // inside the root like any other.
    replaced.extend(components_of(target, Symlinks::InRoot).unwrap_or_default());
    replaced.extend_from_slice(&components[i + 1..]);
    replaced
}

fn join(components: &[OsString]) -> OsString {
    let mut path = OsString::from(".");
    for name in components {
        path.push("/");
        path.push(name);
    }
    path
}

/// `components` as a path for messages: `etc/hosts`.
fn shown(components: &[OsString]) -> String {
    components
        .iter()
        .map(|c| c.to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn how(resolve: ResolveFlag) -> OpenHow {
    OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(resolve)
}

/// The target of `name` in `parent` if it is a symlink (whose target, then,
/// does not exist); `None` if `name` is missing or anything else.
fn dangling_symlink(parent: BorrowedFd<'_>, name: &OsStr) -> io::Result<Option<OsString>> {
    match fstatat(Some(parent.as_raw_fd()), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(stat) if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK => {
            Ok(Some(readlinkat(Some(parent.as_raw_fd()), name)?))
        }
        _ => Ok(None),
    }
}

/// Creates `name` in `parent`: an empty file when `file`, else a directory.
/// Someone else creating it first (`EEXIST`) is fine: it is opened next,
/// by the same rule.
fn make(parent: BorrowedFd<'_>, name: &OsStr, file: bool) -> io::Result<()> {
    let made = if file {
        openat(
            Some(parent.as_raw_fd()),
            name,
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_WRONLY | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o644),
        )
        .map(|fd| drop(into_owned(fd)))
    } else {
        mkdirat(
            Some(parent.as_raw_fd()),
            name,
            Mode::from_bits_truncate(0o755),
        )
    };
    match made {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn dup(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    fd.try_clone_to_owned()
}

fn error(kind: io::ErrorKind, path: &str, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(kind, format!("{path}: {what}"))
}

/// nix 0.29's `openat` and `openat2` return raw descriptors; this takes ownership.
pub(crate) fn into_owned(fd: RawFd) -> OwnedFd {
    // SAFETY: `fd` was just returned by a successful open/openat/openat2 and
    // is owned by no one else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// The path through which this process reaches its own descriptor `fd`:
/// `/proc/self/fd/<n>`. Mounting onto it mounts onto what `fd` resolved to,
/// without looking the path up again (proc(5), `/proc/pid/fd`). (`self`,
/// not a pid: a container's init is pid 1 of its own PID namespace, while
/// the `/proc` it sees is still the host's.)
pub fn self_fd_path(fd: &OwnedFd) -> std::path::PathBuf {
    format!("/proc/self/fd/{}", fd.as_raw_fd()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn an_absolute_path_is_walked_from_the_directory() {
        assert_eq!(
            components_of(Path::new("/etc//./hosts"), Symlinks::InRoot),
            Ok(names(&["etc", "hosts"]))
        );
    }

    #[test]
    fn dot_dot_is_kept_in_root_and_refused_beneath() {
        assert_eq!(
            components_of(Path::new("a/../b"), Symlinks::InRoot),
            Ok(names(&["a", "..", "b"]))
        );
        assert!(components_of(Path::new("a/../b"), Symlinks::Refuse).is_err());
    }

    #[test]
    fn a_relative_symlink_replaces_its_component_in_place() {
        let path = names(&["etc", "resolv.conf"]);
        assert_eq!(
            substitute(&path, 1, Path::new("../run/resolv.conf")),
            names(&["etc", "..", "run", "resolv.conf"])
        );
    }

    #[test]
    fn an_absolute_symlink_starts_again_at_the_top() {
        let path = names(&["data", "vol", "x"]);
        assert_eq!(
            substitute(&path, 0, Path::new("/srv/../host")),
            names(&["srv", "..", "host", "vol", "x"])
        );
    }

    #[test]
    fn messages_show_the_path_as_given() {
        assert_eq!(shown(&names(&["etc", "..", "hosts"])), "etc/../hosts");
    }

    #[test]
    fn the_joined_path_is_relative_to_the_directory() {
        assert_eq!(
            join(&names(&["etc", "hosts"])),
            OsString::from("./etc/hosts")
        );
        assert_eq!(join(&[]), OsString::from("."));
    }
}
