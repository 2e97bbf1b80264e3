//! What the API server needs from whoever runs the pods.
//!
//! The server knows HTTP, JSON, discovery, selectors, tables and errors; the
//! [`Backend`] knows the pods. Objects cross the boundary as Kubernetes JSON
//! (`serde_json::Value`, exactly what `kubectl get -o json` shows), so the
//! backend decides the stored form and the server never loses a field.
//!
//! ## resourceVersion
//! The backend owns one monotonic counter (a `u64`) for all its objects.
//! Every change (create, status change, delete, new event) takes the next
//! value and writes it, as a decimal string, into the object's
//! `metadata.resourceVersion`. A list returns the counter at the time of the
//! list; a watch from version `v` delivers, in order, every change with a
//! version greater than `v`, then the changes as they happen. A backend that
//! no longer remembers the changes after `v` answers [`ApiError::Gone`] (410),
//! and the client lists again.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};

use crate::error::ApiError;

/// The resources that can be listed and watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// `pods` (`v1 Pod`).
    Pods,
    /// `events` (`v1 Event`).
    Events,
    /// `secrets` (`v1 Secret`).
    Secrets,
}

impl Resource {
    /// The plural lower-case name used in paths: `pods`, `events`.
    pub fn plural(self) -> &'static str {
        match self {
            Resource::Pods => "pods",
            Resource::Events => "events",
            Resource::Secrets => "secrets",
        }
    }

    /// The `kind` of one object: `Pod`, `Event`.
    pub fn kind(self) -> &'static str {
        match self {
            Resource::Pods => "Pod",
            Resource::Events => "Event",
            Resource::Secrets => "Secret",
        }
    }
}

/// A list: the objects and the counter at the time of the list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectList {
    pub items: Vec<Value>,
    /// The backend's counter when the list was taken; a watch from it misses nothing.
    pub resource_version: u64,
}

/// The type of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    /// `ADDED`, `MODIFIED`, `DELETED`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change seen by a watch: the object after it (the last state for `Deleted`).
#[derive(Debug, Clone, PartialEq)]
pub struct WatchEvent {
    pub event_type: EventType,
    pub object: Value,
}

/// The changes of a watch, in resourceVersion order. The backend closes the
/// channel (drops the sender) to end the watch; the server drops the
/// receiver when the client goes away or `timeoutSeconds` passes, which the
/// backend sees as a failed `send`.
pub type WatchStream = mpsc::Receiver<WatchEvent>;

/// Bytes for the client: a log, an exec's output.
pub type ByteStream = Pin<Box<dyn AsyncRead + Send + 'static>>;

/// The query of `pods/log`, as kubectl sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// The container; `None` when the pod has one (the backend picks it, or
    /// answers `BadRequest` naming the choices, as Kubernetes does).
    pub container: Option<String>,
    /// Keep streaming until the container stops.
    pub follow: bool,
    /// The log of the previous run of the container.
    pub previous: bool,
    /// Only the last N lines.
    pub tail_lines: Option<u64>,
    /// Only lines newer than this many seconds.
    pub since_seconds: Option<u64>,
    /// Prefix each line with its RFC 3339 nanosecond timestamp.
    pub timestamps: bool,
    /// Stop after this many bytes (the server enforces it too).
    pub limit_bytes: Option<u64>,
}

/// A terminal size sent by the client of a `-t` exec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalSize {
    pub width: u16,
    pub height: u16,
}

/// The query of `pods/exec`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOptions {
    pub container: Option<String>,
    /// The command and its arguments (`command=` repeated).
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

/// Why an exec ended without an exit code: its command never ran, or the
/// backend lost it. Each backend has its own typed errors; the client gets
/// the whole chain ([`crate::error::chain`]) as the message of an
/// `InternalError` status.
pub type ExecFailure = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How an exec ended: `Ok(exit code)`, or why it has none.
pub type ExecExit = Result<i32, ExecFailure>;

/// A running exec, returned by [`Backend::exec`]. The server copies the
/// client's stdin into `stdin`, `stdout`/`stderr` to the client, forwards
/// terminal sizes into `resize`, and reports `exit` as the final status.
#[allow(missing_debug_implementations)]
pub struct ExecSession {
    pub stdin: Option<Pin<Box<dyn AsyncWrite + Send + 'static>>>,
    pub stdout: Option<ByteStream>,
    /// `None` with a TTY (the terminal merges stderr into stdout).
    pub stderr: Option<ByteStream>,
    pub resize: Option<mpsc::Sender<TerminalSize>>,
    pub exit: oneshot::Receiver<ExecExit>,
}

/// The pods, events and Secrets behind the API. One implementation runs real pods
/// (the daemon); `testing::FakeBackend` keeps them in memory.
///
/// Objects are Kubernetes JSON. Namespaces are plain strings (`default`);
/// there is no namespace object to create first.
pub trait Backend: Send + Sync + 'static {
    /// Creates a pod from a manifest (already parsed JSON; `metadata.namespace`
    /// set to `namespace`). The backend admits it (validation errors as
    /// [`ApiError::Invalid`], use [`ApiError::from_invalid_pod`]), assigns
    /// uid, creationTimestamp, resourceVersion and an initial status, starts
    /// it, and returns the stored object. `dry_run`: admit only, store nothing.
    fn create_pod(
        &self,
        namespace: &str,
        pod: Value,
        dry_run: bool,
    ) -> impl Future<Output = Result<Value, ApiError>> + Send;

    /// One pod, or [`ApiError::NotFound`].
    fn get_pod(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = Result<Value, ApiError>> + Send;

    /// Replaces a pod with `pod`, which the server has already checked
    /// against Kubernetes' rules for updating a running pod (only container
    /// images, `activeDeadlineSeconds`, new tolerations, labels and
    /// annotations change). The backend restarts the containers whose image
    /// changed and returns the stored object.
    fn update_pod(
        &self,
        namespace: &str,
        name: &str,
        pod: Value,
    ) -> impl Future<Output = Result<Value, ApiError>> + Send;

    /// Starts a graceful deletion (`grace_period_seconds`: `None` is the pod's
    /// own `terminationGracePeriodSeconds`, `Some(0)` immediately). Returns
    /// the pod as it is then: with `metadata.deletionTimestamp` set while it
    /// stops, as Kubernetes does. The pod disappears (a `Deleted` watch event)
    /// once its containers are gone.
    fn delete_pod(
        &self,
        namespace: &str,
        name: &str,
        grace_period_seconds: Option<i64>,
    ) -> impl Future<Output = Result<Value, ApiError>> + Send;

    /// Every object of `resource` in `namespace` (`None`: all namespaces).
    /// The server applies label and field selectors.
    fn list(
        &self,
        resource: Resource,
        namespace: Option<&str>,
    ) -> impl Future<Output = Result<ObjectList, ApiError>> + Send;

    /// The changes of `resource` in `namespace` (`None`: all) after
    /// resourceVersion `after`, then live ones. See the module doc.
    fn watch(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        after: u64,
    ) -> impl Future<Output = Result<WatchStream, ApiError>> + Send;

    /// A container's log, as bytes in the kubelet's format (lines, with
    /// timestamps when asked). With `follow` the stream ends when the
    /// container stops (or the client goes away: the server drops it).
    fn logs(
        &self,
        namespace: &str,
        name: &str,
        options: LogOptions,
    ) -> impl Future<Output = Result<ByteStream, ApiError>> + Send;

    /// Stores a new Secret. The server has decoded it strictly, defaulted
    /// and validated it (`minipod_spec::secret::admit_secret`), with
    /// `metadata.namespace` set; the backend assigns uid, creationTimestamp
    /// and resourceVersion ([`ApiError::AlreadyExists`] if the name is
    /// taken). `dry_run`: store nothing. The default answers 501, as do the
    /// other Secret calls.
    fn create_secret(
        &self,
        namespace: &str,
        secret: Value,
        dry_run: bool,
    ) -> impl Future<Output = Result<Value, ApiError>> + Send {
        let _ = (namespace, secret, dry_run);
        async { Err(secrets_not_implemented()) }
    }

    /// One Secret, or [`ApiError::NotFound`].
    fn get_secret(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = Result<Value, ApiError>> + Send {
        let _ = (namespace, name);
        async { Err(secrets_not_implemented()) }
    }

    /// Every Secret in `namespace` (`None`: all namespaces).
    fn list_secrets(
        &self,
        namespace: Option<&str>,
    ) -> impl Future<Output = Result<ObjectList, ApiError>> + Send {
        let _ = namespace;
        async { Err(secrets_not_implemented()) }
    }

    /// Replaces a Secret with `secret`, already checked by the server
    /// against the old one (`admit_secret_update`) and carrying its uid and
    /// creationTimestamp. Returns the stored object, with a new resourceVersion.
    fn update_secret(
        &self,
        namespace: &str,
        name: &str,
        secret: Value,
    ) -> impl Future<Output = Result<Value, ApiError>> + Send {
        let _ = (namespace, name, secret);
        async { Err(secrets_not_implemented()) }
    }

    /// Deletes a Secret at once and returns it as it was.
    fn delete_secret(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = Result<Value, ApiError>> + Send {
        let _ = (namespace, name);
        async { Err(secrets_not_implemented()) }
    }

    /// Runs a command in a container. The default answers 501.
    fn exec(
        &self,
        namespace: &str,
        name: &str,
        options: ExecOptions,
    ) -> impl Future<Output = Result<ExecSession, ApiError>> + Send {
        let _ = (namespace, name, options);
        async { Err(ApiError::NotImplemented("exec is not supported".into())) }
    }
}

fn secrets_not_implemented() -> ApiError {
    ApiError::NotImplemented("secrets are not supported".into())
}
