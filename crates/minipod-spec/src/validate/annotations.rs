//! Annotations with a meaning for pods, and their agreement with the
//! fields that replaced them (seccomp and AppArmor).
//!
//! Mirrors `ValidatePodSpecificAnnotations`, `ValidateSeccompPodAnnotations`,
//! `ValidateSeccompProfile`, `ValidateAppArmorPodAnnotations`,
//! `ValidateAppArmorProfileFormat`, `validateSeccompAnnotationsAndFields`,
//! `validateSeccompAnnotationsAndFieldsMatch` and
//! `validateAppArmorAnnotationsAndFieldsMatchOnCreate` in
//! `pkg/apis/core/validation/validation.go`, and
//! `GetDeletionCostFromPodAnnotations` (`pkg/apis/core/helper`).
//! The tolerations annotation is not checked (see the module report).

use std::collections::BTreeMap;

use super::volumes::validate_local_descending_path;
use crate::enums::ProfileType;
use crate::field_error::{FieldError, quote};
use crate::model::{PodSpec, SecurityProfile};

const MIRROR_POD: &str = "kubernetes.io/config.mirror";
const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";
pub(crate) const SECCOMP_POD: &str = "seccomp.security.alpha.kubernetes.io/pod";
pub(crate) const SECCOMP_CONTAINER_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";
pub(crate) const APPARMOR_CONTAINER_PREFIX: &str =
    "container.apparmor.security.beta.kubernetes.io/";

/// `ValidatePodSpecificAnnotations` (on `metadata.annotations`).
pub(super) fn validate_pod_specific_annotations(
    annotations: &BTreeMap<String, String>,
    spec: &PodSpec,
    errs: &mut Vec<FieldError>,
) {
    let path = "metadata.annotations";
    if let Some(value) = annotations.get(MIRROR_POD)
        && spec.node_name.as_deref().unwrap_or_default().is_empty()
    {
        errs.push(FieldError::invalid(
            format!("{path}[{MIRROR_POD}]"),
            quote(value),
            "must set spec.nodeName if mirror pod annotation is set",
        ));
    }
    if let Some(value) = annotations.get(DELETION_COST)
        && !is_deletion_cost(value)
    {
        errs.push(FieldError::invalid(
            format!("{path}[{DELETION_COST}]"),
            quote(value),
            "must be a 32bit integer",
        ));
    }

    // ValidateSeccompPodAnnotations (paths use `.` before the key).
    if let Some(profile) = annotations.get(SECCOMP_POD) {
        validate_seccomp_annotation(profile, &format!("{path}.{SECCOMP_POD}"), errs);
    }
    for (key, profile) in annotations {
        if key.starts_with(SECCOMP_CONTAINER_PREFIX) {
            validate_seccomp_annotation(profile, &format!("{path}.{key}"), errs);
        }
    }

    // ValidateAppArmorPodAnnotations.
    for (key, profile) in annotations {
        let Some(container) = key.strip_prefix(APPARMOR_CONTAINER_PREFIX) else {
            continue;
        };
        let key_path = format!("{path}[{key}]");
        if !spec.all_containers().any(|(_, c)| c.name == container) {
            errs.push(FieldError::invalid(
                &key_path,
                quote(container),
                "container not found",
            ));
        }
        let known = matches!(profile.as_str(), "" | "runtime/default" | "unconfined");
        if !known && !profile.starts_with("localhost/") {
            errs.push(FieldError::invalid(
                &key_path,
                quote(profile),
                format!("invalid AppArmor profile name: {}", quote(profile)),
            ));
        }
    }
}

/// The deletion cost is an `int32` written without `+` or leading zeros.
fn is_deletion_cost(value: &str) -> bool {
    let valid_first = match value.as_bytes().first() {
        Some(b'-') => true,
        Some(b'0') => value == "0",
        Some(b'1'..=b'9') => true,
        _ => false,
    };
    valid_first && value.parse::<i32>().is_ok()
}

/// `ValidateSeccompProfile` for an annotation value.
fn validate_seccomp_annotation(profile: &str, path: &str, errs: &mut Vec<FieldError>) {
    if matches!(profile, "runtime/default" | "docker/default" | "unconfined") {
        return;
    }
    if let Some(local) = profile.strip_prefix("localhost/") {
        validate_local_descending_path(local, path, errs);
        return;
    }
    errs.push(FieldError::invalid(
        path,
        quote(profile),
        "must be a valid seccomp profile",
    ));
}

/// `validateSeccompAnnotationsAndFields`: where both are given, they agree.
pub(super) fn validate_seccomp_annotations_match_fields(
    annotations: &BTreeMap<String, String>,
    spec: &PodSpec,
    errs: &mut Vec<FieldError>,
) {
    let pod_profile = spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.seccomp_profile.as_ref());
    if let (Some(field), Some(annotation)) = (pod_profile, annotations.get(SECCOMP_POD)) {
        seccomp_match(
            annotation,
            field,
            "spec.securityContext.seccompProfile",
            errs,
        );
    }
    for (path, container) in spec.all_containers() {
        let Some(field) = container
            .security_context
            .as_ref()
            .and_then(|sc| sc.seccomp_profile.as_ref())
        else {
            continue;
        };
        let key = format!("{SECCOMP_CONTAINER_PREFIX}{}", container.name);
        if let Some(annotation) = annotations.get(&key) {
            seccomp_match(
                annotation,
                field,
                &format!("{path}.securityContext.seccompProfile"),
                errs,
            );
        }
    }
}

/// `validateSeccompAnnotationsAndFieldsMatch`.
fn seccomp_match(
    annotation: &str,
    field: &SecurityProfile,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    const TYPE_MISMATCH: &str = "seccomp type in annotation and field must match";
    match field.profile_type {
        ProfileType::Unconfined if annotation != "unconfined" => {
            errs.push(FieldError::forbidden(format!("{path}.type"), TYPE_MISMATCH));
        }
        ProfileType::RuntimeDefault
            if annotation != "runtime/default" && annotation != "docker/default" =>
        {
            errs.push(FieldError::forbidden(format!("{path}.type"), TYPE_MISMATCH));
        }
        ProfileType::Localhost => match annotation.strip_prefix("localhost/") {
            None => errs.push(FieldError::forbidden(format!("{path}.type"), TYPE_MISMATCH)),
            Some(local) if field.localhost_profile.as_deref() != Some(local) => {
                errs.push(FieldError::forbidden(
                    format!("{path}.localhostProfile"),
                    "seccomp profile in annotation and field must match",
                ));
            }
            Some(_) => {}
        },
        _ => {}
    }
}

/// `validateAppArmorAnnotationsAndFieldsMatchOnCreate` (not for Windows pods).
pub(super) fn validate_app_armor_annotations_match_fields(
    annotations: &BTreeMap<String, String>,
    spec: &PodSpec,
    errs: &mut Vec<FieldError>,
) {
    if spec.os.as_ref().is_some_and(|os| os.name == "windows") {
        return;
    }
    const TYPE_MISMATCH: &str = "apparmor type in annotation and field must match";
    let pod_profile = spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.app_armor_profile.as_ref());
    for (path, container) in spec.all_containers() {
        let profile = container
            .security_context
            .as_ref()
            .and_then(|sc| sc.app_armor_profile.as_ref())
            .or(pod_profile);
        let Some(profile) = profile else { continue };
        let key = format!("{APPARMOR_CONTAINER_PREFIX}{}", container.name);
        let Some(annotation) = annotations.get(&key) else {
            continue;
        };
        let field_path = format!("{path}.securityContext.appArmorProfile");
        match profile.profile_type {
            ProfileType::Unconfined if annotation != "unconfined" => {
                errs.push(FieldError::forbidden(
                    format!("{field_path}.type"),
                    TYPE_MISMATCH,
                ));
            }
            ProfileType::RuntimeDefault if annotation != "runtime/default" => {
                errs.push(FieldError::forbidden(
                    format!("{field_path}.type"),
                    TYPE_MISMATCH,
                ));
            }
            ProfileType::Localhost => match annotation.strip_prefix("localhost/") {
                None => errs.push(FieldError::forbidden(
                    format!("{field_path}.type"),
                    TYPE_MISMATCH,
                )),
                Some(local) if profile.localhost_profile.as_deref() != Some(local) => {
                    errs.push(FieldError::forbidden(
                        format!("{field_path}.localhostProfile"),
                        "apparmor profile in annotation and field must match",
                    ));
                }
                Some(_) => {}
            },
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::enums::ProfileType;
    use crate::model::{PodSecurityContext, SecurityProfile};
    use crate::validate::fixture::{Case, check};

    #[test]
    fn annotation_rules() {
        check(&[
            Case {
                name: "mirror_pod_annotation_needs_a_node_name",
                mutate: |p| {
                    p.metadata
                        .annotations
                        .insert("kubernetes.io/config.mirror".into(), "hash".into());
                },
                want: &[
                    r#"metadata.annotations[kubernetes.io/config.mirror]: Invalid value: "hash": must set spec.nodeName if mirror pod annotation is set"#,
                ],
            },
            Case {
                name: "deletion_cost_is_a_32bit_integer",
                mutate: |p| {
                    p.metadata.annotations.insert(
                        "controller.kubernetes.io/pod-deletion-cost".into(),
                        "007".into(),
                    );
                },
                want: &[
                    r#"metadata.annotations[controller.kubernetes.io/pod-deletion-cost]: Invalid value: "007": must be a 32bit integer"#,
                ],
            },
            Case {
                name: "seccomp_annotation_profiles",
                mutate: |p| {
                    p.metadata.annotations.insert(
                        "seccomp.security.alpha.kubernetes.io/pod".into(),
                        "default".into(),
                    );
                    p.metadata.annotations.insert(
                        "container.seccomp.security.alpha.kubernetes.io/app".into(),
                        "localhost/../x".into(),
                    );
                },
                want: &[
                    r#"metadata.annotations.seccomp.security.alpha.kubernetes.io/pod: Invalid value: "default": must be a valid seccomp profile"#,
                    r#"metadata.annotations.container.seccomp.security.alpha.kubernetes.io/app: Invalid value: "../x": must not contain '..'"#,
                ],
            },
            Case {
                name: "apparmor_annotation_names_a_container_and_a_profile",
                mutate: |p| {
                    p.metadata.annotations.insert(
                        "container.apparmor.security.beta.kubernetes.io/nope".into(),
                        "strict".into(),
                    );
                },
                want: &[
                    r#"metadata.annotations[container.apparmor.security.beta.kubernetes.io/nope]: Invalid value: "nope": container not found"#,
                    r#"metadata.annotations[container.apparmor.security.beta.kubernetes.io/nope]: Invalid value: "strict": invalid AppArmor profile name: "strict""#,
                ],
            },
            Case {
                name: "seccomp_annotation_and_field_must_match",
                mutate: |p| {
                    p.metadata.annotations.insert(
                        "seccomp.security.alpha.kubernetes.io/pod".into(),
                        "unconfined".into(),
                    );
                    p.spec.security_context = Some(PodSecurityContext {
                        seccomp_profile: Some(SecurityProfile {
                            profile_type: ProfileType::RuntimeDefault,
                            localhost_profile: None,
                        }),
                        ..PodSecurityContext::default()
                    });
                },
                want: &[
                    "spec.securityContext.seccompProfile.type: Forbidden: seccomp type in annotation and field must match",
                ],
            },
            Case {
                name: "apparmor_annotation_and_field_must_match",
                mutate: |p| {
                    p.metadata.annotations.insert(
                        "container.apparmor.security.beta.kubernetes.io/app".into(),
                        "localhost/other".into(),
                    );
                    p.spec.security_context = Some(PodSecurityContext {
                        app_armor_profile: Some(SecurityProfile {
                            profile_type: ProfileType::Localhost,
                            localhost_profile: Some("mine".into()),
                        }),
                        ..PodSecurityContext::default()
                    });
                },
                want: &[
                    "spec.containers[0].securityContext.appArmorProfile.localhostProfile: Forbidden: apparmor profile in annotation and field must match",
                ],
            },
        ]);
    }
}
