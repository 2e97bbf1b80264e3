//! Mount targets through an image's symlinks (issue "Hardening", attack 2).
//!
//! A container's init mounts `/proc`, `/dev`, `/sys`, the volumes and the
//! pod's `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf` while it still
//! sees the host's files (before `pivot_root`). An image whose layer holds
//! `etc -> /some/host/dir` (or `..` enough to climb out of the root) would
//! make it create those mount points on the host, if targets were joined to
//! the root's path and followed. Each test below builds such a layer, runs a
//! container on it, and checks that:
//!
//! * nothing appeared or changed in the host directory the symlink names
//!   (its entries and their modification times, before and after), and
//! * the container still runs, with its files where it expects them: the
//!   symlink was resolved *inside* the root, as runc resolves it (so
//!   `etc -> /x` means `<rootfs>/x`).
//!
//! [`HostilePod`] is the small pod these tests (and `entry.rs`) run
//! containers in: a real sandbox, real cgroups, the busybox layer plus the
//! test's own layer on top.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use minipod_linux::cgroup::{ContainerCgroup, PodCgroup};
use minipod_linux::container::{self, BindMount, ContainerConfig, ExitStatus, Rootfs, Stdio, User};
use minipod_linux::sandbox::Sandbox;
use minipod_plan::Plan;
use minipod_plan::launch::DEFAULT_CAPABILITIES;
use minipod_runtime_tests::{
    TestRoot, busybox_layer, plan_of, root_on_the_host_or_skip, serial, unique_uid,
};
use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::unistd::pipe2;

/// The container init (and pause, and exec helper) of the runtime tests.
pub(crate) const INIT: &str = env!("CARGO_BIN_EXE_minipod-test-init");

/// How long a container of these tests may run (they run a few commands):
/// generous, for the emulated cgroup v2 VM.
const PATIENCE: Duration = Duration::from_secs(60);

const POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: hostile}
spec:
  containers:
  - {name: attacker, image: busybox, resources: {limits: {cpu: 500m, memory: 64Mi}}}
"#;

/// A pod for one hostile test: a scratch directory (with `host/`, the
/// directory standing for the host's files an attacker aims at), a sandbox,
/// cgroups. [`HostilePod::finish`] removes it all and checks nothing is left.
pub(crate) struct HostilePod {
    pub(crate) dir: PathBuf,
    sandbox: Option<Sandbox>,
    plan: Plan,
    cgroups: TestRoot,
    pod_cgroup: Option<PodCgroup>,
}

impl HostilePod {
    pub(crate) fn new() -> HostilePod {
        let plan = plan_of(POD);
        let uid = unique_uid();
        let dir = std::env::temp_dir().join(format!("minipod-rt-hostile-{uid}"));
        fs::create_dir_all(dir.join("host")).expect("host dir");
        fs::write(dir.join("host/keep"), "a host file\n").expect("host file");
        let sandbox = Sandbox::create(Path::new(INIT), &dir.join("run"), "hostile")
            .expect("create the sandbox");
        let cgroups = TestRoot::new();
        let pod_cgroup = PodCgroup::create(&cgroups.root, plan.qos_class, &uid, &plan.pod_cgroup)
            .expect("pod cgroup");
        HostilePod {
            dir,
            sandbox: Some(sandbox),
            plan,
            cgroups,
            pod_cgroup: Some(pod_cgroup),
        }
    }

    /// The directory that stands for the host's files.
    pub(crate) fn host(&self) -> PathBuf {
        self.dir.join("host")
    }

    pub(crate) fn sandbox(&mut self) -> &mut Sandbox {
        self.sandbox.as_mut().expect("sandbox")
    }

    /// A layer holding `links` (path in the image, symlink target), put on
    /// top of the busybox layer.
    pub(crate) fn layer(&self, links: &[(&str, &str)]) -> PathBuf {
        let layer = self.dir.join("layer");
        for (path, target) in links {
            let path = layer.join(path);
            fs::create_dir_all(path.parent().expect("parent")).expect("layer dir");
            symlink(target, &path).expect("symlink in the layer");
        }
        fs::create_dir_all(&layer).expect("layer");
        layer
    }

    /// A container on the busybox layer and `layer`, running `sh -c script`
    /// as root with the default capabilities, with `mounts`.
    pub(crate) fn config(
        &self,
        layer: Option<PathBuf>,
        mounts: Vec<BindMount>,
        script: &str,
    ) -> ContainerConfig {
        let dir = self.dir.join("containers/attacker");
        let mut lower = vec![busybox_layer().to_owned()];
        lower.extend(layer);
        ContainerConfig {
            join_namespaces: self.sandbox.as_ref().expect("sandbox").namespace_paths(),
            rootfs: Rootfs {
                lower,
                upper: dir.join("upper"),
                work: dir.join("work"),
                merged: dir.join("rootfs"),
                readonly: false,
            },
            mounts,
            args: vec!["sh".into(), "-c".into(), script.into()],
            env: vec!["PATH=/bin".into()],
            cwd: "/".into(),
            user: User::default(),
            capabilities: DEFAULT_CAPABILITIES.iter().map(|s| s.to_string()).collect(),
            no_new_privileges: false,
            privileged: false,
            seccomp: None,
            apparmor_profile: None,
        }
    }

    /// Runs `config` to its end (in the pod's shared PID namespace if it has
    /// one) and returns how it ended and its output (stdout and stderr), or
    /// the start failure's message.
    pub(crate) fn run(&self, config: &ContainerConfig) -> Result<(ExitStatus, String), String> {
        for dir in [&config.rootfs.upper, &config.rootfs.work] {
            fs::create_dir_all(dir).expect("container dirs");
        }
        let cgroup = ContainerCgroup::create(
            self.pod_cgroup.as_ref().expect("pod cgroup"),
            "attacker",
            &self.plan.containers[0].cgroup,
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
        let pid_namespace = self.sandbox.as_ref().and_then(Sandbox::pid_namespace);
        let started = container::start_in(Path::new(INIT), config, &stdio, &join, pid_namespace);
        drop(stdio);
        let result = match started {
            Err(e) => Err(e.to_string()),
            Ok(running) => {
                // A deadline, not a hang: kill it if it outlives PATIENCE.
                let deadline = Instant::now() + PATIENCE;
                let mut output = String::new();
                let reader = std::thread::spawn(move || {
                    let _ = fs::File::from(out_r).read_to_string(&mut output);
                    output
                });
                while !reader.is_finished() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
                if !reader.is_finished() {
                    let _ = running.signal(Signal::SIGKILL);
                }
                let status = running.wait().expect("wait");
                Ok((status, reader.join().expect("output reader")))
            }
        };
        cgroup.remove().expect("remove the container cgroup");
        result
    }

    /// Removes everything and checks nothing is left: mounts, cgroups, files.
    pub(crate) fn finish(mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            sandbox.remove();
        }
        if let Some(pod) = self.pod_cgroup.take() {
            pod.remove().expect("remove the pod cgroup");
        }
        let _ = fs::remove_dir_all(&self.dir);
        self.cgroups.remove_and_check_clean();
        let mounts = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        let dir = self.dir.to_str().expect("utf-8");
        let left: Vec<&str> = mounts.lines().filter(|l| l.contains(dir)).collect();
        assert!(left.is_empty(), "mounts left behind: {left:#?}");
        assert!(!self.dir.exists(), "{dir} left behind");
    }
}

/// Every entry under `dir` (itself included) with its modification time
/// and inode change time, in nanoseconds: what an attack would change.
pub(crate) fn snapshot(dir: &Path) -> Vec<(PathBuf, i64, i64)> {
    let mut entries = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(path) = todo.pop() {
        let meta = fs::symlink_metadata(&path).expect("stat");
        entries.push((
            path.clone(),
            meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
        ));
        if meta.is_dir() {
            for entry in fs::read_dir(&path).expect("read_dir") {
                todo.push(entry.expect("entry").path());
            }
        }
    }
    entries.sort();
    entries
}

/// The pod's files and one volume, as the runtime mounts them: `/etc/hosts`,
/// `/etc/hostname`, `/etc/resolv.conf` and a volume at `/data/vol`.
fn pod_mounts(pod: &HostilePod) -> Vec<BindMount> {
    let files = pod.dir.join("pod");
    fs::create_dir_all(files.join("volume")).expect("pod dir");
    fs::write(files.join("hosts"), "127.0.0.1 localhost\n").expect("hosts");
    fs::write(files.join("hostname"), "hostile\n").expect("hostname");
    fs::write(files.join("resolv.conf"), "nameserver 192.0.2.53\n").expect("resolv.conf");
    fs::write(files.join("volume/note"), "in the volume\n").expect("note");
    let bind = |source: &str, target: &str| BindMount {
        source: files.join(source),
        target: target.into(),
        readonly: false,
    };
    vec![
        bind("hosts", "/etc/hosts"),
        bind("hostname", "/etc/hostname"),
        bind("resolv.conf", "/etc/resolv.conf"),
        bind("volume", "/data/vol"),
    ]
}

/// What the container checks: its pod files and volume are where it looks
/// for them, `/dev`, `/proc` and `/sys` work.
const CHECK: &str = "cat /etc/hosts /etc/hostname /etc/resolv.conf /data/vol/note \
    && test -c /dev/null && echo x > /dev/null && test -r /proc/self/status \
    && test -d /sys/kernel && echo ALL-GOOD";

/// Runs a container on a layer holding `links` (`{host}` in a target is
/// replaced by the host directory's path) and checks the host directory
/// is untouched and the container ran [`CHECK`] successfully.
fn attack(test: &str, links: &[(&str, &str)]) {
    if !root_on_the_host_or_skip(test) {
        return;
    }
    let _serial = serial();
    let pod = HostilePod::new();
    let host = pod.host();
    let host_str = host.to_str().expect("utf-8");
    let links: Vec<(&str, String)> = links
        .iter()
        .map(|(path, target)| (*path, target.replace("{host}", host_str)))
        .collect();
    let links: Vec<(&str, &str)> = links.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let layer = pod.layer(&links);
    let mounts = pod_mounts(&pod);
    let before = snapshot(&host);

    let result = pod.run(&pod.config(Some(layer), mounts, CHECK));

    let after = snapshot(&host);
    pod.finish_after(|| {
        assert_eq!(
            before, after,
            "{test}: the host directory changed (symlinks {links:?})"
        );
        let (status, output) = result.unwrap_or_else(|e| panic!("{test}: did not start: {e}"));
        assert!(
            status == ExitStatus::Exited(0) && output.contains("ALL-GOOD"),
            "{test}: the container did not see its files: {status:?}\n{output}"
        );
        for expected in [
            "127.0.0.1 localhost",
            "hostile",
            "192.0.2.53",
            "in the volume",
        ] {
            assert!(
                output.contains(expected),
                "{test}: {expected:?} missing:\n{output}"
            );
        }
    });
}

impl HostilePod {
    /// Cleans up first (so a failed assertion leaves nothing behind), then
    /// runs the checks.
    pub(crate) fn finish_after(self, checks: impl FnOnce()) {
        self.finish();
        checks();
    }
}

#[test]
fn an_image_whose_etc_is_a_symlink_to_a_host_directory_gets_its_files_inside_its_root() {
    attack(
        "an_image_whose_etc_is_a_symlink_to_a_host_directory_gets_its_files_inside_its_root",
        &[("etc", "{host}")],
    );
}

#[test]
fn a_symlink_climbing_out_with_dot_dot_stays_inside_the_root() {
    attack(
        "a_symlink_climbing_out_with_dot_dot_stays_inside_the_root",
        &[("etc", "../../../../../../../../../../../../../..{host}")],
    );
}

#[test]
fn a_symlink_on_a_volume_mount_path_stays_inside_the_root() {
    attack(
        "a_symlink_on_a_volume_mount_path_stays_inside_the_root",
        &[("data", "{host}")],
    );
}

#[test]
fn symlinked_dev_proc_and_sys_are_mounted_inside_the_root() {
    attack(
        "symlinked_dev_proc_and_sys_are_mounted_inside_the_root",
        &[
            ("dev", "{host}/dev"),
            ("proc", "../../../../../../../../../../../..{host}/proc"),
            ("sys", "{host}/sys"),
        ],
    );
}

#[test]
fn a_dangling_symlink_at_a_file_mount_point_is_created_inside_the_root() {
    // `etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf` is common
    // in real images; here it points at the host directory, where the
    // target does not exist.
    attack(
        "a_dangling_symlink_at_a_file_mount_point_is_created_inside_the_root",
        &[
            ("etc/resolv.conf", "{host}/resolv.conf"),
            (
                "etc/hostname",
                "../../../../../../../../../../../..{host}/sub/hostname",
            ),
        ],
    );
}
