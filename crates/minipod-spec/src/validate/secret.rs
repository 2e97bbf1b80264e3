//! Secrets: `ValidateSecret` and `ValidateSecretUpdate`
//! (`pkg/apis/core/validation/validation.go`), with `IsConfigMapKey`
//! (`staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go`)
//! for the keys of `data`.

use super::names::{max_len_error, regex_error};
use crate::field_error::{FieldError, quote};
use crate::secret::model::{
    DOCKER_CONFIG_JSON_KEY, DOCKERCFG_KEY, MAX_SECRET_SIZE, Secret, TYPE_BASIC_AUTH,
    TYPE_DOCKER_CONFIG_JSON, TYPE_DOCKERCFG, TYPE_SERVICE_ACCOUNT_TOKEN, TYPE_SSH_AUTH, TYPE_TLS,
};

const CONFIG_MAP_KEY_FMT: &str = "[-._a-zA-Z0-9]+";
const CONFIG_MAP_KEY_MSG: &str =
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";
/// `DNS1123SubdomainMaxLength`: a key is a file name in a volume.
const KEY_MAX: usize = 253;

/// `IsConfigMapKey`.
fn is_config_map_key(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if key.len() > KEY_MAX {
        errs.push(max_len_error(KEY_MAX));
    }
    let well_formed = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !well_formed {
        errs.push(regex_error(
            CONFIG_MAP_KEY_MSG,
            CONFIG_MAP_KEY_FMT,
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    // `hasChDirPrefix`.
    if key == "." {
        errs.push("must not be '.'".to_owned());
    } else if key == ".." {
        errs.push("must not be '..'".to_owned());
    } else if key.starts_with("..") {
        errs.push("must not start with '..'".to_owned());
    }
    errs
}

/// Go's `encoding/json` refusal of something that is not a JSON object,
/// in its words where they are simple.
fn json_object_error(bytes: &[u8]) -> Option<String> {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(_)) => None,
        Ok(other) => {
            let kind = match other {
                serde_json::Value::Array(_) => "array",
                serde_json::Value::String(_) => "string",
                serde_json::Value::Number(_) => "number",
                serde_json::Value::Bool(_) => "bool",
                _ => return None, // `null` unmarshals into a map as nothing
            };
            Some(format!(
                "json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
            ))
        }
        Err(e) => Some(e.to_string()),
    }
}

/// `ValidateSecret` of a defaulted Secret; empty means valid.
pub fn validate_secret(secret: &Secret) -> Vec<FieldError> {
    let mut errs = Vec::new();
    // `ValidateObjectMeta(meta, true, ValidateSecretName, "metadata")`:
    // the name is a DNS subdomain, as a pod's.
    super::meta::validate_object_meta(&secret.metadata, &mut errs);

    let mut total = 0usize;
    for (key, value) in &secret.data {
        for message in is_config_map_key(key) {
            errs.push(FieldError::invalid(
                format!("data[{key}]"),
                quote(key),
                message,
            ));
        }
        total += value.0.len();
    }
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long("data", MAX_SECRET_SIZE));
    }

    let required = |errs: &mut Vec<FieldError>, key: &str| {
        errs.push(FieldError::required(format!("data[{key}]"), ""));
    };
    match secret.secret_type() {
        TYPE_SERVICE_ACCOUNT_TOKEN => {
            let key = "kubernetes.io/service-account.name";
            if secret
                .metadata
                .annotations
                .get(key)
                .is_none_or(String::is_empty)
            {
                errs.push(FieldError::required(
                    format!("metadata.annotations[{key}]"),
                    "",
                ));
            }
        }
        kind @ (TYPE_DOCKER_CONFIG_JSON | TYPE_DOCKERCFG) => {
            let key = if kind == TYPE_DOCKERCFG {
                DOCKERCFG_KEY
            } else {
                DOCKER_CONFIG_JSON_KEY
            };
            match secret.data.get(key) {
                None => required(&mut errs, key),
                Some(bytes) => {
                    if let Some(message) = json_object_error(&bytes.0) {
                        errs.push(FieldError::invalid(
                            format!("data[{key}]"),
                            "\"<secret contents redacted>\"",
                            message,
                        ));
                    }
                }
            }
        }
        // Username or password may be empty, but one of them must be there.
        TYPE_BASIC_AUTH
            if !secret.data.contains_key("username") && !secret.data.contains_key("password") =>
        {
            required(&mut errs, "username");
            required(&mut errs, "password");
        }
        TYPE_SSH_AUTH
            if secret
                .data
                .get("ssh-privatekey")
                .is_none_or(|v| v.0.is_empty()) =>
        {
            required(&mut errs, "ssh-privatekey");
        }
        TYPE_TLS => {
            for key in ["tls.crt", "tls.key"] {
                if !secret.data.contains_key(key) {
                    required(&mut errs, key);
                }
            }
        }
        _ => {}
    }
    errs
}

/// `ValidateSecretUpdate`'s own rules (the new Secret is validated too).
pub fn validate_secret_update(old: &Secret, new: &Secret) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if old.secret_type() != new.secret_type() {
        errs.push(FieldError::invalid(
            "type",
            quote(new.secret_type()),
            "field is immutable",
        ));
    }
    if old.immutable == Some(true) {
        const DETAIL: &str = "field is immutable when `immutable` is set";
        if new.immutable != Some(true) {
            errs.push(FieldError::forbidden("immutable", DETAIL));
        }
        if old.data != new.data {
            errs.push(FieldError::forbidden("data", DETAIL));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ObjectMeta;
    use crate::secret::{SecretBytes, admit_secret};

    fn secret(type_: &str, data: &[(&str, &[u8])]) -> Secret {
        Secret {
            api_version: "v1".into(),
            kind: "Secret".into(),
            metadata: ObjectMeta {
                name: Some("regcred".into()),
                namespace: Some("default".into()),
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

    fn messages(secret: &Secret) -> Vec<String> {
        validate_secret(secret)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_docker_config_secret_is_valid() {
        let s = secret(
            TYPE_DOCKER_CONFIG_JSON,
            &[(".dockerconfigjson", br#"{"auths":{}}"#)],
        );
        assert!(messages(&s).is_empty());
    }

    #[test]
    fn the_docker_config_must_be_there_and_be_json() {
        assert_eq!(
            messages(&secret(TYPE_DOCKER_CONFIG_JSON, &[])),
            ["data[.dockerconfigjson]: Required value"]
        );
        let bad = messages(&secret(
            TYPE_DOCKER_CONFIG_JSON,
            &[(".dockerconfigjson", b"{not json")],
        ));
        assert_eq!(bad.len(), 1);
        assert!(
            bad[0].starts_with(
                "data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": "
            ),
            "{bad:?}"
        );
        assert_eq!(
            messages(&secret(TYPE_DOCKERCFG, &[(".dockercfg", b"[1]")])),
            [
                "data[.dockercfg]: Invalid value: \"<secret contents redacted>\": json: cannot unmarshal array into Go value of type map[string]interface {}"
            ]
        );
    }

    #[test]
    fn keys_are_config_map_keys() {
        let s = secret(
            "Opaque",
            &[("a/b", b""), ("..x", b""), ("ok-key_1.txt", b"")],
        );
        assert_eq!(
            messages(&s),
            [
                "data[..x]: Invalid value: \"..x\": must not start with '..'",
                "data[a/b]: Invalid value: \"a/b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
            ]
        );
    }

    #[test]
    fn the_name_is_a_dns_subdomain_and_the_size_is_bounded() {
        let mut s = secret("Opaque", &[("big", &vec![0u8; MAX_SECRET_SIZE + 1])]);
        s.metadata.name = Some("Reg_Cred".into());
        let got = messages(&s);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[0].starts_with(
                "metadata.name: Invalid value: \"Reg_Cred\": a lowercase RFC 1123 subdomain"
            ),
            "{got:?}"
        );
        assert_eq!(got[1], "data: Too long: must have at most 1048576 bytes");
    }

    #[test]
    fn other_types_need_their_keys() {
        assert_eq!(
            messages(&secret(TYPE_TLS, &[("tls.crt", b"x")])),
            ["data[tls.key]: Required value"]
        );
        assert_eq!(
            messages(&secret(TYPE_BASIC_AUTH, &[])),
            [
                "data[username]: Required value",
                "data[password]: Required value"
            ]
        );
        assert_eq!(
            messages(&secret(TYPE_SERVICE_ACCOUNT_TOKEN, &[])),
            ["metadata.annotations[kubernetes.io/service-account.name]: Required value"]
        );
    }

    #[test]
    fn updates_keep_the_type_and_an_immutable_secrets_data() {
        let mut old = secret("Opaque", &[("a", b"1")]);
        old.immutable = Some(true);
        let mut new = secret("kubernetes.io/tls", &[("a", b"2")]);
        new.data.insert("tls.crt".into(), SecretBytes::default());
        new.data.insert("tls.key".into(), SecretBytes::default());
        let got: Vec<String> = validate_secret_update(&old, &new)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            got,
            [
                "type: Invalid value: \"kubernetes.io/tls\": field is immutable",
                "immutable: Forbidden: field is immutable when `immutable` is set",
                "data: Forbidden: field is immutable when `immutable` is set",
            ]
        );
        assert!(admit_secret(secret("Opaque", &[])).is_ok());
    }
}
