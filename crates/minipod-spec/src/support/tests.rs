use super::report::SCHEDULER_ONLY;
use super::*;

fn report(spec_yaml: &str) -> SupportReport {
    let yaml = format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: web}}\nspec:\n{spec_yaml}");
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
fn host_pid_and_ipc_are_rejected_only_when_requested_host_network_is_served() {
    let (_, errors) = messages(&report(&format!(
        "{APP}  hostNetwork: true\n  hostPID: false\n  hostIPC: true\n"
    )));
    assert_eq!(
        errors,
        [
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
        "  initContainers:\n  - name: setup\n    image: busybox\n    envFrom: [{configMapRef: {name: c}}]\n  containers:\n  - name: app\n    image: busybox\n    tty: true\n    ports: [{containerPort: 80, hostPort: 8080}]\n",
    ));
    assert_eq!(
        errors,
        [
            "spec.initContainers[0].envFrom: Forbidden: not supported by minipod: ConfigMaps and Secrets are not implemented yet",
            "spec.containers[0].tty: Forbidden: not supported by minipod: interactive containers are not implemented",
        ]
    );
}

#[test]
fn host_ports_and_host_ips_are_accepted() {
    // Forwarded by the pod network (DNAT, or CNI's portmap) and admitted
    // by the kubelet's NodePorts check (`minipod_plan::admission`).
    let (warnings, errors) = messages(&report(
        "  containers:\n  - name: app\n    image: busybox\n    ports:\n    - {containerPort: 80, hostPort: 8080}\n    - {containerPort: 53, hostPort: 5353, hostIP: 127.0.0.1, protocol: UDP}\n",
    ));
    assert!(errors.is_empty(), "{errors:?}");
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn the_downward_apis_addresses_are_served() {
    let (_, errors) = messages(&report(
        "  containers:\n  - name: app\n    image: busybox\n    env:\n    - {name: A, valueFrom: {fieldRef: {fieldPath: status.podIP}}}\n    - {name: B, valueFrom: {fieldRef: {fieldPath: status.podIPs}}}\n    - {name: C, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}\n    - {name: D, valueFrom: {fieldRef: {fieldPath: status.hostIPs}}}\n",
    ));
    assert!(errors.is_empty(), "{errors:?}");
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

#[test]
fn an_active_deadline_is_served_without_a_word() {
    // The lifecycle machine fails and stops the pod at its deadline.
    let spec = format!("  activeDeadlineSeconds: 30\n{APP}");
    assert_eq!(report(&spec), SupportReport::default());
}
