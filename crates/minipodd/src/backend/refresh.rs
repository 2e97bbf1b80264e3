//! Turning each pod's record into its API object: new and changed
//! statuses, new events, monitors that died, deleted pods whose monitor is
//! done. The record is the truth (written by the pod's monitor); these
//! functions read it, give each change the next resourceVersion and
//! publish it to the watchers.

use minipod_api::ApiError;
use minipod_api::backend::{EventType, Resource, WatchEvent};
use minipod_lifecycle::status::PodPhase;
use minipod_monitor::records::{Checked, PULL_SECRETS_FILE, PodRecord};
use minipod_plan::admission::PodClaims;
use minipod_spec::error_chain;
use serde_json::Value;

use super::Daemon;
use super::state::{Change, Entry, with_version};

/// Reads every record ([`Daemon::refresh`]); at `startup`, a record whose monitor never
/// started (the daemon stopped between creating the record and starting
/// its monitor) gets its monitor now. Later, a record without a monitor
/// is one being created: left alone.
pub(super) fn refresh_all(daemon: &Daemon, startup: bool) {
    let records = match daemon.records.list() {
        Ok(records) => records,
        Err(e) => {
            tracing::warn!("listing pod records: {}", error_chain(&e));
            return;
        }
    };
    for record in records {
        refresh_record(daemon, record, startup);
    }
}

/// The pod of `record` as the API shows it, read from the record now
/// (a create or an update answers with what it made).
pub(super) fn refreshed(daemon: &Daemon, record: PodRecord, name: &str) -> Result<Value, ApiError> {
    let uid = record.uid().to_owned();
    refresh_record(daemon, record, false);
    daemon
        .lock()
        .pods
        .get(&uid)
        .map(|e| e.object.clone())
        .ok_or_else(|| ApiError::pod_not_found(name))
}

/// Reads one record and publishes what changed since the last read.
fn refresh_record(daemon: &Daemon, record: PodRecord, startup: bool) {
    let uid = record.uid().to_owned();
    // Whether the pod's monitor is done with it (ended, or died and its
    // pod was cleaned up and marked). Once it is, it is never checked
    // again: the check reads /proc and the node's mounts and cgroups,
    // too much to repeat for every finished pod four times a second.
    let already_done = daemon.lock().pods.get(&uid).is_some_and(|e| e.monitor_done);
    let monitor_done = already_done || {
        let checked = record.check_monitor(&daemon.node);
        if startup
            && let Ok(Checked::NotStarted) = checked
            && record
                .phase()
                .ok()
                .flatten()
                .is_none_or(|p| !p.is_terminal())
            && let Err(e) = write_missing_pull_secrets(daemon, &record)
                .and_then(|()| record.spawn_monitor(&daemon.launcher))
        {
            // Created, but the daemon stopped before its monitor started.
            let _ = record.mark_failed(
                "FailedCreatePodSandBox",
                &format!("starting the pod's monitor: {}", error_chain(&e)),
                &daemon.node.node_name,
            );
        }
        // A failed clean-up is tried again on the next refresh. A
        // record that ended without ever having a monitor (rejected at
        // admission, or its monitor could not start) has nothing running.
        match checked {
            Ok(Checked::Finished { .. } | Checked::Lost { .. }) => true,
            Ok(Checked::NotStarted) => record
                .phase()
                .ok()
                .flatten()
                .is_some_and(PodPhase::is_terminal),
            Ok(Checked::Running(_)) | Err(_) => false,
        }
    };
    let Ok(status) = record.status_json() else {
        return;
    };
    let events = record.events().unwrap_or_default();
    let known = daemon.lock().pods.contains_key(&uid);
    // Read once per pod: resources and ports cannot change after creation.
    let claims = if known {
        PodClaims::default()
    } else {
        record
            .admitted()
            .map(|pod| PodClaims::of(&pod.pod().spec))
            .unwrap_or_default()
    };
    let mut state = daemon.lock();
    let known = state.pods.contains_key(&uid);
    if !known {
        let metadata = &status["metadata"];
        let namespace = metadata["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_owned();
        let name = metadata["name"].as_str().unwrap_or_default().to_owned();
        let version = state.next();
        let object = with_version(status.clone(), version);
        state.pods.insert(
            uid.clone(),
            Entry {
                record: record.clone(),
                namespace: namespace.clone(),
                name,
                object: object.clone(),
                seen: status.clone(),
                events_seen: 0,
                deleting: false,
                monitor_done,
                claims,
            },
        );
        daemon.publish(
            &mut state,
            Change {
                version,
                resource: Resource::Pods,
                namespace,
                event: WatchEvent {
                    event_type: EventType::Added,
                    object,
                },
            },
        );
    } else if state.pods.get(&uid).is_some_and(|e| e.seen != status) {
        let version = state.next();
        let object = with_version(status.clone(), version);
        let entry = state.pods.get_mut(&uid).expect("known");
        entry.seen = status.clone();
        entry.object = object.clone();
        let namespace = entry.namespace.clone();
        daemon.publish(
            &mut state,
            Change {
                version,
                resource: Resource::Pods,
                namespace,
                event: WatchEvent {
                    event_type: EventType::Modified,
                    object,
                },
            },
        );
    }
    let seen = state.pods.get(&uid).map_or(0, |e| e.events_seen);
    for event in events.iter().skip(seen) {
        let version = state.next();
        let object = with_version(event.clone(), version);
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_owned();
        // A repeated event is the same Event with a higher count (the
        // kubelet's event correlator): it replaces the one of its name.
        let name = &object["metadata"]["name"];
        let event_type = match state
            .events
            .iter_mut()
            .find(|e| e["metadata"]["name"] == *name)
        {
            Some(earlier) => {
                *earlier = object.clone();
                EventType::Modified
            }
            None => {
                state.events.push(object.clone());
                EventType::Added
            }
        };
        daemon.publish(
            &mut state,
            Change {
                version,
                resource: Resource::Events,
                namespace,
                event: WatchEvent { event_type, object },
            },
        );
    }
    if let Some(entry) = state.pods.get_mut(&uid) {
        entry.events_seen = events.len();
        entry.monitor_done = monitor_done;
    }
    // A deleted pod goes once its monitor is done with it.
    let deleting = state.pods.get(&uid).is_some_and(|e| e.deleting);
    if deleting && monitor_done {
        // Its files go first, then the object: once the API answers
        // NotFound, nothing of the pod is left on the node.
        let (record, logs) = {
            let entry = state.pods.get(&uid).expect("known");
            // As the kubelet does, a deleted pod's logs go with it.
            let logs = minipod_runtime::logs::PodLogs {
                namespace: &entry.namespace,
                name: &entry.name,
                uid: &uid,
            }
            .dir(&daemon.node.logs_dir);
            (entry.record.clone(), logs)
        };
        drop(state);
        if let Err(e) = record.remove() {
            tracing::warn!(%uid, "removing the record of a deleted pod: {}", error_chain(&e));
        }
        if let Err(e) = std::fs::remove_dir_all(&logs)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(%uid, "removing {}: {e}", logs.display());
        }
        let mut state = daemon.lock();
        // Another refresh may have finished the same pod meanwhile.
        let Some(entry) = state.pods.remove(&uid) else {
            return;
        };
        let version = state.next();
        let object = with_version(entry.object.clone(), version);
        let namespace = entry.namespace.clone();
        daemon.publish(
            &mut state,
            Change {
                version,
                resource: Resource::Pods,
                namespace,
                event: WatchEvent {
                    event_type: EventType::Deleted,
                    object,
                },
            },
        );
    }
}

/// A record made just before the daemon stopped may lack the pull
/// secrets its pod names: they are resolved now, before its monitor starts.
fn write_missing_pull_secrets(
    daemon: &Daemon,
    record: &PodRecord,
) -> Result<(), minipod_monitor::records::RecordError> {
    if record.path(PULL_SECRETS_FILE).exists() {
        return Ok(());
    }
    let admitted = record.admitted()?;
    let pulls = daemon.lock().pull_secrets(admitted.pod());
    match pulls {
        Some(pulls) => record.write_pull_secrets(&pulls),
        None => Ok(()),
    }
}
