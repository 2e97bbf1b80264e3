//! The node's settings: where minipod keeps state, logs, images and
//! cgroups, and how long CrashLoopBackOff waits. From flags, else a config
//! file, else the defaults, so tests and labs can run side by side.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use minipod_lifecycle::backoff::BackoffConfig;
use minipod_runtime::logs::Rotation;
use minipod_runtime::pod::NodeConfig;
use minipod_spec::Quantity;
use serde::Deserialize;

/// Flags shared by every command that runs pods.
#[derive(Debug, Clone, Default, Args)]
pub struct NodeArgs {
    /// A YAML file with the node settings below (camelCase keys:
    /// `stateDir`, `runDir`, `logsDir`, `imageRoot`, `cgroupRoot`,
    /// `nodeName`, `backoffInitial`, `backoffMax`, `authFile`,
    /// `insecureRegistries`, `containerLogMaxSize`, `containerLogMaxFiles`);
    /// flags win over it.
    #[arg(long, value_name = "FILE", env = "MINIPOD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Pod records and container root filesystems [default: /var/lib/minipod].
    #[arg(long, value_name = "DIR", env = "MINIPOD_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Runtime state: namespaces, sockets [default: /run/minipod].
    #[arg(long, value_name = "DIR", env = "MINIPOD_RUN_DIR")]
    pub run_dir: Option<PathBuf>,
    /// Container logs, in the kubelet's layout [default: /var/log/pods].
    #[arg(long, value_name = "DIR", env = "MINIPOD_LOGS_DIR")]
    pub logs_dir: Option<PathBuf>,
    /// The image store [default: /var/lib/minipod/images].
    #[arg(long, value_name = "DIR", env = "MINIPOD_IMAGE_ROOT")]
    pub image_root: Option<PathBuf>,
    /// The cgroup under which pods go, by QoS class [default: minipod].
    #[arg(long, value_name = "NAME", env = "MINIPOD_CGROUP_ROOT")]
    pub cgroup_root: Option<String>,
    /// This node's name (`spec.nodeName`) [default: the host name].
    #[arg(long, value_name = "NAME")]
    pub node_name: Option<String>,
    /// CrashLoopBackOff's first delay, e.g. `10s`, `500ms` [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub backoff_initial: Option<Duration>,
    /// CrashLoopBackOff's longest delay [default: 5m].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub backoff_max: Option<Duration>,
    /// Registry logins for pulls, Docker's `config.json` format
    /// [default: <state-dir>/config.json; a missing file means none].
    #[arg(long, value_name = "FILE", env = "MINIPOD_AUTH_FILE")]
    pub auth_file: Option<PathBuf>,
    /// A registry (`host[:port]`) that may be pulled from over plain HTTP,
    /// besides loopback ones. Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
    /// The size a container's log file is rotated at, a quantity such as
    /// `10Mi` (the kubelet's `--container-log-max-size`) [default: 10Mi].
    #[arg(long, value_name = "QUANTITY")]
    pub container_log_max_size: Option<String>,
    /// How many log files of a container run are kept, the current one
    /// included; at least 2 (the kubelet's `--container-log-max-files`)
    /// [default: 5].
    #[arg(long, value_name = "COUNT")]
    pub container_log_max_files: Option<usize>,
}

/// The config file's keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ConfigFile {
    state_dir: Option<PathBuf>,
    run_dir: Option<PathBuf>,
    logs_dir: Option<PathBuf>,
    image_root: Option<PathBuf>,
    cgroup_root: Option<String>,
    node_name: Option<String>,
    backoff_initial: Option<String>,
    backoff_max: Option<String>,
    auth_file: Option<PathBuf>,
    #[serde(default)]
    insecure_registries: Vec<String>,
    container_log_max_size: Option<String>,
    container_log_max_files: Option<usize>,
}

/// The node, resolved.
#[derive(Debug, Clone)]
pub struct Node {
    pub config: NodeConfig,
    pub backoff: BackoffConfig,
}

impl NodeArgs {
    /// Flags over the config file over the defaults; `init_program` is the
    /// binary containers' init is re-executed from.
    pub fn resolve(&self, init_program: &Path) -> Result<Node> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                yaml_serde::from_str::<ConfigFile>(&text).with_context(|| {
                    format!("{}: not a minipod node configuration", path.display())
                })?
            }
            None => ConfigFile::default(),
        };
        let file_duration = |value: &Option<String>, key: &str| -> Result<Option<Duration>> {
            value
                .as_deref()
                .map(parse_duration)
                .transpose()
                .map_err(|e| anyhow::anyhow!("{key}: {e}"))
        };
        let node_name = self
            .node_name
            .clone()
            .or(file.node_name)
            .unwrap_or_else(host_name);
        let mut config = NodeConfig::new(init_program, &node_name);
        if let Some(dir) = self.state_dir.clone().or(file.state_dir) {
            config.image_root = dir.join("images");
            config.registry_auth_file = Some(dir.join("config.json"));
            config.state_dir = dir;
        }
        if let Some(path) = self.auth_file.clone().or(file.auth_file) {
            config.registry_auth_file = Some(path);
        }
        config.insecure_registries = file.insecure_registries;
        config
            .insecure_registries
            .extend(self.insecure_registries.iter().cloned());
        if let Some(dir) = self.image_root.clone().or(file.image_root) {
            config.image_root = dir;
        }
        if let Some(dir) = self.run_dir.clone().or(file.run_dir) {
            config.run_dir = dir;
        }
        if let Some(dir) = self.logs_dir.clone().or(file.logs_dir) {
            config.logs_dir = dir;
        }
        if let Some(root) = self.cgroup_root.clone().or(file.cgroup_root) {
            config.cgroup_root = root;
        }
        config.log_rotation = log_rotation(
            self.container_log_max_size
                .as_deref()
                .or(file.container_log_max_size.as_deref()),
            self.container_log_max_files
                .or(file.container_log_max_files),
        )?;
        let defaults = BackoffConfig::default();
        let backoff = BackoffConfig {
            initial: self
                .backoff_initial
                .or(file_duration(&file.backoff_initial, "backoffInitial")?)
                .unwrap_or(defaults.initial),
            max: self
                .backoff_max
                .or(file_duration(&file.backoff_max, "backoffMax")?)
                .unwrap_or(defaults.max),
        };
        if backoff.initial > backoff.max {
            bail!(
                "the initial back-off ({:?}) is longer than the maximum ({:?})",
                backoff.initial,
                backoff.max
            );
        }
        Ok(Node { config, backoff })
    }
}

/// The node's log rotation from `containerLogMaxSize` (a quantity) and
/// `containerLogMaxFiles`, each defaulting as the kubelet's.
fn log_rotation(max_size: Option<&str>, max_files: Option<usize>) -> Result<Rotation> {
    let defaults = Rotation::default();
    let max_size = match max_size {
        None => defaults.max_size(),
        Some(text) => {
            let quantity = Quantity::parse(text).map_err(|e| {
                anyhow::anyhow!("containerLogMaxSize: {text:?} is not a quantity: {e}")
            })?;
            u64::try_from(quantity.value()).map_err(|_| {
                anyhow::anyhow!("containerLogMaxSize: {text:?} must not be negative")
            })?
        }
    };
    Ok(Rotation::new(
        max_size,
        max_files.unwrap_or(defaults.max_files()),
    )?)
}

fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".into())
}

/// A duration as Go writes them: a sequence of numbers with units `ms`,
/// `s`, `m`, `h` (`1m30s`, `500ms`, `10s`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {text:?} (use e.g. 10s, 500ms, 1m30s)");
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let part = match &rest[..unit_len] {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number.saturating_mul(60)),
            "h" => Duration::from_secs(number.saturating_mul(3600)),
            _ => return Err(bad()),
        };
        total = total.saturating_add(part);
        rest = &rest[unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_go_writes_them() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        for bad in ["", "10", "s", "1.5s", "10x", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn flags_win_over_the_config_file_over_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("node.yaml");
        std::fs::write(
            &file,
            "stateDir: /tmp/s\nlogsDir: /tmp/l\nbackoffInitial: 1s\nbackoffMax: 8s\n",
        )
        .unwrap();
        let args = NodeArgs {
            config: Some(file),
            logs_dir: Some("/tmp/flag-logs".into()),
            backoff_max: Some(Duration::from_secs(4)),
            ..NodeArgs::default()
        };
        let node = args.resolve(Path::new("/bin/minipod")).unwrap();
        assert_eq!(node.config.state_dir, Path::new("/tmp/s"));
        assert_eq!(node.config.image_root, Path::new("/tmp/s/images"));
        assert_eq!(node.config.logs_dir, Path::new("/tmp/flag-logs"));
        assert_eq!(node.config.run_dir, Path::new("/run/minipod"));
        assert_eq!(node.backoff.initial, Duration::from_secs(1));
        assert_eq!(node.backoff.max, Duration::from_secs(4));
    }

    #[test]
    fn log_rotation_comes_from_flags_or_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("node.yaml");
        std::fs::write(&file, "containerLogMaxSize: 1Mi\ncontainerLogMaxFiles: 3\n").unwrap();
        let from_file = NodeArgs {
            config: Some(file.clone()),
            ..NodeArgs::default()
        };
        let rotation = from_file
            .resolve(Path::new("/x"))
            .unwrap()
            .config
            .log_rotation;
        assert_eq!((rotation.max_size(), rotation.max_files()), (1 << 20, 3));
        let flags = NodeArgs {
            config: Some(file),
            container_log_max_size: Some("500k".into()),
            ..NodeArgs::default()
        };
        let rotation = flags.resolve(Path::new("/x")).unwrap().config.log_rotation;
        assert_eq!((rotation.max_size(), rotation.max_files()), (500_000, 3));
        let defaults = NodeArgs::default().resolve(Path::new("/x")).unwrap();
        assert_eq!(defaults.config.log_rotation, Rotation::default());
    }

    #[test]
    fn bad_log_rotation_settings_name_the_setting() {
        for (size, files, expected) in [
            (
                Some("ten"),
                None,
                "containerLogMaxSize: \"ten\" is not a quantity",
            ),
            (
                Some("-1Mi"),
                None,
                "containerLogMaxSize: \"-1Mi\" must not be negative",
            ),
            (Some("0"), None, "containerLogMaxSize: must be more than 0"),
            (None, Some(1), "containerLogMaxFiles: must be at least 2"),
        ] {
            let args = NodeArgs {
                container_log_max_size: size.map(String::from),
                container_log_max_files: files,
                ..NodeArgs::default()
            };
            let error = format!("{:#}", args.resolve(Path::new("/x")).unwrap_err());
            assert!(error.contains(expected), "{error}");
        }
    }

    #[test]
    fn an_unknown_config_key_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("node.yaml");
        std::fs::write(&file, "stateDri: /tmp/s\n").unwrap();
        let args = NodeArgs {
            config: Some(file),
            ..NodeArgs::default()
        };
        let error = format!("{:#}", args.resolve(Path::new("/x")).unwrap_err());
        assert!(error.contains("stateDri"), "{error}");
    }
}
