//! `spec.os`: a known OS name, and the fields that OS cannot use.
//!
//! Mirrors `validateOS`, `validateLinux` and `validateWindows` in
//! `pkg/apis/core/validation/validation.go` (containers visited as
//! `podshelper.VisitContainersWithPath` does: init containers first).

use crate::field_error::FieldError;
use crate::model::{Container, PodSpec};

const FOR_WINDOWS: &str = "cannot be set for a windows pod";

/// `validateOS`, then the Linux or Windows field rules.
pub(super) fn validate_os(spec: &PodSpec, errs: &mut Vec<FieldError>) {
    let Some(os) = &spec.os else { return };
    if os.name.is_empty() {
        errs.push(FieldError::required("spec.os.name", "cannot be empty"));
        return;
    }
    match os.name.as_str() {
        "linux" => validate_linux(spec, errs),
        "windows" => validate_windows(spec, errs),
        other => errs.push(FieldError::not_supported(
            "spec.os",
            other,
            &["linux", "windows"],
        )),
    }
}

/// Every container with its path, init containers first.
fn visit_containers(spec: &PodSpec) -> impl Iterator<Item = (String, &Container)> {
    spec.all_containers()
}

/// `validateLinux`: no Windows options.
fn validate_linux(spec: &PodSpec, errs: &mut Vec<FieldError>) {
    const FOR_LINUX: &str = "windows options cannot be set for a linux pod";
    if spec
        .security_context
        .as_ref()
        .is_some_and(|sc| sc.windows_options.is_some())
    {
        errs.push(FieldError::forbidden(
            "spec.securityContext.windowsOptions",
            FOR_LINUX,
        ));
    }
    for (path, container) in visit_containers(spec) {
        if container
            .security_context
            .as_ref()
            .is_some_and(|sc| sc.windows_options.is_some())
        {
            errs.push(FieldError::forbidden(
                format!("{path}.securityContext.windowsOptions"),
                FOR_LINUX,
            ));
        }
    }
}

/// `validateWindows`: no Linux-only security settings.
fn validate_windows(spec: &PodSpec, errs: &mut Vec<FieldError>) {
    if let Some(sc) = &spec.security_context {
        let sc_path = "spec.securityContext";
        let fields = [
            (
                format!("{sc_path}.appArmorProfile"),
                sc.app_armor_profile.is_some(),
            ),
            (
                format!("{sc_path}.seLinuxOptions"),
                sc.se_linux_options.is_some(),
            ),
            ("spec.hostUsers".to_owned(), spec.host_users.is_some()),
            ("spec.hostPID".to_owned(), spec.host_pid == Some(true)),
            ("spec.hostIPC".to_owned(), spec.host_ipc == Some(true)),
            (
                format!("{sc_path}.seccompProfile"),
                sc.seccomp_profile.is_some(),
            ),
            (format!("{sc_path}.fsGroup"), sc.fs_group.is_some()),
            (
                format!("{sc_path}.fsGroupChangePolicy"),
                sc.fs_group_change_policy.is_some(),
            ),
            (format!("{sc_path}.sysctls"), !sc.sysctls.is_empty()),
            (
                "spec.shareProcessNamespace".to_owned(),
                spec.share_process_namespace.is_some(),
            ),
            (format!("{sc_path}.runAsUser"), sc.run_as_user.is_some()),
            (format!("{sc_path}.runAsGroup"), sc.run_as_group.is_some()),
            (
                format!("{sc_path}.supplementalGroups"),
                !sc.supplemental_groups.is_empty(),
            ),
            (
                format!("{sc_path}.supplementalGroupsPolicy"),
                sc.supplemental_groups_policy.is_some(),
            ),
            (
                format!("{sc_path}.seLinuxChangePolicy"),
                sc.se_linux_change_policy.is_some(),
            ),
        ];
        for (path, set) in fields {
            if set {
                errs.push(FieldError::forbidden(path, FOR_WINDOWS));
            }
        }
    }
    for (path, container) in visit_containers(spec) {
        let Some(sc) = &container.security_context else {
            continue;
        };
        let fields = [
            ("appArmorProfile", sc.app_armor_profile.is_some()),
            ("seLinuxOptions", sc.se_linux_options.is_some()),
            ("seccompProfile", sc.seccomp_profile.is_some()),
            ("capabilities", sc.capabilities.is_some()),
            (
                "readOnlyRootFilesystem",
                sc.read_only_root_filesystem.is_some(),
            ),
            ("privileged", sc.privileged.is_some()),
            (
                "allowPrivilegeEscalation",
                sc.allow_privilege_escalation.is_some(),
            ),
            ("procMount", sc.proc_mount.is_some()),
            ("runAsUser", sc.run_as_user.is_some()),
            ("runAsGroup", sc.run_as_group.is_some()),
        ];
        for (field, set) in fields {
            if set {
                errs.push(FieldError::forbidden(
                    format!("{path}.securityContext.{field}"),
                    FOR_WINDOWS,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{PodOs, PodSecurityContext, SecurityContext};
    use crate::validate::fixture::{Case, check, container};

    #[test]
    fn os_rules() {
        check(&[
            Case {
                name: "os_name_values",
                mutate: |p| {
                    p.spec.os = Some(PodOs {
                        name: "plan9".into(),
                    })
                },
                want: &[
                    r#"spec.os: Unsupported value: "plan9": supported values: "linux", "windows""#,
                ],
            },
            Case {
                name: "os_name_cannot_be_empty",
                mutate: |p| {
                    p.spec.os = Some(PodOs {
                        name: String::new(),
                    })
                },
                want: &["spec.os.name: Required value: cannot be empty"],
            },
            Case {
                name: "linux_pods_have_no_windows_options",
                mutate: |p| {
                    p.spec.os = Some(PodOs {
                        name: "linux".into(),
                    });
                    p.spec.containers[0].security_context = Some(SecurityContext {
                        windows_options: Some(serde_json::json!({"runAsUserName": "x"})),
                        ..SecurityContext::default()
                    });
                },
                want: &[
                    "spec.containers[0].securityContext.windowsOptions: Forbidden: windows options cannot be set for a linux pod",
                ],
            },
            Case {
                name: "windows_pods_have_no_linux_security_settings",
                mutate: |p| {
                    p.spec.os = Some(PodOs {
                        name: "windows".into(),
                    });
                    p.spec.security_context = Some(PodSecurityContext {
                        run_as_user: Some(1000),
                        ..PodSecurityContext::default()
                    });
                    let mut init = container("init");
                    init.security_context = Some(SecurityContext {
                        privileged: Some(false),
                        ..SecurityContext::default()
                    });
                    p.spec.init_containers.push(init);
                },
                want: &[
                    "spec.securityContext.runAsUser: Forbidden: cannot be set for a windows pod",
                    "spec.initContainers[0].securityContext.privileged: Forbidden: cannot be set for a windows pod",
                ],
            },
        ]);
    }
}
