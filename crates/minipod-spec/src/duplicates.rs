//! Refuses a YAML or JSON document in which a mapping repeats a key.
//!
//! Why: a typed struct already refuses a repeated field (serde's "duplicate
//! field"), but a map (`labels`, `annotations`, `nodeSelector`, a Secret's
//! `data`) would keep the last value silently, so two readers of one file
//! (a reviewer who sees the first `a:`, minipod which uses the second) could
//! disagree. The Kubernetes API server's strict decoding refuses such a
//! document (`mapping key "a" already defined at line 6`, or
//! `json: duplicate field "a"`); see
//! <https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation>.
//!
//! How: [`check`] walks the document once through serde, keeping the keys of
//! each open mapping, and fails inside the key's own visitor, so the YAML
//! library attaches the position of the repeated key to the error.

use std::collections::HashSet;
use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// What the message of a repeated key's error says before the key's path
/// (the YAML library may put its own text before it).
pub const DUPLICATE_KEY: &str = "duplicate key ";

/// Longest key text put in a path; a longer key is cut (an error message
/// must not carry kilobytes of input).
const MAX_KEY_CHARS: usize = 64;

/// Walks one document; fails at the first repeated key with the message
/// `duplicate key <path>` (see [`DUPLICATE_KEY`]), where `<path>` names the
/// key as field paths do: `metadata.labels.app`, `spec.containers[0].env`.
pub fn check<'de, D: Deserializer<'de>>(document: D) -> Result<(), D::Error> {
    Node {
        path: String::new(),
    }
    .deserialize(document)
}

/// Any node, at `path`.
struct Node {
    path: String,
}

impl<'de> DeserializeSeed<'de> for Node {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.deserialize(deserializer)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.deserialize(deserializer)
    }
    /// A tagged node (`!tag value`): the typed parse has accepted it, so only
    /// its content matters here.
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        let (IgnoredAny, content) = data.variant()?;
        de::VariantAccess::newtype_variant_seed(content, self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        while seq
            .next_element_seed(Node {
                path: format!("{}[{index}]", self.path),
            })?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key_seed(Key {
            parent: &self.path,
            seen: &mut seen,
        })? {
            map.next_value_seed(Node { path: key })?;
        }
        Ok(())
    }
}

/// A mapping key: checked against the keys before it in the same mapping.
/// Its value is the key's path.
struct Key<'a> {
    parent: &'a str,
    seen: &'a mut HashSet<String>,
}

impl Key<'_> {
    fn path(&self, key: &str) -> String {
        let mut text: String = key.chars().take(MAX_KEY_CHARS).collect();
        if text.len() < key.len() {
            text.push('…');
        }
        let plain = !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        match (self.parent.is_empty(), plain) {
            (true, true) => text,
            (false, true) => format!("{}.{text}", self.parent),
            // Kubernetes' field paths write such map keys in brackets:
            // `metadata.labels[app.kubernetes.io/name]`.
            (_, false) => format!("{}[{text}]", self.parent),
        }
    }

    /// Records `key`; a repeat fails here, inside the key's visitor, so the
    /// error carries the key's position. YAML's `1` and `"1"` are the same
    /// key here, as they are once the API server has turned YAML into JSON.
    fn record<E: de::Error>(self, key: String) -> Result<String, E> {
        let path = self.path(&key);
        if self.seen.insert(key) {
            Ok(path)
        } else {
            Err(E::custom(format!("{DUPLICATE_KEY}{path}")))
        }
    }
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        self.record(key.to_owned())
    }
    fn visit_bool<E: de::Error>(self, key: bool) -> Result<String, E> {
        self.record(key.to_string())
    }
    fn visit_i64<E: de::Error>(self, key: i64) -> Result<String, E> {
        self.record(key.to_string())
    }
    fn visit_u64<E: de::Error>(self, key: u64) -> Result<String, E> {
        self.record(key.to_string())
    }
    fn visit_f64<E: de::Error>(self, key: f64) -> Result<String, E> {
        self.record(key.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        self.record("null".to_owned())
    }
    /// A collection as a key (`? [a, b]`): no Kubernetes field has one, and
    /// the typed parse decides about it; it is not compared.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<String, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(format!("{}[?]", self.parent))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<String, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(format!("{}[?]", self.parent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error's message and line, or `None` when the text passes.
    fn duplicate(text: &str) -> Option<(String, usize)> {
        let error = check(yaml_serde::Deserializer::from_str(text)).err()?;
        let line = error.location().map_or(0, |l| l.line());
        Some((error.to_string(), line))
    }

    #[test]
    fn distinct_keys_pass() {
        let text = "metadata:\n  labels: {a: x, b: y}\nspec:\n  containers:\n  - name: a\n    env:\n    - {name: A, value: \"1\"}\n";
        assert_eq!(duplicate(text), None);
        // The same key in different mappings is no repeat.
        assert_eq!(duplicate("- {a: 1}\n- {a: 2}\n"), None);
        assert_eq!(duplicate("a: {a: {a: 1}}\n"), None);
    }

    #[test]
    fn a_repeated_key_is_named_by_path_and_line() {
        let text = "metadata:\n  name: web\n  labels:\n    app: one\n    tier: x\n    app: two\n";
        let (message, line) = duplicate(text).expect("refused");
        assert!(
            message.contains("duplicate key metadata.labels.app"),
            "{message}"
        );
        assert_eq!(line, 6);
        // Inside a list, and in JSON.
        let (message, _) = duplicate("spec:\n  containers:\n  - name: a\n    name: b\n").unwrap();
        assert!(message.contains("duplicate key spec.containers[0].name"));
        let (message, line) =
            duplicate("{\"data\": {\"k\": \"YQ==\",\n \"k\": \"Yg==\"}}").unwrap();
        assert!(message.contains("duplicate key data.k"), "{message}");
        assert_eq!(line, 2);
    }

    #[test]
    fn keys_that_differ_only_in_yaml_type_are_the_same_key() {
        assert!(duplicate("a:\n  1: x\n  \"1\": y\n").is_some());
    }

    #[test]
    fn odd_keys_are_bracketed_and_cut() {
        let (message, _) =
            duplicate("labels:\n  app.kubernetes.io/name: a\n  app.kubernetes.io/name: b\n")
                .unwrap();
        assert!(message.contains("duplicate key labels[app.kubernetes.io/name]"));
        let long = "k".repeat(10_000);
        let (message, _) = duplicate(&format!("{long}: 1\n{long}: 2\n")).unwrap();
        assert!(message.len() < 200, "{}", message.len());
    }

    #[test]
    fn a_value_is_never_in_the_message() {
        let (message, _) = duplicate("data:\n  password: hunter2\n  password: hunter3\n").unwrap();
        assert!(!message.contains("hunter"), "{message}");
    }
}
