//! What an import reads from: a directory (an OCI image layout or an
//! unpacked `docker save`), or the same as a tar archive, plain, gzip or zstd.
//!
//! Members are named by their path inside the archive (`index.json`,
//! `blobs/sha256/<hex>`, `<id>/layer.tar`). A name can never leave the
//! archive: `..` may not climb above its root, and in a directory the
//! resolved file must still lie inside it after symlinks are followed (a
//! `layer.tar -> /etc/shadow` would otherwise import a host file).
//!
//! A tar is indexed once (member → offset and size) and members are read in
//! place with a seek; a compressed archive is first decompressed into the
//! import's scratch directory.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::compression::{Compression, decompress};
use crate::error::{Error, Result};
use crate::limits::{CappedReader, Limits, json_too_big};
use crate::problem::input_problem;

/// How many symlinks or hard links a member name may go through.
const MAX_LINK_HOPS: usize = 40;

/// An opened import input.
#[derive(Debug)]
pub(crate) struct Source {
    /// The path as given, for messages.
    shown: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Dir(PathBuf),
    Tar {
        file: PathBuf,
        members: HashMap<String, Member>,
    },
}

#[derive(Debug, Clone)]
enum Member {
    File { offset: u64, size: u64 },
    HardLink(String),
    Symlink(String),
    Dir,
}

impl Source {
    /// Opens `path`; a compressed tar is decompressed into `scratch`, up
    /// to the store's `archive_bytes`.
    pub(crate) fn open(path: &Path, scratch: &Path, limits: &Limits) -> Result<Source> {
        let shown = path.display().to_string();
        let input = |failure| Error::Input {
            location: shown.clone(),
            failure,
        };
        let meta = fs::metadata(path).map_err(input)?;
        if meta.is_dir() {
            let root = fs::canonicalize(path).map_err(input)?;
            return Ok(Source {
                shown,
                kind: Kind::Dir(root),
            });
        }
        let mut file = File::open(path).map_err(input)?;
        let mut head = [0u8; 8];
        let n = read_up_to(&mut file, &mut head).map_err(input)?;
        let compression = Compression::detect(&head[..n]).map_err(|e| Error::NotAnImage {
            location: shown.clone(),
            reason: e.to_string(),
        })?;
        let tar_path = if compression == Compression::None {
            path.to_path_buf()
        } else {
            let plain = scratch.join("input.tar");
            let (_, reader) = decompress(File::open(path).map_err(input)?).map_err(input)?;
            let exceeded = std::cell::Cell::new(false);
            let mut reader = CappedReader::new(reader, limits.archive_bytes_cap(), &exceeded);
            let mut out = File::create(&plain).map_err(Error::store(&plain))?;
            io::copy(&mut reader, &mut out).map_err(|failure| Error::Input {
                location: format!("{shown} ({})", compression.name()),
                failure,
            })?;
            plain
        };
        let members = index_tar(&tar_path).map_err(|e| Error::NotAnImage {
            location: shown.clone(),
            reason: format!(
                "not a directory nor a readable tar archive ({})",
                input_problem(&e)
            ),
        })?;
        Ok(Source {
            shown,
            kind: Kind::Tar {
                file: tar_path,
                members,
            },
        })
    }

    /// `archive:member` (or `dir/member`), for messages.
    pub(crate) fn location(&self, member: &str) -> String {
        match self.kind {
            Kind::Dir(_) => format!("{}/{member}", self.shown.trim_end_matches('/')),
            Kind::Tar { .. } => format!("{}:{member}", self.shown),
        }
    }

    /// The input as given, for messages.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// Whether the member exists (as a file, after links).
    pub(crate) fn exists(&self, member: &str) -> bool {
        match &self.kind {
            Kind::Dir(root) => self.dir_path(root, member).is_ok_and(|p| p.is_file()),
            Kind::Tar { members, .. } => resolve(members, member).is_some(),
        }
    }

    /// Opens a member for reading; returns it with its size.
    pub(crate) fn open_member(&self, member: &str) -> Result<(Box<dyn Read + '_>, u64)> {
        let location = self.location(member);
        let missing = || Error::Invalid {
            location: location.clone(),
            reason: "missing from the archive".into(),
        };
        let input = |failure| Error::Input {
            location: location.clone(),
            failure,
        };
        match &self.kind {
            Kind::Dir(root) => {
                let path = self.dir_path(root, member)?;
                let file = File::open(&path).map_err(|e| match e.kind() {
                    io::ErrorKind::NotFound => missing(),
                    _ => input(e),
                })?;
                let size = file.metadata().map_err(input)?.len();
                Ok((Box::new(BufReader::new(file)), size))
            }
            Kind::Tar { file, members } => {
                let (offset, size) = resolve(members, member).ok_or_else(missing)?;
                let mut f = File::open(file).map_err(input)?;
                f.seek(SeekFrom::Start(offset)).map_err(input)?;
                Ok((Box::new(BufReader::new(f).take(size)), size))
            }
        }
    }

    /// Reads a small member (a JSON document) whole, refusing one over
    /// `limit` bytes (the store's `json_bytes`) before reading it.
    pub(crate) fn read_small(&self, member: &str, limit: u64) -> Result<Vec<u8>> {
        let (reader, size) = self.open_member(member)?;
        if size > limit {
            return Err(Error::Invalid {
                location: self.location(member),
                reason: json_too_big(member, size, limit),
            });
        }
        let mut bytes = Vec::new();
        reader
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|failure| Error::Input {
                location: self.location(member),
                failure,
            })?;
        Ok(bytes)
    }

    /// The file for `member` inside the directory, refusing any way out of it.
    fn dir_path(&self, root: &Path, member: &str) -> Result<PathBuf> {
        let outside = || Error::Invalid {
            location: self.location(member),
            reason: "names a file outside the archive".into(),
        };
        let relative = normalize(member).ok_or_else(outside)?;
        let joined = root.join(&relative);
        match fs::canonicalize(&joined) {
            Ok(real) if real.starts_with(root) => Ok(real),
            Ok(_) => Err(outside()),
            // Missing: report it as such when it is opened.
            Err(_) => Ok(joined),
        }
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// `a/./b//c` → `a/b/c`; `a/../b` → `b`; `None` when `..` climbs above the root.
/// A leading `/` is taken as the archive root.
pub(crate) fn normalize(name: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

fn index_tar(path: &Path) -> io::Result<HashMap<String, Member>> {
    let mut archive = tar::Archive::new(BufReader::new(File::open(path)?));
    let mut members = HashMap::new();
    let mut count = 0usize;
    for entry in archive.entries()? {
        let entry = entry?;
        count += 1;
        let Ok(name) = std::str::from_utf8(&entry.path_bytes()).map(str::to_owned) else {
            continue;
        };
        let Some(name) = normalize(&name) else {
            continue;
        };
        let link = entry
            .link_name_bytes()
            .and_then(|l| std::str::from_utf8(&l).ok().map(str::to_owned));
        let member = match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => Member::File {
                offset: entry.raw_file_position(),
                size: entry.size(),
            },
            tar::EntryType::Directory => Member::Dir,
            tar::EntryType::Link => match link.as_deref().and_then(normalize) {
                Some(target) => Member::HardLink(target),
                None => continue,
            },
            tar::EntryType::Symlink => {
                // Relative to the link's directory; an absolute target to the archive root.
                let Some(target) = link else { continue };
                let base = match (target.starts_with('/'), name.rsplit_once('/')) {
                    (false, Some((dir, _))) => format!("{dir}/{target}"),
                    _ => target,
                };
                match normalize(&base) {
                    Some(target) => Member::Symlink(target),
                    None => continue,
                }
            }
            _ => continue,
        };
        members.insert(name, member);
    }
    if count == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "empty archive"));
    }
    Ok(members)
}

/// Follows hard links and symlinks to a file member: its offset and size.
fn resolve(members: &HashMap<String, Member>, name: &str) -> Option<(u64, u64)> {
    let mut current = normalize(name)?;
    for _ in 0..MAX_LINK_HOPS {
        match members.get(&current)? {
            Member::File { offset, size } => return Some((*offset, *size)),
            Member::HardLink(target) | Member::Symlink(target) => current = target.clone(),
            Member::Dir => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_keeps_names_inside_the_archive() {
        assert_eq!(normalize("./index.json").as_deref(), Some("index.json"));
        assert_eq!(normalize("a//b/./c").as_deref(), Some("a/b/c"));
        assert_eq!(normalize("a/../b").as_deref(), Some("b"));
        assert_eq!(normalize("/blobs/x").as_deref(), Some("blobs/x"));
        assert_eq!(normalize("../x"), None);
        assert_eq!(normalize("a/../../x"), None);
    }

    fn tar_with(entries: &[(&str, Option<&str>, &[u8])]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut builder = tar::Builder::new(file.reopen().unwrap());
        for (name, link, data) in entries {
            let mut header = tar::Header::new_gnu();
            match link {
                Some(target) => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_size(0);
                    builder.append_link(&mut header, name, target).unwrap();
                }
                None => {
                    header.set_size(data.len() as u64);
                    header.set_mode(0o644);
                    builder.append_data(&mut header, name, *data).unwrap();
                }
            }
        }
        builder.finish().unwrap();
        file
    }

    fn read(source: &Source, member: &str) -> Result<Vec<u8>> {
        source.read_small(member, 1 << 20)
    }

    #[test]
    fn tar_members_are_read_in_place_and_links_followed_inside_only() {
        let tar = tar_with(&[
            ("./manifest.json", None, b"[]"),
            ("abc/layer.tar", None, b"layer bytes"),
            ("def/layer.tar", Some("../abc/layer.tar"), b""),
            ("evil/layer.tar", Some("../../../etc/passwd"), b""),
        ]);
        let scratch = tempfile::tempdir().unwrap();
        let source = Source::open(tar.path(), scratch.path(), &Limits::default()).unwrap();
        assert_eq!(read(&source, "manifest.json").unwrap(), b"[]");
        assert_eq!(read(&source, "def/layer.tar").unwrap(), b"layer bytes");
        assert!(source.exists("abc/layer.tar"));
        assert!(!source.exists("evil/layer.tar"));
        assert!(!source.exists("nope"));
        let err = read(&source, "evil/layer.tar").unwrap_err();
        assert!(
            err.to_string().contains("missing from the archive"),
            "{err}"
        );
        let err = read(&source, "../x").unwrap_err();
        assert!(err.to_string().contains(":../x"), "{err}");
    }

    #[test]
    fn directory_members_cannot_leave_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("index.json"), b"{}").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("escape")).unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let source = Source::open(dir.path(), scratch.path(), &Limits::default()).unwrap();
        assert_eq!(read(&source, "index.json").unwrap(), b"{}");
        for member in ["escape", "../../etc/passwd"] {
            let err = read(&source, member).unwrap_err();
            assert!(
                err.to_string().contains("outside the archive"),
                "{member}: {err}"
            );
        }
        assert!(!source.exists("escape"));
    }

    #[test]
    fn a_gzip_compressed_archive_is_read_like_a_plain_one() {
        let tar = tar_with(&[("index.json", None, b"{\"a\":1}")]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::copy(&mut File::open(tar.path()).unwrap(), &mut gz).unwrap();
        let compressed = tempfile::NamedTempFile::new().unwrap();
        fs::write(compressed.path(), gz.finish().unwrap()).unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let source = Source::open(compressed.path(), scratch.path(), &Limits::default()).unwrap();
        assert_eq!(read(&source, "index.json").unwrap(), b"{\"a\":1}");
    }

    #[test]
    fn a_file_that_is_not_a_tar_is_not_an_image() {
        let file = tempfile::NamedTempFile::new().unwrap();
        fs::write(file.path(), b"hello, not a tar").unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let err = Source::open(file.path(), scratch.path(), &Limits::default()).unwrap_err();
        assert!(matches!(err, Error::NotAnImage { .. }), "{err}");
    }
}
