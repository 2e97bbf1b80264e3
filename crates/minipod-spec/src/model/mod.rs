//! The Pod as the Kubernetes API spells it (core/v1), strictly.
//!
//! Every struct denies unknown fields, so a typo such as `restartPolicyy` is a
//! parse error naming the field path and line. Each struct also names the
//! fields Kubernetes has but minipod does not implement, typed loosely as
//! [`Opaque`] (their value is not read, only their presence): `crate::support`
//! turns those into a warning (fields that only mean something to a scheduler
//! or cluster) or a rejection (fields whose meaning minipod would violate).
//!
//! Field lists follow `staging/src/k8s.io/api/core/v1/types.go`. The
//! k8s-openapi cross-check test (`tests/k8s_openapi_agrees.rs`) proves that
//! every field named here is a real Kubernetes field.
//!
//! Why hand-written and not `k8s-openapi`: see `docs/decisions/0001-manifest-model.md`.
//!
//! One module per part of the object: `pod` (metadata and the pod-level
//! spec), `affinity` (typed for its structure only), `container`, `probe` (probes and hooks), `security`, `volume`,
//! and `values` (opaque fields, resource lists).

mod affinity;
mod container;
mod pod;
mod probe;
mod security;
mod values;
mod volume;

pub use affinity::*;
pub use container::*;
pub use pod::*;
pub use probe::*;
pub use security::*;
pub use values::*;
pub use volume::*;
