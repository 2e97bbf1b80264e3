//! Layer compression, recognised by magic bytes.
//!
//! Media types say what a layer *should* be, but `docker save` archives often
//! hold plain `.tar` layers whatever the manifest says, so the first bytes
//! decide: gzip (`1f 8b`), zstd (`28 b5 2f fd`), otherwise a plain tar. bzip2
//! and xz (allowed by old Docker, never by OCI) are recognised only to be
//! refused by name.

use std::io::{self, BufRead, BufReader, Read};

use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};

/// How a stream is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip, possibly several members one after the other.
    Gzip,
    /// zstd, possibly several frames (and skippable frames, as zstd:chunked writes).
    Zstd,
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const BZIP2_MAGIC: &[u8] = b"BZh";
const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];

impl Compression {
    /// Recognises the compression from the first bytes of a stream.
    pub fn detect(head: &[u8]) -> Result<Compression, UnsupportedCompression> {
        if head.starts_with(GZIP_MAGIC) {
            Ok(Compression::Gzip)
        } else if head.starts_with(ZSTD_MAGIC) {
            Ok(Compression::Zstd)
        } else if head.starts_with(BZIP2_MAGIC) {
            Err(UnsupportedCompression("bzip2"))
        } else if head.starts_with(XZ_MAGIC) {
            Err(UnsupportedCompression("xz"))
        } else {
            Ok(Compression::None)
        }
    }

    /// The name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "tar",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// A compression this store cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} compression is not supported (only gzip, zstd and plain tar)")]
pub struct UnsupportedCompression(pub &'static str);

/// Wraps `reader` in the decompressor its first bytes ask for.
pub(crate) fn decompress<'a, R: Read + 'a>(
    reader: R,
) -> io::Result<(Compression, Box<dyn Read + 'a>)> {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let head = reader.fill_buf()?;
    let compression = Compression::detect(head).map_err(io::Error::other)?;
    let stream: Box<dyn Read + 'a> = match compression {
        Compression::None => Box::new(reader),
        Compression::Gzip => Box::new(Tagged {
            inner: flate2::bufread::MultiGzDecoder::new(reader),
            name: "gzip",
        }),
        Compression::Zstd => Box::new(Tagged {
            inner: ZstdFrames::new(reader),
            name: "zstd",
        }),
    };
    Ok((compression, stream))
}

/// A compressed stream the decompressor could not decode, in the
/// decompressor's own words (fixed messages such as "corrupt deflate
/// stream", never the data). Error messages may show it as it is
/// (`crate::problem::input_problem`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Corrupt(pub String);

/// Marks the decompressor's own errors as [`Corrupt`], so that they can be
/// told from a later parser's (which may quote the data).
struct Tagged<R> {
    inner: R,
    name: &'static str,
}

impl<R: Read> Read for Tagged<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if e.raw_os_error().is_some() || e.get_ref().is_some_and(|i| i.is::<Corrupt>()) {
                return e;
            }
            let message = e.to_string();
            let message = if message.starts_with(self.name) {
                message
            } else {
                format!("{}: {message}", self.name)
            };
            io::Error::new(e.kind(), Corrupt(message))
        })
    }
}

/// Decodes every zstd frame of a stream in turn (ruzstd's `StreamingDecoder`
/// stops after the first), skipping skippable frames.
struct ZstdFrames<R> {
    source: BufReader<R>,
    decoder: FrameDecoder,
    in_frame: bool,
}

impl<R: Read> ZstdFrames<R> {
    fn new(source: BufReader<R>) -> Self {
        ZstdFrames {
            source,
            decoder: FrameDecoder::new(),
            in_frame: false,
        }
    }
}

impl<R: Read> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.in_frame {
                if self.source.fill_buf()?.is_empty() {
                    return Ok(0);
                }
                match self.decoder.reset(&mut self.source) {
                    Ok(()) => self.in_frame = true,
                    Err(FrameDecoderError::ReadFrameHeaderError(
                        ReadFrameHeaderError::SkipFrame { length, .. },
                    )) => {
                        let skipped =
                            io::copy(&mut (&mut self.source).take(length.into()), &mut io::sink())?;
                        if skipped != u64::from(length) {
                            return Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "zstd: truncated skippable frame",
                            ));
                        }
                        continue;
                    }
                    Err(e) => return Err(io::Error::other(format!("zstd: {e}"))),
                }
            }
            while self.decoder.can_collect() < buf.len() && !self.decoder.is_finished() {
                let wanted = buf.len() - self.decoder.can_collect();
                self.decoder
                    .decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBytes(wanted))
                    .map_err(|e| io::Error::other(format!("zstd: {e}")))?;
            }
            let n = self.decoder.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            if self.decoder.is_finished() {
                self.in_frame = false;
                continue;
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "zstd: stream ended inside a frame",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zstd(data: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
    }

    fn read_all(bytes: &[u8]) -> (Compression, Vec<u8>) {
        let (compression, mut reader) = decompress(bytes).unwrap();
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        (compression, out)
    }

    #[test]
    fn detects_and_decodes_each_format() {
        let data = b"0123456789".repeat(20_000);
        assert_eq!(read_all(&data), (Compression::None, data.clone()));
        assert_eq!(read_all(&gzip(&data)), (Compression::Gzip, data.clone()));
        assert_eq!(read_all(&zstd(&data)), (Compression::Zstd, data.clone()));
        assert_eq!(read_all(b""), (Compression::None, Vec::new()));
    }

    #[test]
    fn decodes_concatenated_gzip_members_and_zstd_frames() {
        let (a, b) = (b"first part ".repeat(100), b"second part".repeat(100));
        let both = [a.clone(), b.clone()].concat();

        let gz = [gzip(&a), gzip(&b)].concat();
        assert_eq!(read_all(&gz).1, both);

        // A skippable frame (magic 0x184D2A50, 4 bytes of length, payload) between two frames.
        let mut skippable = vec![0x50, 0x2a, 0x4d, 0x18];
        skippable.extend_from_slice(&5u32.to_le_bytes());
        skippable.extend_from_slice(b"skip!");
        let zst = [zstd(&a), skippable, zstd(&b)].concat();
        assert_eq!(read_all(&zst).1, both);
    }

    #[test]
    fn refuses_bzip2_and_xz_by_name_and_truncated_zstd() {
        for (head, name) in [(&b"BZh91AY"[..], "bzip2"), (XZ_MAGIC, "xz")] {
            let err = decompress(head).err().unwrap();
            assert!(err.to_string().contains(name), "{err}");
        }
        let zst = zstd(&b"x".repeat(100_000));
        let (_, mut reader) = decompress(&zst[..zst.len() / 2]).unwrap();
        assert!(reader.read_to_end(&mut Vec::new()).is_err());
    }
}
