//! The launch spec of one container: everything its init process needs to
//! turn itself into the container (namespaces to join, root filesystem,
//! mounts, process, user, capabilities). Pure data: the runtime fills it from
//! the plan, the image and the pod's directories, and `minipod-linux` sends it
//! to the container's init as JSON and carries it out.

use std::collections::BTreeMap;
use std::path::PathBuf;

use minipod_spec::AdmittedPod;
use minipod_spec::model::{Container, SecurityContext};
use serde::{Deserialize, Serialize};

use crate::process::Process;

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
    /// ([`crate::seccomp`]) after [`launch_spec`], as a `Localhost` profile
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

// ---------------------------------------------------------------------------
// Building a container's launch spec from the pod, its process and its paths.
// ---------------------------------------------------------------------------

/// containerd's default capability set (`oci.defaultUnixCaps`, used by the
/// CRI plugin for every non-privileged container), in its order.
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability Linux defines (`<linux/capability.h>`, 0 to
/// `CAP_LAST_CAP` = 40 since Linux 5.9): what `privileged` and `add: [ALL]`
/// give (containerd asks the host kernel; minipod's init drops what the
/// kernel does not know from this list).
pub const ALL_CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Where the kubelet and containerd put the pod's files inside a container.
pub const ETC_HOSTS: &str = "/etc/hosts";
pub const ETC_HOSTNAME: &str = "/etc/hostname";
pub const RESOLV_CONF: &str = "/etc/resolv.conf";
pub const DEV_SHM: &str = "/dev/shm";

/// A namespace the containers of a pod share, made once by its sandbox and
/// joined by each container's init (namespaces(7)). It crosses the fork to
/// the init as its `/proc/<pid>/ns/` name (`net`, `ipc`, `uts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Namespace {
    Net,
    Ipc,
    Uts,
}

impl Namespace {
    /// Every namespace a pod's sandbox makes.
    pub const SHARED_BY_POD: [Namespace; 3] = [Namespace::Net, Namespace::Ipc, Namespace::Uts];

    /// Its name under `/proc/<pid>/ns/`.
    pub fn as_str(self) -> &'static str {
        match self {
            Namespace::Net => "net",
            Namespace::Ipc => "ipc",
            Namespace::Uts => "uts",
        }
    }
}

impl std::fmt::Display for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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
}

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

/// A container's launch spec and the subPaths still to resolve.
#[derive(Debug, Clone)]
pub struct LaunchSpec {
    pub config: ContainerConfig,
    pub sub_paths: Vec<SubPath>,
}

/// Why a launch spec cannot be made (Kubernetes: `CreateContainerConfigError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaunchError {
    #[error("no container {0:?} in the pod")]
    NoSuchContainer(String),
    #[error("cannot find volume {volume:?} to mount into container {container:?}")]
    NoSuchVolume { container: String, volume: String },
    #[error("container {container:?}: {field} {value} is not a valid Linux id (0 to 4294967295)")]
    IdOutOfRange {
        container: String,
        field: &'static str,
        value: i64,
    },
}

/// The launch spec of `container_name` of `pod`, the kubelet's and
/// containerd's way:
/// * capabilities: containerd's defaults, then `add`, then `drop` (`ALL`
///   first in each); `privileged` gives every capability ([`capabilities`]);
/// * mounts: the volumeMounts, `/etc/hosts`, `/etc/hostname`,
///   `/etc/resolv.conf`, `/dev/shm`, sorted by depth ([`mounts`]);
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
    let (mounts, sub_paths) = mounts(container, paths)?;
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
    Ok(LaunchSpec { config, sub_paths })
}

fn find_container<'a>(pod: &'a AdmittedPod, name: &str) -> Result<&'a Container, LaunchError> {
    pod.pod()
        .spec
        .all_containers()
        .map(|(_, c)| c)
        .find(|c| c.name == name)
        .ok_or_else(|| LaunchError::NoSuchContainer(name.to_owned()))
}

fn is_privileged(security: Option<&SecurityContext>) -> bool {
    security.and_then(|s| s.privileged) == Some(true)
}

fn read_only_root(security: Option<&SecurityContext>) -> bool {
    security.and_then(|s| s.read_only_root_filesystem) == Some(true)
}

/// The capabilities a container keeps, as containerd's CRI plugin computes
/// them (`WithCapabilities`, `WithPrivileged`): `privileged` → all; else the
/// default set; `add: [ALL]` → all; `drop: [ALL]` → none; then each other
/// `add`, then each other `drop`. Kubernetes names have no `CAP_` prefix;
/// containerd upper-cases them and adds it.
pub fn capabilities(security: Option<&SecurityContext>) -> Vec<String> {
    let all = || ALL_CAPABILITIES.iter().map(|c| c.to_string()).collect();
    if is_privileged(security) {
        return all();
    }
    let mut caps: Vec<String> = DEFAULT_CAPABILITIES.iter().map(|c| c.to_string()).collect();
    let Some(requested) = security.and_then(|s| s.capabilities.as_ref()) else {
        return caps;
    };
    let is_all = |c: &String| c.eq_ignore_ascii_case("ALL");
    if requested.add.iter().any(is_all) {
        caps = all();
    }
    if requested.drop.iter().any(is_all) {
        caps.clear();
    }
    let named = |c: &String| format!("CAP_{}", c.to_ascii_uppercase());
    for add in requested.add.iter().filter(|c| !is_all(c)).map(named) {
        if !caps.contains(&add) {
            caps.push(add);
        }
    }
    for drop in requested.drop.iter().filter(|c| !is_all(c)).map(named) {
        caps.retain(|c| *c != drop);
    }
    caps
}

/// A container's bind mounts:
/// 1. its `volumeMounts` in order (the kubelet's `makeMounts`): the volume's
///    host directory, or `<dir>/<subPath>`; read-only when `readOnly`;
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

/// The kubelet's `verifyRunAsNonRoot` (`kuberuntime_container_linux.go`):
/// with `runAsNonRoot`, a container must not run as uid 0, and an image user
/// that is a name cannot be verified. `image_user` is the image's `USER`.
/// The messages are the kubelet's; Kubernetes reports them as
/// `CreateContainerConfigError`.
pub fn verify_run_as_non_root(
    pod: &AdmittedPod,
    container_name: &str,
    process: &Process,
) -> Result<(), String> {
    let user = &process.user;
    if !user.run_as_non_root {
        return Ok(());
    }
    let pod_ref = format!("{}_{}({})", pod.name(), pod.namespace(), pod.uid());
    let suffix = format!("(pod: {pod_ref:?}, container: {container_name})");
    if let Some(uid) = user.uid {
        if uid == 0 {
            return Err(format!(
                "container's runAsUser breaks non-root policy {suffix}"
            ));
        }
        return Ok(());
    }
    // The image's user: "" is root; "uid" or "uid:gid" is numeric.
    let image_user = user.image_user.as_deref().unwrap_or("");
    let name = image_user.split(':').next().unwrap_or("");
    match name.parse::<i64>() {
        Ok(0) => Err(format!(
            "container has runAsNonRoot and image will run as root {suffix}"
        )),
        Ok(_) => Ok(()),
        Err(_) if name.is_empty() => Err(format!(
            "container has runAsNonRoot and image will run as root {suffix}"
        )),
        Err(_) => Err(format!(
            "container has runAsNonRoot and image has non-numeric user ({name}), cannot verify user is non-root {suffix}"
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a failure should panic loudly

    use super::*;
    use crate::process::{ImageConfig, resolve_process};
    use crate::test_support::admitted;

    const BASE: &str = "
        apiVersion: v1
        kind: Pod
        metadata: {name: web, namespace: shop}
        spec:
          volumes:
          - {name: data, emptyDir: {}}
          - {name: logs, hostPath: {path: /var/log/web}}
          containers:
          - name: app
            image: busybox
    ";

    fn paths() -> PodPaths {
        PodPaths {
            namespaces: vec![(Namespace::Net, "/run/pod/ns/net".into())],
            hosts: "/run/pod/etc-hosts".into(),
            hostname: "/run/pod/etc-hostname".into(),
            resolv_conf: "/run/pod/resolv.conf".into(),
            shm: "/run/pod/shm".into(),
            volumes: [
                ("data".to_owned(), PathBuf::from("/var/pod/volumes/data")),
                ("logs".to_owned(), PathBuf::from("/var/log/web")),
            ]
            .into(),
        }
    }

    /// The launch spec of container `app` of BASE with `extra` appended to
    /// the container's YAML (indented as a container field).
    fn spec_with(extra: &str) -> Result<LaunchSpec, LaunchError> {
        let yaml = format!(
            "{}{}",
            crate::test_support::dedent(BASE),
            crate::test_support::dedent(extra)
                .lines()
                .map(|l| format!("\n    {l}"))
                .collect::<String>()
        );
        let pod = admitted(&yaml);
        let container = &pod.pod().spec.containers[0];
        let image = ImageConfig {
            cmd: vec!["sh".into()],
            env: vec!["PATH=/bin".into()],
            ..ImageConfig::default()
        };
        let process = resolve_process(&pod, container, &image, "node").unwrap();
        launch_spec(
            &pod,
            "app",
            &process,
            &["/layers/1".into()],
            &paths(),
            &ContainerDirs {
                upper: "/c/upper".into(),
                work: "/c/work".into(),
                rootfs: "/c/rootfs".into(),
            },
        )
    }

    fn config(extra: &str) -> ContainerConfig {
        spec_with(extra).unwrap().config
    }

    fn targets(config: &ContainerConfig) -> Vec<(&str, &str, bool)> {
        config
            .mounts
            .iter()
            .map(|m| (m.target.as_str(), m.source.to_str().unwrap(), m.readonly))
            .collect()
    }

    #[test]
    fn capabilities_default_add_drop_all_and_privileged() {
        let default: Vec<&str> = DEFAULT_CAPABILITIES.to_vec();
        let cases: [(&str, &str, Vec<&str>); 6] = [
            (
                "no securityContext: containerd's defaults",
                "",
                default.clone(),
            ),
            (
                "add without CAP_ prefix, drop one",
                "securityContext: {capabilities: {add: [NET_ADMIN], drop: [NET_RAW, KILL]}}",
                DEFAULT_CAPABILITIES
                    .iter()
                    .copied()
                    .filter(|c| !matches!(*c, "CAP_NET_RAW" | "CAP_KILL"))
                    .chain(["CAP_NET_ADMIN"])
                    .collect(),
            ),
            (
                "drop ALL then add one: only that one",
                "securityContext: {capabilities: {add: [net_bind_service], drop: [ALL]}}",
                vec!["CAP_NET_BIND_SERVICE"],
            ),
            (
                "add ALL then drop one",
                "securityContext: {capabilities: {add: [ALL], drop: [SYS_ADMIN]}}",
                ALL_CAPABILITIES
                    .iter()
                    .copied()
                    .filter(|c| *c != "CAP_SYS_ADMIN")
                    .collect(),
            ),
            (
                "drop wins over add of the same capability",
                "securityContext: {capabilities: {add: [CHOWN], drop: [CHOWN]}}",
                default
                    .iter()
                    .copied()
                    .filter(|c| *c != "CAP_CHOWN")
                    .collect(),
            ),
            (
                "privileged: every capability",
                "securityContext: {privileged: true, capabilities: {drop: [ALL]}}",
                ALL_CAPABILITIES.to_vec(),
            ),
        ];
        for (rule, extra, want) in cases {
            assert_eq!(config(extra).capabilities, want, "{rule}");
        }
    }

    #[test]
    fn privileged_skips_masked_paths_and_escalation_and_read_only_root_follow_the_context() {
        let cases: [(&str, &str, bool, bool, bool); 4] = [
            ("defaults: escalation allowed", "", false, false, false),
            (
                "allowPrivilegeEscalation false: no_new_privs",
                "securityContext: {allowPrivilegeEscalation: false}",
                true,
                false,
                false,
            ),
            (
                "readOnlyRootFilesystem",
                "securityContext: {readOnlyRootFilesystem: true}",
                false,
                false,
                true,
            ),
            (
                "privileged",
                "securityContext: {privileged: true}",
                false,
                true,
                false,
            ),
        ];
        for (rule, extra, nnp, privileged, readonly) in cases {
            let c = config(extra);
            assert_eq!(
                (c.no_new_privileges, c.privileged, c.rootfs.readonly),
                (nnp, privileged, readonly),
                "{rule}"
            );
        }
    }

    #[test]
    fn mounts_volume_mounts_then_the_pods_files_sorted_by_depth() {
        let c = config(
            "volumeMounts:
             - {name: logs, mountPath: /var/log/app/deep, readOnly: true}
             - {name: data, mountPath: /data}",
        );
        assert_eq!(
            targets(&c),
            [
                ("/data", "/var/pod/volumes/data", false),
                ("/etc/hosts", "/run/pod/etc-hosts", false),
                ("/etc/hostname", "/run/pod/etc-hostname", false),
                ("/etc/resolv.conf", "/run/pod/resolv.conf", false),
                ("/dev/shm", "/run/pod/shm", false),
                ("/var/log/app/deep", "/var/log/web", true),
            ]
        );
    }

    #[test]
    fn a_volume_mount_on_etc_hosts_replaces_the_kubelets_hosts_file() {
        let c = config("volumeMounts: [{name: data, mountPath: /etc/hosts, subPath: hosts}]");
        let hosts: Vec<_> = targets(&c)
            .into_iter()
            .filter(|(t, _, _)| *t == "/etc/hosts")
            .collect();
        assert_eq!(
            hosts,
            [("/etc/hosts", "/var/pod/volumes/data/hosts", false)]
        );
    }

    #[test]
    fn read_only_root_makes_hostname_and_resolv_conf_read_only_not_hosts_or_shm() {
        let c = config("securityContext: {readOnlyRootFilesystem: true}");
        assert_eq!(
            targets(&c),
            [
                ("/etc/hosts", "/run/pod/etc-hosts", false),
                ("/etc/hostname", "/run/pod/etc-hostname", true),
                ("/etc/resolv.conf", "/run/pod/resolv.conf", true),
                ("/dev/shm", "/run/pod/shm", false),
            ]
        );
    }

    #[test]
    fn sub_paths_are_joined_and_reported_for_safe_resolution_after_sorting() {
        let spec = spec_with(
            "volumeMounts:
             - {name: data, mountPath: /a/b/c, subPath: deep/dir}
             - {name: data, mountPath: /x, subPath: top}",
        )
        .unwrap();
        assert_eq!(spec.sub_paths.len(), 2);
        for sub in &spec.sub_paths {
            let mount = &spec.config.mounts[sub.mount_index];
            assert_eq!(mount.source, sub.volume.join(&sub.sub_path), "{sub:?}");
        }
        assert_eq!(spec.config.mounts[0].target, "/x");
    }

    #[test]
    fn user_ids_come_from_the_process_and_must_fit_a_linux_id() {
        let c = config("securityContext: {runAsUser: 1000, runAsGroup: 3000}");
        assert_eq!((c.user.uid, c.user.gid), (Some(1000), Some(3000)));
        let err = spec_with("securityContext: {runAsUser: 2147483647}").map(|s| s.config.user.uid);
        assert_eq!(err, Ok(Some(2147483647)));
    }

    #[test]
    fn process_and_namespaces_and_rootfs_are_carried_over() {
        let c = config("");
        assert_eq!(c.args, ["sh"]);
        assert_eq!(c.env, ["HOSTNAME=web", "PATH=/bin"]);
        assert_eq!(c.cwd, "/");
        assert_eq!(c.join_namespaces, paths().namespaces);
        assert_eq!(c.rootfs.lower, [PathBuf::from("/layers/1")]);
        assert_eq!(c.rootfs.merged, PathBuf::from("/c/rootfs"));
    }

    #[test]
    fn an_unknown_container_is_an_error() {
        let pod = admitted(BASE);
        let process = resolve_process(
            &pod,
            &pod.pod().spec.containers[0],
            &ImageConfig {
                cmd: vec!["sh".into()],
                ..ImageConfig::default()
            },
            "node",
        )
        .unwrap();
        let err = launch_spec(
            &pod,
            "ghost",
            &process,
            &[],
            &paths(),
            &ContainerDirs::default(),
        )
        .unwrap_err();
        assert_eq!(err, LaunchError::NoSuchContainer("ghost".into()));
    }

    #[test]
    fn run_as_non_root_is_verified_as_the_kubelet_does() {
        let pod = admitted(BASE);
        let suffix = r#"(pod: "web_shop(00000000-0000-4000-8000-000000000000)", container: app)"#;
        let process = |uid: Option<i64>, image_user: Option<&str>, non_root: bool| Process {
            args: vec!["sh".into()],
            env: vec![],
            cwd: "/".into(),
            user: crate::process::UserRequest {
                uid,
                image_user: image_user.map(str::to_owned),
                run_as_non_root: non_root,
                ..Default::default()
            },
            stop_signal: "SIGTERM".into(),
        };
        let cases: [(&str, Process, Result<(), String>); 7] = [
            ("not asked", process(None, None, false), Ok(())),
            (
                "runAsUser 0",
                process(Some(0), None, true),
                Err(format!(
                    "container's runAsUser breaks non-root policy {suffix}"
                )),
            ),
            (
                "runAsUser 1000",
                process(Some(1000), Some("root"), true),
                Ok(()),
            ),
            (
                "image without USER runs as root",
                process(None, None, true),
                Err(format!(
                    "container has runAsNonRoot and image will run as root {suffix}"
                )),
            ),
            (
                "image USER 0:0",
                process(None, Some("0:0"), true),
                Err(format!(
                    "container has runAsNonRoot and image will run as root {suffix}"
                )),
            ),
            ("image USER 1000", process(None, Some("1000"), true), Ok(())),
            (
                "image USER by name",
                process(None, Some("app"), true),
                Err(format!(
                    "container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root {suffix}"
                )),
            ),
        ];
        for (rule, process, want) in cases {
            assert_eq!(
                verify_run_as_non_root(&pod, "app", &process),
                want,
                "{rule}"
            );
        }
    }
}
