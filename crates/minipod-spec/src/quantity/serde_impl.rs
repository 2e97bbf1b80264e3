//! Quantities in manifests: written as Kubernetes writes them, read from a
//! string or a number (see the module documentation of `quantity`).

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Quantity;

/// As the string Kubernetes would write.
impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// From a string or a number; see the module documentation.
impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_option(NullOrQuantity)
        } else {
            // Compact formats hold what `Serialize` wrote: a string.
            deserializer.deserialize_str(QuantityVisitor)
        }
    }
}

/// Whether `D` is one of `yaml_serde`'s document deserializers (possibly
/// inside a wrapper such as `serde_ignored`'s), whose `deserialize_str` hands
/// over the source text of any scalar, unquoted numbers included. Its
/// `deserialize_any` would turn `0.1` into an `f64` first; other formats (such
/// as `serde_json`) reject a number asked for as a string, so they get
/// `deserialize_any`. Serde offers no way to ask a deserializer for the source
/// text of a number, hence the type-name test; the tests pin it down.
fn gives_scalar_source_text<D>() -> bool {
    std::any::type_name::<D>().contains("yaml_serde::de::")
}

/// `null` (Kubernetes' `UnmarshalJSON` makes it zero) or a quantity.
struct NullOrQuantity;

impl<'de> Visitor<'de> for NullOrQuantity {
    type Value = Quantity;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a quantity such as 500m, 0.5 or 64Mi")
    }

    fn visit_none<E: de::Error>(self) -> Result<Quantity, E> {
        Ok(Quantity::zero())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Quantity, E> {
        Ok(Quantity::zero())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Quantity, D::Error> {
        if gives_scalar_source_text::<D>() {
            deserializer.deserialize_str(QuantityVisitor)
        } else {
            deserializer.deserialize_any(QuantityVisitor)
        }
    }
}

/// A quantity from text or from a number's decimal text.
struct QuantityVisitor;

impl QuantityVisitor {
    fn parse<E: de::Error>(text: &str) -> Result<Quantity, E> {
        Quantity::parse(text).map_err(E::custom)
    }
}

impl Visitor<'_> for QuantityVisitor {
    type Value = Quantity;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a quantity such as 500m, 0.5 or 64Mi")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
        // `UnmarshalJSON` trims white space (Go's `strings.TrimSpace` and
        // Rust's `trim` both use Unicode's White_Space).
        Self::parse(v.trim())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Quantity, E> {
        // Kubernetes parses the JSON token itself and says why it failed.
        Self::parse(if v { "true" } else { "false" })
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
        Self::parse(&v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
        Self::parse(&v.to_string())
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Quantity, E> {
        Self::parse(&v.to_string())
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Quantity, E> {
        Self::parse(&v.to_string())
    }

    /// Through the shortest decimal text that reads back as `v` (Rust's
    /// `Display` for floats), parsed exactly; no float arithmetic. NaN and
    /// infinities fail to parse.
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
        Self::parse(&v.to_string())
    }

    fn visit_f32<E: de::Error>(self, v: f32) -> Result<Quantity, E> {
        Self::parse(&v.to_string())
    }

    fn visit_none<E: de::Error>(self) -> Result<Quantity, E> {
        Ok(Quantity::zero())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Quantity, E> {
        Ok(Quantity::zero())
    }
}
