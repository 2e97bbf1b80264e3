//! Errors. Each message names its own step only; the cause is the `source`.

use std::path::PathBuf;
use std::time::Duration;

/// A network configuration that cannot be found, read or used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot list the CNI conf dir {dir}")]
    ListDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the CNI configuration {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the CNI configuration {path} is larger than {limit} bytes")]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("the CNI configuration {path} is not valid JSON")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("the CNI configuration {path}: {field}: {why}")]
    Invalid {
        path: PathBuf,
        field: String,
        why: String,
    },
    #[error(
        "no pod CIDR is set and every default candidate ({candidates}) overlaps a route of the host: set the node's pod CIDR"
    )]
    NoPodCidr { candidates: String },
    #[error("CNI plugin {plugin:?} not found in {dirs:?}")]
    PluginNotFound { plugin: String, dirs: Vec<PathBuf> },
}

/// A CNI operation that failed, naming the plugin and the command.
#[derive(Debug, thiserror::Error)]
pub enum CniError {
    #[error("the network configuration")]
    Config(#[from] ConfigError),
    #[error("cannot start CNI plugin {plugin} for {command}")]
    Spawn {
        plugin: String,
        command: &'static str,
        source: std::io::Error,
    },
    #[error("CNI plugin {plugin} did not finish {command} within {after:?} (killed)")]
    Timeout {
        plugin: String,
        command: &'static str,
        after: Duration,
    },
    #[error("CNI plugin {plugin} wrote more than {limit} bytes on {stream} for {command}")]
    OutputTooLarge {
        plugin: String,
        command: &'static str,
        stream: &'static str,
        limit: usize,
    },
    /// The plugin's error: its CNI error JSON (`code`, `msg`, `details`)
    /// when it wrote one, else its exit status and stderr.
    #[error("CNI plugin {plugin} failed {command}: {msg} (code {code}){details}{stderr}",
        details = if details.is_empty() { String::new() } else { format!("; {details}") },
        stderr = if stderr.is_empty() { String::new() } else { format!("; stderr: {stderr}") })]
    Plugin {
        plugin: String,
        command: &'static str,
        code: i64,
        msg: String,
        details: String,
        stderr: String,
    },
    #[error("CNI plugin {plugin} gave a result for {command} that minipod cannot use: {why}")]
    BadResult {
        plugin: String,
        command: &'static str,
        why: String,
    },
    #[error("no cached CNI result for {what}: {command} needs it")]
    NoCachedResult { what: String, command: &'static str },
    #[error("cannot {action} the CNI result cache file {path}")]
    Cache {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the CNI result cache file {path} is not valid")]
    CacheJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{field} {value:?} cannot be used: {why}")]
    BadArgument {
        field: &'static str,
        value: String,
        why: &'static str,
    },
}
