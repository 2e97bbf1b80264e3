//! Pulling images from OCI distribution registries into minipod's image
//! store, as the kubelet has its container runtime do for `image: nginx` or
//! `image: myregistry:5000/team/app:1.4`.
//!
//! A pull, step by step ([`Puller::pull`]):
//!
//! 1. **The name.** `nginx` is `docker.io/library/nginx:latest`, normalised
//!    as Docker and the kubelet do (`minipod_image::ImageName`). Docker Hub
//!    is reached at its API host; any other registry by its own name.
//!    Plain HTTP only for loopback registries (`localhost`, 127.0.0.0/8,
//!    `::1`: Docker's default insecure range) and for registries the node's
//!    configuration names; HTTPS otherwise ([`target`]).
//! 2. **Credentials.** The pod's `imagePullSecrets`, then the node's auth
//!    file, both in Docker's `config.json` format, matched by registry and
//!    repository path as the kubelet's keyring does ([`auth`]); each
//!    matching one is tried in turn, anonymous access when none matches.
//!    The token dance: a `401` with `WWW-Authenticate: Bearer realm=...`,
//!    then a token from the realm, which must be https unless both the
//!    registry and the realm may speak plain HTTP ([`challenge`]).
//! 3. **The manifest.** OCI and Docker media types; an image index (or
//!    Docker manifest list) is resolved to the host's platform
//!    (`linux/<arch>`, by the same rule as an import,
//!    `minipod_image::runs_here`).
//! 4. **The blobs** (config, layers): each is streamed to a file and
//!    checked against its digest while it is written, never held whole in
//!    memory ([`blobs`]). One download per blob at a time on the node: a
//!    second pull of the same blob (another pod, another process) waits for
//!    the first and reuses its file; a blob already in the store is not
//!    downloaded at all. A blob whose bytes do not match its digest is
//!    refused, named, and nothing of it is kept.
//! 5. **The import.** The blobs are laid out as an OCI image layout (hard
//!    links, no copies) and imported into the store under the pulled name,
//!    which verifies and unpacks the layers (gzip, zstd or plain), all or
//!    nothing.
//!
//! Every answer of the registry is bounded ([`limits`]): manifests,
//! indexes and token answers by size, blobs by their declared size, and
//! every request by the node's progress timeout, so a hostile registry can
//! neither fill the node's memory nor hold a pull forever. That is why the
//! HTTP side is minipod's own, on reqwest (`docs/decisions/0007-*` and
//! `0012-registry-limits.md`).

#![forbid(unsafe_code)]

pub mod auth;
pub mod blobs;
pub mod challenge;
mod error;
mod http;
pub mod limits;
mod options;
mod pull;
pub mod target;

pub use auth::{AuthConfig, Credentials, DockerConfig};
pub use error::PullError;
pub use options::PullOptions;
pub use pull::{Progress, Pulled, Puller};
