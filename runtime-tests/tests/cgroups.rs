//! Pod and container cgroups on the real kernel: manifest → plan → cgroup
//! files, processes inside them, the OOM killer, the pids limit, removal.
//!
//! Run as root. `cargo test -p minipod-runtime-tests` checks the host's
//! cgroup version (v1 on the development machine); `scripts/vm-test` runs
//! this same binary on cgroup v2 in a VM. Every check reads the kernel's
//! files at paths computed here from the kernel's conventions, not at paths
//! minipod reports, so a wrong layout cannot pass.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use minipod_linux::cgroup::{CgroupError, CgroupVersion, ContainerCgroup, PodCgroup};
use minipod_plan::cgroup::CgroupValues;
use minipod_plan::{Plan, QosClass};
use minipod_runtime_tests::{
    CGROUP_MOUNT, TestRoot, controller_dir, host_cgroup_version, keyed, open_fds, plan_of,
    proc_cgroup, read, root_or_skip, serial, unique_uid, wait_for_exit, wait_until,
};

/// Generous: the v2 run is an emulated VM, many times slower than a host.
const PATIENCE: Duration = Duration::from_secs(120);

const BURSTABLE: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: busybox
    resources:
      requests: {cpu: 250m, memory: 64Mi}
      limits: {cpu: 500m, memory: 128Mi}
  - name: logger
    image: busybox
    resources:
      requests: {cpu: 100m}
      limits: {memory: 100M}
"#;

const GUARANTEED: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: db}
spec:
  containers:
  - name: app
    image: busybox
    resources:
      limits: {cpu: "1", memory: 256Mi}
"#;

const BEST_EFFORT: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: batch}
spec:
  containers:
  - name: app
    image: busybox
"#;

/// A pod built from a plan: its cgroup and one cgroup per container.
struct BuiltPod {
    pod: PodCgroup,
    containers: Vec<ContainerCgroup>,
}

impl BuiltPod {
    fn create(root: &TestRoot, plan: &Plan, pids_limit: Option<i64>) -> BuiltPod {
        let pod = PodCgroup::create(&root.root, plan.qos_class, &unique_uid(), &plan.pod_cgroup)
            .expect("create the pod cgroup");
        let containers = plan
            .containers
            .iter()
            .map(|c| {
                ContainerCgroup::create(&pod, &c.name, &c.cgroup, pids_limit)
                    .unwrap_or_else(|e| panic!("create container {}: {e}", c.name))
            })
            .collect();
        BuiltPod { pod, containers }
    }

    fn remove(&self) {
        for c in &self.containers {
            c.remove()
                .unwrap_or_else(|e| panic!("remove {}: {e}", c.path().display()));
        }
        self.pod.remove().expect("remove the pod cgroup");
    }
}

/// `bytes` rounded down to whole pages.
fn page_floor(bytes: i64) -> i64 {
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .unwrap_or(4096);
    bytes / page * page
}

/// One value of the plan and the file that must hold it.
struct Row {
    path: PathBuf,
    expected: String,
    actual: String,
    /// How the plan's value became `expected`, when it is not verbatim.
    note: String,
}

/// A row for every value of the plan, read from the kernel's files of the
/// host's cgroup version.
fn files_vs_plan(rel: &Path, values: &CgroupValues) -> Vec<Row> {
    let file = |controller: &str, name: &str| controller_dir(controller, rel).join(name);
    let mut rows = Vec::new();
    let mut check = |path: PathBuf, expected: String, note: String| {
        let actual = read(&path);
        rows.push(Row {
            path,
            expected,
            actual,
            note,
        });
    };
    // The kernel keeps memory limits in whole pages, rounding down.
    let memory = |bytes: i64| {
        let floor = page_floor(bytes);
        let note = if floor == bytes {
            String::new()
        } else {
            format!(" (plan: {bytes}, rounded down to a page)")
        };
        (floor.to_string(), note)
    };
    match host_cgroup_version() {
        CgroupVersion::V1 => {
            check(
                file("cpu", "cpu.shares"),
                values.cpu_shares.to_string(),
                String::new(),
            );
            let quota = values
                .cpu_quota_us
                .map_or_else(|| "-1".to_owned(), |q| q.to_string());
            check(
                file("cpu", "cpu.cfs_quota_us"),
                quota,
                " (-1: no quota)".to_owned(),
            );
            check(
                file("cpu", "cpu.cfs_period_us"),
                values.cpu_period_us.to_string(),
                String::new(),
            );
            let (expected, note) = match values.memory_limit_bytes {
                Some(bytes) => memory(bytes),
                // Unlimited reads as the kernel's maximum, as in the root cgroup.
                None => (
                    read(&Path::new(CGROUP_MOUNT).join("memory/memory.limit_in_bytes")),
                    " (unlimited)".to_owned(),
                ),
            };
            check(file("memory", "memory.limit_in_bytes"), expected, note);
        }
        CgroupVersion::V2 => {
            check(
                file("cpu", "cpu.weight"),
                values.cpu_weight.to_string(),
                String::new(),
            );
            check(
                file("cpu", "cpu.max"),
                values.cpu_max.clone(),
                String::new(),
            );
            let (expected, note) = match values.memory_limit_bytes {
                Some(bytes) => memory(bytes),
                None => (values.memory_max.clone(), String::new()),
            };
            check(file("memory", "memory.max"), expected, note);
        }
    }
    rows
}

/// Checks the files against the plan and prints the comparison (shown with
/// `--nocapture`, and on failure).
fn assert_files_hold(what: &str, rel: &Path, values: &CgroupValues) {
    let rows = files_vs_plan(rel, values);
    let table: String = rows
        .iter()
        .map(|r| {
            let mark = if r.expected == r.actual { "ok " } else { "BAD" };
            format!(
                "  {mark} {} = {}, expected {}{}\n",
                r.path.display(),
                r.actual,
                r.expected,
                r.note
            )
        })
        .collect();
    eprintln!("{what}:\n{table}");
    assert!(
        rows.iter().all(|r| r.expected == r.actual),
        "{what}: the cgroup files differ from the plan:\n{table}"
    );
}

/// The pod's path as the kubelet's cgroupfs driver names it.
fn expected_pod_path(root: &TestRoot, qos: QosClass, pod: &PodCgroup) -> PathBuf {
    let uid = pod
        .path()
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("pod"))
        .expect("pod<uid>");
    let tier = match qos {
        QosClass::Guaranteed => "",
        QosClass::Burstable => "burstable/",
        QosClass::BestEffort => "besteffort/",
    };
    root.root.name().join(format!("{tier}pod{uid}"))
}

#[test]
fn minipod_uses_the_cgroup_version_the_kernel_runs() {
    let _serial = serial();
    if !root_or_skip("minipod_uses_the_cgroup_version_the_kernel_runs") {
        return;
    }
    let root = TestRoot::new();
    let version = host_cgroup_version();
    eprintln!(
        "kernel: {version:?}; minipod: {:?} ({:?}), hierarchies: {:?}",
        root.root.version(),
        root.root.setup(),
        root.root.hierarchies()
    );
    assert_eq!(root.root.version(), version);
    for controller in ["cpu", "memory", "pids"] {
        let dir = root.root.dir_for(root.root.name(), controller);
        assert_eq!(dir, Some(controller_dir(controller, root.root.name())));
    }
}

#[test]
fn pod_and_container_cgroups_hold_the_planned_values() {
    let _serial = serial();
    if !root_or_skip("pod_and_container_cgroups_hold_the_planned_values") {
        return;
    }
    let root = TestRoot::new();
    for (yaml, qos) in [
        (BURSTABLE, QosClass::Burstable),
        (GUARANTEED, QosClass::Guaranteed),
        (BEST_EFFORT, QosClass::BestEffort),
    ] {
        let plan = plan_of(yaml);
        assert_eq!(plan.qos_class, qos);
        let built = BuiltPod::create(&root, &plan, None);

        // The layout: the kubelet's, in every hierarchy minipod uses.
        let pod_path = expected_pod_path(&root, qos, &built.pod);
        assert_eq!(built.pod.path(), pod_path);
        for controller in ["cpu", "memory", "pids"] {
            let dir = controller_dir(controller, &pod_path);
            assert!(dir.is_dir(), "{} is missing", dir.display());
        }

        assert_files_hold(
            &format!("{qos} pod {}", plan.name),
            &pod_path,
            &plan.pod_cgroup,
        );
        for (container, planned) in built.containers.iter().zip(&plan.containers) {
            let path = pod_path.join(&planned.name);
            assert_eq!(container.path(), path);
            assert_files_hold(
                &format!("container {}", planned.name),
                &path,
                &planned.cgroup,
            );
            if host_cgroup_version() == CgroupVersion::V2 {
                // The kubelet's default on v2: the OOM killer takes the
                // whole container.
                assert_eq!(
                    read(&controller_dir("memory", &path).join("memory.oom.group")),
                    "1"
                );
            }
        }
        built.remove();
    }

    // The BestEffort tier has the kubelet's fixed minimum share.
    let tier = root.root.name().join("besteffort");
    match host_cgroup_version() {
        CgroupVersion::V1 => {
            assert_eq!(read(&controller_dir("cpu", &tier).join("cpu.shares")), "2")
        }
        CgroupVersion::V2 => {
            assert_eq!(read(&controller_dir("cpu", &tier).join("cpu.weight")), "1")
        }
    }
    root.remove_and_check_clean();
}

#[test]
fn a_process_joins_its_container_cgroup_before_it_execs() {
    let _serial = serial();
    if !root_or_skip("a_process_joins_its_container_cgroup_before_it_execs") {
        return;
    }
    let root = TestRoot::new();
    let built = BuiltPod::create(&root, &plan_of(BURSTABLE), None);
    let app = &built.containers[0];
    let expected = format!("/{}", app.path().display());
    let join = app.open_join().expect("open the join descriptors");

    // The program's own view, from its first instruction: `cat` reads its
    // /proc/self/cgroup, so the join happened before exec.
    let out = join
        .spawn(
            Command::new("cat")
                .arg("/proc/self/cgroup")
                .stdout(Stdio::piped()),
        )
        .expect("spawn cat")
        .wait_with_output()
        .expect("cat's output");
    assert!(out.status.success());
    let seen = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("/proc/self/cgroup of the joined process:\n{seen}");
    check_membership(&seen, &expected);

    // A long-running process: minipod lists it, /proc agrees.
    let mut sleeper = join
        .spawn(Command::new("sleep").arg("1000"))
        .expect("spawn sleep");
    drop(join);
    let pid = sleeper.id();
    check_membership(&proc_cgroup(pid).join("\n"), &expected);
    assert_eq!(app.pids().expect("pids"), vec![pid as i32]);

    // Removing the container kills it.
    built.remove();
    let status = wait_for_exit(&mut sleeper, PATIENCE);
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    root.remove_and_check_clean();
}

/// Every `/proc/<pid>/cgroup` line of a hierarchy minipod uses names `expected`.
fn check_membership(proc_cgroup: &str, expected: &str) {
    match host_cgroup_version() {
        CgroupVersion::V2 => {
            assert!(
                proc_cgroup.lines().any(|l| l == format!("0::{expected}")),
                "not in {expected}:\n{proc_cgroup}"
            );
        }
        CgroupVersion::V1 => {
            for controller in ["cpu", "memory", "pids", "cpuset", "freezer"] {
                let line = proc_cgroup
                    .lines()
                    .find(|l| {
                        l.split(':')
                            .nth(1)
                            .is_some_and(|c| c.split(',').any(|c| c == controller))
                    })
                    .unwrap_or_else(|| panic!("no {controller} line in:\n{proc_cgroup}"));
                assert!(
                    line.ends_with(&format!(":{expected}")),
                    "{controller}: not in {expected}: {line}"
                );
            }
        }
    }
}

#[test]
fn a_memory_hog_is_oom_killed_and_counted() {
    let _serial = serial();
    if !root_or_skip("a_memory_hog_is_oom_killed_and_counted") {
        return;
    }
    let root = TestRoot::new();
    let plan = plan_of(
        r#"
apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  containers:
  - name: hog
    image: busybox
    resources:
      limits: {memory: 32Mi}
"#,
    );
    let built = BuiltPod::create(&root, &plan, None);
    let hog = &built.containers[0];
    assert_eq!(hog.read_oom_kills().expect("oom kills"), 0);

    // `tail` keeps the last line of /dev/zero in memory, and that line
    // never ends: it grows until the limit.
    let join = hog.open_join().expect("join");
    let mut child = join
        .spawn(
            Command::new("tail")
                .arg("/dev/zero")
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .expect("spawn tail");
    drop(join);
    let started = Instant::now();
    let status = wait_for_exit(&mut child, PATIENCE);
    eprintln!("memory hog: {status:?} after {:?}", started.elapsed());
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    // At least one kill. With v2's memory.oom.group the kernel counts the
    // victim twice (killed as the victim, then again as a member of the
    // group), so a one-process container reads 2 there.
    let kills = hog.read_oom_kills().expect("oom kills");
    let events = match host_cgroup_version() {
        CgroupVersion::V1 => "memory.oom_control",
        CgroupVersion::V2 => "memory.events",
    };
    let events = read(&controller_dir("memory", hog.path()).join(events));
    eprintln!("memory hog: read_oom_kills() = {kills}; the kernel's counters:\n{events}");
    assert!(kills >= 1, "the OOM killer did not count the kill: {kills}");
    built.remove();
    root.remove_and_check_clean();
}

#[test]
fn a_fork_bomb_stops_at_the_pids_limit() {
    let _serial = serial();
    if !root_or_skip("a_fork_bomb_stops_at_the_pids_limit") {
        return;
    }
    const LIMIT: i64 = 20;
    let root = TestRoot::new();
    let built = BuiltPod::create(&root, &plan_of(BEST_EFFORT), Some(LIMIT));
    let bomb = &built.containers[0];
    let pids_dir = controller_dir("pids", bomb.path());
    assert_eq!(read(&pids_dir.join("pids.max")), LIMIT.to_string());

    // A bounded bomb: 100 forks at most, so a broken limit cannot take the
    // host down; each child sleeps, so every fork stays counted.
    let join = bomb.open_join().expect("join");
    let mut shell = join
        .spawn(
            Command::new("sh")
                .arg("-c")
                .arg("i=0; while [ $i -lt 100 ]; do sleep 1000 & i=$((i+1)); done; wait")
                .stderr(Stdio::null()),
        )
        .expect("spawn the fork bomb");
    drop(join);

    // The kernel refused a fork (pids.events counts refusals) ...
    wait_until("a fork was refused at the limit", PATIENCE, || {
        keyed(&pids_dir.join("pids.events"), "max") > 0
    });
    // ... and the cgroup never held more than the limit.
    let members = bomb.pids().expect("pids");
    let current: i64 = read(&pids_dir.join("pids.current"))
        .parse()
        .expect("pids.current");
    eprintln!(
        "fork bomb: {} processes, pids.current {current}, refused forks {}",
        members.len(),
        keyed(&pids_dir.join("pids.events"), "max")
    );
    assert!(current <= LIMIT, "pids.current {current} > {LIMIT}");
    assert!(members.len() as i64 <= LIMIT, "{} members", members.len());
    assert!(members.len() >= 2, "the bomb never forked: {members:?}");

    // Removing the container kills the bomb and every orphaned sleeper.
    built.remove();
    wait_for_exit(&mut shell, PATIENCE);
    root.remove_and_check_clean();
}

#[test]
fn removing_leaves_no_directory_behind() {
    let _serial = serial();
    if !root_or_skip("removing_leaves_no_directory_behind") {
        return;
    }
    let root = TestRoot::new();
    let built = BuiltPod::create(&root, &plan_of(BURSTABLE), Some(100));
    let join = built.containers[1].open_join().expect("join");
    let mut child = join
        .spawn(Command::new("sleep").arg("1000"))
        .expect("spawn");
    drop(join);

    // A pod cgroup is not removed while its containers' are there.
    let refused = built
        .pod
        .remove()
        .expect_err("pod removed before its containers");
    assert!(
        matches!(refused, CgroupError::HasChildren { .. }),
        "{refused}"
    );

    built.remove();
    wait_for_exit(&mut child, PATIENCE);
    for dir in built.pod.dirs().iter().chain(&built.containers[1].dirs()) {
        assert!(!dir.exists(), "{} is left behind", dir.display());
    }
    // Removing twice is fine.
    built.remove();
    root.remove_and_check_clean();
}

#[test]
fn a_failed_create_leaves_nothing_behind() {
    let _serial = serial();
    if !root_or_skip("a_failed_create_leaves_nothing_behind") {
        return;
    }
    let root = TestRoot::new();
    let built = BuiltPod::create(&root, &plan_of(GUARANTEED), None);

    // The kernel refuses a CFS quota under 1 ms: the directories are made,
    // then the values fail, and the directories must go again.
    let refused = ContainerCgroup::create(
        &built.pod,
        "bad",
        &CgroupValues::new(2, Some(500), None),
        None,
    )
    .expect_err("a 500 µs quota was accepted");
    eprintln!("refused as expected: {refused}");
    assert!(matches!(refused, CgroupError::Apply { .. }), "{refused}");
    for dir in root.root.dirs_of(&built.pod.path().join("bad")) {
        assert!(!dir.exists(), "{} is left behind", dir.display());
    }

    // An existing pod cgroup is refused, and left as it was.
    let uid = built
        .pod
        .path()
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("pod"))
        .expect("uid");
    let plan = plan_of(GUARANTEED);
    let again = PodCgroup::create(&root.root, QosClass::Guaranteed, uid, &plan.pod_cgroup)
        .expect_err("a second pod with the same uid");
    assert!(
        matches!(again, CgroupError::AlreadyExists { .. }),
        "{again}"
    );
    assert_files_hold("the existing pod", built.pod.path(), &plan.pod_cgroup);
    assert!(controller_dir("cpu", &built.pod.path().join("app")).is_dir());

    built.remove();
    root.remove_and_check_clean();
}

#[test]
fn clone_into_cgroup_starts_a_child_inside_the_container_on_v2() {
    let _serial = serial();
    if !root_or_skip("clone_into_cgroup_starts_a_child_inside_the_container_on_v2") {
        return;
    }
    let root = TestRoot::new();
    let built = BuiltPod::create(&root, &plan_of(BEST_EFFORT), None);
    let app = &built.containers[0];
    let join = app.open_join().expect("join");
    match host_cgroup_version() {
        CgroupVersion::V1 => {
            // A v1 process is in one cgroup per hierarchy; clone3 cannot
            // name them all, so there is no directory descriptor.
            assert!(join.cgroup_dir_fd().is_none());
            assert_eq!(join.fds().len(), root.root.hierarchies().len());
            eprintln!(
                "v1: joins through {} cgroup.procs descriptors",
                join.fds().len()
            );
        }
        CgroupVersion::V2 => {
            use std::os::fd::AsRawFd;
            let dir = join.cgroup_dir_fd().expect("a v2 directory descriptor");
            let pid = clone3::spawn_into_cgroup(dir.as_raw_fd(), c"/bin/sleep", c"1000")
                .expect("clone3(CLONE_INTO_CGROUP)");
            check_membership(
                &proc_cgroup(pid as u32).join("\n"),
                &format!("/{}", app.path().display()),
            );
            assert_eq!(app.pids().expect("pids"), vec![pid]);
            built.remove();
            let status =
                nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).expect("waitpid");
            assert_eq!(
                status,
                nix::sys::wait::WaitStatus::Signaled(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                    false
                )
            );
        }
    }
    drop(join);
    built.remove();
    root.remove_and_check_clean();
}

#[test]
fn two_hundred_create_remove_cycles_leave_nothing_behind() {
    let _serial = serial();
    if !root_or_skip("two_hundred_create_remove_cycles_leave_nothing_behind") {
        return;
    }
    let root = TestRoot::new();
    let plan = plan_of(BURSTABLE);
    let cycle = || {
        let built = BuiltPod::create(&root, &plan, Some(64));
        let join = built.containers[0].open_join().expect("join");
        let mut child = join
            .spawn(Command::new("sleep").arg("1000"))
            .expect("spawn");
        drop(join);
        built.remove();
        wait_for_exit(&mut child, PATIENCE);
    };
    // One cycle first: it makes the root and the tier (kept), and lets
    // libraries open what they keep open (a cached /proc handle).
    cycle();
    let (dirs_before, fds_before) = (root.count_dirs(), open_fds());
    let start = Instant::now();
    for _ in 0..200 {
        cycle();
    }
    let took = start.elapsed();
    let (dirs_after, fds_after) = (root.count_dirs(), open_fds());
    eprintln!(
        "200 cycles (pod + 2 containers + a process, removed) in {took:?} ({:?} each); \
         cgroup dirs {dirs_before} -> {dirs_after}, open fds {fds_before} -> {fds_after}",
        took / 200
    );
    assert_eq!(dirs_after, dirs_before, "cgroup directories leaked");
    assert_eq!(fds_after, fds_before, "file descriptors leaked");
    root.remove_and_check_clean();
}

/// A raw `clone3(2)` with `CLONE_INTO_CGROUP`: the child is born in the
/// cgroup and only calls `execve` (or `_exit`), the only calls that are
/// sound in the child of a multi-threaded process after a raw clone.
mod clone3 {
    use std::ffi::CStr;
    use std::io;
    use std::os::fd::RawFd;

    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

    #[repr(C)]
    #[derive(Default)]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }

    pub fn spawn_into_cgroup(cgroup_dir: RawFd, program: &CStr, arg: &CStr) -> io::Result<i32> {
        let argv = [program.as_ptr(), arg.as_ptr(), std::ptr::null()];
        let envp = [std::ptr::null::<libc::c_char>()];
        let args = CloneArgs {
            flags: CLONE_INTO_CGROUP,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: cgroup_dir as u64,
            ..CloneArgs::default()
        };
        // SAFETY: `args` is a valid `clone_args` of the size passed; with no
        // CLONE_VM the child gets a copy of the address space, like fork.
        let pid = unsafe {
            libc::syscall(
                libc::SYS_clone3,
                &args as *const CloneArgs,
                size_of::<CloneArgs>(),
            )
        };
        if pid == 0 {
            // SAFETY: in the child only execve and _exit run; `argv` and
            // `envp` are null-terminated arrays of valid C strings that
            // were built before the clone.
            unsafe {
                libc::execve(argv[0], argv.as_ptr(), envp.as_ptr());
                libc::_exit(127);
            }
        }
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(pid as i32)
    }
}
