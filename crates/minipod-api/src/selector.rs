//! `labelSelector` and `fieldSelector`, parsed and matched as the API server does.
//!
//! Label selectors (`k8s.io/apimachinery/pkg/labels`): requirements joined by
//! commas, all of which must hold: `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
//! `k notin (a,b)`, `k` (exists), `!k` (does not exist). `!=` and `notin`
//! also match objects without the label, as in Kubernetes.
//!
//! Field selectors (`k8s.io/apimachinery/pkg/fields`): `f=v`, `f==v`, `f!=v`
//! on the few fields each resource supports; an unknown field is a 400.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::backend::Resource;
use crate::error::ApiError;

/// One label requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LabelReq {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// Why a `labelSelector` requirement does not parse. The client gets it
/// as a 400, after `unable to parse requirement: ` as the API server says it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum RequirementError {
    #[error("unbalanced ')'")]
    UnbalancedClose,
    #[error("unbalanced '('")]
    UnbalancedOpen,
    #[error("invalid label key {key:?} in {requirement:?}")]
    InvalidKey { key: String, requirement: String },
    #[error("invalid label value {value:?} in {requirement:?}")]
    InvalidValue { value: String, requirement: String },
    #[error("expected a set like (a,b) in {requirement:?}")]
    NotASet { requirement: String },
    #[error("empty requirement in {selector:?}")]
    Empty { selector: String },
}

/// A parsed `labelSelector`; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<LabelReq>);

/// Splits on commas outside parentheses.
fn split_top(text: &str) -> Result<Vec<&str>, RequirementError> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, ch) in text.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(RequirementError::UnbalancedClose);
                }
            }
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(RequirementError::UnbalancedOpen);
    }
    parts.push(&text[start..]);
    Ok(parts)
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 316
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

fn valid_value(value: &str) -> bool {
    value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn check_key(key: &str, whole: &str) -> Result<String, RequirementError> {
    if valid_key(key) {
        Ok(key.to_owned())
    } else {
        Err(RequirementError::InvalidKey {
            key: key.to_owned(),
            requirement: whole.to_owned(),
        })
    }
}

fn check_value(value: &str, whole: &str) -> Result<String, RequirementError> {
    if valid_value(value) {
        Ok(value.to_owned())
    } else {
        Err(RequirementError::InvalidValue {
            value: value.to_owned(),
            requirement: whole.to_owned(),
        })
    }
}

/// `(a, b)` → `["a", "b"]`.
fn parse_set(text: &str, whole: &str) -> Result<Vec<String>, RequirementError> {
    let inner = text
        .trim()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| RequirementError::NotASet {
            requirement: whole.to_owned(),
        })?;
    let mut values = Vec::new();
    for v in inner.split(',') {
        values.push(check_value(v.trim(), whole)?);
    }
    Ok(values)
}

impl LabelSelector {
    /// Parses a `labelSelector` query value.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        Self::parse_inner(text)
            .map_err(|why| ApiError::BadRequest(format!("unable to parse requirement: {why}")))
    }

    fn parse_inner(text: &str) -> Result<Self, RequirementError> {
        let mut reqs = Vec::new();
        if text.trim().is_empty() {
            return Ok(Self(reqs));
        }
        for part in split_top(text)? {
            let p = part.trim();
            if p.is_empty() {
                return Err(RequirementError::Empty {
                    selector: text.to_owned(),
                });
            }
            let req = if let Some(key) = p.strip_prefix('!') {
                LabelReq::NotExists(check_key(key.trim(), p)?)
            } else if let Some((k, v)) = p.split_once("!=") {
                LabelReq::NotEquals(check_key(k.trim(), p)?, check_value(v.trim(), p)?)
            } else if let Some((k, v)) = p.split_once("==") {
                LabelReq::Equals(check_key(k.trim(), p)?, check_value(v.trim(), p)?)
            } else if let Some((k, v)) = p.split_once('=') {
                LabelReq::Equals(check_key(k.trim(), p)?, check_value(v.trim(), p)?)
            } else if let Some((k, rest)) = split_word(p, "notin") {
                LabelReq::NotIn(check_key(k, p)?, parse_set(rest, p)?)
            } else if let Some((k, rest)) = split_word(p, "in") {
                LabelReq::In(check_key(k, p)?, parse_set(rest, p)?)
            } else {
                LabelReq::Exists(check_key(p, p)?)
            };
            reqs.push(req);
        }
        Ok(Self(reqs))
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|req| match req {
            LabelReq::Equals(k, v) => labels.get(k) == Some(v),
            LabelReq::NotEquals(k, v) => labels.get(k) != Some(v),
            LabelReq::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            LabelReq::NotIn(k, vs) => labels.get(k).is_none_or(|l| !vs.contains(l)),
            LabelReq::Exists(k) => labels.contains_key(k),
            LabelReq::NotExists(k) => !labels.contains_key(k),
        })
    }

    /// Whether the object's `metadata.labels` match.
    pub fn matches_object(&self, object: &Value) -> bool {
        if self.0.is_empty() {
            return true;
        }
        self.matches(&labels_of(object))
    }
}

/// `key in (...)` → `("key", "(...)")` when `word` stands alone between them.
fn split_word<'a>(text: &'a str, word: &str) -> Option<(&'a str, &'a str)> {
    let paren = text.find('(')?;
    let head = text[..paren].trim_end();
    let key = head.strip_suffix(word)?;
    if !key.ends_with(char::is_whitespace) {
        return None;
    }
    Some((key.trim(), &text[paren..]))
}

/// An object's `metadata.labels`.
pub fn labels_of(object: &Value) -> BTreeMap<String, String> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// A parsed `fieldSelector`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

const POD_FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
];

const EVENT_FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

/// `secrets`: `type` besides the common ones (`SecretToSelectableFields`).
const SECRET_FIELDS: &[&str] = &["metadata.name", "metadata.namespace", "type"];

impl FieldSelector {
    /// Parses a `fieldSelector` for `resource`.
    pub fn parse(text: &str, resource: Resource) -> Result<Self, ApiError> {
        let allowed = match resource {
            Resource::Pods => POD_FIELDS,
            Resource::Events => EVENT_FIELDS,
            Resource::Secrets => SECRET_FIELDS,
        };
        let mut reqs = Vec::new();
        if text.trim().is_empty() {
            return Ok(Self(reqs));
        }
        for part in text.split(',') {
            let p = part.trim();
            let (field, equal, value) = if let Some((f, v)) = p.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = p.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = p.split_once('=') {
                (f, true, v)
            } else {
                return Err(ApiError::BadRequest(format!(
                    "invalid selector: '{text}'; can't understand '{p}'"
                )));
            };
            let field = field.trim();
            if !allowed.contains(&field) {
                return Err(ApiError::BadRequest(format!(
                    "field label not supported: {field}"
                )));
            }
            reqs.push((field.to_owned(), equal, value.trim().to_owned()));
        }
        Ok(Self(reqs))
    }

    /// Whether the object's fields satisfy every requirement.
    pub fn matches_object(&self, object: &Value) -> bool {
        self.0.iter().all(|(field, equal, value)| {
            let actual = field_value(object, field);
            (actual == *value) == *equal
        })
    }
}

/// A dotted field of an object as a string (`""` when absent), with events'
/// `source` meaning `source.component`.
fn field_value(object: &Value, field: &str) -> String {
    let path = if field == "source" {
        "/source/component".to_owned()
    } else {
        format!("/{}", field.replace('.', "/"))
    };
    match object.pointer(&path) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn m(sel: &str, pairs: &[(&str, &str)]) -> bool {
        LabelSelector::parse(sel)
            .expect("parses")
            .matches(&labels(pairs))
    }

    #[test]
    fn equality() {
        assert!(m("app=web", &[("app", "web")]));
        assert!(m("app==web", &[("app", "web")]));
        assert!(!m("app=web", &[("app", "db")]));
        assert!(!m("app=web", &[]));
        assert!(m("app!=web", &[("app", "db")]));
        assert!(m("app!=web", &[]), "!= matches a missing label");
        assert!(!m("app!=web", &[("app", "web")]));
    }

    #[test]
    fn sets() {
        assert!(m("env in (prod, dev)", &[("env", "dev")]));
        assert!(!m("env in (prod,dev)", &[("env", "qa")]));
        assert!(!m("env in (prod,dev)", &[]));
        assert!(m("env notin (prod,dev)", &[("env", "qa")]));
        assert!(m("env notin (prod,dev)", &[]));
        assert!(!m("env notin (prod,dev)", &[("env", "prod")]));
    }

    #[test]
    fn existence_and_conjunction() {
        assert!(m("app", &[("app", "x")]));
        assert!(!m("app", &[]));
        assert!(m("!app", &[]));
        assert!(!m("!app", &[("app", "")]));
        assert!(m(
            "app=web,env in (a,b),!debug",
            &[("app", "web"), ("env", "b")]
        ));
        assert!(!m(
            "app=web,env in (a,b),!debug",
            &[("app", "web"), ("env", "b"), ("debug", "1")]
        ));
        assert!(m("", &[("x", "y")]));
        assert!(m(
            "example.com/tier=front",
            &[("example.com/tier", "front")]
        ));
    }

    #[test]
    fn bad_label_selectors() {
        for bad in [
            "app=",
            "a b=c",
            "env in (a",
            "env in a,b)",
            "=x",
            ",",
            "app=we b",
        ] {
            let r = LabelSelector::parse(bad);
            // "app=" is an empty value, which Kubernetes allows.
            if bad == "app=" {
                assert!(r.is_ok());
                continue;
            }
            assert!(
                matches!(r, Err(ApiError::BadRequest(_))),
                "{bad:?} should fail: {r:?}"
            );
        }
    }

    #[test]
    fn field_selectors_on_pods() {
        let pod = json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"nodeName": "host"},
            "status": {"phase": "Running"}
        });
        let f = |s: &str| {
            FieldSelector::parse(s, Resource::Pods)
                .expect("parses")
                .matches_object(&pod)
        };
        assert!(f("metadata.name=web"));
        assert!(f("metadata.name==web,metadata.namespace=default"));
        assert!(!f("metadata.name=db"));
        assert!(f("status.phase!=Pending"));
        assert!(f("spec.nodeName=host"));
        assert!(f("status.podIP="), "a missing field is the empty string");
        assert!(matches!(
            FieldSelector::parse("spec.foo=bar", Resource::Pods),
            Err(ApiError::BadRequest(m)) if m == "field label not supported: spec.foo"
        ));
        assert!(FieldSelector::parse("nonsense", Resource::Pods).is_err());
    }

    #[test]
    fn field_selectors_on_events() {
        let ev = json!({
            "metadata": {"name": "web.1", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web"},
            "source": {"component": "minipod"},
            "reason": "Started"
        });
        let f = |s: &str| {
            FieldSelector::parse(s, Resource::Events)
                .expect("parses")
                .matches_object(&ev)
        };
        assert!(f("involvedObject.name=web,involvedObject.kind=Pod"));
        assert!(!f("involvedObject.name=db"));
        assert!(f("source=minipod,reason=Started"));
        assert!(FieldSelector::parse("status.phase=Running", Resource::Events).is_err());
    }
}
