//! `spec.containers` and `spec.initContainers`: names, images, the rules
//! that differ between app containers, regular init containers and native
//! sidecars (init containers with `restartPolicy: Always`), and host ports.
//!
//! Mirrors `validateContainers`, `validateInitContainers`,
//! `validateContainerCommon`, `validatePullPolicy`,
//! `validateInitContainerRestartPolicy`, `AccumulateUniqueHostPorts` and
//! `validateContainersOnlyForPod` in `pkg/apis/core/validation/validation.go`.

use std::collections::{BTreeMap, HashSet};

use super::names::{invalid_each, is_dns1123_label};
use super::{env, ports, probes, resources, security, volumes};
use crate::enums::{ContainerRestartPolicy, PullPolicy, TerminationMessagePolicy};
use crate::field_error::{FieldError, quote};
use crate::model::{Container, PodOs, Volume};

/// What container validation needs to know about the rest of the pod.
pub(super) struct SpecContext<'a> {
    /// `spec.terminationGracePeriodSeconds` (bounds `sleep` hooks).
    pub grace_period: Option<i64>,
    /// The volumes that passed validation, by name.
    pub volumes: &'a BTreeMap<&'a str, &'a Volume>,
    /// `spec.hostUsers`, `true` unless set to `false`.
    pub host_users: bool,
    /// `spec.os` (stop signals depend on it).
    pub os: Option<&'a PodOs>,
}

const INIT_FORBIDDEN: &str = "may not be set for init containers without restartPolicy=Always";

/// `validateContainers`: at least one, unique names, hooks and probes,
/// no `restartPolicy`, host ports unique across all app containers.
pub(super) fn validate_containers(
    containers: &[Container],
    ctx: &SpecContext<'_>,
    errs: &mut Vec<FieldError>,
) {
    let list = "spec.containers";
    if containers.is_empty() {
        errs.push(FieldError::required(list, ""));
        return;
    }
    let mut names = HashSet::new();
    for (i, container) in containers.iter().enumerate() {
        let path = format!("{list}[{i}]");
        validate_container_common(container, &path, ctx, errs);
        if !names.insert(container.name.as_str()) {
            errs.push(FieldError::duplicate(
                format!("{path}.name"),
                quote(&container.name),
            ));
        }
        validate_hooks_and_probes(container, &path, ctx, errs);
        if container.restart_policy.is_some() {
            errs.push(FieldError::forbidden(
                format!("{path}.restartPolicy"),
                "may not be set for non-init containers",
            ));
        }
    }
    check_host_port_conflicts(containers, list, errs);
}

/// `validateInitContainers`: names unique across init and app containers;
/// only sidecars (`restartPolicy: Always`) may have hooks and probes.
pub(super) fn validate_init_containers(
    init_containers: &[Container],
    containers: &[Container],
    ctx: &SpecContext<'_>,
    errs: &mut Vec<FieldError>,
) {
    let list = "spec.initContainers";
    let mut names: HashSet<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    for (i, container) in init_containers.iter().enumerate() {
        let path = format!("{list}[{i}]");
        validate_container_common(container, &path, ctx, errs);

        let mut sidecar = false;
        match &container.restart_policy {
            None => {}
            Some(ContainerRestartPolicy::Always) => sidecar = true,
            Some(ContainerRestartPolicy::Unknown(other)) => errs.push(FieldError::not_supported(
                format!("{path}.restartPolicy"),
                other,
                &["Always"],
            )),
        }

        if names.contains(container.name.as_str()) {
            errs.push(FieldError::duplicate(
                format!("{path}.name"),
                quote(&container.name),
            ));
        } else if !container.name.is_empty() {
            names.insert(container.name.as_str());
        }

        // Init containers run one at a time, so each is checked alone (and,
        // as in Kubernetes, reported as entry 0 of the list).
        check_host_port_conflicts(std::slice::from_ref(container), list, errs);

        if sidecar {
            validate_hooks_and_probes(container, &path, ctx, errs);
        } else {
            let forbidden = [
                ("lifecycle", container.lifecycle.is_some()),
                ("livenessProbe", container.liveness_probe.is_some()),
                ("readinessProbe", container.readiness_probe.is_some()),
                ("startupProbe", container.startup_probe.is_some()),
            ];
            for (field, set) in forbidden {
                if set {
                    errs.push(FieldError::forbidden(
                        format!("{path}.{field}"),
                        INIT_FORBIDDEN,
                    ));
                }
            }
        }
    }
}

/// The lifecycle hooks and the three probes of an app container or sidecar.
fn validate_hooks_and_probes(
    container: &Container,
    path: &str,
    ctx: &SpecContext<'_>,
    errs: &mut Vec<FieldError>,
) {
    let grace = ctx.grace_period;
    if let Some(lifecycle) = &container.lifecycle {
        probes::validate_lifecycle(lifecycle, grace, ctx.os, &format!("{path}.lifecycle"), errs);
    }
    probes::validate_liveness_probe(
        container.liveness_probe.as_ref(),
        grace,
        &format!("{path}.livenessProbe"),
        errs,
    );
    probes::validate_readiness_probe(
        container.readiness_probe.as_ref(),
        grace,
        &format!("{path}.readinessProbe"),
        errs,
    );
    probes::validate_startup_probe(
        container.startup_probe.as_ref(),
        grace,
        &format!("{path}.startupProbe"),
        errs,
    );
}

/// `validateContainerCommon`: what every kind of container must satisfy.
fn validate_container_common(
    container: &Container,
    path: &str,
    ctx: &SpecContext<'_>,
    errs: &mut Vec<FieldError>,
) {
    let name_path = format!("{path}.name");
    if container.name.is_empty() {
        errs.push(FieldError::required(name_path, ""));
    } else {
        errs.extend(invalid_each(
            &name_path,
            &container.name,
            is_dns1123_label(&container.name),
        ));
    }

    if container.image.as_deref().unwrap_or_default().is_empty() {
        errs.push(FieldError::required(format!("{path}.image"), ""));
    }

    let policy_path = format!("{path}.terminationMessagePolicy");
    match &container.termination_message_policy {
        Some(TerminationMessagePolicy::File | TerminationMessagePolicy::FallbackToLogsOnError) => {}
        None => errs.push(FieldError::required(policy_path, "")),
        Some(TerminationMessagePolicy::Unknown(other)) if other.is_empty() => {
            errs.push(FieldError::required(policy_path, ""));
        }
        Some(TerminationMessagePolicy::Unknown(other)) => errs.push(FieldError::not_supported(
            policy_path,
            other,
            &["File", "FallbackToLogsOnError"],
        )),
    }

    ports::validate_container_ports(&container.ports, &format!("{path}.ports"), errs);
    env::validate_env(&container.env, &format!("{path}.env"), errs);
    volumes::validate_volume_mounts(
        &container.volume_mounts,
        ctx.volumes,
        container,
        &format!("{path}.volumeMounts"),
        errs,
    );
    validate_pull_policy(
        container.image_pull_policy.as_ref(),
        &format!("{path}.imagePullPolicy"),
        errs,
    );
    resources::validate_container_resources(
        &container.resources,
        &format!("{path}.resources"),
        errs,
    );
    security::validate_security_context(
        container.security_context.as_ref(),
        &format!("{path}.securityContext"),
        ctx.host_users,
        errs,
    );
}

/// `validatePullPolicy`.
fn validate_pull_policy(policy: Option<&PullPolicy>, path: &str, errs: &mut Vec<FieldError>) {
    match policy {
        Some(PullPolicy::Always | PullPolicy::IfNotPresent | PullPolicy::Never) => {}
        None => errs.push(FieldError::required(path, "")),
        Some(PullPolicy::Unknown(other)) if other.is_empty() => {
            errs.push(FieldError::required(path, ""));
        }
        Some(PullPolicy::Unknown(other)) => errs.push(FieldError::not_supported(
            path,
            other,
            &["Always", "IfNotPresent", "Never"],
        )),
    }
}

/// `checkHostPortConflicts` / `AccumulateUniqueHostPorts`: one
/// `protocol/hostIP/hostPort` may be claimed once.
fn check_host_port_conflicts(containers: &[Container], list: &str, errs: &mut Vec<FieldError>) {
    let mut seen = HashSet::new();
    for (ci, container) in containers.iter().enumerate() {
        for (pi, port) in container.ports.iter().enumerate() {
            let host_port = port.host_port.unwrap_or(0);
            if host_port == 0 {
                continue;
            }
            let protocol = port
                .protocol
                .as_ref()
                .map(|p| p.as_str())
                .unwrap_or_default();
            let host_ip = port.host_ip.as_deref().unwrap_or_default();
            let key = format!("{protocol}/{host_ip}/{host_port}");
            if !seen.insert(key.clone()) {
                errs.push(FieldError::duplicate(
                    format!("{list}[{ci}].ports[{pi}].hostPort"),
                    quote(&key),
                ));
            }
        }
    }
}

/// `validateContainersOnlyForPod`: images without surrounding whitespace.
pub(super) fn validate_containers_only_for_pod(
    containers: &[Container],
    list: &str,
    errs: &mut Vec<FieldError>,
) {
    for (i, container) in containers.iter().enumerate() {
        let image = container.image.as_deref().unwrap_or_default();
        if image.len() != image.trim().len() {
            errs.push(FieldError::invalid(
                format!("{list}[{i}].image"),
                quote(image),
                "must not have leading or trailing whitespace",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::enums::{ContainerRestartPolicy, PullPolicy, TerminationMessagePolicy};
    use crate::model::{ContainerPort, ExecAction, IntOrString, Lifecycle, LifecycleHandler};
    use crate::validate::fixture::{Case, check, container, exec_probe, http_probe};

    const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

    fn exec_hook() -> LifecycleHandler {
        LifecycleHandler {
            exec: Some(ExecAction {
                command: vec!["true".into()],
            }),
            ..LifecycleHandler::default()
        }
    }

    #[test]
    fn container_rules() {
        let bad_name = format!(r#"spec.containers[0].name: Invalid value: "App_1": {LABEL_MSG}"#);
        check(&[
            Case {
                name: "base_pod_is_valid",
                mutate: |_| {},
                want: &[],
            },
            Case {
                name: "at_least_one_app_container_is_required",
                mutate: |p| p.spec.containers.clear(),
                want: &["spec.containers: Required value"],
            },
            Case {
                name: "container_name_is_required",
                mutate: |p| p.spec.containers[0].name.clear(),
                want: &["spec.containers[0].name: Required value"],
            },
            Case {
                name: "container_name_must_be_a_dns_label",
                mutate: |p| p.spec.containers[0].name = "App_1".into(),
                want: &[bad_name.as_str()],
            },
            Case {
                name: "container_image_is_required",
                mutate: |p| p.spec.containers[0].image = None,
                want: &["spec.containers[0].image: Required value"],
            },
            Case {
                name: "container_image_must_not_have_surrounding_whitespace",
                mutate: |p| p.spec.containers[0].image = Some(" nginx".into()),
                want: &[
                    r#"spec.containers[0].image: Invalid value: " nginx": must not have leading or trailing whitespace"#,
                ],
            },
            Case {
                name: "container_names_must_be_unique_among_app_containers",
                mutate: |p| p.spec.containers.push(container("app")),
                want: &[r#"spec.containers[1].name: Duplicate value: "app""#],
            },
            Case {
                name: "container_names_must_be_unique_across_init_and_app",
                mutate: |p| p.spec.init_containers.push(container("app")),
                want: &[r#"spec.initContainers[0].name: Duplicate value: "app""#],
            },
            Case {
                name: "image_pull_policy_values",
                mutate: |p| {
                    p.spec.containers[0].image_pull_policy =
                        Some(PullPolicy::Unknown("Sometimes".into()));
                },
                want: &[
                    r#"spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never""#,
                ],
            },
            Case {
                name: "image_pull_policy_is_required",
                mutate: |p| p.spec.containers[0].image_pull_policy = None,
                want: &["spec.containers[0].imagePullPolicy: Required value"],
            },
            Case {
                name: "termination_message_policy_values",
                mutate: |p| {
                    p.spec.containers[0].termination_message_policy =
                        Some(TerminationMessagePolicy::Unknown("Stdout".into()));
                },
                want: &[
                    r#"spec.containers[0].terminationMessagePolicy: Unsupported value: "Stdout": supported values: "File", "FallbackToLogsOnError""#,
                ],
            },
            Case {
                name: "app_container_restart_policy_is_forbidden",
                mutate: |p| {
                    p.spec.containers[0].restart_policy = Some(ContainerRestartPolicy::Always)
                },
                want: &[
                    "spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers",
                ],
            },
            Case {
                name: "init_container_restart_policy_must_be_always",
                mutate: |p| {
                    let mut init = container("init");
                    init.restart_policy = Some(ContainerRestartPolicy::Unknown("OnFailure".into()));
                    p.spec.init_containers.push(init);
                },
                want: &[
                    r#"spec.initContainers[0].restartPolicy: Unsupported value: "OnFailure": supported values: "Always""#,
                ],
            },
            Case {
                name: "init_container_liveness_probe_is_forbidden",
                mutate: |p| {
                    p.spec.init_containers.push(container("setup"));
                    let mut init = container("migrate");
                    init.liveness_probe = Some(exec_probe());
                    p.spec.init_containers.push(init);
                },
                want: &[
                    "spec.initContainers[1].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
                ],
            },
            Case {
                name: "init_container_hooks_and_other_probes_are_forbidden",
                mutate: |p| {
                    let mut init = container("init");
                    init.lifecycle = Some(Lifecycle {
                        post_start: Some(exec_hook()),
                        ..Lifecycle::default()
                    });
                    init.readiness_probe = Some(exec_probe());
                    init.startup_probe = Some(exec_probe());
                    p.spec.init_containers.push(init);
                },
                want: &[
                    "spec.initContainers[0].lifecycle: Forbidden: may not be set for init containers without restartPolicy=Always",
                    "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
                    "spec.initContainers[0].startupProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
                ],
            },
            Case {
                name: "sidecar_may_have_hooks_and_all_probes",
                mutate: |p| {
                    let mut sidecar = container("proxy");
                    sidecar.restart_policy = Some(ContainerRestartPolicy::Always);
                    sidecar.lifecycle = Some(Lifecycle {
                        pre_stop: Some(exec_hook()),
                        ..Lifecycle::default()
                    });
                    sidecar.liveness_probe = Some(exec_probe());
                    sidecar.readiness_probe = Some(http_probe(IntOrString::Int(8080)));
                    sidecar.startup_probe = Some(exec_probe());
                    p.spec.init_containers.push(sidecar);
                },
                want: &[],
            },
            Case {
                name: "sidecar_probes_are_validated_like_app_probes",
                mutate: |p| {
                    let mut sidecar = container("proxy");
                    sidecar.restart_policy = Some(ContainerRestartPolicy::Always);
                    let mut probe = exec_probe();
                    probe.success_threshold = Some(2);
                    sidecar.startup_probe = Some(probe);
                    p.spec.init_containers.push(sidecar);
                },
                want: &[
                    "spec.initContainers[0].startupProbe.successThreshold: Invalid value: 2: must be 1",
                ],
            },
            Case {
                name: "host_ports_must_be_unique_across_app_containers",
                mutate: |p| {
                    p.spec.containers[0].ports.push(host_port(80, 8080));
                    let mut other = container("other");
                    other.ports.push(host_port(81, 8080));
                    p.spec.containers.push(other);
                },
                want: &[r#"spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080""#],
            },
            Case {
                name: "init_container_host_ports_are_checked_one_container_at_a_time",
                mutate: |p| {
                    p.spec.containers[0].ports.push(host_port(80, 8080));
                    p.spec.init_containers.push(container("a"));
                    let mut init = container("b");
                    init.ports.push(host_port(80, 8080));
                    init.ports.push(host_port(81, 8080));
                    p.spec.init_containers.push(init);
                },
                // Kubernetes reports each init container as entry 0.
                want: &[
                    r#"spec.initContainers[0].ports[1].hostPort: Duplicate value: "TCP//8080""#,
                ],
            },
        ]);
    }

    fn host_port(container_port: i32, host_port: i32) -> ContainerPort {
        ContainerPort {
            container_port,
            host_port: Some(host_port),
            protocol: Some(crate::enums::Protocol::Tcp),
            ..ContainerPort::default()
        }
    }
}
