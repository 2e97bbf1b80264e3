//! `spec`: the pod-level fields, and the order in which everything in the
//! spec is checked.
//!
//! Mirrors `ValidatePodSpec` in `pkg/apis/core/validation/validation.go`
//! (Kubernetes 1.33), with `validateRestartPolicy`, `validateDNSPolicy`,
//! `validatePodDNSConfig` (relaxed search validation, on by default since
//! 1.33), `validateReadinessGates`, `ValidateHostAliases`,
//! `validatePodHostNetworkDeps`, `ValidatePreemptionPolicy` and the name
//! checks of `serviceAccountName`, `nodeName`, `priorityClassName`,
//! `runtimeClassName`, `hostname` and `subdomain`.

use std::collections::HashSet;

use super::containers::{self, SpecContext};
use super::ip::validate_ip;
use super::names::{
    inclusive_range_error, invalid_each, is_dns1123_label, is_dns1123_subdomain,
    is_dns1123_subdomain_with_underscore, is_label_value, is_qualified_name, name_is_dns_subdomain,
};
use super::{os, resources, security, volumes};
use crate::enums::{DnsPolicy, RestartPolicy};
use crate::field_error::{FieldError, quote};
use crate::model::{PodDnsConfig, PodSpec};

const MAX_DNS_NAMESERVERS: usize = 3;
const MAX_DNS_SEARCH_PATHS: usize = 32;
const MAX_DNS_SEARCH_LIST_CHARS: usize = 2048;

/// `ValidatePodSpec`.
pub(super) fn validate_pod_spec(spec: &PodSpec, errs: &mut Vec<FieldError>) {
    if spec.termination_grace_period_seconds.is_none() {
        errs.push(FieldError::required(
            "spec.terminationGracePeriodSeconds",
            "",
        ));
    }

    let valid_volumes = volumes::validate_volumes(&spec.volumes, errs);
    let ctx = SpecContext {
        grace_period: spec.termination_grace_period_seconds,
        volumes: &valid_volumes,
        host_users: spec.host_users != Some(false),
        os: spec.os.as_ref(),
    };
    containers::validate_containers(&spec.containers, &ctx, errs);
    containers::validate_init_containers(&spec.init_containers, &spec.containers, &ctx, errs);

    validate_host_network_deps(spec, errs);
    validate_restart_policy(spec.restart_policy.as_ref(), errs);
    validate_dns_policy(spec.dns_policy.as_ref(), errs);
    validate_node_selector(spec.node_selector.as_ref(), errs);
    security::validate_pod_security_context(spec, errs);
    validate_dns_config(spec.dns_config.as_ref(), spec.dns_policy.as_ref(), errs);
    for (i, gate) in spec.readiness_gates.iter().enumerate() {
        errs.extend(invalid_each(
            &format!("spec.readinessGates[{i}].conditionType"),
            &gate.condition_type,
            is_qualified_name(&gate.condition_type),
        ));
    }
    validate_scheduling_gates(spec.scheduling_gates.as_ref(), errs);
    security::validate_host_users(spec, errs);

    let names = [
        (
            "spec.serviceAccountName",
            spec.service_account_name.as_deref(),
        ),
        ("spec.nodeName", spec.node_name.as_deref()),
    ];
    for (path, name) in names {
        let name = name.unwrap_or_default();
        if !name.is_empty() {
            errs.extend(invalid_each(path, name, name_is_dns_subdomain(name, false)));
        }
    }

    if let Some(deadline) = spec.active_deadline_seconds
        && !(1..=i64::from(i32::MAX)).contains(&deadline)
    {
        errs.push(FieldError::invalid(
            "spec.activeDeadlineSeconds",
            deadline.to_string(),
            inclusive_range_error(1, i64::from(i32::MAX)),
        ));
    }

    for (path, label) in [
        ("spec.hostname", &spec.hostname),
        ("spec.subdomain", &spec.subdomain),
    ] {
        let label = label.as_deref().unwrap_or_default();
        if !label.is_empty() {
            errs.extend(invalid_each(path, label, is_dns1123_label(label)));
        }
    }

    for (i, alias) in spec.host_aliases.iter().enumerate() {
        errs.extend(validate_ip(&format!("spec.hostAliases[{i}].ip"), &alias.ip));
        for (j, hostname) in alias.hostnames.iter().enumerate() {
            errs.extend(invalid_each(
                &format!("spec.hostAliases[{i}].hostnames[{j}]"),
                hostname,
                is_dns1123_subdomain(hostname),
            ));
        }
    }

    let priority_class = spec.priority_class_name.as_deref().unwrap_or_default();
    if !priority_class.is_empty() {
        errs.extend(invalid_each(
            "spec.priorityClassName",
            priority_class,
            name_is_dns_subdomain(priority_class, false),
        ));
    }
    if let Some(runtime_class) = spec.runtime_class_name.as_deref() {
        errs.extend(invalid_each(
            "spec.runtimeClassName",
            runtime_class,
            name_is_dns_subdomain(runtime_class, false),
        ));
    }
    if let Some(policy) = spec.preemption_policy.as_deref() {
        validate_preemption_policy(policy, errs);
    }
    if let Some(overhead) = &spec.overhead {
        resources::validate_overhead(overhead, errs);
    }
    os::validate_os(spec, errs);
}

/// `ValidateLabels(spec.NodeSelector)`: the selector is a label map.
fn validate_node_selector(selector: Option<&serde_json::Value>, errs: &mut Vec<FieldError>) {
    let Some(serde_json::Value::Object(map)) = selector else {
        return;
    };
    let mut labels: Vec<(&String, &str)> = map
        .iter()
        .map(|(key, value)| (key, value.as_str().unwrap_or_default()))
        .collect();
    labels.sort();
    for (key, value) in labels {
        errs.extend(invalid_each(
            "spec.nodeSelector",
            key,
            is_qualified_name(key),
        ));
        errs.extend(invalid_each(
            "spec.nodeSelector",
            value,
            is_label_value(value),
        ));
    }
}

/// `validateSchedulingGates`: qualified names, no duplicates.
fn validate_scheduling_gates(gates: Option<&serde_json::Value>, errs: &mut Vec<FieldError>) {
    let Some(serde_json::Value::Array(gates)) = gates else {
        return;
    };
    let mut seen = HashSet::new();
    for (i, gate) in gates.iter().enumerate() {
        let path = format!("spec.schedulingGates[{i}]");
        let name = gate
            .get("name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        errs.extend(invalid_each(&path, name, is_qualified_name(name)));
        if !seen.insert(name) {
            errs.push(FieldError::duplicate(path, quote(name)));
        }
    }
}

/// `validatePodHostNetworkDeps`: with the host's network, a host port is
/// the container port.
fn validate_host_network_deps(spec: &PodSpec, errs: &mut Vec<FieldError>) {
    if spec.host_network != Some(true) {
        return;
    }
    for (i, container) in spec.containers.iter().enumerate() {
        for (j, port) in container.ports.iter().enumerate() {
            let host_port = port.host_port.unwrap_or(0);
            if host_port != port.container_port {
                errs.push(FieldError::invalid(
                    format!("spec.containers[{i}].ports[{j}].hostPort"),
                    host_port.to_string(),
                    "must match `containerPort` when `hostNetwork` is true",
                ));
            }
        }
    }
}

/// `validateRestartPolicy`.
fn validate_restart_policy(policy: Option<&RestartPolicy>, errs: &mut Vec<FieldError>) {
    let path = "spec.restartPolicy";
    match policy {
        Some(RestartPolicy::Always | RestartPolicy::OnFailure | RestartPolicy::Never) => {}
        None => errs.push(FieldError::required(path, "")),
        Some(RestartPolicy::Unknown(other)) if other.is_empty() => {
            errs.push(FieldError::required(path, ""));
        }
        Some(RestartPolicy::Unknown(other)) => errs.push(FieldError::not_supported(
            path,
            other,
            &["Always", "OnFailure", "Never"],
        )),
    }
}

/// `validateDNSPolicy`.
fn validate_dns_policy(policy: Option<&DnsPolicy>, errs: &mut Vec<FieldError>) {
    let path = "spec.dnsPolicy";
    match policy {
        Some(
            DnsPolicy::ClusterFirstWithHostNet
            | DnsPolicy::ClusterFirst
            | DnsPolicy::Default
            | DnsPolicy::None,
        ) => {}
        None => errs.push(FieldError::required(path, "")),
        Some(DnsPolicy::Unknown(other)) if other.is_empty() => {
            errs.push(FieldError::required(path, ""));
        }
        Some(DnsPolicy::Unknown(other)) => errs.push(FieldError::not_supported(
            path,
            other,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )),
    }
}

/// `validatePodDNSConfig`.
fn validate_dns_config(
    config: Option<&PodDnsConfig>,
    policy: Option<&DnsPolicy>,
    errs: &mut Vec<FieldError>,
) {
    let path = "spec.dnsConfig";
    if policy == Some(&DnsPolicy::None) {
        let Some(config) = config else {
            errs.push(FieldError::required(
                path,
                "must provide `dnsConfig` when `dnsPolicy` is None",
            ));
            return;
        };
        if config.nameservers.is_empty() {
            errs.push(FieldError::required(
                format!("{path}.nameservers"),
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            ));
            return;
        }
    }
    let Some(config) = config else { return };

    if config.nameservers.len() > MAX_DNS_NAMESERVERS {
        errs.push(FieldError::invalid(
            format!("{path}.nameservers"),
            go_string_slice(&config.nameservers),
            format!("must not have more than {MAX_DNS_NAMESERVERS} nameservers"),
        ));
    }
    for (i, nameserver) in config.nameservers.iter().enumerate() {
        errs.extend(validate_ip(&format!("{path}.nameservers[{i}]"), nameserver));
    }

    if config.searches.len() > MAX_DNS_SEARCH_PATHS {
        errs.push(FieldError::invalid(
            format!("{path}.searches"),
            go_string_slice(&config.searches),
            format!("must not have more than {MAX_DNS_SEARCH_PATHS} search paths"),
        ));
    }
    if config.searches.join(" ").len() > MAX_DNS_SEARCH_LIST_CHARS {
        errs.push(FieldError::invalid(
            format!("{path}.searches"),
            go_string_slice(&config.searches),
            format!(
                "must not have more than {MAX_DNS_SEARCH_LIST_CHARS} characters (including spaces) in the search list"
            ),
        ));
    }
    for (i, search) in config.searches.iter().enumerate() {
        if search == "." {
            continue;
        }
        let search = search.strip_suffix('.').unwrap_or(search);
        errs.extend(invalid_each(
            &format!("{path}.searches[{i}]"),
            search,
            is_dns1123_subdomain_with_underscore(search),
        ));
    }
    for (i, option) in config.options.iter().enumerate() {
        if option.name.as_deref().unwrap_or_default().is_empty() {
            errs.push(FieldError::required(
                format!("{path}.options[{i}]"),
                "must not be empty",
            ));
        }
    }
}

/// `ValidatePreemptionPolicy`.
fn validate_preemption_policy(policy: &str, errs: &mut Vec<FieldError>) {
    let path = "spec.preemptionPolicy";
    match policy {
        "PreemptLowerPriority" | "Never" => {}
        "" => errs.push(FieldError::required(path, "")),
        other => errs.push(FieldError::not_supported(
            path,
            other,
            &["PreemptLowerPriority", "Never"],
        )),
    }
}

/// A `[]string` as Go's `%#v` prints it: `[]string{"a", "b"}`.
fn go_string_slice(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use crate::enums::{DnsPolicy, RestartPolicy};
    use crate::model::{HostAlias, PodDnsConfig, PodDnsConfigOption, PodReadinessGate};
    use crate::validate::fixture::{Case, check};

    #[test]
    fn pod_spec_rules() {
        check(&[
            Case {
                name: "restart_policy_values",
                mutate: |p| {
                    p.spec.restart_policy = Some(RestartPolicy::Unknown("Sometimes".into()))
                },
                want: &[
                    r#"spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never""#,
                ],
            },
            Case {
                name: "restart_policy_is_required",
                mutate: |p| p.spec.restart_policy = None,
                want: &["spec.restartPolicy: Required value"],
            },
            Case {
                name: "dns_policy_values",
                mutate: |p| p.spec.dns_policy = Some(DnsPolicy::Unknown("Cluster".into())),
                want: &[
                    r#"spec.dnsPolicy: Unsupported value: "Cluster": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None""#,
                ],
            },
            Case {
                name: "termination_grace_period_is_required",
                mutate: |p| p.spec.termination_grace_period_seconds = None,
                want: &["spec.terminationGracePeriodSeconds: Required value"],
            },
            Case {
                name: "dns_policy_none_requires_dns_config",
                mutate: |p| p.spec.dns_policy = Some(DnsPolicy::None),
                want: &[
                    "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None",
                ],
            },
            Case {
                name: "dns_policy_none_requires_a_nameserver",
                mutate: |p| {
                    p.spec.dns_policy = Some(DnsPolicy::None);
                    p.spec.dns_config = Some(PodDnsConfig {
                        searches: vec!["a.local".into()],
                        ..PodDnsConfig::default()
                    });
                },
                want: &[
                    "spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None",
                ],
            },
            Case {
                name: "dns_config_limits",
                mutate: |p| {
                    p.spec.dns_config = Some(PodDnsConfig {
                        nameservers: vec![
                            "1.1.1.1".into(),
                            "8.8.8.8".into(),
                            "9.9.9.9".into(),
                            "bad".into(),
                        ],
                        searches: vec![
                            ".".into(),
                            "svc.local.".into(),
                            "_sip._tcp.x".into(),
                            "Bad".into(),
                        ],
                        options: vec![PodDnsConfigOption {
                            name: None,
                            value: Some("2".into()),
                        }],
                    });
                },
                want: &[
                    r#"spec.dnsConfig.nameservers: Invalid value: []string{"1.1.1.1", "8.8.8.8", "9.9.9.9", "bad"}: must not have more than 3 nameservers"#,
                    r#"spec.dnsConfig.nameservers[3]: Invalid value: "bad": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"#,
                    r#"spec.dnsConfig.searches[3]: Invalid value: "Bad": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '_', '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*')"#,
                    "spec.dnsConfig.options[0]: Required value: must not be empty",
                ],
            },
            Case {
                name: "dns_config_at_most_32_search_paths",
                mutate: |p| {
                    p.spec.dns_config = Some(PodDnsConfig {
                        searches: (0..33).map(|i| format!("s{i}")).collect(),
                        ..PodDnsConfig::default()
                    });
                },
                want: &[concat!(
                    r#"spec.dnsConfig.searches: Invalid value: []string{"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15", "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23", "s24", "s25", "s26", "s27", "s28", "s29", "s30", "s31", "s32"}"#,
                    ": must not have more than 32 search paths"
                )],
            },
            Case {
                name: "hostname_and_subdomain_are_dns_labels",
                mutate: |p| {
                    p.spec.hostname = Some("web.1".into());
                    p.spec.subdomain = Some("-x".into());
                },
                want: &[
                    r#"spec.hostname: Invalid value: "web.1": must not contain dots"#,
                    r#"spec.subdomain: Invalid value: "-x": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"#,
                ],
            },
            Case {
                name: "host_alias_ips_and_hostnames",
                mutate: |p| {
                    p.spec.host_aliases.push(HostAlias {
                        ip: "10.0.0.300".into(),
                        hostnames: vec!["db.local".into(), "DB".into()],
                    });
                },
                want: &[
                    r#"spec.hostAliases[0].ip: Invalid value: "10.0.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"#,
                    r#"spec.hostAliases[0].hostnames[1]: Invalid value: "DB": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#,
                ],
            },
            Case {
                name: "readiness_gate_condition_types_are_qualified_names",
                mutate: |p| {
                    p.spec.readiness_gates.push(PodReadinessGate {
                        condition_type: "example.com/ready".into(),
                    });
                    p.spec.readiness_gates.push(PodReadinessGate {
                        condition_type: "not ready".into(),
                    });
                },
                want: &[
                    r#"spec.readinessGates[1].conditionType: Invalid value: "not ready": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"#,
                ],
            },
            Case {
                name: "host_network_host_port_must_match_container_port",
                mutate: |p| {
                    p.spec.host_network = Some(true);
                    p.spec.containers[0]
                        .ports
                        .push(crate::model::ContainerPort {
                            container_port: 80,
                            host_port: Some(8080),
                            protocol: Some(crate::enums::Protocol::Tcp),
                            ..Default::default()
                        });
                },
                want: &[
                    "spec.containers[0].ports[0].hostPort: Invalid value: 8080: must match `containerPort` when `hostNetwork` is true",
                ],
            },
            Case {
                name: "node_selector_is_a_label_map",
                mutate: |p| p.spec.node_selector = Some(serde_json::json!({"disk": "fast ssd"})),
                want: &[
                    r#"spec.nodeSelector: Invalid value: "fast ssd": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"#,
                ],
            },
            Case {
                name: "scheduling_gates_are_unique_qualified_names",
                mutate: |p| {
                    p.spec.scheduling_gates = Some(
                        serde_json::json!([{"name": "example.com/a"}, {"name": "example.com/a"}]),
                    );
                },
                want: &[r#"spec.schedulingGates[1]: Duplicate value: "example.com/a""#],
            },
            Case {
                name: "names_of_other_objects_are_dns_subdomains",
                mutate: |p| {
                    p.spec.service_account_name = Some("Default".into());
                    p.spec.preemption_policy = Some("Always".into());
                    p.spec.active_deadline_seconds = Some(0);
                },
                want: &[
                    r#"spec.serviceAccountName: Invalid value: "Default": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#,
                    "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive",
                    r#"spec.preemptionPolicy: Unsupported value: "Always": supported values: "PreemptLowerPriority", "Never""#,
                ],
            },
        ]);
    }
}
