//! Container output as CRI-format log files, in the kubelet's layout.
//!
//! One file per run of a container (see [`PodLogs::container_log`]):
//!
//! ```text
//! <root>/<namespace>_<pod name>_<pod uid>/<container name>/<restart count>.log
//! ```
//!
//! holding one line per piece of output (see [`writer`]):
//!
//! ```text
//! 2016-10-06T00:17:09.669794202Z stdout F hello, world
//! 2016-10-06T00:17:09.669794202Z stderr P no newline yet
//! ```
//!
//! * [`writer`]: formats chunks of a container's stdout and stderr into such
//!   lines ([`LogWriter`]), and a blocking [`pump`] that reads one pipe to
//!   its end through a shared writer. Where the pumps run (threads, tokio's
//!   blocking pool) is the caller's choice.
//! * [`reader`]: parses the lines back ([`parse_line`], [`read_entries`]),
//!   joins partial pieces ([`join`]), selects by stream, `since` and `tail`
//!   ([`LogQuery`]) and prints them as `kubectl logs` does ([`render`]).
//! * [`rotation`]: the file rotated as it would grow past the node's
//!   `containerLogMaxSize`, keeping `containerLogMaxFiles` files
//!   ([`RotatingFile`]).
//! * [`follow`]: new lines of a log as they come, across rotations
//!   ([`Follower`], for `kubectl logs -f`).
//! * [`timestamp`]: RFC 3339 timestamps with nanoseconds, in UTC.
//!
//! The format is the CRI's (`k8s.io/cri-api` `LogStreamType`, `LogTag`):
//! what containerd and CRI-O write and the kubelet reads for `kubectl logs`.
//! See `docs/logs.md`.

pub mod follow;
pub mod reader;
pub mod rotation;
pub mod timestamp;
pub mod writer;

use std::path::{Path, PathBuf};

pub use follow::Follower;
pub use reader::{Entry, LogQuery, Message, ParseError, join, parse_line, read_entries, render};
pub use rotation::{RotatingFile, Rotation, RotationError};
pub use writer::{LogWriter, MAX_LINE, PumpReport, open_log_file, pump};

/// The directory the kubelet keeps pod logs in. minipod's own root is the
/// caller's choice; this is the reference.
pub const KUBELET_POD_LOGS_DIR: &str = "/var/log/pods";

/// Which standard stream a piece of output came from (CRI `LogStreamType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    /// `stdout` or `stderr`, as written in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    /// The stream named by a log field (exactly `stdout` or `stderr`).
    pub fn from_bytes(field: &[u8]) -> Option<Stream> {
        match field {
            b"stdout" => Some(Stream::Stdout),
            b"stderr" => Some(Stream::Stderr),
            _ => None,
        }
    }
}

impl std::fmt::Display for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a log line ends a line of the container's output (CRI `LogTag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tag {
    /// `P`: a piece of a line; the next piece of the same stream continues it.
    Partial,
    /// `F`: the last (or only) piece of a line: the output had a newline here.
    Full,
}

impl Tag {
    /// `P` or `F`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tag::Partial => "P",
            Tag::Full => "F",
        }
    }
}

/// The pod a log file belongs to: the three names of its directory.
///
/// The names come from an admitted pod (DNS labels and subdomains, a UUID),
/// so none holds a `/` or is `.` or `..`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodLogs<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
}

impl PodLogs<'_> {
    /// `<root>/<namespace>_<name>_<uid>`: the pod's log directory, as the
    /// kubelet names it (`BuildPodLogsDirectory`).
    pub fn dir(&self, root: &Path) -> PathBuf {
        root.join(format!("{}_{}_{}", self.namespace, self.name, self.uid))
    }

    /// `<pod dir>/<container>`: one directory per container of the pod.
    pub fn container_dir(&self, root: &Path, container: &str) -> PathBuf {
        self.dir(root).join(container)
    }

    /// `<pod dir>/<container>/<restart count>.log`: the file of one run of
    /// a container (the first run is `0.log`).
    pub fn container_log(&self, root: &Path, container: &str, restart_count: u32) -> PathBuf {
        self.container_dir(root, container)
            .join(format!("{restart_count}.log"))
    }
}

/// A running copy of one container run's stdout and stderr into its log file.
#[derive(Debug)]
pub struct LogCopy {
    stdout: std::thread::JoinHandle<std::io::Result<PumpReport>>,
    stderr: std::thread::JoinHandle<std::io::Result<PumpReport>>,
}

/// Copies a container's stdout and stderr (the read ends of its pipes) into
/// the CRI log file at `path` (made if missing, appended to), one thread per
/// stream, until both streams end: when the container and every process that
/// inherited them have exited. One writer is shared, so lines of the two
/// streams land whole and in time order. The file is rotated as `rotation`
/// says.
pub fn copy_to_file(
    path: &Path,
    rotation: Rotation,
    stdout: std::os::fd::OwnedFd,
    stderr: std::os::fd::OwnedFd,
) -> std::io::Result<LogCopy> {
    copy_to_file_and(path, rotation, stdout, stderr, None)
}

/// Also shows a container's output somewhere else as it comes (`minipod
/// run` prints it): called with each chunk read, then with an empty chunk
/// when the stream ends.
pub type Tee = std::sync::Arc<dyn Fn(Stream, &[u8]) + Send + Sync>;

/// [`copy_to_file`], handing every chunk to `tee` too.
pub fn copy_to_file_and(
    path: &Path,
    rotation: Rotation,
    stdout: std::os::fd::OwnedFd,
    stderr: std::os::fd::OwnedFd,
    tee: Option<Tee>,
) -> std::io::Result<LogCopy> {
    let writer = std::sync::Arc::new(std::sync::Mutex::new(LogWriter::new(RotatingFile::open(
        path, rotation,
    )?)));
    let spawn = |fd: std::os::fd::OwnedFd, stream: Stream| {
        let writer = std::sync::Arc::clone(&writer);
        let tee = tee.clone();
        std::thread::Builder::new()
            .name(format!("log-{stream}"))
            .spawn(move || {
                let report = writer::pump_and(std::fs::File::from(fd), stream, &writer, |chunk| {
                    if let Some(tee) = &tee {
                        tee(stream, chunk);
                    }
                });
                if let Some(tee) = &tee {
                    tee(stream, &[]);
                }
                report
            })
    };
    Ok(LogCopy {
        stdout: spawn(stdout, Stream::Stdout)?,
        stderr: spawn(stderr, Stream::Stderr)?,
    })
}

impl LogCopy {
    /// Waits until both streams have ended; returns what each pump saw.
    pub fn wait(self) -> std::io::Result<(PumpReport, PumpReport)> {
        let join = |handle: std::thread::JoinHandle<std::io::Result<PumpReport>>| {
            handle
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("a log pump panicked")))
        };
        Ok((join(self.stdout)?, join(self.stderr)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_kubelet_layout() {
        let pod = PodLogs {
            namespace: "default",
            name: "web",
            uid: "0c8f1b9e-2d0a-4d6c-9d43-5b7c0f1e2a33",
        };
        let root = Path::new(KUBELET_POD_LOGS_DIR);
        assert_eq!(
            pod.dir(root),
            Path::new("/var/log/pods/default_web_0c8f1b9e-2d0a-4d6c-9d43-5b7c0f1e2a33")
        );
        assert_eq!(
            pod.container_log(root, "server", 0),
            Path::new(
                "/var/log/pods/default_web_0c8f1b9e-2d0a-4d6c-9d43-5b7c0f1e2a33/server/0.log"
            )
        );
        assert_eq!(
            pod.container_log(Path::new("/run/minipod/logs"), "sidecar", 12),
            Path::new(
                "/run/minipod/logs/default_web_0c8f1b9e-2d0a-4d6c-9d43-5b7c0f1e2a33/sidecar/12.log"
            )
        );
    }

    #[test]
    fn stream_names() {
        assert_eq!(Stream::from_bytes(b"stdout"), Some(Stream::Stdout));
        assert_eq!(Stream::from_bytes(b"stderr"), Some(Stream::Stderr));
        assert_eq!(Stream::from_bytes(b"stdin"), None);
        assert_eq!(Stream::from_bytes(b"Stdout"), None);
        assert_eq!(Stream::Stderr.to_string(), "stderr");
    }
}
