//! Where this node keeps things, and what it runs containers with.

use std::path::PathBuf;

/// Where this node keeps things, and what it runs containers with.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Persistent state: volumes and container overlays (`/var/lib/minipod`).
    pub state_dir: PathBuf,
    /// Runtime state: namespace pins, the pod's files, `/dev/shm` (`/run/minipod`).
    pub run_dir: PathBuf,
    /// Container logs, the kubelet's layout (`/var/log/pods`).
    pub logs_dir: PathBuf,
    /// How large a container run's log may grow: the kubelet's
    /// `containerLogMaxSize` and `containerLogMaxFiles` (10Mi, 5).
    pub log_rotation: crate::logs::Rotation,
    /// The cgroup root's name (`minipod`).
    pub cgroup_root: String,
    /// The image store (`/var/lib/minipod/images`).
    pub image_root: PathBuf,
    /// Our own binary: the containers' init and the sandbox holder.
    pub init_program: PathBuf,
    /// `spec.nodeName` as the downward API shows it.
    pub node_name: String,
    /// The node's addresses, one per IP family, the primary first: the
    /// pods' `status.hostIPs` (the kubelet's `GetNodeHostIPs`).
    pub host_ips: Vec<std::net::IpAddr>,
    /// The node's resolver file, the base of a pod's `/etc/resolv.conf`.
    pub host_resolv_conf: PathBuf,
    /// `pids.max` of each container cgroup (none: unlimited).
    pub pids_limit: Option<i64>,
    /// The node's registry logins, Docker's `config.json` format
    /// (`/var/lib/minipod/config.json`, as the kubelet reads
    /// `/var/lib/kubelet/config.json`); a missing file means none.
    pub registry_auth_file: Option<PathBuf>,
    /// Registries (`host[:port]`) that may be pulled from over plain HTTP,
    /// besides loopback ones.
    pub insecure_registries: Vec<String>,
    /// How long a registry request may go without progress before the pull
    /// fails (`minipod_registry::limits`).
    pub image_pull_progress_timeout: std::time::Duration,
    /// Where `Localhost` seccomp profiles are (the kubelet's
    /// `--seccomp-profile-root`; `/var/lib/minipod/seccomp`).
    pub seccomp_profile_root: PathBuf,
    /// `RuntimeDefault` for containers whose pod says nothing (the
    /// kubelet's `--seccomp-default`; off by default, as there).
    pub seccomp_default: bool,
    /// The pods' network: the CNI conf dir's configuration, else minipod's
    /// default network (`docs/networking.md`). `None`: pods get loopback
    /// only (no address the host reaches, no `hostPort`).
    pub network: Option<minipod_cni::NodeNetworkSettings>,
    /// The sysctls pods may set: the kubelet's safe ones and the node's
    /// `--allowed-unsafe-sysctls` (`minipod_plan::sysctl`).
    pub allowed_sysctls: minipod_plan::sysctl::SysctlAllowlist,
}

impl NodeConfig {
    /// The default layout, with `init_program` as the helper binary.
    pub fn new(init_program: impl Into<PathBuf>, node_name: &str) -> NodeConfig {
        NodeConfig {
            state_dir: "/var/lib/minipod".into(),
            run_dir: "/run/minipod".into(),
            logs_dir: "/var/log/pods".into(),
            log_rotation: crate::logs::Rotation::default(),
            cgroup_root: minipod_linux::cgroup::DEFAULT_ROOT.into(),
            image_root: "/var/lib/minipod/images".into(),
            init_program: init_program.into(),
            node_name: node_name.into(),
            // What a node without a configured address shows; the node's
            // settings (`minipod_node`) resolve the real one.
            host_ips: vec![std::net::Ipv4Addr::LOCALHOST.into()],
            host_resolv_conf: "/etc/resolv.conf".into(),
            pids_limit: None,
            registry_auth_file: Some("/var/lib/minipod/config.json".into()),
            insecure_registries: Vec::new(),
            image_pull_progress_timeout: minipod_registry::limits::DEFAULT_PROGRESS_TIMEOUT,
            seccomp_profile_root: "/var/lib/minipod/seccomp".into(),
            seccomp_default: false,
            network: Some(minipod_cni::NodeNetworkSettings::default()),
            allowed_sysctls: minipod_plan::sysctl::SysctlAllowlist::default(),
        }
    }
}
