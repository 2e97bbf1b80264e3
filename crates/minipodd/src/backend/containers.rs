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

/// Why a container that never ran has no log, in the kubelet's words
/// (`validateContainerLogStatus`, `pkg/kubelet/kubelet_pods.go`): a
/// container waiting with no earlier run, e.g. `ContainerCreating` while
/// the pod's sandbox cannot be created. `None` when it has a log to show.
fn waiting_to_start(status: &Value, container: &str, pod: &str) -> Option<String> {
    let state = &status["state"];
    let ran = !state["running"].is_null()
        || !state["terminated"].is_null()
        || !status["lastState"]["terminated"].is_null();
    if ran {
        return None;
    }
    let what = match state["waiting"]["reason"].as_str() {
        Some("ErrImagePull") => ": image can't be pulled".to_owned(),
        Some("ImagePullBackOff") => ": trying and failing to pull image".to_owned(),
        Some(reason) => format!(": {reason}"),
        None if !state["waiting"].is_null() => ": ".to_owned(),
        None => " - no logs yet".to_owned(),
    };
    Some(format!(
        "container \"{container}\" in pod \"{pod}\" is waiting to start{what}"
    ))
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
        if !options.previous
            && let Some(message) = status
                .as_ref()
                .and_then(|s| waiting_to_start(s, &container, name))
        {
            return Err(ApiError::BadRequest(message));
        }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::waiting_to_start;

    #[test]
    fn a_container_that_never_ran_has_no_log_and_the_kubelets_reason() {
        let waiting =
            |reason: &str| json!({"state": {"waiting": {"reason": reason}}, "lastState": {}});
        assert_eq!(
            waiting_to_start(&waiting("ContainerCreating"), "app", "web").as_deref(),
            Some("container \"app\" in pod \"web\" is waiting to start: ContainerCreating")
        );
        assert_eq!(
            waiting_to_start(&waiting("ErrImagePull"), "app", "web").as_deref(),
            Some("container \"app\" in pod \"web\" is waiting to start: image can't be pulled")
        );
        assert_eq!(
            waiting_to_start(&waiting("ImagePullBackOff"), "app", "web").as_deref(),
            Some(
                "container \"app\" in pod \"web\" is waiting to start: trying and failing to pull image"
            )
        );
        // One that ran before has a log: waiting to restart, running, done.
        let restarting = json!({
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 1}},
        });
        assert_eq!(waiting_to_start(&restarting, "app", "web"), None);
        let running = json!({"state": {"running": {}}, "lastState": {}});
        assert_eq!(waiting_to_start(&running, "app", "web"), None);
        let done = json!({"state": {"terminated": {"exitCode": 0}}, "lastState": {}});
        assert_eq!(waiting_to_start(&done, "app", "web"), None);
    }
}
