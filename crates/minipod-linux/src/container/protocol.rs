//! What the parent tells a container's init process (fd 3: a
//! [`ContainerConfig`] from `minipod-plan`, as JSON) or the exec helper (fd
//! 3: a [`HelperConfig`]), and what either tells the parent if it fails
//! before exec (fd 4: a [`StepFailure`], as JSON).

use serde::{Deserialize, Serialize};

pub use minipod_plan::launch::{BindMount, ContainerConfig, Namespace, Rootfs, User};

/// A step of starting a container's process (its init) or an exec'd
/// command (the exec helper), as a failure report names it. Each step is
/// its own variant; the human text, shown in the container's status, is
/// its [`Display`](std::fmt::Display).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// The init itself (it panicked, or its report was unreadable).
    Init,
    SetUpFds,
    ReadConfig,
    LoadSeccompProfile,
    /// Opening a pinned namespace of the sandbox.
    JoinNamespaces,
    /// Between clone3 and exec (cgroup v1).
    JoinCgroup,
    /// Between clone3 and exec.
    ExecInit,
    MakeMountsPrivate,
    MountRootFilesystem,
    OpenRootFilesystem,
    MountProc,
    MountDev,
    MountSys,
    MaskPaths,
    PivotRoot,
    MakeRootReadOnly,
    ResolveUser,
    CheckRunAsNonRoot,
    CreateWorkingDir,
    /// Dropping capabilities from the bounding set, before the user switch.
    LimitBoundingSet,
    ApplyAppArmorProfile,
    InstallSeccompFilter,
    SwitchUser,
    /// The permitted, effective and inheritable sets, after the user switch.
    SetCapabilities,
    SetParentDeathSignal,
    SetNoNewPrivs,
    ChangeToWorkingDir,
    FindExecutable,
    NewSession,
    ResetSignals,
    /// `execve` of the workload or the exec'd command.
    Exec,
    /// The exec helper itself (it panicked).
    ExecHelper,
    OpenContainerRoot,
    JoinContainerNamespaces,
    EnterContainerRoot,
    OpenTerminal,
    SendTerminal,
    OpenPidfd,
    Fork,
    TakeTerminal,
    Wait,
    /// `setns` into one of the pod's namespaces.
    JoinNamespace(Namespace),
    /// A bind mount of a volume or pod file, on this target.
    MountVolume(String),
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Init => f.write_str("init"),
            Step::SetUpFds => f.write_str("set up fds"),
            Step::ReadConfig => f.write_str("read config"),
            Step::LoadSeccompProfile => f.write_str("load seccomp profile"),
            Step::JoinNamespaces => f.write_str("join namespaces"),
            Step::JoinCgroup => f.write_str("join cgroup"),
            Step::ExecInit => f.write_str("exec init"),
            Step::MakeMountsPrivate => f.write_str("make mounts private"),
            Step::MountRootFilesystem => f.write_str("mount root filesystem"),
            Step::OpenRootFilesystem => f.write_str("open root filesystem"),
            Step::MountProc => f.write_str("mount /proc"),
            Step::MountDev => f.write_str("mount /dev"),
            Step::MountSys => f.write_str("mount /sys"),
            Step::MaskPaths => f.write_str("mask paths"),
            Step::PivotRoot => f.write_str("pivot_root"),
            Step::MakeRootReadOnly => f.write_str("make root read-only"),
            Step::ResolveUser => f.write_str("resolve user"),
            Step::CheckRunAsNonRoot => f.write_str("check runAsNonRoot"),
            Step::CreateWorkingDir => f.write_str("create workingDir"),
            Step::LimitBoundingSet => f.write_str("limit capability bounding set"),
            Step::ApplyAppArmorProfile => f.write_str("apply AppArmor profile"),
            Step::InstallSeccompFilter => f.write_str("install seccomp filter"),
            Step::SwitchUser => f.write_str("switch user"),
            Step::SetCapabilities => f.write_str("set capabilities"),
            Step::SetParentDeathSignal => f.write_str("set parent death signal"),
            Step::SetNoNewPrivs => f.write_str("set no_new_privs"),
            Step::ChangeToWorkingDir => f.write_str("change to workingDir"),
            Step::FindExecutable => f.write_str("find executable"),
            Step::NewSession => f.write_str("new session"),
            Step::ResetSignals => f.write_str("reset signals"),
            Step::Exec => f.write_str("exec"),
            Step::ExecHelper => f.write_str("exec helper"),
            Step::OpenContainerRoot => f.write_str("open the container's root"),
            Step::JoinContainerNamespaces => f.write_str("join container namespaces"),
            Step::EnterContainerRoot => f.write_str("enter the container's root"),
            Step::OpenTerminal => f.write_str("open the terminal"),
            Step::SendTerminal => f.write_str("send the terminal"),
            Step::OpenPidfd => f.write_str("open pidfd"),
            Step::Fork => f.write_str("fork"),
            Step::TakeTerminal => f.write_str("take the terminal"),
            Step::Wait => f.write_str("wait"),
            Step::JoinNamespace(namespace) => write!(f, "join {namespace} namespace"),
            Step::MountVolume(target) => write!(f, "mount {target}"),
        }
    }
}

/// The wire report of a failed step: what a container's init (or the exec
/// helper) writes to fd 4 when a step before exec fails. Which step, the
/// errno if a system call failed, and the cause as text.
///
/// Not `minipod_lifecycle`'s `StartFailure` (how a start failed, as the
/// kubelet reports it): `minipod_runtime::pod` turns this report into a
/// `StartError` reason and runc-shaped message, and the monitor gives that
/// to the state machine as `StartFailure::Terminated` (exit code 128).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepFailure {
    pub step: Step,
    pub errno: Option<i32>,
    pub message: String,
}

impl std::fmt::Display for StepFailure {
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
