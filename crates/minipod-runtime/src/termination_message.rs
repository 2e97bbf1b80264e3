//! A run's termination message, read back when it ends: the file the
//! container wrote at its `terminationMessagePath`, or with
//! `FallbackToLogsOnError` the tail of its log
//! (`minipod_plan::launch::termination` has the kubelet's rules and links).
//!
//! Both files are minipod's own on the host: the container sees the
//! message file only through a bind mount, so it can write its content
//! but not replace it or make it a symlink to a host file; it is still read
//! without following a symlink and at most [`MAX_MESSAGE_LENGTH`] bytes.

use std::io;
use std::path::Path;

use minipod_linux::file_tail::read_tail_nofollow;
use minipod_plan::launch::{
    MAX_LOG_LENGTH, MAX_LOG_LINES, MAX_MESSAGE_LENGTH, TerminationMessage, last_bytes, message_text,
};

use crate::logs::{self, LogQuery};

/// How much of the end of the log is read for its last [`MAX_LOG_LINES`]
/// lines: each log line holds at most [`logs::MAX_LINE`] bytes of output
/// and its timestamp, stream and tag.
const LOG_READ_LIMIT: usize = MAX_LOG_LINES * (logs::MAX_LINE + 64);

/// Creates the run's empty message file, mode 0666 whatever the umask
/// (as `makeMounts` does, so that a non-root container can write it).
/// The file must not exist yet: its directory is the run's, made fresh.
pub fn create_file(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let file = std::fs::File::create_new(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o666))
}

/// The message of a run that exited with `exit_code`, its output logged
/// at `log`: none when there is nothing to show.
pub fn read(source: &TerminationMessage, exit_code: i32, log: &Path) -> Option<String> {
    let file = match read_tail_nofollow(&source.host_file, MAX_MESSAGE_LENGTH) {
        Ok(data) => data,
        // Gone (the pod's directories removed first): as empty, like the
        // kubelet's `os.IsNotExist`.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Some(format!(
                "Error on reading termination log {}: {e}",
                source.host_file.display()
            ));
        }
    };
    if !source.falls_back_to_logs(exit_code, file.is_empty()) {
        return message_text(&file);
    }
    match log_tail(log) {
        Ok(tail) => message_text(&tail),
        Err(e) => Some(format!(
            "Error on reading termination message from logs: {e}"
        )),
    }
}

/// The last [`MAX_LOG_LENGTH`] bytes of the output of the last
/// [`MAX_LOG_LINES`] lines of the log at `log`, both streams, as
/// `readLastStringFromContainerLogs` takes them.
fn log_tail(log: &Path) -> io::Result<Vec<u8>> {
    let data = read_tail_nofollow(log, LOG_READ_LIMIT)?;
    // A read that starts inside a line drops that line's beginning.
    let whole_lines = if data.len() == LOG_READ_LIMIT {
        data.iter()
            .position(|&b| b == b'\n')
            .map_or(&data[..0], |i| &data[i + 1..])
    } else {
        &data[..]
    };
    let entries = logs::read_entries(whole_lines)?;
    let query = LogQuery {
        tail: Some(MAX_LOG_LINES),
        ..LogQuery::default()
    };
    let rendered = logs::render(&query.apply(entries), false);
    Ok(last_bytes(&rendered, MAX_LOG_LENGTH).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const LINE: &str = "2016-10-06T00:17:09.669794202Z";

    fn source(dir: &Path, fallback_to_logs: bool) -> TerminationMessage {
        TerminationMessage {
            host_file: dir.join("termination-log"),
            fallback_to_logs,
        }
    }

    fn log_of(dir: &Path, lines: impl IntoIterator<Item = String>) -> std::path::PathBuf {
        let path = dir.join("0.log");
        let text: String = lines.into_iter().map(|l| format!("{l}\n")).collect();
        fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn the_file_is_created_empty_and_writable_by_anyone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("termination-log");
        create_file(&path).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!((meta.len(), meta.permissions().mode() & 0o777), (0, 0o666));
        assert!(
            create_file(&path).is_err(),
            "an existing file is not reused"
        );
    }

    #[test]
    fn the_file_wins_and_its_end_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let src = source(dir.path(), true);
        let log = log_of(dir.path(), [format!("{LINE} stdout F from the log")]);
        fs::write(&src.host_file, "bye").unwrap();
        assert_eq!(read(&src, 1, &log).as_deref(), Some("bye"));
        let long = format!("{}{}", "a".repeat(10), "b".repeat(MAX_MESSAGE_LENGTH));
        fs::write(&src.host_file, &long).unwrap();
        assert_eq!(read(&src, 0, &log), Some("b".repeat(MAX_MESSAGE_LENGTH)));
    }

    #[test]
    fn an_empty_file_falls_back_to_the_logs_only_on_failure_and_by_policy() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_of(
            dir.path(),
            [
                format!("{LINE} stdout F out"),
                format!("{LINE} stderr P par"),
                format!("{LINE} stderr F tial"),
            ],
        );
        let src = source(dir.path(), true);
        create_file(&src.host_file).unwrap();
        assert_eq!(read(&src, 2, &log).as_deref(), Some("out\npartial\n"));
        assert_eq!(read(&src, 0, &log), None);
        assert_eq!(read(&source(dir.path(), false), 2, &log), None);
        // A missing file counts as empty.
        fs::remove_file(&src.host_file).unwrap();
        assert_eq!(read(&src, 2, &log).as_deref(), Some("out\npartial\n"));
    }

    #[test]
    fn the_log_tail_is_the_last_80_lines_then_the_last_2048_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let src = source(dir.path(), true);
        let lines =
            |n: usize, width: usize| (0..n).map(move |i| format!("{LINE} stdout F {i:0width$}"));
        let log = log_of(dir.path(), lines(100, 3));
        let want: String = (20..100).map(|i| format!("{i:03}\n")).collect();
        assert_eq!(read(&src, 1, &log), Some(want));

        let log = log_of(dir.path(), lines(80, 99));
        let got = read(&src, 1, &log).unwrap();
        assert_eq!(got.len(), MAX_LOG_LENGTH);
        assert!(got.ends_with(&format!("{:099}\n", 79)), "{got:?}");
    }

    #[test]
    fn a_symlink_at_the_message_file_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let src = source(dir.path(), false);
        fs::write(dir.path().join("host-secret"), "secret").unwrap();
        std::os::unix::fs::symlink(dir.path().join("host-secret"), &src.host_file).unwrap();
        let got = read(&src, 1, &dir.path().join("0.log")).unwrap();
        assert!(got.starts_with("Error on reading termination log"), "{got}");
        assert!(!got.contains("secret"), "{got}");
    }
}
