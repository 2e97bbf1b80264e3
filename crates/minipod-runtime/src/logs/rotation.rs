//! Bounded log files: `0.log` is rotated to `0.log.<time>` as it would grow
//! past `containerLogMaxSize`, and at most `containerLogMaxFiles` files of a
//! container run are kept, the current one included.
//!
//! The kubelet's container log manager
//! (`pkg/kubelet/logs/container_log_manager.go`) does this on a periodic
//! check (every 10 s): a file above the limit is renamed to
//! `<log>.<YYYYMMDD-hhmmss>`, the runtime is asked to reopen the log, older
//! rotated files are gzipped, and the oldest are removed. Between two
//! checks a fast writer can put any amount into the file. minipod writes
//! the file itself, so it rotates in the writer, before the record that
//! would cross the limit: a file never holds more than `max_size` bytes
//! (unless one single record is larger than `max_size`), whatever the
//! container writes and however fast. Rotated files are not compressed:
//! that would cost the monitor CPU exactly while a container floods it,
//! and the bound `max_size × max_files` holds without it (decision 0013).
//!
//! Rotated names add nanoseconds to the kubelet's seconds
//! (`0.log.20261207-164242.123456789`): a flood can cross the limit many
//! times a second, and every name must be new. The names are of fixed
//! width, so they sort by time as text.

use std::fs::{self, File};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::timestamp;
use super::writer::open_log_file;

/// The kubelet's default `containerLogMaxSize` (10Mi).
pub const DEFAULT_MAX_SIZE: u64 = 10 * 1024 * 1024;
/// The kubelet's default `containerLogMaxFiles`.
pub const DEFAULT_MAX_FILES: usize = 5;

/// How large a container run's log may grow: the kubelet's
/// `containerLogMaxSize` and `containerLogMaxFiles`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    max_size: u64,
    max_files: usize,
}

/// A rotation setting the kubelet would refuse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RotationError {
    #[error("containerLogMaxSize: must be more than 0 bytes")]
    ZeroSize,
    #[error(
        "containerLogMaxFiles: must be at least 2 (the current file and one rotated file), not {0}"
    )]
    TooFewFiles(usize),
}

impl Default for Rotation {
    fn default() -> Self {
        Rotation {
            max_size: DEFAULT_MAX_SIZE,
            max_files: DEFAULT_MAX_FILES,
        }
    }
}

impl Rotation {
    /// At most `max_files` files (2 or more, as the kubelet requires) of at
    /// most `max_size` bytes each (more than 0).
    pub fn new(max_size: u64, max_files: usize) -> Result<Rotation, RotationError> {
        if max_size == 0 {
            return Err(RotationError::ZeroSize);
        }
        if max_files < 2 {
            return Err(RotationError::TooFewFiles(max_files));
        }
        Ok(Rotation {
            max_size,
            max_files,
        })
    }

    /// `containerLogMaxSize` in bytes.
    pub fn max_size(&self) -> u64 {
        self.max_size
    }

    /// `containerLogMaxFiles`.
    pub fn max_files(&self) -> usize {
        self.max_files
    }
}

/// The name `log` is rotated to at `time`:
/// `<log>.<YYYYMMDD-hhmmss>.<nanoseconds>`, in UTC.
pub fn rotated_name(log: &Path, time: SystemTime) -> PathBuf {
    let stamp = timestamp::format(time);
    // 2016-10-06T00:17:09.669794202Z -> 20161006-001709.669794202
    let digits = |range: std::ops::Range<usize>| stamp.get(range).unwrap_or("");
    let name = format!(
        "{}{}{}-{}{}{}.{}",
        digits(0..4),
        digits(5..7),
        digits(8..10),
        digits(11..13),
        digits(14..16),
        digits(17..19),
        digits(20..29)
    );
    let mut rotated = log.as_os_str().to_owned();
    rotated.push(".");
    rotated.push(name);
    PathBuf::from(rotated)
}

/// Of the rotated files of `log` (the names in its directory that begin
/// with `<log name>.`), those to remove so that `keep` remain: the oldest.
pub fn excess<'a>(log_name: &str, names: &'a [String], keep: usize) -> Vec<&'a str> {
    let prefix = format!("{log_name}.");
    let mut rotated: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| n.starts_with(&prefix) && n.len() > prefix.len())
        .collect();
    rotated.sort_unstable();
    let extra = rotated.len().saturating_sub(keep);
    rotated.truncate(extra);
    rotated
}

/// A container run's log file that rotates itself (see the module docs).
///
/// A `Write` that only ever cuts between lines: fed whole CRI lines (as
/// [`super::LogWriter`] does), it rotates before the first line that would
/// not fit, so no line is split across two files.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    file: File,
    /// Bytes in the current file.
    size: u64,
    rotation: Rotation,
}

impl RotatingFile {
    /// Opens (or creates, with its directories) the log at `path` to append.
    pub fn open(path: &Path, rotation: Rotation) -> io::Result<RotatingFile> {
        let file = open_log_file(path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            path: path.to_owned(),
            file,
            size,
            rotation,
        })
    }

    /// Removes the oldest rotated files, keeping `max_files - 2`, then
    /// renames the current file to its rotated name and starts a new one at
    /// the same path. In this order (the kubelet's), the directory never
    /// holds more than `max_files` files of this log, not even for a moment.
    fn rotate(&mut self) -> io::Result<()> {
        self.remove_excess(self.rotation.max_files - 2)?;
        let mut target = rotated_name(&self.path, SystemTime::now());
        // The clock may step back: never overwrite an earlier file.
        let mut tries = 0;
        while target.exists() && tries < 1000 {
            tries += 1;
            target = rotated_name(
                &self.path,
                SystemTime::now() + std::time::Duration::from_nanos(tries),
            );
        }
        match fs::rename(&self.path, &target) {
            Ok(()) => {}
            // Removed behind our back: there is nothing to keep.
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        self.file = open_log_file(&self.path)?;
        self.size = 0;
        Ok(())
    }

    /// Removes the oldest rotated files of this log until `keep` remain.
    fn remove_excess(&self, keep: usize) -> io::Result<()> {
        let (Some(dir), Some(log_name)) = (
            self.path.parent(),
            self.path.file_name().and_then(|n| n.to_str()),
        ) else {
            return Ok(());
        };
        let names: Vec<String> = fs::read_dir(dir)?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        for name in excess(log_name, &names, keep) {
            match fs::remove_file(dir.join(name)) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let room = self.rotation.max_size.saturating_sub(self.size);
        let take = if buf.len() as u64 <= room {
            buf.len()
        } else {
            // `room` is less than `buf.len()`, so it fits a usize. Only the
            // tail of the buffer that fits is searched: no scan of the rest.
            let fits = &buf[..usize::try_from(room).unwrap_or(buf.len())];
            match fits.iter().rposition(|&b| b == b'\n') {
                Some(end) => end + 1,
                None if self.size == 0 => {
                    // One record larger than a whole file: it gets a file
                    // of its own rather than being cut.
                    buf.iter()
                        .position(|&b| b == b'\n')
                        .map_or(buf.len(), |i| i + 1)
                }
                None => {
                    self.rotate()?;
                    return self.write(buf);
                }
            }
        };
        let written = self.file.write(&buf[..take])?;
        self.size += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn settings_are_checked_as_the_kubelet_does() {
        assert_eq!(Rotation::new(0, 5), Err(RotationError::ZeroSize));
        assert_eq!(Rotation::new(1, 1), Err(RotationError::TooFewFiles(1)));
        let ok = Rotation::new(1024, 2).expect("valid");
        assert_eq!((ok.max_size(), ok.max_files()), (1024, 2));
        let default = Rotation::default();
        assert_eq!((default.max_size(), default.max_files()), (10 << 20, 5));
        let message = RotationError::TooFewFiles(1).to_string();
        assert!(message.starts_with("containerLogMaxFiles:"), "{message}");
    }

    #[test]
    fn rotated_names_carry_the_time_and_sort_by_it() {
        let t = UNIX_EPOCH + Duration::new(1_475_713_029, 669_794_202);
        assert_eq!(
            rotated_name(Path::new("/logs/app/0.log"), t),
            Path::new("/logs/app/0.log.20161006-001709.669794202")
        );
        let early = rotated_name(Path::new("0.log"), UNIX_EPOCH + Duration::new(9, 5));
        let late = rotated_name(Path::new("0.log"), UNIX_EPOCH + Duration::new(10, 0));
        assert!(early < late, "{early:?} < {late:?}");
    }

    #[test]
    fn the_oldest_rotated_files_of_this_log_are_the_excess() {
        let names: Vec<String> = [
            "0.log",
            "0.log.20261207-000003.000000000",
            "0.log.20261207-000001.000000000",
            "0.log.20261207-000002.000000000",
            "10.log.20261207-000000.000000000",
            "1.log",
            "0.log.",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            excess("0.log", &names, 1),
            [
                "0.log.20261207-000001.000000000",
                "0.log.20261207-000002.000000000"
            ]
        );
        assert!(excess("0.log", &names, 3).is_empty());
        assert!(excess("1.log", &names, 0).is_empty());
    }

    fn files(dir: &Path) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = fs::read_dir(dir)
            .expect("read the directory")
            .map(|e| {
                let e = e.expect("entry");
                let len = e.metadata().expect("stat").len();
                (e.file_name().into_string().expect("utf-8"), len)
            })
            .collect();
        all.sort();
        all
    }

    #[test]
    fn a_file_is_rotated_before_the_line_that_would_not_fit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("0.log");
        let mut log =
            RotatingFile::open(&path, Rotation::new(10, 3).expect("valid")).expect("open");
        // Two lines of 4 bytes fit in 10; the third goes to a new file.
        log.write_all(b"aaa\nbbb\nccc\n").expect("write");
        let after_one = files(dir.path());
        assert_eq!(after_one.len(), 2, "{after_one:?}");
        assert_eq!(fs::read(&path).expect("read"), b"ccc\n");
        // Many more: never more than 3 files, none above 10 bytes, and
        // the newest lines in the current file.
        for i in 0..20 {
            log.write_all(format!("{i:03}\n").as_bytes())
                .expect("write");
        }
        let all = files(dir.path());
        assert_eq!(all.len(), 3, "{all:?}");
        assert!(all.iter().all(|(_, len)| *len <= 10), "{all:?}");
        assert_eq!(fs::read(&path).expect("read"), b"019\n");
        // The rotated files hold the lines just before, oldest first.
        let rotated: Vec<Vec<u8>> = all
            .iter()
            .filter(|(n, _)| n != "0.log")
            .map(|(n, _)| fs::read(dir.path().join(n)).expect("read"))
            .collect();
        assert_eq!(rotated, [b"015\n016\n".to_vec(), b"017\n018\n".to_vec()]);
    }

    #[test]
    fn a_record_larger_than_a_file_gets_a_file_of_its_own() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("0.log");
        let mut log = RotatingFile::open(&path, Rotation::new(4, 2).expect("valid")).expect("open");
        log.write_all(b"a\nbcdefgh\ni\n").expect("write");
        let all = files(dir.path());
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(fs::read(&path).expect("read"), b"i\n");
        assert_eq!(all[1].1, 8, "the long record, alone: {all:?}");
    }

    #[test]
    fn an_existing_file_counts_toward_the_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("0.log");
        fs::write(&path, b"12345678\n").expect("write");
        let mut log =
            RotatingFile::open(&path, Rotation::new(10, 2).expect("valid")).expect("open");
        log.write_all(b"xy\n").expect("write");
        assert_eq!(fs::read(&path).expect("read"), b"xy\n");
        assert_eq!(files(dir.path()).len(), 2);
    }
}
