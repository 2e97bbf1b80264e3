//! Each container's fields: probes, hooks and its security context.

use super::report::{SupportReport, is_empty_value};
use crate::enums::{MountPropagation, UriScheme};
use crate::model::{Container, HttpGetAction, LifecycleHandler, Probe, SecurityContext};

pub(super) fn check_container(path: &str, container: &Container, report: &mut SupportReport) {
    for (field, value) in [
        ("stdin", container.stdin),
        ("stdinOnce", container.stdin_once),
        ("tty", container.tty),
    ] {
        if value == Some(true) {
            report.reject(
                format!("{path}.{field}"),
                "interactive containers are not implemented",
            );
        }
    }
    if container
        .env_from
        .as_ref()
        .is_some_and(|v| !is_empty_value(v))
    {
        report.reject(
            format!("{path}.envFrom"),
            "ConfigMaps and Secrets are not implemented yet",
        );
    }
    if container
        .resize_policy
        .as_ref()
        .is_some_and(|v| !is_empty_value(v))
    {
        report.warn(
            format!("{path}.resizePolicy"),
            "ignored: in-place resize is not implemented",
        );
    }
    if container
        .restart_policy_rules
        .as_ref()
        .is_some_and(|v| !is_empty_value(v))
    {
        report.reject(
            format!("{path}.restartPolicyRules"),
            "container restart rules are not implemented",
        );
    }
    if container
        .volume_devices
        .as_ref()
        .is_some_and(|v| !is_empty_value(v))
    {
        report.reject(
            format!("{path}.volumeDevices"),
            "block devices are not implemented",
        );
    }
    if container
        .resources
        .claims
        .as_ref()
        .is_some_and(|v| !is_empty_value(v))
    {
        report.reject(
            format!("{path}.resources.claims"),
            "dynamic resource allocation is not implemented",
        );
    }
    for (field, list) in [
        ("requests", &container.resources.requests),
        ("limits", &container.resources.limits),
    ] {
        for name in list.keys().filter(|name| name.starts_with("hugepages-")) {
            report.reject(
                format!("{path}.resources.{field}[{name}]"),
                "huge pages are not implemented (no hugetlb cgroup limits would hold them)",
            );
        }
    }
    for (i, env) in container.env.iter().enumerate() {
        let Some(source) = &env.value_from else {
            continue;
        };
        let env_path = format!("{path}.env[{i}].valueFrom");
        let unimplemented = [
            (
                "resourceFieldRef",
                source.resource_field_ref.is_some(),
                "resource field references are not implemented yet",
            ),
            (
                "configMapKeyRef",
                source.config_map_key_ref.is_some(),
                "ConfigMaps are not implemented yet",
            ),
            (
                "secretKeyRef",
                source.secret_key_ref.is_some(),
                "Secrets are not implemented yet",
            ),
            (
                "fileKeyRef",
                source.file_key_ref.is_some(),
                "file key references are not implemented",
            ),
        ];
        for (field, set, why) in unimplemented {
            if set {
                report.reject(format!("{env_path}.{field}"), why);
            }
        }
        // Every `fieldRef` the API server accepts is served, the `status.`
        // addresses (`status.podIP(s)`, `status.hostIP(s)`) included:
        // `minipod_plan::process` resolves them at container start.
    }
    for (i, mount) in container.volume_mounts.iter().enumerate() {
        let mount_path = format!("{path}.volumeMounts[{i}]");
        if mount.sub_path_expr.as_ref().is_some_and(|v| !v.is_empty()) {
            report.reject(
                format!("{mount_path}.subPathExpr"),
                "subPathExpr is not implemented; use subPath",
            );
        }
        if matches!(
            mount.mount_propagation,
            Some(MountPropagation::HostToContainer | MountPropagation::Bidirectional)
        ) {
            report.reject(
                format!("{mount_path}.mountPropagation"),
                "mount propagation is not implemented (only None)",
            );
        }
        if mount.recursive_read_only.as_deref() == Some("Enabled") {
            report.reject(
                format!("{mount_path}.recursiveReadOnly"),
                "recursive read-only mounts are not implemented",
            );
        }
    }
    for (field, probe) in [
        ("livenessProbe", &container.liveness_probe),
        ("readinessProbe", &container.readiness_probe),
        ("startupProbe", &container.startup_probe),
    ] {
        if let Some(probe) = probe {
            check_probe(&format!("{path}.{field}"), probe, report);
        }
    }
    if let Some(lifecycle) = &container.lifecycle {
        for (field, handler) in [
            ("postStart", &lifecycle.post_start),
            ("preStop", &lifecycle.pre_stop),
        ] {
            if let Some(handler) = handler {
                check_handler(&format!("{path}.lifecycle.{field}"), handler, report);
            }
        }
    }
    if let Some(security) = &container.security_context {
        check_container_security_context(&format!("{path}.securityContext"), security, report);
    }
}

pub(super) fn check_probe(path: &str, probe: &Probe, report: &mut SupportReport) {
    if probe.grpc.is_some() {
        report.reject(
            format!("{path}.grpc"),
            "gRPC probes are not implemented yet; use exec, httpGet or tcpSocket",
        );
    }
    check_http_scheme(path, probe.http_get.as_ref(), report);
}

/// minipod has no TLS client: an `HTTPS` check could never succeed, so it is
/// refused up front rather than failing at every probe.
pub(super) fn check_http_scheme(
    path: &str,
    http_get: Option<&HttpGetAction>,
    report: &mut SupportReport,
) {
    if http_get.is_some_and(|h| h.scheme == Some(UriScheme::Https)) {
        report.reject(
            format!("{path}.httpGet.scheme"),
            "HTTPS is not implemented (minipod has no TLS client); use HTTP or an exec check",
        );
    }
}

pub(super) fn check_handler(path: &str, handler: &LifecycleHandler, report: &mut SupportReport) {
    check_http_scheme(path, handler.http_get.as_ref(), report);
    if handler.tcp_socket.is_some() {
        // Kubernetes keeps the field for compatibility but the kubelet never
        // runs it: the hook would fail at run time. Say so now instead.
        report.reject(
            format!("{path}.tcpSocket"),
            "the kubelet does not run tcpSocket hooks; use exec, httpGet or sleep",
        );
    }
}

pub(super) fn check_container_security_context(
    path: &str,
    security: &SecurityContext,
    report: &mut SupportReport,
) {
    if security
        .se_linux_options
        .as_ref()
        .is_some_and(|v| !is_empty_value(v))
    {
        report.reject(
            format!("{path}.seLinuxOptions"),
            "SELinux labels are not implemented",
        );
    }
    if security.windows_options.is_some() {
        report.warn(
            format!("{path}.windowsOptions"),
            "ignored: only applies to Windows",
        );
    }
    if security
        .proc_mount
        .as_deref()
        .is_some_and(|m| m != "Default")
    {
        report.reject(
            format!("{path}.procMount"),
            "only the Default (masked) /proc is implemented",
        );
    }
}
