//! Following a container's log file as it grows and is rotated
//! (`kubectl logs -f`).
//!
//! The kubelet's reader (`pkg/kubelet/kuberuntime/logs/logs.go`) reads the
//! current file to its end, then waits for more; when the file it reads is
//! renamed away by rotation, it opens the new file at the same path and goes
//! on from its start. [`Follower`] does the same: it reads what is new, in
//! bounded pieces, and when the path names another file than the one it has
//! open, it first reads the old one to its end (the writer no longer
//! appends to it once it has been renamed), then switches.
//!
//! Only whole lines are handed out, so a line the writer is still writing
//! is read at the next call.

use std::fs::File;
use std::io::{self, ErrorKind};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

/// A reader of new lines of the log at a path (see the module docs).
#[derive(Debug)]
pub struct Follower {
    path: PathBuf,
    file: Option<File>,
    offset: u64,
    switches: u64,
}

impl Follower {
    /// Follows the log at `path` from its start (the file need not exist yet).
    pub fn new(path: &Path) -> Follower {
        Follower {
            path: path.to_owned(),
            file: None,
            offset: 0,
            switches: 0,
        }
    }

    /// How many times the file was rotated under the reader and the new
    /// one opened.
    pub fn switches(&self) -> u64 {
        self.switches
    }

    /// Appends to `out` the whole lines written since the last call, at
    /// most `max` bytes; returns how many bytes it appended: 0 when there
    /// is nothing new for now.
    ///
    /// A line longer than `max` (not one minipod writes: its records are
    /// at most 16 KiB of content) is handed out cut at `max`.
    pub fn read_new(&mut self, out: &mut Vec<u8>, max: usize) -> io::Result<usize> {
        let max = max.max(1);
        let mut total = 0;
        loop {
            if self.file.is_none() {
                match File::open(&self.path) {
                    Ok(file) => {
                        self.file = Some(file);
                        self.offset = 0;
                    }
                    Err(e) if e.kind() == ErrorKind::NotFound => return Ok(total),
                    Err(e) => return Err(e),
                }
            }
            let n = self.read_lines(out, max - total)?;
            total += n;
            if total >= max {
                return Ok(total);
            }
            // At the end of the open file: was it rotated away?
            if !self.rotated()? {
                return Ok(total);
            }
            // Whatever the writer put in before the rename is read first.
            let n = self.read_lines(out, max - total)?;
            total += n;
            if total >= max {
                return Ok(total);
            }
            self.file = None;
            self.switches += 1;
        }
    }

    /// Reads whole lines from the open file at the offset, up to `room`
    /// bytes.
    fn read_lines(&mut self, out: &mut Vec<u8>, room: usize) -> io::Result<usize> {
        let Some(file) = &self.file else {
            return Ok(0);
        };
        let start = out.len();
        out.resize(start + room, 0);
        let mut filled = 0;
        while filled < room {
            match file.read_at(&mut out[start + filled..], self.offset + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    out.truncate(start);
                    return Err(e);
                }
            }
        }
        let read = &out[start..start + filled];
        let whole = match read.iter().rposition(|&b| b == b'\n') {
            Some(end) => end + 1,
            // A full buffer without a newline: hand it out cut.
            None if filled == room => filled,
            None => 0,
        };
        out.truncate(start + whole);
        self.offset += whole as u64;
        Ok(whole)
    }

    /// Whether the path now names another file than the open one (the
    /// open one was rotated). A missing path is not a rotation: the pod's
    /// logs were removed, and the open file is all there is.
    fn rotated(&self) -> io::Result<bool> {
        let Some(file) = &self.file else {
            return Ok(false);
        };
        let open = file.metadata()?;
        match std::fs::metadata(&self.path) {
            Ok(now) => Ok((now.dev(), now.ino()) != (open.dev(), open.ino())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(path: &Path, bytes: &[u8]) {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("open to append")
            .write_all(bytes)
            .expect("append");
    }

    fn read_all(follower: &mut Follower, max: usize) -> String {
        let mut out = Vec::new();
        while follower.read_new(&mut out, max).expect("read") > 0 {}
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn new_whole_lines_are_read_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("0.log");
        let mut follower = Follower::new(&path);
        assert_eq!(read_all(&mut follower, 64), "", "no file yet");
        append(&path, b"one\ntw");
        assert_eq!(read_all(&mut follower, 64), "one\n");
        append(&path, b"o\nthree\n");
        assert_eq!(read_all(&mut follower, 64), "two\nthree\n");
        assert_eq!(read_all(&mut follower, 64), "");
    }

    #[test]
    fn reads_are_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("0.log");
        append(&path, b"aaa\nbbb\nccc\n");
        let mut follower = Follower::new(&path);
        let mut out = Vec::new();
        assert_eq!(follower.read_new(&mut out, 9).expect("read"), 8);
        assert_eq!(out, b"aaa\nbbb\n");
        // A line longer than the bound is cut, never stuck.
        append(&path, b"0123456789\n");
        let mut out = Vec::new();
        follower.read_new(&mut out, 4).expect("read");
        assert_eq!(out, b"ccc\n");
        assert_eq!(read_all(&mut follower, 4), "0123456789\n");
    }

    #[test]
    fn a_rotation_is_followed_after_the_old_file_is_read_to_its_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("0.log");
        append(&path, b"first\n");
        let mut follower = Follower::new(&path);
        assert_eq!(read_all(&mut follower, 64), "first\n");
        // The writer adds a line, renames the file and starts a new one.
        append(&path, b"last of the old\n");
        std::fs::rename(&path, dir.path().join("0.log.20261207-000000.000000000")).expect("rotate");
        append(&path, b"first of the new\n");
        assert_eq!(
            read_all(&mut follower, 64),
            "last of the old\nfirst of the new\n"
        );
        assert_eq!(follower.switches(), 1);
        // Removed (the pod deleted): nothing more, no error.
        std::fs::remove_file(&path).expect("remove");
        assert_eq!(read_all(&mut follower, 64), "");
    }
}
