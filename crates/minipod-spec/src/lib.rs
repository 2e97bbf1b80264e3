//! # minipod-spec: Kubernetes Pod manifests in, an admitted pod out
//!
//! The first stage of minipod's one-way flow
//! (manifest → **spec** → plan → sandbox and containers → processes → status).
//! It does what the Kubernetes API server does to a Pod on create, and nothing
//! that needs a kernel:
//!
//! 1. [`load`]: read a file of YAML or JSON documents, strictly: a field
//!    Kubernetes does not have is an error with its path, file and line.
//! 2. [`support`]: fields Kubernetes has but minipod does not implement are
//!    accepted with a warning (scheduler-only) or rejected (minipod would
//!    violate their meaning).
//! 3. [`defaults`]: API defaulting (`restartPolicy: Always`, probe periods,
//!    requests from limits, ...).
//! 4. [`validate`]: the API server's validation, every error at once, in its
//!    words.
//!
//! [`admit`] runs 2–4 and returns an [`AdmittedPod`], the only way to obtain
//! one, so later stages can rely on a valid, defaulted pod.
//!
//! Secrets ([`secret`]) come in the same files: [`secret::admit_secret`] is
//! their create path, and [`secret::resolve_pull_secrets`] the rule that
//! turns a pod's `imagePullSecrets` into registry logins.

#![forbid(unsafe_code)]

pub mod defaults;
pub mod duplicates;
pub mod enums;
pub mod error_text;
pub mod escapes;
pub mod field_error;
pub mod load;
pub mod model;
pub mod nesting;
pub mod quantity;
pub mod secret;
pub mod support;
pub mod sysctl;
pub mod validate;

mod admit;

pub use admit::{AdmittedPod, admit};
pub use defaults::ServerAssigned;
pub use error_text::error_chain;
pub use model::Pod;
pub use quantity::Quantity;
pub use secret::Secret;
