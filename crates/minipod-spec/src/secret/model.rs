//! The Secret model (`apiVersion: v1`, `kind: Secret`): its fields, types
//! and well-known keys, and `data` values as base64 text outside and bytes
//! inside.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::model::ObjectMeta;

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
fn decode_base64(text: &str) -> Result<Vec<u8>, IllegalBase64> {
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
            IllegalBase64 { at }
        })
}

/// A `data` value that is not base64, in Go's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("illegal base64 data at input byte {at}")]
pub struct IllegalBase64 {
    /// The offset of the first bad byte (newlines left out).
    pub at: usize,
}
