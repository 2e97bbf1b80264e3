//! A node directory of its own for one scenario test, and the checks that
//! nothing of the test is left when it ends.
//!
//! The tests that run `minipod` (or `minipodd`) as a separate program
//! (`tests/lifecycle.rs`, `tests/records.rs`, `tests/daemon.rs`) each get a
//! [`ScratchNode`]: a fresh directory `minipod-rt-<prefix>-<pid>-<n>` (the
//! node's state, run and logs directories, the `shared/` hostPath
//! directory, whatever else the test writes), a cgroup root of its own
//! ([`TestRoot`]), and a marker the test sets in the environment of what
//! it starts ([`MARKER_VAR`]): every helper process inherits it, which is
//! how [`ScratchNode::leftover_processes`] finds them at the end.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use minipod_runtime::pod::NodeConfig;

use crate::{TestRoot, busybox_image_store, wait_until_or};

/// The environment variable that carries a [`ScratchNode`]'s marker.
pub const MARKER_VAR: &str = "MINIPOD_RT_SCENARIO";

/// Generous: the v2 run is an emulated VM.
const PATIENCE: Duration = Duration::from_secs(120);

/// One test's node: a fresh directory and a cgroup root of its own.
/// [`ScratchNode::check_nothing_left`] checks that nothing of its pods is
/// left; [`ScratchNode::remove_dir`] removes the directory.
#[derive(Debug)]
pub struct ScratchNode {
    /// The node's directory (`state`, `run`, `logs`, `shared` under it).
    pub dir: PathBuf,
    /// The node's cgroup root.
    pub cgroups: TestRoot,
    /// Set as [`MARKER_VAR`] in the environment of what the test starts.
    pub marker: String,
}

impl ScratchNode {
    /// A fresh `minipod-rt-<prefix>-<pid>-<n>` directory with an empty
    /// `shared/` in it, and a cgroup root. Builds the busybox image store
    /// first, so that nothing the test times waits for it.
    pub fn new(prefix: &str) -> ScratchNode {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let marker = format!(
            "minipod-rt-{prefix}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(&marker);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("shared")).expect("the shared directory");
        busybox_image_store();
        ScratchNode {
            dir,
            cgroups: TestRoot::new(),
            marker,
        }
    }

    /// `sub` under the node's directory.
    pub fn path(&self, sub: &str) -> PathBuf {
        self.dir.join(sub)
    }

    /// The host side of the containers' `/shared` (a hostPath volume).
    pub fn shared(&self) -> PathBuf {
        self.path("shared")
    }

    /// The name of the node's cgroup root (`--cgroup-root`).
    pub fn cgroup_root(&self) -> String {
        self.cgroups.root.name().to_str().expect("utf-8").to_owned()
    }

    /// The flags that point `minipod` (or `minipodd`) at this node:
    /// `--state-dir`, `--run-dir`, `--logs-dir`, `--image-root` (the busybox
    /// image store) and `--cgroup-root`; `--pod-network none` (loopback
    /// only: the pod network's tests give theirs a bridge and range of
    /// their own).
    pub fn node_flags(&self) -> Vec<String> {
        let path = |sub: &str| self.path(sub).to_str().expect("utf-8").to_owned();
        vec![
            "--state-dir".into(),
            path("state"),
            "--run-dir".into(),
            path("run"),
            "--logs-dir".into(),
            path("logs"),
            "--image-root".into(),
            busybox_image_store().to_str().expect("utf-8").into(),
            "--cgroup-root".into(),
            self.cgroup_root(),
            "--pod-network".into(),
            "none".into(),
        ]
    }

    /// [`ScratchNode::node_flags`] with a pod network of the test's own
    /// instead of `--pod-network none`: the native default network on
    /// `bridge` and `cidr` when `conf_dir` is empty, else the conf dir's
    /// first CNI configuration; `--no-ip-forward`, so the host-wide
    /// `net.ipv4.ip_forward` is left as it is (the tests reach nothing
    /// beyond the host). The test removes the bridge and the NAT table
    /// `minipod_<bridge>` itself.
    pub fn node_flags_with_network(
        &self,
        bridge: &str,
        cidr: &str,
        conf_dir: &Path,
    ) -> Vec<String> {
        let mut flags = self.node_flags();
        let none = flags.len() - 2;
        assert_eq!(flags[none..], ["--pod-network", "none"]);
        flags.truncate(none);
        flags.extend(
            [
                "--pod-network",
                "auto",
                "--pod-bridge",
                bridge,
                "--pod-cidr",
                cidr,
                "--cni-conf-dir",
                conf_dir.to_str().expect("utf-8"),
                "--no-ip-forward",
            ]
            .map(String::from),
        );
        flags
    }

    /// The same node as the runtime library knows it, with `program` as
    /// its monitor and helper program.
    pub fn node_config(&self, program: &str, node_name: &str) -> NodeConfig {
        let mut node = NodeConfig::new(program, node_name);
        node.state_dir = self.path("state");
        node.run_dir = self.path("run");
        node.logs_dir = self.path("logs");
        node.image_root = busybox_image_store().to_owned();
        node.cgroup_root = self.cgroup_root();
        node.network = None;
        node
    }

    /// Processes of this node, other than this test process and `except`:
    /// those that carry the marker in their environment, and anything whose
    /// command line or root is under the node's directory.
    pub fn leftover_processes(&self, except: &[u32]) -> Vec<String> {
        let dir = self.dir.to_str().expect("utf-8");
        let marked_as = format!("{MARKER_VAR}={}", self.marker);
        let own = std::process::id();
        let mut left = Vec::new();
        let Ok(entries) = fs::read_dir("/proc") else {
            return left;
        };
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if pid == own || except.contains(&pid) {
                continue;
            }
            let proc = entry.path();
            let environ = fs::read(proc.join("environ")).unwrap_or_default();
            let cmdline = text(&fs::read(proc.join("cmdline")).unwrap_or_default());
            let root = fs::read_link(proc.join("root")).unwrap_or_default();
            let marked = environ
                .split(|b| *b == 0)
                .any(|v| v == marked_as.as_bytes());
            if marked || cmdline.contains(dir) || root.starts_with(&self.dir) {
                left.push(format!("{pid}: {}", cmdline.replace('\0', " ")));
            }
        }
        left
    }

    /// Waits until no process of the node is left but `except`.
    pub fn wait_until_no_processes(&self, what: &str, except: &[u32]) {
        wait_until_or(what, PATIENCE, || {
            let left = self.leftover_processes(except);
            left.is_empty().then_some(()).ok_or(left)
        });
    }

    /// Mounts whose line mentions the node's directory.
    pub fn mounts(&self) -> Vec<String> {
        mounts_under(&self.dir)
    }

    /// What is in `sub` under the node's directory (nothing if it is not
    /// there).
    pub fn entries(&self, sub: &str) -> Vec<PathBuf> {
        entries(&self.path(sub))
    }

    /// Nothing of the node's pods is left: no process, no mount, no pod
    /// directory (`state/pods`, `run/pods`), no cgroup (the root is removed).
    pub fn check_nothing_left(&self) {
        self.wait_until_no_processes("no process of the pod is left", &[]);
        check_no_pods_left(&self.dir);
        self.cgroups.remove_and_check_clean();
    }

    /// Removes the node's directory.
    pub fn remove_dir(&self) {
        fs::remove_dir_all(&self.dir).expect("remove the node directory");
    }
}

/// Bytes (a command's output, a `/proc` file) as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The lines of `/proc/self/mountinfo` that mention `dir`.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let dir = dir.to_str().expect("utf-8");
    fs::read_to_string("/proc/self/mountinfo")
        .expect("mountinfo")
        .lines()
        .filter(|l| l.contains(dir))
        .map(str::to_owned)
        .collect()
}

/// The mount point of a `/proc/self/mountinfo` line (its fifth field).
pub fn mount_point(line: &str) -> Option<&str> {
    line.split(' ').nth(4)
}

/// What is in `dir` (nothing if it is not there).
pub fn entries(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// No mount mentions `dir`, and the pod directories of the node in `dir`
/// (`state/pods`, `run/pods`) are empty.
pub fn check_no_pods_left(dir: &Path) {
    assert_eq!(
        mounts_under(dir),
        Vec::<String>::new(),
        "mounts left behind"
    );
    for sub in ["state/pods", "run/pods"] {
        let left = entries(&dir.join(sub));
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

/// The last `lines` lines of `text`, saying how many came before.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let skip = all.len().saturating_sub(lines);
    let mut out = String::new();
    if skip > 0 {
        out.push_str(&format!("({skip} earlier lines)\n"));
    }
    for line in &all[skip..] {
        out.push_str(line);
        out.push('\n');
    }
    out
}
