//! Host devices. The attack: root in a container keeps `CAP_MKNOD` (in the
//! default capabilities), so it can make a node for any device number in
//! its own `/dev` and open it: `mknod /dev/x b 253 0 && head -c1 /dev/x`
//! reads the host's disk, `c 10 229` opens the host's FUSE device. The defence is
//! the container cgroup's device rules (`minipod_plan::devices`): making
//! the node still works (runc allows `mknod` of anything), opening it fails
//! with `EPERM`. The tests check that by behaviour, for the workload and
//! for a command run by `exec` (probes, hooks, `kubectl exec`), and in the
//! kernel's own view (`devices.list` on v1, the attached filter on v2).

use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::process::{Command, Stdio};
use std::time::Duration;

use minipod_linux::cgroup::{CgroupVersion, ContainerCgroup, PodCgroup, attached_device_filters};
use minipod_linux::container::ExitStatus;
use minipod_plan::devices::{DevicePolicy, container_devices};
use minipod_runtime::pod::StartedContainer;
use minipod_runtime_tests::{
    TestNode, TestRoot, host_cgroup_version, plan_of, root_or_skip, serial, unique_uid,
};
use nix::sys::signal::Signal;

const INIT: &str = env!("CARGO_BIN_EXE_minipod-test-init");
/// Generous: the v2 run is an emulated VM.
const EXEC_TIMEOUT: Duration = Duration::from_secs(60);

/// A host device a root process on the host can open for reading: what
/// the container must not open.
#[derive(Debug)]
struct HostDevice {
    /// `b` or `c`, as `mknod` takes it.
    kind: char,
    major: u32,
    minor: u32,
    host_path: String,
}

/// Character devices a container's root could open if nothing stopped it:
/// each opens with no capability beyond the default ones and without
/// blocking. (Not `/dev/kmsg` nor `/dev/mem`: their `open` also checks
/// `CAP_SYSLOG` or `CAP_SYS_RAWIO`, which a container lacks, so they would
/// fail even without the device cgroup and prove nothing. Not a serial
/// port: its `open` may wait for a carrier.)
const CHAR_CANDIDATES: [(&str, u32, u32); 4] = [
    ("/dev/fuse", 10, 229),
    ("/dev/kvm", 10, 232),
    ("/dev/hwrng", 10, 183),
    ("/dev/tty1", 4, 1),
];

/// The first of [`CHAR_CANDIDATES`] and the first host block device
/// (a real disk before a loop device) that root on the host can open
/// here. A VM may have no block device at all. At least one is required: a
/// test that finds nothing to attack would prove nothing.
fn host_devices() -> Vec<HostDevice> {
    let mut found = Vec::new();
    let opens = |path: &str| fs::File::open(path).is_ok();
    let is_char = |path: &str, major: u32, minor: u32| {
        fs::metadata(path).is_ok_and(|m| {
            m.file_type().is_char_device()
                && nix::sys::stat::major(m.rdev()) == u64::from(major)
                && nix::sys::stat::minor(m.rdev()) == u64::from(minor)
        })
    };
    if let Some((path, major, minor)) = CHAR_CANDIDATES
        .into_iter()
        .find(|(path, major, minor)| is_char(path, *major, *minor) && opens(path))
    {
        found.push(HostDevice {
            kind: 'c',
            major,
            minor,
            host_path: path.into(),
        });
    }
    let mut blocks: Vec<(bool, HostDevice)> = Vec::new();
    for entry in fs::read_dir("/sys/dev/block")
        .into_iter()
        .flatten()
        .flatten()
    {
        let uevent = fs::read_to_string(entry.path().join("uevent")).unwrap_or_default();
        let Some(name) = uevent.lines().find_map(|l| l.strip_prefix("DEVNAME=")) else {
            continue;
        };
        let number = entry.file_name().to_string_lossy().into_owned();
        let Some((major, minor)) = number.split_once(':') else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse(), minor.parse()) else {
            continue;
        };
        let host_path = format!("/dev/{name}");
        let is_block = fs::metadata(&host_path).is_ok_and(|m| m.file_type().is_block_device());
        if is_block && opens(&host_path) {
            let device = HostDevice {
                kind: 'b',
                major,
                minor,
                host_path,
            };
            blocks.push((name.starts_with("loop"), device));
        }
    }
    blocks.sort_by_key(|(is_loop, d)| (*is_loop, d.major, d.minor));
    found.extend(blocks.into_iter().map(|(_, d)| d).take(1));
    assert!(
        !found.is_empty(),
        "no host device opens here (none of {CHAR_CANDIDATES:?}, no block device): nothing to attack"
    );
    found
}

/// The shell script of the attack: for each device, `mknod` a node in the
/// container's `/dev` (`/dev/<node_prefix><n>`), then open it for
/// reading. It prints one line per step, e.g. `c 10:229 mknod: ok`, and
/// `c 10:229 open: ok` or the shell's error (`c 10:229 open: sh: can't open
/// /dev/probe0: Operation not permitted`).
fn attack_script(devices: &[HostDevice], node_prefix: &str) -> String {
    let mut script = String::new();
    for (i, d) in devices.iter().enumerate() {
        let (node, id) = (
            format!("/dev/{node_prefix}{i}"),
            format!("{} {}:{}", d.kind, d.major, d.minor),
        );
        script.push_str(&format!(
            "if mknod {node} {} {} {}; then echo '{id} mknod: ok'; fi\n\
             if (exec 3< {node}) 2>/dev/null; then echo '{id} open: ok'; \
             else echo \"{id} open: $( (exec 3< {node}) 2>&1)\"; fi\n",
            d.kind, d.major, d.minor
        ));
    }
    script
}

/// The devices a confined container keeps: each of its own `/dev` must
/// still work. `/dev/full` refuses writes with ENOSPC and `/dev/tty` (with
/// no controlling terminal) with ENXIO: the driver answers, not the
/// device cgroup, which would say "Operation not permitted".
const ALLOWED_SCRIPT: &str = "\
echo x > /dev/null && echo 'null: ok'
test \"$(head -c 4 /dev/zero | wc -c)\" = 4 && echo 'zero: ok'
test \"$(head -c 4 /dev/urandom | wc -c)\" = 4 && echo 'urandom: ok'
test \"$(head -c 4 /dev/random | wc -c)\" = 4 && echo 'random: ok'
echo \"full: $( (echo x > /dev/full) 2>&1)\"
echo \"tty: $( (exec 3<> /dev/tty) 2>&1)\"
(exec 3<> /dev/ptmx) && echo 'ptmx: ok'
";

/// The last line of the workload's scripts; it then sleeps until killed.
const DONE: &str = "script done";

/// Reads the workload's output until its script prints [`DONE`] (or ends),
/// then kills it and returns the output, stderr last.
fn output_then_kill(started: StartedContainer) -> String {
    let mut stdout = fs::File::from(started.stdout);
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&out).contains(DONE) {
        match stdout.read(&mut chunk).expect("read stdout") {
            0 => break,
            n => out.extend_from_slice(&chunk[..n]),
        }
    }
    started.container.signal(Signal::SIGKILL).expect("kill");
    assert_eq!(
        started.container.wait().expect("wait"),
        ExitStatus::Signaled(libc::SIGKILL),
        "the workload ended before it was killed: {}",
        String::from_utf8_lossy(&out)
    );
    stdout.read_to_end(&mut out).expect("read stdout");
    fs::File::from(started.stderr)
        .read_to_end(&mut out)
        .expect("read stderr");
    String::from_utf8_lossy(&out).into_owned()
}

fn pod_yaml(name: &str, privileged: bool, script: &str) -> String {
    let indented: String = script.lines().map(|l| format!("      {l}\n")).collect();
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  containers:
  - name: probe
    image: busybox
    imagePullPolicy: Never
    securityContext: {{privileged: {privileged}}}
    command:
    - sh
    - -c
    - |
{indented}"#
    )
}

/// The kernel's view of the container cgroup's rules: on v1 the lines of
/// `devices.list`, sorted; on v2 "filters: N" (programs attached).
fn kernel_view(cgroup: &ContainerCgroup) -> Vec<String> {
    let dir = cgroup.dir_for("devices").expect("a devices directory");
    match host_cgroup_version() {
        CgroupVersion::V1 => {
            let list = fs::read_to_string(dir.join("devices.list")).expect("devices.list");
            let mut lines: Vec<String> = list.lines().map(str::to_owned).collect();
            lines.sort();
            lines
        }
        CgroupVersion::V2 => {
            let ids = attached_device_filters(&dir).expect("query the device filters");
            vec![format!("filters: {}", ids.len())]
        }
    }
}

fn expected_kernel_view(policy: &DevicePolicy) -> Vec<String> {
    match (host_cgroup_version(), policy) {
        (CgroupVersion::V1, DevicePolicy::AllowAll) => vec!["a *:* rwm".to_owned()],
        (CgroupVersion::V1, DevicePolicy::DenyAllExcept(rules)) => {
            let mut lines: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
            lines.sort();
            lines
        }
        (CgroupVersion::V2, DevicePolicy::AllowAll) => vec!["filters: 0".to_owned()],
        (CgroupVersion::V2, DevicePolicy::DenyAllExcept(_)) => vec!["filters: 1".to_owned()],
    }
}

/// The line of `out` that starts with `prefix` (empty if none).
fn line_of<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines().find(|l| l.starts_with(prefix)).unwrap_or("")
}

fn show(what: &str, out: &str) {
    eprintln!("{what}:");
    for line in out.lines() {
        eprintln!("    {line}");
    }
}

#[test]
fn a_confined_container_cannot_open_a_host_device_it_made_but_keeps_its_own_dev() {
    if !root_or_skip("a_confined_container_cannot_open_a_host_device_it_made_but_keeps_its_own_dev")
    {
        return;
    }
    let _serial = serial();
    let devices = host_devices();
    let node = TestNode::new(INIT);
    let script = format!(
        "{}{ALLOWED_SCRIPT}echo {DONE}; exec sleep 3600\n",
        attack_script(&devices, "probe")
    );
    let mut pod = node
        .create(&pod_yaml("confined", false, &script))
        .expect("create the pod");
    let started = node.start(&mut pod, "probe");

    // The kernel's own view, read while the workload runs.
    let view = kernel_view(&started.cgroup);
    show(
        "the container cgroup's device rules, as the kernel shows them",
        &view.join("\n"),
    );

    // The same attack through exec (probes, hooks, kubectl exec), which
    // joins the container's cgroup.
    let argv: Vec<String> = ["sh", "-c", &attack_script(&devices, "exec-probe")]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let exec = node
        .runtime
        .exec_in_container(&pod, "probe", &started.container, &argv, EXEC_TIMEOUT)
        .expect("exec the attack");
    let exec_out = String::from_utf8_lossy(&exec.output).into_owned();
    show("the attack, run by exec", &exec_out);

    let out = output_then_kill(started);
    show(
        "the attack and the allowed devices, run by the workload",
        &out,
    );
    for d in &devices {
        let id = format!("{} {}:{}", d.kind, d.major, d.minor);
        for (who, text) in [("the workload", &out), ("exec", &exec_out)] {
            assert!(
                text.contains(&format!("{id} mknod: ok")),
                "{who}: mknod {id} (host {})",
                d.host_path
            );
            let open = line_of(text, &format!("{id} open: "));
            assert!(
                open.ends_with("Operation not permitted"),
                "{who} must not open {id} (host {}): {open:?}",
                d.host_path
            );
        }
    }
    for name in ["null", "zero", "urandom", "random", "ptmx"] {
        assert_eq!(line_of(&out, &format!("{name}: ")), format!("{name}: ok"));
    }
    assert!(
        line_of(&out, "full: ").ends_with("No space left on device"),
        "{out}"
    );
    assert!(
        line_of(&out, "tty: ").ends_with("No such device or address"),
        "{out}"
    );
    // Last, so that a run without the defence shows the opens above fail
    // first.
    assert_eq!(view, expected_kernel_view(&container_devices(false)));

    node.runtime.remove_pod(pod).expect("remove the pod");
    node.finish();
}

/// The rules hold for any process that joins the cgroup, whatever made
/// it: a host process (host `/dev`, all of root's capabilities) joined to a
/// confined container cgroup cannot open the host's devices, and one joined
/// to a privileged container's cgroup can. This is also the privileged
/// case on a host where a privileged container cannot start at all (see
/// [`a_privileged_container_can_open_host_devices`]).
#[test]
fn any_process_joined_to_a_container_cgroup_is_held_by_its_device_rules() {
    if !root_or_skip("any_process_joined_to_a_container_cgroup_is_held_by_its_device_rules") {
        return;
    }
    let _serial = serial();
    let devices = host_devices();
    let root = TestRoot::new();
    let plan = plan_of(&pod_yaml("joined", false, "true"));
    let pod = PodCgroup::create(&root.root, plan.qos_class, &unique_uid(), &plan.pod_cgroup)
        .expect("pod cgroup");
    let mut script = String::new();
    for d in &devices {
        let (path, id) = (&d.host_path, format!("{} {}:{}", d.kind, d.major, d.minor));
        script.push_str(&format!(
            "if (exec 3< {path}) 2>/dev/null; then echo '{id} open: ok'; \
             else echo \"{id} open: $( (exec 3< {path}) 2>&1)\"; fi\n"
        ));
    }
    for (name, privileged) in [("confined", false), ("privileged", true)] {
        let policy = container_devices(privileged);
        let cgroup = ContainerCgroup::create_with_devices(
            &pod,
            name,
            &plan.containers[0].cgroup,
            None,
            &policy,
        )
        .expect("container cgroup");
        let view = kernel_view(&cgroup);
        show(&format!("{name}: the kernel's view"), &view.join("\n"));
        let join = cgroup.open_join().expect("open the join");
        let run = join
            .spawn(
                Command::new("/bin/busybox")
                    .args(["sh", "-c", &script])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped()),
            )
            .expect("spawn sh")
            .wait_with_output()
            .expect("sh's output");
        drop(join);
        let out = String::from_utf8_lossy(&run.stdout).into_owned();
        show(&format!("{name}: a host process in the cgroup opens"), &out);
        for d in &devices {
            let id = format!("{} {}:{}", d.kind, d.major, d.minor);
            let open = line_of(&out, &format!("{id} open: "));
            if privileged {
                assert_eq!(open, format!("{id} open: ok"), "{name}");
            } else {
                assert!(
                    open.ends_with("Operation not permitted"),
                    "{name}: {open:?}"
                );
            }
        }
        assert_eq!(view, expected_kernel_view(&policy), "{name}");
        cgroup.remove().expect("remove the container cgroup");
    }
    pod.remove().expect("remove the pod cgroup");
    root.remove_and_check_clean();
}

#[test]
fn a_privileged_container_can_open_host_devices() {
    if !root_or_skip("a_privileged_container_can_open_host_devices") {
        return;
    }
    let _serial = serial();
    let devices = host_devices();
    let node = TestNode::new(INIT);
    // Every capability this process holds, as containerd gives a
    // privileged container what the runtime holds (a node may lack some).
    let script = format!(
        "grep CapEff /proc/self/status\n{}echo {DONE}; exec sleep 3600\n",
        attack_script(&devices, "probe")
    );
    let mut pod = node
        .create(&pod_yaml("privileged", true, &script))
        .expect("create the pod");
    let started = node.start(&mut pod, "probe");
    let view = kernel_view(&started.cgroup);
    show(
        "a privileged container's device rules, as the kernel shows them",
        &view.join("\n"),
    );
    assert_eq!(view, expected_kernel_view(&container_devices(true)));

    let out = output_then_kill(started);
    show("the same steps in a privileged container", &out);
    let ours = fs::read_to_string("/proc/self/status").expect("our status");
    let bounding = ours
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .expect("CapBnd")
        .trim();
    assert_eq!(line_of(&out, "CapEff:"), format!("CapEff:\t{bounding}"));
    for d in &devices {
        let id = format!("{} {}:{}", d.kind, d.major, d.minor);
        assert_eq!(
            line_of(&out, &format!("{id} open: ")),
            format!("{id} open: ok")
        );
    }
    node.runtime.remove_pod(pod).expect("remove the pod");
    node.finish();
}
