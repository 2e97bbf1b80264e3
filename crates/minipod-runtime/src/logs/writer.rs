//! Writing CRI log lines: `<timestamp> <stream> <P|F> <content>\n`.
//!
//! [`LogWriter::write_chunk`] takes what one `read(2)` of a container's
//! stdout or stderr returned and appends one line per piece:
//! * each line of output that ends in a newline becomes an `F` line (the
//!   newline itself is the line's end, not part of its content);
//! * output left after the last newline of the chunk becomes a `P` line
//!   right away, as conmon-rs does, so `kubectl logs -f` shows a prompt
//!   without a newline (`Password: `) as soon as it is printed. The next
//!   piece of the same stream continues it;
//! * a line longer than [`MAX_LINE`] bytes is cut into `P` pieces of
//!   [`MAX_LINE`] bytes, then the rest, as containerd does (its
//!   `max_container_log_line_size` default is 16 KiB).
//!
//! A chunk's lines go to the output with one `write_all` and a flush, so a
//! reader (`tail -F`, `kubectl logs -f`) sees them at once, and the lines of
//! two streams never mix within a line when both pumps share the writer
//! behind a mutex.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Mutex;
use std::time::SystemTime;

use super::{Stream, Tag, timestamp};

/// The longest content of one log line, in bytes: containerd's default
/// `max_container_log_line_size` (16 KiB). Longer lines are split.
pub const MAX_LINE: usize = 16 * 1024;

/// How much a pump reads at once: a whole pipe's default capacity (64 KiB,
/// `pipe(7)`), so a flood costs one read and one write per pipe-full.
const READ_SIZE: usize = 64 * 1024;

/// Formats chunks of container output into CRI log lines on `W`.
#[derive(Debug)]
pub struct LogWriter<W> {
    out: W,
    max_line: usize,
    /// The lines of the chunk being written, reused between chunks.
    scratch: Vec<u8>,
    time: String,
}

impl<W: Write> LogWriter<W> {
    /// A writer that splits lines longer than [`MAX_LINE`].
    pub fn new(out: W) -> Self {
        Self::with_max_line(out, MAX_LINE)
    }

    /// A writer that splits lines longer than `max_line` bytes (at least 1).
    pub fn with_max_line(out: W, max_line: usize) -> Self {
        LogWriter {
            out,
            max_line: max_line.max(1),
            scratch: Vec::new(),
            time: String::with_capacity(timestamp::FORMATTED_LEN),
        }
    }

    /// Appends the lines of one chunk of `stream`'s output, all stamped with
    /// `time`, and flushes them. An empty chunk writes nothing.
    pub fn write_chunk(
        &mut self,
        stream: Stream,
        chunk: &[u8],
        time: SystemTime,
    ) -> io::Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        self.time.clear();
        timestamp::format_into(time, &mut self.time);
        self.scratch.clear();
        let mut rest = chunk;
        while !rest.is_empty() {
            let (line, ended, after) = match rest.iter().position(|&b| b == b'\n') {
                Some(end) => (&rest[..end], true, &rest[end + 1..]),
                None => (rest, false, &rest[rest.len()..]),
            };
            let mut pieces = line.chunks(self.max_line).peekable();
            if pieces.peek().is_none() {
                // An empty line: `F` with empty content.
                self.push_line(stream, Tag::Full, b"");
            }
            while let Some(piece) = pieces.next() {
                let last = pieces.peek().is_none();
                let tag = if last && ended {
                    Tag::Full
                } else {
                    Tag::Partial
                };
                self.push_line(stream, tag, piece);
            }
            rest = after;
        }
        self.out.write_all(&self.scratch)?;
        self.out.flush()
    }

    fn push_line(&mut self, stream: Stream, tag: Tag, content: &[u8]) {
        let s = &mut self.scratch;
        s.extend_from_slice(self.time.as_bytes());
        s.push(b' ');
        s.extend_from_slice(stream.as_str().as_bytes());
        s.push(b' ');
        s.extend_from_slice(tag.as_str().as_bytes());
        s.push(b' ');
        s.extend_from_slice(content);
        s.push(b'\n');
    }

    /// Flushes the output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The output.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The output, giving the writer up.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Creates (or opens, to append) a container's log file, and its
/// directories: files `0640`, directories `0755`, as containerd makes them.
/// `O_APPEND`, so a writer and anything else appending never overwrite
/// each other.
pub fn open_log_file(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        DirBuilder::new().recursive(true).mode(0o755).create(dir)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        // Close-on-exec, as every file std opens (O_CLOEXEC).
        .open(path)
}

/// What a [`pump`] did.
#[derive(Debug, Default)]
pub struct PumpReport {
    /// Bytes read from the stream.
    pub bytes: u64,
    /// Chunks that could not be written to the log (a full disk), and the
    /// first such error. Their output is lost, but the pump went on reading.
    pub failed_writes: u64,
    pub first_write_error: Option<io::Error>,
}

/// Reads `from` (a container's stdout or stderr pipe) until end of file and
/// writes each chunk through `to`, stamped with the time it was read.
///
/// Blocking: run one per stream, on a thread or a blocking task. The pipe
/// reaches end of file when every process of the container that held it has
/// exited. A failing write (a full disk) does not stop the pump: it keeps
/// reading so the container never blocks on a full pipe, and reports the
/// failure at the end. A failing read ends the pump with the error.
pub fn pump<R: Read, W: Write>(
    from: R,
    stream: Stream,
    to: &Mutex<LogWriter<W>>,
) -> io::Result<PumpReport> {
    pump_and(from, stream, to, |_| {})
}

/// [`pump`], also handing each chunk read to `also` (after it is written).
pub fn pump_and<R: Read, W: Write>(
    mut from: R,
    stream: Stream,
    to: &Mutex<LogWriter<W>>,
    mut also: impl FnMut(&[u8]),
) -> io::Result<PumpReport> {
    let mut report = PumpReport::default();
    let mut buf = vec![0u8; READ_SIZE];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(report),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        report.bytes += n as u64;
        // The time is taken under the lock, so the file's lines are in time
        // order across both streams.
        let mut writer = to.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(e) = writer.write_chunk(stream, &buf[..n], SystemTime::now()) {
            report.failed_writes += 1;
            if report.first_write_error.is_none() {
                tracing::warn!(%stream, error = %e, "cannot write the container log");
                report.first_write_error = Some(e);
            }
        }
        drop(writer);
        also(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const TS: &str = "2016-10-06T00:17:09.669794202Z";

    fn t() -> SystemTime {
        UNIX_EPOCH + Duration::new(1_475_713_029, 669_794_202)
    }

    fn written(chunks: &[(Stream, &[u8])], max_line: usize) -> String {
        let mut w = LogWriter::with_max_line(Vec::new(), max_line);
        for (stream, chunk) in chunks {
            w.write_chunk(*stream, chunk, t()).expect("write to a Vec");
        }
        String::from_utf8(w.into_inner()).expect("utf-8")
    }

    fn lines(lines: &[&str]) -> String {
        lines.iter().map(|l| format!("{TS} {l}\n")).collect()
    }

    #[test]
    fn golden_lines() {
        use Stream::*;
        type Chunks<'a> = &'a [(Stream, &'a [u8])];
        let cases: &[(&str, Chunks, &[&str])] = &[
            ("one line", &[(Stdout, b"hello\n")], &["stdout F hello"]),
            (
                "two lines in a chunk",
                &[(Stdout, b"a\nb\n")],
                &["stdout F a", "stdout F b"],
            ),
            ("empty line", &[(Stderr, b"\n")], &["stderr F "]),
            (
                "empty lines",
                &[(Stdout, b"\n\nx\n")],
                &["stdout F ", "stdout F ", "stdout F x"],
            ),
            (
                "no newline: partial",
                &[(Stdout, b"Password: ")],
                &["stdout P Password: "],
            ),
            (
                "line continued in the next chunk",
                &[(Stdout, b"hel"), (Stdout, b"lo\nwor"), (Stdout, b"ld\n")],
                &["stdout P hel", "stdout F lo", "stdout P wor", "stdout F ld"],
            ),
            (
                "streams keep their names",
                &[(Stdout, b"out\n"), (Stderr, b"err\n")],
                &["stdout F out", "stderr F err"],
            ),
            (
                "spaces and tabs kept",
                &[(Stdout, b"  a\tb  \n")],
                &["stdout F   a\tb  "],
            ),
            (
                "carriage return kept",
                &[(Stdout, b"dos\r\n")],
                &["stdout F dos\r"],
            ),
            ("empty chunk: nothing", &[(Stdout, b"")], &[]),
        ];
        for (name, chunks, expected) in cases {
            assert_eq!(written(chunks, MAX_LINE), lines(expected), "{name}");
        }
    }

    #[test]
    fn long_lines_are_split_at_16_kib() {
        let exact = vec![b'a'; MAX_LINE];
        let out = written(
            &[(Stream::Stdout, &[exact.clone(), b"\n".to_vec()].concat())],
            MAX_LINE,
        );
        assert_eq!(out, format!("{TS} stdout F {}\n", "a".repeat(MAX_LINE)));

        let long: Vec<u8> = (0..MAX_LINE * 2 + 100)
            .map(|i| b'a' + (i % 26) as u8)
            .collect();
        let mut chunk = long.clone();
        chunk.push(b'\n');
        let out = written(&[(Stream::Stderr, &chunk)], MAX_LINE);
        let got: Vec<&str> = out.lines().collect();
        assert_eq!(got.len(), 3);
        let text = String::from_utf8(long).expect("ascii");
        assert_eq!(got[0], format!("{TS} stderr P {}", &text[..MAX_LINE]));
        assert_eq!(
            got[1],
            format!("{TS} stderr P {}", &text[MAX_LINE..2 * MAX_LINE])
        );
        assert_eq!(got[2], format!("{TS} stderr F {}", &text[2 * MAX_LINE..]));

        // Without a newline, every piece is partial.
        assert_eq!(
            written(&[(Stream::Stdout, b"abcdefg")], 3),
            lines(&["stdout P abc", "stdout P def", "stdout P g"])
        );
    }

    /// A flood without newlines, read in pipe-sized chunks: 16 KiB `P`
    /// records, and the reader joins them back into the one line.
    #[test]
    fn a_long_line_across_chunks_is_cut_and_joined_back() {
        use crate::logs::{join, read_entries};
        let line: Vec<u8> = (0..100_000).map(|i| b'a' + (i % 26) as u8).collect();
        let mut w = LogWriter::new(Vec::new());
        for chunk in line.chunks(READ_SIZE) {
            w.write_chunk(Stream::Stdout, chunk, t()).expect("write");
        }
        w.write_chunk(Stream::Stdout, b"\n", t()).expect("write");
        let text = w.into_inner();
        let entries = read_entries(&text[..]).expect("parse");
        assert!(entries.iter().all(|e| e.content.len() <= MAX_LINE));
        let tags: Vec<Tag> = entries.iter().map(|e| e.tag).collect();
        assert_eq!(tags.last(), Some(&Tag::Full));
        assert!(tags[..tags.len() - 1].iter().all(|t| *t == Tag::Partial));
        let messages = join(entries);
        assert_eq!(messages.len(), 1);
        assert!(messages[0].complete);
        assert_eq!(messages[0].content, line);
    }

    #[test]
    fn a_chunk_is_one_write() {
        #[derive(Default)]
        struct Counting {
            writes: usize,
            flushes: usize,
        }
        impl Write for Counting {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.writes += 1;
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                self.flushes += 1;
                Ok(())
            }
        }
        let mut w = LogWriter::new(Counting::default());
        w.write_chunk(Stream::Stdout, b"a\nb\nc", t())
            .expect("write");
        assert_eq!((w.get_ref().writes, w.get_ref().flushes), (1, 1));
    }

    #[test]
    fn a_failing_write_does_not_stop_the_pump() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from_raw_os_error(libc::ENOSPC))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let writer = Mutex::new(LogWriter::new(Full));
        let input = vec![b'x'; READ_SIZE * 3];
        let report = pump(&input[..], Stream::Stdout, &writer).expect("reads succeed");
        assert_eq!(report.bytes, input.len() as u64);
        assert_eq!(report.failed_writes, 3);
        assert_eq!(
            report.first_write_error.and_then(|e| e.raw_os_error()),
            Some(libc::ENOSPC)
        );
    }

    /// A real process: `sh` printing to both streams, with and without a
    /// final newline, pumped into a log file as the monitor will do it.
    #[test]
    fn a_child_process_is_logged() {
        use crate::logs::{PodLogs, join, read_entries};
        use std::process::{Command, Stdio};
        let dir = tempfile::tempdir().expect("tempdir");
        let pod = PodLogs {
            namespace: "default",
            name: "web",
            uid: "1234",
        };
        let path = pod.container_log(dir.path(), "app", 0);
        let writer = Mutex::new(LogWriter::new(open_log_file(&path).expect("open")));
        let started = SystemTime::now();
        let mut child = Command::new("sh")
            .args(["-c", "echo out one; echo err one >&2; printf 'out two\\nout three'; printf 'err two' >&2"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sh");
        let (out, err) = (
            child.stdout.take().expect("stdout"),
            child.stderr.take().expect("stderr"),
        );
        std::thread::scope(|scope| {
            let writer = &writer;
            let a = scope.spawn(move || pump(out, Stream::Stdout, writer));
            let b = scope.spawn(move || pump(err, Stream::Stderr, writer));
            for pumped in [a, b] {
                let report = pumped.join().expect("no panic").expect("pump");
                assert!(report.bytes > 0 && report.failed_writes == 0, "{report:?}");
            }
        });
        assert!(child.wait().expect("wait").success());
        drop(writer);

        let text = std::fs::read_to_string(&path).expect("read the log");
        let entries = read_entries(text.as_bytes()).expect("parse");
        assert_eq!(
            entries.len(),
            text.lines().count(),
            "every line parses:\n{text}"
        );
        assert!(
            entries
                .iter()
                .all(|e| e.time >= started && e.time <= SystemTime::now())
        );
        let by_stream = |stream| -> Vec<(String, bool)> {
            join(entries.clone())
                .into_iter()
                .filter(|m| m.stream == stream)
                .map(|m| (String::from_utf8_lossy(&m.content).into_owned(), m.complete))
                .collect()
        };
        let own = |v: &[(&str, bool)]| -> Vec<(String, bool)> {
            v.iter().map(|(s, c)| (s.to_string(), *c)).collect()
        };
        assert_eq!(
            by_stream(Stream::Stdout),
            own(&[("out one", true), ("out two", true), ("out three", false)]),
            "{text}"
        );
        assert_eq!(
            by_stream(Stream::Stderr),
            own(&[("err one", true), ("err two", false)]),
            "{text}"
        );
        // The last pieces, without a newline, are `P` lines.
        assert!(text.contains(" stdout P out three\n"), "{text}");
        assert!(text.contains(" stderr P err two\n"), "{text}");
    }

    #[test]
    fn the_log_file_is_created_with_its_directories() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("default_web_uid/server/0.log");
        let mut file = open_log_file(&path).expect("create");
        file.write_all(b"one\n").expect("write");
        drop(file);
        let mut file = open_log_file(&path).expect("reopen");
        file.write_all(b"two\n").expect("append");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "one\ntwo\n");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        // The umask may only take bits away.
        assert_eq!(mode & 0o137, 0, "{mode:o}");
    }
}
