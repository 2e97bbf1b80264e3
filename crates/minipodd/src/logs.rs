//! `pods/log`: a container's CRI log file, read as `kubectl logs` shows it,
//! and followed while the container runs.
//!
//! The monitor writes each container run's output to
//! `<logs>/<namespace>_<pod>_<uid>/<container>/<restartCount>.log` (the
//! kubelet's layout, see docs/logs.md). Reading needs no monitor: the
//! daemon reads the files itself, so logs survive the monitor and the
//! daemon alike.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use minipod_api::backend::{ByteStream, LogOptions};
use minipod_runtime::logs::{Follower, LogQuery, parse_line, read_entries, render};
use tokio::io::AsyncWriteExt;

/// How often a followed log is checked for new lines.
const FOLLOW_PERIOD: Duration = Duration::from_millis(200);

/// The most read from a log file at once: memory stays bounded, however
/// fast the container writes.
const READ_CAP: usize = 1 << 20;

/// Whether the container still runs (a followed log ends once it stopped
/// and everything it wrote was sent).
pub type StillRunning = Arc<dyn Fn() -> bool + Send + Sync>;

/// The log at `path` as `options` select it.
pub fn stream(path: PathBuf, options: LogOptions, still_running: StillRunning) -> ByteStream {
    let (mut writer, reader) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let limit = options.limit_bytes.unwrap_or(u64::MAX);
        let mut sent: u64 = 0;
        let query = LogQuery {
            stream: None,
            since: options
                .since_seconds
                .map(|s| SystemTime::now() - Duration::from_secs(s)),
            tail: options
                .tail_lines
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        };
        // The file is opened once and read through that descriptor: when
        // the pod is deleted its log files go, but what the container wrote
        // last can still be read and sent. As on a node, only the current
        // file is read: rotated files are not part of `kubectl logs`. And
        // only what it holds now: a container that floods would otherwise
        // keep this first read going (and growing) through rotation after
        // rotation. What comes later is for `-f`.
        let mut follower = Follower::new(&path);
        let size_now = std::fs::metadata(&path).map_or(0, |m| m.len());
        let mut first = Vec::new();
        while (first.len() as u64) < size_now
            && matches!(follower.read_new(&mut first, READ_CAP), Ok(n) if n > 0)
        {}
        let entries = query.apply(read_entries(&first[..]).unwrap_or_default());
        drop(first);
        if !send(
            &mut writer,
            &render(&entries, options.timestamps),
            &mut sent,
            limit,
        )
        .await
        {
            return;
        }
        if !options.follow {
            return;
        }
        let mut lines = Vec::new();
        loop {
            let running = still_running();
            // Everything new, in bounded pieces, across rotations (the
            // follower opens the new file once the old one is read).
            loop {
                lines.clear();
                if !matches!(follower.read_new(&mut lines, READ_CAP), Ok(n) if n > 0) {
                    break;
                }
                let entries: Vec<_> = lines
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.is_empty())
                    .filter_map(|l| parse_line(l).ok())
                    .collect();
                if !send(
                    &mut writer,
                    &render(&entries, options.timestamps),
                    &mut sent,
                    limit,
                )
                .await
                {
                    return;
                }
            }
            if !running {
                return;
            }
            tokio::time::sleep(FOLLOW_PERIOD).await;
        }
    });
    Box::pin(reader)
}

/// Sends `bytes` within the byte limit; false when done (limit reached or
/// the client went away).
async fn send(
    writer: &mut tokio::io::DuplexStream,
    bytes: &[u8],
    sent: &mut u64,
    limit: u64,
) -> bool {
    let room = usize::try_from(limit.saturating_sub(*sent)).unwrap_or(usize::MAX);
    let chunk = &bytes[..bytes.len().min(room)];
    if writer.write_all(chunk).await.is_err() {
        return false;
    }
    *sent += chunk.len() as u64;
    *sent < limit
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    const LOG: &str = "2026-01-01T00:00:00.000000001Z stdout F one\n2026-01-01T00:00:01.000000001Z stderr F two\n2026-01-01T00:00:02.000000001Z stdout P thr\n2026-01-01T00:00:02.100000001Z stdout F ee\n";

    async fn read(stream: ByteStream) -> String {
        let mut out = String::new();
        let mut stream = stream;
        stream.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn a_log_reads_as_kubectl_shows_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        std::fs::write(&path, LOG).unwrap();
        let done: StillRunning = Arc::new(|| false);
        let all = read(stream(path.clone(), LogOptions::default(), done.clone())).await;
        assert_eq!(all, "one\ntwo\nthree\n");
        let tail = LogOptions {
            tail_lines: Some(1),
            timestamps: true,
            ..LogOptions::default()
        };
        let last = read(stream(path, tail, done)).await;
        assert_eq!(last, "2026-01-01T00:00:02.100000001Z ee\n");
    }

    #[tokio::test]
    async fn a_followed_log_goes_on_in_the_new_file_after_a_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        std::fs::write(&path, "2026-01-01T00:00:00.000000001Z stdout F old\n").unwrap();
        let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = Arc::clone(&running);
        let still: StillRunning = Arc::new(move || flag.load(std::sync::atomic::Ordering::SeqCst));
        let follow = LogOptions {
            follow: true,
            ..LogOptions::default()
        };
        let mut s = stream(path.clone(), follow, still);
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"old\n");
        std::fs::rename(&path, dir.path().join("0.log.20260101-000000.000000000")).unwrap();
        std::fs::write(&path, "2026-01-01T00:00:01.000000001Z stdout F new\n").unwrap();
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"new\n");
        running.store(false, std::sync::atomic::Ordering::SeqCst);
        let mut rest = String::new();
        s.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "");
    }

    #[tokio::test]
    async fn a_followed_log_streams_new_lines_until_the_container_stops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        std::fs::write(&path, "").unwrap();
        let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = Arc::clone(&running);
        let still: StillRunning = Arc::new(move || flag.load(std::sync::atomic::Ordering::SeqCst));
        let follow = LogOptions {
            follow: true,
            ..LogOptions::default()
        };
        let mut s = stream(path.clone(), follow, still);
        std::fs::write(&path, "2026-01-01T00:00:00.000000001Z stdout F later\n").unwrap();
        let mut buf = [0u8; 6];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"later\n");
        running.store(false, std::sync::atomic::Ordering::SeqCst);
        let mut rest = String::new();
        s.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "");
    }
}
