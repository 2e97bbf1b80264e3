//! Termination messages, for real: a pod run by `minipod run` whose
//! containers write their `terminationMessagePath` (or only their log) and
//! exit, checked against `state.terminated.message` in the status file, as
//! the kubelet fills it (`getTerminationMessage`,
//! `readLastStringFromContainerLogs` in
//! `pkg/kubelet/kuberuntime/kuberuntime_container.go`): the file's content,
//! at most its last 4096 bytes; with `FallbackToLogsOnError` and a failed,
//! silent run, the last 80 lines of the log, at most 2048 bytes. And the
//! host side is minipod's own file: a symlink an init container planted
//! where the message goes, or one the container tries to put there, never
//! makes minipod read (or write) a host file.
//!
//! One pod, its containers run side by side, and one restarted pod (each
//! run has a file of its own; the last message moves to `lastState`), each
//! on a node of its own ([`ScratchNode`]), checked at the end to leave
//! nothing.

use std::fs;
use std::process::{Command, Stdio};
use std::time::Duration;

use minipod_runtime_tests::node::ScratchNode;
use minipod_runtime_tests::{MARKER_VAR, root_on_the_host_or_skip, serial, wait_for_exit};
use serde_json::{Value, json};

/// The real `minipod` command line, built inside this package.
const CLI: &str = env!("CARGO_BIN_EXE_minipod-cli");
/// Generous: the host is shared.
const PATIENCE: Duration = Duration::from_secs(120);
/// What the host file the symlinks point at holds.
const HOST_SECRET: &str = "host secret, never a message";

/// A busybox container running `script` under `sh -c`.
fn container(name: &str, script: &str, extra: Value) -> Value {
    let mut c = json!({
        "name": name,
        "image": "busybox:1.36",
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", script],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    });
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        c.extend(extra.clone());
    }
    c
}

/// The line `i` of the fallback container's output.
fn fallback_line(i: usize) -> String {
    format!("line {i:03} of the output, long enough to pass the byte limit")
}

fn pod(secret: &str) -> Value {
    let fallback = json!({"terminationMessagePolicy": "FallbackToLogsOnError"});
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "termination"},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 5,
            "volumes": [{"name": "data", "emptyDir": {}}],
            "initContainers": [container(
                "plant",
                &format!("ln -s {secret} /data/planted"),
                json!({}),
            )],
            "containers": [
                container("default", "echo -n 'bye from default' > /dev/termination-log; exit 1", json!({})),
                container(
                    "custom",
                    "echo 'custom path' > /tmp/msg/here; echo 'in the log'",
                    json!({"terminationMessagePath": "/tmp/msg/here"}),
                ),
                container(
                    "nonroot",
                    "echo -n \"written by $(id -u)\" > /dev/termination-log",
                    json!({"securityContext": {"runAsUser": 1000, "runAsGroup": 1000}}),
                ),
                container(
                    "huge",
                    "head -c 10000 /dev/zero | tr '\\0' a > /dev/termination-log; echo -n END >> /dev/termination-log; exit 2",
                    json!({}),
                ),
                container(
                    "fallback",
                    "i=1; while [ $i -le 100 ]; do printf 'line %03d of the output, long enough to pass the byte limit\\n' $i; i=$((i+1)); done; exit 3",
                    fallback.clone(),
                ),
                container("fallback-ok", "echo 'all good'", fallback.clone()),
                container(
                    "planted",
                    "echo -n 'mine' > /data/planted; exit 1",
                    json!({"terminationMessagePath": "/data/planted"}),
                ),
                container(
                    "relink",
                    &format!(
                        "rm -f /dev/termination-log 2>/dev/null || echo 'rm refused'; \
                         ln -sf {secret} /dev/termination-log 2>/dev/null || echo 'ln refused'; \
                         exit 4"
                    ),
                    fallback,
                ),
            ],
        },
    })
}

/// The Pod of the status file after `minipod run` ran `manifest` on `node`
/// to its end.
fn run_pod(node: &ScratchNode, manifest_json: &Value) -> Value {
    let manifest = node.path("pod.json");
    fs::write(&manifest, manifest_json.to_string()).expect("write the manifest");
    let status_file = node.path("status.json");
    let mut child = Command::new(CLI)
        .arg("run")
        .arg("-f")
        .arg(&manifest)
        .arg("--status-file")
        .arg(&status_file)
        .args(node.node_flags())
        .env(MARKER_VAR, &node.marker)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(node.path("stderr")).expect("stderr file"))
        .spawn()
        .expect("start minipod run");
    let exit = wait_for_exit(&mut child, PATIENCE);
    let stderr = fs::read_to_string(node.path("stderr")).unwrap_or_default();
    eprintln!("minipod run: {exit}\n{stderr}");
    serde_json::from_str(&fs::read_to_string(&status_file).unwrap_or_default())
        .unwrap_or(Value::Null)
}

/// Each container's `state.terminated` by name.
fn terminated(pod: &Value, name: &str) -> Value {
    pod["status"]["containerStatuses"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["name"] == name))
        .map(|s| s["state"]["terminated"].clone())
        .unwrap_or_else(|| panic!("no status of {name}: {pod}"))
}

#[test]
fn termination_messages_come_from_the_file_or_the_logs_and_never_a_host_file() {
    if !root_on_the_host_or_skip(
        "termination_messages_come_from_the_file_or_the_logs_and_never_a_host_file",
    ) {
        return;
    }
    let _serial = serial();
    let node = ScratchNode::new("termmsg");
    let secret = node.path("secret");
    fs::write(&secret, HOST_SECRET).expect("write the host file");
    let pod = run_pod(&node, &pod(secret.to_str().expect("utf-8")));
    assert_eq!(pod["status"]["phase"], "Failed", "{pod}");

    let message = |name: &str| terminated(&pod, name)["message"].clone();
    let exit_code = |name: &str| terminated(&pod, name)["exitCode"].clone();

    assert_eq!(message("default"), "bye from default");
    assert_eq!(exit_code("default"), 1);
    // A message is kept on success too, and the log is not used.
    assert_eq!(message("custom"), "custom path\n");
    assert_eq!(exit_code("custom"), 0);
    // The file is writable by a non-root user (mode 0666).
    assert_eq!(message("nonroot"), "written by 1000");
    // The last 4096 bytes of a larger file.
    assert_eq!(message("huge"), format!("{}END", "a".repeat(4093)));
    // The last 80 lines of the log, then its last 2048 bytes.
    let lines: String = (21..=100)
        .map(|i| format!("{}\n", fallback_line(i)))
        .collect();
    let want = &lines[lines.len() - 2048..];
    assert_eq!(message("fallback"), want);
    assert_eq!(exit_code("fallback"), 3);
    // No fallback for a run that succeeded, and no message at all.
    assert_eq!(message("fallback-ok"), Value::Null, "{pod}");
    // The symlink planted by the init container was resolved inside the
    // container's root: the message is the container's own, and the host
    // file is neither read nor written.
    assert_eq!(message("planted"), "mine");
    // The container could not replace its mount point with a symlink: its
    // file stayed empty, so its log stands in.
    assert_eq!(message("relink"), "rm refused\nln refused\n");
    for name in ["planted", "relink"] {
        assert!(
            !message(name).to_string().contains(HOST_SECRET),
            "{name}: {pod}"
        );
    }
    assert_eq!(
        fs::read_to_string(&secret).expect("the host file"),
        HOST_SECRET
    );

    node.check_nothing_left();
    node.remove_dir();
}

#[test]
fn each_run_has_its_own_file_and_the_last_message_moves_to_last_state() {
    if !root_on_the_host_or_skip(
        "each_run_has_its_own_file_and_the_last_message_moves_to_last_state",
    ) {
        return;
    }
    let _serial = serial();
    let node = ScratchNode::new("termmsg-restart");
    // The first run writes its message and fails; the second, restarted,
    // writes none and succeeds: its file is a new, empty one.
    let manifest = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "restarted"},
        "spec": {
            "restartPolicy": "OnFailure",
            "terminationGracePeriodSeconds": 5,
            "volumes": [{"name": "data", "emptyDir": {}}],
            "containers": [container(
                "app",
                "if [ -e /data/ran ]; then exit 0; fi; touch /data/ran; \
                 echo -n 'first run' > /dev/termination-log; exit 1",
                json!({}),
            )],
        },
    });
    let pod = run_pod(&node, &manifest);
    let status = &pod["status"]["containerStatuses"][0];
    assert_eq!(pod["status"]["phase"], "Succeeded", "{pod}");
    assert_eq!(status["restartCount"], 1, "{pod}");
    assert_eq!(
        status["lastState"]["terminated"]["message"], "first run",
        "{pod}"
    );
    assert_eq!(status["lastState"]["terminated"]["exitCode"], 1, "{pod}");
    assert_eq!(status["state"]["terminated"]["exitCode"], 0, "{pod}");
    assert_eq!(
        status["state"]["terminated"]["message"],
        Value::Null,
        "{pod}"
    );

    node.check_nothing_left();
    node.remove_dir();
}
