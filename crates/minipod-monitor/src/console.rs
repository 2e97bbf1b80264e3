//! A container's output for the observer (`minipod run` prints it), line
//! by line, in bounded memory whatever the container writes.

use std::sync::{Arc, Mutex};

use minipod_runtime::logs::{self, Stream, Tee};

use crate::observer::Observer;

/// Hands a container's output to the observer line by line (a last line
/// without a newline when the stream ends).
///
/// A container controls what it writes, so the work here is bounded by what
/// it writes, never more: each chunk is searched once for newlines, and a
/// line longer than [`logs::MAX_LINE`] is handed over in pieces of that
/// size, as the log file cuts it, instead of being held whole.
pub(crate) fn console_tee(observer: Arc<dyn Observer>, name: String) -> Tee {
    let lines: Mutex<[ConsoleLine; 2]> = Mutex::new([
        ConsoleLine::new(logs::MAX_LINE),
        ConsoleLine::new(logs::MAX_LINE),
    ]);
    Arc::new(move |stream: Stream, chunk: &[u8]| {
        let mut lines = lines.lock().unwrap_or_else(|p| p.into_inner());
        let line = &mut lines[match stream {
            Stream::Stdout => 0,
            Stream::Stderr => 1,
        }];
        line.feed(chunk, |piece| observer.output(&name, stream, piece));
    })
}

/// The line being put together for the console, at most `max` bytes.
struct ConsoleLine {
    pending: Vec<u8>,
    max: usize,
}

impl ConsoleLine {
    fn new(max: usize) -> ConsoleLine {
        ConsoleLine {
            pending: Vec::new(),
            max,
        }
    }

    /// Hands each line ended in `chunk` to `emit` (without its newline),
    /// and keeps the rest, handing it over in `max`-byte pieces. An empty
    /// chunk (the end of the stream) hands over what is left.
    fn feed(&mut self, chunk: &[u8], mut emit: impl FnMut(&[u8])) {
        if chunk.is_empty() {
            if !self.pending.is_empty() {
                emit(&self.pending);
                self.pending.clear();
            }
            return;
        }
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let line = &rest[..end];
            if self.pending.is_empty() && line.len() <= self.max {
                emit(line);
            } else {
                self.push(line, &mut emit);
                emit(&self.pending);
                self.pending.clear();
            }
            rest = &rest[end + 1..];
        }
        self.push(rest, &mut emit);
    }

    /// Adds `bytes` to the pending line, handing over each full `max`
    /// bytes once more come (a line of exactly `max` bytes then its
    /// newline is one line, as in the log file).
    fn push(&mut self, mut bytes: &[u8], emit: &mut impl FnMut(&[u8])) {
        while !bytes.is_empty() {
            if self.pending.len() == self.max {
                emit(&self.pending);
                self.pending.clear();
            }
            let room = self.max - self.pending.len();
            let (take, after) = bytes.split_at(room.min(bytes.len()));
            self.pending.extend_from_slice(take);
            bytes = after;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fed(max: usize, chunks: &[&[u8]]) -> Vec<String> {
        let mut line = ConsoleLine::new(max);
        let mut out = Vec::new();
        for chunk in chunks {
            line.feed(chunk, |piece| {
                out.push(String::from_utf8_lossy(piece).into_owned())
            });
        }
        out
    }

    #[test]
    fn lines_are_handed_over_whole_and_the_rest_at_the_end() {
        assert_eq!(fed(16, &[b"a\nb", b"c\n\nd", b""]), ["a", "bc", "", "d"]);
        assert_eq!(fed(16, &[b"no newline", b""]), ["no newline"]);
        assert!(fed(16, &[b""]).is_empty());
        assert_eq!(fed(4, &[b"abcd", b"\n"]), ["abcd"]);
    }

    #[test]
    fn a_line_without_end_is_handed_over_in_pieces_of_the_maximum() {
        assert_eq!(
            fed(4, &[b"abcdef", b"ghij\nk", b""]),
            ["abcd", "efgh", "ij", "k"]
        );
        // Memory stays at the maximum whatever comes.
        let mut line = ConsoleLine::new(logs::MAX_LINE);
        let flood = vec![b'y'; 1 << 20];
        let mut pieces = 0;
        for _ in 0..8 {
            line.feed(&flood, |piece| {
                assert_eq!(piece.len(), logs::MAX_LINE);
                pieces += 1;
            });
            assert!(line.pending.capacity() <= 2 * logs::MAX_LINE);
        }
        // The last full piece waits for what follows it.
        assert_eq!(pieces, 8 * (1 << 20) / logs::MAX_LINE - 1);
        line.feed(b"", |piece| {
            assert_eq!(piece.len(), logs::MAX_LINE);
            pieces += 1;
        });
        assert_eq!(pieces, 8 * (1 << 20) / logs::MAX_LINE);
    }
}
