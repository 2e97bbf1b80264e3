//! The `minipod` binary, run for real on files: every example plans, and every
//! bad file gets exactly the message and exit code in `golden/`.
//!
//! Each `golden/<case>.<ext>` input has a `golden/<case>.<ext>.out` holding the exit
//! code, standard output and standard error the binary must produce. After a
//! deliberate change of wording, regenerate them with
//! `MINIPOD_BLESS=1 cargo test -p minipod --test cli` and review the diff.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness: a failure should panic loudly

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_minipod");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `minipod` in `dir` (so file names in messages are relative and stable).
fn minipod(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run minipod");
    Run {
        code: output.status.code().expect("exited normally"),
        stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("utf-8 stderr"),
    }
}

fn examples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 6,
        "examples/ should hold the documented pods: {files:?}"
    );
    files
}

#[test]
fn every_example_plans_in_every_format() {
    for file in examples() {
        let path = file.to_str().unwrap();
        for format in ["text", "json", "yaml"] {
            let run = minipod(
                &repo_root(),
                &["plan", "-f", path, "-o", format, "--node-memory", "8Gi"],
            );
            assert_eq!(run.code, 0, "{path} -o {format}: {}", run.stderr);
            assert_eq!(
                run.stderr, "",
                "{path}: no warnings expected from an example"
            );
            assert!(!run.stdout.is_empty());
        }
        let run = minipod(
            &repo_root(),
            &["plan", "-f", path, "-o", "json", "--node-memory", "8Gi"],
        );
        let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let keys: Vec<&str> = plan
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "containers",
                "effective",
                "name",
                "namespace",
                "podCgroup",
                "qosClass",
                "startOrder"
            ],
            "{path}: the JSON contract's keys"
        );
    }
}

/// Two pods in one file, as in examples/web.yaml twice over.
fn two_pods_file() -> PathBuf {
    let web = std::fs::read_to_string(repo_root().join("examples/web.yaml")).unwrap();
    let dir = tempdir("two-pods");
    let file = dir.join("two.yaml");
    let second = web.replacen("name: web", "name: web-2", 1);
    std::fs::write(&file, format!("{web}\n---\n{second}")).unwrap();
    file
}

#[test]
fn two_pods_plan_as_one_list_as_kubectl_get_prints_them() {
    let file = two_pods_file();
    let path = file.to_str().unwrap();
    let args = |format| ["plan", "-f", path, "-o", format, "--node-memory", "8Gi"];

    let run = minipod(&repo_root(), &args("json"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    // One JSON value (two values back to back would not parse as one).
    let list: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(list["kind"], "List");
    assert_eq!(list["metadata"], serde_json::json!({"resourceVersion": ""}));
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|plan| plan["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web", "web-2"]);

    // YAML the same way: one document holding the List.
    let run = minipod(&repo_root(), &args("yaml"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let documents: Vec<serde_json::Value> = yaml_serde::Deserializer::from_str(&run.stdout)
        .map(|document| serde::Deserialize::deserialize(document).unwrap())
        .collect();
    assert_eq!(documents, [list], "the YAML list is the JSON one");
}

#[test]
fn one_pod_plans_as_its_plan_alone() {
    let run = minipod(
        &repo_root(),
        &[
            "plan",
            "-f",
            "examples/web.yaml",
            "-o",
            "json",
            "--node-memory",
            "8Gi",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(plan["name"], "web", "not wrapped in a List");
    assert!(plan.get("kind").is_none());
}

#[test]
fn the_text_plan_teaches_order_resources_and_cgroups() {
    let run = minipod(
        &repo_root(),
        &[
            "plan",
            "-f",
            "examples/resources.yaml",
            "--node-memory",
            "8Gi",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for expected in [
        "Start order",
        "sidecar",
        "cpu request",
        "QoS class: Burstable",
        "cpu.shares",
        "cpu.weight",
        "memory.max",
        "oom_score_adj",
    ] {
        assert!(
            run.stdout.contains(expected),
            "missing {expected:?} in:\n{}",
            run.stdout
        );
    }
}

#[test]
fn standard_input_is_read_with_dash() {
    let mut child = Command::new(BIN)
        .args(["plan", "-f", "-", "-o", "json", "--node-memory", "1Gi"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"apiVersion: v1\nkind: Pod\nmetadata: {name: piped}\nspec: {containers: [{name: a, image: busybox}]}\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("\"name\": \"piped\""));
}

#[test]
fn node_memory_decides_the_burstable_oom_score() {
    let dir = tempdir("oom");
    std::fs::write(
        dir.join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: a, image: busybox, resources: {requests: {memory: 1Gi}}}]}\n",
    )
    .unwrap();
    let score = |memory: &str| {
        let run = minipod(
            &dir,
            &[
                "plan",
                "-f",
                "pod.yaml",
                "-o",
                "json",
                "--node-memory",
                memory,
            ],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        plan["containers"][0]["oomScoreAdj"].as_i64().unwrap()
    };
    // 1000 - 1000 * 1Gi / 2Gi = 500; / 4Gi = 750.
    assert_eq!(score("2Gi"), 500);
    assert_eq!(score("4Gi"), 750);
}

#[test]
fn the_text_plan_says_whether_the_node_admits_the_pod() {
    let dir = tempdir("admission");
    std::fs::write(
        dir.join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: huge}\nspec: {containers: [{name: a, image: busybox, resources: {limits: {cpu: 100m, memory: 8Ei}}}]}\n",
    )
    .unwrap();
    let args = [
        "plan",
        "-f",
        "pod.yaml",
        "--node-memory",
        "1Gi",
        "--node-cpu",
        "2",
    ];
    let run = minipod(&dir, &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // 1Gi minus the kubelet's default memory.available<100Mi.
    for needle in [
        "allocatable  cpu 2000m, memory 968884224 bytes\n",
        "verdict      rejected even on an empty node: OutOfmemory: Node didn't have enough resource: memory, requested: 9223372036854775807, used: 0, capacity: 968884224\n",
    ] {
        assert!(
            run.stdout.contains(needle),
            "{needle:?} not in\n{}",
            run.stdout
        );
    }
}

#[test]
fn the_text_plan_says_the_sysctl_admission_comes_first() {
    let dir = tempdir("sysctls");
    std::fs::write(
        dir.join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: msg}\nspec: {securityContext: {sysctls: [{name: kernel.shm_rmid_forced, value: '1'}, {name: kernel.msgmax, value: '9000'}]}, containers: [{name: a, image: busybox, resources: {requests: {memory: 8Ei}}}]}\n",
    )
    .unwrap();
    let plan = |extra: &[&str]| {
        let mut args = vec![
            "plan",
            "-f",
            "pod.yaml",
            "--node-memory",
            "1Gi",
            "--node-cpu",
            "2",
        ];
        args.extend_from_slice(extra);
        let run = minipod(&dir, &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };
    // Before the resources, as the kubelet orders its admit handlers.
    let needle = "  verdict      rejected even on an empty node: SysctlForbidden: forbidden sysctl: \"kernel.msgmax\" not allowlisted\n";
    let stdout = plan(&[]);
    assert!(stdout.contains(needle), "{needle:?} not in\n{stdout}");
    // A node that allows it judges the resources next.
    let stdout = plan(&["--allowed-unsafe-sysctls", "kernel.msg*"]);
    assert!(
        stdout.contains("  verdict      rejected even on an empty node: OutOfmemory: "),
        "{stdout}"
    );
}

#[test]
fn the_text_plan_shows_the_host_ports_admission_holds() {
    let dir = tempdir("host-ports");
    std::fs::write(
        dir.join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: a, image: busybox, ports: [{containerPort: 80, hostPort: 8080}, {containerPort: 53, hostPort: 5353, protocol: UDP, hostIP: '::1'}, {containerPort: 81}]}]}\n",
    )
    .unwrap();
    let run = minipod(
        &dir,
        &[
            "plan",
            "-f",
            "pod.yaml",
            "--node-memory",
            "1Gi",
            "--node-cpu",
            "2",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let needle = "  host ports   TCP 0.0.0.0:8080, UDP [::1]:5353 (a pod is refused, NodePorts, when a running pod holds one)\n  verdict      fits an empty node\n";
    assert!(
        run.stdout.contains(needle),
        "{needle:?} not in\n{}",
        run.stdout
    );
}

#[test]
fn the_text_plan_says_a_host_network_pod_uses_the_nodes_network() {
    let dir = tempdir("host-network");
    std::fs::write(
        dir.join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {hostNetwork: true, containers: [{name: a, image: busybox, ports: [{containerPort: 8080}]}]}\n",
    )
    .unwrap();
    let run = minipod(
        &dir,
        &[
            "plan",
            "-f",
            "pod.yaml",
            "--node-memory",
            "1Gi",
            "--node-cpu",
            "2",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The API server's default made the container port a host port.
    for needle in [
        "\nNetwork: the node's (hostNetwork: true)\n",
        "  host ports   TCP 0.0.0.0:8080 (",
    ] {
        assert!(
            run.stdout.contains(needle),
            "{needle:?} not in\n{}",
            run.stdout
        );
    }
}

#[test]
fn the_text_plan_shows_the_network_the_node_gives() {
    let dir = tempdir("pod-network");
    std::fs::write(
        dir.join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: a, image: busybox, ports: [{containerPort: 8080, hostPort: 8081, hostIP: 127.0.0.1}]}]}\n",
    )
    .unwrap();
    std::fs::write(dir.join("resolv.conf"), "nameserver 192.0.2.53\n").unwrap();
    let conf_dir = dir.join("net.d");
    std::fs::create_dir_all(&conf_dir).unwrap();
    let state_dir = dir.join("state");
    let plan = |extra: &[&str]| {
        let mut args = vec![
            "plan",
            "-f",
            "pod.yaml",
            "--node-memory",
            "1Gi",
            "--node-cpu",
            "2",
            "--resolv-conf",
            "resolv.conf",
            "--state-dir",
            state_dir.to_str().unwrap(),
            "--cni-conf-dir",
            conf_dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let run = minipod(&dir, &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        // Line wraps apart, the words of the section.
        run.stdout.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    // An empty conf dir: minipod's default network, as the flags make it.
    let text = plan(&["--pod-cidr", "10.203.7.0/24", "--pod-bridge", "mpx7"]);
    for needle in [
        "pod network minipod's default network \"minipod\": bridge mpx7, pod CIDR 10.203.7.0/24, NAT table minipod_mpx7;",
        "ports a 8080/TCP: at the pod IP",
        "host ports TCP 127.0.0.1:8081 -> a 8080: DNAT to the pod IP",
        "/etc/resolv.conf: nameserver 192.0.2.53",
    ] {
        assert!(text.contains(needle), "{needle:?} not in\n{text}");
    }
    // The plan changes nothing on the node: no pod CIDR kept.
    assert!(
        !state_dir.exists(),
        "the plan wrote {}",
        state_dir.display()
    );
    // A configuration in the conf dir is the network, used as given.
    let conflist = conf_dir.join("10-lab.conflist");
    std::fs::write(
        &conflist,
        r#"{"cniVersion": "1.0.0", "name": "lab", "plugins": [{"type": "macvlan", "master": "eth0", "ipam": {"type": "dhcp"}}]}"#,
    )
    .unwrap();
    let text = plan(&[]);
    let needle = format!(
        "pod network CNI network \"lab\" from {};",
        conflist.display()
    );
    assert!(text.contains(&needle), "{needle:?} not in\n{text}");
    // A broken one is said, as the pod's sandbox would fail.
    std::fs::write(&conflist, "{").unwrap();
    let text = plan(&[]);
    assert!(text.contains("pod network cannot be told ("), "{text}");
    assert!(text.contains("10-lab.conflist"), "{text}");
}

#[test]
fn golden_messages_and_exit_codes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let bless = std::env::var_os("MINIPOD_BLESS").is_some();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "out"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "golden cases: {cases:?}");

    // Inputs that cannot live in git as files: a directory and binary garbage.
    let scratch = tempdir("golden");
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(scratch.join("garbage.bin"), garbage).unwrap();
    std::fs::create_dir_all(scratch.join("a-directory")).unwrap();
    let resolv_conf = scratch.join("node-resolv.conf");
    std::fs::write(&resolv_conf, "search example.test\nnameserver 192.0.2.53\n").unwrap();
    let resolv_conf = resolv_conf.to_str().unwrap();

    let mut failures = Vec::new();
    let mut check = |name: String, run: Run, expected_path: PathBuf| {
        let actual = format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            run.code, run.stdout, run.stderr
        );
        if bless {
            std::fs::write(&expected_path, &actual).unwrap();
            return;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "{name}:\n--- expected\n{expected}\n--- actual\n{actual}"
            ));
        }
    };
    for case in cases {
        let file = case.file_name().unwrap().to_str().unwrap().to_owned();
        // A fixed node, so the network and admission sections are the
        // same on every host.
        let run = minipod(
            &dir,
            &[
                "plan",
                "-f",
                &file,
                "--node-memory",
                "8Gi",
                "--node-cpu",
                "2",
                "--pod-network",
                "none",
                "--resolv-conf",
                resolv_conf,
            ],
        );
        let expected = dir.join(format!("{file}.out"));
        check(file, run, expected);
    }
    for input in ["garbage.bin", "a-directory", "missing.yaml"] {
        let run = minipod(
            &scratch,
            &[
                "plan",
                "-f",
                input,
                "--node-memory",
                "8Gi",
                "--node-cpu",
                "2",
                "--pod-network",
                "none",
                "--resolv-conf",
                resolv_conf,
            ],
        );
        check(input.to_owned(), run, dir.join(format!("{input}.out")));
    }
    assert!(
        failures.is_empty(),
        "{} golden case(s) differ:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// A fresh directory under the target dir, for this test only.
fn tempdir(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
