//! seccomp: which profile confines a container, and what that profile says.
//!
//! Pure: the profile is decided here as data ([`SeccompProfile`]); the
//! `minipod-linux` crate compiles it to BPF and installs it in the
//! container's init (and in each process `kubectl exec` or an exec probe
//! starts there, as runc does).
//!
//! * [`choose`]: the container's `seccompProfile`, else the pod's, else the
//!   node's default (the kubelet's `--seccomp-default`: `RuntimeDefault`
//!   when on, `Unconfined` when off, the kubelet's default). A privileged
//!   container runs unconfined, as containerd's CRI plugin decides
//!   (`generateSeccompSpecOpts` returns no profile for it).
//! * [`runtime_default`]: containerd's and Docker's default profile, its
//!   capability-dependent rules filtered by the container's capabilities
//!   ([`runtime_default`](self::runtime_default) module).
//! * [`parse_profile`]: a `Localhost` profile file, the OCI / Docker seccomp
//!   JSON format ([`oci`] module).
//!
//! See <https://kubernetes.io/docs/tutorials/security/seccomp/>.

mod oci;
mod runtime_default;

use minipod_spec::enums::ProfileType;
use minipod_spec::model::{Container, PodSpec, SecurityProfile};
use serde::{Deserialize, Serialize};

pub use oci::{ProfileError, Target, parse_profile};
pub use runtime_default::runtime_default;

/// What the kernel does with a system call (seccomp(2), "Filter return
/// values"), the subset minipod compiles. Ordered from least to most
/// restrictive, as the kernel ranks them when several filters answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    Allow,
    /// Allowed, and written to the audit log.
    Log,
    /// Fails with this errno (`EPERM` is 1).
    Errno(u32),
    /// `SIGSYS` to the caller.
    Trap,
    KillThread,
    KillProcess,
}

/// `EPERM`: what a call outside an allow-list gets (Docker's default).
pub const EPERM: u32 = 1;
/// `ENOSYS`: what `clone3` gets under RuntimeDefault without
/// `CAP_SYS_ADMIN`, so that glibc falls back to `clone`, whose flags the
/// filter can check (`clone3` passes them in memory, out of BPF's reach).
pub const ENOSYS: u32 = 38;

/// A comparison of one system call argument (`SCMP_CMP_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ArgOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `arg & mask == value`.
    MaskedEq {
        mask: u64,
    },
}

/// `args[index] <op> value`, on all 64 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgCheck {
    /// 0 to 5.
    pub index: u8,
    pub op: ArgOp,
    pub value: u64,
}

/// `action` for the calls named `names` whose arguments pass every check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyscallRule {
    pub names: Vec<String>,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<ArgCheck>,
}

/// A profile, decided: `default_action` for every call no rule matches.
/// Rules whose action is the default one are left out (they change
/// nothing, and runc skips them too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeccompProfile {
    pub default_action: Action,
    pub rules: Vec<SyscallRule>,
}

impl SeccompProfile {
    /// Every name the rules mention, once each, in order of appearance.
    pub fn names(&self) -> Vec<&str> {
        let mut seen = std::collections::BTreeSet::new();
        self.rules
            .iter()
            .flat_map(|r| r.names.iter())
            .filter(|n| seen.insert(n.as_str()))
            .map(String::as_str)
            .collect()
    }

    /// The same profile without the names `keep` refuses (system calls the
    /// target architecture does not have: `chown32` on x86_64, ...). A rule
    /// left with no name goes.
    pub fn retain_names(&mut self, mut keep: impl FnMut(&str) -> bool) {
        for rule in &mut self.rules {
            rule.names.retain(|n| keep(n));
        }
        self.rules.retain(|r| !r.names.is_empty());
    }
}

/// Which seccomp profile a container runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeccompChoice {
    Unconfined,
    RuntimeDefault,
    /// A file under the node's seccomp profile root (relative, without `..`:
    /// validation guarantees it).
    Localhost(String),
}

/// The kubelet's choice (`getSeccompProfile` in
/// `pkg/kubelet/kuberuntime/helpers.go`): the container's field, else the
/// pod's, else `RuntimeDefault` when the node has `seccomp_default`, else
/// `Unconfined`; and containerd runs a privileged container unconfined
/// whatever it asks.
pub fn choose(spec: &PodSpec, container: &Container, seccomp_default: bool) -> SeccompChoice {
    let privileged = container
        .security_context
        .as_ref()
        .and_then(|s| s.privileged)
        == Some(true);
    if privileged {
        return SeccompChoice::Unconfined;
    }
    let field = container
        .security_context
        .as_ref()
        .and_then(|s| s.seccomp_profile.as_ref())
        .or_else(|| {
            spec.security_context
                .as_ref()
                .and_then(|s| s.seccomp_profile.as_ref())
        });
    match field {
        Some(profile) => from_field(profile),
        None if seccomp_default => SeccompChoice::RuntimeDefault,
        None => SeccompChoice::Unconfined,
    }
}

fn from_field(profile: &SecurityProfile) -> SeccompChoice {
    match &profile.profile_type {
        ProfileType::RuntimeDefault => SeccompChoice::RuntimeDefault,
        ProfileType::Localhost => {
            SeccompChoice::Localhost(profile.localhost_profile.clone().unwrap_or_default())
        }
        // Validation refuses any other value; treat it as what it is not:
        // confinement would be a guess.
        ProfileType::Unconfined | ProfileType::Unknown(_) => SeccompChoice::Unconfined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::pod_spec;

    fn choice(yaml: &str, default: bool) -> SeccompChoice {
        let spec = pod_spec(yaml);
        choose(&spec, &spec.containers[0], default)
    }

    #[test]
    fn nothing_said_is_unconfined_unless_the_node_defaults_to_runtime_default() {
        let yaml = "containers: [{name: a, image: busybox}]";
        assert_eq!(choice(yaml, false), SeccompChoice::Unconfined);
        assert_eq!(choice(yaml, true), SeccompChoice::RuntimeDefault);
    }

    #[test]
    fn the_container_field_overrides_the_pods() {
        let yaml = "
            securityContext: {seccompProfile: {type: RuntimeDefault}}
            containers:
            - name: a
              image: busybox
              securityContext: {seccompProfile: {type: Localhost, localhostProfile: p/deny.json}}
        ";
        assert_eq!(
            choice(yaml, false),
            SeccompChoice::Localhost("p/deny.json".into())
        );
        let yaml = "
            securityContext: {seccompProfile: {type: RuntimeDefault}}
            containers: [{name: a, image: busybox}]
        ";
        assert_eq!(choice(yaml, false), SeccompChoice::RuntimeDefault);
        let yaml = "
            securityContext: {seccompProfile: {type: RuntimeDefault}}
            containers:
            - {name: a, image: busybox, securityContext: {seccompProfile: {type: Unconfined}}}
        ";
        assert_eq!(choice(yaml, true), SeccompChoice::Unconfined);
    }

    #[test]
    fn a_privileged_container_is_unconfined_as_containerd_runs_it() {
        let yaml = "
            securityContext: {seccompProfile: {type: RuntimeDefault}}
            containers:
            - {name: a, image: busybox, securityContext: {privileged: true}}
        ";
        assert_eq!(choice(yaml, true), SeccompChoice::Unconfined);
    }

    #[test]
    fn names_are_listed_once_and_unknown_ones_can_be_dropped() {
        let mut profile = SeccompProfile {
            default_action: Action::Errno(EPERM),
            rules: vec![
                SyscallRule {
                    names: vec!["read".into(), "chown32".into()],
                    action: Action::Allow,
                    args: vec![],
                },
                SyscallRule {
                    names: vec!["mmap2".into()],
                    action: Action::Allow,
                    args: vec![],
                },
                SyscallRule {
                    names: vec!["read".into()],
                    action: Action::Log,
                    args: vec![],
                },
            ],
        };
        assert_eq!(profile.names(), ["read", "chown32", "mmap2"]);
        profile.retain_names(|n| n == "read");
        assert_eq!(profile.rules.len(), 2);
        assert_eq!(profile.names(), ["read"]);
    }
}
