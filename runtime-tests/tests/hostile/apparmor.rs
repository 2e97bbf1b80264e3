//! AppArmor: a pod asking for a `Localhost` profile runs confined by it —
//! its workload and every `kubectl exec` into it — or does not run at all.
//! On a host without AppArmor (like the development machine) the pod is
//! refused in the kubelet's words; on a host with it (the cgroup v2 VM,
//! Debian's kernel) the test loads a profile of its own, denying reads of
//! `/etc/hostname` and writes under `/tmp`, and checks the kernel names it
//! as the process's label and enforces it. A profile that is not loaded
//! fails the start naming it, as containerd does; never an unconfined run.

use std::fs;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use minipod_linux::container::ExitStatus;
use minipod_linux::container::apparmor;
use minipod_runtime::pod::{NotStartedReason, PodError, StartedContainer};
use minipod_runtime_tests::{TestNode, root_or_skip, serial};
use nix::sys::signal::Signal;

const INIT: &str = env!("CARGO_BIN_EXE_minipod-test-init");
const EXEC_TIMEOUT: Duration = Duration::from_secs(60);

/// True on a host with AppArmor. Without it, the test skips with the
/// reason, except in the VM (`MINIPOD_VM=1`), whose kernel has AppArmor:
/// there a skip would hide a broken defence, so it fails.
fn apparmor_host_or_skip(test: &str) -> bool {
    if !root_or_skip(test) {
        return false;
    }
    if apparmor::is_enabled() {
        return true;
    }
    let why = format!("{test}: SKIPPED: AppArmor is not enabled on this host");
    if std::env::var("MINIPOD_VM").as_deref() == Ok("1") {
        panic!("{why}, and the VM's kernel should have it (securityfs mounted?)");
    }
    let _ = writeln!(std::io::stderr(), "{why}");
    false
}

/// A profile the test loads into the kernel, unloaded on drop.
struct LoadedProfile {
    name: String,
    file: PathBuf,
    _dir: tempfile::TempDir,
}

impl LoadedProfile {
    /// Everything allowed, except reading `/etc/hostname` and writing under
    /// `/tmp`. AppArmor names a file by its path from the mount namespace's
    /// root: the container's root after `pivot_root` on a booted host, but
    /// in the VM the tests run under `chroot`, where `pivot_root` does not
    /// move the namespace's root and the same file is
    /// `<rootfs>/etc/hostname`; hence each rule twice.
    /// `attach_disconnected`: a file reached outside that root is still
    /// named (containerd's template sets it too).
    fn deny_hostname_and_tmp_writes() -> LoadedProfile {
        let name = format!("minipod-test-deny-{}", std::process::id());
        let dir = tempfile::tempdir().expect("profile dir");
        let file = dir.path().join("profile");
        fs::write(
            &file,
            format!(
                "profile {name} flags=(attach_disconnected,mediate_deleted) {{
  file,
  capability,
  network,
  signal,
  ptrace,
  unix,
  mount,
  umount,
  pivot_root,
  deny /etc/hostname r,
  deny /**/etc/hostname r,
  deny /tmp/** w,
  deny /**/tmp/** w,
}}
"
            ),
        )
        .expect("profile file");
        parser(&["-r", "-K"], &file);
        assert!(
            apparmor::is_loaded(&name).expect("read the loaded profiles"),
            "{name} not listed after loading"
        );
        LoadedProfile {
            name,
            file,
            _dir: dir,
        }
    }
}

impl Drop for LoadedProfile {
    fn drop(&mut self) {
        parser(&["-R", "-K"], &self.file);
    }
}

fn parser(flags: &[&str], file: &std::path::Path) {
    let out = Command::new("apparmor_parser")
        .args(flags)
        .arg(file)
        .output()
        .expect("apparmor_parser (Debian's apparmor package, scripts/setup.sh --vm)");
    assert!(
        out.status.success(),
        "apparmor_parser {flags:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn finish(started: StartedContainer) -> (ExitStatus, String, String) {
    let status = started.container.wait().expect("wait");
    let read_all = |fd: OwnedFd| {
        let mut text = String::new();
        fs::File::from(fd).read_to_string(&mut text).expect("read");
        text
    };
    (status, read_all(started.stdout), read_all(started.stderr))
}

/// What the probe prints: the process's AppArmor label, then each attempt.
const PROBE: &str = r#"cat /proc/self/attr/current
cat /etc/hostname >/dev/null 2>&1; echo "read /etc/hostname: $?"
echo x 2>/dev/null >/tmp/f; echo "write /tmp/f: $?"
grep -c localhost /etc/hosts >/dev/null; echo "read /etc/hosts: $?"
echo x >/written && cat /written"#;

fn confined_output(profile: &str) -> String {
    format!("{profile} (enforce)\nread /etc/hostname: 1\nwrite /tmp/f: 1\nread /etc/hosts: 0\nx\n")
}

fn pod_yaml(security: &str, command: &str) -> String {
    let script = serde_json::to_string(command).expect("json");
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: armored}}\nspec:\n  containers:\n  - name: app\n    image: busybox\n    imagePullPolicy: Never\n    command: [sh, -c, {script}]\n    securityContext: {security}\n"
    )
}

#[test]
fn a_host_without_apparmor_refuses_a_pod_needing_it_in_the_kubelets_words() {
    let test = "a_host_without_apparmor_refuses_a_pod_needing_it_in_the_kubelets_words";
    if !root_or_skip(test) {
        return;
    }
    if apparmor::is_enabled() {
        let _ = writeln!(std::io::stderr(), "{test}: SKIPPED: this host has AppArmor");
        return;
    }
    let _serial = serial();
    let node = TestNode::new(INIT);
    let field = pod_yaml(
        "{appArmorProfile: {type: Localhost, localhostProfile: minipod-test-anything}}",
        "true",
    );
    let annotation = pod_yaml("{}", "true").replace(
        "metadata: {name: armored}",
        "metadata:\n  name: armored\n  annotations: {container.apparmor.security.beta.kubernetes.io/app: localhost/minipod-test-anything}",
    );
    let runtime_default = pod_yaml("{appArmorProfile: {type: RuntimeDefault}}", "true");
    for yaml in [field, annotation, runtime_default] {
        match node.create(&yaml) {
            Err(PodError::AppArmor(error)) => assert_eq!(
                error.to_string(),
                "Cannot enforce AppArmor: AppArmor is not enabled on the host"
            ),
            Err(other) => panic!("refused for another reason: {other}"),
            Ok(pod) => {
                node.runtime.remove_pod(pod).expect("remove the pod");
                panic!("a pod needing AppArmor was created on a host without it:\n{yaml}");
            }
        }
    }
    node.finish();
}

#[test]
fn a_localhost_profile_confines_the_workload_and_exec() {
    if !apparmor_host_or_skip("a_localhost_profile_confines_the_workload_and_exec") {
        return;
    }
    let _serial = serial();
    let profile = LoadedProfile::deny_hostname_and_tmp_writes();
    let node = TestNode::new(INIT);
    let security = format!(
        "{{appArmorProfile: {{type: Localhost, localhostProfile: {}}}}}",
        profile.name
    );
    let yaml = pod_yaml(&security, PROBE).replace(
        "  containers:\n",
        &format!(
            "  containers:\n  - name: sleeper\n    image: busybox\n    imagePullPolicy: Never\n    command: [sleep, \"300\"]\n    securityContext: {security}\n"
        ),
    );
    let mut pod = node.create(&yaml).expect("create the pod");
    let expected = confined_output(&profile.name);
    let (status, out, err) = finish(node.start(&mut pod, "app"));
    assert_eq!(
        (status, out.as_str()),
        (ExitStatus::Exited(0), expected.as_str()),
        "workload: {err}"
    );

    // `kubectl exec` into the sleeper: the same profile (runc confines
    // `runc exec` with the container's).
    let sleeper = node.start(&mut pod, "sleeper");
    let argv: Vec<String> = ["sh", "-c", PROBE].iter().map(|s| s.to_string()).collect();
    let outcome = node
        .runtime
        .exec_in_container(&pod, "sleeper", &sleeper.container, &argv, EXEC_TIMEOUT)
        .expect("exec");
    assert_eq!(
        (
            outcome.exit_code,
            String::from_utf8_lossy(&outcome.output).as_ref()
        ),
        (0, expected.as_str()),
        "exec"
    );
    sleeper.container.signal(Signal::SIGKILL).expect("kill");
    let (status, _, _) = finish(sleeper);
    assert_eq!(status, ExitStatus::Signaled(libc::SIGKILL));
    node.runtime.remove_pod(pod).expect("remove the pod");
    node.finish();
}

#[test]
fn a_profile_that_is_not_loaded_fails_the_start_naming_it() {
    if !apparmor_host_or_skip("a_profile_that_is_not_loaded_fails_the_start_naming_it") {
        return;
    }
    let _serial = serial();
    let node = TestNode::new(INIT);
    let name = format!("minipod-test-never-loaded-{}", std::process::id());
    let security = format!("{{appArmorProfile: {{type: Localhost, localhostProfile: {name}}}}}");
    let mut pod = node
        .create(&pod_yaml(&security, "echo ran"))
        .expect("create the pod");
    let err = node
        .runtime
        .start_container(&mut pod, "app", 0)
        .expect_err("refused");
    assert_eq!(err.reason, NotStartedReason::CreateContainerError);
    assert_eq!(
        err.message,
        format!(
            "cannot apply AppArmor profile {name:?} to container \"app\": profile not found (not loaded in the kernel)"
        )
    );
    node.runtime.remove_pod(pod).expect("remove the pod");
    node.finish();
}

#[test]
fn runtime_default_loads_minipods_profile_which_refuses_mounts() {
    if !apparmor_host_or_skip("runtime_default_loads_minipods_profile_which_refuses_mounts") {
        return;
    }
    let _serial = serial();
    let name = minipod_plan::apparmor::DEFAULT_PROFILE;
    let loaded_before = apparmor::is_loaded(name).expect("read the loaded profiles");
    let node = TestNode::new(INIT);
    // CAP_SYS_ADMIN and no seccomp filter: only AppArmor stands between
    // the container and a new mount.
    let probe = r#"cat /proc/self/attr/current
mkdir -p /m
if mount -t tmpfs none /m 2>/dev/null; then echo mounted; else echo refused; fi"#;
    let admin = "capabilities: {add: [SYS_ADMIN]}";
    let yaml = pod_yaml(
        &format!("{{{admin}, appArmorProfile: {{type: RuntimeDefault}}}}"),
        probe,
    );
    let script = serde_json::to_string(probe).expect("json");
    let yaml = format!(
        "{yaml}  - name: privileged\n    image: busybox\n    imagePullPolicy: Never\n    command: [sh, -c, {script}]\n    securityContext: {{privileged: true, appArmorProfile: {{type: RuntimeDefault}}}}\n  - name: unconfined\n    image: busybox\n    imagePullPolicy: Never\n    command: [sh, -c, {script}]\n    securityContext: {{{admin}, appArmorProfile: {{type: Unconfined}}}}\n"
    );
    let mut pod = node.create(&yaml).expect("create the pod");
    let mut outputs = Vec::new();
    for container in ["app", "privileged", "unconfined"] {
        let (status, out, err) = finish(node.start(&mut pod, container));
        assert_eq!(status, ExitStatus::Exited(0), "{container}: {out}{err}");
        outputs.push(out);
    }
    assert_eq!(
        outputs,
        [
            format!("{name} (enforce)\nrefused\n"),
            // containerd leaves a privileged container unconfined.
            "unconfined\nmounted\n".to_string(),
            "unconfined\nmounted\n".to_string(),
        ]
    );
    node.runtime.remove_pod(pod).expect("remove the pod");
    node.finish();
    if !loaded_before {
        // The node keeps its default loaded, as containerd does; the test
        // leaves the kernel as it found it.
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("minipod-default");
        fs::write(&file, minipod_plan::apparmor::default_profile()).expect("write");
        parser(&["-R", "-K"], &file);
    }
}
