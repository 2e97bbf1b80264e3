//! Pod calls: create (strict decoding, admission as the API server and the
//! kubelet do it, the record, the monitor), get, update and delete.

use std::time::SystemTime;

use minipod_api::ApiError;
use minipod_api::handlers::now;
use minipod_lifecycle::status::PodPhase;
use minipod_monitor::records::{PodRecord, RecordError};
use minipod_plan::admission::{Admission, PodClaims};
use minipod_plan::sysctl::admit_sysctls;
use minipod_spec::error_chain;
use minipod_spec::{Pod, ServerAssigned, admit};
use serde_json::Value;

use super::{Daemon, refresh};

/// Why a pod admitted by the API could not be made a record.
#[derive(Debug, thiserror::Error)]
enum CreateError {
    /// Its record could not be written (the record's error says which step).
    #[error(transparent)]
    Record(RecordError),
    /// A pod the kubelet's admission rejected could not be marked `Failed`.
    #[error("recording the rejection")]
    Rejection(#[source] RecordError),
}

/// The API server's words for a body the strict Pod model refuses: an
/// unknown field is named by its path (`spec.containers[0].imagePullPolicyy`),
/// as `minipod plan` names it.
fn decoding_error(pod: &Value, error: &serde_json::Error) -> String {
    let prefix = "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error";
    let bytes = serde_json::to_vec_pretty(pod).unwrap_or_default();
    if let Err(errors) = minipod_spec::load::parse_manifests(&bytes, "request body") {
        let unknown: Vec<String> = errors
            .0
            .iter()
            .filter_map(|e| match e {
                minipod_spec::load::LoadError::UnknownField { path, .. } => {
                    Some(format!("unknown field {path:?}"))
                }
                _ => None,
            })
            .collect();
        if !unknown.is_empty() {
            return format!("{prefix}: {}", unknown.join(", "));
        }
    }
    format!("{prefix}: {error}")
}

pub(super) async fn create(
    daemon: &Daemon,
    namespace: &str,
    mut pod: Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    if let Some(metadata) = pod.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("namespace".into(), namespace.into());
    }
    // The same strict model as `minipod plan`: an unknown field is an
    // error naming it, as the API server's strict field validation does.
    let typed: Pod = serde_json::from_value(pod.clone())
        .map_err(|e| ApiError::BadRequest(decoding_error(&pod, &e)))?;
    let name = typed.metadata.name.clone().unwrap_or_default();
    if !name.is_empty() && daemon.lock().find(namespace, &name).is_some() {
        return Err(ApiError::pod_exists(&name));
    }
    let assigned = minipod_node::assigned::server_assigned();
    let admitted = admit(typed, &assigned).map_err(|e| ApiError::from_invalid_pod(&e))?;
    let name = admitted.name().to_owned();
    if dry_run {
        return serde_json::to_value(admitted.pod()).map_err(ApiError::internal);
    }
    // The kubelet's admission, under the lock: a concurrent create
    // counts this pod from now on (`admitting`) until it is a record.
    let uid = admitted.uid().to_owned();
    let claims = PodClaims::of(&admitted.pod().spec);
    let verdict = {
        let mut state = daemon.lock();
        // The kubelet's order: the sysctl allowlist, then resources and ports.
        let verdict = match admit_sysctls(&daemon.node.allowed_sysctls, &admitted.pod().spec) {
            Admission::Admit => state.admit(daemon.allocatable, &claims),
            rejected => rejected,
        };
        if verdict == Admission::Admit {
            state.admitting.insert(uid.clone(), claims);
        }
        verdict
    };
    // Resolved now, in the pod's namespace, and in the record before
    // the monitor starts: the monitor reads them for its pulls.
    let pulls = daemon.lock().pull_secrets(admitted.pod());
    let records = daemon.records.clone();
    let launcher = daemon.launcher.clone();
    let node_name = daemon.node.node_name.clone();
    let created = tokio::task::spawn_blocking(move || -> Result<PodRecord, CreateError> {
        let record = records
            .create(&admitted, SystemTime::now())
            .map_err(CreateError::Record)?;
        if let Admission::Reject(rejection) = verdict {
            // As the kubelet's `rejectPod`: Failed, a Warning event, no
            // container. A record left Pending would get a monitor when
            // the daemon next starts: it goes if it cannot be marked.
            let marked = record.mark_failed_with_event(
                rejection.reason,
                &rejection.status_message(),
                &rejection.message,
                &node_name,
            );
            return match marked {
                Ok(_) => Ok(record),
                Err(e) => {
                    let _ = record.remove();
                    Err(CreateError::Rejection(e))
                }
            };
        }
        let started = match &pulls {
            Some(pulls) => record.write_pull_secrets(pulls),
            None => Ok(()),
        }
        .and_then(|()| record.spawn_monitor(&launcher).map(drop));
        if let Err(e) = started {
            let _ = record.mark_failed(
                "FailedCreatePodSandBox",
                &format!("starting the pod's monitor: {}", error_chain(&e)),
                "",
            );
        }
        Ok(record)
    })
    .await
    .map_err(ApiError::internal)
    .and_then(|created| created.map_err(ApiError::internal));
    let answer = created.and_then(|record| refresh::refreshed(daemon, record, &name));
    // A record now (counted through its entry), or nothing at all.
    daemon.lock().admitting.remove(&uid);
    answer
}

pub(super) fn get(daemon: &Daemon, namespace: &str, name: &str) -> Result<Value, ApiError> {
    daemon
        .lock()
        .find(namespace, name)
        .map(|e| e.object.clone())
        .ok_or_else(|| ApiError::pod_not_found(name))
}

/// `kubectl set image`, `apply` or `patch` of a running pod, already
/// checked by the API layer against what Kubernetes lets change: the
/// pod is admitted again (same uid), stored in its record, and its
/// monitor restarts the containers whose image changed, alone.
pub(super) async fn update(
    daemon: &Daemon,
    namespace: &str,
    name: &str,
    mut pod: Value,
) -> Result<Value, ApiError> {
    let (record, uid) = {
        let state = daemon.lock();
        let entry = state
            .find(namespace, name)
            .ok_or_else(|| ApiError::pod_not_found(name))?;
        (entry.record.clone(), entry.record.uid().to_owned())
    };
    // What the system set goes: the uid comes back through
    // `ServerAssigned`, the rest is the record's.
    if let Some(object) = pod.as_object_mut() {
        object.remove("status");
    }
    if let Some(metadata) = pod.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "managedFields",
            "selfLink",
        ] {
            metadata.remove(key);
        }
    }
    // The binding to this node, which the monitor reports; a manifest
    // never sets it (minipod warns about `spec.nodeName` there).
    if let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut)
        && spec.get("nodeName").and_then(Value::as_str) == Some(daemon.node.node_name.as_str())
    {
        spec.remove("nodeName");
    }
    let typed: Pod = serde_json::from_value(pod.clone())
        .map_err(|e| ApiError::BadRequest(decoding_error(&pod, &e)))?;
    let assigned = ServerAssigned {
        uid,
        name_suffix: String::new(),
    };
    let admitted = admit(typed, &assigned).map_err(|e| ApiError::from_invalid_pod(&e))?;
    let updating = record.clone();
    tokio::task::spawn_blocking(move || updating.update(&admitted))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| {
            ApiError::Conflict(format!(
                "pod {name:?} could not be updated: {}",
                error_chain(&e)
            ))
        })?;
    refresh::refreshed(daemon, record, name)
}

pub(super) async fn delete(
    daemon: &Daemon,
    namespace: &str,
    name: &str,
    grace_period_seconds: Option<i64>,
) -> Result<Value, ApiError> {
    let (record, object) = {
        let mut state = daemon.lock();
        let uid = state
            .uid_of(namespace, name)
            .ok_or_else(|| ApiError::pod_not_found(name))?;
        let entry = state.pods.get_mut(&uid).expect("found");
        entry.deleting = true;
        (entry.record.clone(), entry.object.clone())
    };
    let terminal = record
        .phase()
        .ok()
        .flatten()
        .is_some_and(PodPhase::is_terminal);
    if !terminal {
        let to_stop = record.clone();
        let stopped = tokio::task::spawn_blocking(move || to_stop.stop(grace_period_seconds))
            .await
            .map_err(ApiError::internal)?;
        if let Err(e) = stopped {
            tracing::warn!(%name, "asking the monitor to stop the pod: {}", error_chain(&e));
        }
    }
    let mut object = object;
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        let now = now();
        metadata
            .entry("deletionTimestamp")
            .or_insert_with(|| now.to_string().into());
        if let Some(grace) = grace_period_seconds {
            metadata.insert("deletionGracePeriodSeconds".into(), grace.into());
        }
    }
    // The pod goes (a DELETED watch event) once its monitor is done: the
    // next refresh sees it.
    Ok(object)
}
