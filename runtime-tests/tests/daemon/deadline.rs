//! `activeDeadlineSeconds` through the daemon and the real kubectl: the
//! API server's update rules (set or lowered, never raised or removed),
//! and a running pod whose deadline is lowered below its age fails with
//! `DeadlineExceeded` at once (`docs/kubernetes-semantics.md` §4.16).

use super::*;

const MESSAGE: &str = "Pod was active on the node longer than the specified deadline";

/// `kubectl patch pod <name> -p <patch>` that must fail: its stderr.
fn refused_patch(node: &Node, name: &str, patch: &str) -> String {
    let out = node.kubectl(&["patch", "pod", name, "-p", patch]);
    assert!(
        !out.status.success(),
        "{patch} was accepted\n{}",
        node.diagnostics()
    );
    text(&out.stderr)
}

#[test]
fn kubectl_lowers_a_running_pods_deadline_and_the_pod_fails_with_deadline_exceeded() {
    const TEST: &str =
        "kubectl_lowers_a_running_pods_deadline_and_the_pod_fails_with_deadline_exceeded";
    if !root_or_skip(TEST) || !tool_or_skip("kubectl", kubectl_installed(), TEST) {
        return;
    }
    let _serial = serial();
    let k = Tool::Kubectl;
    let mut node = Node::new();
    node.start_daemon();
    let mut pod = node.scenario_pod(
        "deadline",
        vec![],
        vec![container("app", &ScriptOptions::new(), false)],
    );
    pod["spec"]["activeDeadlineSeconds"] = json!(600);
    pod["spec"]["terminationGracePeriodSeconds"] = json!(5);
    let manifest = node.manifest(&pod);
    node.ok(k, &["apply", "-f", manifest.to_str().expect("utf-8")]);
    let running = node.wait_for_pod(k, "deadline", "the app runs", |p| {
        running_and_ready(p, "app")
    });
    let uid = running["metadata"]["uid"].as_str().expect("uid").to_owned();

    // The API server's update rules, in its words.
    let raised = refused_patch(
        &node,
        "deadline",
        r#"{"spec":{"activeDeadlineSeconds":900}}"#,
    );
    assert!(
        raised.contains("Invalid value: 900: must be less than or equal to previous value"),
        "{raised}"
    );
    let removed = refused_patch(
        &node,
        "deadline",
        r#"{"spec":{"activeDeadlineSeconds":null}}"#,
    );
    assert!(
        removed.contains("must not update from a positive integer to nil value"),
        "{removed}"
    );
    assert_eq!(
        node.pod(k, "deadline").expect("the pod")["status"]["phase"],
        "Running"
    );

    // Lowered below the pod's age: the deadline has passed at once.
    node.ok(
        k,
        &[
            "patch",
            "pod",
            "deadline",
            "-p",
            r#"{"spec":{"activeDeadlineSeconds":1}}"#,
        ],
    );
    let failed = node.wait_for_pod(k, "deadline", "the pod failed its deadline", |p| {
        p["status"]["phase"] == "Failed"
            && container_status(p, "app").is_some_and(|s| s["state"].get("terminated").is_some())
    });
    assert_eq!(failed["spec"]["activeDeadlineSeconds"], 1);
    assert_eq!(failed["status"]["reason"], "DeadlineExceeded", "{failed}");
    assert_eq!(failed["status"]["message"], MESSAGE, "{failed}");
    assert!(
        failed["metadata"].get("deletionTimestamp").is_none(),
        "not a deletion: {failed}"
    );
    assert_eq!(
        restart_count(&failed, "app"),
        0,
        "no restart after the deadline"
    );
    let events = pod_events(&node, k, "deadline");
    assert!(
        has_event(&events, "Normal", "DeadlineExceeded", MESSAGE),
        "{events:#?}"
    );
    assert!(
        has_event(&events, "Normal", "Killing", "Stopping container app"),
        "{events:#?}"
    );
    // kubectl's printPod starts from `status.reason` but a terminated
    // container's reason overrides it: the app's TERM trap exited 0.
    let table = node.ok(k, &["get", "pods"]);
    let row: Vec<&str> = table
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(row[..4], ["deadline", "0/1", "Completed", "0"], "{table}");

    node.ok(k, &["delete", "pod", "deadline"]);
    assert!(node.pod(k, "deadline").is_none());
    node.check_pod_gone(&uid);
    node.finish();
}
