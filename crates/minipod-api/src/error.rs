//! Errors as Kubernetes `Status` objects (`meta/v1 Status`).
//!
//! Every failure the server reports, whether found by the library (bad JSON,
//! unknown path, wrong method, no token) or by the [`Backend`](crate::Backend)
//! (not found, already exists, invalid), is an [`ApiError`]. It becomes a
//! `Status` body with the matching HTTP code, which kubectl turns into its
//! usual one-line messages (`Error from server (NotFound): pods "x" not found`).

use serde_json::{Value, json};

/// One invalid field of an `Invalid` (422) error: `details.causes[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// `FieldValueRequired`, `FieldValueInvalid`, `FieldValueForbidden`, ...
    pub reason: String,
    /// The text after the field path: `Required value`, `Invalid value: "x": ...`.
    pub message: String,
    /// The field path: `spec.containers[0].image`.
    pub field: String,
}

/// A failed API call, in Kubernetes' own categories.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 404: `pods "x" not found`.
    #[error("{resource} {name:?} not found")]
    NotFound { resource: String, name: String },
    /// 409: `pods "x" already exists`.
    #[error("{resource} {name:?} already exists")]
    AlreadyExists { resource: String, name: String },
    /// 409: the object was modified since the version the client sent.
    #[error("{0}")]
    Conflict(String),
    /// 422: `Pod "x" is invalid: [causes]`.
    #[error("{kind} {name:?} is invalid")]
    Invalid {
        /// `Pod`.
        kind: String,
        name: String,
        causes: Vec<Cause>,
    },
    /// 400: malformed request.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no or a wrong bearer token.
    #[error("Unauthorized")]
    Unauthorized,
    /// 403.
    #[error("{0}")]
    Forbidden(String),
    /// 404 for a path that serves nothing.
    #[error("the server could not find the requested resource")]
    UnknownPath,
    /// 405.
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// 406: an `Accept` the server cannot produce.
    #[error("{0}")]
    NotAcceptable(String),
    /// 410: a watch from a resourceVersion the backend no longer has.
    #[error("too old resource version: {requested} ({oldest})")]
    Gone { requested: u64, oldest: u64 },
    /// 413.
    #[error("the request body is too large (limit {limit} bytes)")]
    TooLarge { limit: usize },
    /// 408: the request's body did not arrive in time; the connection is
    /// closed after this answer.
    #[error("{0}")]
    RequestTimeout(String),
    /// 429: the server is at a limit (`limits`); the client may retry after
    /// `retry_after_seconds` (sent as `Retry-After` too).
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_seconds: u64,
    },
    /// 415.
    #[error(
        "the body of the request was in an unknown format - accepted media types include: application/json, application/merge-patch+json, application/strategic-merge-patch+json"
    )]
    UnsupportedMediaType,
    /// 500: the backend failed; the message is shown to the client.
    #[error("{0}")]
    Internal(String),
    /// 501: a call the backend does not implement.
    #[error("{0}")]
    NotImplemented(String),
}

impl ApiError {
    /// `pods "name" not found`.
    pub fn pod_not_found(name: &str) -> Self {
        ApiError::NotFound {
            resource: "pods".into(),
            name: name.into(),
        }
    }

    /// `pods "name" already exists`.
    pub fn pod_exists(name: &str) -> Self {
        ApiError::AlreadyExists {
            resource: "pods".into(),
            name: name.into(),
        }
    }

    /// The 422 of an admission that failed in `minipod-spec` (`InvalidPod`),
    /// one cause per field error, as the API server reports them.
    pub fn from_invalid_pod(invalid: &minipod_spec::validate::InvalidPod) -> Self {
        Self::from_field_errors("Pod", &invalid.name, &invalid.errors)
    }

    /// The 422 of a Secret `minipod-spec` refused (`InvalidSecret`).
    pub fn from_invalid_secret(invalid: &minipod_spec::secret::InvalidSecret) -> Self {
        Self::from_field_errors("Secret", &invalid.name, &invalid.errors)
    }

    /// The 422 for `kind` `name`: one cause per field error.
    pub fn from_field_errors(
        kind: &str,
        name: &str,
        errors: &[minipod_spec::validate::FieldError],
    ) -> Self {
        use minipod_spec::validate::ErrorKind;
        let causes = errors
            .iter()
            .map(|e| {
                let reason = match e.kind {
                    ErrorKind::NotFound { .. } => "FieldValueNotFound",
                    ErrorKind::Required => "FieldValueRequired",
                    ErrorKind::Duplicate { .. } => "FieldValueDuplicate",
                    ErrorKind::Invalid { .. } => "FieldValueInvalid",
                    ErrorKind::NotSupported { .. } => "FieldValueNotSupported",
                    ErrorKind::Forbidden => "FieldValueForbidden",
                    ErrorKind::TooLong => "FieldValueTooLong",
                    ErrorKind::TooMany { .. } => "FieldValueTooMany",
                };
                // Display is `field: body`; the cause carries the body alone.
                let text = e.to_string();
                let message = text
                    .strip_prefix(&format!("{}: ", e.field))
                    .unwrap_or(&text)
                    .to_owned();
                Cause {
                    reason: reason.into(),
                    message,
                    field: e.field.clone(),
                }
            })
            .collect();
        ApiError::Invalid {
            kind: kind.into(),
            name: name.into(),
            causes,
        }
    }

    /// A 500 for a failure of the backend itself; the client gets its
    /// whole chain ([`chain`]) as the message.
    pub fn internal(error: impl std::error::Error + 'static) -> Self {
        ApiError::Internal(minipod_spec::error_chain(&error))
    }

    /// `secrets "name" not found`.
    pub fn secret_not_found(name: &str) -> Self {
        ApiError::NotFound {
            resource: "secrets".into(),
            name: name.into(),
        }
    }

    /// `secrets "name" already exists`.
    pub fn secret_exists(name: &str) -> Self {
        ApiError::AlreadyExists {
            resource: "secrets".into(),
            name: name.into(),
        }
    }

    /// The HTTP status code.
    pub fn code(&self) -> u16 {
        match self {
            ApiError::NotFound { .. } | ApiError::UnknownPath => 404,
            ApiError::AlreadyExists { .. } | ApiError::Conflict(_) => 409,
            ApiError::Invalid { .. } => 422,
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::MethodNotAllowed => 405,
            ApiError::NotAcceptable(_) => 406,
            ApiError::Gone { .. } => 410,
            ApiError::TooLarge { .. } => 413,
            ApiError::RequestTimeout(_) => 408,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::UnsupportedMediaType => 415,
            ApiError::Internal(_) => 500,
            ApiError::NotImplemented(_) => 501,
        }
    }

    /// The `reason` of the Status (`metav1.StatusReason`).
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } | ApiError::UnknownPath => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict(_) => "Conflict",
            ApiError::Invalid { .. } => "Invalid",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::Unauthorized => "Unauthorized",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::MethodNotAllowed => "MethodNotAllowed",
            ApiError::NotAcceptable(_) => "NotAcceptable",
            ApiError::Gone { .. } => "Expired",
            ApiError::TooLarge { .. } => "RequestEntityTooLarge",
            ApiError::RequestTimeout(_) => "Timeout",
            ApiError::TooManyRequests { .. } => "TooManyRequests",
            ApiError::UnsupportedMediaType => "UnsupportedMediaType",
            ApiError::Internal(_) => "InternalError",
            ApiError::NotImplemented(_) => "NotImplemented",
        }
    }

    /// The `Status` object (`kind: Status`, `status: Failure`).
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message(),
            "reason": self.reason(),
            "code": self.code(),
        });
        let details = match self {
            ApiError::NotFound { resource, name } | ApiError::AlreadyExists { resource, name } => {
                Some(json!({ "name": name, "kind": resource }))
            }
            ApiError::Invalid { kind, name, causes } => Some(json!({
                "name": name,
                "kind": kind,
                "causes": causes.iter().map(|c| json!({
                    "reason": c.reason,
                    "message": c.message,
                    "field": c.field,
                })).collect::<Vec<_>>(),
            })),
            // As `errors.NewTooManyRequests` fills it.
            ApiError::TooManyRequests {
                retry_after_seconds,
                ..
            } => Some(json!({ "retryAfterSeconds": retry_after_seconds })),
            _ => None,
        };
        if let Some(details) = details {
            status["details"] = details;
        }
        status
    }

    /// The `message` of the Status, as the API server words it.
    pub fn message(&self) -> String {
        match self {
            // `Pod "x" is invalid: [a: b, c: d]` (field.ErrorList.ToAggregate).
            ApiError::Invalid { kind, name, causes } => {
                let list: Vec<String> = causes
                    .iter()
                    .map(|c| {
                        if c.field.is_empty() {
                            c.message.clone()
                        } else {
                            format!("{}: {}", c.field, c.message)
                        }
                    })
                    .collect();
                let body = match list.as_slice() {
                    [] => String::new(),
                    [one] => format!(": {one}"),
                    many => format!(": [{}]", many.join(", ")),
                };
                format!("{kind} {} is invalid{body}", go_quote(name))
            }
            ApiError::NotFound { resource, name } => {
                format!("{resource} {} not found", go_quote(name))
            }
            ApiError::AlreadyExists { resource, name } => {
                format!("{resource} {} already exists", go_quote(name))
            }
            other => other.to_string(),
        }
    }
}

/// A string quoted as Go's `%q` does for the printable ASCII names used here.
fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_names_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("starting the command")]
        struct Outer(#[source] std::io::Error);
        let error = Outer(std::io::Error::other("no such file"));
        assert_eq!(
            minipod_spec::error_chain(&error),
            "starting the command: no such file"
        );
        assert_eq!(
            ApiError::internal(error).message(),
            "starting the command: no such file"
        );
    }

    #[test]
    fn not_found_status() {
        let s = ApiError::pod_not_found("x").to_status();
        assert_eq!(s["code"], 404);
        assert_eq!(s["reason"], "NotFound");
        assert_eq!(s["message"], "pods \"x\" not found");
        assert_eq!(s["details"]["kind"], "pods");
        assert_eq!(s["kind"], "Status");
        assert_eq!(s["status"], "Failure");
    }

    #[test]
    fn already_exists_status() {
        let s = ApiError::pod_exists("web").to_status();
        assert_eq!(s["code"], 409);
        assert_eq!(s["reason"], "AlreadyExists");
        assert_eq!(s["message"], "pods \"web\" already exists");
    }

    #[test]
    fn invalid_status_has_causes() {
        let e = ApiError::Invalid {
            kind: "Pod".into(),
            name: "web".into(),
            causes: vec![
                Cause {
                    reason: "FieldValueRequired".into(),
                    message: "Required value".into(),
                    field: "spec.containers[0].image".into(),
                },
                Cause {
                    reason: "FieldValueForbidden".into(),
                    message: "Forbidden: nope".into(),
                    field: "spec".into(),
                },
            ],
        };
        let s = e.to_status();
        assert_eq!(s["code"], 422);
        assert_eq!(
            s["message"],
            "Pod \"web\" is invalid: [spec.containers[0].image: Required value, spec: Forbidden: nope]"
        );
        assert_eq!(
            s["details"]["causes"][0]["field"],
            "spec.containers[0].image"
        );
        assert_eq!(s["details"]["causes"][1]["reason"], "FieldValueForbidden");
    }

    #[test]
    fn from_invalid_pod_splits_field_and_body() {
        use minipod_spec::validate::{FieldError, InvalidPod};
        let invalid = InvalidPod {
            name: "p".into(),
            errors: vec![FieldError::required("spec.containers[0].image", "")],
        };
        let e = ApiError::from_invalid_pod(&invalid);
        let s = e.to_status();
        assert_eq!(s["details"]["causes"][0]["message"], "Required value");
        assert_eq!(s["details"]["causes"][0]["reason"], "FieldValueRequired");
        assert_eq!(
            s["message"],
            "Pod \"p\" is invalid: spec.containers[0].image: Required value"
        );
    }

    #[test]
    fn too_many_requests_status_says_when_to_retry() {
        let s = ApiError::TooManyRequests {
            message: "too many watches".into(),
            retry_after_seconds: 1,
        }
        .to_status();
        assert_eq!(s["code"], 429);
        assert_eq!(s["reason"], "TooManyRequests");
        assert_eq!(s["message"], "too many watches");
        assert_eq!(s["details"]["retryAfterSeconds"], 1);
        assert_eq!(ApiError::RequestTimeout("slow".into()).code(), 408);
    }

    #[test]
    fn codes() {
        assert_eq!(ApiError::Unauthorized.code(), 401);
        assert_eq!(ApiError::MethodNotAllowed.code(), 405);
        assert_eq!(ApiError::TooLarge { limit: 1 }.code(), 413);
        assert_eq!(ApiError::UnsupportedMediaType.code(), 415);
        assert_eq!(ApiError::BadRequest("x".into()).code(), 400);
        assert_eq!(
            ApiError::Gone {
                requested: 1,
                oldest: 5
            }
            .code(),
            410
        );
    }
}
