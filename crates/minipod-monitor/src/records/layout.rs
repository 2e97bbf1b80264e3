//! The files of a pod's record (see the table in the module's docs).

/// `records` under the node's state directory.
pub const RECORDS_DIR: &str = "records";
pub const POD_FILE: &str = "pod.json";
pub const STATUS_FILE: &str = "status.json";
pub const EVENTS_FILE: &str = "events.jsonl";
pub const MONITOR_FILE: &str = "monitor.json";
pub const SOCKET_FILE: &str = "monitor.sock";
pub const LOG_FILE: &str = "monitor.log";
pub const PAUSE_FILE: &str = "pause.json";
/// The logins of the pod's `imagePullSecrets` (mode 0600), written by
/// whoever creates the record: see [`PullSecrets`].
pub const PULL_SECRETS_FILE: &str = "pull-secrets.json";
pub const CONTAINERS_DIR: &str = "containers";
