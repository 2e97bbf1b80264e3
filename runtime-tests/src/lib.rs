//! Helpers shared by the runtime scenario tests (`tests/*.rs`).
//!
//! The scenario tests run as root against the real kernel: on this host's
//! cgroup v1 when run with `cargo test`, on cgroup v2 inside a throwaway VM
//! when run by `scripts/vm-test`. The same test binary serves both; each
//! test asks the kernel which version it runs ([`host_cgroup_version`]) and
//! checks the files of that version.
//!
//! Rules every test follows:
//! * It skips only when not root, and says so ([`root_or_skip`]); with
//!   `MINIPOD_RUNTIME_TESTS_REQUIRED=1` (CI, the VM) not being root fails.
//! * It works under its own cgroup root, `minipod-test-<pid>-<n>`
//!   ([`TestRoot`]), and never touches another cgroup or process; whatever
//!   a failing test leaves there is killed and removed when the `TestRoot`
//!   drops.
//! * It waits on conditions with generous deadlines ([`wait_until`]), never
//!   on fixed sleeps.
//! * The tests of one binary run one at a time ([`serial`]): counting open
//!   descriptors or cgroup directories must not see another test's.

#![forbid(unsafe_code)]

pub mod node;
pub mod registry;
pub mod timeline;

pub use node::{MARKER_VAR, ScratchNode, mounts_under, tail, text};

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread::sleep;
use std::time::{Duration, Instant};

use minipod_linux::cgroup::{CgroupRoot, CgroupVersion};
use minipod_plan::{NodeFacts, Plan};
use minipod_spec::{ServerAssigned, admit, load};
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, Uid, getpid};

/// Where the kernel's cgroup file systems are mounted, on every host minipod supports.
pub const CGROUP_MOUNT: &str = "/sys/fs/cgroup";

/// True when the test can run. When not root it prints why it skips and
/// returns false, unless `MINIPOD_RUNTIME_TESTS_REQUIRED=1`, which makes a
/// skip a failure (CI and `scripts/vm-test` set it).
pub fn root_or_skip(test: &str) -> bool {
    if Uid::effective().is_root() {
        return true;
    }
    let why = format!(
        "{test}: SKIPPED: needs root (uid {} now) to create cgroups and move processes",
        Uid::effective()
    );
    if std::env::var("MINIPOD_RUNTIME_TESTS_REQUIRED").as_deref() == Ok("1") {
        panic!("{why}, and MINIPOD_RUNTIME_TESTS_REQUIRED=1");
    }
    // Straight to the file descriptor, not through `eprintln!`, which the
    // test harness captures and only shows for failing tests.
    let _ = writeln!(std::io::stderr(), "{why}");
    false
}

/// [`root_or_skip`], and a skip inside the cgroup v2 VM (`scripts/vm-test`
/// sets `MINIPOD_VM=1`) for a test whose behaviour does not depend on the
/// cgroup version: the VM runs under software emulation, so it runs only
/// what needs cgroup v2; the host runs everything.
pub fn root_on_the_host_or_skip(test: &str) -> bool {
    if std::env::var("MINIPOD_VM").as_deref() == Ok("1") {
        let _ = writeln!(
            std::io::stderr(),
            "{test}: SKIPPED in the VM: nothing in it depends on the cgroup version (the host runs it)"
        );
        return false;
    }
    root_or_skip(test)
}

/// Runs the tests of one binary one at a time (a panicking test does not
/// block the others: the lock is taken back from a poisoned mutex).
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The cgroup version the kernel runs, asked directly (not through
/// minipod): `/sys/fs/cgroup` is a cgroup2 file system on a v2 host, a tmpfs
/// of v1 hierarchies otherwise.
pub fn host_cgroup_version() -> CgroupVersion {
    let fs = nix::sys::statfs::statfs(CGROUP_MOUNT).expect("statfs /sys/fs/cgroup");
    if fs.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC {
        CgroupVersion::V2
    } else {
        CgroupVersion::V1
    }
}

/// The directory of the cgroup `rel` that holds `controller`'s files,
/// computed from the kernel's conventions, independently of minipod:
/// `/sys/fs/cgroup/<controller>/<rel>` on v1, `/sys/fs/cgroup/<rel>` on v2.
pub fn controller_dir(controller: &str, rel: &Path) -> PathBuf {
    match host_cgroup_version() {
        CgroupVersion::V1 => Path::new(CGROUP_MOUNT).join(controller).join(rel),
        CgroupVersion::V2 => Path::new(CGROUP_MOUNT).join(rel),
    }
}

/// A control file's content, trimmed; panics with the path if unreadable.
pub fn read(path: &Path) -> String {
    match fs::read_to_string(path) {
        Ok(text) => text.trim().to_owned(),
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    }
}

/// The value of `key` in a flat-keyed file (`pids.events`, `memory.events`).
pub fn keyed(path: &Path, key: &str) -> u64 {
    let text = read(path);
    text.lines()
        .find_map(|line| {
            line.strip_prefix(key)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no {key:?} in {}:\n{text}", path.display()))
}

/// The plan of the single pod in `yaml`, for a node with 8 GiB of memory:
/// the same path a manifest takes through `minipod plan`.
pub fn plan_of(yaml: &str) -> Plan {
    let loaded = load::parse_manifests(yaml.as_bytes(), "pod.yaml")
        .unwrap_or_else(|e| panic!("test manifest does not load: {e}\n{yaml}"));
    let [item] = <[_; 1]>::try_from(loaded).unwrap_or_else(|_| panic!("one pod expected"));
    let assigned = ServerAssigned {
        uid: "00000000-0000-4000-8000-000000000000".to_owned(),
        name_suffix: "b7x2k".to_owned(),
    };
    let pod = admit(item.pod, &assigned).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    minipod_plan::plan(
        &pod,
        &NodeFacts {
            memory_capacity_bytes: 8 << 30,
        },
    )
}

/// A unique pod uid for this test process.
pub fn unique_uid() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{:08x}-0000-4000-8000-{:012x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Polls `condition` until it holds; panics with `what` after `timeout`.
/// Deadlines are generous: a slow, emulated VM must pass too.
pub fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    while !condition() {
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting until {what}");
        }
        sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Polls `check` until it returns `Ok` (and returns its value); panics with
/// its last `Err` after `timeout`.
pub fn wait_until_or<T, E: std::fmt::Debug>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<T, E>,
) -> T {
    let start = Instant::now();
    loop {
        match check() {
            Ok(value) => return value,
            Err(e) if start.elapsed() > timeout => {
                panic!("timed out after {timeout:?} waiting until {what}: {e:?}")
            }
            Err(_) => sleep(Duration::from_millis(50)),
        }
    }
}

/// Waits for a child to exit, up to `timeout` (then kills it and panics).
pub fn wait_for_exit(child: &mut Child, timeout: Duration) -> ExitStatus {
    let mut status = None;
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    while status.is_none() {
        status = child.try_wait().expect("waitpid");
        if status.is_none() {
            if start.elapsed() > timeout {
                let _ = child.kill();
                let _ = child.wait();
                panic!("process {} still running after {timeout:?}", child.id());
            }
            sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }
    status.unwrap_or_else(|| unreachable!())
}

/// The lines of `/proc/<pid>/cgroup`: `<id>:<controllers>:<path>` per v1
/// hierarchy, `0::<path>` for v2.
pub fn proc_cgroup(pid: u32) -> Vec<String> {
    read(Path::new(&format!("/proc/{pid}/cgroup")))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// How many descriptors this process has open.
pub fn open_fds() -> usize {
    fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// A cgroup root of its own for one test, `minipod-test-<pid>-<n>`. When it
/// drops, anything left under it (after a failed assertion) is killed and
/// removed, so the host stays clean either way.
#[derive(Debug)]
pub struct TestRoot {
    pub root: CgroupRoot,
}

impl TestRoot {
    pub fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "minipod-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let root = CgroupRoot::detect(&name).expect("detect the host's cgroups");
        TestRoot { root }
    }

    /// The root's directory in each hierarchy minipod uses.
    pub fn dirs(&self) -> Vec<PathBuf> {
        self.root.dirs_of(self.root.name())
    }

    /// Every cgroup directory under the root (the root itself included),
    /// summed over the hierarchies.
    pub fn count_dirs(&self) -> usize {
        fn count(dir: &Path) -> usize {
            let Ok(entries) = fs::read_dir(dir) else {
                return 0;
            };
            1 + entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| count(&e.path()))
                .sum::<usize>()
        }
        self.dirs().iter().map(|d| count(d)).sum()
    }

    /// Removes the (empty) root and its QoS tiers through minipod, and
    /// checks that no directory of it is left in any hierarchy.
    pub fn remove_and_check_clean(&self) {
        assert!(
            self.root.remove_if_unused().expect("remove the test root"),
            "the test root still holds cgroups: {} directories",
            self.count_dirs()
        );
        for dir in self.dirs() {
            assert!(!dir.exists(), "{} is left behind", dir.display());
        }
    }
}

impl Default for TestRoot {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestRoot {
    fn drop(&mut self) {
        for dir in self.dirs() {
            force_remove(&dir);
        }
    }
}

/// Test-only cleanup of a test root: thaws, kills every member and removes
/// every directory, deepest first. Only ever called on a `minipod-test-*`
/// directory this process made.
fn force_remove(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            force_remove(&entry.path());
        }
    }
    let _ = fs::write(dir.join("freezer.state"), "THAWED");
    let start = Instant::now();
    loop {
        let members: Vec<i32> = fs::read_to_string(dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        if members.is_empty() || start.elapsed() > Duration::from_secs(10) {
            break;
        }
        for pid in members {
            if pid > 1 && pid != getpid().as_raw() {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        sleep(Duration::from_millis(10));
    }
    if let Err(e) = fs::remove_dir(dir) {
        eprintln!("test cleanup: cannot remove {}: {e}", dir.display());
    }
}

/// A busybox root filesystem, built once per test process from the host's
/// static busybox: the lowest (and only) image layer of the test containers.
/// (The image store's own tests cover importing real images; here the layer
/// is made directly so these tests depend on the kernel alone.)
pub fn busybox_layer() -> &'static Path {
    static LAYER: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    LAYER.get_or_init(|| {
        // One directory shared by every run, rebuilt when /bin/busybox changes:
        // built aside, then renamed into place, so concurrent test binaries
        // never see a half-made layer.
        let stamp = fs::metadata("/bin/busybox").map(|m| m.len()).expect("/bin/busybox (install busybox-static)");
        let dir = std::env::temp_dir().join(format!("minipod-rt-busybox-{stamp}"));
        if dir.join("bin/sh").exists() {
            return dir;
        }
        let staging = std::env::temp_dir().join(format!("minipod-rt-busybox-{stamp}.{}", std::process::id()));
        let _ = fs::remove_dir_all(&staging);
        for sub in ["bin", "etc", "tmp", "www"] {
            fs::create_dir_all(staging.join(sub)).expect("layer dirs");
        }
        fs::copy("/bin/busybox", staging.join("bin/busybox")).expect("copy /bin/busybox");
        let list = Command::new("/bin/busybox").arg("--list").output().expect("busybox --list");
        for applet in String::from_utf8_lossy(&list.stdout).lines().filter(|a| *a != "busybox") {
            std::os::unix::fs::symlink("busybox", staging.join("bin").join(applet)).expect("applet link");
        }
        fs::write(staging.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n").expect("passwd");
        fs::write(staging.join("etc/group"), "root:x:0:\napp:x:1000:\nnobody:x:65534:\n").expect("group");
        fs::write(staging.join("www/index.html"), "hello from the pod\n").expect("index.html");
        if fs::rename(&staging, &dir).is_err() {
            // Another test binary got there first; its layer is the same.
            let _ = fs::remove_dir_all(&staging);
        }
        dir
    })
}

/// Another tag of the busybox image in [`busybox_image_store`], for tests
/// that update a pod's image.
pub const NEWER_BUSYBOX: &str = "busybox:1.37";

/// An image store holding the project's busybox image
/// (`scripts/busybox-image --no-import`) as `busybox:latest`,
/// `busybox:1.36` (the tag the examples use) and [`NEWER_BUSYBOX`], for tests
/// that run pods by their manifests (`minipod run --image-root`). See
/// [`shared_busybox_store`] for how it is built and shared.
pub fn busybox_image_store() -> &'static Path {
    static STORE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    STORE.get_or_init(|| {
        shared_busybox_store("minipod-rt-images-tags", &["busybox:1.36", NEWER_BUSYBOX])
    })
}

/// The busybox image (`scripts/busybox-image --no-import`), imported through
/// the image store's library into a store of its own, as `busybox:latest`
/// only. (The same store as `tests/pods.rs` builds.)
pub fn image_store() -> &'static Path {
    static STORE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    STORE.get_or_init(|| shared_busybox_store("minipod-rt-images", &[]))
}

/// A store of the busybox image as `busybox` and the `tags`, in the temp
/// directory under `prefix`. Built once and shared by every run (as
/// [`busybox_layer`]): rebuilt when `/bin/busybox` changes, built aside and
/// renamed into place, so concurrent test binaries never see a half-made
/// store.
fn shared_busybox_store(prefix: &str, tags: &[&str]) -> PathBuf {
    let stamp = fs::metadata("/bin/busybox")
        .map(|m| m.len())
        .expect("/bin/busybox (install busybox-static)");
    let dir = std::env::temp_dir().join(format!("{prefix}-{stamp}"));
    let store = minipod_image::Store::new(&dir);
    if std::iter::once(&"busybox")
        .chain(tags)
        .all(|name| store.resolve(name).is_ok())
    {
        return dir;
    }
    let staging = std::env::temp_dir().join(format!("{prefix}-{stamp}.{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let layout = std::env::temp_dir().join(format!("{prefix}-oci.{}", std::process::id()));
    build_busybox_layout(&layout);
    let staged = minipod_image::Store::new(&staging);
    staged.import(&layout, None).expect("import busybox");
    for tag in tags {
        staged
            .import(&layout, Some(tag))
            .unwrap_or_else(|e| panic!("import {tag}: {e}"));
    }
    let _ = fs::remove_dir_all(&layout);
    if fs::rename(&staging, &dir).is_err() {
        // Another test binary got there first; its store is the same.
        let _ = fs::remove_dir_all(&staging);
    }
    dir
}

/// Writes the project's busybox image as an OCI image layout at `dir`
/// (`scripts/busybox-image --no-import DIR`).
pub fn build_busybox_layout(dir: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/busybox-image");
    let run = Command::new(script)
        .arg("--no-import")
        .arg(dir)
        .output()
        .expect("run scripts/busybox-image");
    assert!(
        run.status.success(),
        "scripts/busybox-image: {}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// The single pod in `yaml`, admitted with a fresh uid ([`unique_uid`]).
pub fn admitted(yaml: &str) -> minipod_spec::AdmittedPod {
    let loaded = load::parse_manifests(yaml.as_bytes(), "pod.yaml")
        .unwrap_or_else(|e| panic!("test manifest does not load: {e}\n{yaml}"));
    let [item] = <[_; 1]>::try_from(loaded).unwrap_or_else(|_| panic!("one pod expected"));
    let assigned = ServerAssigned {
        uid: unique_uid(),
        name_suffix: "b7x2k".to_owned(),
    };
    admit(item.pod, &assigned).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

/// A node of its own for one test: its directories under a fresh temporary
/// directory, its own cgroup root, the busybox image store; [`TestNode::finish`]
/// checks that nothing of it is left (mounts, directories, cgroups,
/// descriptors).
#[derive(Debug)]
pub struct TestNode {
    pub dir: PathBuf,
    pub runtime: minipod_runtime::pod::PodRuntime,
    pub cgroups: TestRoot,
    fds_before: usize,
}

impl TestNode {
    /// `init` is the helper binary (`env!("CARGO_BIN_EXE_minipod-test-init")`).
    pub fn new(init: &str) -> TestNode {
        TestNode::with(init, "nameserver 192.0.2.53\n", None)
    }

    /// A node whose host `resolv.conf` holds `resolv_conf`, and whose pods
    /// get `pids_limit` (the kubelet's `--pod-max-pids`).
    pub fn with(init: &str, resolv_conf: &str, pids_limit: Option<i64>) -> TestNode {
        TestNode::configured(init, resolv_conf, |node| node.pids_limit = pids_limit)
    }

    /// A node whose host `resolv.conf` holds `resolv_conf`, with `configure`
    /// applied to its settings last.
    pub fn configured(
        init: &str,
        resolv_conf: &str,
        configure: impl FnOnce(&mut minipod_runtime::pod::NodeConfig),
    ) -> TestNode {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let store = image_store().to_owned();
        let dir = std::env::temp_dir().join(format!(
            "minipod-rt-node-{}-n{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let cgroups = TestRoot::new();
        let resolv = dir.join("host-resolv.conf");
        fs::create_dir_all(&dir).expect("node dir");
        fs::write(&resolv, resolv_conf).expect("resolv");
        let mut node = minipod_runtime::pod::NodeConfig::new(init, "test-node");
        node.state_dir = dir.join("state");
        node.run_dir = dir.join("run");
        node.logs_dir = dir.join("logs");
        node.image_root = store;
        node.cgroup_root = cgroups.root.name().to_str().expect("utf-8").to_owned();
        node.host_resolv_conf = resolv;
        // Loopback only, as before pod networking: the tests of the pod
        // network opt in with a bridge and range of their own
        // (`tests/pod_network.rs`), so parallel tests never share one.
        node.network = None;
        configure(&mut node);
        let runtime = minipod_runtime::pod::PodRuntime::new(node).expect("runtime");
        // Counted once the node is set up: detecting the cgroups may keep a
        // descriptor open for the life of the process (once).
        let fds_before = open_fds();
        TestNode {
            dir,
            runtime,
            cgroups,
            fds_before,
        }
    }

    /// Admits and plans `yaml`, then creates the pod.
    pub fn create(
        &self,
        yaml: &str,
    ) -> Result<minipod_runtime::pod::RunningPod, minipod_runtime::pod::PodError> {
        let pod = admitted(yaml);
        let plan = minipod_plan::plan(
            &pod,
            &NodeFacts {
                memory_capacity_bytes: 8 << 30,
            },
        );
        self.runtime.create_pod(&pod, &plan)
    }

    /// Starts run 0 of container `name`; panics with the reason if it fails.
    pub fn start(
        &self,
        pod: &mut minipod_runtime::pod::RunningPod,
        name: &str,
    ) -> minipod_runtime::pod::StartedContainer {
        self.runtime
            .start_container(pod, name, 0)
            .unwrap_or_else(|e| panic!("start {name}: {e}"))
    }

    /// Mounts whose line mentions this node's directories.
    pub fn mounts(&self) -> Vec<String> {
        mounts_under(&self.dir)
    }

    /// Checks nothing of the node's pods is left, then removes the node.
    pub fn finish(self) {
        node::check_no_pods_left(&self.dir);
        self.cgroups.remove_and_check_clean();
        if open_fds() > self.fds_before {
            let fds: Vec<_> = fs::read_dir("/proc/self/fd")
                .expect("/proc/self/fd")
                .flatten()
                .map(|e| format!("{:?}", fs::read_link(e.path())))
                .collect();
            eprintln!(
                "open descriptors now: {fds:?} (before: {})",
                self.fds_before
            );
        }
        wait_until("open fds to settle", Duration::from_secs(120), || {
            open_fds() <= self.fds_before
        });
        fs::remove_dir_all(&self.dir).expect("remove the node dir");
    }
}
