//! `kubectl describe pod`'s layout, from the pod and its events as the
//! API returns them: the pod, each init and app container (State, Last
//! State, Ready, Restart Count), Conditions, Volumes, Events.

use minipod_lifecycle::Timestamp;

use crate::commands::events::event_time;
use crate::table;

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "<none>".into(),
        other => other.to_string(),
    }
}

/// `k=v` lines of a map, or `<none>`.
fn map_lines(v: &serde_json::Value) -> Vec<String> {
    match v.as_object() {
        Some(map) if !map.is_empty() => map
            .iter()
            .map(|(k, v)| format!("{k}={}", text(v)))
            .collect(),
        _ => vec!["<none>".into()],
    }
}

/// A kubectl time: `Sat, 21 Nov 2026 21:45:18 +0000`.
fn kube_time(v: &serde_json::Value) -> String {
    let Some(t) = v.as_str().and_then(|t| Timestamp::parse_rfc3339(t).ok()) else {
        return "<unset>".into();
    };
    let c = t.civil();
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    let name =
        |names: &[&'static str], i: i64| names[usize::try_from(i).unwrap_or(0) % names.len()];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
        name(&WEEKDAYS, c.weekday),
        c.day,
        name(&MONTHS, c.month - 1),
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

/// Aligned `Key:  value` lines at `indent`.
fn fields(out: &mut String, indent: usize, rows: &[(String, String)]) {
    let width = rows.iter().map(|(k, _)| k.len() + 1).max().unwrap_or(0) + 2;
    for (key, value) in rows {
        let label = format!("{key}:");
        out.push_str(&format!("{:indent$}{label:<width$}{value}\n", ""));
    }
}

fn state_rows(label: &str, state: &serde_json::Value) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    if let Some(running) = state.get("running") {
        rows.push((label.into(), "Running".into()));
        rows.push(("  Started".into(), kube_time(&running["startedAt"])));
    } else if let Some(t) = state.get("terminated") {
        rows.push((label.into(), "Terminated".into()));
        rows.push(("  Reason".into(), text(&t["reason"])));
        if let Some(message) = t["message"].as_str() {
            rows.push(("  Message".into(), message.into()));
        }
        rows.push(("  Exit Code".into(), text(&t["exitCode"])));
        rows.push(("  Started".into(), kube_time(&t["startedAt"])));
        rows.push(("  Finished".into(), kube_time(&t["finishedAt"])));
    } else if let Some(w) = state.get("waiting") {
        rows.push((label.into(), "Waiting".into()));
        rows.push(("  Reason".into(), text(&w["reason"])));
    } else {
        rows.push((label.into(), "<none>".into()));
    }
    rows
}

/// One line of a container's block: an aligned `Key:  value`, or a plain
/// line under the previous key (a command's arguments, an env entry).
enum Line {
    Field(String, String),
    Item(String),
}

fn describe_containers(
    out: &mut String,
    title: &str,
    specs: &serde_json::Value,
    statuses: &serde_json::Value,
) {
    let Some(specs) = specs.as_array().filter(|a| !a.is_empty()) else {
        return;
    };
    out.push_str(&format!("{title}:\n"));
    for spec in specs {
        let name = spec["name"].as_str().unwrap_or("");
        let status = statuses
            .as_array()
            .and_then(|a| a.iter().find(|s| s["name"] == name))
            .cloned()
            .unwrap_or_default();
        out.push_str(&format!("  {name}:\n"));
        let field = |k: &str, v: String| Line::Field(k.to_owned(), v);
        let mut lines = vec![
            field(
                "Container ID",
                status["containerID"].as_str().unwrap_or("").to_owned(),
            ),
            field("Image", text(&spec["image"])),
            field(
                "Image ID",
                status["imageID"].as_str().unwrap_or("").to_owned(),
            ),
        ];
        for (key, name) in [("Command", "command"), ("Args", "args")] {
            if let Some(items) = spec[name].as_array() {
                lines.push(field(key, String::new()));
                lines.extend(
                    items
                        .iter()
                        .map(|i| Line::Item(text(i).replace('\n', "\n      "))),
                );
            }
        }
        lines.extend(
            state_rows("State", &status["state"])
                .into_iter()
                .map(|(k, v)| Line::Field(k, v)),
        );
        if status["lastState"]
            .as_object()
            .is_some_and(|m| !m.is_empty())
        {
            lines.extend(
                state_rows("Last State", &status["lastState"])
                    .into_iter()
                    .map(|(k, v)| Line::Field(k, v)),
            );
        }
        let ready = if status["ready"] == true {
            "True"
        } else {
            "False"
        };
        lines.push(field("Ready", ready.into()));
        lines.push(field(
            "Restart Count",
            status["restartCount"].as_i64().unwrap_or(0).to_string(),
        ));
        match spec["env"].as_array().filter(|a| !a.is_empty()) {
            None => lines.push(field("Environment", "<none>".into())),
            Some(env) => {
                lines.push(field("Environment", String::new()));
                lines.extend(env.iter().map(|e| Line::Item(env_line(e))));
            }
        }
        let width = lines
            .iter()
            .filter_map(|l| match l {
                Line::Field(k, _) => Some(k.len() + 1),
                Line::Item(_) => None,
            })
            .max()
            .unwrap_or(0)
            + 2;
        for line in &lines {
            match line {
                Line::Field(key, value) => {
                    let label = format!("{key}:");
                    let text = format!("    {label:<width$}{value}");
                    out.push_str(text.trim_end());
                    out.push('\n');
                }
                Line::Item(item) => out.push_str(&format!("      {item}\n")),
            }
        }
    }
}

/// An env entry as kubectl describes it: `NAME:  value`, or the source of
/// a `valueFrom` (`POD_NAME:  (v1:metadata.name)`).
fn env_line(e: &serde_json::Value) -> String {
    let name = text(&e["name"]);
    let field = &e["valueFrom"]["fieldRef"];
    if !field.is_null() {
        let version = field["apiVersion"].as_str().unwrap_or("v1");
        return format!("{name}:  ({version}:{})", text(&field["fieldPath"]));
    }
    let resource = &e["valueFrom"]["resourceFieldRef"];
    if !resource.is_null() {
        return format!(
            "{name}:  {} ({})",
            text(&resource["containerName"]),
            text(&resource["resource"])
        );
    }
    format!("{name}:  {}", e["value"].as_str().unwrap_or(""))
}

pub(super) fn describe_text(
    pod: &serde_json::Value,
    events: &[serde_json::Value],
    now: Timestamp,
) -> String {
    let mut out = String::new();
    let metadata = &pod["metadata"];
    let status = &pod["status"];
    let pod_ips: Vec<&str> = status["podIPs"]
        .as_array()
        .map(|ips| ips.iter().filter_map(|ip| ip["ip"].as_str()).collect())
        .unwrap_or_default();
    // kubectl prints the pod's reason and message after its status when
    // they are set (a rejected or evicted pod: `OutOfcpu`, ...).
    let reason_and_message: Vec<(String, String)> = [("Reason", "reason"), ("Message", "message")]
        .into_iter()
        .filter_map(|(label, key)| {
            status[key]
                .as_str()
                .filter(|v| !v.is_empty())
                .map(|v| (label.to_owned(), v.to_owned()))
        })
        .collect();
    fields(
        &mut out,
        0,
        &[
            ("Name".into(), text(&metadata["name"])),
            ("Namespace".into(), text(&metadata["namespace"])),
            (
                "Node".into(),
                format!(
                    "{}/{}",
                    pod["spec"]["nodeName"].as_str().unwrap_or("<none>"),
                    status["hostIP"].as_str().unwrap_or("")
                ),
            ),
            ("Start Time".into(), kube_time(&status["startTime"])),
            (
                "Labels".into(),
                map_lines(&metadata["labels"]).join("\n              "),
            ),
            (
                "Annotations".into(),
                map_lines(&metadata["annotations"]).join("\n              "),
            ),
            ("Status".into(), {
                let phase = text(&status["phase"]);
                if metadata["deletionTimestamp"].is_null() {
                    phase
                } else {
                    "Terminating".into()
                }
            }),
        ]
        .into_iter()
        .chain(reason_and_message)
        .chain([(
            "IP".into(),
            status["podIP"].as_str().unwrap_or("").to_owned(),
        )])
        .chain(pod_ips.is_empty().then(|| ("IPs".into(), "<none>".into())))
        .collect::<Vec<_>>(),
    );
    // kubectl's `describePodIPs`: every address of `status.podIPs`, one a
    // line under `IPs:`.
    if !pod_ips.is_empty() {
        out.push_str("IPs:\n");
        for ip in &pod_ips {
            out.push_str(&format!("  IP:  {ip}\n"));
        }
    }
    describe_containers(
        &mut out,
        "Init Containers",
        &pod["spec"]["initContainers"],
        &status["initContainerStatuses"],
    );
    describe_containers(
        &mut out,
        "Containers",
        &pod["spec"]["containers"],
        &status["containerStatuses"],
    );
    out.push_str("Conditions:\n");
    let mut rows = vec![vec!["  Type".to_owned(), "Status".to_owned()]];
    for c in status["conditions"].as_array().cloned().unwrap_or_default() {
        rows.push(vec![format!("  {}", text(&c["type"])), text(&c["status"])]);
    }
    out.push_str(&table::render(&rows));
    fields(
        &mut out,
        0,
        &[
            (
                "Volumes".into(),
                match pod["spec"]["volumes"].as_array() {
                    Some(v) if !v.is_empty() => v
                        .iter()
                        .map(|v| text(&v["name"]))
                        .collect::<Vec<_>>()
                        .join(", "),
                    _ => "<none>".into(),
                },
            ),
            ("QoS Class".into(), text(&status["qosClass"])),
        ],
    );
    if events.is_empty() {
        out.push_str("Events:            <none>\n");
    } else {
        out.push_str("Events:\n");
        let mut rows = vec![
            ["  Type", "Reason", "Age", "From", "Message"]
                .map(String::from)
                .to_vec(),
            ["  ----", "------", "----", "----", "-------"]
                .map(String::from)
                .to_vec(),
        ];
        for e in events {
            let age = event_time(e)
                .map(|t| minipod_lifecycle::duration::human_duration(now.nanos_since(t)))
                .unwrap_or_else(|| "<unknown>".into());
            rows.push(vec![
                format!("  {}", text(&e["type"])),
                text(&e["reason"]),
                age,
                e["source"]["component"]
                    .as_str()
                    .unwrap_or("kubelet")
                    .to_owned(),
                text(&e["message"]),
            ]);
        }
        out.push_str(&table::render(&rows));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_kubectl_describe_writes_them() {
        let t = serde_json::json!("2026-11-21T22:00:04Z");
        assert_eq!(kube_time(&t), "Sat, 21 Nov 2026 22:00:04 +0000");
        assert_eq!(kube_time(&serde_json::Value::Null), "<unset>");
    }

    #[test]
    fn a_described_pod_has_kubectls_sections() {
        let pod = serde_json::json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"containers": [{"name": "app", "image": "busybox",
                "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "app", "ready": true, "restartCount": 1,
                    "state": {"running": {"startedAt": "2026-11-21T22:00:04Z"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}
        });
        let text = describe_text(&pod, &[], Timestamp::from_unix_seconds(0));
        for needle in [
            "Name:         web\n",
            "Containers:\n  app:\n",
            "    State:          Running\n",
            "    Last State:     Terminated\n      Reason:       Error\n",
            "    Restart Count:  1\n",
            "      POD:  (v1:metadata.name)\n",
            "Conditions:\n  Type    Status\n  Ready   True\n",
            "Events:            <none>\n",
        ] {
            assert!(text.contains(needle), "{needle:?} not in\n{text}");
        }
    }

    #[test]
    fn a_rejected_pod_shows_its_reason_and_message_after_its_status() {
        let pod = serde_json::json!({
            "metadata": {"name": "big", "namespace": "default"},
            "spec": {"containers": [{"name": "app", "image": "busybox"}]},
            "status": {"phase": "Failed", "reason": "OutOfcpu",
                "message": "Pod was rejected: Node didn't have enough resource: cpu, requested: 600, used: 600, capacity: 1000"}
        });
        let text = describe_text(&pod, &[], Timestamp::from_unix_seconds(0));
        let expected = "Status:       Failed\nReason:       OutOfcpu\nMessage:      Pod was rejected: Node didn't have enough resource: cpu, requested: 600, used: 600, capacity: 1000\nIP:           \nIPs:          <none>\n";
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }

    #[test]
    fn more_labels_continue_under_the_first_as_kubectl_aligns_them() {
        let pod = serde_json::json!({
            "metadata": {"name": "web", "namespace": "default",
                "labels": {"a": "1", "b": "2"}},
            "spec": {"containers": [{"name": "web", "image": "busybox"}]},
            "status": {"phase": "Running"}
        });
        let text = describe_text(&pod, &[], Timestamp::from_unix_seconds(0));
        let expected = "Labels:       a=1\n              b=2\nAnnotations:  <none>\n";
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }

    #[test]
    fn the_pod_ips_are_listed_as_kubectl_lists_them() {
        let pod = serde_json::json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"containers": [{"name": "web", "image": "busybox"}]},
            "status": {"phase": "Running", "podIP": "10.88.0.2",
                "podIPs": [{"ip": "10.88.0.2"}, {"ip": "fd00::2"}]}
        });
        let text = describe_text(&pod, &[], Timestamp::from_unix_seconds(0));
        let expected = "Status:       Running\nIP:           10.88.0.2\nIPs:\n  IP:  10.88.0.2\n  IP:  fd00::2\nContainers:\n";
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
}
