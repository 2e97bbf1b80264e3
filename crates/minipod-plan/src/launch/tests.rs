//! The launch spec of a whole container: capabilities, mounts, user,
//! process, as `launch_spec` puts them together.

#![allow(clippy::unwrap_used)] // tests: a failure should panic loudly

use std::path::PathBuf;

use super::*;
use crate::process::{ImageConfig, on_node, resolve_process};
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
    let process = resolve_process(&pod, container, &image, on_node("node")).unwrap();
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
            termination_log: "/c/termination-log".into(),
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
            ("/dev/termination-log", "/c/termination-log", false),
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
            ("/dev/termination-log", "/c/termination-log", false),
            ("/etc/hosts", "/run/pod/etc-hosts", false),
            ("/etc/hostname", "/run/pod/etc-hostname", true),
            ("/etc/resolv.conf", "/run/pod/resolv.conf", true),
            ("/dev/shm", "/run/pod/shm", false),
        ]
    );
}

#[test]
fn the_termination_message_file_is_mounted_read_write_at_its_path() {
    let spec = spec_with(
        "terminationMessagePath: /tmp/msg\nterminationMessagePolicy: FallbackToLogsOnError\n\
         securityContext: {readOnlyRootFilesystem: true}",
    )
    .unwrap();
    let mounts: Vec<_> = targets(&spec.config)
        .into_iter()
        .filter(|(_, source, _)| *source == "/c/termination-log")
        .collect();
    assert_eq!(mounts, [("/tmp/msg", "/c/termination-log", false)]);
    assert_eq!(
        spec.termination_message,
        Some(crate::launch::TerminationMessage {
            host_file: "/c/termination-log".into(),
            fallback_to_logs: true,
        })
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
        on_node("node"),
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
