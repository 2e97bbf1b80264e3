//! Which of a pod's sysctls the node lets it set: the kubelet's sysctl
//! admission, and the sysctls the runtime then writes.
//!
//! The kubelet admits a pod's `spec.securityContext.sysctls` with an
//! allowlist (`pkg/kubelet/sysctl/allowlist.go`, run before the resource
//! and host port checks): the *safe* sysctls
//! (`pkg/kubelet/sysctl/safe_sysctls.go`, [`SAFE_SYSCTLS`]) plus the node's
//! `--allowed-unsafe-sysctls`, each a name or a prefix ending in `*`, and
//! each known to be namespaced (an allowlist entry outside the net and IPC
//! namespaces stops the kubelet from starting). A pod setting any other
//! sysctl is rejected: reason `SysctlForbidden`, message
//! `forbidden sysctl: "<name>" not allowlisted`; a namespaced sysctl of a
//! pod that shares that namespace with the host is rejected with
//! `forbidden sysctl: "<name>" not allowed with host net enabled` (or
//! `ipc`). Names are compared in their dotted form
//! ([`minipod_spec::sysctl::to_dots_separator`]).
//!
//! A safe sysctl is namespaced and isolated: setting it in one pod has no
//! effect on another pod or on the node.

use std::collections::BTreeMap;

use minipod_spec::field_error::quote;
use minipod_spec::model::PodSpec;
use minipod_spec::sysctl::{
    SYSCTL_MAX_LENGTH, SysctlNamespace, is_valid_sysctl_name, namespaced_by, to_dots_separator,
};

use crate::admission::{Admission, Rejection};

/// `status.reason` and event reason of a pod rejected for a sysctl
/// (kubelet `sysctl.ForbiddenReason`).
pub const SYSCTL_FORBIDDEN: &str = "SysctlForbidden";

/// The kubelet's safe sysctls (`safeSysctls`, Kubernetes 1.32 and later:
/// the keepalive and `tcp_fin_timeout` ones since 1.29, `tcp_rmem` and
/// `tcp_wmem` since 1.32). The kubelet drops one when the kernel is older
/// than the one that namespaced it (4.15 at most); minipod needs a newer
/// kernel than that anyway (`clone3`, 5.3).
pub const SAFE_SYSCTLS: [&str; 12] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
];

/// A node's `--allowed-unsafe-sysctls` entry that the kubelet would refuse
/// to start with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSysctlPattern {
    #[error(
        "sysctl {pattern:?} must have at most {SYSCTL_MAX_LENGTH} characters and match regex {SYSCTL_PATTERN_FORMAT}"
    )]
    Malformed { pattern: String },
    #[error("the sysctls {pattern:?} are not known to be namespaced")]
    NotNamespaced { pattern: String },
}

/// The regular expression the kubelet prints for a bad pattern
/// (`SysctlContainSlashPatternFmt`, `pkg/apis/policy/validation`).
pub const SYSCTL_PATTERN_FORMAT: &str =
    r"([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*([a-z0-9][-_a-z0-9]*)?[a-z0-9*]";

/// The sysctls a node admits: names and prefixes, each with its namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlAllowlist {
    names: BTreeMap<String, SysctlNamespace>,
    prefixes: BTreeMap<String, SysctlNamespace>,
}

impl Default for SysctlAllowlist {
    /// The safe sysctls only: a node without `--allowed-unsafe-sysctls`.
    fn default() -> Self {
        SysctlAllowlist::with_unsafe(&[]).expect("the safe sysctls are namespaced")
    }
}

impl SysctlAllowlist {
    /// The safe sysctls and the node's allowed unsafe ones (names, or
    /// prefixes ending in `*`), as `NewAllowlist` builds it.
    pub fn with_unsafe(allowed_unsafe: &[String]) -> Result<Self, InvalidSysctlPattern> {
        let mut list = SysctlAllowlist {
            names: BTreeMap::new(),
            prefixes: BTreeMap::new(),
        };
        for pattern in SAFE_SYSCTLS
            .into_iter()
            .chain(allowed_unsafe.iter().map(String::as_str))
        {
            if !is_valid_sysctl_pattern(pattern) {
                return Err(InvalidSysctlPattern::Malformed {
                    pattern: pattern.to_owned(),
                });
            }
            let dotted = to_dots_separator(pattern);
            let not_namespaced = || InvalidSysctlPattern::NotNamespaced {
                pattern: dotted.clone(),
            };
            match dotted.strip_suffix('*') {
                Some(prefix) => {
                    let ns = namespaced_by(prefix).ok_or_else(not_namespaced)?;
                    list.prefixes.insert(prefix.to_owned(), ns);
                }
                None => {
                    let ns = namespaced_by(&dotted).ok_or_else(not_namespaced)?;
                    list.names.insert(dotted.clone(), ns);
                }
            }
        }
        Ok(list)
    }

    /// `validateSysctl`: why `name` may not be set by a pod with these
    /// host namespaces, or `None` when it may.
    fn refusal(&self, name: &str, host_network: bool, host_ipc: bool) -> Option<String> {
        let dotted = to_dots_separator(name);
        let namespace = self.names.get(&dotted).copied().or_else(|| {
            self.prefixes
                .iter()
                .find(|(prefix, _)| dotted.starts_with(prefix.as_str()))
                .map(|(_, ns)| *ns)
        });
        let shared_with_host = |ns| match ns {
            SysctlNamespace::Net => host_network,
            SysctlNamespace::Ipc => host_ipc,
        };
        match namespace {
            None => Some(format!("{} not allowlisted", quote(&dotted))),
            Some(ns) if shared_with_host(ns) => Some(format!(
                "{} not allowed with host {} enabled",
                quote(&dotted),
                ns.as_str()
            )),
            Some(_) => None,
        }
    }
}

/// `IsValidSysctlPattern`: a sysctl name whose last segment may end in
/// `*` (`([a-z0-9][-_a-z0-9]*)?[a-z0-9*]`), at most 253 characters.
fn is_valid_sysctl_pattern(pattern: &str) -> bool {
    if pattern.len() > SYSCTL_MAX_LENGTH {
        return false;
    }
    let (head, last) = match pattern.rfind(['.', '/']) {
        Some(at) => (Some(&pattern[..at]), &pattern[at + 1..]),
        None => (None, pattern),
    };
    head.is_none_or(is_valid_sysctl_name) && is_valid_pattern_segment(last)
}

fn is_valid_pattern_segment(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match bytes {
        [] => false,
        [only] => alnum(only) || *only == b'*',
        [first, middle @ .., last] => {
            alnum(first)
                && middle.iter().all(|b| alnum(b) || *b == b'-' || *b == b'_')
                && (alnum(last) || *last == b'*')
        }
    }
}

/// The kubelet's sysctl admission of a (validated) pod: the first sysctl
/// the allowlist refuses rejects the pod.
pub fn admit_sysctls(allowlist: &SysctlAllowlist, spec: &PodSpec) -> Admission {
    let Some(sc) = spec.security_context.as_ref() else {
        return Admission::Admit;
    };
    let host_network = spec.host_network == Some(true);
    let host_ipc = spec.host_ipc == Some(true);
    for sysctl in &sc.sysctls {
        if let Some(why) = allowlist.refusal(&sysctl.name, host_network, host_ipc) {
            return Admission::Reject(Rejection {
                reason: SYSCTL_FORBIDDEN,
                message: format!("forbidden sysctl: {why}"),
            });
        }
    }
    Admission::Admit
}

/// A sysctl to write in one of the pod's namespaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSysctl {
    pub namespace: SysctlNamespace,
    /// The dotted name (`net.ipv4.ip_local_port_range`).
    pub name: String,
    pub value: String,
}

/// The sysctls of an admitted pod, in the manifest's order, each with the
/// namespace it is written in. A name that is not namespaced has no place
/// in a pod and is left out: admission has rejected such a pod already.
pub fn pod_sysctls(spec: &PodSpec) -> Vec<PodSysctl> {
    let Some(sc) = spec.security_context.as_ref() else {
        return Vec::new();
    };
    sc.sysctls
        .iter()
        .filter_map(|s| {
            let name = to_dots_separator(&s.name);
            namespaced_by(&name).map(|namespace| PodSysctl {
                namespace,
                name,
                value: s.value.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
#[path = "sysctl_tests.rs"]
mod tests;
