//! `metadata`: name, namespace, labels and annotations.
//!
//! Mirrors `ValidateObjectMeta` in `pkg/apis/core/validation/validation.go`
//! and `ValidateObjectMetaAccessor` in
//! `staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go`
//! (`ValidateLabels` from `pkg/apis/meta/v1/validation`,
//! `ValidateAnnotations`, `ValidateFinalizers`, `validateKubeFinalizerName`),
//! with `ValidatePodName` (a DNS-1123 subdomain) and `ValidateNamespaceName`
//! (a DNS-1123 label). `ownerReferences` and `managedFields` are not modelled.

use super::names::{
    invalid_each, is_label_value, is_qualified_name, name_is_dns_label, name_is_dns_subdomain,
};
use crate::field_error::{FieldError, quote};
use crate::model::ObjectMeta;

/// `TotalAnnotationSizeLimitB`: keys and values together, 256 KiB.
const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// `ValidateObjectMeta(meta, requiresNamespace=true, ValidatePodName, "metadata")`.
pub(super) fn validate_object_meta(meta: &ObjectMeta, errs: &mut Vec<FieldError>) {
    let generate_name = meta.generate_name.as_deref().unwrap_or_default();
    if !generate_name.is_empty() {
        errs.extend(invalid_each(
            "metadata.generateName",
            generate_name,
            name_is_dns_subdomain(generate_name, true),
        ));
    }
    let name = meta.name.as_deref().unwrap_or_default();
    if name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        errs.extend(invalid_each(
            "metadata.name",
            name,
            name_is_dns_subdomain(name, false),
        ));
    }

    let namespace = meta.namespace.as_deref().unwrap_or_default();
    if namespace.is_empty() {
        errs.push(FieldError::required("metadata.namespace", ""));
    } else {
        errs.extend(invalid_each(
            "metadata.namespace",
            namespace,
            name_is_dns_label(namespace, false),
        ));
    }

    validate_labels(&meta.labels, "metadata.labels", errs);
    validate_annotations(&meta.annotations, "metadata.annotations", errs);
    validate_finalizers(meta.finalizers.as_ref(), errs);
}

/// `ValidateFinalizers` (apimachinery), then `validateKubeFinalizerName`
/// (core): qualified names, or one of the standard unprefixed ones.
fn validate_finalizers(finalizers: Option<&serde_json::Value>, errs: &mut Vec<FieldError>) {
    let Some(serde_json::Value::Array(items)) = finalizers else {
        return;
    };
    let names: Vec<&str> = items
        .iter()
        .map(|v| v.as_str().unwrap_or_default())
        .collect();
    let path = "metadata.finalizers";
    for name in &names {
        errs.extend(invalid_each(path, name, is_qualified_name(name)));
    }
    if names.contains(&"orphan") && names.contains(&"foregroundDeletion") {
        let quoted: Vec<String> = names.iter().map(|n| quote(n)).collect();
        errs.push(FieldError::invalid(
            path,
            format!("[]string{{{}}}", quoted.join(", ")),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    for (i, name) in names.iter().enumerate() {
        let standard = matches!(*name, "kubernetes" | "orphan" | "foregroundDeletion");
        if !name.contains('/') && !standard {
            errs.push(FieldError::invalid(
                format!("{path}[{i}]"),
                quote(name),
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
}

/// `ValidateLabels`: keys are qualified names, values label values; both
/// reported on the map's path (not the key's).
pub(super) fn validate_labels<'a>(
    labels: impl IntoIterator<Item = (&'a String, &'a String)>,
    field: &str,
    errs: &mut Vec<FieldError>,
) {
    for (key, value) in labels {
        errs.extend(invalid_each(field, key, is_qualified_name(key)));
        errs.extend(invalid_each(field, value, is_label_value(value)));
    }
}

/// `ValidateAnnotations`: keys are qualified names (case-insensitively) and
/// keys plus values add up to at most 256 KiB.
fn validate_annotations<'a>(
    annotations: impl IntoIterator<Item = (&'a String, &'a String)>,
    field: &str,
    errs: &mut Vec<FieldError>,
) {
    let mut total = 0usize;
    for (key, value) in annotations {
        errs.extend(invalid_each(
            field,
            key,
            is_qualified_name(&key.to_lowercase()),
        ));
        total += key.len() + value.len();
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(field, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
}

#[cfg(test)]
mod tests {
    use crate::validate::fixture::{Case, check};

    const SUBDOMAIN_MSG: &str = r"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

    #[test]
    fn metadata_rules() {
        check(&[
            Case {
                name: "name_is_required",
                mutate: |p| {
                    p.metadata.name = None;
                },
                want: &["metadata.name: Required value: name or generateName is required"],
            },
            Case {
                name: "pod_name_must_be_a_dns_subdomain",
                mutate: |p| {
                    p.metadata.name = Some("Web_1".into());
                },
                want: &[const_format_name().as_str()],
            },
            Case {
                name: "generate_name_may_end_in_a_dash",
                mutate: |p| {
                    p.metadata.generate_name = Some("web-".into());
                },
                want: &[],
            },
            Case {
                name: "namespace_must_be_a_dns_label",
                mutate: |p| {
                    p.metadata.namespace = Some("team.a".into());
                },
                want: &[r#"metadata.namespace: Invalid value: "team.a": must not contain dots"#],
            },
            Case {
                name: "namespace_is_required",
                mutate: |p| {
                    p.metadata.namespace = None;
                },
                want: &["metadata.namespace: Required value"],
            },
            Case {
                name: "label_keys_and_values_are_checked",
                mutate: |p| {
                    p.metadata.labels.insert("app".into(), "web server".into());
                    p.metadata.labels.insert("-bad".into(), "ok".into());
                },
                want: &[
                    r#"metadata.labels: Invalid value: "-bad": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"#,
                    r#"metadata.labels: Invalid value: "web server": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"#,
                ],
            },
            Case {
                name: "annotation_keys_are_case_insensitive_qualified_names",
                mutate: |p| {
                    p.metadata
                        .annotations
                        .insert("Example.COM/Key".into(), "any value at all".into());
                    p.metadata.annotations.insert("a/b/c".into(), String::new());
                },
                want: &[
                    r#"metadata.annotations: Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"#,
                ],
            },
            Case {
                name: "finalizers_are_standard_or_fully_qualified",
                mutate: |p| {
                    p.metadata.finalizers = Some(serde_json::json!([
                        "kubernetes",
                        "example.com/cleanup",
                        "cleanup"
                    ]));
                },
                want: &[
                    r#"metadata.finalizers[2]: Invalid value: "cleanup": name is neither a standard finalizer name nor is it fully qualified"#,
                ],
            },
            Case {
                name: "annotations_total_at_most_256_kib",
                mutate: |p| {
                    p.metadata
                        .annotations
                        .insert("big".into(), "x".repeat(256 * 1024));
                },
                want: &["metadata.annotations: Too long: must have at most 262144 bytes"],
            },
        ]);
    }

    fn const_format_name() -> String {
        format!(r#"metadata.name: Invalid value: "Web_1": {SUBDOMAIN_MSG}"#)
    }
}
