//! `containers[].ports` and ports named in probes and hooks.
//!
//! Mirrors `validateContainerPorts` and `ValidatePortNumOrName` in
//! `pkg/apis/core/validation/validation.go`.

use std::collections::HashSet;

use super::names::{invalid_each, is_valid_port_name, is_valid_port_num};
use crate::enums::Protocol;
use crate::field_error::{FieldError, quote};
use crate::model::{ContainerPort, IntOrString};

/// `validateContainerPorts`: named ports unique per container, numbers in
/// range, a supported protocol.
pub(super) fn validate_container_ports(
    ports: &[ContainerPort],
    list: &str,
    errs: &mut Vec<FieldError>,
) {
    let mut names = HashSet::new();
    for (i, port) in ports.iter().enumerate() {
        let path = format!("{list}[{i}]");
        let name = port.name.as_deref().unwrap_or_default();
        if !name.is_empty() {
            let msgs = is_valid_port_name(name);
            if !msgs.is_empty() {
                errs.extend(invalid_each(&format!("{path}.name"), name, msgs));
            } else if !names.insert(name) {
                errs.push(FieldError::duplicate(format!("{path}.name"), quote(name)));
            }
        }

        let container_port = port.container_port;
        if container_port == 0 {
            errs.push(FieldError::required(format!("{path}.containerPort"), ""));
        } else {
            for msg in is_valid_port_num(i64::from(container_port)) {
                errs.push(FieldError::invalid(
                    format!("{path}.containerPort"),
                    container_port.to_string(),
                    msg,
                ));
            }
        }

        let host_port = port.host_port.unwrap_or(0);
        if host_port != 0 {
            for msg in is_valid_port_num(i64::from(host_port)) {
                errs.push(FieldError::invalid(
                    format!("{path}.hostPort"),
                    host_port.to_string(),
                    msg,
                ));
            }
        }

        let protocol_path = format!("{path}.protocol");
        match &port.protocol {
            Some(Protocol::Tcp | Protocol::Udp | Protocol::Sctp) => {}
            None => errs.push(FieldError::required(protocol_path, "")),
            Some(Protocol::Unknown(other)) if other.is_empty() => {
                errs.push(FieldError::required(protocol_path, ""));
            }
            Some(Protocol::Unknown(other)) => errs.push(FieldError::not_supported(
                protocol_path,
                other,
                &["SCTP", "TCP", "UDP"],
            )),
        }
    }
}

/// `ValidatePortNumOrName`: a number 1–65535 or an IANA service name.
pub(super) fn validate_port_num_or_name(
    port: &IntOrString,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    match port {
        IntOrString::Int(number) => {
            for msg in is_valid_port_num(i64::from(*number)) {
                errs.push(FieldError::invalid(path, number.to_string(), msg));
            }
        }
        IntOrString::String(name) => {
            errs.extend(invalid_each(path, name, is_valid_port_name(name)));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::enums::Protocol;
    use crate::model::ContainerPort;
    use crate::validate::fixture::{Case, check};

    fn port(name: Option<&str>, number: i32) -> ContainerPort {
        ContainerPort {
            name: name.map(str::to_owned),
            container_port: number,
            protocol: Some(Protocol::Tcp),
            ..ContainerPort::default()
        }
    }

    #[test]
    fn container_port_rules() {
        check(&[
            Case {
                name: "container_port_is_required",
                mutate: |p| p.spec.containers[0].ports.push(port(None, 0)),
                want: &["spec.containers[0].ports[0].containerPort: Required value"],
            },
            Case {
                name: "container_port_must_be_in_range",
                mutate: |p| p.spec.containers[0].ports.push(port(None, 70000)),
                want: &[
                    "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                ],
            },
            Case {
                name: "host_port_must_be_in_range",
                mutate: |p| {
                    let mut bad = port(None, 80);
                    bad.host_port = Some(-1);
                    p.spec.containers[0].ports.push(bad);
                },
                want: &[
                    "spec.containers[0].ports[0].hostPort: Invalid value: -1: must be between 1 and 65535, inclusive",
                ],
            },
            Case {
                name: "port_protocol_values",
                mutate: |p| {
                    let mut bad = port(None, 80);
                    bad.protocol = Some(Protocol::Unknown("HTTP".into()));
                    p.spec.containers[0].ports.push(bad);
                },
                want: &[
                    r#"spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP""#,
                ],
            },
            Case {
                name: "port_protocol_is_required",
                mutate: |p| {
                    let mut bad = port(None, 80);
                    bad.protocol = None;
                    p.spec.containers[0].ports.push(bad);
                },
                want: &["spec.containers[0].ports[0].protocol: Required value"],
            },
            Case {
                name: "port_names_are_iana_service_names",
                mutate: |p| p.spec.containers[0].ports.push(port(Some("Web--1"), 80)),
                want: &[
                    r#"spec.containers[0].ports[0].name: Invalid value: "Web--1": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"#,
                    r#"spec.containers[0].ports[0].name: Invalid value: "Web--1": must not contain consecutive hyphens"#,
                ],
            },
            Case {
                name: "port_names_must_be_at_most_15_characters",
                mutate: |p| {
                    p.spec.containers[0]
                        .ports
                        .push(port(Some("a-very-long-port-name"), 80))
                },
                want: &[
                    r#"spec.containers[0].ports[0].name: Invalid value: "a-very-long-port-name": must be no more than 15 characters"#,
                ],
            },
            Case {
                name: "port_names_must_be_unique_per_container",
                mutate: |p| {
                    p.spec.containers[0].ports.push(port(Some("http"), 80));
                    p.spec.containers[0].ports.push(port(Some("http"), 81));
                },
                want: &[r#"spec.containers[0].ports[1].name: Duplicate value: "http""#],
            },
            Case {
                name: "same_port_name_in_two_containers_is_fine",
                mutate: |p| {
                    p.spec.containers[0].ports.push(port(Some("http"), 80));
                    let mut other = crate::validate::fixture::container("other");
                    other.ports.push(port(Some("http"), 81));
                    p.spec.containers.push(other);
                },
                want: &[],
            },
        ]);
    }
}
