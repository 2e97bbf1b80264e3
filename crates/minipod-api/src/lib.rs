//! # minipod-api: a subset of the Kubernetes REST API, for kubectl
//!
//! This crate serves what `kubectl` needs to manage pods on one host:
//! discovery, pods (create, get, list, watch, delete, patch/update of
//! images), `pods/log`, `pods/exec` (websocket), events, Secrets (for
//! `imagePullSecrets`; [`secrets`]), and server-side Table printing. It does
//! not run pods: it asks a [`Backend`] (the daemon's pod manager, or
//! `testing::FakeBackend` in tests: only built with the `testing` feature,
//! which test code enables from its `[dev-dependencies]`).
//!
//! ## How a request flows
//!
//! 1. **Listeners** ([`server`]): [`start`] binds a unix socket (mode 0600:
//!    only root gets in, so no token is asked) and a loopback TCP port with
//!    TLS ([`tls`]: a CA and a server certificate made on first start and
//!    kept in a directory). Each connection is HTTP/1.1 served by hyper,
//!    within [`limits`]: header and body timeouts, a connection cap, and a
//!    cap on watches and followed logs (429 past it).
//! 2. **Authentication** ([`handlers::App::handle`]): on TCP, the request
//!    must carry `Authorization: Bearer <token>`; otherwise a 401 `Status`.
//! 3. **Routing** ([`handlers`], a module per resource): the path is split
//!    into segments and matched
//!    (`/api/v1/namespaces/{ns}/pods/{name}/log`, ...). The method must fit
//!    the path (405 otherwise); the `Accept` header picks plain JSON or a
//!    `meta.k8s.io/v1 Table` ([`table`]); a request body is read with a
//!    3 MiB limit (413) and must be JSON of the right media type (415, 400).
//! 4. **The backend** does the work and answers Kubernetes JSON or an
//!    [`ApiError`]. Lists are filtered here with the label and field
//!    selectors ([`selector`]); updates are checked here against what
//!    Kubernetes allows on a running pod ([`patch`]).
//! 5. **The response**: an object, a list, a Table, or a `Status` for an
//!    error ([`error`]). Watches and logs are streamed: a task copies the
//!    backend's events or bytes into a channel that hyper writes as HTTP
//!    chunks, one JSON line per watch event, until the client leaves, the
//!    backend ends the stream or `timeoutSeconds` passes.
//!
//! ## resourceVersion
//! The backend keeps one counter; every change takes the next value (see
//! [`backend`]). `kubectl get -w` lists (getting the counter) and then
//! watches from it, so it misses nothing and sees nothing twice.
//!
//! ## Starting it
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use minipod_api::{ServerOptions, start, testing::FakeBackend};
//! let server = start(Arc::new(FakeBackend::new()), ServerOptions {
//!     unix_socket: Some("/run/minipod/api.sock".into()),
//!     tcp: Some("127.0.0.1:6443".parse().unwrap()),
//!     credentials_dir: "/var/lib/minipod/pki".into(),
//!     ..ServerOptions::default()
//! }).await?;
//! println!("{}", server.kubeconfig().unwrap());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod backend;
pub mod body;
pub mod discovery;
pub mod error;
pub mod exec;
pub mod handlers;
pub mod limits;
pub mod patch;
pub mod protobuf;
pub mod secrets;
pub mod selector;
pub mod server;
pub mod table;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;

pub use backend::{
    Backend, ByteStream, EventType, ExecExit, ExecFailure, ExecOptions, ExecSession, LogOptions,
    ObjectList, Resource, TerminalSize, WatchEvent, WatchStream,
};
pub use error::{ApiError, Cause};
pub use limits::{ServerLimits, ZeroLimit};
pub use server::{RunningServer, ServerOptions, start};
pub use tls::{Credentials, kubeconfig};
