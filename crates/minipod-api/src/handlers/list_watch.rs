//! Lists and watches, the same for every resource: selectors, Tables, and
//! a watch streamed as one JSON event per line.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use hyper::Response;
use hyper::StatusCode;
use hyper::header::{self, HeaderValue};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::request::{Ctx, Output, include_object};
use super::response::{json_response, now};
use crate::backend::{Backend, EventType, ObjectList, Resource, WatchEvent};
use crate::body::{self, ResponseBody};
use crate::error::ApiError;
use crate::limits::Counters;
use crate::selector::{FieldSelector, LabelSelector};
use crate::table::{self, IncludeObject};

pub(super) async fn list_or_watch<B: Backend>(
    backend: &B,
    counters: &Counters,
    ctx: &Ctx,
    resource: Resource,
    namespace: Option<&str>,
) -> Result<Response<ResponseBody>, ApiError> {
    let output = ctx.output.clone()?;
    let labels = LabelSelector::parse(ctx.query.get("labelSelector").unwrap_or_default())?;
    let fields =
        FieldSelector::parse(ctx.query.get("fieldSelector").unwrap_or_default(), resource)?;
    let include = include_object(&ctx.query)?;
    let keep = move |o: &Value| labels.matches_object(o) && fields.matches_object(o);
    if ctx.query.flag("watch")? {
        let timeout = ctx.query.number::<u64>("timeoutSeconds")?;
        let from = match ctx.query.get("resourceVersion") {
            None | Some("") | Some("0") => None,
            Some(v) => Some(
                v.parse::<u64>()
                    .map_err(|_| ApiError::BadRequest(format!("invalid resourceVersion {v:?}")))?,
            ),
        };
        return watch(
            backend, counters, resource, namespace, from, timeout, output, include, keep,
        )
        .await;
    }
    let ObjectList {
        items,
        resource_version,
    } = list_objects(backend, resource, namespace).await?;
    let items: Vec<Value> = items.into_iter().filter(|o| keep(o)).collect();
    let rv = resource_version.to_string();
    let doc = match output {
        Output::Table => table::table(resource, &items, Some(rv), include, now()),
        Output::Json => json!({
            "kind": format!("{}List", resource.kind()),
            "apiVersion": "v1",
            "metadata": {"resourceVersion": rv},
            "items": items,
        }),
    };
    Ok(json_response(StatusCode::OK, &doc))
}

/// A list of `resource`: Secrets have calls of their own.
pub(super) async fn list_objects<B: Backend>(
    backend: &B,
    resource: Resource,
    namespace: Option<&str>,
) -> Result<ObjectList, ApiError> {
    match resource {
        Resource::Secrets => backend.list_secrets(namespace).await,
        _ => backend.list(resource, namespace).await,
    }
}

#[allow(clippy::too_many_arguments)]
async fn watch<B: Backend>(
    backend: &B,
    counters: &Counters,
    resource: Resource,
    namespace: Option<&str>,
    from: Option<u64>,
    timeout: Option<u64>,
    output: Output,
    include: IncludeObject,
    keep: impl Fn(&Value) -> bool + Send + 'static,
) -> Result<Response<ResponseBody>, ApiError> {
    let place = counters.long_running()?;
    // Without a version: the current objects as ADDED, then the changes after the list.
    let (initial, after) = match from {
        Some(v) => (Vec::new(), v),
        None => {
            let list = list_objects(backend, resource, namespace).await?;
            (list.items, list.resource_version)
        }
    };
    let mut events = backend.watch(resource, namespace, after).await?;
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        let _place = place; // held until the watch ends
        let deadline = timeout.map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
        let mut first = true;
        // Whether each object seen so far matched the selectors, to turn
        // an object leaving the selection into DELETED and one entering
        // it into ADDED. Objects not seen yet were known to the client
        // from its list when it watches from a version.
        let mut matched: HashMap<(String, String), bool> = HashMap::new();
        let mut send = move |event: WatchEvent, first: &mut bool| -> Option<Bytes> {
            let id = object_id(&event.object);
            let matches = keep(&event.object);
            let before = matched.get(&id).copied();
            let event_type = match (matches, event.event_type, before) {
                (true, EventType::Deleted, _) | (false, _, Some(true)) => EventType::Deleted,
                (true, EventType::Modified, Some(false)) => EventType::Added,
                (true, t, _) => t,
                (false, _, _) => {
                    matched.insert(id, false);
                    return None;
                }
            };
            if event_type == EventType::Deleted && event.event_type == EventType::Deleted {
                matched.remove(&id);
            } else {
                matched.insert(id, event_type != EventType::Deleted);
            }
            let object = match output {
                Output::Json => event.object,
                Output::Table => {
                    let rv = event
                        .object
                        .pointer("/metadata/resourceVersion")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    let mut t = table::table(resource, &[event.object], rv, include, now());
                    if !*first {
                        t["columnDefinitions"] = json!([]);
                    }
                    *first = false;
                    t
                }
            };
            let mut line =
                serde_json::to_vec(&json!({"type": event_type.as_str(), "object": object}))
                    .unwrap_or_default();
            line.push(b'\n');
            Some(Bytes::from(line))
        };
        for object in initial {
            if let Some(line) = send(
                WatchEvent {
                    event_type: EventType::Added,
                    object,
                },
                &mut first,
            ) && tx.send(line).await.is_err()
            {
                return;
            }
        }
        loop {
            let next = async {
                match deadline {
                    Some(d) => tokio::time::timeout_at(d, events.recv())
                        .await
                        .ok()
                        .flatten(),
                    None => events.recv().await,
                }
            };
            let event = tokio::select! {
                e = next => e,
                _ = tx.closed() => None,
            };
            let Some(event) = event else { return };
            if let Some(line) = send(event, &mut first)
                && tx.send(line).await.is_err()
            {
                return;
            }
        }
    });
    let mut resp = Response::new(body::channel(rx));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

/// `namespace/name` of an object.
fn object_id(object: &Value) -> (String, String) {
    let s = |p: &str| {
        object
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    (s("/metadata/namespace"), s("/metadata/name"))
}
