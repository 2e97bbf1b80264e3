//! `containers[].env`: names and `valueFrom` sources.
//!
//! Mirrors `ValidateEnv`, `validateEnvVarValueFrom` and
//! `validateObjectFieldSelector` in `pkg/apis/core/validation/validation.go`,
//! with `ConvertDownwardAPIFieldLabel` (`pkg/apis/core/pods/helpers.go`) and
//! `SplitMaybeSubscriptedPath` (`pkg/fieldpath/fieldpath.go`). Names follow
//! the relaxed rule of Kubernetes 1.32+ (any printable ASCII but `=`).
//! The contents of `resourceFieldRef`, `configMapKeyRef`, `secretKeyRef` and
//! `fileKeyRef` are not modelled; they count as sources only.

use super::names::{invalid_each, is_qualified_name, is_relaxed_env_var_name};
use crate::field_error::{FieldError, quote};
use crate::model::{EnvVar, ObjectFieldSelector};

/// `validEnvDownwardAPIFieldPathExpressions`, sorted as the message lists them.
const ENV_FIELD_PATHS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// Labels `ConvertDownwardAPIFieldLabel` accepts for `v1` pods.
const CONVERTIBLE_FIELD_LABELS: &[&str] = &[
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.serviceAccountName",
    "spec.schedulerName",
    "status.phase",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// `ValidateEnv`.
pub(super) fn validate_env(vars: &[EnvVar], list: &str, errs: &mut Vec<FieldError>) {
    for (i, var) in vars.iter().enumerate() {
        let path = format!("{list}[{i}]");
        if var.name.is_empty() {
            errs.push(FieldError::required(format!("{path}.name"), ""));
        } else {
            errs.extend(invalid_each(
                &format!("{path}.name"),
                &var.name,
                is_relaxed_env_var_name(&var.name),
            ));
        }
        validate_value_from(var, &format!("{path}.valueFrom"), errs);
    }
}

/// `validateEnvVarValueFrom`: exactly one source, and not with `value`.
fn validate_value_from(var: &EnvVar, path: &str, errs: &mut Vec<FieldError>) {
    let Some(source) = &var.value_from else {
        return;
    };
    let mut sources = 0;
    if let Some(field_ref) = &source.field_ref {
        sources += 1;
        validate_object_field_selector(field_ref, &format!("{path}.fieldRef"), errs);
    }
    sources += [
        source.resource_field_ref.is_some(),
        source.config_map_key_ref.is_some(),
        source.secret_key_ref.is_some(),
        source.file_key_ref.is_some(),
    ]
    .into_iter()
    .filter(|set| *set)
    .count();

    let empty = quote("");
    if sources == 0 {
        errs.push(FieldError::invalid(
            path,
            empty,
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        ));
    } else if !var.value.as_deref().unwrap_or_default().is_empty() {
        errs.push(FieldError::invalid(
            path,
            empty,
            "may not be specified when `value` is not empty",
        ));
    } else if sources > 1 {
        errs.push(FieldError::invalid(
            path,
            empty,
            "may not have more than one field specified at a time",
        ));
    }
}

/// `validateObjectFieldSelector` with the env var field paths.
fn validate_object_field_selector(
    selector: &ObjectFieldSelector,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let api_version = selector.api_version.as_deref().unwrap_or_default();
    if api_version.is_empty() {
        errs.push(FieldError::required(format!("{path}.apiVersion"), ""));
        return;
    }
    let field_path = selector.field_path.as_str();
    if field_path.is_empty() {
        errs.push(FieldError::required(format!("{path}.fieldPath"), ""));
        return;
    }

    let internal = match convert_downward_api_field_label(api_version, field_path) {
        Ok(label) => label,
        Err(reason) => {
            errs.push(FieldError::invalid(
                format!("{path}.fieldPath"),
                quote(field_path),
                format!("error converting fieldPath: {reason}"),
            ));
            return;
        }
    };

    match split_maybe_subscripted_path(&internal) {
        Some(("metadata.annotations", key)) => {
            let key = key.to_lowercase();
            errs.extend(invalid_each(path, &key, is_qualified_name(&key)));
        }
        Some(("metadata.labels", key)) => {
            errs.extend(invalid_each(path, key, is_qualified_name(key)));
        }
        Some((other, _)) => {
            errs.push(FieldError::invalid(
                path,
                quote(other),
                "does not support subscript",
            ));
        }
        None if !ENV_FIELD_PATHS.contains(&internal.as_str()) => {
            errs.push(FieldError::not_supported(
                format!("{path}.fieldPath"),
                &internal,
                ENV_FIELD_PATHS,
            ));
        }
        None => {}
    }
}

/// Why `ConvertDownwardAPIFieldLabel` refuses a field label, in its words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum FieldLabelError {
    #[error("unsupported pod version: {0}")]
    UnsupportedVersion(String),
    #[error("field label does not support subscript: {0}")]
    Subscript(String),
    #[error("field label not supported: {0}")]
    NotSupported(String),
}

/// `ConvertDownwardAPIFieldLabel`: the internal label, or why not.
fn convert_downward_api_field_label(version: &str, label: &str) -> Result<String, FieldLabelError> {
    if version != "v1" {
        return Err(FieldLabelError::UnsupportedVersion(version.to_owned()));
    }
    if let Some((path, _)) = split_maybe_subscripted_path(label) {
        return match path {
            "metadata.annotations" | "metadata.labels" => Ok(label.to_owned()),
            _ => Err(FieldLabelError::Subscript(label.to_owned())),
        };
    }
    if CONVERTIBLE_FIELD_LABELS.contains(&label) {
        Ok(label.to_owned())
    } else if label == "spec.host" {
        Ok("spec.nodeName".to_owned())
    } else {
        Err(FieldLabelError::NotSupported(label.to_owned()))
    }
}

/// `SplitMaybeSubscriptedPath`: `metadata.labels['key']` → (`metadata.labels`, `key`).
fn split_maybe_subscripted_path(field_path: &str) -> Option<(&str, &str)> {
    let inner = field_path.strip_suffix("']")?;
    let (path, key) = inner.split_once("['")?;
    if path.is_empty() {
        return None;
    }
    Some((path, key))
}

#[cfg(test)]
mod tests {
    use crate::model::{EnvVar, EnvVarSource, ObjectFieldSelector};
    use crate::validate::fixture::{Case, check};

    fn field_ref(path: &str) -> EnvVar {
        EnvVar {
            name: "FROM_FIELD".into(),
            value: None,
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    api_version: Some("v1".into()),
                    field_path: path.into(),
                }),
                ..EnvVarSource::default()
            }),
        }
    }

    fn plain(name: &str) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: Some("x".into()),
            value_from: None,
        }
    }

    #[test]
    fn env_rules() {
        check(&[
            Case {
                name: "env_name_is_required",
                mutate: |p| p.spec.containers[0].env.push(plain("")),
                want: &["spec.containers[0].env[0].name: Required value"],
            },
            Case {
                name: "env_names_are_printable_ascii_without_equals",
                mutate: |p| {
                    p.spec.containers[0].env.push(plain("1.weird name"));
                    p.spec.containers[0].env.push(plain("A=B"));
                },
                want: &[
                    r#"spec.containers[0].env[1].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='"#,
                ],
            },
            Case {
                name: "env_field_ref_paths_follow_the_downward_api_list",
                mutate: |p| {
                    for path in [
                        "metadata.name",
                        "metadata.namespace",
                        "metadata.uid",
                        "spec.nodeName",
                        "spec.serviceAccountName",
                        "status.hostIP",
                        "status.hostIPs",
                        "status.podIP",
                        "status.podIPs",
                        "metadata.labels['app']",
                        "metadata.annotations['a/B']",
                        "spec.host",
                    ] {
                        p.spec.containers[0].env.push(field_ref(path));
                    }
                },
                want: &[],
            },
            Case {
                name: "env_field_ref_unsupported_path",
                mutate: |p| p.spec.containers[0].env.push(field_ref("status.phase")),
                want: &[
                    r#"spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "status.phase": supported values: "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs""#,
                ],
            },
            Case {
                name: "env_field_ref_unknown_path_fails_conversion",
                mutate: |p| p.spec.containers[0].env.push(field_ref("metadata.whoops")),
                want: &[
                    r#"spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid value: "metadata.whoops": error converting fieldPath: field label not supported: metadata.whoops"#,
                ],
            },
            Case {
                name: "env_field_ref_subscript_only_on_labels_and_annotations",
                mutate: |p| {
                    p.spec.containers[0]
                        .env
                        .push(field_ref("metadata.name['x']"))
                },
                want: &[
                    r#"spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid value: "metadata.name['x']": error converting fieldPath: field label does not support subscript: metadata.name['x']"#,
                ],
            },
            Case {
                name: "env_field_ref_label_key_must_be_a_qualified_name",
                mutate: |p| {
                    p.spec.containers[0]
                        .env
                        .push(field_ref("metadata.labels['-x']"))
                },
                want: &[
                    r#"spec.containers[0].env[0].valueFrom.fieldRef: Invalid value: "-x": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"#,
                ],
            },
            Case {
                name: "env_field_ref_api_version_is_required",
                mutate: |p| {
                    let mut var = field_ref("metadata.name");
                    if let Some(source) = var.value_from.as_mut().and_then(|s| s.field_ref.as_mut())
                    {
                        source.api_version = None;
                    }
                    p.spec.containers[0].env.push(var);
                },
                want: &["spec.containers[0].env[0].valueFrom.fieldRef.apiVersion: Required value"],
            },
            Case {
                name: "env_field_ref_api_version_must_be_v1",
                mutate: |p| {
                    let mut var = field_ref("metadata.name");
                    if let Some(source) = var.value_from.as_mut().and_then(|s| s.field_ref.as_mut())
                    {
                        source.api_version = Some("v2".into());
                    }
                    p.spec.containers[0].env.push(var);
                },
                want: &[
                    r#"spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid value: "metadata.name": error converting fieldPath: unsupported pod version: v2"#,
                ],
            },
            Case {
                name: "env_value_from_needs_a_source",
                mutate: |p| {
                    p.spec.containers[0].env.push(EnvVar {
                        name: "X".into(),
                        value: None,
                        value_from: Some(EnvVarSource::default()),
                    });
                },
                want: &[
                    "spec.containers[0].env[0].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
                ],
            },
            Case {
                name: "env_value_and_value_from_together_are_invalid",
                mutate: |p| {
                    let mut var = field_ref("metadata.name");
                    var.value = Some("x".into());
                    p.spec.containers[0].env.push(var);
                },
                want: &[
                    "spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty",
                ],
            },
            Case {
                name: "env_value_from_exactly_one_source",
                mutate: |p| {
                    let mut var = field_ref("metadata.name");
                    if let Some(source) = var.value_from.as_mut() {
                        source.secret_key_ref = Some(serde_json::json!({"name": "s", "key": "k"}));
                    }
                    p.spec.containers[0].env.push(var);
                },
                want: &[
                    "spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not have more than one field specified at a time",
                ],
            },
        ]);
    }
}
