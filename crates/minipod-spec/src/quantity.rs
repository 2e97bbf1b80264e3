//! Kubernetes resource quantities (`100m`, `0.5`, `64Mi`, `1G`, `1e3`), exactly.
//!
//! STUB: the API below is the contract; the implementation is being written.
//! Semantics follow `staging/src/k8s.io/apimachinery/pkg/api/resource/quantity.go`.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A parsed quantity: an exact decimal value plus the suffix style it was
/// written in (which decides how it is printed back).
#[derive(Debug, Clone)]
pub struct Quantity {
    text: String,
}

/// Why a string is not a quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The Kubernetes wording for any syntax error.
    #[error("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")]
    Format,
    /// The value is too large for minipod's exact arithmetic.
    #[error("quantity is too large")]
    TooLarge,
}

impl Quantity {
    /// Parses the Kubernetes quantity grammar.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        Ok(Quantity { text: text.to_owned() })
    }

    /// Zero, as written `0`.
    pub fn zero() -> Self {
        Quantity { text: "0".into() }
    }

    /// The value in thousandths, rounded up (Kubernetes `MilliValue()`).
    pub fn milli_value(&self) -> i64 {
        0
    }

    /// The value rounded up to an integer (Kubernetes `Value()`).
    pub fn value(&self) -> i64 {
        0
    }

    /// True if the value is exactly zero.
    pub fn is_zero(&self) -> bool {
        true
    }

    /// True if the value is below zero.
    pub fn is_negative(&self) -> bool {
        false
    }

    /// Exact sum; `None` if it would not fit.
    pub fn checked_add(&self, _other: &Quantity) -> Option<Quantity> {
        None
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Quantity {}
impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Quantity {
    fn cmp(&self, _other: &Self) -> Ordering {
        Ordering::Equal
    }
}

/// The canonical form, as Kubernetes prints it (`0.5` → `500m`).
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Quantity::parse(&text).map_err(serde::de::Error::custom)
    }
}
