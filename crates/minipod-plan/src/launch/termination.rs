//! The termination message: a file of its own per run of a container,
//! bind-mounted at its `terminationMessagePath`, read back into
//! `state.terminated.message` when the run ends.
//!
//! The kubelet's rules (`pkg/kubelet/kuberuntime/kuberuntime_container.go`):
//! * `makeMounts` creates an empty file, mode 0666, for each run under the
//!   pod's container directory and mounts it at `terminationMessagePath`
//!   (when the path is not empty), after the volume mounts;
//! * on exit, `getTerminationMessage` reads at most the last
//!   `MaxContainerTerminationMessageLength` (4096) bytes of that file
//!   (`pkg/util/tail.ReadAtMost` keeps the end of a longer file);
//! * with `terminationMessagePolicy: FallbackToLogsOnError`, a container
//!   that failed (exit code not 0) and left the file empty (or missing)
//!   gets instead the last `MaxContainerTerminationMessageLogLines` (80)
//!   lines of its log, of which the last
//!   `MaxContainerTerminationMessageLogLength` (2048) bytes are kept
//!   (`readLastStringFromContainerLogs`);
//! * an empty result sets no message.
//!
//! Pure: the runtime creates and reads the files.

use std::path::PathBuf;

use minipod_spec::enums::TerminationMessagePolicy;
use minipod_spec::model::Container;

use super::paths::ContainerDirs;

/// `kubecontainer.MaxContainerTerminationMessageLength`.
pub const MAX_MESSAGE_LENGTH: usize = 4096;
/// `kubecontainer.MaxContainerTerminationMessageLogLines`.
pub const MAX_LOG_LINES: usize = 80;
/// `kubecontainer.MaxContainerTerminationMessageLogLength`.
pub const MAX_LOG_LENGTH: usize = 2048;

/// Where a run's termination message comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminationMessage {
    /// The run's file on the host (what the container sees at its
    /// `terminationMessagePath`).
    pub host_file: PathBuf,
    /// `terminationMessagePolicy: FallbackToLogsOnError`.
    pub fallback_to_logs: bool,
}

impl TerminationMessage {
    /// Whether the log's tail stands in for the file: the kubelet falls
    /// back only for a failed run whose file is empty or missing.
    pub fn falls_back_to_logs(&self, exit_code: i32, file_is_empty: bool) -> bool {
        self.fallback_to_logs && exit_code != 0 && file_is_empty
    }
}

/// The container's `terminationMessagePath`, when it has one (the API
/// server defaults it to `/dev/termination-log`; an empty one mounts
/// nothing, as in `makeMounts`).
pub(super) fn termination_message_path(container: &Container) -> Option<&str> {
    container
        .termination_message_path
        .as_deref()
        .filter(|p| !p.is_empty())
}

/// Where the run of `container` in `dirs` takes its termination message
/// from, if it has a `terminationMessagePath`.
pub fn termination_message(
    container: &Container,
    dirs: &ContainerDirs,
) -> Option<TerminationMessage> {
    termination_message_path(container)?;
    Some(TerminationMessage {
        host_file: dirs.termination_log.clone(),
        fallback_to_logs: container.termination_message_policy
            == Some(TerminationMessagePolicy::FallbackToLogsOnError),
    })
}

/// The last `max` bytes of `bytes` (what `tail.ReadAtMost` and the
/// kubelet's circular buffer keep).
pub fn last_bytes(bytes: &[u8], max: usize) -> &[u8] {
    &bytes[bytes.len().saturating_sub(max)..]
}

/// The message the status shows for `bytes`: the kubelet makes a Go
/// string of them, which JSON encoding shows with each invalid UTF-8
/// sequence replaced by U+FFFD; none when empty.
pub fn message_text(bytes: &[u8]) -> Option<String> {
    (!bytes.is_empty()).then(|| String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(path: Option<&str>, policy: Option<TerminationMessagePolicy>) -> Container {
        Container {
            name: "app".into(),
            termination_message_path: path.map(str::to_owned),
            termination_message_policy: policy,
            ..Container::default()
        }
    }

    fn dirs() -> ContainerDirs {
        ContainerDirs {
            termination_log: "/state/c/app/0/termination-log".into(),
            ..ContainerDirs::default()
        }
    }

    #[test]
    fn a_path_gets_the_runs_file_and_an_empty_one_gets_none() {
        use TerminationMessagePolicy::*;
        let cases = [
            (Some("/dev/termination-log"), Some(File), Some(false)),
            (Some("/tmp/msg"), Some(FallbackToLogsOnError), Some(true)),
            (Some(""), Some(FallbackToLogsOnError), None),
            (None, Some(File), None),
        ];
        for (path, policy, want) in cases {
            let got = termination_message(&container(path, policy), &dirs());
            assert_eq!(
                got,
                want.map(|fallback_to_logs| TerminationMessage {
                    host_file: "/state/c/app/0/termination-log".into(),
                    fallback_to_logs,
                }),
                "{path:?}"
            );
        }
    }

    #[test]
    fn only_a_failed_run_with_an_empty_file_falls_back_to_its_logs() {
        let source = |fallback_to_logs| TerminationMessage {
            host_file: PathBuf::new(),
            fallback_to_logs,
        };
        // (policy falls back, exit code, file empty, want)
        let cases = [
            (true, 1, true, true),
            (true, 137, true, true),
            (true, 0, true, false),
            (true, 1, false, false),
            (false, 1, true, false),
        ];
        for (fallback, code, empty, want) in cases {
            assert_eq!(
                source(fallback).falls_back_to_logs(code, empty),
                want,
                "{fallback} {code} {empty}"
            );
        }
    }

    #[test]
    fn the_end_is_kept_and_bytes_become_text() {
        assert_eq!(last_bytes(b"abcdef", 4), b"cdef");
        assert_eq!(last_bytes(b"ab", 4), b"ab");
        assert_eq!(last_bytes(b"", 4), b"");
        assert_eq!(message_text(b""), None);
        assert_eq!(message_text(b"done\n").as_deref(), Some("done\n"));
        assert_eq!(
            message_text(b"bad \xff byte").as_deref(),
            Some("bad \u{fffd} byte")
        );
    }
}
