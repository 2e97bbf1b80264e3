//! Reading CRI log files back: for `minipod logs`, and for tests.
//!
//! The kubelet's reading rules (`pkg/kubelet/kuberuntime/logs`):
//! * the timestamp is parsed leniently (any RFC 3339 time);
//! * the stream must be `stdout` or `stderr`;
//! * the tag field may carry several tags separated by `:`; the first says
//!   `P` or `F` (forward compatible); anything else counts as `F`;
//! * the content is the rest of the line, spaces included;
//! * a line that does not parse is skipped (and logged), not fatal.
//!
//! The output a line stands for is its content, plus a newline if it is an
//! `F` line: printing the entries of one stream in order gives back exactly
//! the bytes the container wrote ([`render`]).

use std::io::{self, BufRead};
use std::time::SystemTime;

use super::{Stream, Tag, timestamp};

/// One line of a log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub time: SystemTime,
    pub stream: Stream,
    pub tag: Tag,
    /// The content, without the line's newline.
    pub content: Vec<u8>,
}

/// Why a line is not a CRI log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("timestamp is not found")]
    NoTimestamp,
    #[error("unexpected timestamp format {0:?}")]
    BadTimestamp(String),
    #[error("stream type is not found")]
    NoStream,
    #[error("unexpected stream type {0:?}")]
    BadStream(String),
    #[error("log tag is not found")]
    NoTag,
}

/// Parses one log line, with or without its trailing newline.
pub fn parse_line(line: &[u8]) -> Result<Entry, ParseError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let (time, rest) = split_field(line).ok_or(ParseError::NoTimestamp)?;
    let time = std::str::from_utf8(time)
        .ok()
        .and_then(timestamp::parse)
        .ok_or_else(|| ParseError::BadTimestamp(String::from_utf8_lossy(time).into_owned()))?;
    let (stream, rest) = split_field(rest).ok_or(ParseError::NoStream)?;
    let stream = Stream::from_bytes(stream)
        .ok_or_else(|| ParseError::BadStream(String::from_utf8_lossy(stream).into_owned()))?;
    let (tags, content) = split_field(rest).ok_or(ParseError::NoTag)?;
    let first_tag = tags.split(|&b| b == b':').next().unwrap_or_default();
    let tag = if first_tag == b"P" {
        Tag::Partial
    } else {
        Tag::Full
    };
    Ok(Entry {
        time,
        stream,
        tag,
        content: content.to_vec(),
    })
}

/// The field before the first space, and what follows that space.
fn split_field(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let space = line.iter().position(|&b| b == b' ')?;
    Some((&line[..space], &line[space + 1..]))
}

/// Reads every entry of a log file. Lines that do not parse are skipped
/// with a warning, as the kubelet does. A last line without its newline (a
/// write in progress) is read if it parses.
pub fn read_entries(mut reader: impl BufRead) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(entries);
        }
        number += 1;
        match parse_line(&line) {
            Ok(entry) => entries.push(entry),
            Err(error) => tracing::warn!(line = number, %error, "skipping a malformed log line"),
        }
    }
}

/// A line of a container's output, its pieces joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The time of its first piece.
    pub time: SystemTime,
    pub stream: Stream,
    /// The line, without its newline.
    pub content: Vec<u8>,
    /// False when the output ended (or the file ends) before a newline.
    pub complete: bool,
}

/// Joins the `P` pieces of each stream with the piece that ends them.
/// Messages are in the order of their first piece; the two streams' pieces
/// may interleave in the file.
pub fn join(entries: impl IntoIterator<Item = Entry>) -> Vec<Message> {
    let mut messages: Vec<Message> = Vec::new();
    // The message each stream is in the middle of: [stdout, stderr].
    let mut open: [Option<usize>; 2] = [None, None];
    for entry in entries {
        let slot = &mut open[entry.stream as usize];
        let index = match *slot {
            Some(index) => {
                messages[index].content.extend_from_slice(&entry.content);
                index
            }
            None => {
                messages.push(Message {
                    time: entry.time,
                    stream: entry.stream,
                    content: entry.content,
                    complete: false,
                });
                messages.len() - 1
            }
        };
        if entry.tag == Tag::Full {
            messages[index].complete = true;
            *slot = None;
        } else {
            *slot = Some(index);
        }
    }
    messages
}

/// Which entries to show, as `kubectl logs` selects them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    /// Only this stream (`kubectl logs --stream`); both when `None`.
    pub stream: Option<Stream>,
    /// Only entries at or after this time (`--since`, `--since-time`).
    pub since: Option<SystemTime>,
    /// Only the last so many entries (`--tail`), counted after the other
    /// filters. Like the kubelet it counts lines of the file, so a line
    /// longer than 16 KiB counts once per piece.
    pub tail: Option<usize>,
}

impl LogQuery {
    /// The entries this query selects, in file order.
    pub fn apply(&self, entries: Vec<Entry>) -> Vec<Entry> {
        let mut selected: Vec<Entry> = entries
            .into_iter()
            .filter(|e| self.stream.is_none_or(|s| s == e.stream))
            .filter(|e| self.since.is_none_or(|since| e.time >= since))
            .collect();
        if let Some(tail) = self.tail {
            let skip = selected.len().saturating_sub(tail);
            selected.drain(..skip);
        }
        selected
    }
}

/// The output the entries stand for, as `kubectl logs` prints it: each
/// entry's content, a newline after an `F` entry, and with `timestamps`
/// each entry prefixed by its time and a space (`kubectl logs --timestamps`).
pub fn render(entries: &[Entry], timestamps: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        if timestamps {
            out.extend_from_slice(timestamp::format(entry.time).as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(&entry.content);
        if entry.tag == Tag::Full {
            out.push(b'\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::writer::{LogWriter, pump};
    use proptest::prelude::*;
    use std::sync::Mutex;
    use std::time::{Duration, UNIX_EPOCH};

    fn t(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_475_713_029 + secs)
    }

    fn entry(secs: u64, stream: Stream, tag: Tag, content: &str) -> Entry {
        Entry {
            time: t(secs),
            stream,
            tag,
            content: content.as_bytes().to_vec(),
        }
    }

    #[test]
    fn parses_the_cri_examples() {
        // The examples of the kubelet's parser.
        let e =
            parse_line(b"2016-10-06T00:17:09.669794202Z stdout P log content 1\n").expect("parses");
        assert_eq!(e.stream, Stream::Stdout);
        assert_eq!(e.tag, Tag::Partial);
        assert_eq!(e.content, b"log content 1");
        assert_eq!(
            e.time,
            UNIX_EPOCH + Duration::new(1_475_713_029, 669_794_202)
        );
        let e =
            parse_line(b"2016-10-06T00:17:09.669794203Z stderr F log content 2").expect("parses");
        assert_eq!(
            (e.stream, e.tag, &e.content[..]),
            (Stream::Stderr, Tag::Full, &b"log content 2"[..])
        );
        // Empty content, and a tag list (forward compatible).
        let e = parse_line(b"2016-10-06T00:17:09Z stdout F \n").expect("parses");
        assert_eq!(e.content, b"");
        let e = parse_line(b"2016-10-06T00:17:09Z stdout P:x=1 a b\n").expect("parses");
        assert_eq!((e.tag, &e.content[..]), (Tag::Partial, &b"a b"[..]));
    }

    #[test]
    fn malformed_lines() {
        let cases: &[(&[u8], ParseError)] = &[
            (b"", ParseError::NoTimestamp),
            (b"hello", ParseError::NoTimestamp),
            (
                b"yesterday stdout F x",
                ParseError::BadTimestamp("yesterday".into()),
            ),
            (b"2016-10-06T00:17:09Z stdout", ParseError::NoStream),
            (
                b"2016-10-06T00:17:09Z stdin F x",
                ParseError::BadStream("stdin".into()),
            ),
            (b"2016-10-06T00:17:09Z stdout F", ParseError::NoTag),
        ];
        for (line, error) in cases {
            assert_eq!(
                parse_line(line).as_ref().err(),
                Some(error),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn reading_skips_malformed_lines() {
        let file = b"2016-10-06T00:17:09Z stdout F one\ngarbage\n2016-10-06T00:17:10Z stderr P two";
        let entries = read_entries(&file[..]).expect("read");
        assert_eq!(
            entries,
            vec![
                entry(0, Stream::Stdout, Tag::Full, "one"),
                entry(1, Stream::Stderr, Tag::Partial, "two")
            ]
        );
    }

    #[test]
    fn joining_follows_each_stream() {
        use Stream::*;
        use Tag::*;
        let entries = vec![
            entry(0, Stdout, Partial, "hel"),
            entry(1, Stderr, Full, "oops"),
            entry(2, Stdout, Partial, "lo "),
            entry(3, Stderr, Partial, "half"),
            entry(4, Stdout, Full, "world"),
            entry(5, Stdout, Full, "next"),
        ];
        let messages = join(entries);
        let got: Vec<(u64, Stream, &str, bool)> = messages
            .iter()
            .map(|m| {
                let secs = m.time.duration_since(t(0)).expect("after").as_secs();
                (
                    secs,
                    m.stream,
                    std::str::from_utf8(&m.content).expect("utf-8"),
                    m.complete,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (0, Stdout, "hello world", true),
                (1, Stderr, "oops", true),
                (3, Stderr, "half", false),
                (5, Stdout, "next", true),
            ]
        );
    }

    #[test]
    fn queries() {
        use Stream::*;
        use Tag::*;
        let entries = vec![
            entry(0, Stdout, Full, "a"),
            entry(1, Stderr, Full, "b"),
            entry(2, Stdout, Partial, "c"),
            entry(3, Stdout, Full, "d"),
            entry(4, Stderr, Full, "e"),
        ];
        let contents = |q: LogQuery| -> String {
            q.apply(entries.clone())
                .iter()
                .map(|e| String::from_utf8_lossy(&e.content).into_owned())
                .collect()
        };
        assert_eq!(contents(LogQuery::default()), "abcde");
        assert_eq!(
            contents(LogQuery {
                stream: Some(Stdout),
                ..Default::default()
            }),
            "acd"
        );
        assert_eq!(
            contents(LogQuery {
                stream: Some(Stderr),
                ..Default::default()
            }),
            "be"
        );
        assert_eq!(
            contents(LogQuery {
                since: Some(t(2)),
                ..Default::default()
            }),
            "cde"
        );
        assert_eq!(
            contents(LogQuery {
                tail: Some(2),
                ..Default::default()
            }),
            "de"
        );
        assert_eq!(
            contents(LogQuery {
                tail: Some(0),
                ..Default::default()
            }),
            ""
        );
        assert_eq!(
            contents(LogQuery {
                tail: Some(9),
                ..Default::default()
            }),
            "abcde"
        );
        assert_eq!(
            contents(LogQuery {
                stream: Some(Stdout),
                since: Some(t(1)),
                tail: Some(1)
            }),
            "d"
        );
    }

    #[test]
    fn rendering_gives_back_the_output() {
        use Stream::*;
        use Tag::*;
        let entries = vec![
            entry(0, Stdout, Partial, "a"),
            entry(1, Stdout, Full, "b"),
            entry(2, Stdout, Full, ""),
        ];
        assert_eq!(render(&entries, false), b"ab\n\n");
        assert_eq!(
            String::from_utf8(render(&entries[..2], true)).expect("utf-8"),
            "2016-10-06T00:17:09.000000000Z a2016-10-06T00:17:10.000000000Z b\n"
        );
    }

    /// Two pumps on real pipes into one writer: every line of each stream
    /// arrives whole and in order.
    #[test]
    fn interleaved_pumps_keep_each_stream_intact() {
        let writer = Mutex::new(LogWriter::new(Vec::new()));
        let lines = 2000;
        std::thread::scope(|scope| {
            for stream in [Stream::Stdout, Stream::Stderr] {
                let (r, w) = std::io::pipe().expect("pipe");
                let (r, w) = (std::os::fd::OwnedFd::from(r), std::os::fd::OwnedFd::from(w));
                let writer = &writer;
                scope.spawn(move || pump(std::fs::File::from(r), stream, writer).expect("pump"));
                scope.spawn(move || {
                    let mut w = std::fs::File::from(w);
                    for i in 0..lines {
                        // Written in odd pieces, so lines straddle reads.
                        let line = format!("{stream} line {i} {}\n", "x".repeat(i % 50));
                        let (a, b) = line.as_bytes().split_at(line.len() / 3);
                        std::io::Write::write_all(&mut w, a).expect("write");
                        std::io::Write::write_all(&mut w, b).expect("write");
                    }
                });
            }
        });
        let file = writer.into_inner().expect("not poisoned").into_inner();
        let entries = read_entries(&file[..]).expect("read");
        assert_eq!(
            entries.len(),
            file.iter().filter(|&&b| b == b'\n').count(),
            "every line parses"
        );
        assert!(
            entries.windows(2).all(|w| w[0].time <= w[1].time),
            "lines in time order"
        );
        for stream in [Stream::Stdout, Stream::Stderr] {
            let messages: Vec<Message> = join(entries.clone())
                .into_iter()
                .filter(|m| m.stream == stream)
                .collect();
            assert_eq!(messages.len(), lines);
            for (i, m) in messages.iter().enumerate() {
                let expected = format!("{stream} line {i} {}", "x".repeat(i % 50));
                assert_eq!(String::from_utf8_lossy(&m.content), expected);
                assert!(m.complete);
            }
        }
    }

    fn chunks() -> impl Strategy<Value = Vec<(bool, Vec<u8>)>> {
        let byte = prop_oneof![4 => any::<u8>(), 1 => Just(b'\n'), 1 => Just(b' ')];
        let chunk = prop_oneof![
            8 => prop::collection::vec(byte.clone(), 0..64),
            1 => prop::collection::vec(byte, 0..(3 * 40)),
        ];
        prop::collection::vec((any::<bool>(), chunk), 0..24)
    }

    proptest! {
        /// parse(write(x)) == x: each stream's output comes back byte for
        /// byte, no content holds a newline or exceeds the line limit.
        #[test]
        fn parse_of_write_gives_back_the_output(chunks in chunks(), max_line in 1usize..40) {
            let mut writer = LogWriter::with_max_line(Vec::new(), max_line);
            let mut sent = [Vec::new(), Vec::new()];
            for (i, (is_err, chunk)) in chunks.iter().enumerate() {
                let stream = if *is_err { Stream::Stderr } else { Stream::Stdout };
                let time = UNIX_EPOCH + Duration::new(1_700_000_000 + i as u64, i as u32);
                writer.write_chunk(stream, chunk, time).expect("write to a Vec");
                sent[stream as usize].extend_from_slice(chunk);
            }
            let file = writer.into_inner();
            let entries = read_entries(&file[..]).expect("read");
            prop_assert_eq!(entries.len(), file.iter().filter(|&&b| b == b'\n').count());
            for e in &entries {
                prop_assert!(!e.content.contains(&b'\n'));
                prop_assert!(e.content.len() <= max_line);
            }
            for stream in [Stream::Stdout, Stream::Stderr] {
                let mine: Vec<Entry> = entries.iter().filter(|e| e.stream == stream).cloned().collect();
                prop_assert_eq!(&render(&mine, false), &sent[stream as usize]);
                // Joined, the messages are the output's lines.
                let joined: Vec<Vec<u8>> = join(mine).into_iter().map(|m| m.content).collect();
                let mut expected: Vec<Vec<u8>> =
                    sent[stream as usize].split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
                if sent[stream as usize].last().is_none_or(|&b| b == b'\n') {
                    expected.pop(); // nothing after the last newline
                }
                prop_assert_eq!(joined, expected);
            }
        }
    }
}
