//! What a container's init receives (as JSON, from `minipod-linux`) to
//! turn itself into the container.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Namespace;

/// Everything init needs to turn itself into the container's process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerConfig {
    /// Namespace files of the pod sandbox to join: (`net`|`ipc`|`uts`, path).
    pub join_namespaces: Vec<(Namespace, PathBuf)>,
    pub rootfs: Rootfs,
    /// Bind mounts (volumes, /etc/hosts, ...) in the order to make them.
    pub mounts: Vec<BindMount>,
    pub args: Vec<String>,
    /// `NAME=value`.
    pub env: Vec<String>,
    pub cwd: String,
    pub user: User,
    /// Capability names (`CAP_CHOWN`, ...) the process keeps.
    pub capabilities: Vec<String>,
    /// `allowPrivilegeEscalation: false`: set `no_new_privs`, so no setuid
    /// binary or file capability can raise privileges (Kubernetes' default is
    /// to allow escalation).
    pub no_new_privileges: bool,
    /// `privileged: true`: no masked or read-only paths, all capabilities.
    pub privileged: bool,
    /// The seccomp profile the init installs before the workload's
    /// `execve` (none: unconfined). The runtime decides it
    /// ([`crate::seccomp`]) after [`launch_spec`](super::launch_spec), as a `Localhost` profile
    /// is a file on the node.
    #[serde(default)]
    pub seccomp: Option<crate::seccomp::SeccompProfile>,
    /// The AppArmor profile (loaded in the kernel) the workload's `execve`
    /// enters (none: unconfined). The runtime decides it
    /// ([`crate::apparmor`]) after checking the host enforces AppArmor and
    /// has the profile loaded.
    #[serde(default)]
    pub apparmor_profile: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rootfs {
    /// Image layer directories, lowest first.
    pub lower: Vec<PathBuf>,
    pub upper: PathBuf,
    pub work: PathBuf,
    /// Where the overlay is mounted (inside the container's mount namespace only).
    pub merged: PathBuf,
    pub readonly: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BindMount {
    pub source: PathBuf,
    /// Absolute path inside the container.
    pub target: String,
    pub readonly: bool,
}

/// Who the process runs as. Names are looked up in the container's
/// `/etc/passwd` and `/etc/group` after the root is in place.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct User {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// The image's `USER` (`name`, `uid`, `name:group`, `uid:gid`).
    pub image_user: Option<String>,
    pub supplemental_groups: Vec<u32>,
    pub run_as_non_root: bool,
}
