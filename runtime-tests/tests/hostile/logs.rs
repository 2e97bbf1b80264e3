//! Logs without bounds: a container that writes 200 MB without a newline.
//!
//! Before the defence, one `0.log` grew by the full flood (no rotation),
//! and the monitor (`minipod run`) held the whole line in memory and
//! searched it again for a newline at each read: ~94 % CPU and 100 MB RSS
//! while it lasted. Now the log is rotated in the writer as it would cross
//! `containerLogMaxSize` (at most `containerLogMaxFiles` files), the line
//! is cut into 16 KiB `P` records, the console copy holds at most 16 KiB,
//! and a follower (`kubectl logs -f`) goes on in the new file after each
//! rotation.
//!
//! The run is small on purpose: 1Mi × 3 files, so the bound is 3 MiB.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use minipod_runtime::logs::{Follower, MAX_LINE, Stream, Tag, parse_line};
use minipod_runtime_tests::{
    MARKER_VAR, ScratchNode, root_on_the_host_or_skip, serial, wait_until_or,
};
use serde_json::json;

/// The real `minipod` command line: the monitor of the pod it runs.
const CLI: &str = env!("CARGO_BIN_EXE_minipod-cli");
/// What the container writes, without a newline.
const FLOOD: u64 = 200 * 1024 * 1024;
const MAX_SIZE: u64 = 1024 * 1024;
const MAX_FILES: usize = 3;
/// The longest CRI record: the timestamp, ` stdout P `, 16 KiB, a newline.
const MAX_RECORD: u64 = 30 + 10 + MAX_LINE as u64 + 1;
/// Written once the flood is over.
const DONE: &str = "flood-done";
/// Generous: the v2 run is an emulated VM, and the host is shared. The
/// flood took 13 to 18 s of wall time here (busybox `tr` is the slow part).
const PATIENCE: Duration = Duration::from_secs(600);
/// The monitor's CPU time (user + system) for the whole flood. Measured
/// with this debug build on the shared development host: 1.3 to 1.5 s for
/// 200 MB. Without the bounded console copy, the flood had not finished
/// after 300 s (the deadline then).
const MAX_MONITOR_CPU: Duration = Duration::from_secs(30);
/// The monitor's peak RSS. Measured: about 18 MiB with the debug build.
/// Without the bounded console copy: 50 MiB after 75 s, and growing with
/// the line.
const MAX_MONITOR_HWM_KIB: u64 = 48 * 1024;

/// `minipod run` on the pod, stopped (SIGTERM, then SIGKILL) if the test
/// fails while it runs.
struct Run(Child);

impl Drop for Run {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_some() {
            return;
        }
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if self.0.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// utime + stime of a process (`/proc/<pid>/stat`, fields 14 and 15).
fn cpu_time(pid: u32) -> Duration {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/<pid>/stat");
    // The command name, in parentheses, may hold spaces: count after it.
    let after = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as u64;
    Duration::from_millis(ticks * 1000 / per_second)
}

/// `VmHWM` of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// The container's log files: the current `0.log` and the rotated ones.
fn log_files(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut files: Vec<(PathBuf, u64)> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| Some((e.path(), e.metadata().ok()?.len())))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn a_flood_without_newlines_is_rotated_cut_and_costs_the_monitor_little() {
    if !root_on_the_host_or_skip(
        "a_flood_without_newlines_is_rotated_cut_and_costs_the_monitor_little",
    ) {
        return;
    }
    let _serial = serial();
    let node = ScratchNode::new("hostile-logs");
    let script = format!(
        "trap 'exit 0' TERM; head -c {FLOOD} /dev/zero | tr '\\0' y; echo; echo {DONE}; sleep 1000 & wait"
    );
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "flood", "namespace": "default"},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 10,
            "containers": [{
                "name": "flood",
                "image": "busybox:1.36",
                "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c", script],
            }],
        },
    });
    let manifest = node.path("pod.json");
    fs::write(&manifest, pod.to_string()).expect("write the manifest");
    let run = Run(Command::new(CLI)
        .args(["run", "-f"])
        .arg(&manifest)
        .args(node.node_flags())
        .args(["--container-log-max-size", "1Mi"])
        .args(["--container-log-max-files", &MAX_FILES.to_string()])
        .env(MARKER_VAR, &node.marker)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(node.path("stderr")).expect("stderr file"))
        .spawn()
        .expect("start minipod run"));
    let monitor = run.0.id();

    // The container's log directory, once the pod has one.
    let logs = node.path("logs");
    let container_dir = wait_until_or("the container's log directory exists", PATIENCE, || {
        fs::read_dir(&logs)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| e.path().join("flood"))
            .filter(|d| d.join("0.log").exists())
            .ok_or("not yet")
    });
    let current = container_dir.join("0.log");
    let cpu_before = cpu_time(monitor);
    let started = Instant::now();

    // `kubectl logs -f`: a follower reads on while the file is rotated.
    let stop = Arc::new(AtomicBool::new(false));
    let follower = {
        let stop = Arc::clone(&stop);
        let current = current.clone();
        std::thread::spawn(move || {
            let mut follower = Follower::new(&current);
            let mut seen_done = false;
            let mut buf = Vec::new();
            // Until the marker, or until told to stop and nothing new is
            // left: the follower may be a few reads behind the test.
            while !seen_done {
                buf.clear();
                if follower.read_new(&mut buf, 1 << 20).expect("follow") == 0 {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                seen_done = buf
                    .split(|b| *b == b'\n')
                    .filter_map(|l| parse_line(l).ok())
                    .any(|e| e.content == DONE.as_bytes());
            }
            (seen_done, follower.switches())
        })
    };

    // While it floods: never more than the bound on disk.
    let mut largest_total = 0;
    let mut largest_file = 0;
    let mut most_files = 0;
    let mut peak_kib = 0;
    let done_record = format!(" F {DONE}\n").into_bytes();
    wait_until_or("the container has written the flood", PATIENCE, || {
        let files = log_files(&container_dir);
        largest_total = largest_total.max(files.iter().map(|(_, l)| l).sum::<u64>());
        largest_file = largest_file.max(files.iter().map(|(_, l)| *l).max().unwrap_or(0));
        most_files = most_files.max(files.len());
        peak_kib = peak_kib.max(peak_rss_kib(monitor));
        let done = fs::read(&current)
            .map(|b| b.ends_with(&done_record))
            .unwrap_or(false);
        if largest_total > MAX_SIZE * MAX_FILES as u64 + MAX_RECORD {
            panic!("the logs hold {largest_total} bytes: {files:?}");
        }
        done.then_some(()).ok_or(largest_total)
    });
    let flood_time = started.elapsed();
    let cpu = cpu_time(monitor) - cpu_before;
    peak_kib = peak_kib.max(peak_rss_kib(monitor));
    stop.store(true, Ordering::SeqCst);
    let (follower_saw_done, switches) = follower.join().expect("the follower");
    eprintln!(
        "flood of {FLOOD} bytes: {flood_time:?}, monitor CPU {cpu:?}, peak RSS {peak_kib} KiB, \
         largest total {largest_total} B, largest file {largest_file} B, {most_files} files, \
         follower switched files {switches} times"
    );

    // Bounded on disk: at most MaxFiles files of at most MaxSize (+ one record).
    assert!(most_files <= MAX_FILES, "{most_files} files");
    assert!(
        largest_file <= MAX_SIZE + MAX_RECORD,
        "a file of {largest_file} bytes"
    );
    let files = log_files(&container_dir);
    assert!(files.len() >= 2, "rotated: {files:?}");
    // Cut into CRI records: `P` pieces of at most 16 KiB of `y`, the line
    // ended by an `F` (the echo), then the marker.
    let mut records = 0;
    let mut full_records = 0;
    for (path, _) in &files {
        let bytes = fs::read(path).expect("read a log file");
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let entry = parse_line(line).expect("a CRI record");
            assert_eq!(entry.stream, Stream::Stdout);
            assert!(
                entry.content.len() <= MAX_LINE,
                "{} bytes",
                entry.content.len()
            );
            if entry.tag == Tag::Partial {
                assert!(entry.content.iter().all(|b| *b == b'y'));
            }
            records += 1;
            full_records += usize::from(entry.content.len() == MAX_LINE);
        }
    }
    eprintln!("{records} records on disk, {full_records} of them of 16 KiB");
    // A record per read of the pipe, cut at 16 KiB: a flood fills the
    // pipe, so its records are (nearly all) of 16 KiB.
    assert!(
        full_records * 2 >= records,
        "{full_records} of {records} records of 16 KiB"
    );
    // The monitor did little work and held little memory.
    assert!(cpu < MAX_MONITOR_CPU, "the monitor used {cpu:?} of CPU");
    assert!(
        peak_kib < MAX_MONITOR_HWM_KIB,
        "the monitor's peak RSS was {peak_kib} KiB"
    );
    // `logs -f` went on across rotations to the end of the flood.
    assert!(follower_saw_done, "the follower never saw {DONE:?}");
    assert!(switches >= 1, "the follower never switched files");

    drop(run);
    node.check_nothing_left();
    node.remove_dir();
}
