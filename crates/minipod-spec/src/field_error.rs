//! Kubernetes' `field.Error` (`k8s.io/apimachinery/pkg/util/validation/field`):
//! one invalid field and the way kubectl prints a list of them. Validation,
//! the support policy and Secrets all report in this one form.

use std::fmt;

/// One invalid field, formatted exactly like Kubernetes' `field.Error`:
/// `spec.containers[0].image: Required value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The JSON path of the field, e.g. `spec.initContainers[1].livenessProbe`.
    pub field: String,
    pub kind: ErrorKind,
    /// Extra explanation, appended after `: ` (may be empty).
    pub detail: String,
}

/// Kubernetes' `field.ErrorType`, with the offending value where the type shows one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// `Not found: <value>`
    NotFound { value: String },
    /// `Required value`
    Required,
    /// `Duplicate value: <value>`
    Duplicate { value: String },
    /// `Invalid value: <value>`
    Invalid { value: String },
    /// `Unsupported value: <value>: supported values: "a", "b"` (the list is the detail).
    NotSupported { value: String },
    /// `Forbidden`
    Forbidden,
    /// `Too long`  (detail says the limit)
    TooLong,
    /// `Too many: <value>` (detail says the limit)
    TooMany { value: String },
}

/// How a value is shown inside a message: strings quoted as Go's `%q`,
/// numbers and booleans bare, exactly as `field.Error` prints them.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl FieldError {
    pub fn new(field: impl Into<String>, kind: ErrorKind, detail: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            kind,
            detail: detail.into(),
        }
    }
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(field, ErrorKind::Required, detail)
    }
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(field, ErrorKind::Forbidden, detail)
    }
    /// `value` is shown as given: pass `quote(s)` for strings, `n.to_string()` for numbers.
    pub fn invalid(
        field: impl Into<String>,
        value: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(
            field,
            ErrorKind::Invalid {
                value: value.into(),
            },
            detail,
        )
    }
    pub fn duplicate(field: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(
            field,
            ErrorKind::Duplicate {
                value: value.into(),
            },
            "",
        )
    }
    pub fn not_found(field: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(
            field,
            ErrorKind::NotFound {
                value: value.into(),
            },
            "",
        )
    }
    /// `Too long: must have at most <max> bytes` (Kubernetes' `field.TooLong`).
    pub fn too_long(field: impl Into<String>, max_bytes: usize) -> Self {
        Self::new(
            field,
            ErrorKind::TooLong,
            format!("must have at most {max_bytes} bytes"),
        )
    }
    /// `Unsupported value: "x": supported values: "a", "b"`.
    pub fn not_supported(field: impl Into<String>, value: &str, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| quote(s)).collect();
        let detail = format!("supported values: {}", list.join(", "));
        Self::new(
            field,
            ErrorKind::NotSupported {
                value: quote(value),
            },
            detail,
        )
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.field)?;
        match &self.kind {
            ErrorKind::NotFound { value } => write!(f, "Not found: {value}")?,
            ErrorKind::Required => f.write_str("Required value")?,
            ErrorKind::Duplicate { value } => write!(f, "Duplicate value: {value}")?,
            ErrorKind::Invalid { value } => write!(f, "Invalid value: {value}")?,
            ErrorKind::NotSupported { value } => write!(f, "Unsupported value: {value}")?,
            ErrorKind::Forbidden => f.write_str("Forbidden")?,
            ErrorKind::TooLong => f.write_str("Too long")?,
            ErrorKind::TooMany { value } => write!(f, "Too many: {value}")?,
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// `The <Kind> "<name>" is invalid: ...` as kubectl prints an API server's
/// 422: one error inline, several as a list, none without the colon.
pub(crate) fn write_invalid(
    f: &mut fmt::Formatter<'_>,
    kind: &str,
    name: &str,
    errors: &[FieldError],
) -> fmt::Result {
    write!(f, "The {kind} {} is invalid", quote(name))?;
    match errors {
        [] => Ok(()),
        [one] => write!(f, ": {one}"),
        many => {
            f.write_str(": ")?;
            for error in many {
                write!(f, "\n* {error}")?;
            }
            Ok(())
        }
    }
}
