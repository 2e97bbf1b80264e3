//! Running one plugin: a binary, an environment, a document on stdin, a
//! result on stdout (SPEC.md "Section 2: Execution Protocol":
//! <https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol>).
//!
//! [`PluginExec`] is the seam: the chain logic in [`crate::invoke`] is tested
//! with a fake, and runs for real with [`CommandExec`].

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The most a plugin may write on stdout (a result is a few KiB).
pub const MAX_STDOUT: usize = 1 << 20;
/// How much of a plugin's stderr is kept for the error message (the rest is
/// read and dropped, so the plugin never blocks on a full pipe).
pub const KEPT_STDERR: usize = 8 << 10;

/// One execution of a plugin.
#[derive(Debug, Clone)]
pub struct PluginCall<'a> {
    pub binary: &'a Path,
    /// The whole environment the plugin gets (nothing is inherited).
    pub env: &'a [(String, String)],
    pub stdin: &'a [u8],
}

/// How a plugin ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginOutput {
    pub success: bool,
    pub stdout: Vec<u8>,
    /// At most [`KEPT_STDERR`] bytes.
    pub stderr: Vec<u8>,
}

/// Why a plugin produced no output.
#[derive(Debug)]
pub enum ExecFailure {
    Spawn(std::io::Error),
    /// It ran out of time and was killed with its process group.
    Timeout,
    /// It wrote more than [`MAX_STDOUT`] bytes on stdout (and was killed).
    StdoutTooLarge,
}

/// Something that runs plugins.
pub trait PluginExec {
    fn exec(&self, call: &PluginCall<'_>, timeout: Duration) -> Result<PluginOutput, ExecFailure>;
}

/// The real executor: `std::process::Command`, the plugin in a process group
/// of its own so that a timeout kills what it started too (bridge runs
/// host-local, portmap runs iptables).
#[derive(Debug, Clone, Copy, Default)]
pub struct CommandExec;

enum Piece {
    Stdout(std::io::Result<Vec<u8>>),
    Stderr(Vec<u8>),
}

impl PluginExec for CommandExec {
    fn exec(&self, call: &PluginCall<'_>, timeout: Duration) -> Result<PluginOutput, ExecFailure> {
        self.exec_with_args(call, &[], timeout)
    }
}

impl CommandExec {
    /// [`PluginExec::exec`] with arguments after the binary: a CNI plugin
    /// takes none, other programs run the same way do (`nft -f -`,
    /// [`crate::nat::nft`]).
    pub fn exec_with_args(
        &self,
        call: &PluginCall<'_>,
        args: &[&str],
        timeout: Duration,
    ) -> Result<PluginOutput, ExecFailure> {
        let deadline = Instant::now() + timeout;
        let mut child = Command::new(call.binary)
            .args(args)
            .env_clear()
            .envs(call.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(ExecFailure::Spawn)?;
        let pgid = child.id();
        let (tx, rx) = mpsc::channel();
        if let Some(mut stdin) = child.stdin.take() {
            let input = call.stdin.to_vec();
            // A plugin may exit without reading all of stdin: the write then
            // fails with EPIPE, which is not the plugin's error.
            thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
        }
        if let Some(stdout) = child.stdout.take() {
            let tx = tx.clone();
            thread::spawn(move || {
                let mut out = Vec::new();
                let r = stdout
                    .take(MAX_STDOUT as u64 + 1)
                    .read_to_end(&mut out)
                    .map(|_| out);
                let _ = tx.send(Piece::Stdout(r));
            });
        }
        if let Some(mut stderr) = child.stderr.take() {
            thread::spawn(move || {
                let mut kept = Vec::new();
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = stderr.read(&mut buf) {
                    let room = KEPT_STDERR.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
                let _ = tx.send(Piece::Stderr(kept));
            });
        } else {
            drop(tx);
        }

        // Both pipes reach end-of-file when the plugin and everything it
        // started have exited (or closed them).
        let mut stdout = None;
        let mut stderr = None;
        let mut failure = None;
        while stdout.is_none() || stderr.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Piece::Stdout(Ok(out))) if out.len() > MAX_STDOUT => {
                    failure = Some(ExecFailure::StdoutTooLarge);
                    break;
                }
                Ok(Piece::Stdout(out)) => stdout = Some(out.unwrap_or_default()),
                Ok(Piece::Stderr(err)) => stderr = Some(err),
                Err(_) => {
                    failure = Some(ExecFailure::Timeout);
                    break;
                }
            }
        }
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) if failure.is_none() => break Some(status),
                Ok(None) if failure.is_none() && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(1));
                }
                Ok(None) if failure.is_none() => {
                    failure = Some(ExecFailure::Timeout);
                }
                _ => break None,
            }
        };
        if let Some(failure) = failure {
            kill_group(pgid);
            let _ = child.kill();
            let _ = child.wait();
            return Err(failure);
        }
        Ok(PluginOutput {
            success: status.is_some_and(|s| s.success()),
            stdout: stdout.unwrap_or_default(),
            stderr: stderr.unwrap_or_default(),
        })
    }
}

/// Kills the plugin and everything it started: it runs as the leader of
/// its own process group (`process_group(0)` above). The group exists
/// until its last member is reaped, and the leader is not reaped yet, so
/// the group id cannot name anyone else's processes.
fn kill_group(pgid: u32) {
    if let Ok(pgid) = i32::try_from(pgid) {
        let _ = minipod_linux::kill::kill_group(pgid, minipod_linux::signals::Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, body: &str) -> std::path::PathBuf {
        let path = dir.join("plugin");
        fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    fn env() -> Vec<(String, String)> {
        vec![
            ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
            ("CNI_COMMAND".to_owned(), "ADD".to_owned()),
        ]
    }

    #[test]
    fn stdin_env_stdout_and_stderr_go_through() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = script(
            dir.path(),
            r#"read line; echo "$CNI_COMMAND $line"; echo warn >&2; [ -z "$HOME" ]"#,
        );
        let out = CommandExec
            .exec(
                &PluginCall {
                    binary: &bin,
                    env: &env(),
                    stdin: b"{}\n",
                },
                Duration::from_secs(10),
            )
            .expect("runs");
        assert!(out.success);
        assert_eq!(out.stdout, b"ADD {}\n");
        assert_eq!(out.stderr, b"warn\n");
    }

    #[test]
    fn a_failing_plugin_is_not_a_success() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = script(dir.path(), r#"echo '{"code":11,"msg":"no"}'; exit 1"#);
        let out = CommandExec
            .exec(
                &PluginCall {
                    binary: &bin,
                    env: &env(),
                    stdin: b"",
                },
                Duration::from_secs(10),
            )
            .expect("runs");
        assert!(!out.success);
        assert!(out.stdout.starts_with(b"{\"code\":11"));
    }

    #[test]
    fn a_slow_plugin_and_its_children_are_killed_at_the_deadline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = dir.path().join("child-pid");
        let bin = script(
            dir.path(),
            &format!("sleep 30 & echo $! > {}; wait", marker.display()),
        );
        let start = Instant::now();
        let r = CommandExec.exec(
            &PluginCall {
                binary: &bin,
                env: &env(),
                stdin: b"",
            },
            Duration::from_millis(300),
        );
        assert!(matches!(r, Err(ExecFailure::Timeout)), "{r:?}");
        assert!(start.elapsed() < Duration::from_secs(10));
        let pid = fs::read_to_string(&marker).expect("marker");
        let stat = Path::new("/proc").join(pid.trim()).join("stat");
        // The grandchild is gone, or a zombie until init reaps it. SIGKILL
        // is delivered, not waited for: give it a generous moment.
        let gone = || fs::read_to_string(&stat).map_or(true, |s| s.contains(") Z "));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !gone() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        assert!(gone(), "sleep {} survived", pid.trim());
    }

    #[test]
    fn a_missing_binary_is_a_spawn_failure() {
        let r = CommandExec.exec(
            &PluginCall {
                binary: Path::new("/nonexistent/plugin"),
                env: &env(),
                stdin: b"",
            },
            Duration::from_secs(1),
        );
        assert!(matches!(r, Err(ExecFailure::Spawn(_))));
    }
}
