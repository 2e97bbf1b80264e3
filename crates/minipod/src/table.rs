//! kubectl's table layout and its pod rows.
//!
//! kubectl aligns columns with Go's `text/tabwriter`
//! (`k8s.io/cli-runtime/pkg/printers/tabwriter.go`: minimum width 6,
//! padding 3, spaces): every column but the last is as wide as its widest
//! cell plus three spaces.

use std::time::{SystemTime, UNIX_EPOCH};

use minipod_lifecycle::Timestamp;
use minipod_lifecycle::printer::{PodView, kubectl_columns, wide_columns};
use minipod_lifecycle::status::PodStatus;
use minipod_spec::model::Pod;

const MIN_WIDTH: usize = 6;
const PADDING: usize = 3;

/// The time ages are counted to (the AGE column, event ages).
pub fn now() -> Timestamp {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_unix_nanos(nanos)
}

/// Lays out `rows` (the first one the header) as kubectl does.
pub fn render(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max((cell.chars().count() + PADDING).max(MIN_WIDTH));
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i] - cell.chars().count();
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The header of `kubectl get pods` (`wide` adds the node columns).
pub fn pod_header(wide: bool, all_namespaces: bool) -> Vec<String> {
    let mut header: Vec<String> = Vec::new();
    if all_namespaces {
        header.push("NAMESPACE".into());
    }
    header.extend(["NAME", "READY", "STATUS", "RESTARTS", "AGE"].map(String::from));
    if wide {
        header.extend(["IP", "NODE", "NOMINATED NODE", "READINESS GATES"].map(String::from));
    }
    header
}

/// One pod's row, from its Kubernetes JSON, at `now`.
pub fn pod_row(
    pod: &serde_json::Value,
    now: Timestamp,
    wide: bool,
    all_namespaces: bool,
) -> Vec<String> {
    let typed: Option<Pod> = serde_json::from_value(strip_status(pod)).ok();
    let status: PodStatus = serde_json::from_value(pod["status"].clone()).unwrap_or_default();
    let metadata = &pod["metadata"];
    let created = metadata["creationTimestamp"]
        .as_str()
        .and_then(|t| Timestamp::parse_rfc3339(t).ok());
    let spec = typed.map(|p| p.spec).unwrap_or_default();
    let columns = kubectl_columns(
        PodView {
            spec: &spec,
            status: &status,
            created,
            deletion_requested: !metadata["deletionTimestamp"].is_null(),
        },
        now,
    );
    let mut row = Vec::new();
    if all_namespaces {
        row.push(metadata["namespace"].as_str().unwrap_or("").to_owned());
    }
    row.push(metadata["name"].as_str().unwrap_or("").to_owned());
    row.extend([columns.ready, columns.status, columns.restarts, columns.age]);
    if wide {
        let wide = wide_columns(&spec, &status);
        row.extend([
            wide.ip,
            wide.node,
            wide.nominated_node,
            wide.readiness_gates,
        ]);
    }
    row
}

/// The pod without `status` and the fields the API server sets, so the
/// strict manifest model reads it.
fn strip_status(pod: &serde_json::Value) -> serde_json::Value {
    let mut pod = pod.clone();
    if let Some(object) = pod.as_object_mut() {
        object.remove("status");
    }
    pod
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_as_kubectl_pads_them() {
        let rows = vec![
            pod_header(false, false),
            vec![
                "web".into(),
                "1/1".into(),
                "Running".into(),
                "0".into(),
                "5s".into(),
            ],
        ];
        assert_eq!(
            render(&rows),
            "NAME   READY   STATUS    RESTARTS   AGE\nweb    1/1     Running   0          5s\n"
        );
    }

    #[test]
    fn a_pod_row_comes_from_its_status() {
        let pod = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "app", "image": "busybox"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "app", "ready": true, "restartCount": 2, "image": "busybox", "imageID": "",
                 "state": {"running": {"startedAt": "2026-01-01T00:00:01Z"}}}]}
        });
        let now = Timestamp::parse_rfc3339("2026-01-01T00:02:00Z").unwrap();
        assert_eq!(
            pod_row(&pod, now, false, false),
            ["web", "1/1", "Running", "2", "2m"]
        );
    }

    /// `-o wide` as the daemon's pods come back from the API: server-set
    /// metadata, `nodeName`, both address forms, a readiness gate.
    #[test]
    fn a_wide_row_shows_the_pod_ip_node_and_gates() {
        let pod = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "uid": "u-1",
                         "resourceVersion": "4", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"nodeName": "node-a", "readinessGates": [{"conditionType": "example.com/lb"}],
                     "containers": [{"name": "app", "image": "busybox"}]},
            "status": {"phase": "Running", "podIP": "127.0.0.1", "podIPs": [{"ip": "127.0.0.1"}],
                       "conditions": [{"type": "example.com/lb", "status": "True"}]}
        });
        let now = Timestamp::parse_rfc3339("2026-01-01T00:02:00Z").unwrap();
        let row = pod_row(&pod, now, true, false);
        assert_eq!(row[5..], ["127.0.0.1", "node-a", "<none>", "1/1"]);
        let pending = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"containers": [{"name": "app", "image": "busybox"}]},
            "status": {"phase": "Pending"}
        });
        let row = pod_row(&pending, now, true, false);
        assert_eq!(row[5..], ["<none>", "<none>", "<none>", "<none>"]);
    }
}
