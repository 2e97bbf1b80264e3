//! A container's whole launch spec, from the pod, its process and paths.

use std::path::PathBuf;

use minipod_spec::AdmittedPod;
use minipod_spec::model::Container;

use super::capabilities::{capabilities, is_privileged};
use super::config::{ContainerConfig, Rootfs, User};
use super::error::LaunchError;
use super::mounts::{SubPath, mounts, read_only_root};
use super::paths::{ContainerDirs, PodPaths};
use super::termination::{TerminationMessage, termination_message};
use crate::process::Process;

/// A container's launch spec and the subPaths still to resolve.
#[derive(Debug, Clone)]
pub struct LaunchSpec {
    pub config: ContainerConfig,
    pub sub_paths: Vec<SubPath>,
    /// Where the run's termination message is read back from on exit, if
    /// the container has a `terminationMessagePath`.
    pub termination_message: Option<TerminationMessage>,
}

/// The launch spec of `container_name` of `pod`, the kubelet's and
/// containerd's way:
/// * capabilities: containerd's defaults, then `add`, then `drop` (`ALL`
///   first in each); `privileged` gives every capability ([`capabilities`]);
/// * mounts: the volumeMounts, `/etc/hosts`, `/etc/hostname`,
///   `/etc/resolv.conf`, `/dev/shm`, sorted by depth ([`mounts`]), with
///   the run's termination message file ([`termination_message`]);
/// * the user from `process.user`, its ids checked to fit a Linux id;
/// * `readOnlyRootFilesystem`, `allowPrivilegeEscalation: false`.
pub fn launch_spec(
    pod: &AdmittedPod,
    container_name: &str,
    process: &Process,
    layers: &[PathBuf],
    paths: &PodPaths,
    dirs: &ContainerDirs,
) -> Result<LaunchSpec, LaunchError> {
    let container = find_container(pod, container_name)?;
    let security = container.security_context.as_ref();
    let (mounts, sub_paths) = mounts(container, paths, dirs)?;
    let id = |field: &'static str, value: i64| {
        u32::try_from(value).map_err(|_| LaunchError::IdOutOfRange {
            container: container.name.clone(),
            field,
            value,
        })
    };
    let request = &process.user;
    let user = User {
        uid: request.uid.map(|v| id("runAsUser", v)).transpose()?,
        gid: request.gid.map(|v| id("runAsGroup", v)).transpose()?,
        image_user: request.image_user.clone(),
        supplemental_groups: request
            .supplemental_groups
            .iter()
            .map(|g| id("supplementalGroups", *g))
            .collect::<Result<_, _>>()?,
        run_as_non_root: request.run_as_non_root,
    };
    let config = ContainerConfig {
        join_namespaces: paths.namespaces.clone(),
        rootfs: Rootfs {
            lower: layers.to_vec(),
            upper: dirs.upper.clone(),
            work: dirs.work.clone(),
            merged: dirs.rootfs.clone(),
            readonly: read_only_root(security),
        },
        mounts,
        args: process.args.clone(),
        env: process
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        cwd: process.cwd.clone(),
        user,
        capabilities: capabilities(security),
        // Kubernetes' default is to allow escalation; only an explicit
        // `false` sets no_new_privs (the kubelet's `AddNoNewPrivileges`).
        no_new_privileges: security.and_then(|s| s.allow_privilege_escalation) == Some(false),
        privileged: is_privileged(security),
        seccomp: None,
        apparmor_profile: None,
    };
    Ok(LaunchSpec {
        config,
        sub_paths,
        termination_message: termination_message(container, dirs),
    })
}

fn find_container<'a>(pod: &'a AdmittedPod, name: &str) -> Result<&'a Container, LaunchError> {
    pod.pod()
        .spec
        .all_containers()
        .map(|(_, c)| c)
        .find(|c| c.name == name)
        .ok_or_else(|| LaunchError::NoSuchContainer(name.to_owned()))
}
