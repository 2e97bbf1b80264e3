//! The fake backend's exec: a few commands of its own, enough to test the
//! exec protocol (streams, stdin's end, a terminal and its sizes, exit codes).

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::backend::{ByteStream, ExecOptions, ExecSession, TerminalSize};

/// The commands [`FakeBackend`]'s exec knows, by their first word:
///
/// * `cat`: copies stdin to stdout until stdin is closed (at once without
///   `stdin=true`); exits 0.
/// * `exit N`: exits N, printing nothing.
/// * `stderr WORDS...`: writes `WORDS\n` to stderr (to stdout with a TTY,
///   as a terminal merges them); exits 0.
/// * `tty`: prints `tty` with a TTY and exits 0, else prints `not a tty`
///   and exits 1 (as tty(1) does).
/// * `size [N]`: with a TTY, prints the first N (default 1) terminal sizes
///   the client sends, one `WIDTHxHEIGHT` line each; exits 0, or 1 if they
///   did not all come within 5 s.
/// * anything else: prints the command line and exits 0.
pub(super) fn fake_exec(options: &ExecOptions) -> ExecSession {
    let words: Vec<&str> = options.command.iter().map(String::as_str).collect();
    let text =
        |stdout: String, stderr: String, code: i32| text_session(stdout, stderr, code, options.tty);
    match words.as_slice() {
        ["cat", ..] if options.stdin => {
            // What the server writes into one end comes out of the other.
            let (stdin, stdout) = tokio::io::duplex(64 * 1024);
            let (exit_tx, exit) = oneshot::channel();
            let _ = exit_tx.send(Ok(0));
            ExecSession {
                stdin: Some(Box::pin(stdin)),
                stdout: Some(Box::pin(stdout)),
                stderr: None,
                resize: None,
                exit,
            }
        }
        ["cat", ..] => text(String::new(), String::new(), 0),
        ["exit", code] => text(String::new(), String::new(), code.parse().unwrap_or(2)),
        ["stderr", rest @ ..] => text(String::new(), format!("{}\n", rest.join(" ")), 0),
        ["tty"] if options.tty => text("tty\n".into(), String::new(), 0),
        ["tty"] => text("not a tty\n".into(), String::new(), 1),
        ["size", rest @ ..] if options.tty => {
            let wanted: usize = rest.first().and_then(|n| n.parse().ok()).unwrap_or(1);
            let (exit_tx, exit) = oneshot::channel();
            let (resize, mut sizes) = mpsc::channel::<TerminalSize>(4);
            let (mut writer, stdout) = tokio::io::duplex(1024);
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
                let mut code = 0;
                for _ in 0..wanted {
                    match tokio::time::timeout_at(deadline, sizes.recv()).await {
                        Ok(Some(size)) => {
                            let line = format!("{}x{}\n", size.width, size.height);
                            let _ = writer.write_all(line.as_bytes()).await;
                        }
                        _ => {
                            code = 1;
                            break;
                        }
                    }
                }
                drop(writer);
                let _ = exit_tx.send(Ok(code));
            });
            ExecSession {
                stdin: None,
                stdout: Some(Box::pin(stdout)),
                stderr: None,
                resize: Some(resize),
                exit,
            }
        }
        _ => text(format!("{}\n", words.join(" ")), String::new(), 0),
    }
}

/// A session whose output and exit code are known from the start.
fn text_session(stdout: String, stderr: String, code: i32, tty: bool) -> ExecSession {
    let (exit_tx, exit) = oneshot::channel();
    let _ = exit_tx.send(Ok(code));
    let bytes = |text: String| -> ByteStream { Box::pin(std::io::Cursor::new(text.into_bytes())) };
    let (stdout, stderr) = if tty {
        (stdout + &stderr, None)
    } else {
        (stdout, Some(stderr))
    };
    ExecSession {
        stdin: None,
        stdout: Some(bytes(stdout)),
        stderr: stderr.map(bytes),
        resize: None,
        exit,
    }
}
