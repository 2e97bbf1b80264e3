//! `spec.securityContext` and `containers[].securityContext`.
//!
//! Mirrors `validatePodSpecSecurityContext`, `ValidateSecurityContext`,
//! `validateSeccompProfileField`, `ValidateAppArmorProfileField`,
//! `ValidateProcMountType`, `validateFSGroupChangePolicy`,
//! `validateSupplementalGroupsPolicy`, `validateSELinuxChangePolicy` and
//! `validateHostUsers` in `pkg/apis/core/validation/validation.go`.
//!
//! Where Kubernetes prints a whole Go struct as the bad value (its `%#v`,
//! pointer addresses included), minipod prints the type name with `{...}`.

use super::names::is_valid_user_id;
use super::volumes::validate_local_descending_path;
use crate::enums::ProfileType;
use crate::field_error::{FieldError, quote};
use crate::model::{PodSpec, SecurityContext, SecurityProfile};

/// `validatePodSpecSecurityContext` (the API keeps `shareProcessNamespace`
/// and `hostPID` beside it; Kubernetes reports them under `securityContext`).
pub(super) fn validate_pod_security_context(spec: &PodSpec, errs: &mut Vec<FieldError>) {
    let path = "spec.securityContext";
    let default = Default::default();
    let sc = spec.security_context.as_ref().unwrap_or(&default);

    check_id(&format!("{path}.fsGroup"), sc.fs_group, errs);
    check_id(&format!("{path}.runAsUser"), sc.run_as_user, errs);
    check_id(&format!("{path}.runAsGroup"), sc.run_as_group, errs);
    for (i, gid) in sc.supplemental_groups.iter().enumerate() {
        check_id(&format!("{path}.supplementalGroups[{i}]"), Some(*gid), errs);
    }
    if spec.share_process_namespace == Some(true) && spec.host_pid == Some(true) {
        errs.push(FieldError::invalid(
            format!("{path}.shareProcessNamespace"),
            "true",
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    super::sysctls::validate_sysctls(spec, &format!("{path}.sysctls"), errs);
    if let Some(policy) = sc.fs_group_change_policy.as_deref()
        && !matches!(policy, "Always" | "OnRootMismatch")
    {
        errs.push(FieldError::not_supported(
            format!("{path}.fsGroupChangePolicy"),
            policy,
            &["Always", "OnRootMismatch"],
        ));
    }
    validate_seccomp_profile(
        sc.seccomp_profile.as_ref(),
        &format!("{path}.seccompProfile"),
        errs,
    );
    validate_app_armor_profile(
        sc.app_armor_profile.as_ref(),
        &format!("{path}.appArmorProfile"),
        errs,
    );
    if let Some(policy) = sc.supplemental_groups_policy.as_deref()
        && !matches!(policy, "Merge" | "Strict")
    {
        errs.push(FieldError::not_supported(
            format!("{path}.supplementalGroupsPolicy"),
            policy,
            &["Merge", "Strict"],
        ));
    }
    if let Some(policy) = sc.se_linux_change_policy.as_deref()
        && !matches!(policy, "MountOption" | "Recursive")
    {
        errs.push(FieldError::not_supported(
            format!("{path}.seLinuxChangePolicy"),
            policy,
            &["MountOption", "Recursive"],
        ));
    }
}

/// `validateHostUsers`: a user namespace excludes the host namespaces.
pub(super) fn validate_host_users(spec: &PodSpec, errs: &mut Vec<FieldError>) {
    if spec.host_users != Some(false) {
        return;
    }
    let host = [
        ("spec.hostNetwork", spec.host_network),
        ("spec.HostPID", spec.host_pid),
        ("spec.HostIPC", spec.host_ipc),
    ];
    for (path, set) in host {
        if set == Some(true) {
            errs.push(FieldError::forbidden(
                path,
                "when `pod.Spec.HostUsers` is false",
            ));
        }
    }
}

/// `ValidateSecurityContext` for one container.
pub(super) fn validate_security_context(
    sc: Option<&SecurityContext>,
    path: &str,
    host_users: bool,
    errs: &mut Vec<FieldError>,
) {
    let Some(sc) = sc else { return };
    check_id(&format!("{path}.runAsUser"), sc.run_as_user, errs);
    check_id(&format!("{path}.runAsGroup"), sc.run_as_group, errs);
    if let Some(proc_mount) = sc.proc_mount.as_deref() {
        if !matches!(proc_mount, "Default" | "Unmasked") {
            errs.push(FieldError::not_supported(
                format!("{path}.procMount"),
                proc_mount,
                &["Default", "Unmasked"],
            ));
        }
        if host_users && proc_mount == "Unmasked" {
            errs.push(FieldError::invalid(
                format!("{path}.procMount"),
                quote(proc_mount),
                "`hostUsers` must be false to use `Unmasked`",
            ));
        }
    }
    validate_seccomp_profile(
        sc.seccomp_profile.as_ref(),
        &format!("{path}.seccompProfile"),
        errs,
    );
    if sc.allow_privilege_escalation == Some(false) {
        let shown = "core.SecurityContext{...}";
        if sc.privileged == Some(true) {
            errs.push(FieldError::invalid(
                path,
                shown,
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            ));
        }
        let adds_sys_admin = sc
            .capabilities
            .as_ref()
            .is_some_and(|caps| caps.add.iter().any(|cap| cap == "CAP_SYS_ADMIN"));
        if adds_sys_admin {
            errs.push(FieldError::invalid(
                path,
                shown,
                "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
            ));
        }
    }
    validate_app_armor_profile(
        sc.app_armor_profile.as_ref(),
        &format!("{path}.appArmorProfile"),
        errs,
    );
}

/// `validateSeccompProfileField`.
fn validate_seccomp_profile(
    profile: Option<&SecurityProfile>,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let Some(profile) = profile else { return };
    match &profile.profile_type {
        ProfileType::Unknown(other) if other.is_empty() => errs.push(FieldError::required(
            format!("{path}.type"),
            "type is required when seccompProfile is set",
        )),
        ProfileType::Unknown(other) => errs.push(FieldError::not_supported(
            format!("{path}.type"),
            other,
            &["Localhost", "RuntimeDefault", "Unconfined"],
        )),
        _ => {}
    }
    let localhost_path = format!("{path}.localhostProfile");
    if profile.profile_type == ProfileType::Localhost {
        match profile.localhost_profile.as_deref() {
            None => errs.push(FieldError::required(
                localhost_path,
                "must be set when seccomp type is Localhost",
            )),
            Some(local) => validate_local_descending_path(local, &localhost_path, errs),
        }
    } else if profile.localhost_profile.is_some() {
        errs.push(FieldError::invalid(
            localhost_path,
            "core.SeccompProfile{...}",
            "can only be set when seccomp type is Localhost",
        ));
    }
}

/// `ValidateAppArmorProfileField`.
fn validate_app_armor_profile(
    profile: Option<&SecurityProfile>,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let Some(profile) = profile else { return };
    let localhost_path = format!("{path}.localhostProfile");
    match &profile.profile_type {
        ProfileType::Localhost => match profile.localhost_profile.as_deref() {
            None => errs.push(FieldError::required(
                localhost_path,
                "must be set when AppArmor type is Localhost",
            )),
            Some(local) => {
                let trimmed = local.trim();
                if trimmed != local {
                    errs.push(FieldError::invalid(
                        &localhost_path,
                        quote(local),
                        "must not be padded with whitespace",
                    ));
                } else if trimmed.is_empty() {
                    errs.push(FieldError::required(
                        &localhost_path,
                        "must be set when AppArmor type is Localhost",
                    ));
                }
                const MAX_LOCALHOST_PROFILE: usize = 4095;
                if local.len() > MAX_LOCALHOST_PROFILE {
                    errs.push(FieldError::too_long(&localhost_path, MAX_LOCALHOST_PROFILE));
                }
            }
        },
        ProfileType::RuntimeDefault | ProfileType::Unconfined => {
            if let Some(local) = profile.localhost_profile.as_deref() {
                errs.push(FieldError::invalid(
                    localhost_path,
                    quote(local),
                    "can only be set when AppArmor type is Localhost",
                ));
            }
        }
        ProfileType::Unknown(other) if other.is_empty() => errs.push(FieldError::required(
            format!("{path}.type"),
            "type is required when appArmorProfile is set",
        )),
        ProfileType::Unknown(other) => errs.push(FieldError::not_supported(
            format!("{path}.type"),
            other,
            &["Localhost", "RuntimeDefault", "Unconfined"],
        )),
    }
}

/// A user or group ID must be in 0 to 2^32-1 (`IsValidUserID`; Kubernetes'
/// `IsValidGroupID` has the same range).
fn check_id(field: &str, id: Option<i64>, errs: &mut Vec<FieldError>) {
    let Some(id) = id else { return };
    for msg in is_valid_user_id(id) {
        errs.push(FieldError::invalid(field, id.to_string(), msg));
    }
}

#[cfg(test)]
mod tests {
    use crate::enums::ProfileType;
    use crate::model::{Capabilities, PodSecurityContext, SecurityContext, SecurityProfile};
    use crate::validate::fixture::{Case, check};

    fn profile(kind: ProfileType, local: Option<&str>) -> Option<SecurityProfile> {
        Some(SecurityProfile {
            profile_type: kind,
            localhost_profile: local.map(str::to_owned),
        })
    }

    #[test]
    fn pod_security_context_rules() {
        check(&[
            Case {
                name: "run_as_user_and_group_ranges",
                mutate: |p| {
                    p.spec.security_context = Some(PodSecurityContext {
                        run_as_user: Some(-1),
                        run_as_group: Some(4_294_967_296),
                        supplemental_groups: vec![0, -5],
                        fs_group: Some(-2),
                        ..PodSecurityContext::default()
                    });
                },
                want: &[
                    "spec.securityContext.fsGroup: Invalid value: -2: must be between 0 and 4294967295, inclusive",
                    "spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 4294967295, inclusive",
                    "spec.securityContext.runAsGroup: Invalid value: 4294967296: must be between 0 and 4294967295, inclusive",
                    "spec.securityContext.supplementalGroups[1]: Invalid value: -5: must be between 0 and 4294967295, inclusive",
                ],
            },
            Case {
                name: "share_process_namespace_excludes_host_pid",
                mutate: |p| {
                    p.spec.share_process_namespace = Some(true);
                    p.spec.host_pid = Some(true);
                },
                want: &[
                    "spec.securityContext.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled",
                ],
            },
            Case {
                name: "host_users_false_excludes_host_namespaces",
                mutate: |p| {
                    p.spec.host_users = Some(false);
                    p.spec.host_network = Some(true);
                    p.spec.host_ipc = Some(true);
                },
                want: &[
                    "spec.hostNetwork: Forbidden: when `pod.Spec.HostUsers` is false",
                    "spec.HostIPC: Forbidden: when `pod.Spec.HostUsers` is false",
                ],
            },
            Case {
                name: "pod_security_context_policies",
                mutate: |p| {
                    p.spec.security_context = Some(PodSecurityContext {
                        fs_group_change_policy: Some("Never".into()),
                        supplemental_groups_policy: Some("Loose".into()),
                        ..PodSecurityContext::default()
                    });
                },
                want: &[
                    r#"spec.securityContext.fsGroupChangePolicy: Unsupported value: "Never": supported values: "Always", "OnRootMismatch""#,
                    r#"spec.securityContext.supplementalGroupsPolicy: Unsupported value: "Loose": supported values: "Merge", "Strict""#,
                ],
            },
            Case {
                name: "seccomp_localhost_needs_a_relative_profile",
                mutate: |p| {
                    p.spec.security_context = Some(PodSecurityContext {
                        seccomp_profile: profile(ProfileType::Localhost, None),
                        ..PodSecurityContext::default()
                    });
                    p.spec.containers[0].security_context = Some(SecurityContext {
                        seccomp_profile: profile(ProfileType::Localhost, Some("/abs/../p.json")),
                        ..SecurityContext::default()
                    });
                },
                want: &[
                    r#"spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "/abs/../p.json": must be a relative path"#,
                    r#"spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "/abs/../p.json": must not contain '..'"#,
                    "spec.securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost",
                ],
            },
            Case {
                name: "seccomp_type_values",
                mutate: |p| {
                    p.spec.security_context = Some(PodSecurityContext {
                        seccomp_profile: profile(ProfileType::Unknown("Strict".into()), None),
                        ..PodSecurityContext::default()
                    });
                },
                want: &[
                    r#"spec.securityContext.seccompProfile.type: Unsupported value: "Strict": supported values: "Localhost", "RuntimeDefault", "Unconfined""#,
                ],
            },
            Case {
                name: "app_armor_localhost_profile_rules",
                mutate: |p| {
                    p.spec.security_context = Some(PodSecurityContext {
                        app_armor_profile: profile(ProfileType::Localhost, Some(" padded ")),
                        ..PodSecurityContext::default()
                    });
                    p.spec.containers[0].security_context = Some(SecurityContext {
                        app_armor_profile: profile(ProfileType::RuntimeDefault, Some("x")),
                        ..SecurityContext::default()
                    });
                },
                want: &[
                    r#"spec.containers[0].securityContext.appArmorProfile.localhostProfile: Invalid value: "x": can only be set when AppArmor type is Localhost"#,
                    r#"spec.securityContext.appArmorProfile.localhostProfile: Invalid value: " padded ": must not be padded with whitespace"#,
                ],
            },
        ]);
    }

    #[test]
    fn container_security_context_rules() {
        check(&[
            Case {
                name: "container_run_as_user_range",
                mutate: |p| {
                    p.spec.containers[0].security_context = Some(SecurityContext {
                        run_as_user: Some(-1),
                        run_as_group: Some(-1),
                        ..SecurityContext::default()
                    });
                },
                want: &[
                    "spec.containers[0].securityContext.runAsUser: Invalid value: -1: must be between 0 and 4294967295, inclusive",
                    "spec.containers[0].securityContext.runAsGroup: Invalid value: -1: must be between 0 and 4294967295, inclusive",
                ],
            },
            Case {
                name: "unmasked_proc_mount_needs_a_user_namespace",
                mutate: |p| {
                    p.spec.containers[0].security_context = Some(SecurityContext {
                        proc_mount: Some("Unmasked".into()),
                        ..SecurityContext::default()
                    });
                },
                want: &[
                    r#"spec.containers[0].securityContext.procMount: Invalid value: "Unmasked": `hostUsers` must be false to use `Unmasked`"#,
                ],
            },
            Case {
                name: "proc_mount_values",
                mutate: |p| {
                    p.spec.containers[0].security_context = Some(SecurityContext {
                        proc_mount: Some("Masked".into()),
                        ..SecurityContext::default()
                    });
                },
                want: &[
                    r#"spec.containers[0].securityContext.procMount: Unsupported value: "Masked": supported values: "Default", "Unmasked""#,
                ],
            },
            Case {
                name: "no_privilege_escalation_excludes_privileged_and_sys_admin",
                mutate: |p| {
                    p.spec.containers[0].security_context = Some(SecurityContext {
                        allow_privilege_escalation: Some(false),
                        privileged: Some(true),
                        capabilities: Some(Capabilities {
                            add: vec!["CAP_SYS_ADMIN".into()],
                            drop: vec![],
                        }),
                        ..SecurityContext::default()
                    });
                },
                want: &[
                    "spec.containers[0].securityContext: Invalid value: core.SecurityContext{...}: cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
                    "spec.containers[0].securityContext: Invalid value: core.SecurityContext{...}: cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
                ],
            },
            Case {
                name: "capabilities_are_free_form_strings",
                mutate: |p| {
                    p.spec.containers[0].security_context = Some(SecurityContext {
                        capabilities: Some(Capabilities {
                            add: vec!["NET_ADMIN".into(), "whatever".into()],
                            drop: vec!["ALL".into()],
                        }),
                        ..SecurityContext::default()
                    });
                },
                want: &[],
            },
        ]);
    }
}
