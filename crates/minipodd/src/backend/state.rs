//! What the daemon keeps in memory: the pods as last served, the Secrets,
//! the events, and the history of changes that watches resume from.

use std::collections::{BTreeMap, VecDeque};
use std::time::SystemTime;

use minipod_api::backend::{Resource, WatchEvent};
use minipod_monitor::records::{PodRecord, PullSecrets};
use minipod_plan::admission::{self, Admission, PodClaims};
use minipod_plan::capacity::CpuAndMemory;
use minipod_spec::{Pod, Secret};
use serde_json::Value;

/// How many changes are kept for watches that resume from a version.
pub(super) const HISTORY: usize = 10_000;

/// One change, with its version.
#[derive(Debug, Clone)]
pub(super) struct Change {
    pub(super) version: u64,
    pub(super) resource: Resource,
    pub(super) namespace: String,
    pub(super) event: WatchEvent,
}

/// What the daemon knows of one pod.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) record: PodRecord,
    pub(super) namespace: String,
    pub(super) name: String,
    /// The object as last served (with its resourceVersion).
    pub(super) object: Value,
    /// The record's `status.json` as last read (without the version).
    pub(super) seen: Value,
    /// How many of `events.jsonl`'s lines were served.
    pub(super) events_seen: usize,
    /// A delete was asked: the pod goes once its monitor is done.
    pub(super) deleting: bool,
    /// Its monitor ended (or died and was dealt with): nothing runs.
    pub(super) monitor_done: bool,
    /// Its effective requests and host ports, as admission counts them.
    pub(super) claims: PodClaims,
}

impl Entry {
    /// Whether admission counts the pod (its requests and its host
    /// ports): every pod not `Failed` or
    /// `Succeeded`, terminating ones included. The kubelet
    /// (`filterOutInactivePods`) also counts a terminal pod whose
    /// termination is still under way; minipod's monitor reports a
    /// terminal phase once the containers have stopped (but for an init
    /// failure under `Never`, whose sidecars may still be stopping: those
    /// seconds are not counted).
    pub(super) fn holds_resources(&self) -> bool {
        !matches!(
            self.seen["status"]["phase"].as_str(),
            Some("Failed" | "Succeeded")
        )
    }
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) version: u64,
    pub(super) pods: BTreeMap<String, Entry>,
    /// By namespace and name, as served (with their resourceVersion).
    pub(super) secrets: BTreeMap<(String, String), Value>,
    pub(super) events: Vec<Value>,
    pub(super) history: VecDeque<Change>,
    /// Pods admitted whose create has not finished yet, by uid, with their
    /// claims: counted by the admission of a concurrent create.
    pub(super) admitting: BTreeMap<String, PodClaims>,
}

impl State {
    pub(super) fn next(&mut self) -> u64 {
        self.version += 1;
        self.version
    }

    pub(super) fn find(&self, namespace: &str, name: &str) -> Option<&Entry> {
        self.pods
            .values()
            .find(|e| e.namespace == namespace && e.name == name)
    }

    /// The kubelet's admission (resources, then host ports) of a pod
    /// claiming `pod`, next to the pods that hold resources and those
    /// being admitted.
    pub(super) fn admit(&self, allocatable: CpuAndMemory, pod: &PodClaims) -> Admission {
        let held: Vec<PodClaims> = self
            .pods
            .iter()
            .filter(|(uid, e)| !self.admitting.contains_key(*uid) && e.holds_resources())
            .map(|(_, e)| e.claims.clone())
            .chain(self.admitting.values().cloned())
            .collect();
        admission::admit_pod(allocatable, &held, pod)
    }

    pub(super) fn uid_of(&self, namespace: &str, name: &str) -> Option<String> {
        self.pods
            .iter()
            .find(|(_, e)| e.namespace == namespace && e.name == name)
            .map(|(uid, _)| uid.clone())
    }

    /// The logins `pod`'s `imagePullSecrets` name, from the Secrets of its
    /// namespace (`None` when it names none).
    pub(super) fn pull_secrets(&self, pod: &Pod) -> Option<PullSecrets> {
        if pod.spec.image_pull_secrets.is_empty() {
            return None;
        }
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
        let secrets: Vec<Secret> = pod
            .spec
            .image_pull_secrets
            .iter()
            .filter_map(|r| self.secrets.get(&(namespace.to_owned(), r.name.clone())))
            .filter_map(|v| serde_json::from_value(strip_system(v)).ok())
            .collect();
        minipod_node::pull_secrets::for_pod(pod, &secrets)
    }
}

/// A stored Secret without what only the system sets, as the strict model reads it.
fn strip_system(secret: &Value) -> Value {
    let mut secret = secret.clone();
    if let Some(metadata) = secret.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in ["uid", "resourceVersion", "creationTimestamp"] {
            metadata.remove(key);
        }
    }
    secret
}

/// Where this daemon's resourceVersions start: the wall clock in
/// microseconds, so they stay above every version an earlier daemon handed
/// out (it made far fewer changes than a microsecond each). A client that
/// resumes a watch from an earlier daemon's version then gets a 410 and
/// lists again, instead of waiting, unanswered, for the counter to catch up.
pub(super) fn first_version() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX / 2))
}

/// `object` with `metadata.resourceVersion` set to `version`.
pub(super) fn with_version(mut object: Value, version: u64) -> Value {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("resourceVersion".into(), version.to_string().into());
    }
    object
}
