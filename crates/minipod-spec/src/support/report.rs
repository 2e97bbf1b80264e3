//! The verdict on a pod's unimplemented fields: warnings and `Forbidden`
//! errors, and the words they share.

use std::fmt;

use crate::field_error::FieldError;

/// A field minipod accepts but does not act on, e.g.
/// `spec.nodeSelector: ignored: only a scheduler reads it, and a minipod host is the only node`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub field: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The verdict on a pod's use of unimplemented fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SupportReport {
    pub warnings: Vec<Warning>,
    pub errors: Vec<FieldError>,
}

impl SupportReport {
    pub(super) fn warn(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Warning {
            field: field.into(),
            message: message.into(),
        });
    }

    pub(super) fn reject(&mut self, field: impl Into<String>, detail: impl fmt::Display) {
        self.errors.push(FieldError::forbidden(
            field,
            format!("not supported by minipod: {detail}"),
        ));
    }
}

/// `null`, `{}` and `[]` say nothing (`kubectl run --dry-run -o yaml` writes
/// `status: {}` and `creationTimestamp: null`).
pub(super) fn is_empty_value(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => true,
        serde_json::Value::Object(map) => map.is_empty(),
        serde_json::Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

pub(super) const SCHEDULER_ONLY: &str =
    "ignored: only a scheduler reads it, and a minipod host is the only node";
pub(super) const SET_BY_SYSTEM: &str = "ignored: set by the system, not by a manifest";
