//! Safe layer extraction: one tar stream into one empty directory, never a
//! byte outside it.
//!
//! A layer is untrusted input run as root, so every entry is checked before
//! anything is written (rules of the OCI image spec's `layer.md`, plus what
//! runc/containerd learned the hard way):
//!
//! * names are split on `/`; an absolute name or a `..` component is refused
//!   (`.` and empty components are dropped);
//! * the parent directories are walked from the layer root **one component at
//!   a time with `lstat`**: a missing one is created (0755, root), a real
//!   directory is entered, anything else, a symlink above all, is refused. So
//!   after `a -> /etc`, an entry `a/passwd` is refused instead of landing in
//!   the host's `/etc`. Symlinks themselves may point anywhere: they are
//!   resolved inside the container later, never here;
//! * the final component is never followed either: whatever the layer put
//!   there before is removed (a directory is kept for a directory entry, as
//!   Docker does), and files are created with `O_CREAT|O_EXCL`;
//! * a hard link must name an entry extracted earlier in this layer, by a path
//!   under the same rules, and it must be a regular file or a symlink;
//! * device nodes and FIFOs are refused; a layer brings files, not devices;
//! * ownership, mode (setuid, setgid and sticky bits included, set after the
//!   chown that would clear them), mtimes and the xattrs of PAX `SCHILY.xattr.*`
//!   records are kept. `trusted.overlay.*`/`user.overlay.*` xattrs are refused:
//!   they steer overlayfs (redirects, metacopy) and only the store sets them;
//! * metadata is set **only through descriptors** opened from the layer root
//!   with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`
//!   ([`minipod_linux::private_fs::open_beneath`]), never through a path.
//!   Directory mtimes are set at the end (creating children changes them),
//!   and by then a later entry may have replaced `a/` with `a -> /host/dir`:
//!   a path `a/b` would then reach the host; the descriptor walk stops at
//!   the symlink instead;
//! * a layer may have at most `entries_cap.limit` entries (the store's
//!   `layer_entries` limit); its uncompressed size is capped by the caller,
//!   which counts the stream; a GNU long name or PAX header may have at most
//!   [`MAX_EXTENSION_BYTES`] (the tar crate keeps one whole in memory).
//!
//! Whiteouts become what overlayfs understands (OCI `layer.md`, "Whiteouts"):
//! `.wh.NAME` becomes a character device 0/0 named `NAME`, and `.wh..wh..opq`
//! marks its directory with the xattr `trusted.overlay.opaque=y` (both need
//! root). Other `.wh..wh.*` names are AUFS bookkeeping and are skipped.
//!
//! On an error the caller removes the whole directory: nothing half-written is
//! ever used, because the store renames a layer into place only once it has
//! been extracted completely and its diff_id checked.

use std::cell::Cell;
use std::ffi::OsStr;
use std::fs::{self, DirBuilder, File, FileTimes, OpenOptions, Permissions};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use minipod_linux::file_meta::{
    chown_nofollow_at, make_whiteout, set_times, set_times_nofollow_at,
};
use minipod_linux::private_fs::open_beneath;
use nix::fcntl::OFlag;
use xattr::FileExt as _;

use crate::limits::CapExceeded;

mod error;
mod guard;
mod meta;
use meta::Meta;

use error::Fail;
pub use error::{ExtractError, Refusal};
pub use guard::MAX_EXTENSION_BYTES;

/// The xattr that makes an overlayfs directory opaque.
pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE_WHITEOUT: &[u8] = b".wh..wh..opq";

/// What an extraction wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnpackStats {
    /// Tar entries processed.
    pub entries: u64,
    /// Bytes of regular-file content written.
    pub bytes: u64,
}

/// Extracts the tar stream `reader` into `dest`, an empty directory, and
/// refuses the layer once it has more than `entries_cap.limit` entries.
///
/// Reads the stream only up to the tar end marker; the caller drains the rest
/// when it hashes the whole stream (the diff_id covers every byte).
pub fn unpack_layer<R: Read>(
    reader: R,
    dest: &Path,
    entries_cap: CapExceeded,
) -> Result<UnpackStats, ExtractError> {
    // The guard refuses a long name or PAX header the tar crate would
    // otherwise read into memory whole, whatever its size (guard.rs).
    let tripped = Cell::new(false);
    let mut archive = tar::Archive::new(guard::ExtensionGuard::new(reader, &tripped));
    unpack_entries(&mut archive, dest, entries_cap).map_err(|e| {
        if tripped.get() {
            ExtractError::Cap(guard::extension_cap())
        } else {
            e
        }
    })
}

fn unpack_entries<R: Read>(
    archive: &mut tar::Archive<R>,
    dest: &Path,
    entries_cap: CapExceeded,
) -> Result<UnpackStats, ExtractError> {
    let root_dir = open_dir_nofollow(dest).map_err(|source| ExtractError::Io {
        entry: ".".into(),
        source,
    })?;
    let mut unpacker = Unpacker {
        root: dest,
        root_dir,
        dir_times: Vec::new(),
        root_meta: None,
        stats: UnpackStats::default(),
    };
    for entry in archive.entries().map_err(ExtractError::Stream)? {
        let mut entry = entry.map_err(ExtractError::Stream)?;
        if unpacker.stats.entries >= entries_cap.limit {
            return Err(ExtractError::Cap(entries_cap));
        }
        let raw = entry.path_bytes().into_owned();
        unpacker
            .entry(&mut entry, &raw)
            .map_err(|fail| name_failure(&raw, fail))?;
    }
    unpacker.finish().map_err(|fail| name_failure(b".", fail))?;
    Ok(unpacker.stats)
}

fn name_failure(raw: &[u8], fail: Fail) -> ExtractError {
    let entry = String::from_utf8_lossy(raw).into_owned();
    match fail {
        Fail::Refused(refusal) => ExtractError::Refused { entry, refusal },
        Fail::Io(source) => ExtractError::Io { entry, source },
        Fail::Stream(source) => ExtractError::Stream(source),
    }
}

/// Splits an entry name into its components, refusing absolute names and `..`.
fn components(raw: &[u8]) -> Result<Vec<&OsStr>, Refusal> {
    if raw.starts_with(b"/") {
        return Err(Refusal::Absolute);
    }
    let mut out = Vec::new();
    for component in raw.split(|b| *b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => return Err(Refusal::DotDot),
            c => out.push(OsStr::from_bytes(c)),
        }
    }
    Ok(out)
}

struct Unpacker<'a> {
    root: &'a Path,
    /// The layer root, opened once: every descriptor is opened beneath it.
    root_dir: File,
    /// Directory mtimes (by path relative to the root), set at the end
    /// (creating children changes them).
    /// Each directory and its mtime, in seconds since the epoch.
    dir_times: Vec<(PathBuf, i64)>,
    /// Metadata of a `./` entry, for the layer root itself.
    root_meta: Option<Meta>,
    stats: UnpackStats,
}

impl Unpacker<'_> {
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>, raw: &[u8]) -> Result<(), Fail> {
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            return Ok(());
        }
        self.stats.entries += 1;
        let components = components(raw)?;
        let meta = Meta::read(entry)?;
        let Some((base, parents)) = components.split_last() else {
            if kind.is_dir() {
                self.root_meta = Some(meta);
                return Ok(());
            }
            return Err(Refusal::RootNotDirectory.into());
        };
        if let Some(hidden) = base.as_bytes().strip_prefix(WHITEOUT_PREFIX) {
            return self.whiteout(parents, base, hidden);
        }
        let link_name = entry.link_name_bytes().map(|l| l.into_owned());
        match kind {
            tar::EntryType::Directory => self.directory(parents, base, meta),
            // GNU sparse entries are expanded by the tar reader.
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                self.file(parents, base, &meta, entry)
            }
            tar::EntryType::Symlink => {
                let target = link_name
                    .filter(|t| !t.is_empty())
                    .ok_or(Refusal::MissingLinkName)?;
                self.symlink(parents, base, &meta, &target)
            }
            tar::EntryType::Link => {
                let target = link_name
                    .filter(|t| !t.is_empty())
                    .ok_or(Refusal::MissingLinkName)?;
                self.hard_link(parents, base, &target)
            }
            tar::EntryType::Char => Err(Refusal::Special("character device").into()),
            tar::EntryType::Block => Err(Refusal::Special("block device").into()),
            tar::EntryType::Fifo => Err(Refusal::Special("fifo").into()),
            other => Err(Refusal::UnknownType(char::from(other.as_byte())).into()),
        }
    }

    /// Walks `parents` below the root with `lstat`, one component at a time,
    /// never following a symlink; creates missing directories when `create`.
    fn parent_dir(&self, parents: &[&OsStr], create: bool) -> Result<PathBuf, Fail> {
        let mut path = self.root.to_path_buf();
        for (i, component) in parents.iter().enumerate() {
            path.push(component);
            let shown = || {
                let joined: Vec<&[u8]> = parents[..=i].iter().map(|c| c.as_bytes()).collect();
                String::from_utf8_lossy(&joined.join(&b'/')).into_owned()
            };
            match fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(Refusal::SymlinkParent(shown()).into());
                }
                Ok(_) => return Err(Refusal::NotDirectoryParent(shown()).into()),
                Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                    DirBuilder::new().mode(0o755).create(&path)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(path)
    }

    /// Removes whatever the layer put at `path` before; keeps a directory
    /// when `keep_dir`. Returns whether a directory was kept.
    fn clear(path: &Path, keep_dir: bool) -> io::Result<bool> {
        match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_dir() && keep_dir => Ok(true),
            // remove_dir_all does not follow symlinks inside the tree.
            Ok(m) if m.file_type().is_dir() => fs::remove_dir_all(path).map(|()| false),
            Ok(_) => fs::remove_file(path).map(|()| false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn whiteout(&mut self, parents: &[&OsStr], base: &OsStr, hidden: &[u8]) -> Result<(), Fail> {
        if base.as_bytes() == OPAQUE_WHITEOUT {
            self.parent_dir(parents, true)?;
            let dir = self.open_beneath(&relative(parents), DIR_FLAGS)?;
            dir.set_xattr(OPAQUE_XATTR, b"y")?;
            return Ok(());
        }
        if hidden.starts_with(WHITEOUT_PREFIX) {
            tracing::debug!(name = ?base, "AUFS metadata entry skipped");
            return Ok(());
        }
        if hidden.is_empty() || hidden == b"." || hidden == b".." {
            return Err(Refusal::BadWhiteout.into());
        }
        let path = self
            .parent_dir(parents, true)?
            .join(OsStr::from_bytes(hidden));
        Self::clear(&path, false)?;
        // overlayfs's whiteout: a character device with device number 0/0.
        make_whiteout(&path)?;
        Ok(())
    }

    fn directory(&mut self, parents: &[&OsStr], base: &OsStr, meta: Meta) -> Result<(), Fail> {
        let path = self.parent_dir(parents, true)?.join(base);
        if !Self::clear(&path, true)? {
            DirBuilder::new().mode(0o700).create(&path)?;
        }
        let rel = relative(parents).join(base);
        let dir = self.open_beneath(&rel, DIR_FLAGS)?;
        meta.apply_to(&dir)?;
        self.dir_times.push((rel, meta.seconds()));
        Ok(())
    }

    fn file<R: Read>(
        &mut self,
        parents: &[&OsStr],
        base: &OsStr,
        meta: &Meta,
        content: &mut R,
    ) -> Result<(), Fail> {
        let path = self.parent_dir(parents, true)?.join(base);
        Self::clear(&path, false)?;
        // O_EXCL: never reuses (or follows) anything already at `path`.
        let mut file = self.open_beneath(
            &relative(parents).join(base),
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL,
        )?;
        self.stats.bytes += copy_content(content, &mut file)?;
        meta.apply_to(&file)?;
        let time = meta.time();
        file.set_times(FileTimes::new().set_accessed(time).set_modified(time))?;
        Ok(())
    }

    fn symlink(
        &mut self,
        parents: &[&OsStr],
        base: &OsStr,
        meta: &Meta,
        target: &[u8],
    ) -> Result<(), Fail> {
        let path = self.parent_dir(parents, true)?.join(base);
        Self::clear(&path, false)?;
        std::os::unix::fs::symlink(OsStr::from_bytes(target), &path)?;
        // A symlink cannot be opened: its owner and time are set relative
        // to its parent's descriptor, without following it.
        let parent = self.open_beneath(&relative(parents), DIR_FLAGS)?;
        chown_nofollow_at(&parent, base, meta.uid, meta.gid)?;
        set_times_nofollow_at(&parent, base, meta.seconds())?;
        for (name, value) in &meta.xattrs {
            // lsetxattr: on the link itself (most file systems refuse user.* there).
            if let Err(e) = xattr::set(&path, name, value) {
                tracing::warn!(xattr = ?name, error = %e, "layer xattr not kept on a symlink");
            }
        }
        Ok(())
    }

    fn hard_link(&mut self, parents: &[&OsStr], base: &OsStr, target: &[u8]) -> Result<(), Fail> {
        let shown = String::from_utf8_lossy(target).into_owned();
        let refuse = |problem| Refusal::HardLink {
            target: shown.clone(),
            problem,
        };
        let target_components = components(target).map_err(|r| match r {
            Refusal::Absolute => refuse("absolute path (a hard link must stay in its layer)"),
            _ => refuse("path has a \"..\" component (a hard link must stay in its layer)"),
        })?;
        let Some((target_base, target_parents)) = target_components.split_last() else {
            return Err(refuse("names the layer root").into());
        };
        let not_extracted = "was not extracted before it in this layer";
        let target_path = match self.parent_dir(target_parents, false) {
            Ok(dir) => dir.join(target_base),
            Err(Fail::Io(e)) if e.kind() == io::ErrorKind::NotFound => {
                return Err(refuse(not_extracted).into());
            }
            Err(Fail::Refused(_)) => {
                return Err(refuse("goes through a symlink or a non-directory").into());
            }
            Err(e) => return Err(e),
        };
        match fs::symlink_metadata(&target_path) {
            Ok(m) if m.file_type().is_file() || m.file_type().is_symlink() => {}
            Ok(_) => return Err(refuse("is not a regular file or a symlink").into()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(refuse(not_extracted).into());
            }
            Err(e) => return Err(e.into()),
        }
        let path = self.parent_dir(parents, true)?.join(base);
        if path == target_path {
            return Ok(());
        }
        Self::clear(&path, false)?;
        // linkat(2) without AT_SYMLINK_FOLLOW: a link to a symlink links the symlink.
        fs::hard_link(&target_path, &path)?;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Fail> {
        for (rel, time) in self.dir_times.iter().rev() {
            // A later entry may have replaced the directory, or one above
            // it, by a file or a symlink: then there is nothing to set.
            let dir = match open_beneath(&self.root_dir, rel, DIR_FLAGS) {
                Ok(dir) => dir,
                Err(e) if is_replaced(&e) => continue,
                Err(e) => return Err(e.into()),
            };
            set_times(&dir, *time)?;
        }
        let root = &self.root_dir;
        match &self.root_meta {
            Some(meta) => {
                meta.apply_to(root)?;
                set_times(root, meta.seconds())?;
            }
            None => root.set_permissions(Permissions::from_mode(0o755))?,
        }
        Ok(())
    }

    /// [`open_beneath`] the layer root.
    fn open_beneath(&self, rel: &Path, flags: OFlag) -> io::Result<File> {
        open_beneath(&self.root_dir, rel, flags)
    }
}

/// How directories are opened to set their metadata.
const DIR_FLAGS: OFlag = OFlag::O_RDONLY.union(OFlag::O_DIRECTORY);

/// The path of `components` relative to the layer root.
fn relative(components: &[&OsStr]) -> PathBuf {
    components.iter().collect()
}

/// Whether opening a recorded directory failed because a later entry put
/// something else there: a symlink (`ELOOP`, or `EXDEV` for one that would
/// leave the layer), a file (`ENOTDIR`), nothing (`ENOENT`).
fn is_replaced(e: &io::Error) -> bool {
    use nix::libc::{ELOOP, ENOENT, ENOTDIR, EXDEV};
    matches!(e.raw_os_error(), Some(ELOOP | EXDEV | ENOTDIR | ENOENT))
}

/// `io::copy`, telling a failed read (the layer) from a failed write (the disk).
fn copy_content(from: &mut impl Read, to: &mut File) -> Result<u64, Fail> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Fail::Stream(e)),
        };
        io::Write::write_all(to, &buf[..n])?;
        total += n as u64;
    }
}

fn open_dir_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW).bits())
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps() -> (CapExceeded, CapExceeded) {
        let limits = crate::Limits::default();
        (limits.layer_bytes_cap(), limits.layer_entries_cap())
    }

    fn split(raw: &str) -> Result<Vec<String>, Refusal> {
        components(raw.as_bytes())
            .map(|c| c.iter().map(|s| s.to_string_lossy().into_owned()).collect())
    }

    #[test]
    fn entry_names_split_into_components_inside_the_layer() {
        assert_eq!(split("a/b/c").unwrap(), ["a", "b", "c"]);
        assert_eq!(split("./a//b/./c/").unwrap(), ["a", "b", "c"]);
        assert!(split("./").unwrap().is_empty());
        assert!(split("").unwrap().is_empty());
        assert_eq!(split("a/..b/c..").unwrap(), ["a", "..b", "c.."]);
        assert_eq!(split("/etc/passwd"), Err(Refusal::Absolute));
        assert_eq!(split("//etc"), Err(Refusal::Absolute));
        assert_eq!(split(".."), Err(Refusal::DotDot));
        assert_eq!(split("a/../b"), Err(Refusal::DotDot));
        assert_eq!(split("a/b/.."), Err(Refusal::DotDot));
    }

    #[test]
    fn a_stream_that_is_not_tar_is_a_stream_error() {
        let dest = tempfile::tempdir().unwrap();
        let err = unpack_layer(&[1u8; 700][..], dest.path(), caps().1).unwrap_err();
        assert!(matches!(err, ExtractError::Stream(_)), "{err}");
        assert_eq!(fs::read_dir(dest.path()).unwrap().count(), 0);
    }

    #[test]
    fn an_empty_tar_gives_an_empty_0755_layer() {
        let dest = tempfile::tempdir().unwrap();
        let stats = unpack_layer(&[0u8; 1024][..], dest.path(), caps().1).unwrap();
        assert_eq!(stats, UnpackStats::default());
        let mode = fs::metadata(dest.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o755);
    }
}
