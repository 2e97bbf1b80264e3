//! [`FakeBackend`]: pods in memory, for tests of the server and of clients.
//!
//! It admits pods with `minipod-spec` (the real validation and defaulting),
//! then plays a short life for each: `Pending`, and after
//! [`FakeBackend::start_delay`] `Running` with every container ready, with
//! events (`Scheduled`, `Pulled`, `Created`, `Started`, `Killing`). A delete
//! sets `deletionTimestamp` and removes the pod after
//! `min(grace period, 1 s)`. Logs are `log_text`, per container; exec runs a few
//! commands of its own ([`exec::fake_exec`]: `cat`, `exit N`, `stderr TEXT`,
//! `tty`, `size`) and echoes any other command line. Secrets are stored as
//! the server hands them over.

mod exec;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::backend::{
    Backend, ByteStream, EventType, ExecOptions, ExecSession, LogOptions, ObjectList, Resource,
    WatchEvent, WatchStream,
};
use crate::error::ApiError;
use crate::handlers::now;

/// How many changes a watch can be behind on before it is dropped.
const WATCH_BUFFER: usize = 1024;
/// How many changes are remembered for watches from an old version.
const HISTORY: usize = 10_000;

#[derive(Debug)]
struct Watcher {
    resource: Resource,
    namespace: Option<String>,
    tx: mpsc::Sender<WatchEvent>,
}

#[derive(Debug, Default)]
struct State {
    rv: u64,
    pods: BTreeMap<(String, String), Value>,
    secrets: BTreeMap<(String, String), Value>,
    events: Vec<Value>,
    history: Vec<(u64, Resource, String, WatchEvent)>,
    watchers: Vec<Watcher>,
    next_ip: u8,
}

impl State {
    /// Stamps `object` with the next version, records the change and tells the watchers.
    fn record(&mut self, resource: Resource, event_type: EventType, object: &mut Value) {
        self.rv += 1;
        object["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let namespace = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let event = WatchEvent {
            event_type,
            object: object.clone(),
        };
        self.watchers.retain(|w| {
            if w.resource != resource || w.namespace.as_ref().is_some_and(|n| *n != namespace) {
                return !w.tx.is_closed();
            }
            w.tx.try_send(event.clone()).is_ok()
        });
        self.history.push((self.rv, resource, namespace, event));
        if self.history.len() > HISTORY {
            self.history.drain(..self.history.len() - HISTORY);
        }
    }

    fn event(&mut self, pod: &Value, reason: &str, message: &str, warning: bool) {
        let name = pod
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let namespace = pod
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let at = timestamp_now();
        let mut event = json!({
            "kind": "Event",
            "apiVersion": "v1",
            "metadata": {
                "name": format!("{name}.{:x}", self.rv + 1),
                "namespace": namespace,
                "creationTimestamp": at,
            },
            "involvedObject": {
                "kind": "Pod",
                "namespace": namespace,
                "name": name,
                "uid": pod.pointer("/metadata/uid").cloned().unwrap_or(Value::Null),
                "apiVersion": "v1",
            },
            "reason": reason,
            "message": message,
            "source": {"component": "minipod"},
            "firstTimestamp": at,
            "lastTimestamp": at,
            "count": 1,
            "type": if warning { "Warning" } else { "Normal" },
        });
        self.record(Resource::Events, EventType::Added, &mut event);
        self.events.push(event);
    }
}

/// An in-memory [`Backend`].
#[derive(Debug, Clone)]
pub struct FakeBackend {
    state: Arc<Mutex<State>>,
    /// How long a new pod stays `Pending`.
    pub start_delay: Duration,
    /// What every container logs.
    pub log_text: String,
}

impl Default for FakeBackend {
    fn default() -> Self {
        FakeBackend {
            state: Arc::default(),
            start_delay: Duration::from_millis(300),
            log_text: "hello from minipod\n".into(),
        }
    }
}

fn timestamp_now() -> String {
    now().to_string()
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn container_names(pod: &Value, list: &str) -> Vec<String> {
    pod.pointer(&format!("/spec/{list}"))
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl FakeBackend {
    /// A backend with the defaults (300 ms start, one log line).
    pub fn new() -> Self {
        Self::default()
    }

    fn start_later(&self, key: (String, String)) {
        let state = self.state.clone();
        let delay = self.start_delay;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let mut st = lock(&state);
            let Some(mut pod) = st.pods.get(&key).cloned() else {
                return;
            };
            if pod.pointer("/metadata/deletionTimestamp").is_some() {
                return;
            }
            st.next_ip = st.next_ip.wrapping_add(1);
            let at = timestamp_now();
            let statuses: Vec<Value> = container_names(&pod, "containers")
                .iter()
                .zip(
                    pod["spec"]["containers"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                )
                .map(|(name, c)| {
                    json!({
                        "name": name,
                        "state": {"running": {"startedAt": at}},
                        "lastState": {},
                        "ready": true,
                        "restartCount": 0,
                        "image": c.get("image").cloned().unwrap_or(Value::Null),
                        "imageID": "",
                        "started": true,
                    })
                })
                .collect();
            pod["status"] = json!({
                "phase": "Running",
                "conditions": [
                    {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": at},
                    {"type": "Initialized", "status": "True", "lastTransitionTime": at},
                    {"type": "Ready", "status": "True", "lastTransitionTime": at},
                    {"type": "ContainersReady", "status": "True", "lastTransitionTime": at},
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": at},
                ],
                // Both forms, as a kubelet writes them (kubectl's IP column
                // reads podIPs).
                "hostIP": "127.0.0.1",
                "hostIPs": [{"ip": "127.0.0.1"}],
                "podIP": format!("10.88.0.{}", st.next_ip),
                "podIPs": [{"ip": format!("10.88.0.{}", st.next_ip)}],
                "startTime": at,
                "containerStatuses": statuses,
                "qosClass": "BestEffort",
            });
            st.record(Resource::Pods, EventType::Modified, &mut pod);
            for c in container_names(&pod, "containers") {
                st.event(&pod, "Started", &format!("Started container {c}"), false);
            }
            st.pods.insert(key, pod);
        });
    }
}

impl Backend for FakeBackend {
    async fn create_pod(
        &self,
        namespace: &str,
        pod: Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let parsed: minipod_spec::Pod = serde_json::from_value(pod).map_err(|e| {
            ApiError::BadRequest(format!(
                "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: {e}"
            ))
        })?;
        let uid = uuid::Uuid::new_v4().to_string();
        let suffix: String = uid
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(5)
            .collect();
        let admitted = minipod_spec::admit(
            parsed,
            &minipod_spec::ServerAssigned {
                uid,
                name_suffix: suffix,
            },
        )
        .map_err(|invalid| ApiError::from_invalid_pod(&invalid))?;
        let mut stored =
            serde_json::to_value(admitted.pod()).map_err(|e| ApiError::Internal(e.to_string()))?;
        let name = admitted.name().to_owned();
        stored["metadata"]["namespace"] = json!(namespace);
        stored["metadata"]["creationTimestamp"] = json!(timestamp_now());
        stored["spec"]["nodeName"] = json!("localhost");
        stored["status"] = json!({"phase": "Pending", "qosClass": "BestEffort"});
        let key = (namespace.to_owned(), name.clone());
        {
            let mut st = lock(&self.state);
            if st.pods.contains_key(&key) {
                return Err(ApiError::pod_exists(&name));
            }
            if dry_run {
                return Ok(stored);
            }
            st.record(Resource::Pods, EventType::Added, &mut stored);
            st.event(
                &stored,
                "Scheduled",
                &format!("Successfully assigned {namespace}/{name} to localhost"),
                false,
            );
            st.pods.insert(key.clone(), stored.clone());
        }
        self.start_later(key);
        Ok(stored)
    }

    async fn get_pod(&self, namespace: &str, name: &str) -> Result<Value, ApiError> {
        lock(&self.state)
            .pods
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
            .ok_or_else(|| ApiError::pod_not_found(name))
    }

    async fn update_pod(
        &self,
        namespace: &str,
        name: &str,
        mut pod: Value,
    ) -> Result<Value, ApiError> {
        let mut st = lock(&self.state);
        let key = (namespace.to_owned(), name.to_owned());
        if !st.pods.contains_key(&key) {
            return Err(ApiError::pod_not_found(name));
        }
        st.record(Resource::Pods, EventType::Modified, &mut pod);
        st.pods.insert(key, pod.clone());
        Ok(pod)
    }

    async fn delete_pod(
        &self,
        namespace: &str,
        name: &str,
        grace_period_seconds: Option<i64>,
    ) -> Result<Value, ApiError> {
        let key = (namespace.to_owned(), name.to_owned());
        let mut pod = {
            let mut st = lock(&self.state);
            let mut pod = st
                .pods
                .get(&key)
                .cloned()
                .ok_or_else(|| ApiError::pod_not_found(name))?;
            let grace = grace_period_seconds
                .or_else(|| {
                    pod.pointer("/spec/terminationGracePeriodSeconds")
                        .and_then(Value::as_i64)
                })
                .unwrap_or(30);
            if pod.pointer("/metadata/deletionTimestamp").is_none() {
                pod["metadata"]["deletionTimestamp"] = json!(timestamp_now());
                pod["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
                st.record(Resource::Pods, EventType::Modified, &mut pod);
                for c in container_names(&pod, "containers") {
                    st.event(&pod, "Killing", &format!("Stopping container {c}"), false);
                }
                st.pods.insert(key.clone(), pod.clone());
            }
            pod
        };
        let grace = pod
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let wait = Duration::from_millis(u64::try_from(grace.clamp(0, 1)).unwrap_or(0) * 1000);
        let state = self.state.clone();
        let remove = move || {
            let mut st = lock(&state);
            if let Some(mut gone) = st.pods.remove(&key) {
                st.record(Resource::Pods, EventType::Deleted, &mut gone);
            }
        };
        if wait.is_zero() {
            remove();
            pod["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        } else {
            tokio::spawn(async move {
                tokio::time::sleep(wait).await;
                remove();
            });
        }
        Ok(pod)
    }

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
        let key = (namespace.to_owned(), name.clone());
        let mut st = lock(&self.state);
        if st.secrets.contains_key(&key) {
            return Err(ApiError::secret_exists(&name));
        }
        secret["metadata"]["uid"] = json!(uuid::Uuid::new_v4().to_string());
        secret["metadata"]["creationTimestamp"] = json!(timestamp_now());
        if dry_run {
            return Ok(secret);
        }
        st.record(Resource::Secrets, EventType::Added, &mut secret);
        st.secrets.insert(key, secret.clone());
        Ok(secret)
    }

    async fn get_secret(&self, namespace: &str, name: &str) -> Result<Value, ApiError> {
        lock(&self.state)
            .secrets
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
            .ok_or_else(|| ApiError::secret_not_found(name))
    }

    async fn list_secrets(&self, namespace: Option<&str>) -> Result<ObjectList, ApiError> {
        self.list(Resource::Secrets, namespace).await
    }

    async fn update_secret(
        &self,
        namespace: &str,
        name: &str,
        mut secret: Value,
    ) -> Result<Value, ApiError> {
        let key = (namespace.to_owned(), name.to_owned());
        let mut st = lock(&self.state);
        if !st.secrets.contains_key(&key) {
            return Err(ApiError::secret_not_found(name));
        }
        st.record(Resource::Secrets, EventType::Modified, &mut secret);
        st.secrets.insert(key, secret.clone());
        Ok(secret)
    }

    async fn delete_secret(&self, namespace: &str, name: &str) -> Result<Value, ApiError> {
        let mut st = lock(&self.state);
        let mut gone = st
            .secrets
            .remove(&(namespace.to_owned(), name.to_owned()))
            .ok_or_else(|| ApiError::secret_not_found(name))?;
        st.record(Resource::Secrets, EventType::Deleted, &mut gone);
        Ok(gone)
    }

    async fn list(
        &self,
        resource: Resource,
        namespace: Option<&str>,
    ) -> Result<ObjectList, ApiError> {
        let st = lock(&self.state);
        let in_ns = |o: &&Value| {
            namespace.is_none_or(|ns| {
                o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns)
            })
        };
        let items = match resource {
            Resource::Pods => st.pods.values().filter(in_ns).cloned().collect(),
            Resource::Events => st.events.iter().filter(in_ns).cloned().collect(),
            Resource::Secrets => st.secrets.values().filter(in_ns).cloned().collect(),
        };
        Ok(ObjectList {
            items,
            resource_version: st.rv,
        })
    }

    async fn watch(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        after: u64,
    ) -> Result<WatchStream, ApiError> {
        let mut st = lock(&self.state);
        if let Some((oldest, ..)) = st.history.first()
            && after + 1 < *oldest
        {
            return Err(ApiError::Gone {
                requested: after,
                oldest: *oldest,
            });
        }
        let (tx, rx) = mpsc::channel(WATCH_BUFFER + st.history.len());
        for (rv, r, ns, event) in &st.history {
            if *rv > after && *r == resource && namespace.is_none_or(|n| n == ns) {
                let _ = tx.try_send(event.clone());
            }
        }
        st.watchers.push(Watcher {
            resource,
            namespace: namespace.map(str::to_owned),
            tx,
        });
        Ok(rx)
    }

    async fn logs(
        &self,
        namespace: &str,
        name: &str,
        options: LogOptions,
    ) -> Result<ByteStream, ApiError> {
        let pod = self.get_pod(namespace, name).await?;
        let names = container_names(&pod, "containers");
        let container = match (options.container, names.as_slice()) {
            (Some(c), _) if names.contains(&c) => c,
            (Some(c), _) => {
                return Err(ApiError::BadRequest(format!(
                    "container {c} is not valid for pod {name}"
                )));
            }
            (None, [one]) => one.clone(),
            (None, _) => {
                return Err(ApiError::BadRequest(format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    names.join(" ")
                )));
            }
        };
        let mut lines: Vec<String> = self
            .log_text
            .lines()
            .map(|l| format!("{l} ({container})\n"))
            .collect();
        if let Some(n) = options.tail_lines {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            lines = lines.split_off(lines.len().saturating_sub(n));
        }
        if options.timestamps {
            let at = now();
            let mut stamp = String::new();
            at.write_rfc3339_nanos(&mut stamp).ok();
            lines = lines.into_iter().map(|l| format!("{stamp} {l}")).collect();
        }
        Ok(Box::pin(std::io::Cursor::new(lines.concat().into_bytes())))
    }

    async fn exec(
        &self,
        namespace: &str,
        name: &str,
        options: ExecOptions,
    ) -> Result<ExecSession, ApiError> {
        let pod = self.get_pod(namespace, name).await?;
        if let Some(c) = &options.container {
            let known = ["containers", "initContainers", "ephemeralContainers"]
                .iter()
                .any(|list| container_names(&pod, list).contains(c));
            if !known {
                return Err(ApiError::BadRequest(format!(
                    "container {c} is not valid for pod {name}"
                )));
            }
        }
        Ok(exec::fake_exec(&options))
    }
}
