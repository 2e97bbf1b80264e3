//! PATCH and PUT on a pod: applying the patch, then Kubernetes' rule for
//! what may change on an existing pod.
//!
//! - JSON merge patch (RFC 7386, `application/merge-patch+json`): objects
//!   merge key by key, `null` deletes, anything else replaces.
//! - Strategic merge patch (`application/strategic-merge-patch+json`, what
//!   `kubectl apply`, `set image` and `patch` send by default): a merge patch
//!   where the pod's lists of named things (containers, volumes, env, ...)
//!   merge element by element on their key instead of being replaced.
//!   Directives (`$patch`, `$setElementOrder/...`, `$retainKeys`) are not
//!   interpreted; `$patch: delete` on a list element removes it.
//!
//! [`check_pod_update`] then allows only what `ValidatePodUpdate` allows on a
//! running pod: container and init container images,
//! `activeDeadlineSeconds`, additional tolerations, and metadata labels and
//! annotations.

use serde_json::{Map, Value, json};

use crate::error::{ApiError, Cause};

/// RFC 7386.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// The merge key of a list field of a pod, by the field's name.
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "volumeMounts"
        | "volumeDevices"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates" => Some("name"),
        "ports" => Some("containerPort"),
        "conditions" => Some("type"),
        "readinessGates" => Some("conditionType"),
        "hostAliases" => Some("ip"),
        "topologySpreadConstraints" => Some("topologyKey"),
        _ => None,
    }
}

/// A strategic merge patch, approximated as described in the module doc.
pub fn strategic_merge_patch(target: &mut Value, patch: &Value) {
    let (Value::Object(t), Value::Object(p)) = (&mut *target, patch) else {
        merge_patch(target, patch);
        return;
    };
    for (k, v) in p {
        if k.starts_with('$') {
            continue;
        }
        if v.is_null() {
            t.remove(k);
            continue;
        }
        match (merge_key(k), v, t.get_mut(k)) {
            (Some(key), Value::Array(items), Some(Value::Array(existing))) => {
                for item in items {
                    let id = item.get(key);
                    let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
                    let position =
                        id.and_then(|id| existing.iter().position(|e| e.get(key) == Some(id)));
                    match (position, delete) {
                        (Some(i), true) => {
                            existing.remove(i);
                        }
                        (Some(i), false) => strategic_merge_patch(&mut existing[i], item),
                        (None, true) => {}
                        (None, false) => {
                            let mut fresh = Value::Object(Map::new());
                            strategic_merge_patch(&mut fresh, item);
                            existing.push(fresh);
                        }
                    }
                }
            }
            (_, Value::Object(_), Some(existing)) if existing.is_object() => {
                strategic_merge_patch(existing, v);
            }
            _ => {
                let mut fresh = if v.is_object() {
                    Value::Object(Map::new())
                } else {
                    Value::Null
                };
                strategic_merge_patch_value(&mut fresh, v);
                t.insert(k.clone(), fresh);
            }
        }
    }
}

fn strategic_merge_patch_value(target: &mut Value, patch: &Value) {
    if patch.is_object() {
        strategic_merge_patch(target, patch);
    } else {
        *target = strip_directives(patch);
    }
}

/// A value without `$...` keys (in objects inside arrays too).
fn strip_directives(value: &Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

const UPDATE_FORBIDDEN: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// Checks `new` against `old` as the API server does for an update of a pod,
/// and returns the object to store: `new`'s spec and metadata with the
/// system fields (uid, creationTimestamp, ...) and the status of `old`.
pub fn check_pod_update(old: &Value, new: &Value) -> Result<Value, ApiError> {
    let name = old
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let invalid = |field: &str, message: String| ApiError::Invalid {
        kind: "Pod".into(),
        name: name.clone(),
        causes: vec![Cause {
            reason: "FieldValueForbidden".into(),
            message,
            field: field.into(),
        }],
    };
    if !new.is_object() {
        return Err(ApiError::BadRequest("the pod must be a JSON object".into()));
    }
    for field in ["name", "namespace", "uid"] {
        let (o, n) = (old["metadata"].get(field), new["metadata"].get(field));
        if n.is_some() && n != o {
            return Err(ApiError::Invalid {
                kind: "Pod".into(),
                name: name.clone(),
                causes: vec![Cause {
                    reason: "FieldValueInvalid".into(),
                    message: format!(
                        "Invalid value: {}: field is immutable",
                        n.map(Value::to_string).unwrap_or_default()
                    ),
                    field: format!("metadata.{field}"),
                }],
            });
        }
    }
    let old_spec = old.get("spec").cloned().unwrap_or_else(|| json!({}));
    let new_spec = new.get("spec").cloned().unwrap_or_else(|| json!({}));
    // The old spec with every change that is allowed taken from the new one:
    // if that is not the new spec, something else changed.
    let mut allowed = old_spec.clone();
    for list in ["containers", "initContainers"] {
        let (Some(Value::Array(a)), Some(Value::Array(b))) =
            (allowed.get_mut(list), new_spec.get(list))
        else {
            continue;
        };
        if a.len() == b.len() {
            for (x, y) in a.iter_mut().zip(b) {
                if let (Some(xo), Some(image)) = (x.as_object_mut(), y.get("image")) {
                    xo.insert("image".into(), image.clone());
                }
            }
        }
    }
    if let Some(obj) = allowed.as_object_mut() {
        match new_spec.get("activeDeadlineSeconds") {
            Some(d) => {
                let old_d = old_spec
                    .get("activeDeadlineSeconds")
                    .and_then(Value::as_i64);
                let new_d = d.as_i64();
                if let (Some(o), Some(n)) = (old_d, new_d)
                    && n > o
                {
                    return Err(invalid(
                        "spec.activeDeadlineSeconds",
                        format!("Invalid value: {n}: must be less than or equal to previous value"),
                    ));
                }
                obj.insert("activeDeadlineSeconds".into(), d.clone());
            }
            // The API server's `ValidatePodUpdate`: a deadline may be set
            // or lowered, never removed (the kubelet would stop enforcing it).
            None if old_spec.get("activeDeadlineSeconds").is_some() => {
                return Err(invalid(
                    "spec.activeDeadlineSeconds",
                    "Invalid value: null: must not update from a positive integer to nil value"
                        .into(),
                ));
            }
            None => {}
        }
        let old_tol = old_spec
            .get("tolerations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if let Some(new_tol) = new_spec.get("tolerations").and_then(Value::as_array)
            && old_tol.iter().all(|t| new_tol.contains(t))
        {
            obj.insert("tolerations".into(), Value::Array(new_tol.clone()));
        }
    }
    if allowed != new_spec {
        return Err(invalid("spec", format!("Forbidden: {UPDATE_FORBIDDEN}")));
    }
    let mut stored = old.clone();
    stored["spec"] = new_spec;
    for field in ["labels", "annotations"] {
        match new["metadata"].get(field) {
            Some(v) => stored["metadata"][field] = v.clone(),
            None => {
                if let Some(m) = stored["metadata"].as_object_mut() {
                    m.remove(field);
                }
            }
        }
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "uid": "u1",
                         "labels": {"app": "web"}, "resourceVersion": "3"},
            "spec": {
                "containers": [
                    {"name": "app", "image": "busybox:1", "env": [{"name": "A", "value": "1"}]},
                    {"name": "side", "image": "busybox:1"}
                ],
                "restartPolicy": "Always"
            },
            "status": {"phase": "Running"}
        })
    }

    #[test]
    fn merge_patch_rfc7386() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut t, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}}));
        let mut t = json!({"a": [1, 2]});
        merge_patch(&mut t, &json!({"a": [3]}));
        assert_eq!(t, json!({"a": [3]}));
    }

    #[test]
    fn strategic_merges_containers_by_name() {
        let mut p = pod();
        strategic_merge_patch(
            &mut p,
            &json!({"spec": {
                "$setElementOrder/containers": [{"name": "app"}, {"name": "side"}],
                "containers": [{"name": "side", "image": "busybox:2"}]
            }}),
        );
        assert_eq!(p["spec"]["containers"][0]["image"], "busybox:1");
        assert_eq!(p["spec"]["containers"][0]["env"][0]["name"], "A");
        assert_eq!(p["spec"]["containers"][1]["image"], "busybox:2");
        assert!(p["spec"].get("$setElementOrder/containers").is_none());
    }

    #[test]
    fn image_change_is_allowed() {
        let old = pod();
        let mut new = old.clone();
        new["spec"]["containers"][1]["image"] = json!("busybox:2");
        new["metadata"]["labels"]["tier"] = json!("front");
        new["status"] = json!({"phase": "Failed"});
        let stored = check_pod_update(&old, &new).expect("allowed");
        assert_eq!(stored["spec"]["containers"][1]["image"], "busybox:2");
        assert_eq!(stored["metadata"]["labels"]["tier"], "front");
        assert_eq!(
            stored["status"]["phase"], "Running",
            "status is not updated by PUT"
        );
        assert_eq!(stored["metadata"]["uid"], "u1");
    }

    #[test]
    fn other_spec_change_is_forbidden() {
        let old = pod();
        let mut new = old.clone();
        new["spec"]["containers"][0]["env"][0]["value"] = json!("2");
        let err = check_pod_update(&old, &new).expect_err("forbidden");
        let s = err.to_status();
        assert_eq!(s["code"], 422);
        assert_eq!(s["details"]["causes"][0]["field"], "spec");
        assert!(
            s["message"].as_str().expect("message").contains(
                "pod updates may not change fields other than `spec.containers[*].image`"
            )
        );
        let mut renamed = old.clone();
        renamed["metadata"]["name"] = json!("other");
        assert!(matches!(
            check_pod_update(&old, &renamed),
            Err(ApiError::Invalid { .. })
        ));
    }

    #[test]
    fn tolerations_only_grow_and_deadline_only_shrinks() {
        let mut old = pod();
        old["spec"]["tolerations"] = json!([{"key": "a", "operator": "Exists"}]);
        old["spec"]["activeDeadlineSeconds"] = json!(100);
        let mut more = old.clone();
        more["spec"]["tolerations"] =
            json!([{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}]);
        more["spec"]["activeDeadlineSeconds"] = json!(50);
        assert!(check_pod_update(&old, &more).is_ok());
        let mut fewer = old.clone();
        fewer["spec"]["tolerations"] = json!([]);
        assert!(check_pod_update(&old, &fewer).is_err());
        let mut longer = old.clone();
        longer["spec"]["activeDeadlineSeconds"] = json!(200);
        assert!(check_pod_update(&old, &longer).is_err());
        let mut removed = old.clone();
        removed["spec"]
            .as_object_mut()
            .expect("spec")
            .remove("activeDeadlineSeconds");
        let s = check_pod_update(&old, &removed)
            .expect_err("a deadline is never removed")
            .to_status();
        assert_eq!(
            s["details"]["causes"][0]["message"],
            "Invalid value: null: must not update from a positive integer to nil value"
        );
        let mut set = pod();
        set["spec"]["activeDeadlineSeconds"] = json!(30);
        assert!(check_pod_update(&pod(), &set).is_ok(), "set where unset");
    }
}
