//! What minipod does with Kubernetes fields it does not implement.
//!
//! A manifest must mean the same here as on a cluster, so no field is silently
//! dropped. Each field Kubernetes has and minipod does not act on falls in one
//! of two groups:
//!
//! * **warned**: it only means something to a scheduler or to cluster
//!   machinery that a single host does not have (`nodeSelector`,
//!   `tolerations`, `serviceAccountName`, ...). Running the pod without it is
//!   what a one-node cluster would do, so the pod is accepted and the user is
//!   told the field is ignored.
//! * **rejected**: running the pod without it would break a promise the
//!   manifest makes (`hostNetwork: true`, a `configMap` volume, a seccomp
//!   profile, `activeDeadlineSeconds`, ...). The pod is refused with a
//!   `Forbidden` error naming the field, together with any validation errors.
//!
//! The table of decisions is in `docs/manifests.md`; each rule below says why.

use std::fmt;

use crate::enums::{MountPropagation, StorageMedium, UriScheme};
use crate::field_error::FieldError;
use crate::model::{
    Container, HttpGetAction, LifecycleHandler, ObjectMeta, Pod, PodSecurityContext, PodSpec,
    Probe, SecurityContext, Volume,
};
use crate::validate::annotations::{SECCOMP_CONTAINER_PREFIX, SECCOMP_POD};

/// A field minipod accepts but does not act on, e.g.
/// `spec.nodeSelector: ignored: only a scheduler reads it, and a minipod host is the only node`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub field: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The verdict on a pod's use of unimplemented fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SupportReport {
    pub warnings: Vec<Warning>,
    pub errors: Vec<FieldError>,
}

impl SupportReport {
    fn warn(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Warning {
            field: field.into(),
            message: message.into(),
        });
    }

    fn reject(&mut self, field: impl Into<String>, detail: impl fmt::Display) {
        self.errors.push(FieldError::forbidden(
            field,
            format!("not supported by minipod: {detail}"),
        ));
    }
}

const SCHEDULER_ONLY: &str =
    "ignored: only a scheduler reads it, and a minipod host is the only node";
const SET_BY_SYSTEM: &str = "ignored: set by the system, not by a manifest";

/// Checks a parsed (not yet defaulted) pod against what minipod implements.
pub fn check_support(pod: &Pod) -> SupportReport {
    let mut report = SupportReport::default();
    if pod.status.as_ref().is_some_and(|s| !is_empty_value(s)) {
        report.warn("status", SET_BY_SYSTEM);
    }
    check_metadata(&pod.metadata, &mut report);
    check_confinement_annotations(pod, &mut report);
    check_pod_spec(&pod.spec, &mut report);
    for (path, container) in pod.spec.all_containers() {
        check_container(&path, container, &mut report);
    }
    for (i, volume) in pod.spec.volumes.iter().enumerate() {
        check_volume(&format!("spec.volumes[{i}]"), volume, &mut report);
    }
    report
}

/// `null`, `{}` and `[]` say nothing (`kubectl run --dry-run -o yaml` writes
/// `status: {}` and `creationTimestamp: null`).
fn is_empty_value(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => true,
        serde_json::Value::Object(map) => map.is_empty(),
        serde_json::Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

fn check_metadata(meta: &ObjectMeta, report: &mut SupportReport) {
    let system_set = [
        (
            "metadata.resourceVersion",
            meta.resource_version
                .as_ref()
                .is_some_and(|v| !v.is_empty()),
        ),
        (
            "metadata.generation",
            meta.generation.is_some_and(|g| g != 0),
        ),
        (
            "metadata.selfLink",
            meta.self_link.as_ref().is_some_and(|v| !v.is_empty()),
        ),
        (
            "metadata.creationTimestamp",
            meta.creation_timestamp
                .as_ref()
                .is_some_and(|v| !is_empty_value(v)),
        ),
        (
            "metadata.deletionTimestamp",
            meta.deletion_timestamp
                .as_ref()
                .is_some_and(|v| !is_empty_value(v)),
        ),
        (
            "metadata.deletionGracePeriodSeconds",
            meta.deletion_grace_period_seconds.is_some(),
        ),
        (
            "metadata.managedFields",
            meta.managed_fields
                .as_ref()
                .is_some_and(|v| !is_empty_value(v)),
        ),
        (
            "metadata.uid",
            meta.uid.as_ref().is_some_and(|v| !v.is_empty()),
        ),
    ];
    for (field, set) in system_set {
        if set {
            report.warn(field, SET_BY_SYSTEM);
        }
    }
    if meta
        .owner_references
        .as_ref()
        .is_some_and(|v| !is_empty_value(v))
    {
        report.warn(
            "metadata.ownerReferences",
            "ignored: minipod has no garbage collector",
        );
    }
    if meta.finalizers.as_ref().is_some_and(|v| !is_empty_value(v)) {
        // A finalizer only delays deletion until a controller removes it; with
        // no controllers, honouring it would make the pod undeletable.
        report.warn(
            "metadata.finalizers",
            "ignored: minipod has no controllers to remove finalizers",
        );
    }
}

fn check_pod_spec(spec: &PodSpec, report: &mut SupportReport) {
    // Scheduling: a single host is the only node, so placement rules have nothing to choose.
    let scheduler_fields = [
        (
            "spec.nodeSelector",
            spec.node_selector
                .as_ref()
                .is_some_and(|v| !is_empty_value(v)),
        ),
        (
            "spec.nodeName",
            spec.node_name.as_ref().is_some_and(|v| !v.is_empty()),
        ),
        (
            "spec.affinity",
            spec.affinity.as_ref().is_some_and(|v| !is_empty_value(v)),
        ),
        (
            "spec.tolerations",
            spec.tolerations
                .as_ref()
                .is_some_and(|v| !is_empty_value(v)),
        ),
        (
            "spec.schedulerName",
            spec.scheduler_name
                .as_deref()
                .is_some_and(|s| !s.is_empty() && s != "default-scheduler"),
        ),
        (
            // `system-node-critical` is not ignored: it sets the containers'
            // oom_score_adj to -997, as on a node (see minipod-plan's `oom`).
            "spec.priorityClassName",
            spec.priority_class_name
                .as_deref()
                .is_some_and(|v| !v.is_empty() && v != "system-node-critical"),
        ),
        ("spec.priority", spec.priority.is_some()),
        ("spec.preemptionPolicy", spec.preemption_policy.is_some()),
        (
            "spec.topologySpreadConstraints",
            spec.topology_spread_constraints
                .as_ref()
                .is_some_and(|v| !is_empty_value(v)),
        ),
    ];
    for (field, set) in scheduler_fields {
        if set {
            report.warn(field, SCHEDULER_ONLY);
        }
    }
    if spec
        .scheduling_gates
        .as_ref()
        .is_some_and(|v| !is_empty_value(v))
    {
        // Unlike other scheduler fields, gates promise the pod will NOT run
        // until someone removes them; minipod has no API to remove them yet.
        report.reject(
            "spec.schedulingGates",
            "a gated pod must not start, and nothing here can lift its gates",
        );
    }

    // Cluster identity: there is no API server inside the pod to talk to.
    for (field, set) in [
        (
            "spec.serviceAccountName",
            spec.service_account_name
                .as_ref()
                .is_some_and(|v| !v.is_empty()),
        ),
        (
            "spec.serviceAccount",
            spec.service_account.as_ref().is_some_and(|v| !v.is_empty()),
        ),
        (
            "spec.automountServiceAccountToken",
            spec.automount_service_account_token == Some(true),
        ),
    ] {
        if set {
            report.warn(
                field,
                "ignored: minipod has no service accounts, so no token is mounted",
            );
        }
    }
    if spec.subdomain.as_ref().is_some_and(|v| !v.is_empty()) {
        report.warn(
            "spec.subdomain",
            "ignored: there is no cluster DNS for the pod's FQDN",
        );
    }
    if spec.set_hostname_as_fqdn == Some(true) {
        report.warn(
            "spec.setHostnameAsFQDN",
            "ignored: there is no cluster domain; the hostname stays short",
        );
    }
    if spec.overhead.as_ref().is_some_and(|o| !o.is_empty()) {
        // Accepted because the plan must show what overhead does, but a
        // cluster would refuse this manifest: there, only a RuntimeClass sets
        // overhead (its admission plugin rejects a pod that sets its own).
        report.warn(
            "spec.overhead",
            "counted in the plan, but a cluster sets overhead only through a RuntimeClass and would refuse this pod",
        );
    }

    // Host namespaces: minipod always gives a pod its own.
    let host_namespaces = [
        (
            "spec.hostNetwork",
            spec.host_network,
            "the pod always gets its own network namespace",
        ),
        (
            "spec.hostPID",
            spec.host_pid,
            "the pod always gets its own PID namespaces",
        ),
        (
            "spec.hostIPC",
            spec.host_ipc,
            "the pod always gets its own IPC namespace",
        ),
    ];
    for (field, value, why) in host_namespaces {
        if value == Some(true) {
            report.reject(field, why);
        }
    }
    if spec.host_users == Some(false) {
        report.reject("spec.hostUsers", "user namespaces are not implemented");
    }

    let unimplemented = [
        (
            "spec.activeDeadlineSeconds",
            spec.active_deadline_seconds.is_some(),
            "active deadlines are not implemented",
        ),
        (
            "spec.runtimeClassName",
            spec.runtime_class_name
                .as_ref()
                .is_some_and(|v| !v.is_empty()),
            "there is one runtime, minipod itself",
        ),
        (
            "spec.resourceClaims",
            spec.resource_claims
                .as_ref()
                .is_some_and(|v| !is_empty_value(v)),
            "dynamic resource allocation is not implemented",
        ),
        (
            "spec.resources",
            spec.resources.as_ref().is_some_and(|v| !is_empty_value(v)),
            "pod-level resources are not implemented; set them per container",
        ),
        (
            "spec.hostnameOverride",
            spec.hostname_override
                .as_ref()
                .is_some_and(|v| !v.is_empty()),
            "use spec.hostname",
        ),
    ];
    for (field, set, why) in unimplemented {
        if set {
            report.reject(field, why);
        }
    }
    if let Some(os) = &spec.os
        && os.name == "windows"
    {
        report.reject("spec.os.name", "minipod runs Linux pods");
    }
    if let Some(security) = &spec.security_context {
        check_pod_security_context(security, report);
    }
}

fn check_pod_security_context(security: &PodSecurityContext, report: &mut SupportReport) {
    const PATH: &str = "spec.securityContext";
    if security.fs_group.is_some() {
        report.reject(
            format!("{PATH}.fsGroup"),
            "volume ownership changes are not implemented",
        );
    }
    if security.fs_group_change_policy.is_some() {
        report.reject(
            format!("{PATH}.fsGroupChangePolicy"),
            "volume ownership changes are not implemented",
        );
    }
    if security
        .sysctls
        .as_ref()
        .is_some_and(|v| !is_empty_value(v))
    {
        report.reject(format!("{PATH}.sysctls"), "sysctls are not implemented");
    }
    if security
        .se_linux_options
        .as_ref()
        .is_some_and(|v| !is_empty_value(v))
    {
        report.reject(
            format!("{PATH}.seLinuxOptions"),
            "SELinux labels are not implemented",
        );
    }
    if security.se_linux_change_policy.is_some() {
        report.warn(
            format!("{PATH}.seLinuxChangePolicy"),
            "ignored: SELinux is not implemented",
        );
    }
    if security.windows_options.is_some() {
        report.warn(
            format!("{PATH}.windowsOptions"),
            "ignored: only applies to Windows",
        );
    }
    if security
        .supplemental_groups_policy
        .as_deref()
        .is_some_and(|p| p != "Merge")
    {
        report.reject(
            format!("{PATH}.supplementalGroupsPolicy"),
            "only Merge is implemented",
        );
    }
}

/// The deprecated confinement annotations, as Kubernetes treats them
/// today (1.32):
/// * seccomp: the kubelet ignores them since 1.27; the API server warns
///   when one is used without the field (`pkg/api/pod/warnings.go`), in
///   its own words;
/// * AppArmor: still honoured: the API server copies the annotation to the
///   `appArmorProfile` field when it creates the pod
///   (`applyAppArmorVersionSkew` in `pkg/registry/core/pod/strategy.go`),
///   and minipod reads it as the field (`minipod_plan::apparmor::choose`).
///
/// Their values and their agreement with the fields are validated in
/// `validate::annotations`.
fn check_confinement_annotations(pod: &Pod, report: &mut SupportReport) {
    let annotations = &pod.metadata.annotations;
    let field = |key: &str| format!("metadata.annotations[{key}]");
    let non_functional = r#"non-functional in v1.27+; use the "seccompProfile" field instead"#;
    let spec = &pod.spec;
    let pod_seccomp = spec
        .security_context
        .as_ref()
        .is_some_and(|sc| sc.seccomp_profile.is_some());
    if !pod_seccomp && annotations.contains_key(SECCOMP_POD) {
        report.warn(field(SECCOMP_POD), non_functional);
    }
    for (_, container) in spec.all_containers() {
        let container_seccomp = container
            .security_context
            .as_ref()
            .is_some_and(|sc| sc.seccomp_profile.is_some());
        let key = format!("{SECCOMP_CONTAINER_PREFIX}{}", container.name);
        if !container_seccomp && annotations.contains_key(&key) {
            report.warn(field(&key), non_functional);
        }
    }
}

fn check_container(path: &str, container: &Container, report: &mut SupportReport) {
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
    for (i, port) in container.ports.iter().enumerate() {
        if port.host_port.is_some_and(|p| p != 0) {
            report.reject(
                format!("{path}.ports[{i}].hostPort"),
                "host ports are not implemented (a pod has loopback networking only)",
            );
        }
        if port.host_ip.as_ref().is_some_and(|v| !v.is_empty()) {
            report.reject(
                format!("{path}.ports[{i}].hostIP"),
                "host ports are not implemented (a pod has loopback networking only)",
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
        if let Some(field_ref) = &source.field_ref
            && field_ref.field_path.starts_with("status.")
        {
            report.reject(
                format!("{env_path}.fieldRef.fieldPath"),
                "the pod has no IP address (minipod pods have loopback networking only)",
            );
        }
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

fn check_probe(path: &str, probe: &Probe, report: &mut SupportReport) {
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
fn check_http_scheme(path: &str, http_get: Option<&HttpGetAction>, report: &mut SupportReport) {
    if http_get.is_some_and(|h| h.scheme == Some(UriScheme::Https)) {
        report.reject(
            format!("{path}.httpGet.scheme"),
            "HTTPS is not implemented (minipod has no TLS client); use HTTP or an exec check",
        );
    }
}

fn check_handler(path: &str, handler: &LifecycleHandler, report: &mut SupportReport) {
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

fn check_container_security_context(
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

fn check_volume(path: &str, volume: &Volume, report: &mut SupportReport) {
    for source in volume.unimplemented_sources() {
        report.reject(
            format!("{path}.{source}"),
            "only emptyDir and hostPath volumes are implemented",
        );
    }
    if let Some(empty_dir) = &volume.empty_dir
        && empty_dir.medium == Some(StorageMedium::HugePages)
    {
        report.reject(
            format!("{path}.emptyDir.medium"),
            "huge pages are not implemented",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(spec_yaml: &str) -> SupportReport {
        let yaml =
            format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: web}}\nspec:\n{spec_yaml}");
        let pod: Pod = yaml_serde::from_str(&yaml).unwrap();
        check_support(&pod)
    }

    fn messages(report: &SupportReport) -> (Vec<String>, Vec<String>) {
        (
            report.warnings.iter().map(ToString::to_string).collect(),
            report.errors.iter().map(ToString::to_string).collect(),
        )
    }

    const APP: &str = "  containers: [{name: app, image: busybox}]\n";

    #[test]
    fn a_plain_pod_has_nothing_to_report() {
        assert_eq!(report(APP), SupportReport::default());
    }

    #[test]
    fn kubectl_generated_boilerplate_is_accepted_quietly() {
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  creationTimestamp: null\n  labels: {run: x}\n  name: x\nspec:\n  containers:\n  - image: busybox\n    name: x\n    resources: {}\n  dnsPolicy: ClusterFirst\n  restartPolicy: Always\n  schedulerName: default-scheduler\nstatus: {}\n";
        let pod: Pod = yaml_serde::from_str(yaml).unwrap();
        assert_eq!(check_support(&pod), SupportReport::default());
    }

    #[test]
    fn scheduler_fields_are_accepted_with_a_warning() {
        let r = report(&format!(
            "{APP}  nodeSelector: {{disk: ssd}}\n  tolerations: [{{key: k, operator: Exists}}]\n  affinity: {{nodeAffinity: {{}}}}\n  priorityClassName: high\n  serviceAccountName: builder\n"
        ));
        let (warnings, errors) = messages(&r);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            warnings,
            [
                format!("spec.nodeSelector: {SCHEDULER_ONLY}"),
                format!("spec.affinity: {SCHEDULER_ONLY}"),
                format!("spec.tolerations: {SCHEDULER_ONLY}"),
                format!("spec.priorityClassName: {SCHEDULER_ONLY}"),
                "spec.serviceAccountName: ignored: minipod has no service accounts, so no token is mounted".to_owned(),
            ]
        );
    }

    #[test]
    fn host_namespaces_are_rejected_only_when_requested() {
        let (_, errors) = messages(&report(&format!(
            "{APP}  hostNetwork: true\n  hostPID: false\n  hostIPC: true\n"
        )));
        assert_eq!(
            errors,
            [
                "spec.hostNetwork: Forbidden: not supported by minipod: the pod always gets its own network namespace",
                "spec.hostIPC: Forbidden: not supported by minipod: the pod always gets its own IPC namespace",
            ]
        );
    }

    #[test]
    fn unimplemented_volume_sources_are_rejected_by_name() {
        let (_, errors) = messages(&report(&format!(
            "{APP}  volumes:\n  - {{name: cfg, configMap: {{name: app-config}}}}\n  - {{name: data, persistentVolumeClaim: {{claimName: data}}}}\n  - {{name: scratch, emptyDir: {{}}}}\n"
        )));
        assert_eq!(
            errors,
            [
                "spec.volumes[0].configMap: Forbidden: not supported by minipod: only emptyDir and hostPath volumes are implemented",
                "spec.volumes[1].persistentVolumeClaim: Forbidden: not supported by minipod: only emptyDir and hostPath volumes are implemented",
            ]
        );
    }

    #[test]
    fn every_seccomp_profile_is_supported() {
        let (warnings, errors) = messages(&report(
            "  securityContext: {seccompProfile: {type: Unconfined}}\n  containers:\n  - name: app\n    image: busybox\n    securityContext: {seccompProfile: {type: RuntimeDefault}}\n  - name: side\n    image: busybox\n    securityContext: {seccompProfile: {type: Localhost, localhostProfile: p.json}}\n",
        ));
        assert!(errors.is_empty(), "{errors:?}");
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn every_apparmor_profile_is_supported() {
        let (warnings, errors) = messages(&report(
            "  securityContext: {appArmorProfile: {type: Unconfined}}\n  containers:\n  - name: app\n    image: busybox\n    securityContext: {appArmorProfile: {type: RuntimeDefault}}\n  - name: side\n    image: busybox\n    securityContext: {appArmorProfile: {type: Localhost, localhostProfile: mine}}\n",
        ));
        assert!(errors.is_empty(), "{errors:?}");
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn deprecated_seccomp_annotations_warn_as_the_api_server_and_apparmor_ones_are_honoured() {
        let manifest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  annotations:\n    seccomp.security.alpha.kubernetes.io/pod: runtime/default\n    container.seccomp.security.alpha.kubernetes.io/app: runtime/default\n    container.seccomp.security.alpha.kubernetes.io/side: runtime/default\n    container.apparmor.security.beta.kubernetes.io/app: runtime/default\n    container.apparmor.security.beta.kubernetes.io/side: unconfined\n    container.apparmor.security.beta.kubernetes.io/third: localhost/mine\nspec:\n  containers:\n  - name: app\n    image: busybox\n  - name: side\n    image: busybox\n    securityContext: {seccompProfile: {type: RuntimeDefault}}\n  - name: third\n    image: busybox\n";
        let pod: Pod = yaml_serde::from_str(manifest).unwrap();
        let (warnings, errors) = messages(&check_support(&pod));
        assert_eq!(
            warnings,
            [
                r#"metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: non-functional in v1.27+; use the "seccompProfile" field instead"#,
                r#"metadata.annotations[container.seccomp.security.alpha.kubernetes.io/app]: non-functional in v1.27+; use the "seccompProfile" field instead"#,
            ]
        );
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn container_fields_minipod_would_violate_are_rejected() {
        let (_, errors) = messages(&report(
            "  initContainers:\n  - name: setup\n    image: busybox\n    envFrom: [{configMapRef: {name: c}}]\n  containers:\n  - name: app\n    image: busybox\n    tty: true\n    ports: [{containerPort: 80, hostPort: 8080}]\n    env: [{name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]\n",
        ));
        assert_eq!(
            errors,
            [
                "spec.initContainers[0].envFrom: Forbidden: not supported by minipod: ConfigMaps and Secrets are not implemented yet",
                "spec.containers[0].tty: Forbidden: not supported by minipod: interactive containers are not implemented",
                "spec.containers[0].ports[0].hostPort: Forbidden: not supported by minipod: host ports are not implemented (a pod has loopback networking only)",
                "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Forbidden: not supported by minipod: the pod has no IP address (minipod pods have loopback networking only)",
            ]
        );
    }

    #[test]
    fn checks_minipod_cannot_run_are_refused_up_front() {
        let (_, errors) = messages(&report(
            "  containers:\n  - name: app\n    image: busybox\n    readinessProbe: {httpGet: {port: 443, scheme: HTTPS}}\n    livenessProbe: {grpc: {port: 9000}}\n    lifecycle: {preStop: {httpGet: {port: 8443, scheme: HTTPS}}}\n",
        ));
        assert_eq!(
            errors,
            [
                "spec.containers[0].livenessProbe.grpc: Forbidden: not supported by minipod: gRPC probes are not implemented yet; use exec, httpGet or tcpSocket",
                "spec.containers[0].readinessProbe.httpGet.scheme: Forbidden: not supported by minipod: HTTPS is not implemented (minipod has no TLS client); use HTTP or an exec check",
                "spec.containers[0].lifecycle.preStop.httpGet.scheme: Forbidden: not supported by minipod: HTTPS is not implemented (minipod has no TLS client); use HTTP or an exec check",
            ]
        );
    }

    #[test]
    fn scheduling_gates_are_rejected_because_the_pod_must_wait() {
        let (warnings, errors) = messages(&report(&format!(
            "{APP}  schedulingGates: [{{name: wait}}]\n"
        )));
        assert!(warnings.is_empty());
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with("spec.schedulingGates: Forbidden"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_node_critical_priority_class_is_honoured_so_not_warned_about() {
        let (warnings, _) = messages(&report(&format!(
            "{APP}  priorityClassName: system-node-critical\n"
        )));
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn overhead_is_counted_with_a_warning_that_a_cluster_would_refuse_it() {
        let (warnings, errors) = messages(&report(&format!("{APP}  overhead: {{cpu: 100m}}\n")));
        assert!(errors.is_empty());
        assert_eq!(
            warnings,
            [
                "spec.overhead: counted in the plan, but a cluster sets overhead only through a RuntimeClass and would refuse this pod"
            ]
        );
    }

    #[test]
    fn huge_pages_are_refused_rather_than_silently_unenforced() {
        let (_, errors) = messages(&report(
            "  containers:\n  - name: app\n    image: busybox\n    resources: {requests: {hugepages-2Mi: 4Mi, memory: 1Gi}, limits: {hugepages-2Mi: 4Mi}}\n",
        ));
        assert_eq!(
            errors,
            [
                "spec.containers[0].resources.requests[hugepages-2Mi]: Forbidden: not supported by minipod: huge pages are not implemented (no hugetlb cgroup limits would hold them)",
                "spec.containers[0].resources.limits[hugepages-2Mi]: Forbidden: not supported by minipod: huge pages are not implemented (no hugetlb cgroup limits would hold them)",
            ]
        );
    }

    #[test]
    fn system_set_metadata_is_warned_about() {
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, uid: 1234, resourceVersion: \"99\", creationTimestamp: \"2024-01-01T00:00:00Z\"}\nspec: {containers: [{name: a, image: b}]}\nstatus: {phase: Running}\n";
        let pod: Pod = yaml_serde::from_str(yaml).unwrap();
        let (warnings, errors) = messages(&check_support(&pod));
        assert!(errors.is_empty());
        assert_eq!(
            warnings,
            [
                format!("status: {SET_BY_SYSTEM}"),
                format!("metadata.resourceVersion: {SET_BY_SYSTEM}"),
                format!("metadata.creationTimestamp: {SET_BY_SYSTEM}"),
                format!("metadata.uid: {SET_BY_SYSTEM}"),
            ]
        );
    }
}
