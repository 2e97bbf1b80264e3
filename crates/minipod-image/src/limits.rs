//! How much work one import may cost: the caps that make a small hostile
//! input (a "decompression bomb", a huge manifest) fail early instead of
//! filling the disk or the memory.
//!
//! Every cap is enforced **while reading**: a layer stream is counted as it
//! is decompressed ([`CappedReader`]), entries as they are extracted, and a
//! JSON document's size is checked before a byte of it is copied. A layer
//! that goes over a cap fails its import like any bad layer: its partial
//! directory is removed with the import's scratch directory, and the store
//! is left as it was.
//!
//! The defaults are generous on purpose: they must never refuse a real
//! image, only an absurd one.
//! * `layer_bytes` 16 GiB and `layer_entries` 2^20: the biggest layers of
//!   real images (CUDA, PyTorch, Android SDKs) are a few GiB and a few
//!   hundred thousand files. Docker, containerd and podman set no cap at all;
//!   they rely on the disk filling up. A cap turns that into a clear error.
//! * `json_bytes` 4 MiB: containerd and Docker refuse manifests over 4 MiB
//!   (`MaxManifestSize`, `maxManifestBodySize`). Indexes, `manifest.json`
//!   and image configs (a few KiB in practice) get the same cap here.
//! * `archive_bytes` 64 GiB: a compressed archive (`docker save | gzip`)
//!   is decompressed once into the import's scratch directory before it is
//!   read; it holds all the layers of its images.

use std::cell::Cell;
use std::io::{self, Read};

/// The caps of one store (see the module documentation for the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Uncompressed bytes of one layer (its whole tar stream).
    pub layer_bytes: u64,
    /// Tar entries in one layer.
    pub layer_entries: u64,
    /// Bytes of one JSON document: `oci-layout`, `index.json`,
    /// `manifest.json`, an image index, manifest or config.
    pub json_bytes: u64,
    /// Bytes of a compressed archive once decompressed.
    pub archive_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            layer_bytes: 16 << 30,
            layer_entries: 1 << 20,
            json_bytes: 4 << 20,
            archive_bytes: 64 << 30,
        }
    }
}

/// The error a [`CappedReader`] returns once its cap is passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("more than {limit} {unit} (the store's {option} limit)")]
pub struct CapExceeded {
    /// The cap.
    pub limit: u64,
    /// What it counts: `bytes once uncompressed`, `tar entries`.
    pub unit: &'static str,
    /// Which option of [`Limits`] it is.
    pub option: &'static str,
}

impl Limits {
    /// The cap on a layer's uncompressed bytes.
    pub fn layer_bytes_cap(&self) -> CapExceeded {
        CapExceeded {
            limit: self.layer_bytes,
            unit: "bytes once uncompressed",
            option: "layer_bytes",
        }
    }

    /// The cap on a layer's tar entries.
    pub fn layer_entries_cap(&self) -> CapExceeded {
        CapExceeded {
            limit: self.layer_entries,
            unit: "tar entries",
            option: "layer_entries",
        }
    }

    /// The cap on a compressed archive, once decompressed.
    pub fn archive_bytes_cap(&self) -> CapExceeded {
        CapExceeded {
            limit: self.archive_bytes,
            unit: "bytes once uncompressed",
            option: "archive_bytes",
        }
    }
}

/// A reader that fails (with [`CapExceeded`]) as soon as more than `limit`
/// bytes come through it, and notes that it did in `exceeded`, so that the
/// caller recognises the failure even after a tar parser has wrapped it.
pub(crate) struct CappedReader<'a, R> {
    inner: R,
    remaining: u64,
    cap: CapExceeded,
    exceeded: &'a Cell<bool>,
}

impl<'a, R: Read> CappedReader<'a, R> {
    pub(crate) fn new(inner: R, cap: CapExceeded, exceeded: &'a Cell<bool>) -> Self {
        CappedReader {
            inner,
            remaining: cap.limit,
            cap,
            exceeded,
        }
    }
}

impl<R: Read> Read for CappedReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.remaining == 0 {
            // At the cap: one more byte means too many (exactly `limit` is fine).
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => {
                    self.exceeded.set(true);
                    Err(io::Error::other(self.cap))
                }
            };
        }
        let len = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..len])?;
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Why a JSON document is refused for its size.
pub(crate) fn json_too_big(what: &str, bytes: u64, limit: u64) -> String {
    format!(
        "{what} of {bytes} bytes refused: a JSON document may have at most {limit} bytes (the store's json_bytes limit)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_capped(data: &[u8], limit: u64) -> (io::Result<Vec<u8>>, bool) {
        let exceeded = Cell::new(false);
        let cap = Limits {
            layer_bytes: limit,
            ..Limits::default()
        }
        .layer_bytes_cap();
        let mut out = Vec::new();
        let result = CappedReader::new(data, cap, &exceeded)
            .read_to_end(&mut out)
            .map(|_| out);
        (result, exceeded.get())
    }

    #[test]
    fn a_stream_up_to_the_cap_passes_one_byte_more_fails() {
        let (ok, exceeded) = read_capped(b"12345", 5);
        assert_eq!(ok.unwrap(), b"12345");
        assert!(!exceeded);
        let (err, exceeded) = read_capped(b"123456", 5);
        let err = err.unwrap_err();
        assert!(exceeded);
        assert_eq!(
            err.to_string(),
            "more than 5 bytes once uncompressed (the store's layer_bytes limit)"
        );
    }

    #[test]
    fn the_defaults_are_the_documented_ones() {
        let limits = Limits::default();
        assert_eq!(limits.layer_bytes, 16 * 1024 * 1024 * 1024);
        assert_eq!(limits.layer_entries, 1_048_576);
        assert_eq!(limits.json_bytes, 4 * 1024 * 1024);
        assert_eq!(limits.archive_bytes, 64 * 1024 * 1024 * 1024);
    }
}
