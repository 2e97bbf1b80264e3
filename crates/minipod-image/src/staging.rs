//! An import in progress: blobs copied and verified, layers extracted and
//! verified, all inside one scratch directory under the store's `tmp/`.
//!
//! Nothing reaches the store's `blobs/` or `layers/` before the whole import
//! has been verified; then [`Staging::commit`] renames each new blob and layer
//! into place (same file system, so each appears at once, whole). If the
//! import fails, dropping the `Staging` removes the scratch directory and
//! with it everything the import wrote.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::compression::decompress;
use crate::digest::{Digest, HashingReader, HashingWriter};
use crate::error::{Error, Result};
use crate::extract::{ExtractError, unpack_layer};
use crate::layout::Layout;
use crate::limits::{CappedReader, Limits, json_too_big};
use crate::source::Source;

/// A blob that is verified and available (staged, or already in the store).
#[derive(Debug, Clone)]
pub(crate) struct Blob {
    pub digest: Digest,
    pub size: u64,
}

/// The scratch state of one import.
#[derive(Debug)]
pub(crate) struct Staging<'a> {
    layout: &'a Layout,
    limits: Limits,
    dir: TempDir,
    /// Every blob this import can use, staged or already stored.
    blobs: HashMap<Digest, PathBuf>,
    new_blobs: Vec<Digest>,
    /// Every layer (by diff_id) this import can use, staged or already stored.
    layers: HashSet<Digest>,
    new_layers: Vec<Digest>,
    counter: u64,
}

impl<'a> Staging<'a> {
    /// A fresh scratch directory under the store's `tmp/`.
    pub(crate) fn new(layout: &'a Layout, limits: Limits) -> Result<Staging<'a>> {
        let tmp = layout.tmp();
        let dir = tempfile::Builder::new()
            .prefix("import-")
            .tempdir_in(&tmp)
            .map_err(Error::store(&tmp))?;
        for sub in ["blobs", "layers", "scratch"] {
            let path = dir.path().join(sub);
            fs::create_dir(&path).map_err(Error::store(&path))?;
        }
        Ok(Staging {
            layout,
            limits,
            dir,
            blobs: HashMap::new(),
            new_blobs: Vec::new(),
            layers: HashSet::new(),
            new_layers: Vec::new(),
            counter: 0,
        })
    }

    /// The store's caps.
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Where the input may be decompressed.
    pub(crate) fn scratch(&self) -> PathBuf {
        self.dir.path().join("scratch")
    }

    /// Makes the blob at `member` available, verified: its sha256 must be
    /// `expected` (when the reference names one) and its size `size` (when a
    /// descriptor gives one). A blob the store already holds is not copied.
    /// A JSON document (`json`) may not be over the store's `json_bytes`:
    /// that is checked against the declared size before a byte is copied,
    /// and against the bytes themselves while they are.
    pub(crate) fn blob(
        &mut self,
        source: &Source,
        member: &str,
        what: &str,
        expected: Option<&Digest>,
        size: Option<u64>,
        json: bool,
    ) -> Result<Blob> {
        let location = || source.location(member);
        let json_bytes = self.limits.json_bytes;
        let cap = json.then_some(json_bytes);
        let too_big = |bytes: u64| Error::Invalid {
            location: location(),
            reason: json_too_big(what, bytes, json_bytes),
        };
        if let (Some(cap), Some(size)) = (cap, size)
            && size > cap
        {
            return Err(too_big(size));
        }
        if let Some(digest) = expected
            && let Some(path) = self.known_blob(digest)
        {
            let actual = fs::metadata(&path).map_err(Error::store(&path))?.len();
            if let Some(expected_size) = size.filter(|s| *s != actual) {
                return Err(Error::SizeMismatch {
                    location: location(),
                    what: what.into(),
                    expected: expected_size,
                    actual,
                });
            }
            return Ok(Blob {
                digest: digest.clone(),
                size: actual,
            });
        }
        let (reader, member_size) = source.open_member(member)?;
        if let Some(cap) = cap
            && member_size > cap
        {
            return Err(too_big(member_size));
        }
        // One byte more than the descriptor (or the cap) allows is enough to know it is too long.
        let limit = size.or(cap).map_or(u64::MAX, |s| s.saturating_add(1));
        let (digest, actual, staged) = self.copy_in(reader.take(limit)).map_err(|e| match e {
            CopyError::Read(failure) => Error::Input {
                location: location(),
                failure,
            },
            CopyError::Store(e) => e,
        })?;
        let discard = |staged: &Path| {
            let _ = fs::remove_file(staged);
        };
        if let Some(cap) = cap.filter(|c| actual > *c) {
            discard(&staged);
            return Err(too_big(actual.max(cap)));
        }
        if let Some(expected_size) = size.filter(|s| *s != actual) {
            discard(&staged);
            return Err(Error::SizeMismatch {
                location: location(),
                what: what.into(),
                expected: expected_size,
                actual,
            });
        }
        if let Some(expected) = expected.filter(|e| **e != digest) {
            discard(&staged);
            return Err(Error::DigestMismatch {
                location: location(),
                what: what.into(),
                expected: expected.clone(),
                actual: digest,
            });
        }
        self.keep(&digest, &staged)?;
        Ok(Blob {
            digest,
            size: actual,
        })
    }

    /// Makes a blob of `bytes` (a manifest minipod wrote) available.
    pub(crate) fn blob_from_bytes(&mut self, bytes: &[u8]) -> Result<Blob> {
        let scratch = self.dir.path().to_path_buf();
        let (digest, size, staged) = self.copy_in(bytes).map_err(|e| match e {
            CopyError::Read(source) => Error::Store {
                path: scratch,
                source,
            },
            CopyError::Store(e) => e,
        })?;
        self.keep(&digest, &staged)?;
        Ok(Blob { digest, size })
    }

    /// Reads a verified JSON blob whole, refusing one over the store's
    /// `json_bytes`.
    pub(crate) fn read_json_blob(
        &self,
        blob: &Blob,
        what: &str,
        location: &str,
    ) -> Result<Vec<u8>> {
        if blob.size > self.limits.json_bytes {
            return Err(Error::Invalid {
                location: location.into(),
                reason: json_too_big(what, blob.size, self.limits.json_bytes),
            });
        }
        let path = self.blob_path(&blob.digest)?;
        fs::read(&path).map_err(Error::store(path))
    }

    /// The first bytes of a verified blob (to recognise its compression).
    pub(crate) fn blob_head(&self, blob: &Blob) -> Result<Vec<u8>> {
        let path = self.blob_path(&blob.digest)?;
        let mut head = Vec::with_capacity(8);
        File::open(&path)
            .and_then(|f| f.take(8).read_to_end(&mut head))
            .map_err(Error::store(path))?;
        Ok(head)
    }

    /// Makes the layer with `diff_id` available: extracts the verified blob
    /// `blob` unless the store or this import already has that layer, and
    /// checks that the uncompressed stream has digest `diff_id`.
    pub(crate) fn layer(&mut self, blob: &Blob, diff_id: &Digest, index: usize) -> Result<()> {
        if self.layers.contains(diff_id) {
            return Ok(());
        }
        if self.layout.layer(diff_id).is_dir() {
            self.layers.insert(diff_id.clone());
            return Ok(());
        }
        let layer_error = |source| Error::Layer {
            layer: blob.digest.clone(),
            source,
        };
        let partial = self
            .dir
            .path()
            .join("layers")
            .join(format!("{}.partial", diff_id.hex()));
        fs::create_dir(&partial).map_err(Error::store(&partial))?;
        let blob_path = self.blob_path(&blob.digest)?;
        let file = File::open(&blob_path).map_err(Error::store(&blob_path))?;
        let (_, stream) =
            decompress(BufReader::new(file)).map_err(|e| layer_error(ExtractError::Stream(e)))?;
        // The cap counts every uncompressed byte as it is read, the tail
        // after the tar's end marker too (it is hashed: the diff_id covers
        // it). A bomb stops at the cap, a few seconds in, its partial
        // directory removed with the import's scratch directory.
        let exceeded = Cell::new(false);
        let bytes_cap = self.limits.layer_bytes_cap();
        let capped = CappedReader::new(stream, bytes_cap, &exceeded);
        let mut hashing = HashingReader::new(capped);
        let over_cap = |e: ExtractError| {
            if exceeded.get() {
                ExtractError::Cap(bytes_cap)
            } else {
                e
            }
        };
        unpack_layer(&mut hashing, &partial, self.limits.layer_entries_cap())
            .map_err(|e| layer_error(over_cap(e)))?;
        let (actual, _) = hashing
            .finish()
            .map_err(|e| layer_error(over_cap(ExtractError::Stream(e))))?;
        if actual != *diff_id {
            return Err(Error::DiffIdMismatch {
                layer: blob.digest.clone(),
                index,
                expected: diff_id.clone(),
                actual,
            });
        }
        let done = self.dir.path().join("layers").join(diff_id.hex());
        fs::rename(&partial, &done).map_err(Error::store(&done))?;
        self.layers.insert(diff_id.clone());
        self.new_layers.push(diff_id.clone());
        Ok(())
    }

    /// Moves the new blobs in `keep_blobs` and every new layer into the
    /// store. Returns how many blobs and layers were new.
    pub(crate) fn commit(self, keep_blobs: &HashSet<Digest>) -> Result<(usize, usize)> {
        let mut moved = (0, 0);
        for dir in [self.layout.blobs_dir(), self.layout.layers_dir()] {
            fs::create_dir_all(&dir).map_err(Error::store(&dir))?;
        }
        for digest in self.new_blobs.iter().filter(|d| keep_blobs.contains(*d)) {
            let to = self.layout.blob(digest);
            fs::rename(self.dir.path().join("blobs").join(digest.hex()), &to)
                .map_err(Error::store(&to))?;
            moved.0 += 1;
        }
        for diff_id in &self.new_layers {
            let to = self.layout.layer(diff_id);
            fs::rename(self.dir.path().join("layers").join(diff_id.hex()), &to)
                .map_err(Error::store(&to))?;
            moved.1 += 1;
        }
        Ok(moved)
    }

    fn known_blob(&mut self, digest: &Digest) -> Option<PathBuf> {
        if let Some(path) = self.blobs.get(digest) {
            return Some(path.clone());
        }
        let stored = self.layout.blob(digest);
        if stored.is_file() {
            self.blobs.insert(digest.clone(), stored.clone());
            return Some(stored);
        }
        None
    }

    fn blob_path(&self, digest: &Digest) -> Result<PathBuf> {
        self.blobs
            .get(digest)
            .cloned()
            .ok_or_else(|| Error::Damaged {
                path: self.dir.path().to_path_buf(),
                reason: format!("blob {digest} was not staged"),
            })
    }

    /// Copies `reader` into a new scratch file, hashing it.
    fn copy_in(&mut self, mut reader: impl Read) -> Result<(Digest, u64, PathBuf), CopyError> {
        self.counter += 1;
        let staged = self
            .dir
            .path()
            .join(format!("blobs/incoming-{}", self.counter));
        let file = File::create(&staged).map_err(|e| CopyError::Store(Error::store(&staged)(e)))?;
        let mut writer = HashingWriter::new(file);
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(CopyError::Read(e)),
            };
            io::Write::write_all(&mut writer, &buf[..n])
                .map_err(|e| CopyError::Store(Error::store(&staged)(e)))?;
        }
        let (digest, size, _) = writer.finish();
        Ok((digest, size, staged))
    }

    /// Files a verified scratch copy under its digest (or drops it when the
    /// blob is already known).
    fn keep(&mut self, digest: &Digest, staged: &Path) -> Result<()> {
        if self.known_blob(digest).is_some() {
            fs::remove_file(staged).map_err(Error::store(staged))?;
            return Ok(());
        }
        let path = self.dir.path().join("blobs").join(digest.hex());
        fs::rename(staged, &path).map_err(Error::store(&path))?;
        self.blobs.insert(digest.clone(), path);
        self.new_blobs.push(digest.clone());
        Ok(())
    }
}

enum CopyError {
    Read(io::Error),
    Store(Error),
}
