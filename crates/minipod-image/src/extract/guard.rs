//! A bound on the tar records the tar crate keeps in memory whole.
//!
//! A GNU long name (`L`) or long link (`K`) and a PAX header (`x`, `g`) are
//! read into one buffer before the entry they describe, whatever size their
//! header announces: a 2 MiB gzip layer holding a "long name" of 2 GiB of
//! zeros would cost 2 GiB of memory before any check of ours runs. This
//! reader sits under the tar parser, follows the headers as the bytes pass,
//! and fails as soon as such a record announces more than
//! [`MAX_EXTENSION_BYTES`].
//!
//! It follows a header only if its checksum is right, and reads the `size`
//! a PAX header gives the next entry (files over 8 GiB, as Go's
//! `archive/tar` writes them). Anything it cannot follow (a GNU sparse
//! entry's extra header blocks, say) makes it stop looking and pass bytes
//! through: it never refuses a layer it does not understand; the tar parser
//! then judges it as before, and `layer_bytes` still bounds it.

use std::cell::Cell;
use std::io::{self, Read};

use crate::limits::CapExceeded;

/// The most a long name, long link or PAX header may have: real ones are a
/// path or a few xattrs (a `user.*` xattr is at most 64 KiB).
pub const MAX_EXTENSION_BYTES: u64 = 1 << 20;

const BLOCK: usize = 512;

/// The cap this guard enforces, as an error.
pub fn extension_cap() -> CapExceeded {
    CapExceeded {
        limit: MAX_EXTENSION_BYTES,
        unit: "bytes in one GNU long name or PAX header",
        option: "fixed",
    }
}

enum State {
    /// Collecting the next header block (`filled` bytes so far).
    Header {
        block: Box<[u8; BLOCK]>,
        filled: usize,
    },
    /// Passing `remaining` bytes of an entry's data (padded to blocks);
    /// a PAX header's own records are kept to read its `size`.
    Data {
        remaining: u64,
        pax: Option<Vec<u8>>,
    },
    /// Lost track: pass everything through.
    Lost,
}

pub(super) struct ExtensionGuard<'a, R> {
    inner: R,
    state: State,
    /// The `size` a PAX header set for the next entry.
    pax_size: Option<u64>,
    tripped: &'a Cell<bool>,
}

impl<'a, R: Read> ExtensionGuard<'a, R> {
    pub(super) fn new(inner: R, tripped: &'a Cell<bool>) -> Self {
        ExtensionGuard {
            inner,
            state: header_state(),
            pax_size: None,
            tripped,
        }
    }

    fn follow(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            match &mut self.state {
                State::Lost => return Ok(()),
                State::Header { block, filled } => {
                    let n = (BLOCK - *filled).min(bytes.len());
                    block[*filled..*filled + n].copy_from_slice(&bytes[..n]);
                    *filled += n;
                    bytes = &bytes[n..];
                    if *filled == BLOCK {
                        let block = **block;
                        self.state = self.after_header(&block)?;
                    }
                }
                State::Data { remaining, pax } => {
                    let n = usize::try_from(*remaining).map_or(bytes.len(), |r| r.min(bytes.len()));
                    if let Some(records) = pax {
                        records.extend_from_slice(&bytes[..n]);
                    }
                    *remaining -= n as u64;
                    bytes = &bytes[n..];
                    if *remaining == 0 {
                        if let Some(records) = pax.take() {
                            self.pax_size = pax_size(&records);
                        }
                        self.state = header_state();
                    }
                }
            }
        }
        Ok(())
    }

    /// What follows a complete header block.
    fn after_header(&mut self, block: &[u8; BLOCK]) -> io::Result<State> {
        if block.iter().all(|b| *b == 0) {
            return Ok(header_state()); // end-of-archive (or padding) block
        }
        let Some(size) = checked_size(block) else {
            return Ok(State::Lost);
        };
        let kind = block[156];
        let extension = matches!(kind, b'L' | b'K' | b'x' | b'g');
        let size = if extension {
            if size > MAX_EXTENSION_BYTES {
                self.tripped.set(true);
                return Err(io::Error::other(extension_cap()));
            }
            size
        } else {
            self.pax_size.take().unwrap_or(size)
        };
        let padded = size.div_ceil(BLOCK as u64) * BLOCK as u64;
        if padded == 0 {
            return Ok(header_state());
        }
        let pax = (kind == b'x').then(Vec::new);
        Ok(State::Data {
            remaining: padded,
            pax,
        })
    }
}

impl<R: Read> Read for ExtensionGuard<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.follow(&buf[..n])?;
        Ok(n)
    }
}

fn header_state() -> State {
    State::Header {
        block: Box::new([0; BLOCK]),
        filled: 0,
    }
}

/// The header's size field, if its checksum is right.
fn checked_size(block: &[u8; BLOCK]) -> Option<u64> {
    let sum: u64 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    if octal(&block[148..156])? != sum {
        return None;
    }
    let size = &block[124..136];
    if size[0] & 0x80 != 0 {
        // GNU base-256: big-endian, the top bit of the first byte is the marker.
        return size[1..]
            .iter()
            .try_fold(u64::from(size[0] & 0x7f), |acc, b| {
                acc.checked_mul(256).map(|v| v | u64::from(*b))
            });
    }
    octal(size)
}

fn octal(field: &[u8]) -> Option<u64> {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    let text = std::str::from_utf8(&field[..end]).ok()?.trim();
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// The `size` record of PAX extended header records (`"LEN size=N\n"`).
fn pax_size(records: &[u8]) -> Option<u64> {
    let mut rest = records;
    let mut size = None;
    while let Some(space) = rest.iter().position(|b| *b == b' ') {
        let len: usize = std::str::from_utf8(&rest[..space]).ok()?.parse().ok()?;
        if len <= space || len > rest.len() {
            break;
        }
        let record = &rest[space + 1..len];
        if let Some(value) = record.strip_prefix(b"size=") {
            let value = value.strip_suffix(b"\n").unwrap_or(value);
            size = std::str::from_utf8(value).ok()?.parse().ok();
        }
        rest = &rest[len..];
    }
    size
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_through(bytes: &[u8]) -> (io::Result<u64>, bool) {
        let tripped = Cell::new(false);
        let mut guard = ExtensionGuard::new(bytes, &tripped);
        let result = io::copy(&mut guard, &mut io::sink());
        (result, tripped.get())
    }

    fn header(kind: tar::EntryType, name: &str, size: u64) -> Vec<u8> {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_path(name).unwrap();
        header.set_size(size);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_cksum();
        header.as_bytes().to_vec()
    }

    #[test]
    fn a_long_name_over_the_cap_is_refused_at_its_header() {
        let mut stream = header(tar::EntryType::GNULongName, "././@LongLink", 2 << 30);
        stream.extend_from_slice(&[0u8; 4096]);
        let (result, tripped) = read_through(&stream);
        assert!(tripped);
        assert_eq!(
            result.unwrap_err().to_string(),
            "more than 1048576 bytes in one GNU long name or PAX header (the store's fixed limit)"
        );
    }

    #[test]
    fn real_layers_pass_untouched() {
        // Long names, PAX records (with a size for the next file), big files.
        let mut builder = tar::Builder::new(Vec::new());
        let long = "d/".repeat(200) + "file";
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o644);
        builder.append_data(&mut h, &long, &b"abc"[..]).unwrap();
        builder
            .append_pax_extensions([("size", &b"70000"[..]), ("user.x", &b"y"[..])])
            .unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(70_000);
        h.set_mode(0o644);
        builder
            .append_data(&mut h, "big", &vec![7u8; 70_000][..])
            .unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(0);
        h.set_mode(0o644);
        builder.append_data(&mut h, "last", &b""[..]).unwrap();
        let tar = builder.into_inner().unwrap();
        let (result, tripped) = read_through(&tar);
        assert_eq!(result.unwrap(), tar.len() as u64);
        assert!(!tripped);
        // And the tar parser reads the same layer through it.
        let tripped = Cell::new(false);
        let mut archive = tar::Archive::new(ExtensionGuard::new(&tar[..], &tripped));
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, [long.as_str(), "big", "last"]);
    }

    #[test]
    fn pax_size_records_are_read() {
        assert_eq!(pax_size(b"13 size=1234\n"), Some(1234));
        assert_eq!(pax_size(b"12 user.a=b\n13 size=4321\n"), Some(4321));
        assert_eq!(pax_size(b"9 path=a\n"), None);
        assert_eq!(pax_size(b"garbage"), None);
    }
}
