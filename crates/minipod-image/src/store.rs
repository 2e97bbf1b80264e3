//! The store: its directories, its lock, its records, and the operations
//! (import, list, resolve, remove, garbage collection).

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use minipod_linux::file_lock::{FileLock, LockMode};
use serde::{Deserialize, Serialize};

use crate::archive::{self, StagedImage};
use crate::defaults::{ImageDefaults, image_defaults};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::limits::Limits;
use crate::name::ImageName;
use crate::record::ImageRecord;
use crate::source::Source;
use crate::staging::Staging;

/// Where the store lives unless told otherwise.
pub const DEFAULT_ROOT: &str = "/var/lib/minipod/images";
const RECORDS_VERSION: u32 = 1;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Records {
    version: u32,
    images: Vec<ImageRecord>,
}

/// What an import added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The normalised name recorded.
    pub name: String,
    /// The image ID (config digest).
    pub id: Digest,
    /// The manifest digest.
    pub manifest: Digest,
    /// How many layers the image has.
    pub layers: usize,
}

/// What an import did as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// One entry per name recorded.
    pub images: Vec<Imported>,
    /// Blobs that were not in the store before.
    pub new_blobs: usize,
    /// Layers extracted (the others were already in the store).
    pub new_layers: usize,
}

/// What a removal or a garbage collection deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    /// The names removed.
    pub names: Vec<String>,
    /// Blobs no image used any more.
    pub blobs: usize,
    /// Layer directories no image used any more.
    pub layers: usize,
}

/// An image ready to run: its defaults and its layer directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedImage {
    /// The normalised name of the record found.
    pub name: String,
    /// The image ID (config digest).
    pub id: Digest,
    /// The manifest digest.
    pub manifest: Digest,
    /// Entrypoint, Cmd, Env, WorkingDir, User, StopSignal.
    pub defaults: ImageDefaults,
    /// The extracted layers, **lowest first**. overlayfs wants its `lowerdir`
    /// list the other way round: the topmost layer first.
    pub layers: Vec<PathBuf>,
}

/// The local image store (see the crate documentation).
#[derive(Debug, Clone)]
pub struct Store {
    layout: Layout,
    limits: Limits,
}

impl Store {
    /// The store at `root` (created by the first import), with the default
    /// [`Limits`].
    pub fn new(root: impl Into<PathBuf>) -> Store {
        Store {
            layout: Layout { root: root.into() },
            limits: Limits::default(),
        }
    }

    /// The same store with other caps on what one import may cost.
    pub fn with_limits(self, limits: Limits) -> Store {
        Store { limits, ..self }
    }

    /// The caps on what one import may cost.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Creates the store's directories root-only (0700, whatever the
    /// umask), or makes existing ones so: a store made by an older minipod
    /// (0755) is fixed here. Every change of the store calls it first, and
    /// every read fixes an existing store's root; a registry pull calls it
    /// before it downloads into the store.
    pub fn prepare(&self) -> Result<()> {
        for dir in self.layout.private_dirs() {
            minipod_linux::private_fs::private_dir(&dir).map_err(Error::store(&dir))?;
        }
        Ok(())
    }

    /// Makes an existing store root-only (the root is enough to close it;
    /// the others follow at the next change) without creating it.
    fn secure_existing(&self) -> Result<()> {
        let root = &self.layout.root;
        if root.is_dir() {
            minipod_linux::private_fs::private_dir(root).map_err(Error::store(root))?;
        }
        Ok(())
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.layout.root
    }

    /// The stored blob with this digest, if the store has it (verified when
    /// it was imported): a pull need not download it again.
    pub fn blob_path(&self, digest: &Digest) -> Option<PathBuf> {
        let path = self.layout.blob(digest);
        path.is_file().then_some(path)
    }

    /// Imports the image(s) of an OCI image layout (directory or tar) or a
    /// `docker save` archive. With `name`, the archive must hold one image
    /// and it is recorded under that name only; without, under the names the
    /// archive gives. All or nothing: on error the store is as it was.
    pub fn import(&self, path: &Path, name: Option<&str>) -> Result<ImportReport> {
        let name = name.map(ImageName::parse).transpose()?;
        let _lock = self.lock(LockMode::Exclusive)?;
        self.clear_tmp()?;
        let mut staging = Staging::new(&self.layout, self.limits)?;
        let source = Source::open(path, &staging.scratch(), &self.limits)?;
        let mut images = archive::read_images(&source, &mut staging, archive::host_architecture())?;
        assign_names(&mut images, name, source.shown())?;

        let mut keep = HashSet::new();
        for image in &images {
            keep.insert(image.manifest.clone());
            keep.insert(image.config.clone());
            keep.extend(image.layers.iter().map(|l| l.blob.clone()));
        }
        let mut records = self.read_records()?;
        let (new_blobs, new_layers) = staging.commit(&keep)?;
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut imported = Vec::new();
        for image in &images {
            let size = image.config_size + image.layers.iter().map(|l| l.size).sum::<u64>();
            for name in &image.names {
                let record = ImageRecord {
                    name: name.to_string(),
                    manifest: image.manifest.clone(),
                    config: image.config.clone(),
                    layers: image.layers.clone(),
                    size,
                    imported: now,
                };
                records.images.retain(|r| r.name != record.name);
                records.images.push(record);
                imported.push(Imported {
                    name: name.to_string(),
                    id: image.config.clone(),
                    manifest: image.manifest.clone(),
                    layers: image.layers.len(),
                });
            }
        }
        self.write_records(&mut records)?;
        Ok(ImportReport {
            images: imported,
            new_blobs,
            new_layers,
        })
    }

    /// Every image record, sorted by name.
    pub fn list(&self) -> Result<Vec<ImageRecord>> {
        let _lock = self.lock_shared()?;
        Ok(self.read_records()?.images)
    }

    /// The record for `name` (normalised first), if any. A `name@sha256:...`
    /// also finds an image of that repository whose manifest has that digest.
    pub fn get(&self, name: &str) -> Result<Option<ImageRecord>> {
        let wanted = ImageName::parse(name)?;
        let _lock = self.lock_shared()?;
        let records = self.read_records()?;
        Ok(find(&records.images, &wanted).next().cloned())
    }

    /// What the runtime needs to run `name`: the image's defaults and its
    /// layer directories, lowest first.
    pub fn resolve(&self, name: &str) -> Result<ResolvedImage> {
        let wanted = ImageName::parse(name)?;
        let _lock = self.lock_shared()?;
        let records = self.read_records()?;
        let record = find(&records.images, &wanted)
            .next()
            .ok_or_else(|| self.not_found(&wanted))?;
        let config_path = self.layout.blob(&record.config);
        let bytes = read_limited(&config_path, self.limits.json_bytes)?;
        if Digest::of(&bytes) != record.config {
            return Err(Error::Damaged {
                path: config_path,
                reason: "the image config does not match its digest".into(),
            });
        }
        let config = serde_json::from_slice(&bytes).map_err(|e| Error::Damaged {
            path: config_path.clone(),
            reason: format!("the image config does not parse: {e}"),
        })?;
        let mut layers = Vec::new();
        for layer in &record.layers {
            let dir = self.layout.layer(&layer.diff_id);
            if !dir.is_dir() {
                return Err(Error::Damaged {
                    path: dir,
                    reason: format!("layer of {} is missing", record.name),
                });
            }
            layers.push(dir);
        }
        Ok(ResolvedImage {
            name: record.name.clone(),
            id: record.config.clone(),
            manifest: record.manifest.clone(),
            defaults: image_defaults(&config),
            layers,
        })
    }

    /// Removes the name(s) `name` stands for, then every blob and layer no
    /// other image uses.
    pub fn remove(&self, name: &str) -> Result<Removed> {
        let wanted = ImageName::parse(name)?;
        if !self.layout.root.is_dir() {
            return Err(self.not_found(&wanted));
        }
        let _lock = self.lock(LockMode::Exclusive)?;
        let mut records = self.read_records()?;
        let names: Vec<String> = find(&records.images, &wanted)
            .map(|r| r.name.clone())
            .collect();
        if names.is_empty() {
            return Err(self.not_found(&wanted));
        }
        records.images.retain(|r| !names.contains(&r.name));
        self.write_records(&mut records)?;
        let mut removed = self.collect_garbage(&records)?;
        removed.names = names;
        Ok(removed)
    }

    /// Deletes every blob and layer no record uses, and anything left in
    /// `tmp/` by an import that was killed.
    pub fn gc(&self) -> Result<Removed> {
        if !self.layout.root.is_dir() {
            return Ok(Removed::default());
        }
        let _lock = self.lock(LockMode::Exclusive)?;
        let records = self.read_records()?;
        self.collect_garbage(&records)
    }

    fn not_found(&self, name: &ImageName) -> Error {
        Error::NotFound {
            name: name.to_string(),
            root: self.layout.root.clone(),
        }
    }

    /// `flock(2)` on `<root>/lock`: exclusive around every change, shared
    /// around reads, so two minipod processes never see each other half-done.
    /// (Threads of one process lock too: each opens its own descriptor.)
    /// Every change makes the store root-only first ([`Store::prepare`]).
    fn lock(&self, mode: LockMode) -> Result<FileLock> {
        self.prepare()?;
        let path = self.layout.lock();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(Error::store(&path))?;
        FileLock::lock(file, mode).map_err(Error::store(path))
    }

    /// A shared lock when the store exists (an absent store is just empty,
    /// and reading it must not create it).
    fn lock_shared(&self) -> Result<Option<FileLock>> {
        self.secure_existing()?;
        let path = self.layout.lock();
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !self.layout.root.is_dir() {
                    return Ok(None);
                }
                return self.lock(LockMode::Shared).map(Some);
            }
            Err(e) => return Err(Error::store(path)(e)),
        };
        FileLock::lock(file, LockMode::Shared)
            .map(Some)
            .map_err(Error::store(path))
    }

    fn read_records(&self) -> Result<Records> {
        let path = self.layout.records();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Records {
                    version: RECORDS_VERSION,
                    images: Vec::new(),
                });
            }
            Err(e) => return Err(Error::store(path)(e)),
        };
        let records: Records = serde_json::from_slice(&bytes).map_err(|e| Error::Damaged {
            path: path.clone(),
            reason: format!("does not parse: {e}"),
        })?;
        if records.version != RECORDS_VERSION {
            return Err(Error::Damaged {
                path,
                reason: format!(
                    "version {} (this minipod reads version {RECORDS_VERSION})",
                    records.version
                ),
            });
        }
        Ok(records)
    }

    /// Writes the records to a temporary file, syncs it and renames it over
    /// the old one: readers see the old records or the new, never a mix.
    fn write_records(&self, records: &mut Records) -> Result<()> {
        records.version = RECORDS_VERSION;
        records.images.sort_by(|a, b| a.name.cmp(&b.name));
        let path = self.layout.records();
        let tmp = self.layout.root.join("images.json.tmp");
        let mut bytes = serde_json::to_vec_pretty(records).map_err(|e| Error::Damaged {
            path: path.clone(),
            reason: format!("cannot be written: {e}"),
        })?;
        bytes.push(b'\n');
        let write = || -> io::Result<()> {
            let mut file = File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()
        };
        write().map_err(Error::store(&tmp))?;
        fs::rename(&tmp, &path).map_err(Error::store(&path))
    }

    fn clear_tmp(&self) -> Result<()> {
        let tmp = self.layout.tmp();
        let entries = match fs::read_dir(&tmp) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::store(tmp)(e)),
        };
        for entry in entries {
            let path = entry.map_err(Error::store(&tmp))?.path();
            tracing::info!(path = %path.display(), "removing what an interrupted import left");
            let result = if path.is_dir() && !path.is_symlink() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            result.map_err(Error::store(&path))?;
        }
        Ok(())
    }

    /// Under the exclusive lock: deletes what `records` does not use.
    fn collect_garbage(&self, records: &Records) -> Result<Removed> {
        let mut blobs = HashSet::new();
        let mut layers = HashSet::new();
        for record in &records.images {
            blobs.insert(record.manifest.hex().to_owned());
            blobs.insert(record.config.hex().to_owned());
            for layer in &record.layers {
                blobs.insert(layer.blob.hex().to_owned());
                layers.insert(layer.diff_id.hex().to_owned());
            }
        }
        let removed = Removed {
            names: Vec::new(),
            blobs: remove_unused(&self.layout.blobs_dir(), &blobs)?,
            layers: remove_unused(&self.layout.layers_dir(), &layers)?,
        };
        self.clear_tmp()?;
        Ok(removed)
    }
}

/// The records `wanted` names: the exact name, or for `repo@sha256:...`
/// the records of that repository with that manifest.
fn find<'r>(
    records: &'r [ImageRecord],
    wanted: &ImageName,
) -> impl Iterator<Item = &'r ImageRecord> {
    let exact = wanted.to_string();
    let has_exact = records.iter().any(|r| r.name == exact);
    let repository = wanted.repository();
    let pinned = wanted.digest().cloned();
    records.iter().filter(move |r| {
        if has_exact {
            return r.name == exact;
        }
        match &pinned {
            Some(digest) => {
                r.manifest == *digest
                    && ImageName::parse(&r.name).is_ok_and(|n| n.repository() == repository)
            }
            None => false,
        }
    })
}

fn assign_names(images: &mut [StagedImage], name: Option<ImageName>, shown: &str) -> Result<()> {
    match name {
        Some(name) => {
            let [image] = images else {
                return Err(Error::Ambiguous {
                    location: shown.to_owned(),
                    count: images.len(),
                });
            };
            if let Some(pinned) = name.digest()
                && *pinned != image.manifest
            {
                return Err(Error::PinnedDigest {
                    name: name.to_string(),
                    pinned: pinned.clone(),
                    actual: image.manifest.clone(),
                });
            }
            image.names = vec![name];
        }
        None => {
            if images.iter().any(|i| i.names.is_empty()) {
                return Err(Error::Unnamed {
                    location: shown.to_owned(),
                });
            }
        }
    }
    Ok(())
}

fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let len = fs::metadata(path).map_err(Error::store(path))?.len();
    if len > limit {
        return Err(Error::Damaged {
            path: path.to_path_buf(),
            reason: format!(
                "{len} bytes, more than an image config may have (the store's json_bytes limit is {limit})"
            ),
        });
    }
    fs::read(path).map_err(Error::store(path))
}

/// Deletes the digest-named entries of `dir` not in `used`; returns how many.
fn remove_unused(dir: &Path, used: &HashSet<String>) -> Result<usize> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::store(dir)(e)),
    };
    let mut count = 0;
    for entry in entries {
        let entry = entry.map_err(Error::store(dir))?;
        let name = entry.file_name();
        let Some(hex) = name.to_str().filter(|n| Digest::from_hex(n).is_some()) else {
            continue;
        };
        if used.contains(hex) {
            continue;
        }
        let path = entry.path();
        let file_type = entry.file_type().map_err(Error::store(&path))?;
        let result = if file_type.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        result.map_err(Error::store(&path))?;
        count += 1;
    }
    Ok(count)
}
