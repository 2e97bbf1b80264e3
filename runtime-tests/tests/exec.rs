//! Commands run inside running containers, and TCP and HTTP checks from
//! inside a pod's network namespace: what exec, tcpSocket and httpGet probes
//! and hooks are made of. Real pods from manifests, with the busybox image.
//! Each test removes its pod and checks that nothing is left (mounts,
//! directories, cgroups, descriptors), and that no command outlives its
//! timeout.
//!
//! Run as root, on the host's cgroup version by `cargo test`, and on cgroup
//! v2 by `scripts/vm-test`.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use minipod_linux::container::{ExitStatus, Step};
use minipod_runtime::exec::{
    AttachOptions, Attached, ExecError, ExecOutcome, MAX_OUTPUT, Streams, WindowSize,
    set_window_size,
};
use minipod_runtime::pod::{RunningPod, StartedContainer};
use minipod_runtime::probe::{self, HttpGetRequest};
use minipod_runtime_tests::{TestNode, root_or_skip, serial, wait_until};
use minipod_spec::enums::UriScheme;
use nix::sys::signal::Signal;

const INIT: &str = env!("CARGO_BIN_EXE_minipod-test-init");
/// Generous: the v2 run is an emulated VM.
const PATIENCE: Duration = Duration::from_secs(120);
/// An exec's own time limit, far above what a command needs.
const EXEC_TIMEOUT: Duration = Duration::from_secs(60);

const APP: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: exec-target}
spec:
  containers:
  - name: app
    image: busybox
    imagePullPolicy: Never
    command: [sh, -c, "echo from-the-workload > /tmp/marker; exec sleep 3600"]
    workingDir: /home/app
    env: [{name: GREETING, value: hello-exec}]
    securityContext: {runAsUser: 1000, runAsGroup: 1000, allowPrivilegeEscalation: false}
"#;

fn exec(
    node: &TestNode,
    pod: &RunningPod,
    started: &StartedContainer,
    argv: &[&str],
    timeout: Duration,
) -> Result<ExecOutcome, ExecError> {
    let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
    node.runtime
        .exec_in_container(pod, &started.name, &started.container, &argv, timeout)
}

/// Runs a shell script in the container; it must exit 0. Returns its output.
fn sh(node: &TestNode, pod: &RunningPod, started: &StartedContainer, script: &str) -> String {
    let outcome = exec(node, pod, started, &["sh", "-c", script], EXEC_TIMEOUT)
        .unwrap_or_else(|e| panic!("exec {script:?}: {e}"));
    let output = String::from_utf8_lossy(&outcome.output).into_owned();
    assert_eq!(
        (outcome.exit_code, outcome.timed_out),
        (0, false),
        "{script:?}: {output}"
    );
    output
}

/// Waits until the workload wrote its marker (it runs as soon as `start`
/// returns, but its first line may not have run yet).
fn wait_for_marker(node: &TestNode, pod: &RunningPod, started: &StartedContainer) {
    wait_until("the workload wrote its marker", PATIENCE, || {
        exec(node, pod, started, &["cat", "/tmp/marker"], EXEC_TIMEOUT)
            .is_ok_and(|o| o.exit_code == 0)
    });
}

/// Kills the workload, removes the pod and checks nothing is left.
fn tear_down(node: TestNode, pod: RunningPod, started: Vec<StartedContainer>) {
    for s in started {
        s.container.signal(Signal::SIGKILL).expect("kill");
        assert_eq!(
            s.container.wait().expect("wait"),
            ExitStatus::Signaled(libc::SIGKILL)
        );
    }
    node.runtime.remove_pod(pod).expect("remove the pod");
    node.finish();
}

/// The host pids of processes whose command line is exactly `cmdline`
/// (NUL-separated, as in `/proc/<pid>/cmdline`).
fn host_processes(cmdline: &str) -> Vec<i32> {
    fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == cmdline.as_bytes())
        })
        .collect()
}

#[test]
fn an_exec_runs_in_the_containers_namespaces_cgroup_user_env_and_directory() {
    if !root_or_skip("an_exec_runs_in_the_containers_namespaces_cgroup_user_env_and_directory") {
        return;
    }
    let _serial = serial();
    let node = TestNode::new(INIT);
    let mut pod = node.create(APP).expect("create the pod");
    let app = node.start(&mut pod, "app");
    wait_for_marker(&node, &pod, &app);

    // Its file system: the workload's file, the image's root (no host paths).
    assert_eq!(
        sh(&node, &pod, &app, "cat /tmp/marker"),
        "from-the-workload\n"
    );
    let root = sh(&node, &pod, &app, "ls /");
    assert!(root.contains("bin\n") && root.contains("home\n"), "{root}");
    assert!(
        !root.contains("work\n") && !root.contains("usr\n"),
        "{root}"
    );
    // Its UTS namespace (the pod's hostname) and PID namespace: pid 1 is the
    // workload, and the exec'd shell is in the same namespace.
    assert_eq!(sh(&node, &pod, &app, "hostname"), "exec-target\n");
    assert_eq!(
        sh(&node, &pod, &app, "tr '\\0' ' ' < /proc/1/cmdline"),
        "sleep 3600 "
    );
    let ps = sh(&node, &pod, &app, "ps -o pid,args");
    assert!(ps.contains("    1 sleep 3600"), "{ps}");
    assert!(
        ps.lines().count() <= 4,
        "only the workload, the shell and ps: {ps}"
    );
    let namespaces = |pid: &str| {
        ["mnt", "pid", "net", "ipc", "uts"]
            .map(|ns| fs::read_link(format!("/proc/{pid}/ns/{ns}")).expect("ns link"))
    };
    let workload = app.container.pid().to_string();
    let inside = sh(
        &node,
        &pod,
        &app,
        "for ns in mnt pid net ipc uts; do readlink /proc/self/ns/$ns; done",
    );
    let expected: Vec<String> = namespaces(&workload)
        .iter()
        .map(|l| l.display().to_string())
        .collect();
    assert_eq!(inside.lines().collect::<Vec<_>>(), expected);
    assert_ne!(namespaces(&workload), namespaces("self"));
    // Its user, groups, environment and working directory.
    assert_eq!(
        sh(&node, &pod, &app, "id -u; id -g; pwd; echo $GREETING"),
        "1000\n1000\n/home/app\nhello-exec\n"
    );
    // Its capability bounding set and no_new_privs, as pid 1's.
    let status_of = |who: &str| {
        sh(
            &node,
            &pod,
            &app,
            &format!("grep -E '^(CapBnd|CapEff|NoNewPrivs)' /proc/{who}/status"),
        )
    };
    let mine = status_of("self");
    assert_eq!(mine, status_of("1"));
    assert!(mine.contains("NoNewPrivs:\t1"), "{mine}");
    assert!(mine.contains("CapEff:\t0000000000000000"), "{mine}");
    // Its cgroup: the same as the workload's, seen from the host.
    let workload_cgroup = fs::read_to_string(format!("/proc/{workload}/cgroup")).expect("cgroup");
    let exec_cgroup = sh(&node, &pod, &app, "cat /proc/self/cgroup");
    assert_eq!(exec_cgroup, workload_cgroup);
    assert!(
        workload_cgroup.contains(&*app.cgroup.path().to_string_lossy()),
        "{workload_cgroup}"
    );
    // The helpers and commands are gone: only the workload is in the cgroup.
    wait_until("only the workload is left in its cgroup", PATIENCE, || {
        app.cgroup.pids().expect("pids") == [app.container.pid()]
    });
    tear_down(node, pod, vec![app]);
}

#[test]
fn an_exec_returns_the_exit_code_and_the_output_capped_at_10_kib() {
    if !root_or_skip("an_exec_returns_the_exit_code_and_the_output_capped_at_10_kib") {
        return;
    }
    let _serial = serial();
    let node = TestNode::new(INIT);
    let mut pod = node.create(APP).expect("create the pod");
    let app = node.start(&mut pod, "app");

    let outcome = exec(
        &node,
        &pod,
        &app,
        &["sh", "-c", "echo out; echo err >&2; exit 3"],
        EXEC_TIMEOUT,
    )
    .expect("exec");
    assert_eq!(outcome.exit_code, 3);
    assert!(!outcome.timed_out);
    assert_eq!(outcome.output, b"out\nerr\n");

    // Killed by a signal: 128 + the signal.
    let outcome = exec(&node, &pod, &app, &["sh", "-c", "kill -9 $$"], EXEC_TIMEOUT).expect("exec");
    assert_eq!((outcome.exit_code, outcome.timed_out), (137, false));

    // Much more output than is kept: the first 10 KiB, and the command is
    // not blocked by a full pipe.
    let outcome = exec(
        &node,
        &pod,
        &app,
        &["sh", "-c", "yes | head -c 1000000; echo done >&2"],
        EXEC_TIMEOUT,
    )
    .expect("exec");
    assert_eq!(outcome.exit_code, 0);
    assert_eq!(outcome.output.len(), MAX_OUTPUT);
    assert!(outcome.output.starts_with(b"y\ny\n"));

    tear_down(node, pod, vec![app]);
}

#[test]
fn an_exec_that_outlives_its_timeout_is_killed_and_leaves_nothing_behind() {
    if !root_or_skip("an_exec_that_outlives_its_timeout_is_killed_and_leaves_nothing_behind") {
        return;
    }
    let _serial = serial();
    let node = TestNode::new(INIT);
    let mut pod = node.create(APP).expect("create the pod");
    let app = node.start(&mut pod, "app");

    let started = Instant::now();
    let (outcome, seen) = std::thread::scope(|scope| {
        let running = scope.spawn(|| {
            exec(
                &node,
                &pod,
                &app,
                &["sh", "-c", "echo before; exec sleep 4242"],
                Duration::from_secs(3),
            )
        });
        // The command, seen from the host while it runs.
        let mut seen = Vec::new();
        wait_until("the command runs", PATIENCE, || {
            seen = host_processes("sleep\x004242\0");
            !seen.is_empty() || running.is_finished()
        });
        (running.join().expect("exec thread"), seen)
    });
    let outcome = outcome.expect("exec");
    assert!(outcome.timed_out, "{outcome:?}");
    assert_eq!(outcome.exit_code, 137);
    assert_eq!(outcome.output, b"before\n");
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert!(started.elapsed() < Duration::from_secs(30));
    // The helper killed and reaped the command before it returned: not even
    // a zombie is left.
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        !Path::new(&format!("/proc/{}", seen[0])).exists(),
        "process {} is left behind",
        seen[0]
    );
    wait_until("only the workload is left in its cgroup", PATIENCE, || {
        app.cgroup.pids().expect("pids") == [app.container.pid()]
    });
    // The workload itself is untouched.
    assert_eq!(
        sh(&node, &pod, &app, "tr '\\0' ' ' < /proc/1/cmdline"),
        "sleep 3600 "
    );
    tear_down(node, pod, vec![app]);
}

#[test]
fn an_exec_of_a_missing_binary_fails_with_the_step_and_a_clear_message() {
    if !root_or_skip("an_exec_of_a_missing_binary_fails_with_the_step_and_a_clear_message") {
        return;
    }
    let _serial = serial();
    let node = TestNode::new(INIT);
    let mut pod = node.create(APP).expect("create the pod");
    let app = node.start(&mut pod, "app");

    match exec(&node, &pod, &app, &["no-such-binary", "x"], EXEC_TIMEOUT) {
        Err(ExecError::Failed(failure)) => {
            assert_eq!(failure.step, Step::FindExecutable);
            assert_eq!(failure.errno, Some(libc::ENOENT));
            let message = ExecError::Failed(failure).to_string();
            assert_eq!(
                message,
                "failed to exec in container: exec: \"no-such-binary\": executable file not found in $PATH"
            );
        }
        other => panic!("expected a failure before exec, got {other:?}"),
    }
    // A path that is not executable: the exec step, with its errno.
    match exec(&node, &pod, &app, &["/etc/passwd"], EXEC_TIMEOUT) {
        Err(ExecError::Failed(failure)) => {
            assert_eq!(failure.step, Step::Exec);
            assert_eq!(failure.errno, Some(libc::EACCES));
        }
        other => panic!("expected a failure before exec, got {other:?}"),
    }
    // A container with no run.
    let argv = ["true".to_owned()];
    match node
        .runtime
        .exec_in_container(&pod, "nope", &app.container, &argv, EXEC_TIMEOUT)
    {
        Err(ExecError::NoSuchContainer(name)) => assert_eq!(name, "nope"),
        other => panic!("expected NoSuchContainer, got {other:?}"),
    }
    tear_down(node, pod, vec![app]);
}

fn attach(
    node: &TestNode,
    pod: &RunningPod,
    started: &StartedContainer,
    argv: &[&str],
    options: AttachOptions,
) -> Result<Attached, ExecError> {
    let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
    node.runtime
        .exec_attached(pod, &started.name, &started.container, &argv, options)
}

/// Runs `argv` attached through pipes, writes `input` to its stdin (when
/// given) and closes it: returns (exit code, stdout, stderr).
fn attached_run(
    node: &TestNode,
    pod: &RunningPod,
    started: &StartedContainer,
    argv: &[&str],
    input: Option<&[u8]>,
) -> (i32, String, String) {
    use std::io::{Read, Write};
    let options = AttachOptions {
        stdin: input.is_some(),
        ..AttachOptions::default()
    };
    let attached = attach(node, pod, started, argv, options).expect("attached exec");
    let Streams::Pipes {
        stdin,
        stdout,
        stderr,
    } = attached.streams
    else {
        panic!("pipes without a terminal")
    };
    assert_eq!(stdin.is_some(), input.is_some());
    if let (Some(stdin), Some(input)) = (stdin, input) {
        // Dropped at the end of this block: EOF for the command.
        fs::File::from(stdin).write_all(input).expect("stdin");
    }
    // stderr on a thread, so that neither pipe can fill up and block.
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        fs::File::from(stderr)
            .read_to_string(&mut text)
            .expect("stderr");
        text
    });
    let mut out = String::new();
    fs::File::from(stdout)
        .read_to_string(&mut out)
        .expect("stdout");
    let err = errors.join().expect("stderr thread");
    let code = attached.process.wait().expect("wait").code();
    (code, out, err)
}

#[test]
fn an_attached_exec_streams_stdin_stdout_stderr_and_its_exit_code() {
    if !root_or_skip("an_attached_exec_streams_stdin_stdout_stderr_and_its_exit_code") {
        return;
    }
    let _serial = serial();
    let node = TestNode::new(INIT);
    let mut pod = node.create(APP).expect("create the pod");
    let app = node.start(&mut pod, "app");

    // `cat` echoes its stdin; closing stdin ends it.
    let (code, out, err) = attached_run(&node, &pod, &app, &["cat"], Some(b"a\nb\n"));
    assert_eq!((code, out.as_str(), err.as_str()), (0, "a\nb\n", ""));
    // stderr is its own stream; the exit code comes back.
    let (code, out, err) = attached_run(
        &node,
        &pod,
        &app,
        &["sh", "-c", "echo out; cat >&2; exit 4"],
        Some(b"to stderr\n"),
    );
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (4, "out\n", "to stderr\n")
    );
    // Without stdin the command reads /dev/null.
    let (code, out, _) = attached_run(&node, &pod, &app, &["sh", "-c", "cat; echo end"], None);
    assert_eq!((code, out.as_str()), (0, "end\n"));
    // Killed by a signal: 128 + the signal.
    let (code, _, _) = attached_run(&node, &pod, &app, &["sh", "-c", "kill -9 $$"], None);
    assert_eq!(code, 137);
    // More output than an exec probe keeps: all of it is streamed.
    let (code, out, _) = attached_run(
        &node,
        &pod,
        &app,
        &["sh", "-c", "yes | head -c 1000000"],
        None,
    );
    assert_eq!((code, out.len()), (0, 1_000_000));
    // A missing binary fails before the command runs, with its step.
    match attach(
        &node,
        &pod,
        &app,
        &["no-such-binary"],
        AttachOptions::default(),
    ) {
        Err(ExecError::Failed(failure)) => assert_eq!(failure.step, Step::FindExecutable),
        other => panic!("expected a failure before exec, got {other:?}"),
    }

    // No timeout, but killing the helper kills the command.
    let attached = attach(
        &node,
        &pod,
        &app,
        &["sleep", "4343"],
        AttachOptions {
            stdin: true,
            ..AttachOptions::default()
        },
    )
    .expect("attached exec");
    let mut seen = Vec::new();
    wait_until("the command runs", PATIENCE, || {
        seen = host_processes("sleep\x004343\0");
        !seen.is_empty()
    });
    attached
        .process
        .signal(Signal::SIGKILL)
        .expect("kill the helper");
    assert_eq!(attached.process.wait().expect("wait").code(), 137);
    wait_until("the command died with its helper", PATIENCE, || {
        !Path::new(&format!("/proc/{}", seen[0])).exists()
    });
    drop(attached);
    wait_until("only the workload is left in its cgroup", PATIENCE, || {
        app.cgroup.pids().expect("pids") == [app.container.pid()]
    });
    tear_down(node, pod, vec![app]);
}

/// Reads the terminal into `seen` until it holds `wanted`; false at the
/// end of the output (EIO: every slave descriptor is closed).
fn read_terminal_until(terminal: &mut fs::File, seen: &mut String, wanted: &str) -> bool {
    use std::io::Read;
    let mut buf = [0u8; 4096];
    while !seen.contains(wanted) {
        match terminal.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    true
}

#[test]
fn an_attached_exec_with_a_tty_gets_a_terminal_of_the_containers_devpts() {
    if !root_or_skip("an_attached_exec_with_a_tty_gets_a_terminal_of_the_containers_devpts") {
        return;
    }
    use std::io::Write;
    let _serial = serial();
    let node = TestNode::new(INIT);
    let mut pod = node.create(APP).expect("create the pod");
    let app = node.start(&mut pod, "app");

    let script = "tty; stty size; test -t 0 && test -t 1 && test -t 2 && echo all-ttys; \
                  read line; stty size; echo got:$line; exit 5";
    let attached = attach(
        &node,
        &pod,
        &app,
        &["sh", "-c", script],
        AttachOptions {
            stdin: true,
            tty: true,
            size: Some(WindowSize {
                width: 100,
                height: 30,
            }),
        },
    )
    .expect("attached exec");
    let Streams::Terminal(master) = attached.streams else {
        panic!("a terminal")
    };
    let mut terminal = fs::File::from(master);
    let mut seen = String::new();
    // The whole line, its "\r\n" included: input typed before it could be
    // echoed in the middle of it.
    assert!(
        read_terminal_until(&mut terminal, &mut seen, "all-ttys\r\n"),
        "{seen:?}"
    );
    // The size given at the start was there before the command read it;
    // the terminal is the container's /dev/pts/0 (its own devpts).
    assert!(seen.starts_with("/dev/pts/0\r\n30 100\r\n"), "{seen:?}");
    // A new size, set on the master, then a line of input.
    set_window_size(
        std::os::fd::AsFd::as_fd(&terminal),
        WindowSize {
            width: 120,
            height: 40,
        },
    )
    .expect("resize");
    terminal.write_all(b"hello\n").expect("input");
    read_terminal_until(&mut terminal, &mut seen, "\u{0}");
    // The terminal echoes the input and turns "\n" into "\r\n".
    assert!(
        seen.contains("hello\r\n40 120\r\ngot:hello\r\n"),
        "{seen:?}"
    );
    assert_eq!(attached.process.wait().expect("wait").code(), 5);
    drop((terminal, attached.process));
    wait_until("only the workload is left in its cgroup", PATIENCE, || {
        app.cgroup.pids().expect("pids") == [app.container.pid()]
    });
    tear_down(node, pod, vec![app]);
}

const WEB: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  shareProcessNamespace: true
  containers:
  - name: server
    image: busybox
    imagePullPolicy: Never
    command:
    - sh
    - -c
    - |
      mkdir -p /tmp/www/sub
      echo hello from the pod > /tmp/www/index.html
      echo in a directory > /tmp/www/sub/index.html
      exec httpd -f -p 18471 -h /tmp/www
  - name: listener
    image: busybox
    imagePullPolicy: Never
    command: [sh, -c, "while true; do nc -l -p 18472 </dev/null >/dev/null; done"]
"#;

fn get(path: &str, port: u16) -> HttpGetRequest {
    HttpGetRequest {
        host: None,
        port,
        path: path.to_owned(),
        scheme: UriScheme::Http,
        headers: vec![],
    }
}

/// The servers listen on every address of the pod, so the checks reach
/// them wherever `probe::dial_target` sends them: inside the pod to
/// 127.0.0.1 while the pod has no network, from the node to the pod's IP
/// once it has one.
#[test]
fn tcp_and_http_checks_reach_the_pods_servers() {
    if !root_or_skip("tcp_and_http_checks_reach_the_pods_servers") {
        return;
    }
    let _serial = serial();
    let node = TestNode::new(INIT);
    let mut pod = node.create(WEB).expect("create the pod");
    let server = node.start(&mut pod, "server");
    let listener = node.start(&mut pod, "listener");
    let timeout = Duration::from_secs(10);

    wait_until("httpd listens in the pod", PATIENCE, || {
        probe::tcp_check(&pod, None, 18471, timeout).is_ok()
    });
    wait_until("nc listens in the pod", PATIENCE, || {
        probe::tcp_check(&pod, None, 18472, timeout).is_ok()
    });
    // The servers listen in the pod's network namespace, not the host's.
    assert!(std::net::TcpStream::connect(("127.0.0.1", 18471)).is_err());
    // A closed port in the pod.
    let refused =
        String::from(probe::tcp_check(&pod, None, 18473, timeout).expect_err("closed port"));
    assert!(refused.contains("refused"), "{refused}");

    let ok = probe::http_get(&pod, &get("/index.html", 18471), timeout).expect("GET");
    assert_eq!(ok.status, 200);
    assert!(ok.is_success());
    assert_eq!(ok.body, b"hello from the pod\n");
    let missing = probe::http_get(&pod, &get("/missing", 18471), timeout).expect("GET");
    assert_eq!(missing.status, 404);
    assert!(!missing.is_success());
    // busybox httpd redirects a directory to its name with a slash: followed
    // on the same host.
    let redirected = probe::http_get(&pod, &get("/sub", 18471), timeout).expect("GET");
    assert_eq!(redirected.status, 200);
    assert_eq!(redirected.body, b"in a directory\n");
    assert_eq!(redirected.redirect_not_followed, None);
    // Nothing listens: an error, not a status.
    let error =
        String::from(probe::http_get(&pod, &get("/", 18473), timeout).expect_err("closed port"));
    assert!(error.contains("refused"), "{error}");
    // HTTPS is refused with a clear message.
    let https = HttpGetRequest {
        scheme: UriScheme::Https,
        ..get("/", 18471)
    };
    assert_eq!(
        String::from(probe::http_get(&pod, &https, timeout).expect_err("https")),
        probe::HTTPS_UNSUPPORTED
    );

    // With `shareProcessNamespace`, an exec sees the whole pod, pid 1 being
    // the pause process.
    let ps = sh(&node, &pod, &server, "ps -o args");
    assert!(ps.contains("httpd -f -p 18471"), "{ps}");
    assert!(ps.contains("nc -l -p 18472"), "{ps}");
    assert_eq!(
        sh(&node, &pod, &server, "tr '\\0' ' ' < /proc/1/cmdline"),
        "minipod-pause __minipod-pause "
    );
    tear_down(node, pod, vec![server, listener]);
}

#[test]
fn the_image_has_the_tools_these_tests_use() {
    // Not a runtime test: a guard that the fixture image has the applets.
    let busybox = Path::new("/bin/busybox");
    if !busybox.exists() {
        return;
    }
    let list = std::process::Command::new(busybox)
        .arg("--list")
        .output()
        .expect("busybox --list");
    let list = String::from_utf8_lossy(&list.stdout);
    for applet in ["httpd", "nc", "ps", "yes", "head", "tr", "readlink", "id"] {
        assert!(list.lines().any(|l| l == applet), "busybox has no {applet}");
    }
}
