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
//! (`pkg/apis/core/validation/validation.go`); see `validate::secret`.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::defaults::DEFAULT_NAMESPACE;
use crate::model::{LocalObjectReference, ObjectMeta};
use crate::validate::FieldError;

/// `type: Opaque`, the default.
pub const TYPE_OPAQUE: &str = "Opaque";
/// `kubernetes.io/dockerconfigjson`: a Docker `config.json` under `.dockerconfigjson`.
pub const TYPE_DOCKER_CONFIG_JSON: &str = "kubernetes.io/dockerconfigjson";
/// The key of a `kubernetes.io/dockerconfigjson` Secret.
pub const DOCKER_CONFIG_JSON_KEY: &str = ".dockerconfigjson";
/// `kubernetes.io/dockercfg`: the older `~/.dockercfg` format under `.dockercfg`.
pub const TYPE_DOCKERCFG: &str = "kubernetes.io/dockercfg";
/// The key of a `kubernetes.io/dockercfg` Secret.
pub const DOCKERCFG_KEY: &str = ".dockercfg";
/// `kubernetes.io/service-account-token`.
pub const TYPE_SERVICE_ACCOUNT_TOKEN: &str = "kubernetes.io/service-account-token";
/// `kubernetes.io/basic-auth`.
pub const TYPE_BASIC_AUTH: &str = "kubernetes.io/basic-auth";
/// `kubernetes.io/ssh-auth`.
pub const TYPE_SSH_AUTH: &str = "kubernetes.io/ssh-auth";
/// `kubernetes.io/tls`.
pub const TYPE_TLS: &str = "kubernetes.io/tls";
/// `core.MaxSecretSize`: the values of `data` together, 1 MiB.
pub const MAX_SECRET_SIZE: usize = 1024 * 1024;

/// A Secret manifest, strictly (unknown fields are errors).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Secret {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Key → bytes (base64 in the manifest).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, SecretBytes>,
    /// Key → text, merged into `data` on admission.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub string_data: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
}

impl Secret {
    /// `metadata.name` (empty if unset).
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }

    /// `metadata.namespace` (empty if unset).
    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or_default()
    }

    /// `type`, `Opaque` when unset.
    pub fn secret_type(&self) -> &str {
        self.type_
            .as_deref()
            .filter(|t| !t.is_empty())
            .unwrap_or(TYPE_OPAQUE)
    }
}

/// A value of `data`: bytes, written as standard base64 (with padding), as
/// Go's `[]byte` is in JSON.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretBytes(pub Vec<u8>);

impl fmt::Debug for SecretBytes {
    // Never print a secret's contents.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes)", self.0.len())
    }
}

impl Serialize for SecretBytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for SecretBytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SecretBytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base64 string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<SecretBytes, E> {
                decode_base64(text).map(SecretBytes).map_err(E::custom)
            }
            // `key:` with nothing after it: an empty value, as Go decodes `null`.
            fn visit_unit<E: serde::de::Error>(self) -> Result<SecretBytes, E> {
                Ok(SecretBytes::default())
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Go's `base64.StdEncoding.DecodeString`, with its error words
/// (`illegal base64 data at input byte N`). Newlines are ignored, as Go does.
fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let clean: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(&clean)
        .map_err(|e| {
            let at = match e {
                base64::DecodeError::InvalidByte(at, _)
                | base64::DecodeError::InvalidLastSymbol(at, _) => at,
                base64::DecodeError::InvalidLength(at) => at,
                base64::DecodeError::InvalidPadding => clean.len(),
            };
            format!("illegal base64 data at input byte {at}")
        })
}

/// A Secret the API server would refuse: `The Secret "x" is invalid: ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSecret {
    pub name: String,
    pub errors: Vec<FieldError>,
}

impl fmt::Display for InvalidSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::validate::write_invalid(f, "Secret", &self.name, &self.errors)
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
