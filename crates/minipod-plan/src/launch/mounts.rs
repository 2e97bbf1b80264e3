//! A container's bind mounts: its volumeMounts and the pod's files, in the
//! order they must be mounted, with the subPaths still to resolve.

use std::path::PathBuf;

use minipod_spec::model::{Container, SecurityContext};

use super::config::BindMount;
use super::error::LaunchError;
use super::paths::{ContainerDirs, DEV_SHM, ETC_HOSTNAME, ETC_HOSTS, PodPaths, RESOLV_CONF};
use super::termination::termination_message_path;

/// A volume mount with a `subPath`: the runtime must resolve `sub_path`
/// inside `volume` at start time without following a symlink out of it, and
/// then replace the source of `mounts[mount_index]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubPath {
    pub mount_index: usize,
    pub volume: PathBuf,
    /// Relative, without `..` (validation guarantees it).
    pub sub_path: String,
}

pub(super) fn read_only_root(security: Option<&SecurityContext>) -> bool {
    security.and_then(|s| s.read_only_root_filesystem) == Some(true)
}

/// A container's bind mounts:
/// 1. its `volumeMounts` in order (the kubelet's `makeMounts`): the volume's
///    host directory, or `<dir>/<subPath>`; read-only when `readOnly`;
///    then the run's termination message file at `terminationMessagePath`,
///    read-write (`makeMounts` appends it after the volumes);
/// 2. `/etc/hosts`, unless a volumeMount targets it (kubelet), read-write;
/// 3. `/etc/hostname` and `/etc/resolv.conf`, unless a mount targets them,
///    read-only when the root filesystem is (containerd's `containerMounts`);
/// 4. `/dev/shm`, the pod's, unless a mount targets it, read-write.
///
/// Then, as containerd's `WithMounts`, they are sorted (stably) by the number
/// of components of their target, so that `/data` never hides `/data/logs`.
pub fn mounts(
    container: &Container,
    paths: &PodPaths,
    dirs: &ContainerDirs,
) -> Result<(Vec<BindMount>, Vec<SubPath>), LaunchError> {
    let mut mounts = Vec::new();
    let mut sub_paths = Vec::new();
    for mount in &container.volume_mounts {
        let volume = paths
            .volumes
            .get(&mount.name)
            .ok_or_else(|| LaunchError::NoSuchVolume {
                container: container.name.clone(),
                volume: mount.name.clone(),
            })?;
        let sub_path = mount.sub_path.as_deref().filter(|s| !s.is_empty());
        let source = match sub_path {
            Some(sub) => {
                sub_paths.push(SubPath {
                    mount_index: mounts.len(),
                    volume: volume.clone(),
                    sub_path: sub.to_owned(),
                });
                volume.join(sub)
            }
            None => volume.clone(),
        };
        mounts.push(BindMount {
            source,
            target: mount.mount_path.clone(),
            readonly: mount.read_only == Some(true),
        });
    }
    if let Some(target) = termination_message_path(container) {
        mounts.push(BindMount {
            source: dirs.termination_log.clone(),
            target: target.to_owned(),
            readonly: false,
        });
    }
    let targeted = |mounts: &[BindMount], path: &str| {
        mounts
            .iter()
            .any(|m| m.target.trim_end_matches('/') == path)
    };
    let readonly_root = read_only_root(container.security_context.as_ref());
    let pod_files = [
        (ETC_HOSTS, &paths.hosts, false),
        (ETC_HOSTNAME, &paths.hostname, readonly_root),
        (RESOLV_CONF, &paths.resolv_conf, readonly_root),
        (DEV_SHM, &paths.shm, false),
    ];
    for (target, source, readonly) in pod_files {
        if !targeted(&mounts, target) {
            mounts.push(BindMount {
                source: source.clone(),
                target: target.to_owned(),
                readonly,
            });
        }
    }
    // Sort, keeping the sub-path indexes pointing at their mounts.
    let mut order: Vec<usize> = (0..mounts.len()).collect();
    order.sort_by_key(|&i| depth(&mounts[i].target));
    let sorted = order.iter().map(|&i| mounts[i].clone()).collect();
    for sub in &mut sub_paths {
        sub.mount_index = order
            .iter()
            .position(|&i| i == sub.mount_index)
            .unwrap_or(sub.mount_index);
    }
    Ok((sorted, sub_paths))
}

fn depth(target: &str) -> usize {
    target.split('/').filter(|c| !c.is_empty()).count()
}
