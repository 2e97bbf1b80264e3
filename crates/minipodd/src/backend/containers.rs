//! A container's log and exec: the container is picked (and checked) as
//! the API server does, then the log file is streamed or the command run
//! through the pod's monitor ([`crate::exec`]).

use std::path::PathBuf;
use std::sync::Arc;

use minipod_api::ApiError;
use minipod_api::backend::{ByteStream, ExecOptions, ExecSession, LogOptions};
use serde_json::Value;

use super::Daemon;
use super::state::Entry;
use crate::logs;

/// The container statuses of a pod object, init containers first.
fn statuses(object: &Value) -> Vec<Value> {
    let status = &object["status"];
    ["initContainerStatuses", "containerStatuses"]
        .iter()
        .flat_map(|k| status[*k].as_array().cloned().unwrap_or_default())
        .collect()
}

/// The names of a pod object's containers, init containers first.
fn container_names(object: &Value) -> Vec<String> {
    ["initContainers", "containers"]
        .iter()
        .flat_map(|k| object["spec"][*k].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["name"].as_str().map(String::from))
        .collect()
}

/// The log file of `container`'s run `attempt` of the pod.
fn log_path(daemon: &Daemon, entry: &Entry, container: &str, attempt: i64) -> PathBuf {
    minipod_runtime::logs::PodLogs {
        namespace: &entry.namespace,
        name: &entry.name,
        uid: entry.record.uid(),
    }
    .container_log(
        &daemon.node.logs_dir,
        container,
        u32::try_from(attempt).unwrap_or(0),
    )
}

pub(super) fn logs(
    daemon: &Daemon,
    namespace: &str,
    name: &str,
    options: LogOptions,
) -> Result<ByteStream, ApiError> {
    let (path, record, container, attempt) = {
        let state = daemon.lock();
        let entry = state
            .find(namespace, name)
            .ok_or_else(|| ApiError::pod_not_found(name))?;
        let names = container_names(&entry.object);
        let container = match &options.container {
            Some(c) if names.contains(c) => c.clone(),
            Some(c) => {
                return Err(ApiError::BadRequest(format!(
                    "container {c} is not valid for pod {name}"
                )));
            }
            None if names.len() == 1 => names[0].clone(),
            None => {
                return Err(ApiError::BadRequest(format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    names.join(" ")
                )));
            }
        };
        let status = statuses(&entry.object)
            .into_iter()
            .find(|s| s["name"] == container.as_str());
        let restarts = status
            .as_ref()
            .and_then(|s| s["restartCount"].as_i64())
            .unwrap_or(0);
        let attempt = if options.previous {
            if restarts == 0 {
                return Err(ApiError::BadRequest(format!(
                    "previous terminated container \"{container}\" in pod \"{name}\" not found"
                )));
            }
            restarts - 1
        } else {
            restarts
        };
        (
            log_path(daemon, entry, &container, attempt),
            entry.record.clone(),
            container,
            attempt,
        )
    };
    let still_running: logs::StillRunning = if options.previous {
        Arc::new(|| false)
    } else {
        Arc::new(move || {
            record.status_json().is_ok_and(|pod| {
                statuses(&pod).iter().any(|s| {
                    s["name"] == container.as_str()
                        && s["restartCount"].as_i64() == Some(attempt)
                        && !s["state"]["running"].is_null()
                })
            })
        })
    };
    Ok(logs::stream(path, options, still_running))
}

/// Runs the command through the pod's monitor, which owns the
/// container's process, attached: its streams come back as they are
/// written, with stdin and a terminal when asked for ([`crate::exec`]).
pub(super) async fn exec(
    daemon: &Daemon,
    namespace: &str,
    name: &str,
    options: ExecOptions,
) -> Result<ExecSession, ApiError> {
    let (record, container) = {
        let state = daemon.lock();
        let entry = state
            .find(namespace, name)
            .ok_or_else(|| ApiError::pod_not_found(name))?;
        let names = container_names(&entry.object);
        let container = match options.container {
            Some(c) if names.contains(&c) => c,
            Some(c) => {
                return Err(ApiError::BadRequest(format!(
                    "container {c} is not valid for pod {name}"
                )));
            }
            // kubectl picks the default container itself; else the first app.
            None => entry.object["spec"]["containers"][0]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        };
        (entry.record.clone(), container)
    };
    // Attached, as the kubelet's exec: streamed output (no 10 KiB cap,
    // no timeout), stdin and a terminal when asked for.
    if options.tty {
        Ok(crate::exec::with_terminal(
            record,
            container,
            options.command,
            options.stdin,
        ))
    } else {
        crate::exec::with_pipes(record, container, options.command, options.stdin).await
    }
}
