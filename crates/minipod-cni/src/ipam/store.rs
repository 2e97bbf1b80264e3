//! The reservation directory on disk, as host-local's `disk` backend keeps
//! it (`plugins/ipam/host-local/backend/disk`): one file per reserved
//! address, named by the address and holding its owner (and the address);
//! `last_reserved_ip.0`, the address reserved last; and `lock`, held with
//! `flock(2)` around every look and change, so that several processes
//! (each pod's monitor, the daemon) reserve at once without handing out an
//! address twice.
//!
//! One addition: `owner.<owner>` is a second name (a hard link) of the
//! owner's reservation file, so that a reservation and a release open one
//! file rather than every one (host-local reads them all), and creating a
//! reservation costs one new file, not two. The file is created under the
//! owner's name first, written whole, then linked to the address's name,
//! which fails if that name exists (`link(2)`, `EEXIST`): an address's
//! name never shows a half-written file, and a crash in between leaves
//! only an index whose address is not its own, which is ignored and
//! replaced. A release removes the address's name first, for the same
//! reason.
//!
//! The directory is minipod's, but nothing in it is trusted: a file that is
//! not a reservation minipod wrote is ignored, and no symlink there is ever
//! followed (every open is `O_NOFOLLOW`; files are created `O_EXCL`, which
//! does not follow one either; links and unlinks act on a name, never on
//! its target).
//!
//! No `fsync`: a reservation has to outlive the process that made it, not
//! the machine; after a reboot no pod is left and the daemon's start-up
//! clean-up releases what remains.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::net::Ipv4Addr;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use minipod_linux::file_lock::{FileLock, LockMode, open_no_follow};

use super::error::IpamError;
use super::range::{address_of_file_name, contents_of, parse_contents};

/// The lock file, host-local's name.
pub const LOCK_FILE: &str = "lock";
/// The address reserved last (range 0: minipod's network has one range),
/// host-local's name.
pub const LAST_RESERVED_FILE: &str = "last_reserved_ip.0";
/// The prefix of an owner's name for its reservation, `owner.<owner>`:
/// never an address.
pub const OWNER_FILE_PREFIX: &str = "owner.";
/// The most a file of the directory may hold to be read: an owner id is
/// at most 128 bytes, an address 15.
const MAX_FILE_BYTES: usize = 256;

/// One file named by an address; `owner` is `None` when it holds no valid
/// owner id and this address (not minipod's, or not a regular file): its
/// address stays taken, but it is nobody's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub address: Ipv4Addr,
    pub owner: Option<String>,
}

/// The directory, locked until this is dropped.
#[derive(Debug)]
pub struct Locked {
    dir: PathBuf,
    _lock: FileLock,
}

fn io_error<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> IpamError + 'a {
    move |source| IpamError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Locks `dir` in `mode`, creating its lock file; `Ok(None)` when the
/// directory does not exist (nothing was ever reserved in it).
pub fn lock(dir: &Path, mode: LockMode) -> Result<Option<Locked>, IpamError> {
    let path = dir.join(LOCK_FILE);
    let file = match open_no_follow(
        &path,
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(0o600),
    ) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        other => other.map_err(io_error("open the lock file", &path))?,
    };
    let is_file = file
        .metadata()
        .map_err(io_error("look at the lock file", &path))?
        .is_file();
    if !is_file {
        return Err(io_error("lock", &path)(io::Error::other(
            "the lock file is not a regular file",
        )));
    }
    let lock = FileLock::lock(file, mode).map_err(io_error("lock", &path))?;
    Ok(Some(Locked {
        dir: dir.to_owned(),
        _lock: lock,
    }))
}

impl Locked {
    /// Every name of the directory that is an address: taken, whatever
    /// the file holds.
    pub fn taken(&self) -> Result<HashSet<Ipv4Addr>, IpamError> {
        let mut taken = HashSet::new();
        for entry in fs::read_dir(&self.dir).map_err(io_error("list", &self.dir))? {
            let entry = entry.map_err(io_error("list", &self.dir))?;
            if let Some(address) = entry.file_name().to_str().and_then(address_of_file_name) {
                taken.insert(address);
            }
        }
        Ok(taken)
    }

    /// Every file of the directory named by an address, with its owner,
    /// sorted by address: each file is read.
    pub fn reservations(&self) -> Result<Vec<Reservation>, IpamError> {
        let mut found: Vec<Reservation> = self
            .taken()?
            .into_iter()
            .map(|address| Reservation {
                address,
                owner: self.owner_of(address),
            })
            .collect();
        found.sort_by_key(|r| r.address);
        Ok(found)
    }

    /// Who holds `address`: the owner its file holds, if it is a regular
    /// file holding a valid owner and this address.
    fn owner_of(&self, address: Ipv4Addr) -> Option<String> {
        let (bytes, _) = read_small(&self.dir.join(address.to_string()))?;
        let (owner, named) = parse_contents(&bytes)?;
        (named == address).then(|| owner.to_owned())
    }

    /// The address `owner` holds, found through its own name for its
    /// reservation: the file names the address, and the address's name is
    /// the same file.
    pub fn held_by(&self, owner: &str) -> Option<Ipv4Addr> {
        let (bytes, index) = read_small(&self.owner_file(owner))?;
        let (named_owner, address) = parse_contents(&bytes)?;
        let at_address = fs::symlink_metadata(self.dir.join(address.to_string())).ok()?;
        let same_file = at_address.dev() == index.dev() && at_address.ino() == index.ino();
        (named_owner == owner && same_file).then_some(address)
    }

    /// Starts a reservation for `owner`: its file, created empty under the
    /// owner's name (anything there before, a stale index, goes first).
    pub fn stage(&self, owner: &str) -> Result<Staged, IpamError> {
        let path = self.owner_file(owner);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true).mode(0o600);
        let file = match open_no_follow(&path, &mut options) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                remove_if_there(&path, "remove the stale owner index")?;
                open_no_follow(&path, &mut options)
            }
            other => other,
        }
        .map_err(io_error("create", &path))?;
        Ok(Staged {
            dir: self.dir.clone(),
            owner: owner.to_owned(),
            file,
            path,
        })
    }

    /// Removes `owner`'s name for its reservation; already gone is fine.
    pub fn remove_index(&self, owner: &str) -> Result<(), IpamError> {
        remove_if_there(&self.owner_file(owner), "remove the owner index")
    }

    /// Gives `address` back: removes its name; already gone is fine.
    pub fn remove(&self, address: Ipv4Addr) -> Result<(), IpamError> {
        remove_if_there(
            &self.dir.join(address.to_string()),
            "remove the reservation",
        )
    }

    /// The address reserved last, if the file holds one.
    pub fn last_reserved(&self) -> Option<Ipv4Addr> {
        let (bytes, _) = read_small(&self.dir.join(LAST_RESERVED_FILE))?;
        std::str::from_utf8(&bytes).ok()?.trim().parse().ok()
    }

    /// Records `address` as the one reserved last.
    pub fn set_last_reserved(&self, address: Ipv4Addr) -> Result<(), IpamError> {
        write_hint(&self.dir.join(LAST_RESERVED_FILE), address)
    }

    fn owner_file(&self, owner: &str) -> PathBuf {
        // `owner` is a plain name (checked by the caller): one component.
        self.dir.join(format!("{OWNER_FILE_PREFIX}{owner}"))
    }
}

/// A reservation being made: its file, under the owner's name only.
#[derive(Debug)]
pub struct Staged {
    dir: PathBuf,
    owner: String,
    file: File,
    path: PathBuf,
}

impl Staged {
    /// Makes the file `address`'s reservation: writes the owner and the
    /// address into it, then links it to the address's name; `false` when
    /// that name is already taken (by anything: a file, a symlink, a
    /// directory).
    pub fn claim(&self, address: Ipv4Addr) -> Result<bool, IpamError> {
        let contents = contents_of(&self.owner, address);
        self.file
            .write_all_at(contents.as_bytes(), 0)
            .and_then(|()| self.file.set_len(contents.len() as u64))
            .map_err(io_error("write", &self.path))?;
        let name = self.dir.join(address.to_string());
        match fs::hard_link(&self.path, &name) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            other => other
                .map(|()| true)
                .map_err(io_error("write the reservation", &name)),
        }
    }
}

fn remove_if_there(path: &Path, action: &'static str) -> Result<(), IpamError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error(action, path)(e)),
        _ => Ok(()),
    }
}

/// How many bytes `last_reserved_ip.0` holds: an address padded with
/// spaces to the longest one (15 bytes), and a new line.
const HINT_BYTES: usize = 16;

/// Writes `address` to a hint file in place, always [`HINT_BYTES`] bytes
/// in one write at its start, so it never needs truncating (freeing and
/// allocating blocks on every reservation costs more than the rest) and a
/// crash leaves the old address or the new one. Whatever else is at its
/// name (a symlink, a FIFO) is replaced, never followed.
fn write_hint(path: &Path, address: Ipv4Addr) -> Result<(), IpamError> {
    let contents = format!("{:<width$}\n", address.to_string(), width = HINT_BYTES - 1);
    let mut options = OpenOptions::new();
    options.write(true).create(true).mode(0o600);
    let (file, len) = match open_no_follow(path, &mut options) {
        Ok(file) => match file.metadata() {
            Ok(meta) if meta.is_file() => (file, meta.len()),
            _ => replace(path, &mut options)?,
        },
        Err(_) => replace(path, &mut options)?,
    };
    file.write_all_at(contents.as_bytes(), 0)
        .map_err(io_error("write", path))?;
    if len > HINT_BYTES as u64 {
        file.set_len(HINT_BYTES as u64)
            .map_err(io_error("truncate", path))?;
    }
    Ok(())
}

/// Removes what is at `path` and creates a new empty file there.
fn replace(path: &Path, options: &mut OpenOptions) -> Result<(File, u64), IpamError> {
    remove_if_there(path, "replace")?;
    let file = open_no_follow(path, options.create_new(true)).map_err(io_error("create", path))?;
    Ok((file, 0))
}

/// The contents of the regular file `path` and what `fstat` says of it,
/// read without following a symlink; `None` when it is missing, not a
/// regular file, or larger than [`MAX_FILE_BYTES`].
fn read_small(path: &Path) -> Option<(Vec<u8>, fs::Metadata)> {
    let mut file: File = open_no_follow(path, OpenOptions::new().read(true)).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES as u64 {
        return None;
    }
    // Reads until the size `fstat` gave, or the end; one byte more than
    // allowed is refused (the file grew since the look).
    let mut buffer = [0u8; MAX_FILE_BYTES + 1];
    let mut len = 0;
    while (len as u64) < meta.len() {
        match file.read(&mut buffer[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    (len <= MAX_FILE_BYTES).then(|| (buffer[..len].to_vec(), meta))
}
