//! Secrets (`apiVersion: v1`, `kind: Secret`): the model, the API server's
//! create path (defaulting and validation, [`admit_secret`]) and the rule
//! that turns a pod's `imagePullSecrets` into registry logins
//! ([`resolve_pull_secrets`]), shared by `minipod run` and the daemon.
//!
//! As on the API server, `data` values are base64 in JSON and YAML and bytes
//! inside ([`SecretBytes`]); `stringData` is write-only: on create and update
//! its entries are merged into `data` (overwriting) and it is dropped.
//!
//! Validation mirrors `ValidateSecret` and `ValidateSecretUpdate`
//! (`pkg/apis/core/validation/validation.go`); see `validate::secret`. The model is in `secret/model.rs`.

use std::fmt;

use crate::defaults::DEFAULT_NAMESPACE;
use crate::field_error::FieldError;
use crate::model::LocalObjectReference;

pub(crate) mod model;

pub use model::*;

/// A Secret the API server would refuse: `The Secret "x" is invalid: ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSecret {
    pub name: String,
    pub errors: Vec<FieldError>,
}

impl fmt::Display for InvalidSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::field_error::write_invalid(f, "Secret", &self.name, &self.errors)
    }
}

impl std::error::Error for InvalidSecret {}

/// The API server's defaulting of a Secret: `stringData` merged into `data`
/// (it wins) and dropped; `type` `Opaque` when unset; the namespace
/// `default` when unset.
pub fn default_secret(secret: &mut Secret) {
    for (key, value) in std::mem::take(&mut secret.string_data) {
        secret.data.insert(key, SecretBytes(value.into_bytes()));
    }
    if secret.type_.as_deref().unwrap_or_default().is_empty() {
        secret.type_ = Some(TYPE_OPAQUE.to_owned());
    }
    if secret
        .metadata
        .namespace
        .as_deref()
        .unwrap_or_default()
        .is_empty()
    {
        secret.metadata.namespace = Some(DEFAULT_NAMESPACE.to_owned());
    }
}

/// The create path: defaults, then `ValidateSecret`. The system fields
/// (uid, creationTimestamp, resourceVersion) are the store's to set.
pub fn admit_secret(mut secret: Secret) -> Result<Secret, InvalidSecret> {
    default_secret(&mut secret);
    let errors = crate::validate::validate_secret(&secret);
    if errors.is_empty() {
        Ok(secret)
    } else {
        Err(InvalidSecret {
            name: secret.name().to_owned(),
            errors,
        })
    }
}

/// The update path: `new` defaulted, validated, and checked against `old`
/// (`ValidateSecretUpdate`: the type never changes; an immutable Secret's
/// data and `immutable` never change).
pub fn admit_secret_update(old: &Secret, mut new: Secret) -> Result<Secret, InvalidSecret> {
    default_secret(&mut new);
    let mut errors = crate::validate::validate_secret(&new);
    errors.extend(crate::validate::validate_secret_update(old, &new));
    if errors.is_empty() {
        Ok(new)
    } else {
        Err(InvalidSecret {
            name: new.name().to_owned(),
            errors,
        })
    }
}

/// A pod's registry logins, found from its `imagePullSecrets`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResolvedPullSecrets {
    /// In the pod's order: each secret's name and its Docker config (the
    /// decoded `.dockerconfigjson`, or `.dockercfg`).
    pub secrets: Vec<(String, serde_json::Value)>,
    /// The names with no usable Secret: none of that name in the pod's
    /// namespace, or one of another type, or one whose config is not JSON.
    pub missing: Vec<String>,
}

/// The logins of `refs` (a pod's `spec.imagePullSecrets`), looking each name
/// up with `find` (the Secrets of the pod's namespace).
///
/// As the kubelet's `getPullSecretsForPod`: an empty name is skipped, a
/// Secret that cannot be had is reported and left out; a name given twice
/// counts once. Only `kubernetes.io/dockerconfigjson` (`.dockerconfigjson`)
/// and `kubernetes.io/dockercfg` (`.dockercfg`) Secrets hold logins.
pub fn resolve_pull_secrets<'a>(
    refs: &[LocalObjectReference],
    find: impl Fn(&str) -> Option<&'a Secret>,
) -> ResolvedPullSecrets {
    let mut resolved = ResolvedPullSecrets::default();
    for name in refs.iter().map(|r| r.name.as_str()) {
        let seen = resolved.secrets.iter().any(|(n, _)| n == name)
            || resolved.missing.iter().any(|n| n == name);
        if name.is_empty() || seen {
            continue;
        }
        match find(name).and_then(docker_config) {
            Some(config) => resolved.secrets.push((name.to_owned(), config)),
            None => resolved.missing.push(name.to_owned()),
        }
    }
    resolved
}

/// The Docker config of a pull Secret, decoded.
fn docker_config(secret: &Secret) -> Option<serde_json::Value> {
    let key = match secret.secret_type() {
        TYPE_DOCKER_CONFIG_JSON => DOCKER_CONFIG_JSON_KEY,
        TYPE_DOCKERCFG => DOCKERCFG_KEY,
        _ => return None,
    };
    let bytes = &secret.data.get(key)?.0;
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .filter(serde_json::Value::is_object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ObjectMeta;

    fn secret(name: &str, type_: &str, data: &[(&str, &[u8])]) -> Secret {
        Secret {
            api_version: "v1".into(),
            kind: "Secret".into(),
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            type_: Some(type_.into()),
            data: data
                .iter()
                .map(|(k, v)| ((*k).to_owned(), SecretBytes(v.to_vec())))
                .collect(),
            ..Secret::default()
        }
    }

    fn refs(names: &[&str]) -> Vec<LocalObjectReference> {
        names
            .iter()
            .map(|n| LocalObjectReference { name: (*n).into() })
            .collect()
    }

    #[test]
    fn data_is_base64_both_ways() {
        let parsed: Secret = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"a": "aGk=", "empty": null}
        }))
        .unwrap();
        assert_eq!(parsed.data["a"].0, b"hi");
        assert_eq!(parsed.data["empty"].0, b"");
        let back = serde_json::to_value(&parsed).unwrap();
        assert_eq!(back["data"]["a"], "aGk=");
        assert_eq!(format!("{:?}", parsed.data["a"]), "SecretBytes(2 bytes)");
    }

    #[test]
    fn bad_base64_is_named_as_go_names_it() {
        let error = serde_json::from_value::<Secret>(serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "data": {"a": "a$=="}
        }))
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("illegal base64 data at input byte 1"),
            "{error}"
        );
    }

    #[test]
    fn string_data_is_merged_into_data_and_type_defaults_to_opaque() {
        let mut s = secret("s", "", &[("a", b"old"), ("b", b"kept")]);
        s.type_ = None;
        s.string_data.insert("a".into(), "new".into());
        let admitted = admit_secret(s).unwrap();
        assert_eq!(admitted.data["a"].0, b"new");
        assert_eq!(admitted.data["b"].0, b"kept");
        assert!(admitted.string_data.is_empty());
        assert_eq!(admitted.type_.as_deref(), Some("Opaque"));
        assert_eq!(admitted.namespace(), "default");
    }

    #[test]
    fn an_invalid_secret_prints_as_kubectl_shows_it() {
        let error = admit_secret(secret("regcred", TYPE_DOCKER_CONFIG_JSON, &[])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "The Secret \"regcred\" is invalid: data[.dockerconfigjson]: Required value"
        );
    }

    #[test]
    fn pull_secrets_keep_the_pods_order_and_report_what_is_missing() {
        let a = secret(
            "a",
            TYPE_DOCKER_CONFIG_JSON,
            &[(
                ".dockerconfigjson",
                br#"{"auths":{"r:5000":{"auth":"dTpw"}}}"#,
            )],
        );
        let old = secret(
            "old",
            TYPE_DOCKERCFG,
            &[(".dockercfg", br#"{"r:5000":{"auth":"dTpw"}}"#)],
        );
        let opaque = secret("opaque", TYPE_OPAQUE, &[(".dockerconfigjson", b"{}")]);
        let all = [a, old, opaque];
        let find = |name: &str| all.iter().find(|s| s.name() == name);
        let resolved =
            resolve_pull_secrets(&refs(&["old", "", "nope", "a", "opaque", "old"]), find);
        let names: Vec<&str> = resolved.secrets.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["old", "a"]);
        assert_eq!(resolved.secrets[1].1["auths"]["r:5000"]["auth"], "dTpw");
        assert_eq!(resolved.missing, ["nope", "opaque"]);
    }
}
