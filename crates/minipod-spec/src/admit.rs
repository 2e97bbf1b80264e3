//! The API server's create path for a Pod: check what minipod supports,
//! default, validate. The result, [`AdmittedPod`], can only be made here.

use crate::defaults::{ServerAssigned, apply_defaults};
use crate::model::Pod;
use crate::support::{Warning, check_support};
use crate::validate::{InvalidPod, validate_pod};

/// A pod that was defaulted and passed validation: what the API server would store.
#[derive(Debug, Clone, PartialEq)]
pub struct AdmittedPod {
    pod: Pod,
    warnings: Vec<Warning>,
}

impl AdmittedPod {
    /// The defaulted pod.
    pub fn pod(&self) -> &Pod {
        &self.pod
    }

    /// `metadata.name` (always set on an admitted pod).
    pub fn name(&self) -> &str {
        self.pod.metadata.name.as_deref().unwrap_or_default()
    }

    /// `metadata.namespace` (defaulted to `default`).
    pub fn namespace(&self) -> &str {
        self.pod.metadata.namespace.as_deref().unwrap_or_default()
    }

    /// `metadata.uid`.
    pub fn uid(&self) -> &str {
        self.pod.metadata.uid.as_deref().unwrap_or_default()
    }

    /// `spec.hostNetwork: true`: the pod uses the node's network (and UTS)
    /// namespace, gets no network of its own, and shows the node's IPs.
    pub fn uses_host_network(&self) -> bool {
        self.pod.spec.host_network == Some(true)
    }

    /// Fields minipod accepted but ignores, to be shown to the user.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }
}

/// Admits a parsed pod: every reason it cannot run here, or the defaulted pod.
///
/// Errors from minipod's support policy and from the API server's validation
/// come back together, so the user sees everything to fix at once.
pub fn admit(pod: Pod, assigned: &ServerAssigned) -> Result<AdmittedPod, InvalidPod> {
    let support = check_support(&pod);
    let mut pod = pod;
    apply_defaults(&mut pod, assigned);
    // The API server's errors first, in its order; then what minipod adds.
    let mut errors = validate_pod(&pod);
    errors.extend(support.errors);
    if errors.is_empty() {
        Ok(AdmittedPod {
            pod,
            warnings: support.warnings,
        })
    } else {
        let name = pod.metadata.name.clone().unwrap_or_default();
        Err(InvalidPod { name, errors })
    }
}
