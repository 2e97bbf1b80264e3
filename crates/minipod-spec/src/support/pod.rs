//! The pod-level fields: metadata, the pod spec, its security context,
//! the confinement annotations and volumes.

use super::report::{SCHEDULER_ONLY, SET_BY_SYSTEM, SupportReport, is_empty_value};
use crate::enums::StorageMedium;
use crate::model::{Affinity, ObjectMeta, Pod, PodSecurityContext, PodSpec, Volume};
use crate::validate::annotations::{SECCOMP_CONTAINER_PREFIX, SECCOMP_POD};

pub(super) fn check_metadata(meta: &ObjectMeta, report: &mut SupportReport) {
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

pub(super) fn check_pod_spec(spec: &PodSpec, report: &mut SupportReport) {
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
            spec.affinity
                .as_ref()
                .is_some_and(|affinity| *affinity != Affinity::default()),
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
            "only in the pod's own /etc/hosts: there is no cluster DNS to resolve the pod's FQDN",
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

    // Host namespaces: `hostNetwork` is served (the pod stays in the
    // node's network and UTS namespaces, `minipod_plan::launch::
    // sandbox_namespaces`); a pod always gets its own PID and IPC ones.
    let host_namespaces = [
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

pub(super) fn check_pod_security_context(
    security: &PodSecurityContext,
    report: &mut SupportReport,
) {
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
pub(super) fn check_confinement_annotations(pod: &Pod, report: &mut SupportReport) {
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

pub(super) fn check_volume(path: &str, volume: &Volume, report: &mut SupportReport) {
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
