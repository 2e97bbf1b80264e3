//! sha256 digests, the only algorithm the store accepts, and a reader and a
//! writer that compute one while the data flows through them.
//!
//! A digest is also a file name in the store (`blobs/sha256/<hex>`,
//! `layers/sha256/<hex>`), so parsing is strict: exactly 64 lowercase hex
//! digits. A digest taken from a manifest can never name `..` or a path.

use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// A `sha256:<64 lowercase hex digits>` content digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest {
    hex: String,
}

/// A string that is not a sha256 digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// Another algorithm (`sha512:...`): valid OCI, not supported here.
    #[error("digest {0:?}: unsupported algorithm (only sha256 is supported)")]
    Unsupported(String),
    /// Not `algorithm:hex` at all, or the hex part is wrong.
    #[error("digest {0:?}: expected sha256:<64 lowercase hex digits>")]
    Invalid(String),
}

impl Digest {
    /// Parses `sha256:<hex>`.
    pub fn parse(text: &str) -> Result<Digest, DigestError> {
        let Some((algorithm, hex)) = text.split_once(':') else {
            return Err(DigestError::Invalid(text.to_owned()));
        };
        if algorithm != "sha256" {
            let known = algorithm
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            return Err(if known && !algorithm.is_empty() {
                DigestError::Unsupported(text.to_owned())
            } else {
                DigestError::Invalid(text.to_owned())
            });
        }
        Digest::from_hex(hex).ok_or_else(|| DigestError::Invalid(text.to_owned()))
    }

    /// The digest whose hex part is `hex`, if that is 64 lowercase hex digits.
    pub fn from_hex(hex: &str) -> Option<Digest> {
        let valid = hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| Digest {
            hex: hex.to_owned(),
        })
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest {
            hex: hex::encode(Sha256::digest(bytes)),
        }
    }

    /// The 64 hex digits, without `sha256:` (a file name in the store).
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The first 12 hex digits, as `docker images` and `crictl images` show an ID.
    pub fn short(&self) -> &str {
        &self.hex[..12]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Digest, DigestError> {
        Digest::parse(s)
    }
}

impl TryFrom<String> for Digest {
    type Error = DigestError;
    fn try_from(s: String) -> Result<Digest, DigestError> {
        Digest::parse(&s)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.to_string()
    }
}

/// Passes reads through and hashes every byte read.
#[derive(Debug)]
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Reads what is left (so the digest covers the whole stream) and
    /// returns the digest and the number of bytes.
    pub(crate) fn finish(mut self) -> io::Result<(Digest, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((
            Digest {
                hex: hex::encode(self.hasher.finalize()),
            },
            self.count,
        ))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Passes writes through and hashes every byte written.
#[derive(Debug)]
pub(crate) struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// The digest and size of what was written, and the inner writer.
    pub(crate) fn finish(self) -> (Digest, u64, W) {
        let digest = Digest {
            hex: hex::encode(self.hasher.finalize()),
        };
        (digest, self.count, self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn digest_of_empty_input_is_the_well_known_one() {
        assert_eq!(Digest::of(b"").hex(), EMPTY);
        assert_eq!(Digest::of(b"").to_string(), format!("sha256:{EMPTY}"));
        assert_eq!(Digest::of(b"").short(), &EMPTY[..12]);
    }

    #[test]
    fn parse_accepts_only_sha256_with_64_lowercase_hex_digits() {
        assert!(Digest::parse(&format!("sha256:{EMPTY}")).is_ok());
        for bad in [
            "",
            "sha256",
            "sha256:",
            "sha256:abc",
            &format!("sha256:{}", EMPTY.to_uppercase()),
            &format!("sha256:{EMPTY}0"),
            "sha256:../../../../etc/passwd",
            &format!("SHA256:{EMPTY}"),
            &format!(":{EMPTY}"),
        ] {
            assert!(
                matches!(Digest::parse(bad), Err(DigestError::Invalid(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Digest::parse(&format!("sha512:{EMPTY}{EMPTY}")),
            Err(DigestError::Unsupported(_))
        ));
    }

    #[test]
    fn serde_round_trips_as_a_string() {
        let d = Digest::of(b"x");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{d}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
        assert!(serde_json::from_str::<Digest>("\"sha256:zz\"").is_err());
    }

    #[test]
    fn hashing_reader_and_writer_agree_with_digest_of() {
        let data = b"hello layers".repeat(1000);
        let mut reader = HashingReader::new(&data[..]);
        let mut first = [0u8; 10];
        reader.read_exact(&mut first).unwrap();
        let (digest, count) = reader.finish().unwrap();
        assert_eq!(digest, Digest::of(&data));
        assert_eq!(count, data.len() as u64);

        let mut writer = HashingWriter::new(Vec::new());
        writer.write_all(&data).unwrap();
        let (digest, count, inner) = writer.finish();
        assert_eq!(digest, Digest::of(&data));
        assert_eq!(count, data.len() as u64);
        assert_eq!(inner, data);
    }
}
