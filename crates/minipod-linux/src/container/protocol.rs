//! What the parent tells a container's init process (fd 3: a
//! [`ContainerConfig`] from `minipod-plan`, as JSON) or the exec helper (fd
//! 3: a [`HelperConfig`]), and what either tells the parent if it fails
//! before exec (fd 4: a [`StartFailure`], as JSON).

use serde::{Deserialize, Serialize};

pub use minipod_plan::launch::{BindMount, ContainerConfig, Rootfs, User};

/// A failure before exec: which step, and the errno if a system call failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartFailure {
    pub step: String,
    pub errno: Option<i32>,
    pub message: String,
}

impl std::fmt::Display for StartFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.step, self.message)
    }
}

/// What goes to the helper on fd 3.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct HelperConfig {
    pub(super) exec: ExecConfig,
    /// When the helper kills the command, counted from its start (not
    /// used by an attached exec, which has no timeout).
    pub(super) timeout_ms: u64,
    /// An attached exec (see `super::attach`): no timeout, the command's
    /// status as the helper's, and with a terminal, the master sent on fd 6.
    #[serde(default)]
    pub(super) attach: Option<HelperAttach>,
}

/// What the helper needs to become a process of the container: the
/// container's own process settings, with another command line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecConfig {
    pub argv: Vec<String>,
    /// `NAME=value`: the container's environment.
    pub env: Vec<String>,
    pub cwd: String,
    pub user: User,
    /// Capability names the process keeps, as the container's.
    pub capabilities: Vec<String>,
    pub no_new_privileges: bool,
    /// The container's seccomp profile: an exec'd process is confined as
    /// the container is (runc applies it to `runc exec` too).
    #[serde(default)]
    pub seccomp: Option<minipod_plan::seccomp::SeccompProfile>,
    /// The container's AppArmor profile: runc confines `runc exec` too.
    #[serde(default)]
    pub apparmor_profile: Option<String>,
}

impl ExecConfig {
    /// `argv`, run with what `config` gave the container's workload: env,
    /// working directory, user and groups, capabilities, `no_new_privs`.
    pub fn for_container(config: &ContainerConfig, argv: &[String]) -> ExecConfig {
        ExecConfig {
            argv: argv.to_vec(),
            env: config.env.clone(),
            cwd: config.cwd.clone(),
            user: config.user.clone(),
            // As the container's init does (`caps::held_by_this_process`).
            capabilities: if config.privileged {
                super::caps::held_by_this_process(&config.capabilities)
            } else {
                config.capabilities.clone()
            },
            no_new_privileges: config.no_new_privileges,
            seccomp: config.seccomp.clone(),
            apparmor_profile: config.apparmor_profile.clone(),
        }
    }
}

/// What the helper is told about an attached exec (in its configuration).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) struct HelperAttach {
    pub(super) tty: bool,
    pub(super) size: Option<WindowSize>,
}

/// A terminal's size, in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSize {
    pub width: u16,
    pub height: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exec_config_is_the_containers_with_another_command() {
        let config = ContainerConfig {
            join_namespaces: vec![],
            rootfs: Rootfs {
                lower: vec![],
                upper: "/u".into(),
                work: "/w".into(),
                merged: "/m".into(),
                readonly: false,
            },
            mounts: vec![],
            args: vec!["sleep".into(), "300".into()],
            env: vec!["PATH=/bin".into(), "A=b".into()],
            cwd: "/srv".into(),
            user: User {
                uid: Some(1000),
                gid: Some(1000),
                image_user: None,
                supplemental_groups: vec![5],
                run_as_non_root: true,
            },
            capabilities: vec!["CAP_CHOWN".into()],
            no_new_privileges: true,
            privileged: false,
            seccomp: None,
            apparmor_profile: None,
        };
        let exec = ExecConfig::for_container(&config, &["cat".into(), "/x".into()]);
        assert_eq!(exec.argv, ["cat", "/x"]);
        assert_eq!(exec.env, config.env);
        assert_eq!(exec.cwd, "/srv");
        assert_eq!(exec.user.uid, Some(1000));
        assert_eq!(exec.user.supplemental_groups, [5]);
        assert_eq!(exec.capabilities, ["CAP_CHOWN"]);
        assert!(exec.no_new_privileges);
    }
}
