//! The node's settings: where minipod keeps state, logs, images and
//! cgroups, how long CrashLoopBackOff waits, and what is kept back from
//! pods (reservations, for the node's allocatable). From flags, else a
//! config file, else the defaults, so tests and labs can run side by side.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use minipod_lifecycle::backoff::BackoffConfig;
use minipod_plan::capacity::{self, MemoryThreshold, Reservations, SettingError};
use minipod_plan::sysctl::{InvalidSysctlPattern, SysctlAllowlist};
use minipod_runtime::logs::{Rotation, RotationError};
use minipod_runtime::pod::NodeConfig;
use minipod_spec::Quantity;
use minipod_spec::quantity::QuantityError;
use serde::Deserialize;

use crate::duration::{InvalidDuration, parse_duration};
use crate::network::{NetworkSettingError, NetworkSettingsGiven, PodNetworkMode};
use crate::node_ip::{NodeIpError, host_default_ips, parse_node_ips};

/// Flags shared by every command that runs pods.
#[derive(Debug, Clone, Default, Args)]
pub struct NodeArgs {
    /// A YAML file with the node settings below (camelCase keys:
    /// `stateDir`, `runDir`, `logsDir`, `imageRoot`, `cgroupRoot`,
    /// `nodeName`, `nodeIP`, `backoffInitial`, `backoffMax`, `authFile`,
    /// `insecureRegistries`, `imagePullProgressTimeout`, `kubeReserved`,
    /// `systemReserved`, `evictionHard`, `seccompProfileRoot`,
    /// `resolvConf`, `seccompDefault`, `containerLogMaxSize`, `containerLogMaxFiles`,
    /// `podNetwork`, `cniConfDir`, `cniBinDirs`, `podCIDR`, `podBridge`,
    /// `ipForward`);
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
    /// The image store [default: <state-dir>/images].
    #[arg(long, value_name = "DIR", env = "MINIPOD_IMAGE_ROOT")]
    pub image_root: Option<PathBuf>,
    /// The cgroup under which pods go, by QoS class [default: minipod].
    #[arg(long, value_name = "NAME", env = "MINIPOD_CGROUP_ROOT")]
    pub cgroup_root: Option<String>,
    /// This node's name (`spec.nodeName`) [default: the host name].
    #[arg(long, value_name = "NAME")]
    pub node_name: Option<String>,
    /// This node's address, the pods' `status.hostIP`: one IP, or two of
    /// different families (`IPv4,IPv6`), as the kubelet's `--node-ip`
    /// [default: the address of the default route's interface, else
    /// 127.0.0.1].
    #[arg(long, value_name = "IP[,IP]")]
    pub node_ip: Option<String>,
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
    /// A registry request that makes no progress (less than 1 KiB) for this
    /// long fails the pull with ErrImagePull [default: 1m].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub image_pull_progress_timeout: Option<Duration>,
    /// Kept back from pods for the node's own daemons, as the kubelet's
    /// flag: `cpu=500m,memory=1Gi` [default: none].
    #[arg(long, value_name = "RESOURCE=QUANTITY,...")]
    pub kube_reserved: Option<String>,
    /// Kept back from pods for the OS, as the kubelet's flag:
    /// `cpu=500m,memory=1Gi` [default: none].
    #[arg(long, value_name = "RESOURCE=QUANTITY,...")]
    pub system_reserved: Option<String>,
    /// The hard eviction threshold kept out of allocatable, as the
    /// kubelet's flag: `memory.available<100Mi` or `memory.available<10%`
    /// (minipod evicts nothing; the threshold only reserves memory)
    /// [default: memory.available<100Mi].
    #[arg(long, value_name = "memory.available<QUANTITY")]
    pub eviction_hard: Option<String>,
    /// Where `Localhost` seccomp profiles are, as the kubelet's
    /// `--seccomp-profile-root` [default: <state-dir>/seccomp].
    #[arg(long, value_name = "DIR")]
    pub seccomp_profile_root: Option<PathBuf>,
    /// The node's resolver file, the base of the pods' `/etc/resolv.conf`
    /// (the kubelet's `--resolv-conf`) [default: /etc/resolv.conf].
    #[arg(long, value_name = "FILE")]
    pub resolv_conf: Option<PathBuf>,
    /// Confine containers whose pod names no seccomp profile with
    /// `RuntimeDefault`, as the kubelet's `--seccomp-default` [default: off].
    #[arg(long)]
    pub seccomp_default: bool,
    /// The size a container's log file is rotated at, a quantity such as
    /// `10Mi` (the kubelet's `--container-log-max-size`) [default: 10Mi].
    #[arg(long, value_name = "QUANTITY")]
    pub container_log_max_size: Option<String>,
    /// How many log files of a container run are kept, the current one
    /// included; at least 2 (the kubelet's `--container-log-max-files`)
    /// [default: 5].
    #[arg(long, value_name = "COUNT")]
    pub container_log_max_files: Option<usize>,
    /// The pods' network: `auto` (the CNI conf dir's first configuration,
    /// else minipod's default network) or `none` (loopback only)
    /// [default: auto].
    #[arg(long, value_name = "MODE")]
    pub pod_network: Option<PodNetworkMode>,
    /// The CNI configuration directory, as containerd's `conf_dir`
    /// [default: /etc/cni/net.d].
    #[arg(long, value_name = "DIR")]
    pub cni_conf_dir: Option<PathBuf>,
    /// A directory of CNI plugins, searched in order; repeatable
    /// [default: /opt/cni/bin, /usr/lib/cni].
    #[arg(long = "cni-bin-dir", value_name = "DIR")]
    pub cni_bin_dirs: Vec<PathBuf>,
    /// The default network's range, an IPv4 CIDR [default: the first of
    /// 10.88.0.0/16 … 10.84.0.0/16 that the host does not route].
    #[arg(long, value_name = "CIDR")]
    pub pod_cidr: Option<String>,
    /// The default network's bridge [default: minipod0].
    #[arg(long, value_name = "NAME")]
    pub pod_bridge: Option<String>,
    /// Leave the host-wide `net.ipv4.ip_forward` as it is: the default
    /// network turns it on (as the CNI bridge plugin's `isGateway` does),
    /// without which pods reach the host and each other only.
    #[arg(long)]
    pub no_ip_forward: bool,
    /// Unsafe sysctls pods may set besides the safe ones, as the kubelet's
    /// flag: names or prefixes ending in `*`, each in the net or IPC
    /// namespace (`kernel.msg*,net.core.somaxconn`) [default: none].
    #[arg(long, value_name = "PATTERNS", value_delimiter = ',')]
    pub allowed_unsafe_sysctls: Vec<String>,
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
    #[serde(rename = "nodeIP")]
    node_ip: Option<String>,
    backoff_initial: Option<String>,
    backoff_max: Option<String>,
    auth_file: Option<PathBuf>,
    #[serde(default)]
    insecure_registries: Vec<String>,
    image_pull_progress_timeout: Option<String>,
    /// The kubelet's `KubeletConfiguration` maps, with its key names.
    kube_reserved: Option<BTreeMap<String, String>>,
    system_reserved: Option<BTreeMap<String, String>>,
    eviction_hard: Option<BTreeMap<String, String>>,
    seccomp_profile_root: Option<PathBuf>,
    resolv_conf: Option<PathBuf>,
    seccomp_default: Option<bool>,
    container_log_max_size: Option<String>,
    container_log_max_files: Option<usize>,
    pod_network: Option<PodNetworkMode>,
    cni_conf_dir: Option<PathBuf>,
    #[serde(default)]
    cni_bin_dirs: Vec<PathBuf>,
    #[serde(rename = "podCIDR")]
    pod_cidr: Option<String>,
    pod_bridge: Option<String>,
    ip_forward: Option<bool>,
    #[serde(default)]
    allowed_unsafe_sysctls: Vec<String>,
}

/// A node setting that cannot be used; the message names the setting or
/// the file.
#[derive(Debug, thiserror::Error)]
pub enum NodeConfigError {
    #[error("reading {}", path.display())]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a minipod node configuration", path.display())]
    ParseFile {
        path: PathBuf,
        #[source]
        source: yaml_serde::Error,
    },
    /// A duration of the config file, named by its key.
    #[error("{key}")]
    Duration {
        key: &'static str,
        #[source]
        source: InvalidDuration,
    },
    /// A reservation or eviction threshold (the error names its flag or key).
    #[error(transparent)]
    Reservation(#[from] SettingError),
    #[error("containerLogMaxSize: {text:?} is not a quantity")]
    LogMaxSizeNotAQuantity {
        text: String,
        #[source]
        source: QuantityError,
    },
    #[error("containerLogMaxSize: {text:?} must not be negative")]
    LogMaxSizeNegative { text: String },
    /// The log rotation's own checks (the error names its key).
    #[error(transparent)]
    LogRotation(#[from] RotationError),
    /// `--node-ip` or `nodeIP` (the error names which).
    #[error(transparent)]
    NodeIp(#[from] NodeIpError),
    /// A pod network setting (the error names its flag or key).
    #[error(transparent)]
    Network(#[from] NetworkSettingError),
    /// `--allowed-unsafe-sysctls` or `allowedUnsafeSysctls`: the kubelet
    /// refuses to start with a pattern outside the pod's namespaces.
    #[error("allowed unsafe sysctls")]
    AllowedUnsafeSysctls {
        #[source]
        source: InvalidSysctlPattern,
    },
    #[error("the initial back-off ({initial:?}) is longer than the maximum ({max:?})")]
    BackoffOrder { initial: Duration, max: Duration },
}

/// The node, resolved.
#[derive(Debug, Clone)]
pub struct Node {
    pub config: NodeConfig,
    pub backoff: BackoffConfig,
    /// What is kept back from pods: allocatable is the host's capacity
    /// minus these ([`capacity::allocatable`]).
    pub reservations: Reservations,
}

impl NodeArgs {
    /// Flags over the config file over the defaults; `init_program` is the
    /// binary containers' init is re-executed from.
    pub fn resolve(&self, init_program: &Path) -> Result<Node, NodeConfigError> {
        let file = match &self.config {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| NodeConfigError::ReadFile {
                        path: path.clone(),
                        source,
                    })?;
                yaml_serde::from_str::<ConfigFile>(&text).map_err(|source| {
                    NodeConfigError::ParseFile {
                        path: path.clone(),
                        source,
                    }
                })?
            }
            None => ConfigFile::default(),
        };
        let reservations = reservations(self, &file)?;
        let file_duration = |value: &Option<String>, key: &'static str| {
            value
                .as_deref()
                .map(parse_duration)
                .transpose()
                .map_err(|source| NodeConfigError::Duration { key, source })
        };
        let node_name = self
            .node_name
            .clone()
            .or(file.node_name)
            .or_else(minipod_linux::uts::host_name)
            .unwrap_or_else(|| "localhost".into());
        let mut config = NodeConfig::new(init_program, &node_name);
        config.host_ips = match (&self.node_ip, &file.node_ip) {
            (Some(text), _) => parse_node_ips("--node-ip", text)?,
            (None, Some(text)) => parse_node_ips("nodeIP", text)?,
            (None, None) => host_default_ips(),
        };
        if let Some(dir) = self.state_dir.clone().or(file.state_dir) {
            config.image_root = dir.join("images");
            config.registry_auth_file = Some(dir.join("config.json"));
            config.seccomp_profile_root = dir.join("seccomp");
            config.state_dir = dir;
        }
        if let Some(path) = self.auth_file.clone().or(file.auth_file) {
            config.registry_auth_file = Some(path);
        }
        config.insecure_registries = file.insecure_registries;
        config
            .insecure_registries
            .extend(self.insecure_registries.iter().cloned());
        if let Some(timeout) = self.image_pull_progress_timeout.or(file_duration(
            &file.image_pull_progress_timeout,
            "imagePullProgressTimeout",
        )?) {
            config.image_pull_progress_timeout = timeout;
        }
        if let Some(dir) = self
            .seccomp_profile_root
            .clone()
            .or(file.seccomp_profile_root)
        {
            config.seccomp_profile_root = dir;
        }
        if let Some(file) = self.resolv_conf.clone().or(file.resolv_conf) {
            config.host_resolv_conf = file;
        }
        config.seccomp_default = self.seccomp_default || file.seccomp_default == Some(true);
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
        config.network = NetworkSettingsGiven {
            mode: self.pod_network.or(file.pod_network),
            cni_conf_dir: self.cni_conf_dir.clone().or(file.cni_conf_dir),
            cni_bin_dirs: if self.cni_bin_dirs.is_empty() {
                file.cni_bin_dirs
            } else {
                self.cni_bin_dirs.clone()
            },
            pod_cidr: (self.pod_cidr.clone().map(|v| ("--pod-cidr", v)))
                .or(file.pod_cidr.map(|v| ("podCIDR", v))),
            pod_bridge: (self.pod_bridge.clone().map(|v| ("--pod-bridge", v)))
                .or(file.pod_bridge.map(|v| ("podBridge", v))),
            ip_forward: if self.no_ip_forward {
                Some(false)
            } else {
                file.ip_forward
            },
        }
        .resolve()?;
        let allowed_unsafe = if self.allowed_unsafe_sysctls.is_empty() {
            &file.allowed_unsafe_sysctls
        } else {
            &self.allowed_unsafe_sysctls
        };
        config.allowed_sysctls = SysctlAllowlist::with_unsafe(allowed_unsafe)
            .map_err(|source| NodeConfigError::AllowedUnsafeSysctls { source })?;
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
            return Err(NodeConfigError::BackoffOrder {
                initial: backoff.initial,
                max: backoff.max,
            });
        }
        Ok(Node {
            config,
            backoff,
            reservations,
        })
    }
}

/// The reservations: each flag over its config key over the kubelet's default.
fn reservations(args: &NodeArgs, file: &ConfigFile) -> Result<Reservations, SettingError> {
    let reserved = |flag: &Option<String>,
                    flag_name: &str,
                    key: &Option<BTreeMap<String, String>>,
                    key_name: &str| {
        match (flag, key) {
            (Some(text), _) => capacity::parse_reserved_flag(flag_name, text),
            (None, Some(map)) => capacity::reserved_from_map(key_name, map),
            (None, None) => Ok(capacity::CpuAndMemory::default()),
        }
    };
    let eviction_hard_memory = match (&args.eviction_hard, &file.eviction_hard) {
        (Some(text), _) => capacity::parse_eviction_flag("--eviction-hard", text)?,
        (None, Some(map)) => capacity::eviction_from_map("evictionHard", map)?,
        (None, None) => MemoryThreshold::DEFAULT,
    };
    Ok(Reservations {
        kube_reserved: reserved(
            &args.kube_reserved,
            "--kube-reserved",
            &file.kube_reserved,
            "kubeReserved",
        )?,
        system_reserved: reserved(
            &args.system_reserved,
            "--system-reserved",
            &file.system_reserved,
            "systemReserved",
        )?,
        eviction_hard_memory,
    })
}

/// The node's log rotation from `containerLogMaxSize` (a quantity) and
/// `containerLogMaxFiles`, each defaulting as the kubelet's.
fn log_rotation(
    max_size: Option<&str>,
    max_files: Option<usize>,
) -> Result<Rotation, NodeConfigError> {
    let defaults = Rotation::default();
    let max_size = match max_size {
        None => defaults.max_size(),
        Some(text) => {
            let quantity = Quantity::parse(text).map_err(|source| {
                NodeConfigError::LogMaxSizeNotAQuantity {
                    text: text.to_owned(),
                    source,
                }
            })?;
            u64::try_from(quantity.value()).map_err(|_| NodeConfigError::LogMaxSizeNegative {
                text: text.to_owned(),
            })?
        }
    };
    Ok(Rotation::new(
        max_size,
        max_files.unwrap_or(defaults.max_files()),
    )?)
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
