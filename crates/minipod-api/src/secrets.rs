//! Secrets: the API server's create and update paths, between the request
//! body and the [`Backend`](crate::Backend).
//!
//! The body is decoded strictly with `minipod-spec`'s model (400 naming an
//! unknown field, or a `data` value that is not base64), defaulted
//! (`stringData` merged into `data`, `type: Opaque`) and validated (422 with
//! one cause per field) here, so every backend stores the same thing. An
//! update is checked against the stored Secret (`ValidateSecretUpdate`) and
//! keeps what the system set (uid, creationTimestamp).

use minipod_spec::Secret;
use minipod_spec::load::{LoadError, parse_objects};
use minipod_spec::secret::{admit_secret, admit_secret_update};
use serde_json::Value;

use crate::error::ApiError;

/// Metadata only the system sets: dropped from a body, kept from the store.
const SYSTEM_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "managedFields",
    "selfLink",
];

/// Decodes a Secret strictly, with the API server's words on failure:
/// `Secret in version "v1" cannot be handled as a Secret: strict decoding
/// error: unknown field "spec"`.
pub fn decode(value: &Value) -> Result<Secret, ApiError> {
    let prefix = "Secret in version \"v1\" cannot be handled as a Secret";
    serde_json::from_value(value.clone()).map_err(|error| {
        // The manifest reader names an unknown field by its path.
        let text = serde_json::to_vec_pretty(value).unwrap_or_default();
        let unknown: Vec<String> = match parse_objects(&text, "request body") {
            Err(errors) => errors
                .0
                .iter()
                .filter_map(|e| match e {
                    LoadError::UnknownField { path, .. } => Some(format!("unknown field {path:?}")),
                    _ => None,
                })
                .collect(),
            Ok(_) => Vec::new(),
        };
        if unknown.is_empty() {
            ApiError::BadRequest(format!("{prefix}: {error}"))
        } else {
            ApiError::BadRequest(format!(
                "{prefix}: strict decoding error: {}",
                unknown.join(", ")
            ))
        }
    })
}

fn to_json(secret: &Secret) -> Result<Value, ApiError> {
    serde_json::to_value(secret).map_err(|e| ApiError::Internal(e.to_string()))
}

/// The create path: a Secret body (type and namespace already checked) in,
/// the Secret to store out (without uid, creationTimestamp, resourceVersion).
pub fn admit_new(mut body: Value) -> Result<Value, ApiError> {
    if let Some(metadata) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in SYSTEM_METADATA {
            metadata.remove(*key);
        }
    }
    let secret = decode(&body)?;
    let admitted = admit_secret(secret).map_err(|e| ApiError::from_invalid_secret(&e))?;
    to_json(&admitted)
}

/// The update path: `old` as stored, `new` as the client wants it (a PUT's
/// body, or `old` with a patch applied). `None` when nothing changes (the
/// stored Secret stays as it is, resourceVersion too); otherwise the Secret
/// to store, with `old`'s uid and creationTimestamp.
pub fn admit_change(old: &Value, mut new: Value, name: &str) -> Result<Option<Value>, ApiError> {
    if !new.is_object() {
        return Err(ApiError::BadRequest(
            "the request body must be a Secret object".into(),
        ));
    }
    check_type(&new, "Secret")?;
    new["apiVersion"] = "v1".into();
    new["kind"] = "Secret".into();
    if !new.get("metadata").is_some_and(Value::is_object) {
        new["metadata"] = serde_json::json!({});
    }
    match new.pointer("/metadata/name").and_then(Value::as_str) {
        Some(given) if !given.is_empty() && given != name => {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({given}) does not match the name on the URL ({name})"
            )));
        }
        _ => new["metadata"]["name"] = name.into(),
    }
    new["metadata"]["namespace"] = old["metadata"]["namespace"].clone();
    let mut stripped_old = old.clone();
    if let Some(metadata) = new.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in SYSTEM_METADATA {
            metadata.remove(*key);
        }
    }
    if let Some(metadata) = stripped_old
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
    {
        for key in SYSTEM_METADATA {
            metadata.remove(*key);
        }
    }
    let old_secret = serde_json::from_value::<Secret>(stripped_old).map_err(|e| {
        ApiError::Internal(format!("the stored Secret {name:?} does not decode: {e}"))
    })?;
    let new_secret = decode(&new)?;
    let admitted = admit_secret_update(&old_secret, new_secret)
        .map_err(|e| ApiError::from_invalid_secret(&e))?;
    if admitted == old_secret {
        return Ok(None);
    }
    let mut stored = to_json(&admitted)?;
    for key in ["uid", "creationTimestamp"] {
        if let Some(value) = old.pointer(&format!("/metadata/{key}")) {
            stored["metadata"][key] = value.clone();
        }
    }
    Ok(Some(stored))
}

/// A body's `apiVersion` and `kind`, when given, must be `v1` and `kind`
/// (the API server's 400 otherwise).
pub fn check_type(body: &Value, kind: &str) -> Result<(), ApiError> {
    match (body.get("apiVersion"), body.get("kind")) {
        (Some(v), _) if v != "v1" => Err(ApiError::BadRequest(format!(
            "the API version in the data ({}) does not match the expected API version (v1)",
            v.as_str().unwrap_or_default()
        ))),
        (_, Some(k)) if k != kind => Err(ApiError::BadRequest(format!(
            "the kind in the data ({}) does not match the expected kind ({kind})",
            k.as_str().unwrap_or_default()
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn regcred() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "regcred", "namespace": "default"},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": "e30="}
        })
    }

    #[test]
    fn an_unknown_field_is_named_by_its_path() {
        let mut body = regcred();
        body["metadata"]["lables"] = json!({});
        let error = admit_new(body).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Secret in version \"v1\" cannot be handled as a Secret: strict decoding error: unknown field \"metadata.lables\""
        );
        assert_eq!(error.code(), 400);
    }

    #[test]
    fn create_defaults_and_validates() {
        let mut body = regcred();
        body["stringData"] = json!({"note": "hi"});
        body["metadata"]["uid"] = json!("from-the-client");
        let stored = admit_new(body).unwrap();
        assert_eq!(stored["data"]["note"], "aGk=");
        assert!(stored.get("stringData").is_none());
        assert!(stored["metadata"].get("uid").is_none());

        let mut bad = regcred();
        bad["data"] = json!({});
        let error = admit_new(bad).unwrap_err();
        assert_eq!(error.code(), 422);
        let status = error.to_status();
        assert_eq!(
            status["details"]["causes"][0]["field"],
            "data[.dockerconfigjson]"
        );
        assert_eq!(status["details"]["kind"], "Secret");
    }

    #[test]
    fn an_update_that_changes_nothing_is_none_and_a_change_keeps_the_uid() {
        let mut old = admit_new(regcred()).unwrap();
        old["metadata"]["uid"] = json!("u-1");
        old["metadata"]["resourceVersion"] = json!("5");
        old["metadata"]["creationTimestamp"] = json!("2024-05-01T12:00:00Z");
        assert_eq!(admit_change(&old, regcred(), "regcred").unwrap(), None);

        let mut changed = regcred();
        changed["data"][".dockerconfigjson"] = json!("eyJhdXRocyI6e319");
        let stored = admit_change(&old, changed, "regcred").unwrap().unwrap();
        assert_eq!(stored["metadata"]["uid"], "u-1");
        assert_eq!(
            stored["metadata"]["creationTimestamp"],
            "2024-05-01T12:00:00Z"
        );
        assert!(stored["metadata"].get("resourceVersion").is_none());

        let mut retyped = regcred();
        retyped["type"] = json!("Opaque");
        assert_eq!(
            admit_change(&old, retyped, "regcred").unwrap_err().code(),
            422
        );
        assert_eq!(
            admit_change(&old, regcred(), "other").unwrap_err().code(),
            400
        );
    }
}
