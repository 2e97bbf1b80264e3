//! Containers on the real kernel: a pod sandbox, containers started in it,
//! isolation checked by asking the kernel (namespace inodes, /proc, cgroup
//! files), and cleanup checked by counting what is left.
//!
//! Run as root, on the host's cgroup version by `cargo test`, and on cgroup
//! v2 by `scripts/vm-test`.

use std::fs;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use minipod_linux::cgroup::{ContainerCgroup, PodCgroup};
use minipod_linux::container::{
    self, BindMount, Container, ContainerConfig, ExitStatus, Namespace, Rootfs, StartError, Stdio,
    Step, User,
};
use minipod_linux::sandbox::Sandbox;
use minipod_plan::Plan;
use minipod_plan::launch::DEFAULT_CAPABILITIES;
use minipod_runtime_tests::{
    TestRoot, busybox_layer, open_fds, plan_of, root_or_skip, serial, unique_uid,
};
use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::unistd::pipe2;

const INIT: &str = env!("CARGO_BIN_EXE_minipod-test-init");
/// Generous: the v2 run is an emulated VM.
const PATIENCE: Duration = Duration::from_secs(120);

/// Capability numbers (`<linux/capability.h>`).
const CAP_CHOWN: u32 = 0;
const CAP_KILL: u32 = 5;
const CAP_NET_RAW: u32 = 13;

const POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - {name: server, image: busybox, resources: {limits: {cpu: 500m, memory: 64Mi}}}
  - {name: client, image: busybox, resources: {limits: {cpu: 500m, memory: 64Mi}}}
"#;

/// A pod for one test: its run directory, sandbox and cgroups, all removed
/// (and checked to be gone) by [`TestPod::finish`].
struct TestPod {
    dir: PathBuf,
    sandbox: Option<Sandbox>,
    plan: Plan,
    cgroups: TestRoot,
    pod_cgroup: Option<PodCgroup>,
}

/// A started container with its output pipe.
struct Running {
    container: Container,
    cgroup: ContainerCgroup,
    output: OwnedFd,
}

impl TestPod {
    fn new() -> TestPod {
        let plan = plan_of(POD);
        let uid = unique_uid();
        let dir = std::env::temp_dir().join(format!("minipod-rt-pod-{uid}"));
        let sandbox =
            Sandbox::create(Path::new(INIT), &dir.join("run"), "web").expect("create the sandbox");
        let cgroups = TestRoot::new();
        let pod_cgroup = PodCgroup::create(&cgroups.root, plan.qos_class, &uid, &plan.pod_cgroup)
            .expect("pod cgroup");
        TestPod {
            dir,
            sandbox: Some(sandbox),
            plan,
            cgroups,
            pod_cgroup: Some(pod_cgroup),
        }
    }

    fn config(&self, name: &str, args: &[&str]) -> ContainerConfig {
        let dir = self.dir.join("containers").join(name);
        ContainerConfig {
            join_namespaces: self.sandbox.as_ref().expect("sandbox").namespace_paths(),
            rootfs: Rootfs {
                lower: vec![busybox_layer().to_owned()],
                upper: dir.join("upper"),
                work: dir.join("work"),
                merged: dir.join("rootfs"),
                readonly: false,
            },
            mounts: Vec::new(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: vec!["PATH=/bin".into(), "HOSTNAME=web".into()],
            cwd: "/".into(),
            user: User::default(),
            capabilities: DEFAULT_CAPABILITIES.iter().map(|s| s.to_string()).collect(),
            no_new_privileges: false,
            privileged: false,
            seccomp: None,
            apparmor_profile: None,
        }
    }

    fn start(
        &self,
        name: &str,
        config: &ContainerConfig,
    ) -> Result<Running, Box<(StartError, ContainerCgroup)>> {
        for dir in [&config.rootfs.upper, &config.rootfs.work] {
            fs::create_dir_all(dir).expect("container dirs");
        }
        let index = self
            .plan
            .containers
            .iter()
            .position(|c| c.name == name)
            .unwrap_or(0);
        let cgroup = ContainerCgroup::create(
            self.pod_cgroup.as_ref().expect("pod cgroup"),
            name,
            &self.plan.containers[index].cgroup,
            Some(64),
        )
        .expect("container cgroup");
        let join = cgroup.open_join().expect("open the cgroup join");
        let (out_r, out_w) = pipe2(OFlag::O_CLOEXEC).expect("pipe");
        let stdio = Stdio {
            stdin: fs::File::open("/dev/null").expect("/dev/null").into(),
            stdout: out_w.try_clone().expect("dup"),
            stderr: out_w,
        };
        match container::start(Path::new(INIT), config, &stdio, &join) {
            Ok(container) => Ok(Running {
                container,
                cgroup,
                output: out_r,
            }),
            Err(error) => Err(Box::new((error, cgroup))),
        }
    }

    /// Removes everything and checks nothing is left: mounts, cgroups, files.
    fn finish(mut self) {
        let dir = self.dir.clone();
        if let Some(sandbox) = self.sandbox.take() {
            sandbox.remove();
        }
        if let Some(pod) = self.pod_cgroup.take() {
            pod.remove().expect("remove the pod cgroup");
        }
        let _ = fs::remove_dir_all(&dir);
        self.cgroups.remove_and_check_clean();
        let mounts = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        let left: Vec<&str> = mounts
            .lines()
            .filter(|l| l.contains(dir.to_str().expect("utf-8")))
            .collect();
        assert!(left.is_empty(), "mounts left behind: {left:#?}");
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

impl Running {
    /// Waits for the container to exit, then removes its cgroup.
    fn finish(self) -> (ExitStatus, String) {
        let status = self.container.wait().expect("wait");
        let mut output = String::new();
        fs::File::from(self.output)
            .read_to_string(&mut output)
            .expect("read output");
        self.cgroup.remove().expect("remove the container cgroup");
        (status, output)
    }
}

fn ns_inode(path: &Path) -> u64 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .ino()
}

fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < PATIENCE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_container_has_its_own_mount_and_pid_namespaces_but_the_pods_net_ipc_and_uts() {
    if !root_or_skip(
        "a_container_has_its_own_mount_and_pid_namespaces_but_the_pods_net_ipc_and_uts",
    ) {
        return;
    }
    let _serial = serial();
    let pod = TestPod::new();
    let running = pod
        .start("server", &pod.config("server", &["sleep", "300"]))
        .map_err(|e| e.0)
        .expect("start");
    let pid = running.container.pid();
    let ns = |kind: &str| ns_inode(Path::new(&format!("/proc/{pid}/ns/{kind}")));
    let host = |kind: &str| ns_inode(Path::new(&format!("/proc/self/ns/{kind}")));
    let pins: Vec<(Namespace, PathBuf)> = pod.sandbox.as_ref().expect("sandbox").namespace_paths();
    for (kind, pin) in &pins {
        let kind = kind.as_str();
        assert_eq!(
            ns(kind),
            ns_inode(pin),
            "{kind}: the container is in the pod's namespace"
        );
        assert_ne!(
            ns(kind),
            host(kind),
            "{kind}: the pod's namespace is not the host's"
        );
    }
    assert_ne!(ns("mnt"), host("mnt"), "own mount namespace");
    assert_ne!(ns("pid"), host("pid"), "own PID namespace");
    // Its workload is pid 1 of that PID namespace.
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let nspid = status
        .lines()
        .find(|l| l.starts_with("NSpid:"))
        .expect("NSpid");
    assert!(nspid.trim_end().ends_with("\t1"), "{nspid}");
    running.container.signal(Signal::SIGKILL).expect("kill");
    let (exit, _) = running.finish();
    assert_eq!(exit, ExitStatus::Signaled(libc::SIGKILL));
    pod.finish();
}

#[test]
fn two_containers_talk_over_loopback_see_the_pods_hostname_and_share_an_empty_dir() {
    if !root_or_skip(
        "two_containers_talk_over_loopback_see_the_pods_hostname_and_share_an_empty_dir",
    ) {
        return;
    }
    let _serial = serial();
    let pod = TestPod::new();
    let shared = pod.dir.join("volumes/shared");
    fs::create_dir_all(&shared).expect("emptyDir");
    let volume = BindMount {
        source: shared.clone(),
        target: "/shared".into(),
        readonly: false,
    };

    let mut server = pod.config(
        "server",
        &[
            "sh",
            "-c",
            "echo from-server > /shared/note; exec httpd -f -p 127.0.0.1:8080 -h /www",
        ],
    );
    server.mounts.push(volume.clone());
    let server = pod
        .start("server", &server)
        .map_err(|e| e.0)
        .expect("start server");

    let mut client = pod.config("client", &[
        "sh", "-c",
        "for i in $(seq 1 600); do wget -q -O - http://127.0.0.1:8080/index.html && break; sleep 0.1; done; \
         hostname; cat /shared/note",
    ]);
    client.mounts.push(volume);
    let client = pod
        .start("client", &client)
        .map_err(|e| e.0)
        .expect("start client");
    let (status, output) = client.finish();
    assert_eq!(status, ExitStatus::Exited(0), "{output}");
    assert_eq!(output, "hello from the pod\nweb\nfrom-server\n");

    server
        .container
        .signal(Signal::SIGKILL)
        .expect("kill server");
    server.finish();
    pod.finish();
}

#[test]
fn the_workload_runs_in_its_cgroup_from_its_first_instruction() {
    if !root_or_skip("the_workload_runs_in_its_cgroup_from_its_first_instruction") {
        return;
    }
    let _serial = serial();
    let pod = TestPod::new();
    let running = pod
        .start(
            "server",
            &pod.config("server", &["cat", "/proc/self/cgroup"]),
        )
        .map_err(|e| e.0)
        .expect("start");
    let cgroup_path = running.cgroup.path().display().to_string();
    let hierarchies = running.cgroup.dirs().len();
    let (status, output) = running.finish();
    assert_eq!(status, ExitStatus::Exited(0));
    // `cat` read its own /proc/self/cgroup: one line per hierarchy, and in
    // every hierarchy minipod uses it was already in the container's cgroup
    // (v1: one line per controller hierarchy; v2: the single `0::` line).
    let inside = output.lines().filter(|l| l.ends_with(&cgroup_path)).count();
    assert_eq!(
        inside, hierarchies,
        "expected {hierarchies} lines ending in {cgroup_path}:\n{output}"
    );
    pod.finish();
}

#[test]
fn run_as_user_and_dropped_capabilities_hold_inside() {
    if !root_or_skip("run_as_user_and_dropped_capabilities_hold_inside") {
        return;
    }
    let _serial = serial();
    let pod = TestPod::new();
    let mut config = pod.config(
        "server",
        &[
            "sh",
            "-c",
            "id -u; id -g; grep -E '^Cap(Eff|Bnd)' /proc/self/status",
        ],
    );
    config.user = User {
        uid: Some(1000),
        gid: Some(3000),
        ..User::default()
    };
    let (status, output) = pod
        .start("server", &config)
        .map_err(|e| e.0)
        .expect("start")
        .finish();
    assert_eq!(status, ExitStatus::Exited(0), "{output}");
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(&lines[..2], ["1000", "3000"]);
    // A non-root process keeps no effective capabilities after exec (as under containerd).
    assert_eq!(lines[2], "CapEff:\t0000000000000000");

    // Root with CAP_NET_RAW and CAP_CHOWN dropped: both are gone from the bounding set.
    let mut config = pod.config(
        "client",
        &[
            "sh",
            "-c",
            "grep -E '^CapBnd' /proc/self/status; chown 1000 /tmp && echo chown-worked",
        ],
    );
    config
        .capabilities
        .retain(|c| c != "CAP_NET_RAW" && c != "CAP_CHOWN");
    let (status, output) = pod
        .start("client", &config)
        .map_err(|e| e.0)
        .expect("start")
        .finish();
    let bounding = u64::from_str_radix(
        output
            .lines()
            .next()
            .expect("CapBnd")
            .trim_start_matches("CapBnd:")
            .trim(),
        16,
    )
    .expect("hex");
    assert_eq!(bounding & (1 << CAP_NET_RAW), 0, "CAP_NET_RAW dropped");
    assert_eq!(bounding & (1 << CAP_CHOWN), 0, "CAP_CHOWN dropped");
    assert_ne!(bounding & (1 << CAP_KILL), 0, "CAP_KILL kept");
    assert!(
        !output.contains("chown-worked"),
        "chown must fail without CAP_CHOWN: {output}"
    );
    assert_ne!(status, ExitStatus::Exited(0));
    pod.finish();
}

#[test]
fn a_failure_before_exec_comes_back_as_data_naming_the_step() {
    if !root_or_skip("a_failure_before_exec_comes_back_as_data_naming_the_step") {
        return;
    }
    let _serial = serial();
    let pod = TestPod::new();
    type Mutation = Box<dyn Fn(&mut ContainerConfig)>;
    let cases: [(&str, Mutation, Step, Option<i32>); 3] = [
        (
            "server",
            Box::new(|c| c.args = vec!["no-such-program".into()]),
            Step::FindExecutable,
            Some(libc::ENOENT),
        ),
        (
            "client",
            Box::new(|c| c.user.image_user = Some("ghost".into())),
            Step::ResolveUser,
            None,
        ),
        (
            "server",
            Box::new(|c| c.cwd = "/etc/passwd".into()),
            Step::CreateWorkingDir,
            Some(libc::ENOTDIR),
        ),
    ];
    for (name, mutate, step, errno) in cases {
        let mut config = pod.config(name, &["true"]);
        mutate(&mut config);
        match pod.start(name, &config) {
            Ok(_) => panic!("{step}: the container should not have started"),
            Err(boxed) if matches!(boxed.0, StartError::Failed(_)) => {
                let (StartError::Failed(failure), cgroup) = *boxed else {
                    unreachable!()
                };
                assert_eq!(
                    (&failure.step, failure.errno),
                    (&step, errno),
                    "{failure:?}"
                );
                assert!(
                    cgroup.pids().expect("pids").is_empty(),
                    "nothing left running"
                );
                cgroup.remove().expect("remove");
            }
            Err(boxed) => panic!("{step}: {}", boxed.0),
        }
    }
    pod.finish();
}

#[test]
fn two_hundred_start_and_remove_cycles_leave_nothing_behind() {
    if !root_or_skip("two_hundred_start_and_remove_cycles_leave_nothing_behind") {
        return;
    }
    let _serial = serial();
    let fds_before = open_fds();
    let started = Instant::now();
    for _ in 0..10 {
        let pod = TestPod::new();
        for i in 0..20 {
            let name = if i % 2 == 0 { "server" } else { "client" };
            let (status, output) = pod
                .start(name, &pod.config(name, &["true"]))
                .map_err(|e| e.0)
                .expect("start")
                .finish();
            assert_eq!(status, ExitStatus::Exited(0), "{output}");
            let _ = fs::remove_dir_all(pod.dir.join("containers").join(name));
        }
        pod.finish();
    }
    eprintln!("200 containers in 10 pods: {:?}", started.elapsed());
    wait_for("open fds to settle", || open_fds() <= fds_before);
    assert_eq!(open_fds(), fds_before, "no descriptor leaked");
}
