//! Where a container's files come from on the host (the pod's directories
//! and its run's overlay directories) and go to inside it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::Namespace;

/// Where the kubelet and containerd put the pod's files inside a container.
pub const ETC_HOSTS: &str = "/etc/hosts";
pub const ETC_HOSTNAME: &str = "/etc/hostname";
pub const RESOLV_CONF: &str = "/etc/resolv.conf";
pub const DEV_SHM: &str = "/dev/shm";

/// The host directories and files of one pod that its containers use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodPaths {
    /// The sandbox's pinned namespaces, each with its file.
    pub namespaces: Vec<(Namespace, PathBuf)>,
    /// The pod's `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf` files.
    pub hosts: PathBuf,
    pub hostname: PathBuf,
    pub resolv_conf: PathBuf,
    /// The pod's `/dev/shm` (a tmpfs shared by all its containers).
    pub shm: PathBuf,
    /// Each volume's host directory (emptyDir) or path (hostPath), by name.
    pub volumes: BTreeMap<String, PathBuf>,
}

/// One run of a container: its own overlay directories.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerDirs {
    pub upper: PathBuf,
    pub work: PathBuf,
    pub rootfs: PathBuf,
    /// The run's termination message file, bind-mounted at the container's
    /// `terminationMessagePath` (the kubelet's per-instance file under the
    /// pod's container directory).
    pub termination_log: PathBuf,
}
