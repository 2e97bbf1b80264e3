//! Which AppArmor profile a container runs under, as Kubernetes decides it.
//!
//! The kubelet's `apparmor.GetProfile` (`pkg/security/apparmor/helpers.go`)
//! takes the container's `securityContext.appArmorProfile`, else the
//! deprecated `container.apparmor.security.beta.kubernetes.io/<name>`
//! annotation (which the API server copies to the field on create,
//! `applyAppArmorVersionSkew` in `pkg/registry/core/pod/strategy.go`), else
//! the pod's `securityContext.appArmorProfile`. Nothing at all: the runtime
//! decides (containerd applies its default profile to non-privileged
//! containers on an AppArmor host). Applying the choice is
//! `minipod_linux::container::apparmor`; refusing what the host cannot
//! enforce is the runtime's admission (`minipod_runtime::apparmor`).

use minipod_spec::Pod;
use minipod_spec::enums::ProfileType;
use minipod_spec::model::{Container, SecurityProfile};

/// The deprecated per-container annotation's prefix.
pub const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

/// The name of minipod's own profile for `RuntimeDefault` (containerd's is
/// `cri-containerd.apparmor.d`).
pub const DEFAULT_PROFILE: &str = "minipod-default";

/// minipod's default profile, in the AppArmor policy language
/// (`apparmor.d(5)`), written for minipod from the rules containerd's
/// default template expresses: ordinary work allowed (files, network,
/// capabilities the container holds), no new mounts, no writes to the
/// kernel's knobs in `/proc` and `/sys` beyond `/proc/sys/kernel/shm*` and
/// the cgroup tree, nothing of firmware, power capping or securityfs, and
/// signals and ptrace only among the container's own processes (and
/// signals from the node's unconfined processes: the kubelet's stop).
/// Loaded by `minipod_runtime::apparmor` the first time a container needs it.
pub fn default_profile() -> String {
    let name = DEFAULT_PROFILE;
    format!(
        "# {name}: the AppArmor profile minipod applies for RuntimeDefault.
profile {name} flags=(attach_disconnected,mediate_deleted) {{
  file,
  network,
  capability,
  unix,
  umount,
  signal (receive) peer=unconfined,
  signal (send,receive) peer={name},
  ptrace (trace,read,tracedby,readby) peer={name},
  deny mount,
  deny /proc/* w,
  deny /proc/sys/[^k]** w,
  deny /proc/sys/kernel/{{?,??,[^s][^h][^m]**}} w,
  deny /proc/sysrq-trigger rwklx,
  deny /proc/kcore rwklx,
  deny /sys/[^f]*/** wklx,
  deny /sys/f[^s]*/** wklx,
  deny /sys/fs/[^c]*/** wklx,
  deny /sys/fs/c[^g]*/** wklx,
  deny /sys/fs/cg[^r]*/** wklx,
  deny /sys/firmware/** rwklx,
  deny /sys/devices/virtual/powercap/** rwklx,
  deny /sys/kernel/security/** rwklx,
}}
"
    )
}

/// What a container asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppArmorChoice {
    /// Neither the container, its annotation nor the pod says anything.
    NotSet,
    Unconfined,
    RuntimeDefault,
    /// A profile already loaded in the kernel, by name.
    Localhost(String),
}

impl AppArmorChoice {
    /// Whether the choice needs AppArmor on the host (the kubelet's
    /// `isRequired`: anything but unset or unconfined).
    pub fn needs_apparmor(&self) -> bool {
        matches!(self, Self::RuntimeDefault | Self::Localhost(_))
    }
}

/// The profile `container` of `pod` asks for: field, then annotation, then
/// the pod's field. Validation has already checked the values.
pub fn choose(pod: &Pod, container: &Container) -> AppArmorChoice {
    let field = container
        .security_context
        .as_ref()
        .and_then(|s| s.app_armor_profile.as_ref());
    if let Some(profile) = field {
        return from_field(profile);
    }
    let key = format!("{ANNOTATION_PREFIX}{}", container.name);
    if let Some(value) = pod.metadata.annotations.get(&key) {
        return from_annotation(value);
    }
    match pod
        .spec
        .security_context
        .as_ref()
        .and_then(|s| s.app_armor_profile.as_ref())
    {
        Some(profile) => from_field(profile),
        None => AppArmorChoice::NotSet,
    }
}

fn from_field(profile: &SecurityProfile) -> AppArmorChoice {
    match profile.profile_type {
        ProfileType::Unconfined => AppArmorChoice::Unconfined,
        ProfileType::Localhost => {
            AppArmorChoice::Localhost(profile.localhost_profile.clone().unwrap_or_default())
        }
        // RuntimeDefault, and any type validation would have refused: the
        // confining reading, never a silent unconfined one.
        _ => AppArmorChoice::RuntimeDefault,
    }
}

/// `unconfined`, `runtime/default` or `localhost/<name>`
/// (`v1.DeprecatedAppArmorBeta*` constants).
fn from_annotation(value: &str) -> AppArmorChoice {
    if value == "unconfined" {
        AppArmorChoice::Unconfined
    } else if let Some(name) = value.strip_prefix("localhost/") {
        AppArmorChoice::Localhost(name.to_string())
    } else {
        AppArmorChoice::RuntimeDefault
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(yaml: &str) -> Pod {
        yaml_serde::from_str(yaml).unwrap()
    }

    fn choices(yaml: &str) -> Vec<AppArmorChoice> {
        let pod = pod(yaml);
        pod.spec
            .containers
            .iter()
            .map(|c| choose(&pod, c))
            .collect()
    }

    #[test]
    fn container_field_then_annotation_then_pod_field() {
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    container.apparmor.security.beta.kubernetes.io/b: localhost/from-annotation\n    container.apparmor.security.beta.kubernetes.io/d: unconfined\nspec:\n  securityContext: {appArmorProfile: {type: Localhost, localhostProfile: from-pod}}\n  containers:\n  - name: a\n    image: busybox\n    securityContext: {appArmorProfile: {type: RuntimeDefault}}\n  - name: b\n    image: busybox\n  - name: c\n    image: busybox\n  - name: d\n    image: busybox\n";
        assert_eq!(
            choices(yaml),
            vec![
                AppArmorChoice::RuntimeDefault,
                AppArmorChoice::Localhost("from-annotation".into()),
                AppArmorChoice::Localhost("from-pod".into()),
                AppArmorChoice::Unconfined,
            ]
        );
    }

    #[test]
    fn the_default_profile_is_named_and_denies_mounts_and_kernel_knobs() {
        let text = default_profile();
        assert!(
            text.contains("profile minipod-default flags=(attach_disconnected,mediate_deleted) {")
        );
        for rule in [
            "deny mount,",
            "deny /proc/sysrq-trigger rwklx,",
            "deny /sys/kernel/security/** rwklx,",
        ] {
            assert!(text.contains(rule), "{rule}");
        }
        assert!(text.contains("/proc/sys/kernel/{?,??,[^s][^h][^m]**} w,"));
        assert_eq!(text.matches('{').count(), text.matches('}').count());
    }

    #[test]
    fn nothing_said_is_not_set_and_needs_no_apparmor() {
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    container.apparmor.security.beta.kubernetes.io/b: runtime/default\nspec:\n  containers:\n  - name: a\n    image: busybox\n  - name: b\n    image: busybox\n";
        let got = choices(yaml);
        assert_eq!(
            got,
            vec![AppArmorChoice::NotSet, AppArmorChoice::RuntimeDefault]
        );
        assert_eq!(
            got.iter().map(|c| c.needs_apparmor()).collect::<Vec<_>>(),
            vec![false, true]
        );
        assert!(!AppArmorChoice::Unconfined.needs_apparmor());
        assert!(AppArmorChoice::Localhost("x".into()).needs_apparmor());
    }
}
