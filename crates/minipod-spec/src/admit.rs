//! The API server's create path. (stub)
use crate::model::Pod;
use crate::validate::InvalidPod;

/// Values the API server assigns on create.
#[derive(Debug, Clone)]
pub struct ServerAssigned {
    pub uid: String,
}

/// A defaulted, validated pod.
#[derive(Debug, Clone)]
pub struct AdmittedPod {
    pod: Pod,
}

impl AdmittedPod {
    pub fn pod(&self) -> &Pod {
        &self.pod
    }
}

pub fn admit(pod: Pod, _assigned: ServerAssigned) -> Result<AdmittedPod, InvalidPod> {
    Ok(AdmittedPod { pod })
}
