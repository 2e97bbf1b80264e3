//! `minipod exec` against the real API server (`minipod-api`) with its fake
//! backend, on a unix socket in a temporary directory: the built binary is
//! run as a user runs it. The fake's commands (`cat`, `exit N`,
//! `stderr TEXT`, `tty`, `size [N]`) are documented in
//! `minipod_api::testing`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness: a failure should panic loudly

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use minipod_api::testing::FakeBackend;
use minipod_api::{Backend, RunningServer, ServerOptions, start};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_minipod");

/// A server with two pods: `p` (one container, `app`) and `multi`
/// (containers `a` and `b`, init container `setup`).
struct Server {
    runtime: tokio::runtime::Runtime,
    server: Option<RunningServer>,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("api.sock");
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let mut backend = FakeBackend::new();
        backend.start_delay = Duration::from_millis(10);
        let server = runtime.block_on(async {
            for pod in [
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                       "spec": {"containers": [{"name": "app", "image": "busybox"}]}}),
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "multi"},
                       "spec": {"containers": [{"name": "a", "image": "busybox"},
                                               {"name": "b", "image": "busybox"}],
                                "initContainers": [{"name": "setup", "image": "busybox"}]}}),
            ] {
                backend.create_pod("default", pod, false).await.unwrap();
            }
            start(
                Arc::new(backend),
                ServerOptions {
                    unix_socket: Some(socket.clone()),
                    tcp: None,
                    credentials_dir: dir.path().join("pki"),
                    ..ServerOptions::default()
                },
            )
            .await
            .unwrap()
        });
        Server {
            runtime,
            server: Some(server),
            socket,
            _dir: dir,
        }
    }

    /// Runs `minipod exec ARGS` with `input` as its stdin.
    fn exec(&self, args: &[&str], input: &[u8]) -> Run {
        let mut child = Command::new(BIN)
            .arg("exec")
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        // Written from a thread: a command that does not read its input must not hang us.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let output = child.wait_with_output().unwrap();
        writer.join().unwrap();
        Run {
            code: output.status.code().expect("exited normally"),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

#[test]
fn stdin_goes_to_the_command_and_is_closed_at_its_end() {
    let server = Server::start();
    let run = server.exec(&["p", "-i", "--", "cat"], b"hi\n");
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "hi\n", "")
    );
    // Bigger than one read and one websocket message.
    let big: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let run = server.exec(&["p", "-i", "--", "cat"], &big);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.as_bytes() == big.as_slice(),
        "{} bytes back",
        run.stdout.len()
    );
}

#[test]
fn without_i_no_stdin_is_sent() {
    let server = Server::start();
    let run = server.exec(&["p", "--", "cat"], b"not sent\n");
    assert_eq!((run.code, run.stdout.as_str()), (0, ""));
}

#[test]
fn the_commands_exit_code_is_ours() {
    let server = Server::start();
    let run = server.exec(&["p", "--", "exit", "3"], b"");
    assert_eq!(run.code, 3);
    assert_eq!(run.stderr, "command terminated with exit code 3\n");
    let run = server.exec(&["p", "--", "exit", "0"], b"");
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    // Also when it leaves its input unread.
    let run = server.exec(&["p", "-i", "--", "exit", "4"], &[b'x'; 300_000]);
    assert_eq!((run.code, run.stdout.as_str()), (4, ""), "{run:?}");
    // The command line arrives word for word.
    let run = server.exec(&["p", "--", "echo", "a b", "-c"], b"");
    assert_eq!((run.code, run.stdout.as_str()), (0, "echo a b -c\n"));
}

#[test]
fn stderr_stays_apart_from_stdout() {
    let server = Server::start();
    let run = server.exec(&["p", "--", "stderr", "oops"], b"");
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", "oops\n")
    );
}

#[test]
fn a_tty_needs_a_terminal_on_stdin() {
    let server = Server::start();
    let run = server.exec(&["p", "-it", "--", "tty"], b"");
    assert_eq!(
        run.stderr,
        "Unable to use a TTY - input is not a terminal or the right kind of file\n\
         command terminated with exit code 1\n"
    );
    assert_eq!((run.code, run.stdout.as_str()), (1, "not a tty\n"));
    // Still a working session, stdin and all.
    let run = server.exec(&["p", "-i", "-t", "--", "cat"], b"still here\n");
    assert_eq!((run.code, run.stdout.as_str()), (0, "still here\n"));
    // -t without -i: no TTY, and nothing said (as kubectl).
    let run = server.exec(&["p", "-t", "--", "tty"], b"");
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (1, "command terminated with exit code 1\n")
    );
}

#[test]
fn the_container_is_defaulted_as_kubectl_does() {
    let server = Server::start();
    let run = server.exec(&["multi", "--", "echo", "x"], b"");
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (
            0,
            "echo x\n",
            "Defaulted container \"a\" out of: a, b, setup (init)\n"
        )
    );
    let run = server.exec(&["multi", "-q", "--", "echo", "x"], b"");
    assert_eq!(run.stderr, "");
    let run = server.exec(&["multi", "-c", "b", "--", "echo", "x"], b"");
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    let run = server.exec(&["p", "--", "echo", "x"], b"");
    assert_eq!(run.stderr, "");
}

#[test]
fn failures_are_one_error_line_and_exit_1() {
    let server = Server::start();
    for (args, message) in [
        (
            &["multi", "-c", "nope", "--", "ls"][..],
            "error: container nope is not valid for pod multi out of: a, b, setup (init)\n",
        ),
        (
            &["gone", "--", "ls"][..],
            "error: Error from server (NotFound): pods \"gone\" not found\n",
        ),
        (
            &["p"][..],
            "error: you must specify at least one command for the container\n",
        ),
        (&[][..], "error: pod name must be specified\n"),
        (
            &["p", "ls"][..],
            "error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead\n",
        ),
    ] {
        let run = server.exec(args, b"");
        assert_eq!((run.code, run.stderr.as_str()), (1, message), "{args:?}");
        assert_eq!(run.stdout, "");
    }
}

/// Runs `shell` in a new pseudo-terminal with script(1) (util-linux), so
/// `minipod exec -t` has a real terminal; returns its exit code and output.
fn in_terminal(shell: &str) -> Option<(i32, String)> {
    let output = Command::new("script")
        .args(["-qec", shell, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    Some((
        output.status.code()?,
        String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n"),
    ))
}

fn quote(path: &Path) -> String {
    format!("'{}'", path.display())
}

#[test]
fn a_terminal_is_raw_during_the_session_sized_and_restored() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: script(1) is not installed (util-linux)");
        return;
    }
    let server = Server::start();
    let exec = format!("{BIN} exec --socket {}", quote(&server.socket));
    // The size at the start, and again after the terminal changes (SIGWINCH).
    // The change waits until the first size is out (so minipod is watching
    // for SIGWINCH): its output goes to a file (the size is then read from
    // stdin, still the terminal). A background job's stdin is /dev/null, so
    // its stty names the terminal; and it makes one change only, as
    // `stty cols C rows R` is two changes, two SIGWINCHes.
    let out = quote(&server.socket.with_file_name("size.out"));
    let shell = format!(
        "stty cols 100 rows 30; before=$(stty -g); \
         (for i in $(seq 200); do grep -q 100x30 {out} 2>/dev/null && break; sleep 0.05; done; \
          stty cols 50 </dev/tty) & \
         {exec} -it p -- size 2 >{out}; code=$?; \
         wait; cat {out}; [ \"$before\" = \"$(stty -g)\" ] && echo restored; exit $code"
    );
    let (code, output) = in_terminal(&shell).expect("script runs");
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("100x30\n50x30\n"), "{output:?}");
    assert!(output.contains("restored"), "{output:?}");
    // With a terminal, a TTY is used; the exit code comes through.
    let (code, output) = in_terminal(&format!("{exec} -it p -- tty")).expect("script runs");
    assert_eq!((code, output.trim()), (0, "tty"));
    let (code, output) = in_terminal(&format!("{exec} -it p -- exit 7")).expect("script runs");
    assert_eq!(code, 7, "{output}");
    assert!(
        output.contains("command terminated with exit code 7"),
        "{output:?}"
    );
}
