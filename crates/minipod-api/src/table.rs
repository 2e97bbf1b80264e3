//! Server-side printing: `meta.k8s.io/v1 Table`.
//!
//! `kubectl get` asks for a Table (`Accept: application/json;as=Table;
//! v=v1;g=meta.k8s.io`) and prints its columns as they come, so the server
//! decides what `kubectl get pods` shows. Pods get NAME, READY, STATUS,
//! RESTARTS, AGE (priority 0) and IP, NODE, NOMINATED NODE, READINESS GATES
//! (priority 1, shown by `-o wide`); READY/STATUS/RESTARTS/AGE are
//! `minipod_lifecycle::kubectl_columns`, the same pure printer the CLI uses.
//! Secrets get NAME, TYPE, DATA (the number of keys) and AGE, as the API
//! server's printer (`printSecret`).

use minipod_lifecycle::duration::human_duration;
use minipod_lifecycle::printer::{PodView, wide_columns};
use minipod_lifecycle::{PodStatus, Timestamp, kubectl_columns};
use minipod_spec::model::PodSpec;
use serde_json::{Value, json};

use crate::backend::Resource;

/// What `rows[].object` carries (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    /// Nothing.
    None,
    /// `PartialObjectMetadata` (the default).
    #[default]
    Metadata,
    /// The whole object.
    Object,
}

impl IncludeObject {
    /// From the `includeObject` query value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "None" => Some(IncludeObject::None),
            "Metadata" | "" => Some(IncludeObject::Metadata),
            "Object" => Some(IncludeObject::Object),
            _ => None,
        }
    }
}

fn column(name: &str, format: &str, description: &str, priority: u8) -> Value {
    json!({
        "name": name,
        "type": "string",
        "format": format,
        "description": description,
        "priority": priority,
    })
}

/// The column definitions of `resource`.
pub fn columns(resource: Resource) -> Vec<Value> {
    match resource {
        Resource::Pods => vec![
            column("Name", "name", "Name must be unique within a namespace.", 0),
            column(
                "Ready",
                "",
                "The aggregate readiness state of this pod for accepting traffic.",
                0,
            ),
            column(
                "Status",
                "",
                "The aggregate status of the containers in this pod.",
                0,
            ),
            column(
                "Restarts",
                "",
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
                0,
            ),
            column("Age", "", "Time since the object was created.", 0),
            column("IP", "", "IP address allocated to the pod.", 1),
            column("Node", "", "Name of the node the pod is running on.", 1),
            column(
                "Nominated Node",
                "",
                "Node the scheduler nominated for this pod, if any.",
                1,
            ),
            column(
                "Readiness Gates",
                "",
                "Readiness gates of the pod and how many are satisfied.",
                1,
            ),
        ],
        Resource::Events => vec![
            column("Last Seen", "", "When the event last happened.", 0),
            column("Type", "", "Normal or Warning.", 0),
            column("Reason", "", "Why the event was recorded.", 0),
            column("Object", "", "The object the event is about.", 0),
            column("Message", "", "What happened.", 0),
        ],
        Resource::Secrets => vec![
            column("Name", "name", "Name must be unique within a namespace.", 0),
            column(
                "Type",
                "",
                "Used to facilitate programmatic handling of secret data.",
                0,
            ),
            column("Data", "", "The number of keys of the secret's data.", 0),
            column("Age", "", "Time since the object was created.", 0),
        ],
    }
}

fn str_at<'a>(object: &'a Value, pointer: &str) -> Option<&'a str> {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn timestamp_at(object: &Value, pointer: &str) -> Option<Timestamp> {
    str_at(object, pointer).and_then(|s| Timestamp::parse_rfc3339(s).ok())
}

/// `translateTimestampSince`: the age of `t` at `now`, `<unknown>` without one.
fn age(t: Option<Timestamp>, now: Timestamp) -> String {
    match t {
        Some(t) => human_duration(now.nanos_since(t)),
        None => "<unknown>".into(),
    }
}

/// The cells of one pod row.
pub fn pod_cells(pod: &Value, now: Timestamp) -> Vec<Value> {
    // The stored pod was admitted, so its spec parses; a status the lifecycle
    // crate cannot read prints as an empty one rather than failing the list.
    let spec: PodSpec = pod
        .get("spec")
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .unwrap_or_default();
    let status: PodStatus = pod
        .get("status")
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .unwrap_or_default();
    let cols = kubectl_columns(
        PodView {
            spec: &spec,
            status: &status,
            created: timestamp_at(pod, "/metadata/creationTimestamp"),
            deletion_requested: pod.pointer("/metadata/deletionTimestamp").is_some(),
        },
        now,
    );
    let wide = wide_columns(&spec, &status);
    vec![
        json!(str_at(pod, "/metadata/name").unwrap_or_default()),
        json!(cols.ready),
        json!(cols.status),
        json!(cols.restarts),
        json!(cols.age),
        json!(wide.ip),
        json!(wide.node),
        json!(wide.nominated_node),
        json!(wide.readiness_gates),
    ]
}

/// The cells of one event row.
pub fn event_cells(event: &Value, now: Timestamp) -> Vec<Value> {
    let last = timestamp_at(event, "/lastTimestamp")
        .or_else(|| timestamp_at(event, "/eventTime"))
        .or_else(|| timestamp_at(event, "/firstTimestamp"))
        .or_else(|| timestamp_at(event, "/metadata/creationTimestamp"));
    let kind = str_at(event, "/involvedObject/kind").unwrap_or_default();
    let name = str_at(event, "/involvedObject/name").unwrap_or_default();
    let object = format!("{}/{name}", kind.to_lowercase());
    vec![
        json!(age(last, now)),
        json!(str_at(event, "/type").unwrap_or_default()),
        json!(str_at(event, "/reason").unwrap_or_default()),
        json!(object),
        json!(str_at(event, "/message").unwrap_or_default()),
    ]
}

/// The cells of one Secret row: the number of keys as a number, as the API
/// server sends it (`int64(len(obj.Data))`).
pub fn secret_cells(secret: &Value, now: Timestamp) -> Vec<Value> {
    let keys = secret
        .get("data")
        .and_then(Value::as_object)
        .map_or(0, serde_json::Map::len);
    vec![
        json!(str_at(secret, "/metadata/name").unwrap_or_default()),
        json!(str_at(secret, "/type").unwrap_or_default()),
        json!(keys),
        json!(age(
            timestamp_at(secret, "/metadata/creationTimestamp"),
            now
        )),
    ]
}

/// `rows[].object` for `include`.
fn row_object(object: &Value, include: IncludeObject) -> Value {
    match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Object => object.clone(),
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
    }
}

/// One Table row.
pub fn row(resource: Resource, object: &Value, include: IncludeObject, now: Timestamp) -> Value {
    let cells = match resource {
        Resource::Pods => pod_cells(object, now),
        Resource::Events => event_cells(object, now),
        Resource::Secrets => secret_cells(object, now),
    };
    let mut row = json!({ "cells": cells });
    let obj = row_object(object, include);
    if !obj.is_null() {
        row["object"] = obj;
    }
    row
}

/// A whole Table of `objects`, with the list's `resourceVersion`.
pub fn table(
    resource: Resource,
    objects: &[Value],
    resource_version: Option<String>,
    include: IncludeObject,
    now: Timestamp,
) -> Value {
    let mut metadata = json!({});
    if let Some(rv) = resource_version {
        metadata["resourceVersion"] = json!(rv);
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns(resource),
        "rows": objects.iter().map(|o| row(resource, o, include, now)).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::parse_rfc3339("2024-05-01T12:00:30Z").expect("valid")
    }

    fn running_pod() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "web",
                "namespace": "default",
                "labels": {"app": "web"},
                "creationTimestamp": "2024-05-01T12:00:00Z",
                "resourceVersion": "7"
            },
            "spec": {"containers": [{"name": "c", "image": "busybox"}], "nodeName": "host"},
            "status": {
                "phase": "Running",
                "podIP": "10.0.0.2",
                // kubectl reads the IP column from podIPs.
                "podIPs": [{"ip": "10.0.0.2"}],
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{
                    "name": "c", "ready": true, "restartCount": 2,
                    "image": "busybox", "imageID": "", "started": true,
                    "state": {"running": {"startedAt": "2024-05-01T12:00:01Z"}}
                }]
            }
        })
    }

    #[test]
    fn secret_row_cells() {
        let secret = json!({
            "metadata": {"name": "regcred", "creationTimestamp": "2024-05-01T11:59:00Z"},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": "e30="}
        });
        assert_eq!(
            secret_cells(&secret, now()),
            vec![
                json!("regcred"),
                json!("kubernetes.io/dockerconfigjson"),
                json!(1),
                json!("90s")
            ]
        );
    }

    #[test]
    fn pod_row_cells() {
        let cells = pod_cells(&running_pod(), now());
        assert_eq!(
            cells,
            vec![
                json!("web"),
                json!("1/1"),
                json!("Running"),
                json!("2"),
                json!("30s"),
                json!("10.0.0.2"),
                json!("host"),
                json!("<none>"),
                json!("<none>"),
            ]
        );
    }

    #[test]
    fn pending_pod_without_status() {
        let pod = json!({
            "metadata": {"name": "p", "creationTimestamp": "2024-05-01T11:58:30Z"},
            "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]},
        });
        let cells = pod_cells(&pod, now());
        assert_eq!(cells[1], json!("0/2"));
        assert_eq!(cells[4], json!("2m"));
        assert_eq!(cells[5], json!("<none>"));
    }

    #[test]
    fn terminating_pod() {
        let mut pod = running_pod();
        pod["metadata"]["deletionTimestamp"] = json!("2024-05-01T12:00:20Z");
        assert_eq!(pod_cells(&pod, now())[2], json!("Terminating"));
    }

    #[test]
    fn table_shape_and_include_object() {
        let t = table(
            Resource::Pods,
            &[running_pod()],
            Some("9".into()),
            IncludeObject::Metadata,
            now(),
        );
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(t["metadata"]["resourceVersion"], "9");
        let names: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .expect("array")
            .iter()
            .map(|c| c["name"].as_str().expect("name"))
            .collect();
        assert_eq!(
            names,
            [
                "Name",
                "Ready",
                "Status",
                "Restarts",
                "Age",
                "IP",
                "Node",
                "Nominated Node",
                "Readiness Gates"
            ]
        );
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(t["rows"][0]["object"]["metadata"]["labels"]["app"], "web");
        assert!(t["rows"][0]["object"].get("spec").is_none());

        let full = table(
            Resource::Pods,
            &[running_pod()],
            None,
            IncludeObject::Object,
            now(),
        );
        assert_eq!(full["rows"][0]["object"]["kind"], "Pod");
        let none = table(
            Resource::Pods,
            &[running_pod()],
            None,
            IncludeObject::None,
            now(),
        );
        assert!(none["rows"][0].get("object").is_none());
    }

    #[test]
    fn event_row() {
        let ev = json!({
            "metadata": {"name": "web.1"},
            "involvedObject": {"kind": "Pod", "name": "web"},
            "type": "Normal", "reason": "Started", "message": "Started container c",
            "lastTimestamp": "2024-05-01T12:00:25Z"
        });
        assert_eq!(
            event_cells(&ev, now()),
            vec![
                json!("5s"),
                json!("Normal"),
                json!("Started"),
                json!("pod/web"),
                json!("Started container c")
            ]
        );
    }
}
