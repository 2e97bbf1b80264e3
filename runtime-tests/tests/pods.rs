//! Pods from a manifest, for real: manifest → admit → plan →
//! `minipod_runtime::pod` → processes, with the busybox image from a real
//! image store. Each test checks what the kernel shows, then removes the pod
//! and checks that nothing is left: no mount mentioning its directories, no
//! directory, no cgroup, no descriptor.
//!
//! Run as root, on the host's cgroup version by `cargo test`, and on cgroup
//! v2 by `scripts/vm-test`.

use std::fs;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::time::Duration;

use minipod_linux::container::{ExitStatus, Step};
use minipod_runtime::image::ImageNeed;
use minipod_runtime::pod::{NotStartedReason, RunningPod, StartedContainer};
use minipod_runtime_tests::{
    TestNode, controller_dir, keyed, read, root_or_skip, serial, wait_until,
};
use nix::sys::signal::Signal;

const INIT: &str = env!("CARGO_BIN_EXE_minipod-test-init");
/// Generous: the v2 run is an emulated VM.
const PATIENCE: Duration = Duration::from_secs(120);

/// A node of its own for one test ([`TestNode`]), with a search domain in
/// its host `resolv.conf` (which the pods' must copy) and `pids_limit` for
/// its pods.
fn test_node(pids_limit: Option<i64>) -> TestNode {
    TestNode::with(
        INIT,
        "nameserver 192.0.2.53\nsearch example.test\n",
        pids_limit,
    )
}

/// Waits for the container's exit and reads its whole output.
fn finish(started: StartedContainer) -> (ExitStatus, String, String) {
    let status = started.container.wait().expect("wait");
    let read_all = |fd: OwnedFd| {
        let mut text = String::new();
        fs::File::from(fd).read_to_string(&mut text).expect("read");
        text
    };
    (status, read_all(started.stdout), read_all(started.stderr))
}

/// Runs container `name` to its end.
fn run(node: &TestNode, pod: &mut RunningPod, name: &str) -> (ExitStatus, String, String) {
    finish(node.start(pod, name))
}

#[test]
fn two_containers_share_an_empty_dir_and_loopback_and_see_the_pods_files_and_env() {
    if !root_or_skip(
        "two_containers_share_an_empty_dir_and_loopback_and_see_the_pods_files_and_env",
    ) {
        return;
    }
    let _serial = serial();
    let node = test_node(None);
    let mut pod = node
        .create(
            r#"
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  volumes: [{name: shared, emptyDir: {}}]
  containers:
  - name: server
    image: busybox
    imagePullPolicy: Never
    command: [sh, -c, "echo hello from the pod > /shared/index.html; echo note > /shared/note; exec httpd -f -p 127.0.0.1:8080 -h /shared"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  - name: client
    image: busybox
    imagePullPolicy: IfNotPresent
    env:
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: POD_NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: POD_UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}
    command:
    - sh
    - -c
    - |
      for i in $(seq 1 1200); do wget -q -O - http://127.0.0.1:8080/index.html && break; sleep 0.1; done
      echo "hostname=$(hostname) env=$POD_NAME/$POD_NAMESPACE/$POD_UID"
      cat /shared/note
      echo ---; cat /etc/hosts; echo ---; cat /etc/hostname; echo ---; cat /etc/resolv.conf
    volumeMounts: [{name: shared, mountPath: /shared}]
"#,
        )
        .expect("create the pod");
    let uid = pod.uid().to_owned();
    let server = node.start(&mut pod, "server");
    let (status, out, err) = run(&node, &mut pod, "client");
    assert_eq!(status, ExitStatus::Exited(0), "{out}{err}");
    let parts: Vec<&str> = out.split("---\n").collect();
    assert_eq!(
        parts[0],
        format!("hello from the pod\nhostname=web env=web/shop/{uid}\nnote\n")
    );
    assert_eq!(
        parts[1],
        fs::read_to_string(&pod.paths().hosts).expect("hosts"),
        "/etc/hosts is the pod's"
    );
    assert!(parts[1].contains("127.0.0.1\tweb\n"), "{}", parts[1]);
    assert_eq!(parts[2], "web\n");
    // ClusterFirst on a node without cluster DNS: the node's file, laid out
    // as containerd writes it (search, then nameservers).
    assert_eq!(
        parts[3], "search example.test\nnameserver 192.0.2.53\n",
        "resolv.conf from the node's"
    );
    server.container.signal(Signal::SIGKILL).expect("kill");
    let (status, _, _) = finish(server);
    assert_eq!(status, ExitStatus::Signaled(libc::SIGKILL));
    node.runtime.remove_pod(pod).expect("remove the pod");
    node.finish();
}

#[test]
fn a_memory_empty_dir_is_a_tmpfs_of_its_size_limit_and_dev_shm_is_the_pods() {
    if !root_or_skip("a_memory_empty_dir_is_a_tmpfs_of_its_size_limit_and_dev_shm_is_the_pods") {
        return;
    }
    let _serial = serial();
    let node = test_node(None);
    let mut pod = node
        .create(
            r#"
apiVersion: v1
kind: Pod
metadata: {name: cache}
spec:
  volumes: [{name: mem, emptyDir: {medium: Memory, sizeLimit: 16Mi}}]
  containers:
  - name: writer
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "echo shared-memory > /dev/shm/note; grep -E ' /(cache|dev/shm) ' /proc/mounts"]
    volumeMounts: [{name: mem, mountPath: /cache}]
  - name: reader
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [cat, /dev/shm/note]
"#,
        )
        .expect("create the pod");
    let (status, out, err) = run(&node, &mut pod, "writer");
    assert_eq!(status, ExitStatus::Exited(0), "{out}{err}");
    let cache = out.lines().find(|l| l.contains(" /cache ")).expect(&out);
    assert!(
        cache.starts_with("tmpfs ") && cache.contains("size=16384k"),
        "{cache}"
    );
    let shm = out.lines().find(|l| l.contains(" /dev/shm ")).expect(&out);
    assert!(shm.contains("size=65536k"), "{shm}");
    // Another container sees what the first wrote in /dev/shm.
    let (status, out, _) = run(&node, &mut pod, "reader");
    assert_eq!(
        (status, out.as_str()),
        (ExitStatus::Exited(0), "shared-memory\n")
    );
    node.runtime.remove_pod(pod).expect("remove the pod");
    node.finish();
}

#[test]
fn read_only_mounts_and_a_read_only_root_refuse_writes() {
    if !root_or_skip("read_only_mounts_and_a_read_only_root_refuse_writes") {
        return;
    }
    let _serial = serial();
    let node = test_node(None);
    let host_dir = node.dir.join("host-data");
    let mut pod = node
        .create(&format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: ro}}
spec:
  volumes:
  - {{name: data, emptyDir: {{}}}}
  - {{name: host, hostPath: {{path: {host}, type: DirectoryOrCreate}}}}
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    securityContext: {{readOnlyRootFilesystem: true}}
    command:
    - sh
    - -c
    - |
      touch /rootfile 2>/dev/null && echo root-writable || echo root-refused
      touch /ro/file 2>/dev/null && echo ro-writable || echo ro-refused
      touch /rw/file 2>/dev/null && echo rw-writable || echo rw-refused
      touch /host/file 2>/dev/null && echo host-writable || echo host-refused
      mkdir -p /sub && touch /sub/file 2>/dev/null && echo sub-writable || echo sub-refused
    volumeMounts:
    - {{name: data, mountPath: /ro, readOnly: true}}
    - {{name: data, mountPath: /rw}}
    - {{name: host, mountPath: /host}}
    - {{name: data, mountPath: /sub, subPath: a/b}}
"#,
            host = host_dir.display()
        ))
        .expect("create the pod");
    assert!(
        host_dir.is_dir(),
        "DirectoryOrCreate made the host directory"
    );
    let (status, out, err) = run(&node, &mut pod, "app");
    assert_eq!(status, ExitStatus::Exited(0), "{out}{err}");
    assert_eq!(
        out,
        "root-refused\nro-refused\nrw-writable\nhost-writable\nsub-writable\n"
    );
    assert!(host_dir.join("file").exists());
    let data = &pod.paths().volumes["data"];
    assert!(
        data.join("a/b/file").exists(),
        "subPath a/b was made in the volume"
    );
    node.runtime.remove_pod(pod).expect("remove the pod");
    assert!(
        host_dir.join("file").exists(),
        "a hostPath is never removed"
    );
    node.finish();
}

#[test]
fn a_sub_path_through_a_symlink_out_of_the_volume_is_refused() {
    if !root_or_skip("a_sub_path_through_a_symlink_out_of_the_volume_is_refused") {
        return;
    }
    let _serial = serial();
    let node = test_node(None);
    let mut pod = node
        .create(
            r#"
apiVersion: v1
kind: Pod
metadata: {name: escape}
spec:
  volumes: [{name: data, emptyDir: {}}]
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [cat, /escaped/passwd]
    volumeMounts: [{name: data, mountPath: /escaped, subPath: link}]
"#,
        )
        .expect("create the pod");
    // What a hostile container could have left in the volume.
    std::os::unix::fs::symlink("/etc", pod.paths().volumes["data"].join("link")).expect("symlink");
    let err = node
        .runtime
        .start_container(&mut pod, "app", 0)
        .expect_err("the subPath must be refused");
    assert_eq!(
        err.reason,
        NotStartedReason::CreateContainerConfigError,
        "{err}"
    );
    assert!(
        err.message.starts_with(
            "failed to prepare subPath for volumeMount \"/escaped\" of container \"app\""
        ) && err.message.contains("symlink"),
        "{err}"
    );
    node.runtime.remove_pod(pod).expect("remove the pod");
    node.finish();
}

#[test]
fn a_memory_hog_is_oom_killed_in_its_container_cgroup() {
    if !root_or_skip("a_memory_hog_is_oom_killed_in_its_container_cgroup") {
        return;
    }
    let _serial = serial();
    let node = test_node(None);
    let mut pod = node
        .create(
            r#"
apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  containers:
  - name: hog
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [tail, /dev/zero]
    resources: {limits: {memory: 32Mi}}
"#,
        )
        .expect("create the pod");
    let started = node.start(&mut pod, "hog");
    let cgroup = started.cgroup.clone();
    let before = cgroup.read_oom_kills().expect("oom kills");
    let (status, _, _) = finish(started);
    assert_eq!(status, ExitStatus::Signaled(libc::SIGKILL));
    let after = cgroup.read_oom_kills().expect("oom kills");
    assert!(
        after > before,
        "the OOM kill was counted: {before} → {after}"
    );
    // What Kubernetes shows in state.terminated: exit code 137, OOMKilled.
    let now = std::time::SystemTime::now();
    let terminated = minipod_runtime::exit::exited(
        status,
        Some(minipod_runtime::exit::OomKills { before, after }),
        now,
        now,
    );
    assert_eq!(terminated.exit_code, 137);
    assert_eq!(terminated.reason.as_str(), "OOMKilled");
    node.runtime
        .remove_container(&mut pod, "hog")
        .expect("remove the container");
    assert!(!controller_dir("memory", cgroup.path()).exists());
    node.runtime.remove_pod(pod).expect("remove the pod");
    node.finish();
}

#[test]
fn a_fork_bomb_stops_at_the_pids_limit() {
    if !root_or_skip("a_fork_bomb_stops_at_the_pids_limit") {
        return;
    }
    let _serial = serial();
    const LIMIT: i64 = 20;
    let node = test_node(Some(LIMIT));
    let mut pod = node
        .create(
            r#"
apiVersion: v1
kind: Pod
metadata: {name: bomb}
spec:
  containers:
  - name: bomb
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "i=0; while [ $i -lt 100 ]; do sleep 1000 & i=$((i+1)); done; wait"]
"#,
        )
        .expect("create the pod");
    let started = node.start(&mut pod, "bomb");
    let pids_dir = controller_dir("pids", started.cgroup.path());
    wait_until("a fork was refused at the limit", PATIENCE, || {
        keyed(&pids_dir.join("pids.events"), "max") > 0
    });
    let current: i64 = read(&pids_dir.join("pids.current"))
        .parse()
        .expect("pids.current");
    assert!(current <= LIMIT, "pids.current {current} > {LIMIT}");
    // Removing the pod kills the bomb (unless its shell already gave up on
    // a refused fork) and its sleepers.
    node.runtime.remove_pod(pod).expect("remove the pod");
    let (status, _, _) = finish(started);
    assert_ne!(status, ExitStatus::Exited(0));
    node.finish();
}

#[test]
fn image_pull_policy_never_with_a_missing_image_fails_as_kubernetes_says() {
    if !root_or_skip("image_pull_policy_never_with_a_missing_image_fails_as_kubernetes_says") {
        return;
    }
    let _serial = serial();
    let node = test_node(None);
    let mut pod = node
        .create(
            r#"
apiVersion: v1
kind: Pod
metadata: {name: images}
spec:
  containers:
  - {name: never, image: "nothere:1.0", imagePullPolicy: Never}
  - {name: missing, image: "nothere:1.0", imagePullPolicy: IfNotPresent}
  - {name: always, image: busybox, imagePullPolicy: Always}
"#,
        )
        .expect("create the pod");
    // What each start needs first, by policy (the monitor pulls, then
    // starts): Never never pulls; IfNotPresent pulls what the store lacks;
    // Always pulls even what it has.
    let need = |name: &str| node.runtime.image_need(&pod, name);
    assert_eq!(need("never"), ImageNeed::Ready);
    assert_eq!(need("missing"), ImageNeed::Pull("nothere:1.0".into()));
    assert_eq!(need("always"), ImageNeed::Pull("busybox".into()));
    // A start without the image: the kubelet's reasons and words.
    let cases = [
        (
            "never",
            NotStartedReason::ErrImageNeverPull,
            "Container image \"nothere:1.0\" is not present with pull policy of Never",
        ),
        (
            "missing",
            NotStartedReason::ErrImagePull,
            "Failed to pull image \"nothere:1.0\": ",
        ),
    ];
    for (name, reason, message) in cases {
        let err = node
            .runtime
            .start_container(&mut pod, name, 0)
            .expect_err(name);
        assert_eq!(err.reason, reason, "{name}: {err}");
        assert!(err.message.starts_with(message), "{name}: {err}");
    }
    node.runtime.remove_pod(pod).expect("remove the pod");
    node.finish();
}

#[test]
fn run_as_non_root_with_a_root_image_is_refused_and_a_bad_command_is_a_start_error() {
    if !root_or_skip(
        "run_as_non_root_with_a_root_image_is_refused_and_a_bad_command_is_a_start_error",
    ) {
        return;
    }
    let _serial = serial();
    let node = test_node(None);
    let mut pod = node
        .create(
            r#"
apiVersion: v1
kind: Pod
metadata: {name: users}
spec:
  containers:
  - {name: rooted, image: busybox, imagePullPolicy: IfNotPresent, securityContext: {runAsNonRoot: true}}
  - {name: missing, image: busybox, imagePullPolicy: IfNotPresent, command: [no-such-program]}
  - {name: app, image: busybox, imagePullPolicy: IfNotPresent, command: [id], securityContext: {runAsNonRoot: true, runAsUser: 1000, runAsGroup: 3000}}
"#,
        )
        .expect("create the pod");
    let err = node
        .runtime
        .start_container(&mut pod, "rooted", 0)
        .expect_err("root image refused");
    assert_eq!(err.reason, NotStartedReason::CreateContainerConfigError);
    assert_eq!(
        err.message,
        format!(
            "container has runAsNonRoot and image will run as root (pod: \"users_default({})\", container: rooted)",
            pod.uid()
        )
    );
    let err = node
        .runtime
        .start_container(&mut pod, "missing", 0)
        .expect_err("no such program");
    assert_eq!(err.reason, NotStartedReason::StartError);
    let failure = err.failure.clone().expect("the failed step");
    assert_eq!(
        (failure.step, failure.errno),
        (Step::FindExecutable, Some(libc::ENOENT))
    );
    assert!(
        err.message.contains("executable file not found in $PATH"),
        "{err}"
    );
    let (status, out, _) = run(&node, &mut pod, "app");
    assert_eq!(status, ExitStatus::Exited(0));
    assert!(out.starts_with("uid=1000(app) gid=3000"), "{out}");
    node.runtime.remove_pod(pod).expect("remove the pod");
    node.finish();
}

#[test]
fn a_failed_create_leaves_nothing_behind() {
    if !root_or_skip("a_failed_create_leaves_nothing_behind") {
        return;
    }
    let _serial = serial();
    let node = test_node(None);
    let missing = node.dir.join("no-such-dir");
    let err = node
        .create(&format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: broken}}
spec:
  volumes:
  - {{name: mem, emptyDir: {{medium: Memory}}}}
  - {{name: host, hostPath: {{path: {}, type: Directory}}}}
  containers: [{{name: app, image: busybox, imagePullPolicy: IfNotPresent}}]
"#,
            missing.display()
        ))
        .expect_err("the hostPath check fails");
    assert_eq!(
        err.to_string(),
        format!(
            "MountVolume.SetUp failed for volume \"host\" : hostPath type check failed: {} is not a directory",
            missing.display()
        )
    );
    // finish() counts mounts, directories, cgroups and descriptors.
    node.finish();
}

#[test]
fn many_pods_created_run_and_removed_leave_nothing_behind() {
    if !root_or_skip("many_pods_created_run_and_removed_leave_nothing_behind") {
        return;
    }
    let _serial = serial();
    let node = test_node(Some(64));
    for _ in 0..10 {
        let mut pod = node
            .create(
                r#"
apiVersion: v1
kind: Pod
metadata: {name: cycle}
spec:
  volumes: [{name: mem, emptyDir: {medium: Memory, sizeLimit: 1Mi}}]
  containers:
  - {name: app, image: busybox, imagePullPolicy: IfNotPresent, command: [sh, -c, "echo x > /mem/x"], volumeMounts: [{name: mem, mountPath: /mem}]}
  - {name: idle, image: busybox, imagePullPolicy: IfNotPresent, command: [sleep, "1000"]}
"#,
            )
            .expect("create the pod");
        for restart in 0..3 {
            let started = node
                .runtime
                .start_container(&mut pod, "app", restart)
                .expect("start");
            let (status, _, _) = finish(started);
            assert_eq!(status, ExitStatus::Exited(0));
        }
        node.runtime
            .remove_container(&mut pod, "app")
            .expect("remove");
        // Left running: remove_pod must kill it.
        let idle = node.start(&mut pod, "idle");
        node.runtime.remove_pod(pod).expect("remove the pod");
        let (status, _, _) = finish(idle);
        assert_eq!(status, ExitStatus::Signaled(libc::SIGKILL));
    }
    node.finish();
}

#[test]
fn share_process_namespace_gives_the_pod_one_pid_namespace_whose_pid_1_is_pause() {
    if !root_or_skip("share_process_namespace_gives_the_pod_one_pid_namespace_whose_pid_1_is_pause")
    {
        return;
    }
    let _serial = serial();
    let node = test_node(None);
    let yaml = |share: bool| {
        format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: shared}}
spec:
  shareProcessNamespace: {share}
  containers:
  - {{name: sleeper, image: busybox, imagePullPolicy: Never, command: [sleep, "300"]}}
  - name: looker
    image: busybox
    imagePullPolicy: Never
    # No waiting needed: start() returns only once the sleeper has exec'd.
    command: [sh, -c, "ps -o comm | sort | tr '\n' ' '; echo; cat /proc/1/cmdline | tr '\\0' ' '"]
"#
        )
    };

    // Shared: the looker sees the sleeper, and pid 1 is the pause process.
    let mut pod = node.create(&yaml(true)).expect("create the pod");
    let sleeper = node.start(&mut pod, "sleeper");
    let (status, out, err) = run(&node, &mut pod, "looker");
    assert_eq!(status, ExitStatus::Exited(0), "{out}{err}");
    let mut lines = out.lines();
    let processes = lines.next().expect("ps line");
    assert!(
        processes.contains("sleep"),
        "the sleeper is visible: {processes}"
    );
    assert_eq!(
        lines.next().expect("pid 1").trim(),
        "minipod-pause __minipod-pause",
        "{out}"
    );
    let sleeper_ns =
        fs::read_link(format!("/proc/{}/ns/pid", sleeper.container.pid())).expect("ns");
    assert_ne!(
        sleeper_ns,
        fs::read_link("/proc/self/ns/pid").expect("own ns")
    );
    sleeper.container.signal(Signal::SIGKILL).expect("kill");
    let _ = finish(sleeper);
    node.runtime.remove_pod(pod).expect("remove the pod");

    // Not shared (the default): each container is alone, pid 1 of its own namespace.
    let mut pod = node.create(&yaml(false)).expect("create the pod");
    let sleeper = node.start(&mut pod, "sleeper");
    let (status, out, err) = run(&node, &mut pod, "looker");
    assert_eq!(status, ExitStatus::Exited(0), "{out}{err}");
    assert!(
        !out.lines().next().unwrap_or_default().contains("sleep"),
        "{out}"
    );
    assert!(
        out.lines().nth(1).unwrap_or_default().starts_with("sh -c"),
        "pid 1 is the looker itself: {out}"
    );
    sleeper.container.signal(Signal::SIGKILL).expect("kill");
    let _ = finish(sleeper);
    node.runtime.remove_pod(pod).expect("remove the pod");
    node.finish();
}

#[test]
fn container_output_goes_to_a_cri_log_file_per_run_in_the_kubelet_layout() {
    if !root_or_skip("container_output_goes_to_a_cri_log_file_per_run_in_the_kubelet_layout") {
        return;
    }
    let _serial = serial();
    let node = test_node(None);
    let mut pod = node
        .create(
            r#"
apiVersion: v1
kind: Pod
metadata: {name: chatty, namespace: lab}
spec:
  containers:
  - name: talker
    image: busybox
    imagePullPolicy: Never
    command: [sh, -c, "echo out-1; echo err-1 >&2; printf 'no newline'"]
"#,
        )
        .expect("create the pod");
    let logs_dir = std::env::temp_dir().join(format!("minipod-rt-logs-{}", pod.uid()));
    for restart in 0..2 {
        let started = node.start(&mut pod, "talker");
        let path = pod.log_path(&logs_dir, "talker", restart);
        let copy = minipod_runtime::logs::copy_to_file(
            &path,
            minipod_runtime::logs::Rotation::default(),
            started.stdout,
            started.stderr,
        )
        .expect("copy");
        assert_eq!(
            started.container.wait().expect("wait"),
            ExitStatus::Exited(0)
        );
        copy.wait().expect("pumps");
        node.runtime
            .remove_container(&mut pod, "talker")
            .expect("remove the container");

        // <logs>/<namespace>_<name>_<uid>/<container>/<restart>.log
        let expected = logs_dir
            .join(format!("lab_chatty_{}", pod.uid()))
            .join("talker")
            .join(format!("{restart}.log"));
        assert_eq!(path, expected);
        let text = fs::read_to_string(&path).expect("log file");
        let entries = minipod_runtime::logs::read_entries(text.as_bytes()).expect("parse");
        let seen: Vec<(String, String, String)> = entries
            .iter()
            .map(|e| {
                (
                    e.stream.to_string(),
                    e.tag.as_str().to_owned(),
                    String::from_utf8_lossy(&e.content).into_owned(),
                )
            })
            .collect();
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            [
                ("stderr".to_owned(), "F".to_owned(), "err-1".to_owned()),
                ("stdout".to_owned(), "F".to_owned(), "out-1".to_owned()),
                ("stdout".to_owned(), "P".to_owned(), "no newline".to_owned()),
            ],
            "{text}"
        );
        // Each line: <RFC3339Nano> <stream> <F|P> <content>
        for line in text.lines() {
            let fields: Vec<&str> = line.splitn(4, ' ').collect();
            assert_eq!(
                fields[0].len(),
                "2016-10-06T00:17:09.669794202Z".len(),
                "{line}"
            );
            assert!(fields[0].ends_with('Z'), "{line}");
        }
    }
    node.runtime.remove_pod(pod).expect("remove the pod");
    fs::remove_dir_all(&logs_dir).expect("remove the test's logs");
    node.finish();
}
