//! API defaulting: the values the API server fills in on create, so that a
//! manifest here means what it means on a cluster.
//!
//! Mirrors `pkg/apis/core/v1/defaults.go` (`SetDefaults_Pod` with
//! `defaultHostNetworkPorts`,
//! `SetDefaults_PodSpec`, `SetDefaults_Container`, `SetDefaults_Probe`,
//! `SetDefaults_HTTPGetAction`, `SetDefaults_ContainerPort`,
//! `SetDefaults_ObjectFieldSelector`, `SetDefaults_Volume`) plus what the
//! create handler assigns (`metadata.namespace`, `metadata.uid`,
//! `metadata.name` from `generateName`).
//!
//! Like Kubernetes, a zero number counts as unset (`periodSeconds: 0` → 10).

use crate::enums::{
    DnsPolicy, HostPathType, Protocol, PullPolicy, RestartPolicy, TerminationMessagePolicy,
    UriScheme,
};
use crate::model::{
    Container, EmptyDirVolumeSource, HttpGetAction, LifecycleHandler, Pod, PodSecurityContext,
    Probe, ResourceRequirements, Volume,
};

/// `terminationGracePeriodSeconds` when the manifest leaves it out.
pub const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS: i64 = 30;
/// The namespace of a pod that names none (kubectl's default context).
pub const DEFAULT_NAMESPACE: &str = "default";
/// Where a container may write its termination message.
pub const DEFAULT_TERMINATION_MESSAGE_PATH: &str = "/dev/termination-log";

/// Values the API server assigns on create, chosen by the caller so this
/// crate stays deterministic (no clock, no randomness).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAssigned {
    /// `metadata.uid`, a UUID.
    pub uid: String,
    /// Five characters appended to `metadata.generateName` when the pod has
    /// no name (Kubernetes uses `[bcdfghjklmnpqrstvwxz2456789]`).
    pub name_suffix: String,
}

/// Applies the API server's defaults in place.
pub fn apply_defaults(pod: &mut Pod, assigned: &ServerAssigned) {
    default_metadata(pod, assigned);

    let spec = &mut pod.spec;
    spec.restart_policy.get_or_insert(RestartPolicy::Always);
    spec.dns_policy.get_or_insert(DnsPolicy::ClusterFirst);
    spec.termination_grace_period_seconds
        .get_or_insert(DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS);
    spec.security_context
        .get_or_insert_with(PodSecurityContext::default);
    spec.enable_service_links.get_or_insert(true);

    for container in spec
        .init_containers
        .iter_mut()
        .chain(spec.containers.iter_mut())
    {
        default_container(container);
    }
    for volume in &mut spec.volumes {
        default_volume(volume);
    }
    // `SetDefaults_Pod`: on the host's network a container port is a host
    // port, so an unset (or zero) `hostPort` becomes the `containerPort`
    // (`defaultHostNetworkPorts`, for init and app containers).
    if spec.host_network == Some(true) {
        for container in spec
            .init_containers
            .iter_mut()
            .chain(spec.containers.iter_mut())
        {
            for port in &mut container.ports {
                if port.host_port.unwrap_or(0) == 0 {
                    port.host_port = Some(port.container_port);
                }
            }
        }
    }
}

fn default_metadata(pod: &mut Pod, assigned: &ServerAssigned) {
    let meta = &mut pod.metadata;
    // The API server generates a name only when none is given
    // (`staging/src/k8s.io/apiserver/pkg/storage/names/generate.go`).
    if meta.name.as_deref().unwrap_or_default().is_empty()
        && let Some(prefix) = meta.generate_name.as_deref().filter(|p| !p.is_empty())
    {
        meta.name = Some(format!("{prefix}{}", assigned.name_suffix));
    }
    if meta.namespace.as_deref().unwrap_or_default().is_empty() {
        meta.namespace = Some(DEFAULT_NAMESPACE.to_owned());
    }
    // A uid in the manifest is never kept: every created object gets a new one.
    meta.uid = Some(assigned.uid.clone());
}

fn default_container(container: &mut Container) {
    if container.image_pull_policy.is_none() {
        container.image_pull_policy = Some(default_pull_policy(container.image.as_deref()));
    }
    container
        .termination_message_path
        .get_or_insert_with(|| DEFAULT_TERMINATION_MESSAGE_PATH.to_owned());
    container
        .termination_message_policy
        .get_or_insert(TerminationMessagePolicy::File);
    default_requests_from_limits(&mut container.resources);
    for port in &mut container.ports {
        port.protocol.get_or_insert(Protocol::Tcp);
    }
    for env in &mut container.env {
        if let Some(field_ref) = env.value_from.as_mut().and_then(|v| v.field_ref.as_mut())
            && field_ref
                .api_version
                .as_deref()
                .unwrap_or_default()
                .is_empty()
        {
            field_ref.api_version = Some("v1".to_owned());
        }
    }
    for probe in [
        &mut container.liveness_probe,
        &mut container.readiness_probe,
        &mut container.startup_probe,
    ]
    .into_iter()
    .flatten()
    {
        default_probe(probe);
    }
    if let Some(lifecycle) = &mut container.lifecycle {
        for handler in [&mut lifecycle.post_start, &mut lifecycle.pre_stop]
            .into_iter()
            .flatten()
        {
            default_handler(handler);
        }
    }
}

/// `imagePullPolicy`: `Always` for `:latest` or an image without a tag,
/// `IfNotPresent` otherwise (a digest without a tag counts as tagged).
pub fn default_pull_policy(image: Option<&str>) -> PullPolicy {
    let Some(image) = image.filter(|i| !i.is_empty()) else {
        // Kubernetes fails to parse an empty reference and falls back to
        // IfNotPresent; validation then reports the missing image.
        return PullPolicy::IfNotPresent;
    };
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    // The tag is after the last ':' of the last path component, so that a
    // registry port (`localhost:5000/app`) is not mistaken for a tag.
    let last_component = name.rsplit('/').next().unwrap_or(name);
    let tag = last_component.split_once(':').map(|(_, tag)| tag);
    match (tag, digest) {
        (Some("latest"), _) | (None, None) => PullPolicy::Always,
        _ => PullPolicy::IfNotPresent,
    }
}

/// A limit without a request makes the request equal to the limit
/// (`SetDefaults_Pod`, for app and init containers alike).
fn default_requests_from_limits(resources: &mut ResourceRequirements) {
    for (name, limit) in &resources.limits {
        resources
            .requests
            .entry(name.clone())
            .or_insert_with(|| limit.clone());
    }
}

fn default_probe(probe: &mut Probe) {
    fn zero_to(value: &mut Option<i32>, default: i32) {
        if value.unwrap_or(0) == 0 {
            *value = Some(default);
        }
    }
    zero_to(&mut probe.timeout_seconds, 1);
    zero_to(&mut probe.period_seconds, 10);
    zero_to(&mut probe.success_threshold, 1);
    zero_to(&mut probe.failure_threshold, 3);
    probe.initial_delay_seconds.get_or_insert(0);
    if let Some(http) = &mut probe.http_get {
        default_http_get(http);
    }
}

fn default_handler(handler: &mut LifecycleHandler) {
    if let Some(http) = &mut handler.http_get {
        default_http_get(http);
    }
}

fn default_http_get(http: &mut HttpGetAction) {
    if http.path.as_deref().unwrap_or_default().is_empty() {
        http.path = Some("/".to_owned());
    }
    http.scheme.get_or_insert(UriScheme::Http);
}

fn default_volume(volume: &mut Volume) {
    // A volume that names no source at all is an emptyDir (`SetDefaults_Volume`).
    if volume.empty_dir.is_none()
        && volume.host_path.is_none()
        && volume.unimplemented_sources().is_empty()
    {
        volume.empty_dir = Some(EmptyDirVolumeSource::default());
    }
    if let Some(host_path) = &mut volume.host_path {
        host_path.path_type.get_or_insert(HostPathType::Unset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assigned() -> ServerAssigned {
        ServerAssigned {
            uid: "0b7c2a4e-0000-4000-8000-000000000001".into(),
            name_suffix: "x7k2p".into(),
        }
    }

    fn defaulted(yaml: &str) -> Pod {
        let mut pod: Pod = yaml_serde::from_str(yaml).unwrap();
        apply_defaults(&mut pod, &assigned());
        pod
    }

    const MINIMAL: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: app\n    image: busybox:1.36\n";

    #[test]
    fn pod_level_defaults_match_the_api_server() {
        let pod = defaulted(MINIMAL);
        assert_eq!(pod.spec.restart_policy, Some(RestartPolicy::Always));
        assert_eq!(pod.spec.termination_grace_period_seconds, Some(30));
        assert_eq!(pod.spec.dns_policy, Some(DnsPolicy::ClusterFirst));
        assert_eq!(pod.spec.enable_service_links, Some(true));
        assert_eq!(pod.metadata.namespace.as_deref(), Some("default"));
        assert_eq!(pod.metadata.uid.as_deref(), Some(assigned().uid.as_str()));
    }

    #[test]
    fn explicit_pod_values_are_kept() {
        let pod = defaulted(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: lab}\nspec:\n  restartPolicy: Never\n  terminationGracePeriodSeconds: 0\n  containers: [{name: app, image: busybox}]\n",
        );
        assert_eq!(pod.spec.restart_policy, Some(RestartPolicy::Never));
        assert_eq!(pod.spec.termination_grace_period_seconds, Some(0));
        assert_eq!(pod.metadata.namespace.as_deref(), Some("lab"));
    }

    #[test]
    fn a_uid_in_the_manifest_is_replaced() {
        let pod = defaulted(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web, uid: mine}\nspec: {containers: [{name: a, image: b}]}\n",
        );
        assert_eq!(pod.metadata.uid.as_deref(), Some(assigned().uid.as_str()));
    }

    #[test]
    fn generate_name_gets_the_assigned_suffix_only_without_a_name() {
        let pod = defaulted(
            "apiVersion: v1\nkind: Pod\nmetadata: {generateName: web-}\nspec: {containers: [{name: a, image: b}]}\n",
        );
        assert_eq!(pod.metadata.name.as_deref(), Some("web-x7k2p"));
        let pod = defaulted(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web, generateName: web-}\nspec: {containers: [{name: a, image: b}]}\n",
        );
        assert_eq!(pod.metadata.name.as_deref(), Some("web"));
    }

    #[test]
    fn image_pull_policy_follows_the_tag() {
        let cases = [
            ("busybox", PullPolicy::Always),
            ("busybox:latest", PullPolicy::Always),
            ("busybox:1.36", PullPolicy::IfNotPresent),
            ("localhost:5000/team/app", PullPolicy::Always),
            ("localhost:5000/team/app:1.4", PullPolicy::IfNotPresent),
            (
                "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                PullPolicy::IfNotPresent,
            ),
            (
                "busybox:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                PullPolicy::Always,
            ),
        ];
        for (image, expected) in cases {
            assert_eq!(default_pull_policy(Some(image)), expected, "{image}");
        }
    }

    #[test]
    fn an_explicit_pull_policy_is_kept() {
        let pod = defaulted(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: a, image: busybox, imagePullPolicy: Never}]}\n",
        );
        assert_eq!(
            pod.spec.containers[0].image_pull_policy,
            Some(PullPolicy::Never)
        );
    }

    #[test]
    fn requests_default_to_limits_for_init_and_app_containers() {
        let pod = defaulted(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  initContainers:\n  - {name: init, image: b, resources: {limits: {cpu: 500m}}}\n  containers:\n  - name: app\n    image: b\n    resources: {requests: {cpu: 100m}, limits: {cpu: 200m, memory: 64Mi}}\n",
        );
        let init = &pod.spec.init_containers[0].resources.requests;
        assert_eq!(init["cpu"].to_string(), "500m");
        let app = &pod.spec.containers[0].resources.requests;
        assert_eq!(
            app["cpu"].to_string(),
            "100m",
            "an explicit request is kept"
        );
        assert_eq!(app["memory"].to_string(), "64Mi");
    }

    #[test]
    fn probe_defaults_replace_missing_and_zero_values() {
        let pod = defaulted(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: app\n    image: b\n    livenessProbe: {httpGet: {port: 80}, periodSeconds: 0}\n    readinessProbe: {exec: {command: [true]}, failureThreshold: 5}\n",
        );
        let live = pod.spec.containers[0].liveness_probe.as_ref().unwrap();
        assert_eq!(
            (
                live.timeout_seconds,
                live.period_seconds,
                live.success_threshold,
                live.failure_threshold
            ),
            (Some(1), Some(10), Some(1), Some(3))
        );
        let http = live.http_get.as_ref().unwrap();
        assert_eq!(http.path.as_deref(), Some("/"));
        assert_eq!(http.scheme, Some(UriScheme::Http));
        let ready = pod.spec.containers[0].readiness_probe.as_ref().unwrap();
        assert_eq!(ready.failure_threshold, Some(5));
    }

    #[test]
    fn ports_default_to_tcp_and_field_refs_to_v1() {
        let pod = defaulted(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: app\n    image: b\n    ports: [{containerPort: 80}]\n    env: [{name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]\n",
        );
        let c = &pod.spec.containers[0];
        assert_eq!(c.ports[0].protocol, Some(Protocol::Tcp));
        let field_ref = c.env[0]
            .value_from
            .as_ref()
            .unwrap()
            .field_ref
            .as_ref()
            .unwrap();
        assert_eq!(field_ref.api_version.as_deref(), Some("v1"));
        assert_eq!(
            c.termination_message_path.as_deref(),
            Some("/dev/termination-log")
        );
    }

    #[test]
    fn a_volume_without_a_source_becomes_an_empty_dir() {
        let pod = defaulted(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  volumes: [{name: scratch}, {name: host, hostPath: {path: /tmp}}]\n  containers: [{name: a, image: b}]\n",
        );
        assert!(pod.spec.volumes[0].empty_dir.is_some());
        assert!(pod.spec.volumes[1].empty_dir.is_none());
        assert_eq!(
            pod.spec.volumes[1].host_path.as_ref().unwrap().path_type,
            Some(HostPathType::Unset)
        );
    }

    #[test]
    fn host_network_makes_every_container_port_a_host_port() {
        let pod = defaulted(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  hostNetwork: true\n  initContainers: [{name: i, image: b, ports: [{containerPort: 70}]}]\n  containers: [{name: a, image: b, ports: [{containerPort: 80}, {containerPort: 81, hostPort: 0}, {containerPort: 82, hostPort: 8082}]}]\n",
        );
        let host_ports: Vec<Option<i32>> = pod
            .spec
            .all_containers()
            .flat_map(|(_, c)| c.ports.iter().map(|p| p.host_port))
            .collect();
        // 8082 is kept: validation then refuses it (it must equal 82).
        assert_eq!(host_ports, [Some(70), Some(80), Some(81), Some(8082)]);

        let pod = defaulted(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: a, image: b, ports: [{containerPort: 80}]}]\n",
        );
        assert_eq!(pod.spec.containers[0].ports[0].host_port, None);
    }
}
