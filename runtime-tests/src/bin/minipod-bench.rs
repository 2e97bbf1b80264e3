//! minipod-bench: how fast a container starts with its image present, and
//! how much memory the monitor needs. Measured, not asserted: run it with
//! `scripts/bench` (release build, as root).
//!
//! One pod sandbox and pod cgroup, then N containers of busybox `true`, one
//! after the other, each through the whole cycle the runtime will do:
//! container cgroup and overlay directories, `container::start` (which
//! returns once the workload has been exec'd), wait for the exit, remove
//! the cgroup and the directories. The bench is its own container init
//! (`run_helper_if_asked`), as minipod is.
//!
//! ```text
//! minipod-bench [-n COUNT]      # default 100, after 5 unmeasured warm-up runs
//! ```

#![forbid(unsafe_code)]

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use minipod_linux::cgroup::{CgroupVersion, ContainerCgroup, PodCgroup};
use minipod_linux::container::{self, ContainerConfig, ExitStatus, Rootfs, Stdio, User};
use minipod_linux::sandbox::Sandbox;
use minipod_runtime_tests::{TestRoot, busybox_layer, plan_of, unique_uid};

const POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: bench}
spec:
  containers:
  - {name: bench, image: busybox, resources: {limits: {cpu: 500m, memory: 64Mi}}}
"#;

const WARMUP: usize = 5;

/// The phases of one container's cycle.
#[derive(Default)]
struct Samples {
    prepare: Vec<Duration>,
    start: Vec<Duration>,
    run: Vec<Duration>,
    remove: Vec<Duration>,
    cycle: Vec<Duration>,
}

fn main() {
    minipod_linux::reexec::run_helper_if_asked();
    let count = parse_count();
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("minipod-bench: run as root (it creates namespaces, mounts and cgroups)");
        std::process::exit(2);
    }
    let program = std::env::current_exe().expect("the bench's own path");
    let rss_before = status_kib("VmRSS");

    let plan = plan_of(POD);
    let uid = unique_uid();
    let dir = std::env::temp_dir().join(format!("minipod-bench-{uid}"));
    let sandbox = Sandbox::create(&program, &dir.join("run"), "bench").expect("create the sandbox");
    let cgroups = TestRoot::new();
    let pod_cgroup = PodCgroup::create(&cgroups.root, plan.qos_class, &uid, &plan.pod_cgroup)
        .expect("create the pod cgroup");
    let layer = busybox_layer().to_owned();

    let mut samples = Samples::default();
    for i in 0..WARMUP + count {
        let config = config(
            &sandbox,
            &layer,
            &dir.join("containers").join(i.to_string()),
        );
        let one = cycle(&program, &config, &pod_cgroup, &plan.containers[0].cgroup);
        if i >= WARMUP {
            samples.prepare.push(one.prepare);
            samples.start.push(one.start);
            samples.run.push(one.run);
            samples.remove.push(one.remove);
            samples.cycle.push(one.cycle);
        }
    }

    sandbox.remove();
    pod_cgroup.remove().expect("remove the pod cgroup");
    cgroups.remove_and_check_clean();
    let _ = fs::remove_dir_all(&dir);

    let version = match cgroups.root.version() {
        CgroupVersion::V1 => "v1",
        CgroupVersion::V2 => "v2",
    };
    println!(
        "minipod-bench: {count} containers of busybox `true`, one at a time (+{WARMUP} warm-up), cgroup {version}, {} build",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!();
    println!(
        "{:<38} {:>9} {:>9} {:>9} {:>9}",
        "phase (ms)", "median", "p90", "min", "max"
    );
    let rows: [(&str, &mut Vec<Duration>); 5] = [
        ("cgroup + overlay dirs", &mut samples.prepare),
        ("start: start() call -> workload exec", &mut samples.start),
        ("run `true` and wait for its exit", &mut samples.run),
        ("remove cgroup + dirs", &mut samples.remove),
        ("whole cycle", &mut samples.cycle),
    ];
    for (name, values) in rows {
        values.sort();
        println!(
            "{name:<38} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
            ms(percentile(values, 50)),
            ms(percentile(values, 90)),
            ms(values[0]),
            ms(values[values.len() - 1])
        );
    }
    println!();
    println!(
        "monitor memory: peak RSS (VmHWM) {:.1} MiB; RSS {:.1} MiB before the first container, {:.1} MiB after the last",
        mib(status_kib("VmHWM")),
        mib(rss_before),
        mib(status_kib("VmRSS"))
    );
    let median_start = percentile(&samples.start, 50);
    println!(
        "target: container start under 10 ms: {} (median {:.3} ms)",
        if median_start < Duration::from_millis(10) {
            "met"
        } else {
            "NOT met"
        },
        ms(median_start)
    );
}

struct Cycle {
    prepare: Duration,
    start: Duration,
    run: Duration,
    remove: Duration,
    cycle: Duration,
}

fn cycle(
    program: &Path,
    config: &ContainerConfig,
    pod: &PodCgroup,
    values: &minipod_plan::cgroup::CgroupValues,
) -> Cycle {
    let t0 = Instant::now();
    for d in [&config.rootfs.upper, &config.rootfs.work] {
        fs::create_dir_all(d).expect("container dirs");
    }
    let cgroup = ContainerCgroup::create(pod, "bench", values, Some(64)).expect("container cgroup");
    let join = cgroup.open_join().expect("open the cgroup join");
    let null = || -> std::os::fd::OwnedFd {
        fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .expect("/dev/null")
            .into()
    };
    let stdio = Stdio {
        stdin: null(),
        stdout: null(),
        stderr: null(),
    };
    let t1 = Instant::now();
    let running =
        container::start(program, config, &stdio, &join).unwrap_or_else(|e| panic!("start: {e}"));
    let t2 = Instant::now();
    drop(join);
    let status = running.wait().expect("wait");
    assert_eq!(status, ExitStatus::Exited(0), "`true` exits 0");
    let t3 = Instant::now();
    cgroup.remove().expect("remove the container cgroup");
    let dir = config.rootfs.upper.parent().expect("the container's dir");
    fs::remove_dir_all(dir).expect("remove the container's dirs");
    let t4 = Instant::now();
    Cycle {
        prepare: t1 - t0,
        start: t2 - t1,
        run: t3 - t2,
        remove: t4 - t3,
        cycle: t4 - t0,
    }
}

fn config(sandbox: &Sandbox, layer: &Path, dir: &Path) -> ContainerConfig {
    ContainerConfig {
        join_namespaces: sandbox.namespace_paths(),
        rootfs: Rootfs {
            lower: vec![layer.to_owned()],
            upper: dir.join("upper"),
            work: dir.join("work"),
            merged: dir.join("rootfs"),
            readonly: false,
        },
        mounts: Vec::new(),
        args: vec!["true".into()],
        env: vec!["PATH=/bin".into(), "HOSTNAME=bench".into()],
        cwd: "/".into(),
        user: User::default(),
        capabilities: minipod_plan::launch::DEFAULT_CAPABILITIES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        no_new_privileges: false,
        privileged: false,
        seccomp: None,
        apparmor_profile: None,
    }
}

fn parse_count() -> usize {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => 100,
        [flag, n] if flag == "-n" => match n.parse() {
            Ok(n) if n > 0 => n,
            _ => usage(),
        },
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!("usage: minipod-bench [-n COUNT]");
    std::process::exit(2);
}

/// The `p`th percentile of sorted values (nearest rank).
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let mut sorted = sorted.to_vec();
    sorted.sort();
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A `kB` field of `/proc/self/status`.
fn status_kib(field: &str) -> u64 {
    let status = fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}
