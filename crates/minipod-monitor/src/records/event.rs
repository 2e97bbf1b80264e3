//! Kubernetes core/v1 `Event` objects, as the kubelet's event recorder makes
//! them (`client-go/tools/record/event.go` `makeEvent`): named
//! `<pod>.<UnixNano in hex>`, about the Pod (`involvedObject`, with
//! `fieldPath` `spec.containers{name}` when about a container), from
//! `source.component: kubelet` on this node.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};

use minipod_lifecycle::Timestamp;
use serde_json::{Value, json};

/// What an event needs to know about its pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSource {
    pub pod: String,
    pub namespace: String,
    pub uid: String,
    /// The node's name (`source.host`, `reportingInstance`).
    pub node: String,
}

/// One event: `Normal` or `Warning`, its reason and message, and the
/// container it is about (`spec.containers{app}`, `spec.initContainers{x}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFacts<'a> {
    pub event_type: &'a str,
    pub reason: &'a str,
    pub message: &'a str,
    pub field_path: Option<&'a str>,
}

/// A name suffix never used twice by this process, even for two events in
/// the same nanosecond: the time in nanoseconds, bumped past the last one.
pub(crate) fn unique_nanos(at: Timestamp) -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(i64::MIN);
    let wanted = at.unix_nanos();
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = wanted.max(last.saturating_add(1));
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// The Event, as Kubernetes JSON.
pub fn event_json(source: &EventSource, facts: &EventFacts<'_>, at: Timestamp) -> Value {
    let nanos = unique_nanos(at);
    let mut involved = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "name": source.pod,
        "namespace": source.namespace,
        "uid": source.uid,
    });
    if let Some(path) = facts.field_path {
        involved["fieldPath"] = json!(path);
    }
    let time = at.to_string();
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": format!("{}.{:x}", source.pod, nanos),
            "namespace": source.namespace,
            "creationTimestamp": time,
        },
        "involvedObject": involved,
        "reason": facts.reason,
        "message": facts.message,
        "type": facts.event_type,
        "firstTimestamp": time,
        "lastTimestamp": time,
        "count": 1,
        "eventTime": null,
        "source": {"component": "kubelet", "host": source.node},
        "reportingComponent": "kubelet",
        "reportingInstance": source.node,
    })
}

/// How many series a [`Correlator`] remembers: client-go's
/// `maxLruCacheEntries`. Past it, a new kind of event starts no series
/// (each is an Event of its own, as when the kubelet's cache evicts).
const MAX_SERIES: usize = 4096;

/// The kubelet's event correlator for identical events (client-go
/// `tools/record/events_cache.go`, `eventObserve`): an event with the same
/// type, reason, message and object (`fieldPath` included) as an earlier
/// one is that Event again, with the same name and `firstTimestamp`, its
/// `lastTimestamp` now and its `count` one more. kubectl shows it once,
/// `(x3 over 30s)`. (client-go also folds more than 10 *similar* events in
/// 10 minutes into one "combined from similar events"; minipod does not.)
#[derive(Debug, Default)]
pub(crate) struct Correlator {
    series: HashMap<(String, String, Option<String>, String), Series>,
}

#[derive(Debug, Clone)]
struct Series {
    name: Value,
    first: Value,
    count: u64,
}

impl Correlator {
    /// The Event for `facts` at `at`: a new one, or the next of its series.
    pub(crate) fn event(
        &mut self,
        source: &EventSource,
        facts: &EventFacts<'_>,
        at: Timestamp,
    ) -> Value {
        let mut event = event_json(source, facts, at);
        let key = (
            facts.event_type.to_owned(),
            facts.reason.to_owned(),
            facts.field_path.map(str::to_owned),
            facts.message.to_owned(),
        );
        let room = self.series.len() < MAX_SERIES;
        match self.series.get_mut(&key) {
            Some(series) => {
                series.count += 1;
                event["metadata"]["name"] = series.name.clone();
                event["metadata"]["creationTimestamp"] = series.first.clone();
                event["firstTimestamp"] = series.first.clone();
                event["count"] = json!(series.count);
            }
            None if room => {
                let series = Series {
                    name: event["metadata"]["name"].clone(),
                    first: event["firstTimestamp"].clone(),
                    count: 1,
                };
                self.series.insert(key, series);
            }
            None => {}
        }
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_events_are_one_event_whose_count_grows() {
        let mut correlator = Correlator::default();
        let failed = EventFacts {
            event_type: "Warning",
            reason: "FailedCreatePodSandBox",
            message: "Failed to create pod sandbox: boom",
            field_path: None,
        };
        let t0 = Timestamp::from_unix_seconds(1_700_000_000);
        let first = correlator.event(&source(), &failed, t0);
        let third = [10, 20]
            .map(|s| correlator.event(&source(), &failed, t0.plus_seconds(s)))
            .into_iter()
            .last()
            .unwrap();
        assert_eq!(third["metadata"]["name"], first["metadata"]["name"]);
        assert_eq!(third["count"], 3);
        assert_eq!(third["firstTimestamp"], "2023-11-14T22:13:20Z");
        assert_eq!(third["lastTimestamp"], "2023-11-14T22:13:40Z");
        assert_eq!(
            third["metadata"]["creationTimestamp"],
            first["firstTimestamp"]
        );

        // Another message, or the same about a container, is another event.
        let other = EventFacts {
            message: "Failed to create pod sandbox: other",
            ..failed.clone()
        };
        let on_app = EventFacts {
            field_path: Some("spec.containers{app}"),
            ..failed.clone()
        };
        for facts in [other, on_app] {
            let event = correlator.event(&source(), &facts, t0);
            assert_eq!(event["count"], 1);
            assert_ne!(event["metadata"]["name"], first["metadata"]["name"]);
        }
    }

    fn source() -> EventSource {
        EventSource {
            pod: "web".into(),
            namespace: "default".into(),
            uid: "0b7c2a4e-0000-4000-8000-000000000001".into(),
            node: "node-1".into(),
        }
    }

    #[test]
    fn a_container_event_is_a_kubelet_event_about_the_pod_and_its_field_path() {
        let at = Timestamp::from_unix_nanos(1_700_000_000_123_456_789);
        let facts = EventFacts {
            event_type: "Normal",
            reason: "Started",
            message: "Started container app",
            field_path: Some("spec.containers{app}"),
        };
        let event = event_json(&source(), &facts, at);
        let name = event["metadata"]["name"].as_str().unwrap();
        let (pod, hex) = name.split_once('.').unwrap();
        assert_eq!(pod, "web");
        assert!(
            hex.len() >= 16 && hex.chars().all(|c| c.is_ascii_hexdigit()),
            "{name}"
        );
        assert!(i64::from_str_radix(hex, 16).unwrap() >= at.unix_nanos());
        let mut without_name = event.clone();
        without_name["metadata"]["name"] = Value::Null;
        assert_eq!(
            without_name,
            json!({
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": null, "namespace": "default", "creationTimestamp": "2023-11-14T22:13:20Z"},
                "involvedObject": {
                    "apiVersion": "v1", "kind": "Pod", "name": "web", "namespace": "default",
                    "uid": "0b7c2a4e-0000-4000-8000-000000000001",
                    "fieldPath": "spec.containers{app}",
                },
                "reason": "Started",
                "message": "Started container app",
                "type": "Normal",
                "firstTimestamp": "2023-11-14T22:13:20Z",
                "lastTimestamp": "2023-11-14T22:13:20Z",
                "count": 1,
                "eventTime": null,
                "source": {"component": "kubelet", "host": "node-1"},
                "reportingComponent": "kubelet",
                "reportingInstance": "node-1",
            })
        );
    }

    #[test]
    fn a_pod_event_has_no_field_path_and_names_never_repeat() {
        let at = Timestamp::from_unix_nanos(1_700_000_000_000_000_000);
        let facts = EventFacts {
            event_type: "Warning",
            reason: "MonitorLost",
            message: "gone",
            field_path: None,
        };
        let a = event_json(&source(), &facts, at);
        let b = event_json(&source(), &facts, at);
        assert!(a["involvedObject"].get("fieldPath").is_none());
        assert_ne!(a["metadata"]["name"], b["metadata"]["name"]);
    }
}
