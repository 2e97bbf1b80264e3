//! Pods whose `image:` is in a registry: pulled by `imagePullPolicy`, with
//! the kubelet's events and statuses, then run, all through the real
//! `minipod run` against a real registry on loopback (`src/registry.rs`).
//!
//! Run as root (real pods), on the host's cgroups by `cargo test` and on
//! cgroup v2 by `scripts/vm-test`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use minipod_runtime_tests::node::ScratchNode;
use minipod_runtime_tests::registry::{Compression, TestRegistry};
use minipod_runtime_tests::{root_or_skip, serial, wait_until_or};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

const CLI: &str = env!("CARGO_BIN_EXE_minipod-cli");
/// Generous: the v2 run is an emulated VM.
const PATIENCE: Duration = Duration::from_secs(120);

/// A node whose image store starts empty (pulls go there).
struct PullNode {
    node: ScratchNode,
}

impl PullNode {
    fn new(prefix: &str) -> PullNode {
        PullNode {
            node: ScratchNode::new(prefix),
        }
    }

    fn store(&self) -> PathBuf {
        self.node.path("images")
    }

    /// The scratch node's flags with its own, empty image store, a short
    /// back-off, and `extra`.
    fn flags(&self, extra: &[&str]) -> Vec<String> {
        let mut flags = Vec::new();
        let mut given = self.node.node_flags().into_iter();
        while let Some(flag) = given.next() {
            let value = given.next().expect("a flag's value");
            if flag != "--image-root" {
                flags.extend([flag, value]);
            }
        }
        flags.push("--image-root".into());
        flags.push(self.store().to_str().expect("utf-8").into());
        flags.extend(["--backoff-initial", "1s", "--backoff-max", "2s"].map(String::from));
        flags.extend(extra.iter().map(|s| s.to_string()));
        flags
    }

    fn manifest(&self, name: &str, image: &str, policy: &str, command: &str) -> PathBuf {
        let pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 2,
                "containers": [{
                    "name": "app",
                    "image": image,
                    "imagePullPolicy": policy,
                    "command": ["sh", "-c", command],
                }],
            },
        });
        let path = self.node.path(&format!("{name}.json"));
        fs::write(&path, pod.to_string()).expect("manifest");
        path
    }

    fn run(&self, manifest: &Path, extra: &[&str]) -> Output {
        Command::new(CLI)
            .args(["run", "-f"])
            .arg(manifest)
            .args(self.flags(extra))
            .stdin(Stdio::null())
            .output()
            .expect("minipod run")
    }

    fn spawn(&self, manifest: &Path, status: &Path, extra: &[&str]) -> Child {
        Command::new(CLI)
            .args(["run", "-f"])
            .arg(manifest)
            .arg("--status-file")
            .arg(status)
            .args(self.flags(extra))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(self.node.path("stderr")).expect("stderr file"))
            .spawn()
            .expect("minipod run")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The blob fetches the registry served for `repo`.
fn blob_fetches(registry: &TestRegistry, repo: &str) -> usize {
    registry
        .log()
        .lines()
        .filter(|l| l.contains(&format!("GET /v2/{repo}/blobs/")) && l.contains("\" 200 "))
        .count()
}

#[test]
fn a_pods_image_is_pulled_by_its_policy_then_run() {
    if !root_or_skip("a_pods_image_is_pulled_by_its_policy_then_run") {
        return;
    }
    let _serial = serial();
    let registry = TestRegistry::start(None);
    let pushed = registry.push_busybox("e2e/busybox:1", Compression::Zstd);
    let node = PullNode::new("pull-run");

    let manifest = node.manifest(
        "pulled",
        &pushed.name,
        "IfNotPresent",
        "echo pulled-and-ran",
    );
    let first = node.run(&manifest, &[]);
    let (stdout, stderr) = (text(&first.stdout), text(&first.stderr));
    assert_eq!(first.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("app | pulled-and-ran"), "{stdout}");
    let image = &pushed.name;
    for wanted in [
        format!("Normal  Pulling      app: Pulling image {image:?}"),
        format!("Normal  Pulled       app: Successfully pulled image {image:?} in "),
        format!(" including waiting). Image size: {} bytes.", pushed.size()),
    ] {
        assert!(stderr.contains(&wanted), "no {wanted:?} in:\n{stderr}");
    }
    assert!(!stderr.contains("already present"), "{stderr}");
    let fetched = blob_fetches(&registry, "e2e/busybox");
    assert_eq!(
        fetched,
        2,
        "config and layer, once each:\n{}",
        registry.log()
    );

    // IfNotPresent, present: no pull.
    let again = node.run(&manifest, &[]);
    let stderr = text(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "app: Container image {image:?} already present on machine"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("Pulling image"), "{stderr}");

    // Always: the registry is asked again; the blobs are not downloaded again.
    let always = node.manifest("always", image, "Always", "true");
    let third = node.run(&always, &[]);
    let stderr = text(&third.stderr);
    assert_eq!(third.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Pulling image"), "{stderr}");
    assert_eq!(blob_fetches(&registry, "e2e/busybox"), fetched);
    node.node.check_nothing_left();
    node.node.remove_dir();
}

#[test]
fn two_pods_pulling_one_image_at_once_share_each_download() {
    if !root_or_skip("two_pods_pulling_one_image_at_once_share_each_download") {
        return;
    }
    let _serial = serial();
    let registry = TestRegistry::start(None);
    let pushed = registry.push_busybox("shared/busybox:1", Compression::Gzip);
    let node = PullNode::new("pull-twice");
    let runs: Vec<Child> = ["one", "two"]
        .iter()
        .map(|name| {
            let manifest = node.manifest(name, &pushed.name, "Always", "echo ran");
            let status = node.node.path(&format!("{name}-status.json"));
            node.spawn(&manifest, &status, &[])
        })
        .collect();
    for run in runs {
        let out = run.wait_with_output().expect("minipod run");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            fs::read_to_string(node.node.path("stderr")).unwrap_or_default()
        );
    }
    assert_eq!(
        blob_fetches(&registry, "shared/busybox"),
        2,
        "each blob downloaded once:\n{}",
        registry.log()
    );
    node.node.check_nothing_left();
    node.node.remove_dir();
}

#[test]
fn a_refused_pull_backs_off_and_the_nodes_login_lets_it_through() {
    if !root_or_skip("a_refused_pull_backs_off_and_the_nodes_login_lets_it_through") {
        return;
    }
    let _serial = serial();
    let registry = TestRegistry::start(Some(("carol", "pw")));
    let pushed = registry.push_busybox("private/busybox:1", Compression::Gzip);
    let node = PullNode::new("pull-auth");
    let manifest = node.manifest("private", &pushed.name, "IfNotPresent", "echo in");

    // Without a login: ErrImagePull, then ImagePullBackOff, as kubectl shows.
    let status_file = node.node.path("status.json");
    let mut child = node.spawn(&manifest, &status_file, &[]);
    let mut seen: Vec<String> = Vec::new();
    wait_until_or("ErrImagePull, then ImagePullBackOff", PATIENCE, || {
        let reason = fs::read_to_string(&status_file)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|p| {
                p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
                    .as_str()
                    .map(String::from)
            });
        if let Some(reason) = reason
            && seen.last() != Some(&reason)
        {
            seen.push(reason);
        }
        (seen.iter().any(|r| r == "ImagePullBackOff"))
            .then_some(())
            .ok_or(seen.clone())
    });
    // The status passes through ErrImagePull, but only until the back-off
    // starts: a 50 ms poll may miss it on a busy machine. The events keep
    // the order. Before it, the pod may be seen `ContainerCreating`, as a
    // kubelet shows it until the sandbox exists.
    let first_pull_state = seen
        .iter()
        .map(String::as_str)
        .find(|reason| *reason != "ContainerCreating");
    assert!(
        first_pull_state == Some("ErrImagePull") || first_pull_state == Some("ImagePullBackOff"),
        "{seen:?}"
    );
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).expect("SIGTERM");
    let _ = child.wait();
    let stderr = fs::read_to_string(node.node.path("stderr")).expect("stderr");
    let at = |event: &str| {
        stderr
            .find(event)
            .unwrap_or_else(|| panic!("no {event:?} in:\n{stderr}"))
    };
    assert!(
        at("Error: ErrImagePull") < at("Error: ImagePullBackOff"),
        "ErrImagePull before ImagePullBackOff:\n{stderr}"
    );
    for wanted in [
        format!(
            "Warning Failed       app: Failed to pull image {:?}: pull access denied",
            pushed.name
        ),
        "Warning Failed       app: Error: ErrImagePull".to_owned(),
        format!(
            "Normal  BackOff      app: Back-off pulling image {:?}",
            pushed.name
        ),
        "Warning Failed       app: Error: ImagePullBackOff".to_owned(),
    ] {
        assert!(stderr.contains(&wanted), "no {wanted:?} in:\n{stderr}");
    }

    // With the node's login (Docker's config.json format), it runs.
    let auth = node.node.path("auth.json");
    fs::write(
        &auth,
        json!({"auths": {registry.host(): {"username": "carol", "password": "pw"}}}).to_string(),
    )
    .expect("auth file");
    let run = node.run(&manifest, &["--auth-file", auth.to_str().expect("utf-8")]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert!(text(&run.stdout).contains("app | in"));
    node.node.check_nothing_left();
    node.node.remove_dir();
}

#[test]
fn minipod_run_takes_the_pull_secret_from_the_pods_file() {
    if !root_or_skip("minipod_run_takes_the_pull_secret_from_the_pods_file") {
        return;
    }
    let _serial = serial();
    let registry = TestRegistry::start(Some(("erin", "pw")));
    let pushed = registry.push_busybox("private/busybox:1", Compression::Gzip);
    let node = PullNode::new("pull-secret");
    let config = json!({"auths": {registry.host(): {"username": "erin", "password": "pw"}}});
    let secret = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "regcred"},
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": config.to_string()},
    });
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "with-secret"},
        "spec": {
            "restartPolicy": "Never",
            "imagePullSecrets": [{"name": "nope"}, {"name": "regcred"}],
            "containers": [{
                "name": "app",
                "image": pushed.name,
                "command": ["sh", "-c", "echo logged-in"],
            }],
        },
    });
    let file = node.node.path("pod.yaml");
    fs::write(&file, format!("{secret}\n---\n{pod}\n")).expect("manifest");
    let run = node.run(&file, &[]);
    let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
    assert_eq!(run.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("app | logged-in"), "{stdout}");
    assert!(
        stderr.contains("Warning FailedToRetrieveImagePullSecret pod: Unable to retrieve some image pull secrets (nope); attempting to pull the image may not succeed."),
        "{stderr}"
    );
    assert!(stderr.contains("Successfully pulled image"), "{stderr}");
    node.node.check_nothing_left();
    node.node.remove_dir();
}
