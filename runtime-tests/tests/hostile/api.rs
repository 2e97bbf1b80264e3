//! Attacks on the API server and on manifest input (docs/security/api.md).
//!
//! * `a_slow_body_is_cut_off_and_others_are_served`: a client sends its body
//!   one byte at a time; the daemon answers 408 and closes the connection
//!   within the body timeout, and serves another client meanwhile; a
//!   connection that sends nothing is closed after the header timeout.
//! * `watches_past_the_cap_get_429_and_descriptors_stay_bounded`: watches past
//!   the long-running cap get 429 `TooManyRequests` (a Status, `Retry-After`)
//!   while the earlier ones stay open; a hundred idle connections leave the
//!   daemon's descriptor count within the connection cap.
//! * `listen_beyond_loopback_needs_the_flag`: a non-loopback `--listen` (or
//!   "every address") is refused with a clear message, before anything is
//!   created.
//! * `listen_beyond_loopback_serves_a_certificate_naming_the_address`: with
//!   the flag, in a network namespace of the test's own, curl verifies the
//!   server certificate for the non-loopback address.
//! * `a_json_body_with_a_repeated_key_is_refused`: 400, as the API server's
//!   strict decoding answers, instead of the last value kept.
//! * `a_repeated_map_key_is_refused_with_its_path_and_line` and
//!   `a_block_sequence_bomb_is_refused_in_bounded_memory`: `minipod plan` on
//!   hostile files.
//!
//! The daemon is driven over its unix socket with hand-written HTTP/1.1, so
//! every byte and every timing is the test's own.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use minipod_runtime_tests::{
    MARKER_VAR, ScratchNode, root_on_the_host_or_skip, serial, text, wait_until,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The daemon under test.
const DAEMON: &str = env!("CARGO_BIN_EXE_minipodd-under-test");
/// The real `minipod` command line.
const CLI: &str = env!("CARGO_BIN_EXE_minipod-cli");
/// Generous: the v2 run is an emulated VM.
const PATIENCE: Duration = Duration::from_secs(120);

/// A daemon of its own on a scratch node, serving only its unix socket.
struct Daemon {
    scratch: ScratchNode,
    child: Option<Child>,
}

impl Daemon {
    /// Starts `minipodd` with `extra` flags and waits until its socket is there.
    fn start(extra: &[&str]) -> Daemon {
        let scratch = ScratchNode::new("hostile-api");
        let log = fs::File::create(scratch.path("daemon.log")).expect("the daemon's log");
        let child = Command::new(DAEMON)
            .args(["--monitor-program", CLI, "--no-tcp"])
            .args(scratch.node_flags())
            .args(["--node-name", "hostile-api"])
            .args(extra)
            .env(MARKER_VAR, &scratch.marker)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start minipodd");
        let mut daemon = Daemon {
            scratch,
            child: Some(child),
        };
        let socket = daemon.socket();
        wait_until("minipodd serves its socket", PATIENCE, || {
            if let Some(status) = daemon.child.as_mut().and_then(|c| c.try_wait().ok()?) {
                panic!("minipodd exited at start ({status}):\n{}", daemon.log());
            }
            UnixStream::connect(&socket).is_ok()
        });
        daemon
    }

    fn socket(&self) -> PathBuf {
        self.scratch.path("run/minipodd.sock")
    }

    fn log(&self) -> String {
        fs::read_to_string(self.scratch.path("daemon.log")).unwrap_or_default()
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// The daemon's open descriptors.
    fn open_fds(&self) -> usize {
        fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .expect("the daemon's fds")
            .count()
    }

    fn connect(&self) -> UnixStream {
        let stream = UnixStream::connect(self.socket()).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        stream
    }

    /// A whole GET answered with its status line.
    fn get_status_line(&self, path: &str) -> String {
        let mut stream = self.connect();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: minipod\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read the answer");
        answer.lines().next().unwrap_or_default().to_owned()
    }

    /// SIGTERM, exit 0, nothing left, the directory removed.
    fn stop(mut self) {
        let mut child = self.child.take().expect("running");
        kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).expect("SIGTERM");
        let status = minipod_runtime_tests::wait_for_exit(&mut child, PATIENCE);
        assert!(status.success(), "minipodd: {status}\n{}", self.log());
        self.scratch.check_nothing_left();
        self.scratch.remove_dir();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            let _ = fs::remove_dir_all(&self.scratch.dir);
        }
    }
}

/// Reads until the end of the response headers; returns them.
fn read_head(stream: &mut UnixStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => head.push(byte[0]),
            Err(e) => panic!("no answer ({e}); read so far: {:?}", text(&head)),
        }
    }
    text(&head)
}

/// A client that sends a pod's body one byte every 200 ms is answered 408
/// and disconnected within the body timeout (2 s here); another client is
/// served meanwhile. Without the deadline the connection stays open as long
/// as the client likes.
#[test]
fn a_slow_body_is_cut_off_and_others_are_served() {
    if !root_on_the_host_or_skip("a_slow_body_is_cut_off_and_others_are_served") {
        return;
    }
    let _serial = serial();
    let daemon = Daemon::start(&[
        "--request-body-timeout",
        "2s",
        "--request-header-timeout",
        "2s",
    ]);
    let mut slow = daemon.connect();
    slow.set_nonblocking(true).expect("nonblocking");
    let body = br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"slow"},"spec":{"containers":[{"name":"a","image":"busybox:1.36"}]}}"#;
    // A length the client never reaches: even without a deadline no pod is made.
    write!(
        slow,
        "POST /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: minipod\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len() + 1000
    )
    .expect("send the head");
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut closed = false;
    let mut served_another = false;
    for byte in body.iter() {
        if slow.write_all(&[*byte]).is_err() {
            closed = true; // the server has closed its end
        }
        let mut buf = [0u8; 4096];
        loop {
            match slow.read(&mut buf) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        if !served_another {
            assert_eq!(daemon.get_status_line("/api/v1/pods"), "HTTP/1.1 200 OK");
            served_another = true;
        }
        if closed {
            break;
        }
        // The attack itself: one byte, then a pause.
        sleep(Duration::from_millis(200));
    }
    let took = started.elapsed();
    let answer = text(&answer);
    assert!(
        closed,
        "the slow client was still connected after {took:?} (answer so far: {answer:?})"
    );
    assert!(
        took < Duration::from_secs(15),
        "cut off only after {took:?}"
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"reason\":\"Timeout\""), "{answer}");
    assert!(served_another);
    assert_eq!(daemon.get_status_line("/api/v1/pods"), "HTTP/1.1 200 OK");

    // A connection that sends nothing is closed after the header timeout.
    let mut idle = daemon.connect();
    let started = Instant::now();
    let mut byte = [0u8; 1];
    match idle.read(&mut byte) {
        Ok(0) => {}
        other => panic!(
            "an idle connection got {other:?} after {:?}",
            started.elapsed()
        ),
    }
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "idle connection closed only after {:?}",
        started.elapsed()
    );
    daemon.stop();
}

/// A JSON body that repeats a key is refused (400, strict decoding), as the
/// API server refuses it, instead of keeping the last value. A Secret, so
/// that nothing runs even where it is accepted.
#[test]
fn a_json_body_with_a_repeated_key_is_refused() {
    if !root_on_the_host_or_skip("a_json_body_with_a_repeated_key_is_refused") {
        return;
    }
    let _serial = serial();
    let daemon = Daemon::start(&[]);
    let body = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"twice"},"data":{"k":"YQ==","k":"Yg=="}}"#;
    let mut stream = daemon.connect();
    write!(
        stream,
        "POST /api/v1/namespaces/default/secrets HTTP/1.1\r\nHost: minipod\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("the answer");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("duplicate key data.k"), "{answer}");
    assert!(
        !answer.contains("YQ==") && !answer.contains("Yg=="),
        "{answer}"
    );
    assert_eq!(
        daemon.get_status_line("/api/v1/namespaces/default/secrets/twice"),
        "HTTP/1.1 404 Not Found"
    );
    daemon.stop();
}

/// Five watches fill the cap: the next five get 429 with a Status and
/// `Retry-After`, the first five stay open. Then a hundred idle connections:
/// the daemon holds at most its connection cap (20 here) of them.
#[test]
fn watches_past_the_cap_get_429_and_descriptors_stay_bounded() {
    if !root_on_the_host_or_skip("watches_past_the_cap_get_429_and_descriptors_stay_bounded") {
        return;
    }
    let _serial = serial();
    let daemon = Daemon::start(&[
        "--max-long-running-requests",
        "5",
        "--max-connections",
        "20",
    ]);
    let baseline = daemon.open_fds();
    let watch = |stream: &mut UnixStream| {
        write!(
            stream,
            "GET /api/v1/pods?watch=1 HTTP/1.1\r\nHost: minipod\r\n\r\n"
        )
        .expect("send");
        read_head(stream)
    };
    let mut watches = Vec::new();
    for _ in 0..5 {
        let mut stream = daemon.connect();
        let head = watch(&mut stream);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        watches.push(stream);
    }
    for _ in 0..5 {
        let mut stream = daemon.connect();
        let head = watch(&mut stream);
        assert!(
            head.starts_with("HTTP/1.1 429"),
            "watch past the cap: {head}"
        );
        assert!(
            head.to_ascii_lowercase().contains("retry-after: 1"),
            "{head}"
        );
        let mut status = vec![0u8; 1024];
        let n = stream.read(&mut status).expect("the Status");
        let status = text(&status[..n]);
        assert!(status.contains("\"kind\":\"Status\""), "{status}");
        assert!(
            status.contains("\"reason\":\"TooManyRequests\""),
            "{status}"
        );
    }
    // The first five are still open: no end of stream, only silence.
    for stream in &mut watches {
        stream.set_nonblocking(true).expect("nonblocking");
        let mut buf = [0u8; 64];
        match stream.read(&mut buf) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            other => panic!("an admitted watch ended: {other:?}"),
        }
    }

    let idle: Vec<UnixStream> = (0..100).map(|_| daemon.connect()).collect();
    // Let the daemon accept all it will (it accepts at once when it can).
    sleep(Duration::from_millis(500));
    let held = daemon.open_fds().saturating_sub(baseline);
    assert!(
        held <= 20 + 5,
        "the daemon holds {held} more descriptors with 5 watches and 100 idle connections (cap 20)"
    );
    drop(idle);
    drop(watches);
    wait_until("the daemon serves again", PATIENCE, || {
        daemon.get_status_line("/api/v1/pods") == "HTTP/1.1 200 OK"
    });
    daemon.stop();
}

/// `--listen` on an address other hosts can reach needs
/// `--listen-beyond-loopback`; "every address" is refused outright. Both
/// before anything is created (no traffic leaves loopback: the address is
/// refused before any bind).
#[test]
fn listen_beyond_loopback_needs_the_flag() {
    if !root_on_the_host_or_skip("listen_beyond_loopback_needs_the_flag") {
        return;
    }
    let _serial = serial();
    let scratch = ScratchNode::new("hostile-listen");
    let _remove = RemoveOnDrop(scratch.dir.clone());
    for (address, expected) in [
        ("192.0.2.1:6443", "192.0.2.1 is not a loopback address"),
        ("0.0.0.0:6443", "0.0.0.0 means every address"),
    ] {
        let log = scratch.path("stderr.log");
        let mut child = Command::new(DAEMON)
            .args(["--monitor-program", CLI])
            .args(scratch.node_flags())
            .args(["--listen", address])
            .env(MARKER_VAR, &scratch.marker)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).expect("the log"))
            .spawn()
            .expect("run minipodd");
        // Killed (and the test failed) if it serves instead of refusing.
        let status = minipod_runtime_tests::wait_for_exit(&mut child, Duration::from_secs(30));
        let stderr = fs::read_to_string(&log).expect("the log");
        assert!(!status.success(), "{address} accepted:\n{stderr}");
        assert!(stderr.contains(expected), "{address}: {stderr}");
        assert!(
            stderr.contains("--listen-beyond-loopback") || address.starts_with("0.0.0.0"),
            "{stderr}"
        );
        assert!(
            !scratch.path("state").exists(),
            "state created before the refusal"
        );
    }
    scratch.check_nothing_left();
}

/// Removes a directory when dropped, also after a failed assertion.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A network namespace of the test's own, removed when dropped.
struct Netns(String);

impl Netns {
    fn new() -> Netns {
        let name = format!("minipod-hostile-api-{}", std::process::id());
        // A namespace left by an earlier, killed run of this process id.
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        let netns = Netns(name);
        netns.ip(&["netns", "add", &netns.0]);
        netns
    }

    fn ip(&self, args: &[&str]) {
        let status = Command::new("ip").args(args).status().expect("run ip");
        assert!(status.success(), "ip {args:?}: {status}");
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// With `--listen-beyond-loopback`, the daemon serves on a non-loopback
/// address (in a network namespace of the test's own, so nothing reaches
/// the host's network) with a certificate that names it: curl, which checks
/// the certificate against the kubeconfig's CA, gets `/version`.
#[test]
fn listen_beyond_loopback_serves_a_certificate_naming_the_address() {
    if !root_on_the_host_or_skip("listen_beyond_loopback_serves_a_certificate_naming_the_address") {
        return;
    }
    let installed = |tool: &str| Command::new(tool).arg("-V").output().is_ok();
    if !installed("ip") || !installed("curl") {
        let _ = writeln!(std::io::stderr(), "SKIPPED: needs ip and curl");
        return;
    }
    let _serial = serial();
    let netns = Netns::new();
    netns.ip(&["-n", &netns.0, "link", "set", "lo", "up"]);
    netns.ip(&["-n", &netns.0, "addr", "add", "192.0.2.7/32", "dev", "lo"]);
    let scratch = ScratchNode::new("hostile-listen-ok");
    let _remove = RemoveOnDrop(scratch.dir.clone());
    let log = fs::File::create(scratch.path("daemon.log")).expect("the log");
    let child = Command::new("ip")
        .args(["netns", "exec", &netns.0, DAEMON, "--monitor-program", CLI])
        .args(scratch.node_flags())
        .args(["--listen", "192.0.2.7:0", "--listen-beyond-loopback"])
        .env(MARKER_VAR, &scratch.marker)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start minipodd in the namespace");
    // `ip netns exec` execs the daemon: the child is the daemon itself.
    let mut daemon = Daemon {
        scratch,
        child: Some(child),
    };
    let kubeconfig = daemon.scratch.path("run/kubeconfig");
    wait_until("minipodd writes its kubeconfig", PATIENCE, || {
        if let Some(status) = daemon.child.as_mut().and_then(|c| c.try_wait().ok()?) {
            panic!("minipodd exited at start ({status}):\n{}", daemon.log());
        }
        kubeconfig.exists()
    });
    let config = fs::read_to_string(&kubeconfig).expect("the kubeconfig");
    let field = |key: &str| {
        config
            .lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .map(|v| v.trim().trim_matches('"').to_owned())
            .unwrap_or_else(|| panic!("no {key} in the kubeconfig"))
    };
    let server = field("server:");
    assert!(server.starts_with("https://192.0.2.7:"), "{server}");
    let token = field("token:");
    let ca = daemon.scratch.path("state/pki/ca.crt");
    let output = Command::new("ip")
        .args(["netns", "exec", &netns.0, "curl", "-sS", "--max-time", "30"])
        .arg("--cacert")
        .arg(&ca)
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .arg(format!("{server}/version"))
        .output()
        .expect("run curl");
    assert!(
        output.status.success(),
        "curl: {}\n{}",
        text(&output.stderr),
        daemon.log()
    );
    assert!(
        text(&output.stdout).contains("gitVersion"),
        "{}",
        text(&output.stdout)
    );
    daemon.stop();
    drop(netns);
}

/// `minipod plan -f FILE` in `dir`: (success, stderr).
fn plan(dir: &Path, file: &str) -> (bool, String, Duration, Option<u64>) {
    let started = Instant::now();
    let mut child = Command::new(CLI)
        .args(["plan", "-f", file])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run minipod plan");
    // The child's peak memory (VmHWM, kB), read while it runs: it only grows.
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = None;
    while child.try_wait().expect("waitpid").is_none() {
        if let Some(kb) = fs::read_to_string(&status_file).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        }) {
            peak_kb = Some(kb);
        }
        assert!(
            started.elapsed() < PATIENCE,
            "minipod plan still running after {PATIENCE:?}"
        );
        sleep(Duration::from_millis(5));
    }
    let output = child.wait_with_output().expect("the output");
    (
        output.status.success(),
        text(&output.stderr),
        started.elapsed(),
        peak_kb,
    )
}

/// A label given twice is refused with its path and line, as the API server
/// refuses it; neither value is printed.
#[test]
fn a_repeated_map_key_is_refused_with_its_path_and_line() {
    if !root_on_the_host_or_skip("a_repeated_map_key_is_refused_with_its_path_and_line") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(
        dir.path().join("dup.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  annotations:\n    token: hunter2\n    token: hunter3\nspec:\n  containers:\n  - name: app\n    image: busybox:1.36\n",
    )
    .expect("write");
    let (ok, stderr, _, _) = plan(dir.path(), "dup.yaml");
    assert!(!ok, "a repeated key was accepted");
    assert!(
        stderr.contains("dup.yaml:7:5: duplicate key \"metadata.annotations.token\""),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter"), "a value was printed: {stderr}");
}

/// 3 MB of `- - - ...` (1.5 million nested sequences) is refused quickly,
/// with a clear error, in well under 100 MB (main took 471 MB and 4 s).
#[test]
fn a_block_sequence_bomb_is_refused_in_bounded_memory() {
    if !root_on_the_host_or_skip("a_block_sequence_bomb_is_refused_in_bounded_memory") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(
        dir.path().join("bomb.yaml"),
        format!("{}x\n", "- ".repeat(1_500_000)),
    )
    .expect("write");
    // And a flat one: 700 000 one-node lines.
    fs::write(dir.path().join("flat.yaml"), "- a\n".repeat(700_000)).expect("write");
    for (file, expected) in [
        (
            "bomb.yaml",
            "bomb.yaml:1:201: collections nested deeper than 100 levels",
        ),
        ("flat.yaml", "more than 100000 YAML nodes"),
    ] {
        let (ok, stderr, took, peak_kb) = plan(dir.path(), file);
        let peak_kb = peak_kb.unwrap_or(0);
        assert!(
            peak_kb < 100 * 1024,
            "{file}: minipod plan peaked at {peak_kb} kB (in {took:?})"
        );
        assert!(took < Duration::from_secs(20), "{file}: took {took:?}");
        assert!(!ok, "{file} accepted");
        assert!(stderr.contains(expected), "{file}: {stderr}");
    }
}
