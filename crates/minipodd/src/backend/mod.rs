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
//! (`minipod_plan::admission::admit_pod`): its requests, plus those of the
//! pods not terminated, against the node's allocatable, then its host
//! ports against theirs. A pod that does not fit still gets its record,
//! marked `Failed` (`OutOfcpu`/`OutOfmemory`/`NodePorts`, a Warning
//! event), and no monitor: nothing of it ever runs.
//!
//! ## Layout
//! [`Daemon`] and its [`Backend`] implementation are here; each call is
//! answered by the module of its resource: [`pods`], [`secrets`],
//! [`list_watch`], [`containers`] (logs and exec). [`refresh`] turns the
//! records into API objects and changes; [`state`] is what is kept in
//! memory between refreshes.

mod containers;
mod list_watch;
mod pods;
mod refresh;
mod secrets;
mod state;

use std::sync::{Arc, Mutex};

use minipod_api::ApiError;
use minipod_api::backend::{
    Backend, ByteStream, ExecOptions, ExecSession, LogOptions, ObjectList, Resource, WatchStream,
};
use minipod_monitor::records::{MonitorLauncher, Records};
use minipod_plan::capacity::CpuAndMemory;
use minipod_runtime::pod::NodeConfig;
use serde_json::Value;
use tokio::sync::broadcast;

use crate::secrets::SecretStore;
use state::{Change, HISTORY, State, first_version, with_version};

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
        refresh::refresh_all(&daemon, true);
        daemon.collect_network_garbage();
        Ok(daemon)
    }

    /// At start, after the records were read (and the pods of monitors that
    /// died were removed): the pod networks of pods that no longer run
    /// are torn down from the CNI result cache, as the kubelet's runtime
    /// garbage-collects sandboxes. A pod network that cannot be read is
    /// only logged: the daemon serves anyway, and each pod's sandbox
    /// reports it (`FailedCreatePodSandBox`), as a node without a working
    /// network does.
    fn collect_network_garbage(&self) {
        let Some(settings) = &self.node.network else {
            tracing::info!("pod network: none (loopback only)");
            return;
        };
        let network = minipod_runtime::pod::NodeNetwork::new(
            settings,
            &self.node.state_dir,
            &self.node.run_dir,
        );
        match network.describe() {
            Ok(line) => tracing::info!("pod network: {line}"),
            Err(e) => tracing::warn!("pod network: {}", minipod_spec::error_chain(&e)),
        }
        let live: Vec<String> = self
            .lock()
            .pods
            .iter()
            .filter(|(_, entry)| !entry.monitor_done)
            .map(|(uid, _)| uid.clone())
            .collect();
        match network.collect_garbage(&live) {
            Ok(cleaned) => {
                for uid in cleaned {
                    tracing::info!(uid, "removed the pod network of a pod that no longer runs");
                }
            }
            Err(e) => tracing::warn!("pod network clean-up: {}", minipod_spec::error_chain(&e)),
        }
    }

    /// The state. A thread that panicked holding it does not stop the
    /// daemon: the poisoning is ignored.
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers `change` for watches that resume and sends it to the live ones.
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
        refresh::refresh_all(self, false);
    }
}

impl Backend for Daemon {
    async fn create_pod(
        &self,
        namespace: &str,
        pod: Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        pods::create(self, namespace, pod, dry_run).await
    }

    async fn get_pod(&self, namespace: &str, name: &str) -> Result<Value, ApiError> {
        pods::get(self, namespace, name)
    }

    async fn update_pod(&self, namespace: &str, name: &str, pod: Value) -> Result<Value, ApiError> {
        pods::update(self, namespace, name, pod).await
    }

    async fn delete_pod(
        &self,
        namespace: &str,
        name: &str,
        grace_period_seconds: Option<i64>,
    ) -> Result<Value, ApiError> {
        pods::delete(self, namespace, name, grace_period_seconds).await
    }

    async fn create_secret(
        &self,
        namespace: &str,
        secret: Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        secrets::create(self, namespace, secret, dry_run)
    }

    async fn get_secret(&self, namespace: &str, name: &str) -> Result<Value, ApiError> {
        secrets::get(self, namespace, name)
    }

    async fn list_secrets(&self, namespace: Option<&str>) -> Result<ObjectList, ApiError> {
        secrets::list(self, namespace)
    }

    async fn update_secret(
        &self,
        namespace: &str,
        name: &str,
        secret: Value,
    ) -> Result<Value, ApiError> {
        secrets::update(self, namespace, name, secret)
    }

    async fn delete_secret(&self, namespace: &str, name: &str) -> Result<Value, ApiError> {
        secrets::delete(self, namespace, name)
    }

    async fn list(
        &self,
        resource: Resource,
        namespace: Option<&str>,
    ) -> Result<ObjectList, ApiError> {
        list_watch::list(self, resource, namespace)
    }

    async fn watch(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        after: u64,
    ) -> Result<WatchStream, ApiError> {
        list_watch::watch(self, resource, namespace, after)
    }

    async fn logs(
        &self,
        namespace: &str,
        name: &str,
        options: LogOptions,
    ) -> Result<ByteStream, ApiError> {
        containers::logs(self, namespace, name, options)
    }

    async fn exec(
        &self,
        namespace: &str,
        name: &str,
        options: ExecOptions,
    ) -> Result<ExecSession, ApiError> {
        containers::exec(self, namespace, name, options).await
    }
}
