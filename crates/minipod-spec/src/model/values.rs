//! Value types shared by the model: opaque fields and resource lists.

use std::collections::BTreeMap;

use crate::quantity::Quantity;

/// A field minipod does not model: any YAML value, kept as JSON.
pub type Opaque = serde_json::Value;

/// `resources.requests` / `resources.limits` / `spec.overhead`: resource name → quantity.
pub type ResourceList = BTreeMap<String, Quantity>;
