//! The Kubernetes protobuf encoding, read for one case: a Secret in a
//! request body. kubectl's typed clients (`kubectl create secret
//! docker-registry|generic|tls`) send `application/vnd.kubernetes.protobuf`
//! and do not fall back to JSON, so the server reads it and turns it into
//! the JSON the rest of the server handles. Answers stay JSON (kubectl
//! accepts `*/*`).
//!
//! The envelope (`k8s.io/apimachinery/pkg/runtime/serializer/protobuf`): the
//! magic `k8s\0`, then a `runtime.Unknown` { 1 typeMeta { 1 apiVersion,
//! 2 kind }, 2 raw, 3 contentEncoding, 4 contentType }, `raw` being the
//! object's message. Field numbers are those of
//! `staging/src/k8s.io/api/core/v1/generated.proto` (`Secret`) and
//! `apimachinery/pkg/apis/meta/v1/generated.proto` (`ObjectMeta`). Fields
//! set only by the system (uid, resourceVersion, timestamps, ...) are
//! skipped, as the create path drops them anyway.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// The media type.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

const MAGIC: &[u8] = b"k8s\0";

fn malformed(what: &str) -> ApiError {
    ApiError::BadRequest(format!("the protobuf body is malformed: {what}"))
}

/// One field of a message: its number and its value.
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

/// The fields of one message, in order (protobuf wire format).
fn fields(mut bytes: &[u8]) -> Result<Vec<(u64, Field<'_>)>, ApiError> {
    fn varint(bytes: &mut &[u8]) -> Result<u64, ApiError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = bytes.split_first().ok_or_else(|| malformed("cut short"))?;
            *bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed("a varint longer than 10 bytes"))
    }
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes)?;
        let (number, wire) = (key >> 3, key & 7);
        let field = match wire {
            0 => Field::Varint(varint(&mut bytes)?),
            2 => {
                let len = usize::try_from(varint(&mut bytes)?)
                    .map_err(|_| malformed("a length too large"))?;
                if len > bytes.len() {
                    return Err(malformed("cut short"));
                }
                let (value, rest) = bytes.split_at(len);
                bytes = rest;
                Field::Bytes(value)
            }
            // Fixed 64 and 32 bits: no field of a Secret uses them; skipped.
            1 | 5 => {
                let len = if wire == 1 { 8 } else { 4 };
                if len > bytes.len() {
                    return Err(malformed("cut short"));
                }
                bytes = &bytes[len..];
                continue;
            }
            _ => return Err(malformed("an unknown wire type")),
        };
        out.push((number, field));
    }
    Ok(out)
}

fn text(bytes: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| malformed("a string that is not UTF-8"))
}

/// A `map<string, string|bytes>` entry: { 1 key, 2 value }.
fn map_entry(bytes: &[u8]) -> Result<(String, &[u8]), ApiError> {
    let mut key = String::new();
    let mut value: &[u8] = &[];
    for (number, field) in fields(bytes)? {
        match (number, field) {
            (1, Field::Bytes(b)) => key = text(b)?,
            (2, Field::Bytes(b)) => value = b,
            _ => {}
        }
    }
    Ok((key, value))
}

fn object_meta(bytes: &[u8]) -> Result<Value, ApiError> {
    let mut meta = Map::new();
    let mut labels = Map::new();
    let mut annotations = Map::new();
    for (number, field) in fields(bytes)? {
        let Field::Bytes(b) = field else { continue };
        match number {
            1 => drop(meta.insert("name".into(), text(b)?.into())),
            2 => drop(meta.insert("generateName".into(), text(b)?.into())),
            3 => drop(meta.insert("namespace".into(), text(b)?.into())),
            11 | 12 => {
                let (key, value) = map_entry(b)?;
                let map = if number == 11 {
                    &mut labels
                } else {
                    &mut annotations
                };
                map.insert(key, text(value)?.into());
            }
            _ => {}
        }
    }
    if !labels.is_empty() {
        meta.insert("labels".into(), labels.into());
    }
    if !annotations.is_empty() {
        meta.insert("annotations".into(), annotations.into());
    }
    Ok(meta.into())
}

/// A protobuf-encoded v1 Secret (with its envelope) as Kubernetes JSON.
pub fn secret_to_json(body: &[u8]) -> Result<Value, ApiError> {
    let unknown = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| malformed("no k8s envelope"))?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), None);
    for (number, field) in fields(unknown)? {
        match (number, field) {
            (1, Field::Bytes(type_meta)) => {
                for (n, f) in fields(type_meta)? {
                    match (n, f) {
                        (1, Field::Bytes(b)) => api_version = text(b)?,
                        (2, Field::Bytes(b)) => kind = text(b)?,
                        _ => {}
                    }
                }
            }
            (2, Field::Bytes(b)) => raw = Some(b),
            _ => {}
        }
    }
    if kind != "Secret" || !matches!(api_version.as_str(), "v1" | "") {
        return Err(ApiError::BadRequest(format!(
            "a protobuf body is read only for a v1 Secret, not {api_version} {kind}"
        )));
    }
    let mut secret = json!({"apiVersion": "v1", "kind": "Secret"});
    let mut data = Map::new();
    let mut string_data = Map::new();
    for (number, field) in fields(raw.unwrap_or_default())? {
        match (number, field) {
            (1, Field::Bytes(b)) => secret["metadata"] = object_meta(b)?,
            (2, Field::Bytes(b)) => {
                let (key, value) = map_entry(b)?;
                let encoded = base64::engine::general_purpose::STANDARD.encode(value);
                data.insert(key, encoded.into());
            }
            (3, Field::Bytes(b)) => secret["type"] = text(b)?.into(),
            (4, Field::Bytes(b)) => {
                let (key, value) = map_entry(b)?;
                string_data.insert(key, text(value)?.into());
            }
            (5, Field::Varint(v)) => secret["immutable"] = (v != 0).into(),
            _ => {}
        }
    }
    if !data.is_empty() {
        secret["data"] = data.into();
    }
    if !string_data.is_empty() {
        secret["stringData"] = string_data.into();
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(number: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![u8::try_from(number << 3 | 2).expect("small")];
        out.push(u8::try_from(bytes.len()).expect("short"));
        out.extend_from_slice(bytes);
        out
    }

    fn entry(key: &str, value: &[u8]) -> Vec<u8> {
        [field(1, key.as_bytes()), field(2, value)].concat()
    }

    #[test]
    fn a_secret_as_kubectl_create_secret_sends_it() {
        let meta = [
            field(1, b"regcred"),
            field(3, b"default"),
            field(5, b"ignored-uid"),
            field(11, &entry("app", b"web")),
        ]
        .concat();
        let secret = [
            field(1, &meta),
            field(2, &entry(".dockerconfigjson", b"{}")),
            field(3, b"kubernetes.io/dockerconfigjson"),
            field(4, &entry("note", b"hi")),
            vec![5 << 3, 1],
        ]
        .concat();
        let type_meta = [field(1, b"v1"), field(2, b"Secret")].concat();
        let body = [
            MAGIC.to_vec(),
            field(1, &type_meta),
            field(2, &secret),
            field(4, b""),
        ]
        .concat();
        assert_eq!(
            secret_to_json(&body).unwrap(),
            json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "regcred", "namespace": "default", "labels": {"app": "web"}},
                "type": "kubernetes.io/dockerconfigjson",
                "data": {".dockerconfigjson": "e30="},
                "stringData": {"note": "hi"},
                "immutable": true
            })
        );
    }

    #[test]
    fn garbage_is_a_bad_request() {
        assert_eq!(secret_to_json(b"nope").unwrap_err().code(), 400);
        assert_eq!(secret_to_json(b"k8s\0\x0a\x7f").unwrap_err().code(), 400);
        let pod = [MAGIC.to_vec(), field(1, &field(2, b"Pod"))].concat();
        assert_eq!(secret_to_json(&pod).unwrap_err().code(), 400);
    }
}
