//! minipod-bench-pod: how fast `minipod run` brings a whole pod up and
//! down, and how much memory its monitor needs. Measured, not asserted: run
//! it with `scripts/bench` (release build, as root).
//!
//! Each run spawns the real command line (`minipod-cli run -f pod.json`,
//! the node directory of its network, kept from run to run as a host's
//! `/var/lib/minipod` and `/run/minipod` are, the cgroup root
//! `minipod-bench-<pid>`) on a
//! 3-container pod with its image present: a regular init container running
//! `true`, a native sidecar (`initContainers[]` with `restartPolicy:
//! Always`) and an app, both busybox `sh` loops that exit at once on
//! SIGTERM. It reads the command's stderr line by line:
//!
//! * start: the clock runs from the spawn to the arrival of the app's
//!   `Started container app` event line (every container then runs); the
//!   arrival of the init's and the sidecar's `Started` lines splits it;
//! * memory: `VmRSS`, `VmHWM`, `RssAnon` and `RssFile` of the `minipod run`
//!   process (`/proc/<pid>/status`), read when the app's line arrives and
//!   again 200 ms later;
//! * stop: 200 ms after the start (the shells have set their trap), SIGINT
//!   (Ctrl-C); the clock runs to the process's exit, which must be 0 (the
//!   pod Succeeded).
//!
//! Each run is made three times, interleaved (so a busier moment of the
//! host weighs on the three alike), on three networks (`network.rs`): none
//! (`--pod-network none`, the pod before issue 13), minipod's native
//! default network on a bridge and range of the bench's own, and the same
//! chain as CNI plugins from a conf dir of the bench's. For the two
//! networks a watcher thread polls the network's teardown state (the native
//! record `<state>/network/pods/<uid>.json`, the CNI result cache
//! `<state>/cni/results/`) every 250 µs: it appears when the pod's network
//! is attached and goes as the network's teardown's last step, which
//! splits the start and the stop.
//!
//! After each run no pod cgroup may be left under the root, no mount
//! under the node directory, no port on the network's bridge and no
//! address held. The image store is made once, in the bench's
//! temporary directory, by `scripts/busybox-image` (or given).
//!
//! ```text
//! minipod-bench-pod [-n COUNT] [--cli PATH] [--image-root DIR] [--networks LIST]
//!   -n COUNT          measured runs (default 20) of each network, after 2 unmeasured warm-up runs
//!   --networks LIST   which networks, comma-separated (default none,native,cni)
//!   --cli PATH        the minipod command line (default: minipod-cli next to this binary)
//!   --image-root DIR  an image store holding busybox:1.36 (default: made in a temp dir)
//! ```

#![forbid(unsafe_code)]

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::sleep;
use std::time::{Duration, Instant};

use minipod_linux::cgroup::CgroupRoot;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;

mod network;
mod report;

use network::{Mode, Networks, Watch};

const WARMUP: usize = 2;
/// The sidecar's and the app's workload: a loop that exits 0 at once on SIGTERM.
const LOOP: &str = "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done";
/// How long the pod runs between the start and the SIGINT.
const SETTLE: Duration = Duration::from_millis(200);
/// Far beyond any sane start or stop: a run taking longer has failed.
const PATIENCE: Duration = Duration::from_secs(60);

struct Args {
    count: usize,
    cli: PathBuf,
    image_root: Option<PathBuf>,
    modes: Vec<Mode>,
}

/// One run's figures.
struct Run {
    to_init: Duration,
    init_to_sidecar: Duration,
    sidecar_to_app: Duration,
    start: Duration,
    stop: Duration,
    /// Spawn to the network attached (its teardown state written).
    attached: Option<Duration>,
    /// SIGINT to the network torn down (its teardown state removed).
    detached: Option<Duration>,
    memory: [Memory; 2],
}

/// The `kB` fields of `/proc/<pid>/status` we report.
#[derive(Clone, Copy, Default)]
struct Memory {
    rss: u64,
    hwm: u64,
    anon: u64,
    file: u64,
}

fn main() {
    let args = parse_args();
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!(
            "minipod-bench-pod: run as root (minipod run creates namespaces, mounts and cgroups)"
        );
        std::process::exit(2);
    }
    if !args.cli.is_file() {
        eprintln!(
            "minipod-bench-pod: no minipod command line at {} (build it: cargo build --release -p minipod-runtime-tests --bins)",
            args.cli.display()
        );
        std::process::exit(2);
    }
    if let Some(missing) = network::missing_tool(&args.modes) {
        eprintln!(
            "minipod-bench-pod: {missing} (scripts/setup.sh installs it), or leave its network out with --networks"
        );
        std::process::exit(2);
    }
    let dir = std::env::temp_dir().join(format!("minipod-bench-pod-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("the bench's directory");
    let root_name = format!("minipod-bench-{}", std::process::id());
    let root = CgroupRoot::detect(&root_name).expect("detect the host's cgroups");

    let (result, leftovers) = match Networks::new(&dir) {
        Ok(networks) => {
            let result =
                bench(&args, &dir, &root, &networks).map(|runs| (runs, networks.describe()));
            // A failed run's pod goes before its network.
            let leftovers = clean_up(&dir, &root);
            drop(networks);
            (result, leftovers)
        }
        Err(e) => (Err(e), clean_up(&dir, &root)),
    };
    let (runs, networks) = match result {
        Ok(runs) if leftovers.is_empty() => runs,
        Ok(_) => {
            eprintln!("minipod-bench-pod: left behind (now removed): {leftovers:?}");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("minipod-bench-pod: {e}");
            std::process::exit(1);
        }
    };
    report::report(&args, &root, &networks, &runs);
}

/// The runs of each network, in the order of `args.modes`.
type Runs = Vec<(Mode, Vec<Run>)>;

fn bench(args: &Args, dir: &Path, root: &CgroupRoot, networks: &Networks) -> Result<Runs, String> {
    let image_root = match &args.image_root {
        Some(store) => store.clone(),
        None => make_image_store(&args.cli, dir)?,
    };
    let manifest = dir.join("pod.json");
    fs::write(&manifest, pod().to_string()).map_err(|e| format!("write the manifest: {e}"))?;
    let bench = Bench {
        cli: &args.cli,
        manifest: &manifest,
        image_root: &image_root,
        root,
    };
    let mut runs: Runs = args.modes.iter().map(|m| (*m, Vec::new())).collect();
    for i in 0..WARMUP + args.count {
        for (mode, done) in &mut runs {
            let mode = *mode;
            // One node per network, kept from run to run as a host keeps
            // /var/lib/minipod and /run/minipod: what a node sets up once
            // (the default network's bridge and NAT table) is set up by
            // the warm-up runs, as it is once per boot on a host.
            let node = dir.join("nodes").join(mode.label());
            let state = node.join("state");
            let failed = |e: String| format!("run {i} ({} network): {e}", mode.label());
            let one = run_once(
                &bench,
                &node,
                networks.flags(mode),
                Networks::teardown_marker_dir(mode, &state),
            )
            .map_err(failed)?;
            check_clean(&node, root).map_err(failed)?;
            networks.check_clean(mode, &state).map_err(failed)?;
            if i >= WARMUP {
                done.push(one);
            }
        }
    }
    Ok(runs)
}

/// What every run shares.
struct Bench<'a> {
    cli: &'a Path,
    manifest: &'a Path,
    image_root: &'a Path,
    root: &'a CgroupRoot,
}

/// The bench's pod: init `true`, a native sidecar and an app.
fn pod() -> serde_json::Value {
    let container = |name: &str, command: serde_json::Value| {
        json!({
            "name": name,
            "image": "busybox:1.36",
            "imagePullPolicy": "IfNotPresent",
            "command": command,
        })
    };
    let mut sidecar = container("sidecar", json!(["sh", "-c", LOOP]));
    sidecar["restartPolicy"] = json!("Always");
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bench"},
        "spec": {
            "initContainers": [container("init", json!(["true"])), sidecar],
            "containers": [container("app", json!(["sh", "-c", LOOP]))],
        },
    })
}

/// `scripts/busybox-image --root <dir>/images`, imported with `cli`.
fn make_image_store(cli: &Path, dir: &Path) -> Result<PathBuf, String> {
    let store = dir.join("images");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/busybox-image");
    let out = Command::new(&script)
        .arg("--root")
        .arg(&store)
        .arg(dir.join("busybox-oci"))
        .env("MINIPOD", cli)
        .output()
        .map_err(|e| format!("run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "scripts/busybox-image failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(store)
}

/// One `minipod run`: start, memory, stop.
fn run_once(
    bench: &Bench,
    node: &Path,
    network_flags: Vec<std::ffi::OsString>,
    network_state: Option<PathBuf>,
) -> Result<Run, String> {
    let Bench {
        cli,
        manifest,
        image_root,
        root,
    } = *bench;
    let watch = network_state.map(Watch::start);
    let t0 = Instant::now();
    let mut child = Command::new(cli)
        .arg("run")
        .arg("-f")
        .arg(manifest)
        .arg("--state-dir")
        .arg(node.join("state"))
        .arg("--run-dir")
        .arg(node.join("run"))
        .arg("--logs-dir")
        .arg(node.join("logs"))
        .arg("--image-root")
        .arg(image_root)
        .arg("--cgroup-root")
        .arg(root.name())
        .args(network_flags)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("start {}: {e}", cli.display()))?;
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("a pid"));
    let lines = read_lines(&mut child);
    let mut seen = Vec::new();

    // Start: the `Started` events of init, sidecar and app, in that order.
    let mut started = [None; 3];
    let deadline = t0 + PATIENCE;
    while started[2].is_none() {
        let timeout = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(timeout) {
            Ok((at, line)) => {
                if let Some(i) = started_container(&line) {
                    started[i].get_or_insert(at);
                }
                seen.push(line);
            }
            Err(e) => {
                let why = match e {
                    RecvTimeoutError::Timeout => "the app did not start in time",
                    RecvTimeoutError::Disconnected => "minipod run ended before the app started",
                };
                stop(&mut child, pid);
                if let Some(watch) = watch {
                    watch.finish();
                }
                return Err(failure(why, seen, &lines));
            }
        }
    }
    let memory_started = memory(pid);
    sleep(SETTLE);
    let memory_settled = memory(pid);

    // Stop: Ctrl-C, then the process's exit.
    let t_signal = Instant::now();
    kill(pid, Signal::SIGINT).map_err(|e| format!("SIGINT: {e}"))?;
    let status = wait_with_patience(&mut child, pid);
    let t_exit = Instant::now();
    let (attached, detached) = watch.map(Watch::finish).unwrap_or_default();
    let [Some(init), Some(sidecar), Some(app)] = started else {
        unreachable!("the loop ends once the app started, after the others")
    };
    if !status.success() {
        let why = format!("minipod run exited with {status} (expected 0: Succeeded)");
        return Err(failure(&why, seen, &lines));
    }
    // Drain (and so wait for) the reader: nothing may hold the pipe now.
    while lines.recv_timeout(PATIENCE).is_ok() {}
    if init > sidecar || sidecar > app {
        return Err(failure("containers started out of order", seen, &lines));
    }
    if let Some(gone) = detached
        && gone < t_signal
    {
        return Err("the network's teardown state went before the pod's stop".into());
    }
    Ok(Run {
        to_init: init - t0,
        init_to_sidecar: sidecar - init,
        sidecar_to_app: app - sidecar,
        start: app - t0,
        stop: t_exit - t_signal,
        attached: attached.map(|at| at - t0),
        detached: detached.map(|at| at - t_signal),
        memory: [memory_started, memory_settled],
    })
}

/// Which container (0 init, 1 sidecar, 2 app) a `Started` event line is
/// about: `20:45:15.174 Normal  Started      app: Started container app`.
fn started_container(line: &str) -> Option<usize> {
    let mut words = line.split_whitespace().skip(2);
    if words.next() != Some("Started") {
        return None;
    }
    let object = words.next()?.strip_suffix(':')?;
    ["init", "sidecar", "app"]
        .iter()
        .position(|name| *name == object)
}

/// The child's stderr, line by line, each with the time it arrived, from a
/// thread of its own (so the pipe never fills while we wait).
fn read_lines(child: &mut Child) -> Receiver<(Instant, String)> {
    let stderr = child.stderr.take().expect("piped stderr");
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if send.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    receive
}

/// Waits for the child; kills it if it takes longer than [`PATIENCE`].
fn wait_with_patience(child: &mut Child, pid: Pid) -> std::process::ExitStatus {
    let (done, watch) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if let Err(RecvTimeoutError::Timeout) = watch.recv_timeout(PATIENCE) {
            eprintln!("minipod-bench-pod: minipod run did not exit in time: SIGKILL");
            let _ = kill(pid, Signal::SIGKILL);
        }
    });
    let status = child.wait().expect("wait for minipod run");
    drop(done);
    watchdog.join().expect("the watchdog");
    status
}

/// After a failure: a second SIGINT kills the pod at once.
fn stop(child: &mut Child, pid: Pid) {
    let _ = kill(pid, Signal::SIGINT);
    sleep(Duration::from_millis(100));
    let _ = kill(pid, Signal::SIGINT);
    wait_with_patience(child, pid);
}

fn failure(why: &str, mut seen: Vec<String>, lines: &Receiver<(Instant, String)>) -> String {
    while let Ok((_, line)) = lines.recv_timeout(Duration::from_secs(1)) {
        seen.push(line);
    }
    format!("{why}; its stderr:\n{}", seen.join("\n"))
}

/// No pod cgroup under the root, no mount under the node directory.
fn check_clean(node: &Path, root: &CgroupRoot) -> Result<(), String> {
    let pods: Vec<PathBuf> = cgroup_dirs(root)
        .into_iter()
        .filter(|d| {
            d.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("pod"))
        })
        .collect();
    if !pods.is_empty() {
        return Err(format!("pod cgroups left behind: {pods:?}"));
    }
    let node = node.to_str().expect("utf-8");
    let mounts: Vec<String> = fs::read_to_string("/proc/self/mountinfo")
        .expect("/proc/self/mountinfo")
        .lines()
        .filter(|l| l.contains(node))
        .map(str::to_owned)
        .collect();
    if !mounts.is_empty() {
        return Err(format!("mounts left behind: {mounts:?}"));
    }
    Ok(())
}

/// Every directory under the root (the root itself included), in every
/// hierarchy, parents before children.
fn cgroup_dirs(root: &CgroupRoot) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        out.push(dir.to_owned());
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&entry.path(), out);
            }
        }
    }
    let mut out = Vec::new();
    for dir in root.dirs_of(root.name()) {
        walk(&dir, &mut out);
    }
    out
}

/// Removes the bench's directory and cgroup root. Returns the cgroups that
/// were left beyond the root and its QoS tiers (after a failure: those processes are
/// killed and their cgroups removed too). Touches only the bench's own root.
fn clean_up(dir: &Path, root: &CgroupRoot) -> Vec<PathBuf> {
    let left: Vec<PathBuf> = cgroup_dirs(root)
        .into_iter()
        .filter(|d| {
            let rel = root
                .dirs_of(root.name())
                .into_iter()
                .find_map(|r| d.strip_prefix(r).ok().map(Path::to_owned));
            rel.is_some_and(|r| {
                let tier = r == Path::new("burstable") || r == Path::new("besteffort");
                !r.as_os_str().is_empty() && !tier
            })
        })
        .collect();
    for dir in left.iter().rev() {
        let _ = fs::write(dir.join("freezer.state"), "THAWED");
        for _ in 0..100 {
            let members: Vec<i32> = fs::read_to_string(dir.join("cgroup.procs"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect();
            if members.is_empty() {
                break;
            }
            for member in members {
                let _ = kill(Pid::from_raw(member), Signal::SIGKILL);
            }
            sleep(Duration::from_millis(10));
        }
        let _ = fs::remove_dir(dir);
    }
    match root.remove_if_unused() {
        Ok(true) => {}
        Ok(false) => eprintln!("minipod-bench-pod: the cgroup root {root:?} is still in use"),
        Err(e) => eprintln!("minipod-bench-pod: removing the cgroup root: {e}"),
    }
    // Unmount anything a failed run left under the directory, deepest first.
    let text = dir.to_str().expect("utf-8");
    let mut mounts: Vec<String> = fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .filter(|m| m.starts_with(text))
        .map(str::to_owned)
        .collect();
    mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
    for mount in mounts {
        let _ = nix::mount::umount2(mount.as_str(), nix::mount::MntFlags::MNT_DETACH);
    }
    if let Err(e) = fs::remove_dir_all(dir) {
        eprintln!("minipod-bench-pod: removing {}: {e}", dir.display());
    }
    left
}

fn parse_args() -> Args {
    let mut args = Args {
        count: 20,
        cli: std::env::current_exe()
            .expect("the bench's own path")
            .with_file_name("minipod-cli"),
        image_root: None,
        modes: Mode::ALL.to_vec(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "-n" => match value.parse() {
                Ok(n) if n > 0 => args.count = n,
                _ => usage(),
            },
            "--cli" => args.cli = value.into(),
            "--image-root" => args.image_root = Some(value.into()),
            "--networks" => {
                let modes: Option<Vec<Mode>> = value
                    .split(',')
                    .map(|name| Mode::ALL.into_iter().find(|m| m.label() == name))
                    .collect();
                match modes {
                    Some(modes) if !modes.is_empty() => args.modes = modes,
                    _ => usage(),
                }
            }
            _ => usage(),
        }
    }
    args
}

fn usage() -> ! {
    eprintln!(
        "usage: minipod-bench-pod [-n COUNT] [--cli PATH] [--image-root DIR] [--networks none,native,cni]"
    );
    std::process::exit(2);
}

/// `VmRSS`, `VmHWM`, `RssAnon` and `RssFile` of `pid`.
fn memory(pid: Pid) -> Memory {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Memory {
        rss: field("VmRSS"),
        hwm: field("VmHWM"),
        anon: field("RssAnon"),
        file: field("RssFile"),
    }
}
