//! `spec.securityContext.sysctls`: `validateSysctls` in
//! `pkg/apis/core/validation/validation.go`.
//!
//! Each name must be set, well formed ([`crate::sysctl::is_valid_sysctl_name`])
//! and given once; a pod in the host's network namespace may not set a
//! `net.*` sysctl, nor one in the host's IPC namespace an IPC sysctl,
//! since writing it would change the node's own value. Values are not
//! checked by the API server: the kernel judges them when they are written.

use std::collections::HashSet;

use crate::field_error::{FieldError, quote};
use crate::model::PodSpec;
use crate::sysctl::{
    SYSCTL_MAX_LENGTH, SYSCTL_NAME_FORMAT, SysctlNamespace, is_valid_sysctl_name, namespaced_by,
    to_dots_separator,
};

pub(super) fn validate_sysctls(spec: &PodSpec, path: &str, errs: &mut Vec<FieldError>) {
    let Some(sc) = spec.security_context.as_ref() else {
        return;
    };
    let host_network = spec.host_network == Some(true);
    let host_ipc = spec.host_ipc == Some(true);
    let mut names = HashSet::new();
    for (i, sysctl) in sc.sysctls.iter().enumerate() {
        let name_path = format!("{path}[{i}].name");
        let name = sysctl.name.as_str();
        if name.is_empty() {
            errs.push(FieldError::required(&name_path, ""));
        } else if !is_valid_sysctl_name(name) {
            errs.push(FieldError::invalid(
                &name_path,
                quote(name),
                format!(
                    "must have at most {SYSCTL_MAX_LENGTH} characters and match regex {SYSCTL_NAME_FORMAT}"
                ),
            ));
        } else if names.contains(name) {
            errs.push(FieldError::duplicate(&name_path, quote(name)));
        }
        match namespaced_by(&to_dots_separator(name)) {
            Some(SysctlNamespace::Net) if host_network => errs.push(FieldError::invalid(
                &name_path,
                quote(name),
                "may not be specified when 'hostNetwork' is true",
            )),
            Some(SysctlNamespace::Ipc) if host_ipc => errs.push(FieldError::invalid(
                &name_path,
                quote(name),
                "may not be specified when 'hostIPC' is true",
            )),
            _ => {}
        }
        names.insert(name);
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{PodSecurityContext, Sysctl};
    use crate::validate::fixture::{Case, check};

    fn sysctls(pairs: &[(&str, &str)]) -> Option<PodSecurityContext> {
        Some(PodSecurityContext {
            sysctls: pairs
                .iter()
                .map(|(name, value)| Sysctl {
                    name: (*name).to_owned(),
                    value: (*value).to_owned(),
                })
                .collect(),
            ..PodSecurityContext::default()
        })
    }

    #[test]
    fn sysctl_rules() {
        check(&[
            Case {
                name: "safe and unsafe names are valid here (the kubelet judges them)",
                mutate: |p| {
                    p.spec.security_context = sysctls(&[
                        ("net.ipv4.ip_local_port_range", "1024 65000"),
                        ("kernel.msgmax", "65536"),
                        ("net/ipv4/conf/eth0.100/forwarding", "1"),
                    ]);
                },
                want: &[],
            },
            Case {
                name: "missing, malformed and repeated names",
                mutate: |p| {
                    p.spec.security_context = sysctls(&[
                        ("", "1"),
                        ("../../etc/x", "1"),
                        ("kernel.shm_rmid_forced", "1"),
                        ("kernel.shm_rmid_forced", "0"),
                    ]);
                },
                want: &[
                    "spec.securityContext.sysctls[0].name: Required value",
                    r#"spec.securityContext.sysctls[1].name: Invalid value: "../../etc/x": must have at most 253 characters and match regex ([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?"#,
                    r#"spec.securityContext.sysctls[3].name: Duplicate value: "kernel.shm_rmid_forced""#,
                ],
            },
            Case {
                name: "hostNetwork pods may not set net.*",
                mutate: |p| {
                    p.spec.host_network = Some(true);
                    p.spec.security_context = sysctls(&[
                        ("net.ipv4.ip_unprivileged_port_start", "0"),
                        ("kernel.shm_rmid_forced", "1"),
                    ]);
                },
                want: &[
                    r#"spec.securityContext.sysctls[0].name: Invalid value: "net.ipv4.ip_unprivileged_port_start": may not be specified when 'hostNetwork' is true"#,
                ],
            },
            Case {
                name: "hostIPC pods may not set IPC sysctls",
                mutate: |p| {
                    p.spec.host_ipc = Some(true);
                    p.spec.security_context =
                        sysctls(&[("kernel.sem", "1 2 3 4"), ("net/ipv4/tcp_syncookies", "1")]);
                },
                want: &[
                    r#"spec.securityContext.sysctls[0].name: Invalid value: "kernel.sem": may not be specified when 'hostIPC' is true"#,
                ],
            },
        ]);
    }
}
