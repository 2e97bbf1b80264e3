//! API-server validation of a (defaulted) Pod: every error at once, in the
//! API server's words (`k8s.io/apimachinery/pkg/util/validation/field`).
//!
//! The rules follow `pkg/apis/core/validation/validation.go` (`ValidatePodCreate`)
//! as of Kubernetes 1.33 with its default feature gates, one module per concept:
//!
//! - `meta` and `annotations`: `metadata` and the pod-specific annotations;
//! - `pod`: `ValidatePodSpec` itself (the order of everything) and the
//!   pod-level fields: restart and DNS policy, DNS config, host aliases, ...;
//! - `containers`: app containers, init containers and sidecars;
//! - `ports`, `env`, `probes` (and hooks), `resources`, `volumes`
//!   (and mounts), `security` (security contexts), `os` (`spec.os`);
//! - `names` and `ip`: the string formats and their messages;
//! - `secret`: Secrets (`ValidateSecret`, `ValidateSecretUpdate`).
//!
//! Maps (labels, resources) are walked in key order, where Go's order is random.

use std::collections::HashSet;
use std::fmt;

use crate::field_error::write_invalid;
pub use crate::field_error::{ErrorKind, FieldError, quote};
use crate::model::Pod;

pub(crate) mod annotations;
mod containers;
mod env;
mod ip;
mod meta;
mod names;
mod os;
mod pod;
mod ports;
mod probes;
mod resources;
mod secret;
mod security;
mod sysctls;
mod volumes;

pub use secret::{validate_secret, validate_secret_update};

#[cfg(test)]
mod fixture;

/// A pod the API server would refuse: `The Pod "web" is invalid: ...`,
/// printed the way kubectl prints it (one error inline, several as a list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPod {
    /// The pod's name as written (may be empty).
    pub name: String,
    pub errors: Vec<FieldError>,
}

impl fmt::Display for InvalidPod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_invalid(f, "Pod", &self.name, &self.errors)
    }
}

impl std::error::Error for InvalidPod {}

/// Validates a defaulted pod as `ValidatePodCreate` does
/// (`pkg/apis/core/validation/validation.go`); empty means valid.
///
/// Every error is collected, in the API server's order: metadata, pod
/// annotations, the spec (`ValidatePodSpec`), pod-only container checks,
/// then the create-only rules. Identical messages are reported once, as
/// `field.ErrorList.ToAggregate` and kubectl do.
pub fn validate_pod(pod: &Pod) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let meta = &pod.metadata;
    let spec = &pod.spec;

    // validatePodMetadataAndSpec
    meta::validate_object_meta(meta, &mut errs);
    annotations::validate_pod_specific_annotations(&meta.annotations, spec, &mut errs);
    pod::validate_pod_spec(spec, &mut errs);
    containers::validate_containers_only_for_pod(&spec.containers, "spec.containers", &mut errs);
    containers::validate_containers_only_for_pod(
        &spec.init_containers,
        "spec.initContainers",
        &mut errs,
    );

    // ValidatePodCreate
    if is_set(spec.ephemeral_containers.as_ref()) {
        errs.push(FieldError::forbidden(
            "spec.ephemeralContainers",
            "cannot be set on create",
        ));
    }
    if !spec.node_name.as_deref().unwrap_or_default().is_empty()
        && is_set(spec.scheduling_gates.as_ref())
    {
        errs.push(FieldError::forbidden(
            "spec.nodeName",
            "cannot be set until all schedulingGates have been cleared",
        ));
    }
    annotations::validate_seccomp_annotations_match_fields(&meta.annotations, spec, &mut errs);
    annotations::validate_app_armor_annotations_match_fields(&meta.annotations, spec, &mut errs);

    let mut seen = HashSet::new();
    errs.retain(|error| seen.insert(error.to_string()));
    errs
}

/// A loosely typed list counts as set when it has entries (`len(x) > 0`).
fn is_set(value: Option<&serde_json::Value>) -> bool {
    match value {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Array(items)) => !items.is_empty(),
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::{base_pod, container, exec_probe};
    use super::*;
    use crate::enums::RestartPolicy;

    fn invalid(pod: &Pod) -> String {
        InvalidPod {
            name: pod.metadata.name.clone().unwrap_or_default(),
            errors: validate_pod(pod),
        }
        .to_string()
    }

    /// The example. Kubernetes (1.28 through 1.33) words it
    /// `restartPolicy=Always`, not "restartPolicy of Always".
    #[test]
    fn init_container_liveness_probe_is_forbidden_as_kubectl_prints_it() {
        let mut pod = base_pod();
        pod.spec.init_containers.push(container("setup"));
        let mut migrate = container("migrate");
        migrate.liveness_probe = Some(exec_probe());
        pod.spec.init_containers.push(migrate);
        assert_eq!(
            invalid(&pod),
            "The Pod \"web\" is invalid: spec.initContainers[1].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always"
        );
    }

    #[test]
    fn every_error_is_reported_at_once_in_the_api_servers_order() {
        let mut pod = base_pod();
        pod.metadata.name = Some("web".into());
        pod.spec.restart_policy = Some(RestartPolicy::Unknown("Sometimes".into()));
        pod.spec.containers[0].image = None;
        let mut init = container("init");
        init.liveness_probe = Some(exec_probe());
        pod.spec.init_containers.push(init);
        pod.metadata.namespace = Some("Team A".into());
        assert_eq!(
            invalid(&pod),
            "The Pod \"web\" is invalid: \n\
             * metadata.namespace: Invalid value: \"Team A\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')\n\
             * spec.containers[0].image: Required value\n\
             * spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always\n\
             * spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""
        );
    }

    #[test]
    fn identical_messages_are_reported_once() {
        let mut pod = base_pod();
        pod.metadata.labels.insert("a".into(), "-x".into());
        pod.metadata.labels.insert("b".into(), "-x".into());
        assert_eq!(validate_pod(&pod).len(), 1);
    }

    #[test]
    fn an_invalid_pod_without_causes_has_no_colon() {
        let pod = InvalidPod {
            name: "web".into(),
            errors: Vec::new(),
        };
        assert_eq!(pod.to_string(), "The Pod \"web\" is invalid");
    }

    #[test]
    fn create_only_rules() {
        let mut pod = base_pod();
        pod.spec.ephemeral_containers = Some(serde_json::json!([{"name": "debug"}]));
        pod.spec.node_name = Some("node-1".into());
        pod.spec.scheduling_gates = Some(serde_json::json!([{"name": "example.com/wait"}]));
        let got: Vec<String> = validate_pod(&pod).iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "spec.ephemeralContainers: Forbidden: cannot be set on create",
                "spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared",
            ]
        );
    }
}
