//! What minipod does with Kubernetes fields it does not implement.
//!
//! A manifest must mean the same here as on a cluster, so no field is silently
//! dropped. Each field Kubernetes has and minipod does not act on falls in one
//! of two groups:
//!
//! * **warned**: it only means something to a scheduler or to cluster
//!   machinery that a single host does not have (`nodeSelector`,
//!   `tolerations`, `serviceAccountName`, ...). Running the pod without it is
//!   what a one-node cluster would do, so the pod is accepted and the user is
//!   told the field is ignored.
//! * **rejected**: running the pod without it would break a promise the
//!   manifest makes (`hostNetwork: true`, a `configMap` volume, a seccomp
//!   profile, `hostIPC: true`, ...). The pod is refused with a
//!   `Forbidden` error naming the field, together with any validation errors.
//!
//! The table of decisions is in `docs/manifests.md`; each rule says why, in
//! `support/pod.rs` (pod-level fields) and `support/container.rs` (each
//! container's).

use crate::model::Pod;

mod container;
mod pod;
mod report;

use container::check_container;
use pod::{check_confinement_annotations, check_metadata, check_pod_spec, check_volume};
use report::{SET_BY_SYSTEM, is_empty_value};
pub use report::{SupportReport, Warning};

/// Checks a parsed (not yet defaulted) pod against what minipod implements.
pub fn check_support(pod: &Pod) -> SupportReport {
    let mut report = SupportReport::default();
    if pod.status.as_ref().is_some_and(|s| !is_empty_value(s)) {
        report.warn("status", SET_BY_SYSTEM);
    }
    check_metadata(&pod.metadata, &mut report);
    check_confinement_annotations(pod, &mut report);
    check_pod_spec(&pod.spec, &mut report);
    for (path, container) in pod.spec.all_containers() {
        check_container(&path, container, &mut report);
    }
    for (i, volume) in pod.spec.volumes.iter().enumerate() {
        check_volume(&format!("spec.volumes[{i}]"), volume, &mut report);
    }
    report
}

#[cfg(test)]
mod tests;
