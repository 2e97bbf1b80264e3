//! The daemon's pods: the API's [`Backend`] over pod records and their
//! detached monitors.
//!
//! The daemon keeps no pod state that matters in memory: each pod's record
//! (`<state>/records/<uid>/`: `pod.json`, `status.json`, `events.jsonl`) is
//! the truth, written by the pod's monitor. The daemon reads the records
//! ([`Daemon::refresh`], a few times a second), gives every change the next
//! resourceVersion, and hands the changes to watchers. So a daemon killed
//! and started again finds every pod as it is (docs/daemon.md).
//!
//! Secrets are the daemon's own: kept in memory and in
//! `<state>/secrets/<namespace>/<name>.json` ([`SecretStore`]), read back at
//! start. When a pod is created, the Secrets its `imagePullSecrets` name are
//! looked up in its namespace and written into its record
//! (`pull-secrets.json`) before its monitor starts.
//!
//! A new pod is admitted as the kubelet admits it
//! (`minipod_plan::admission`): its requests, plus those of the pods not
//! terminated, against the node's allocatable. A pod that does not fit
//! still gets its record, marked `Failed` (`OutOfcpu`/`OutOfmemory`, a
//! Warning event), and no monitor: nothing of it ever runs.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use minipod_api::ApiError;
use minipod_api::backend::{
    Backend, ByteStream, EventType, ExecOptions, ExecSession, LogOptions, ObjectList, Resource,
    WatchEvent, WatchStream,
};
use minipod_lifecycle::status::PodPhase;
use minipod_monitor::records::{
    Checked, MonitorLauncher, PULL_SECRETS_FILE, PullSecrets, Record, Records,
};
use minipod_plan::admission::{self, Admission};
use minipod_plan::capacity::CpuAndMemory;
use minipod_runtime::pod::NodeConfig;
use minipod_spec::{Pod, Secret, ServerAssigned, admit};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc};

use crate::logs;
use crate::secrets::SecretStore;

/// How many changes are kept for watches that resume from a version.
const HISTORY: usize = 10_000;

/// One change, with its version.
#[derive(Debug, Clone)]
struct Change {
    version: u64,
    resource: Resource,
    namespace: String,
    event: WatchEvent,
}

/// What the daemon knows of one pod.
#[derive(Debug)]
struct Entry {
    record: Record,
    namespace: String,
    name: String,
    /// The object as last served (with its resourceVersion).
    object: Value,
    /// The record's `status.json` as last read (without the version).
    seen: Value,
    /// How many of `events.jsonl`'s lines were served.
    events_seen: usize,
    /// A delete was asked: the pod goes once its monitor is done.
    deleting: bool,
    /// Its monitor ended (or died and was dealt with): nothing runs.
    monitor_done: bool,
    /// Its effective requests, as admission counts them.
    requests: CpuAndMemory,
}

impl Entry {
    /// Whether admission counts the pod: every pod not `Failed` or
    /// `Succeeded`, terminating ones included. The kubelet
    /// (`filterOutInactivePods`) also counts a terminal pod whose
    /// termination is still under way; minipod's monitor reports a
    /// terminal phase once the containers have stopped (but for an init
    /// failure under `Never`, whose sidecars may still be stopping: those
    /// seconds are not counted).
    fn holds_resources(&self) -> bool {
        !matches!(
            self.seen["status"]["phase"].as_str(),
            Some("Failed" | "Succeeded")
        )
    }
}

#[derive(Debug, Default)]
struct State {
    version: u64,
    pods: BTreeMap<String, Entry>,
    /// By namespace and name, as served (with their resourceVersion).
    secrets: BTreeMap<(String, String), Value>,
    events: Vec<Value>,
    history: VecDeque<Change>,
    /// Pods admitted whose create has not finished yet, by uid, with their
    /// requests: counted by the admission of a concurrent create.
    admitting: BTreeMap<String, CpuAndMemory>,
}

impl State {
    fn next(&mut self) -> u64 {
        self.version += 1;
        self.version
    }

    fn find(&self, namespace: &str, name: &str) -> Option<&Entry> {
        self.pods
            .values()
            .find(|e| e.namespace == namespace && e.name == name)
    }

    /// The kubelet's resource admission of a pod requesting `requests`,
    /// next to the pods that hold resources and those being admitted.
    fn admit(&self, allocatable: CpuAndMemory, requests: CpuAndMemory) -> Admission {
        let used: Vec<CpuAndMemory> = self
            .pods
            .iter()
            .filter(|(uid, e)| !self.admitting.contains_key(*uid) && e.holds_resources())
            .map(|(_, e)| e.requests)
            .chain(self.admitting.values().copied())
            .collect();
        admission::admit(allocatable, &used, requests)
    }

    fn uid_of(&self, namespace: &str, name: &str) -> Option<String> {
        self.pods
            .iter()
            .find(|(_, e)| e.namespace == namespace && e.name == name)
            .map(|(uid, _)| uid.clone())
    }

    /// The logins `pod`'s `imagePullSecrets` name, from the Secrets of its
    /// namespace (`None` when it names none).
    fn pull_secrets(&self, pod: &Pod) -> Option<PullSecrets> {
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

/// The daemon's pods.
pub struct Daemon {
    node: NodeConfig,
    /// What pods may request in all (capacity minus reservations).
    allocatable: CpuAndMemory,
    records: Records,
    secrets: SecretStore,
    launcher: MonitorLauncher,
    state: Mutex<State>,
    changes: broadcast::Sender<Change>,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

/// Where this daemon's resourceVersions start: the wall clock in
/// microseconds, so they stay above every version an earlier daemon handed
/// out (it made far fewer changes than a microsecond each). A client that
/// resumes a watch from an earlier daemon's version then gets a 410 and
/// lists again, instead of waiting, unanswered, for the counter to catch up.
fn first_version() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX / 2))
}

/// The API server's words for a body the strict Pod model refuses: an
/// unknown field is named by its path (`spec.containers[0].imagePullPolicyy`),
/// as `minipod plan` names it.
fn decoding_error(pod: &Value, error: &serde_json::Error) -> String {
    let prefix = "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error";
    let bytes = serde_json::to_vec_pretty(pod).unwrap_or_default();
    if let Err(errors) = minipod_spec::load::parse_manifests(&bytes, "request body") {
        let unknown: Vec<String> = errors
            .0
            .iter()
            .filter_map(|e| match e {
                minipod_spec::load::LoadError::UnknownField { path, .. } => {
                    Some(format!("unknown field {path:?}"))
                }
                _ => None,
            })
            .collect();
        if !unknown.is_empty() {
            return format!("{prefix}: {}", unknown.join(", "));
        }
    }
    format!("{prefix}: {error}")
}

fn with_version(mut object: Value, version: u64) -> Value {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("resourceVersion".into(), version.to_string().into());
    }
    object
}

fn now() -> minipod_lifecycle::Timestamp {
    minipod_lifecycle::Timestamp::from_unix_nanos(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            .unwrap_or(0),
    )
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(error.to_string())
}

impl Daemon {
    /// The daemon for `node`, with the pods its records hold. Monitors that
    /// died while the daemon was away are found out here.
    pub fn open(
        node: NodeConfig,
        allocatable: CpuAndMemory,
        launcher: MonitorLauncher,
    ) -> anyhow::Result<Arc<Daemon>> {
        let records = Records::new(&node.state_dir);
        let secrets = SecretStore::new(&node.state_dir);
        let (changes, _) = broadcast::channel(1024);
        // The stored Secrets first: a pod whose monitor never started needs them.
        let mut state = State {
            version: first_version(),
            ..State::default()
        };
        for (key, secret) in secrets.load() {
            let version = state.next();
            state.secrets.insert(key, with_version(secret, version));
        }
        let daemon = Arc::new(Daemon {
            node,
            allocatable,
            records,
            secrets,
            launcher,
            state: Mutex::new(state),
            changes,
        });
        daemon.refresh_all(true);
        Ok(daemon)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn publish(&self, state: &mut State, change: Change) {
        state.history.push_back(change.clone());
        while state.history.len() > HISTORY {
            state.history.pop_front();
        }
        let _ = self.changes.send(change);
    }

    /// Reads every record: new and changed statuses, new events, monitors
    /// that died, deleted pods whose monitor is done. Blocking (files).
    pub fn refresh(&self) {
        self.refresh_all(false);
    }

    /// [`Daemon::refresh`]; at `startup`, a record whose monitor never
    /// started (the daemon stopped between creating the record and starting
    /// its monitor) gets its monitor now. Later, a record without a monitor
    /// is one being created: left alone.
    fn refresh_all(&self, startup: bool) {
        let records = match self.records.list() {
            Ok(records) => records,
            Err(e) => {
                tracing::warn!("listing pod records: {e}");
                return;
            }
        };
        for record in records {
            self.refresh_record(record, startup);
        }
    }

    /// The pod of `record` as the API shows it, read from the record now
    /// (a create or an update answers with what it made).
    fn refreshed(&self, record: Record, name: &str) -> Result<Value, ApiError> {
        let uid = record.uid().to_owned();
        self.refresh_record(record, false);
        self.lock()
            .pods
            .get(&uid)
            .map(|e| e.object.clone())
            .ok_or_else(|| ApiError::pod_not_found(name))
    }

    fn refresh_record(&self, record: Record, startup: bool) {
        let uid = record.uid().to_owned();
        // Whether the pod's monitor is done with it (ended, or died and its
        // pod was cleaned up and marked). Once it is, it is never checked
        // again: the check reads /proc and the node's mounts and cgroups,
        // too much to repeat for every finished pod four times a second.
        let already_done = self.lock().pods.get(&uid).is_some_and(|e| e.monitor_done);
        let monitor_done = already_done || {
            let checked = record.check_monitor(&self.node);
            if startup
                && let Ok(Checked::NotStarted) = checked
                && record
                    .phase()
                    .ok()
                    .flatten()
                    .is_none_or(|p| !p.is_terminal())
                && let Err(e) = self
                    .write_missing_pull_secrets(&record)
                    .and_then(|()| record.spawn_monitor(&self.launcher))
            {
                // Created, but the daemon stopped before its monitor started.
                let _ = record.mark_failed(
                    "FailedCreatePodSandBox",
                    &format!("starting the pod's monitor: {e}"),
                    &self.node.node_name,
                );
            }
            // A failed clean-up is tried again on the next refresh. A
            // record that ended without ever having a monitor (rejected at
            // admission, or its monitor could not start) has nothing running.
            match checked {
                Ok(Checked::Finished { .. } | Checked::Lost { .. }) => true,
                Ok(Checked::NotStarted) => record
                    .phase()
                    .ok()
                    .flatten()
                    .is_some_and(PodPhase::is_terminal),
                Ok(Checked::Running(_)) | Err(_) => false,
            }
        };
        let Ok(status) = record.status_json() else {
            return;
        };
        let events = record.events().unwrap_or_default();
        let known = self.lock().pods.contains_key(&uid);
        // Read once per pod: resources cannot change after creation.
        let requests = if known {
            CpuAndMemory::default()
        } else {
            record
                .admitted()
                .map(|pod| admission::pod_requests(&pod.pod().spec))
                .unwrap_or_default()
        };
        let mut state = self.lock();
        let known = state.pods.contains_key(&uid);
        if !known {
            let metadata = &status["metadata"];
            let namespace = metadata["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_owned();
            let name = metadata["name"].as_str().unwrap_or_default().to_owned();
            let version = state.next();
            let object = with_version(status.clone(), version);
            state.pods.insert(
                uid.clone(),
                Entry {
                    record: record.clone(),
                    namespace: namespace.clone(),
                    name,
                    object: object.clone(),
                    seen: status.clone(),
                    events_seen: 0,
                    deleting: false,
                    monitor_done,
                    requests,
                },
            );
            self.publish(
                &mut state,
                Change {
                    version,
                    resource: Resource::Pods,
                    namespace,
                    event: WatchEvent {
                        event_type: EventType::Added,
                        object,
                    },
                },
            );
        } else if state.pods.get(&uid).is_some_and(|e| e.seen != status) {
            let version = state.next();
            let object = with_version(status.clone(), version);
            let entry = state.pods.get_mut(&uid).expect("known");
            entry.seen = status.clone();
            entry.object = object.clone();
            let namespace = entry.namespace.clone();
            self.publish(
                &mut state,
                Change {
                    version,
                    resource: Resource::Pods,
                    namespace,
                    event: WatchEvent {
                        event_type: EventType::Modified,
                        object,
                    },
                },
            );
        }
        let seen = state.pods.get(&uid).map_or(0, |e| e.events_seen);
        for event in events.iter().skip(seen) {
            let version = state.next();
            let object = with_version(event.clone(), version);
            let namespace = object["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_owned();
            state.events.push(object.clone());
            self.publish(
                &mut state,
                Change {
                    version,
                    resource: Resource::Events,
                    namespace,
                    event: WatchEvent {
                        event_type: EventType::Added,
                        object,
                    },
                },
            );
        }
        if let Some(entry) = state.pods.get_mut(&uid) {
            entry.events_seen = events.len();
            entry.monitor_done = monitor_done;
        }
        // A deleted pod goes once its monitor is done with it.
        let deleting = state.pods.get(&uid).is_some_and(|e| e.deleting);
        if deleting && monitor_done {
            let entry = state.pods.remove(&uid).expect("known");
            let version = state.next();
            let object = with_version(entry.object.clone(), version);
            let namespace = entry.namespace.clone();
            drop(state);
            if let Err(e) = entry.record.remove() {
                tracing::warn!(%uid, "removing the record of a deleted pod: {e}");
            }
            // As the kubelet does, a deleted pod's logs go with it.
            let logs = minipod_runtime::logs::PodLogs {
                namespace: &entry.namespace,
                name: &entry.name,
                uid: &uid,
            }
            .dir(&self.node.logs_dir);
            if let Err(e) = std::fs::remove_dir_all(&logs)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(%uid, "removing {}: {e}", logs.display());
            }
            let mut state = self.lock();
            self.publish(
                &mut state,
                Change {
                    version,
                    resource: Resource::Pods,
                    namespace,
                    event: WatchEvent {
                        event_type: EventType::Deleted,
                        object,
                    },
                },
            );
        }
    }

    /// A record made just before the daemon stopped may lack the pull
    /// secrets its pod names: they are resolved now, before its monitor starts.
    fn write_missing_pull_secrets(
        &self,
        record: &Record,
    ) -> Result<(), minipod_monitor::records::RecordError> {
        if record.path(PULL_SECRETS_FILE).exists() {
            return Ok(());
        }
        let admitted = record.admitted()?;
        let pulls = self.lock().pull_secrets(admitted.pod());
        match pulls {
            Some(pulls) => record.write_pull_secrets(&pulls),
            None => Ok(()),
        }
    }

    /// Stamps `secret` with the next version, keeps it and tells the watchers.
    fn publish_secret(&self, state: &mut State, event_type: EventType, secret: Value) -> Value {
        let (namespace, name) = (
            secret["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            secret["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        let version = state.next();
        let object = with_version(secret, version);
        if event_type == EventType::Deleted {
            state.secrets.remove(&(namespace.clone(), name));
        } else {
            state
                .secrets
                .insert((namespace.clone(), name), object.clone());
        }
        self.publish(
            state,
            Change {
                version,
                resource: Resource::Secrets,
                namespace,
                event: WatchEvent {
                    event_type,
                    object: object.clone(),
                },
            },
        );
        object
    }

    /// The log file of `container`'s run `attempt` of the pod.
    fn log_path(&self, entry: &Entry, container: &str, attempt: i64) -> PathBuf {
        minipod_runtime::logs::PodLogs {
            namespace: &entry.namespace,
            name: &entry.name,
            uid: entry.record.uid(),
        }
        .container_log(
            &self.node.logs_dir,
            container,
            u32::try_from(attempt).unwrap_or(0),
        )
    }
}

/// The container statuses of a pod object, init containers first.
fn statuses(object: &Value) -> Vec<Value> {
    let status = &object["status"];
    ["initContainerStatuses", "containerStatuses"]
        .iter()
        .flat_map(|k| status[*k].as_array().cloned().unwrap_or_default())
        .collect()
}

fn container_names(object: &Value) -> Vec<String> {
    ["initContainers", "containers"]
        .iter()
        .flat_map(|k| object["spec"][*k].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["name"].as_str().map(String::from))
        .collect()
}

impl Backend for Daemon {
    async fn create_pod(
        &self,
        namespace: &str,
        mut pod: Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        if let Some(metadata) = pod.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.insert("namespace".into(), namespace.into());
        }
        // The same strict model as `minipod plan`: an unknown field is an
        // error naming it, as the API server's strict field validation does.
        let typed: Pod = serde_json::from_value(pod.clone())
            .map_err(|e| ApiError::BadRequest(decoding_error(&pod, &e)))?;
        let name = typed.metadata.name.clone().unwrap_or_default();
        if !name.is_empty() && self.lock().find(namespace, &name).is_some() {
            return Err(ApiError::pod_exists(&name));
        }
        let assigned = minipod_node::assigned::server_assigned();
        let admitted = admit(typed, &assigned).map_err(|e| ApiError::from_invalid_pod(&e))?;
        let name = admitted.name().to_owned();
        if dry_run {
            return serde_json::to_value(admitted.pod()).map_err(internal);
        }
        // The kubelet's admission, under the lock: a concurrent create
        // counts this pod from now on (`admitting`) until it is a record.
        let uid = admitted.uid().to_owned();
        let requests = admission::pod_requests(&admitted.pod().spec);
        let verdict = {
            let mut state = self.lock();
            let verdict = state.admit(self.allocatable, requests);
            if verdict == Admission::Admit {
                state.admitting.insert(uid.clone(), requests);
            }
            verdict
        };
        // Resolved now, in the pod's namespace, and in the record before
        // the monitor starts: the monitor reads them for its pulls.
        let pulls = self.lock().pull_secrets(admitted.pod());
        let records = self.records.clone();
        let launcher = self.launcher.clone();
        let node_name = self.node.node_name.clone();
        let created = tokio::task::spawn_blocking(move || -> Result<Record, String> {
            let record = records
                .create(&admitted, SystemTime::now())
                .map_err(|e| e.to_string())?;
            if let Admission::Reject(rejection) = verdict {
                // As the kubelet's `rejectPod`: Failed, a Warning event, no
                // container. A record left Pending would get a monitor when
                // the daemon next starts: it goes if it cannot be marked.
                let marked = record.mark_failed_with_event(
                    rejection.reason,
                    &rejection.status_message(),
                    &rejection.message,
                    &node_name,
                );
                return match marked {
                    Ok(_) => Ok(record),
                    Err(e) => {
                        let _ = record.remove();
                        Err(format!("recording the rejection: {e}"))
                    }
                };
            }
            let started = match &pulls {
                Some(pulls) => record.write_pull_secrets(pulls),
                None => Ok(()),
            }
            .and_then(|()| record.spawn_monitor(&launcher).map(drop));
            if let Err(e) = started {
                let _ = record.mark_failed(
                    "FailedCreatePodSandBox",
                    &format!("starting the pod's monitor: {e}"),
                    "",
                );
            }
            Ok(record)
        })
        .await
        .map_err(internal)
        .and_then(|created| created.map_err(ApiError::Internal));
        let answer = created.and_then(|record| self.refreshed(record, &name));
        // A record now (counted through its entry), or nothing at all.
        self.lock().admitting.remove(&uid);
        answer
    }

    async fn get_pod(&self, namespace: &str, name: &str) -> Result<Value, ApiError> {
        self.lock()
            .find(namespace, name)
            .map(|e| e.object.clone())
            .ok_or_else(|| ApiError::pod_not_found(name))
    }

    /// `kubectl set image`, `apply` or `patch` of a running pod, already
    /// checked by the API layer against what Kubernetes lets change: the
    /// pod is admitted again (same uid), stored in its record, and its
    /// monitor restarts the containers whose image changed, alone.
    async fn update_pod(
        &self,
        namespace: &str,
        name: &str,
        mut pod: Value,
    ) -> Result<Value, ApiError> {
        let (record, uid) = {
            let state = self.lock();
            let entry = state
                .find(namespace, name)
                .ok_or_else(|| ApiError::pod_not_found(name))?;
            (entry.record.clone(), entry.record.uid().to_owned())
        };
        // What the system set goes: the uid comes back through
        // `ServerAssigned`, the rest is the record's.
        if let Some(object) = pod.as_object_mut() {
            object.remove("status");
        }
        if let Some(metadata) = pod.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in [
                "uid",
                "resourceVersion",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "managedFields",
                "selfLink",
            ] {
                metadata.remove(key);
            }
        }
        // The binding to this node, which the monitor reports; a manifest
        // never sets it (minipod warns about `spec.nodeName` there).
        if let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut)
            && spec.get("nodeName").and_then(Value::as_str) == Some(self.node.node_name.as_str())
        {
            spec.remove("nodeName");
        }
        let typed: Pod = serde_json::from_value(pod.clone())
            .map_err(|e| ApiError::BadRequest(decoding_error(&pod, &e)))?;
        let assigned = ServerAssigned {
            uid,
            name_suffix: String::new(),
        };
        let admitted = admit(typed, &assigned).map_err(|e| ApiError::from_invalid_pod(&e))?;
        let updating = record.clone();
        tokio::task::spawn_blocking(move || updating.update(&admitted))
            .await
            .map_err(internal)?
            .map_err(|e| ApiError::Conflict(format!("pod {name:?} could not be updated: {e}")))?;
        self.refreshed(record, name)
    }

    async fn delete_pod(
        &self,
        namespace: &str,
        name: &str,
        grace_period_seconds: Option<i64>,
    ) -> Result<Value, ApiError> {
        let (record, object) = {
            let mut state = self.lock();
            let uid = state
                .uid_of(namespace, name)
                .ok_or_else(|| ApiError::pod_not_found(name))?;
            let entry = state.pods.get_mut(&uid).expect("found");
            entry.deleting = true;
            (entry.record.clone(), entry.object.clone())
        };
        let terminal = record
            .phase()
            .ok()
            .flatten()
            .is_some_and(PodPhase::is_terminal);
        if !terminal {
            let to_stop = record.clone();
            let stopped = tokio::task::spawn_blocking(move || to_stop.stop(grace_period_seconds))
                .await
                .map_err(internal)?;
            if let Err(e) = stopped {
                tracing::warn!(%name, "asking the monitor to stop the pod: {e}");
            }
        }
        let mut object = object;
        if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            let now = minipod_lifecycle::Timestamp::from_unix_nanos(
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
                    .unwrap_or(0),
            );
            metadata
                .entry("deletionTimestamp")
                .or_insert_with(|| now.to_string().into());
            if let Some(grace) = grace_period_seconds {
                metadata.insert("deletionGracePeriodSeconds".into(), grace.into());
            }
        }
        // The pod goes (a DELETED watch event) once its monitor is done: the
        // next refresh sees it.
        Ok(object)
    }

    /// Stores a new Secret (already admitted by the API layer) on disk and
    /// in memory. The write is small and done under the lock, so two
    /// creates of one name cannot both succeed.
    async fn create_secret(
        &self,
        namespace: &str,
        mut secret: Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let name = secret["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut state = self.lock();
        if state
            .secrets
            .contains_key(&(namespace.to_owned(), name.clone()))
        {
            return Err(ApiError::secret_exists(&name));
        }
        secret["metadata"]["namespace"] = namespace.into();
        secret["metadata"]["uid"] = minipod_node::assigned::server_assigned().uid.into();
        secret["metadata"]["creationTimestamp"] = now().to_string().into();
        if dry_run {
            return Ok(secret);
        }
        self.secrets
            .write(namespace, &name, &secret)
            .map_err(internal)?;
        Ok(self.publish_secret(&mut state, EventType::Added, secret))
    }

    async fn get_secret(&self, namespace: &str, name: &str) -> Result<Value, ApiError> {
        self.lock()
            .secrets
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
            .ok_or_else(|| ApiError::secret_not_found(name))
    }

    async fn list_secrets(&self, namespace: Option<&str>) -> Result<ObjectList, ApiError> {
        self.list(Resource::Secrets, namespace).await
    }

    /// Replaces a Secret. Pods created before keep the logins they were
    /// given (as the record holds them); pods created after get the new ones.
    async fn update_secret(
        &self,
        namespace: &str,
        name: &str,
        mut secret: Value,
    ) -> Result<Value, ApiError> {
        let mut state = self.lock();
        if !state
            .secrets
            .contains_key(&(namespace.to_owned(), name.to_owned()))
        {
            return Err(ApiError::secret_not_found(name));
        }
        if let Some(metadata) = secret.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.remove("resourceVersion");
        }
        self.secrets
            .write(namespace, name, &secret)
            .map_err(internal)?;
        Ok(self.publish_secret(&mut state, EventType::Modified, secret))
    }

    async fn delete_secret(&self, namespace: &str, name: &str) -> Result<Value, ApiError> {
        let mut state = self.lock();
        let secret = state
            .secrets
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
            .ok_or_else(|| ApiError::secret_not_found(name))?;
        self.secrets.remove(namespace, name).map_err(internal)?;
        Ok(self.publish_secret(&mut state, EventType::Deleted, secret))
    }

    async fn list(
        &self,
        resource: Resource,
        namespace: Option<&str>,
    ) -> Result<ObjectList, ApiError> {
        let state = self.lock();
        let items: Vec<Value> = match resource {
            Resource::Pods => state
                .pods
                .values()
                .filter(|e| namespace.is_none_or(|n| n == e.namespace))
                .map(|e| e.object.clone())
                .collect(),
            Resource::Events => state
                .events
                .iter()
                .filter(|e| namespace.is_none_or(|n| e["metadata"]["namespace"] == n))
                .cloned()
                .collect(),
            Resource::Secrets => state
                .secrets
                .iter()
                .filter(|((ns, _), _)| namespace.is_none_or(|n| n == ns))
                .map(|(_, secret)| secret.clone())
                .collect(),
        };
        Ok(ObjectList {
            items,
            resource_version: state.version,
        })
    }

    async fn watch(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        after: u64,
    ) -> Result<WatchStream, ApiError> {
        let (sender, receiver) = mpsc::channel(256);
        let namespace = namespace.map(String::from);
        let wanted = move |c: &Change| {
            c.resource == resource
                && c.version > after
                && namespace.as_ref().is_none_or(|n| *n == c.namespace)
        };
        let (backlog, mut live) = {
            let state = self.lock();
            if after > 0
                && state
                    .history
                    .front()
                    .is_some_and(|first| first.version > after + 1)
            {
                let oldest = state.history.front().map_or(0, |c| c.version);
                return Err(ApiError::Gone {
                    requested: after,
                    oldest,
                });
            }
            let backlog: Vec<Change> = if after == 0 {
                Vec::new()
            } else {
                state
                    .history
                    .iter()
                    .filter(|c| wanted(c))
                    .cloned()
                    .collect()
            };
            (backlog, self.changes.subscribe())
        };
        tokio::spawn(async move {
            let mut last = after;
            for change in backlog {
                last = change.version;
                if sender.send(change.event).await.is_err() {
                    return;
                }
            }
            loop {
                match live.recv().await {
                    Ok(change) if wanted(&change) && change.version > last => {
                        last = change.version;
                        if sender.send(change.event).await.is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => return,
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Ok(receiver)
    }

    async fn logs(
        &self,
        namespace: &str,
        name: &str,
        options: LogOptions,
    ) -> Result<ByteStream, ApiError> {
        let (path, record, container, attempt) = {
            let state = self.lock();
            let entry = state
                .find(namespace, name)
                .ok_or_else(|| ApiError::pod_not_found(name))?;
            let names = container_names(&entry.object);
            let container = match &options.container {
                Some(c) if names.contains(c) => c.clone(),
                Some(c) => {
                    return Err(ApiError::BadRequest(format!(
                        "container {c} is not valid for pod {name}"
                    )));
                }
                None if names.len() == 1 => names[0].clone(),
                None => {
                    return Err(ApiError::BadRequest(format!(
                        "a container name must be specified for pod {name}, choose one of: [{}]",
                        names.join(" ")
                    )));
                }
            };
            let status = statuses(&entry.object)
                .into_iter()
                .find(|s| s["name"] == container.as_str());
            let restarts = status
                .as_ref()
                .and_then(|s| s["restartCount"].as_i64())
                .unwrap_or(0);
            let attempt = if options.previous {
                if restarts == 0 {
                    return Err(ApiError::BadRequest(format!(
                        "previous terminated container \"{container}\" in pod \"{name}\" not found"
                    )));
                }
                restarts - 1
            } else {
                restarts
            };
            (
                self.log_path(entry, &container, attempt),
                entry.record.clone(),
                container,
                attempt,
            )
        };
        let still_running: logs::StillRunning = if options.previous {
            Arc::new(|| false)
        } else {
            Arc::new(move || {
                record.status_json().is_ok_and(|pod| {
                    statuses(&pod).iter().any(|s| {
                        s["name"] == container.as_str()
                            && s["restartCount"].as_i64() == Some(attempt)
                            && !s["state"]["running"].is_null()
                    })
                })
            })
        };
        Ok(logs::stream(path, options, still_running))
    }

    /// Runs the command through the pod's monitor, which owns the
    /// container's process (as for an exec probe): stdin and a terminal are
    /// not supported yet, and the output (stdout and stderr together, at
    /// most 10 KiB) comes when the command has ended.
    async fn exec(
        &self,
        namespace: &str,
        name: &str,
        options: ExecOptions,
    ) -> Result<ExecSession, ApiError> {
        let (record, container) = {
            let state = self.lock();
            let entry = state
                .find(namespace, name)
                .ok_or_else(|| ApiError::pod_not_found(name))?;
            let names = container_names(&entry.object);
            let container = match options.container {
                Some(c) if names.contains(&c) => c,
                Some(c) => {
                    return Err(ApiError::BadRequest(format!(
                        "container {c} is not valid for pod {name}"
                    )));
                }
                // kubectl picks the default container itself; else the first app.
                None => entry.object["spec"]["containers"][0]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            };
            (entry.record.clone(), container)
        };
        // Attached, as the kubelet's exec: streamed output (no 10 KiB cap,
        // no timeout), stdin and a terminal when asked for.
        if options.tty {
            Ok(crate::exec::with_terminal(
                record,
                container,
                options.command,
                options.stdin,
            ))
        } else {
            crate::exec::with_pipes(record, container, options.command, options.stdin).await
        }
    }
}
