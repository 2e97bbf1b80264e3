//! A hostile registry (`registry/server.rs`, on loopback) against the real
//! `minipod image pull` and `minipod run`: documents too large to hold, a
//! blob longer than its manifest says, a registry that trickles, a token
//! realm that would carry the node's credentials over plain HTTP. Each test
//! bounds what the attack is about: the pulling process's peak memory, the
//! bytes the registry got to send, the time the pull takes, where the
//! credentials went. The defences are `minipod_registry::limits` and
//! `minipod_registry::challenge` (docs/security/registry.md).

mod server;

use std::fs;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use minipod_runtime_tests::node::ScratchNode;
use minipod_runtime_tests::{root_on_the_host_or_skip, serial, wait_until_or};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use server::HostileRegistry;
use sha2::{Digest, Sha256};

const CLI: &str = env!("CARGO_BIN_EXE_minipod-cli");
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// What the attacker streams: far past every limit, small enough that a
/// run without the defences does not hurt the machine.
const HUGE: u64 = 256 << 20;
/// The peak RSS a pull may reach: the binary, its runtime and one document
/// at its limit (4 MiB), with room to spare.
const RSS_BOUND_KIB: u64 = 64 << 10;
/// The client reads at most a limit's worth; the rest the registry could
/// push is what loopback socket buffers hold.
const SENT_BOUND: u64 = 32 << 20;
/// Generous: the v2 run is an emulated VM.
const PATIENCE: Duration = Duration::from_secs(120);

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A child stopped (SIGTERM, then reaped) when dropped, unless it has
/// exited already (its pid may then be another process's).
struct StopOnDrop(Child);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = kill(Pid::from_raw(self.0.id() as i32), Signal::SIGTERM);
            let _ = self.0.wait();
        }
    }
}

/// How a `minipod image pull` ended.
struct Pull {
    status: ExitStatus,
    stderr: String,
    /// The largest `VmHWM` seen while it ran.
    peak_rss_kib: u64,
    elapsed: Duration,
}

/// Runs `minipod image pull` into `store` and watches its peak RSS
/// (`VmHWM`) until it exits; past twice the bound it is killed at once.
fn pull(store: &Path, image: &str, extra: &[&str]) -> Pull {
    let stderr_path = store.join("stderr");
    let started = Instant::now();
    let child = Command::new(CLI)
        .arg("image")
        .arg("--root")
        .arg(store.join("images"))
        .args(["pull", image])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("minipod image pull");
    let mut child = StopOnDrop(child);
    let status_file = format!("/proc/{}/status", child.0.id());
    let mut peak = 0;
    let status = wait_until_or("the pull ends", PATIENCE, || {
        if let Some(hwm) = fs::read_to_string(&status_file).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        }) {
            peak = peak.max(hwm);
            if hwm > 2 * RSS_BOUND_KIB {
                let _ = child.0.kill();
            }
        }
        child.0.try_wait().expect("waitpid").ok_or(peak)
    });
    Pull {
        status,
        stderr: fs::read_to_string(&stderr_path).expect("stderr"),
        peak_rss_kib: peak,
        elapsed: started.elapsed(),
    }
}

/// The pull failed with `wanted` in its message, within the bounds.
fn assert_refused(pull: &Pull, wanted: &str, registry: &HostileRegistry) {
    // The figures, for whoever reads the test's output (`--nocapture`).
    eprintln!(
        "pull: {} in {:?}, peak RSS {} KiB, the registry sent {} bytes",
        pull.status,
        pull.elapsed,
        pull.peak_rss_kib,
        registry.sent()
    );
    assert!(
        !pull.status.success(),
        "the pull succeeded: {}",
        pull.stderr
    );
    assert!(
        pull.stderr.contains(wanted),
        "no {wanted:?} in:\n{}",
        pull.stderr
    );
    assert!(
        pull.peak_rss_kib < RSS_BOUND_KIB,
        "the pull's peak RSS was {} KiB (bound {RSS_BOUND_KIB} KiB)",
        pull.peak_rss_kib
    );
    assert!(
        registry.sent() < SENT_BOUND,
        "the registry sent {} bytes (bound {SENT_BOUND})",
        registry.sent()
    );
}

/// Nothing of a refused pull is left in the store: no image, no partial
/// or finished download, no pull layout.
fn assert_nothing_stored(store: &Path) {
    let images = store.join("images");
    for sub in ["pulls", "blobs/sha256"] {
        let dir = images.join(sub);
        let left: Vec<_> = fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "left in {}: {left:?}", dir.display());
    }
    let downloads: Vec<_> = fs::read_dir(images.join("downloads"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(
        downloads
            .iter()
            .all(|p| p.extension().is_some_and(|e| e == "lock")),
        "downloads left: {downloads:?}"
    );
}

/// A manifest of one config and one layer, as the registry serves it.
fn manifest(config: (&str, u64), layer: (&str, u64)) -> Vec<u8> {
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config.0, "size": config.1},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer.0, "size": layer.1}],
    })
    .to_string()
    .into_bytes()
}

#[test]
fn a_huge_manifest_is_refused_without_being_held() {
    if !root_on_the_host_or_skip("a_huge_manifest_is_refused_without_being_held") {
        return;
    }
    let _serial = serial();
    let registry = HostileRegistry::start(|request, conn| match request.path() {
        "/v2/" => conn.respond("200 OK", "application/json", b"{}"),
        _ => conn.stream_huge(OCI_MANIFEST, br#"{"schemaVersion":2,"x":""#, b'a', HUGE),
    });
    let store = tempfile::tempdir().expect("store");
    let pull = pull(
        store.path(),
        &format!("{}/evil/huge:1", registry.host()),
        &[],
    );
    assert_refused(
        &pull,
        "the manifest evil/huge:1 is larger than its limit of 4194304 bytes",
        &registry,
    );
    assert_nothing_stored(store.path());
}

#[test]
fn a_huge_token_answer_is_refused_without_being_held() {
    if !root_on_the_host_or_skip("a_huge_token_answer_is_refused_without_being_held") {
        return;
    }
    let _serial = serial();
    let tokens = HostileRegistry::start(|_, conn| {
        conn.stream_huge("application/json", br#"{"token":""#, b'a', HUGE)
    });
    let realm = format!("http://{}/token", tokens.host());
    let registry = HostileRegistry::start(move |_, conn| {
        conn.head(
            "401 Unauthorized",
            &[
                (
                    "WWW-Authenticate",
                    format!(r#"Bearer realm="{realm}",service="evil""#),
                ),
                ("Content-Length", "0".into()),
            ],
        )
    });
    let store = tempfile::tempdir().expect("store");
    let pull = pull(
        store.path(),
        &format!("{}/evil/app:1", registry.host()),
        &[],
    );
    assert_refused(
        &pull,
        &format!(
            "the token from http://{} is larger than its limit of 1048576 bytes",
            tokens.host()
        ),
        &tokens,
    );
}

#[test]
fn a_config_declared_huge_is_refused_before_its_download() {
    if !root_on_the_host_or_skip("a_config_declared_huge_is_refused_before_its_download") {
        return;
    }
    let _serial = serial();
    let config = format!("sha256:{}", "c".repeat(64));
    let layer = format!("sha256:{}", "d".repeat(64));
    let body = manifest((&config, 1_500_000_000), (&layer, 78));
    let registry = HostileRegistry::start(move |request, conn| {
        if request.path() == "/v2/" {
            conn.respond("200 OK", "application/json", b"{}")
        } else if request.path().contains("/manifests/") {
            conn.respond("200 OK", OCI_MANIFEST, &body)
        } else {
            conn.stream_huge("application/octet-stream", b"", b'c', HUGE)
        }
    });
    let store = tempfile::tempdir().expect("store");
    let pull = pull(
        store.path(),
        &format!("{}/evil/config:1", registry.host()),
        &[],
    );
    assert_refused(
        &pull,
        &format!(
            "the config blob {config}, declared as 1500000000 bytes, is larger than its limit of 8388608 bytes"
        ),
        &registry,
    );
    let blob_requests: Vec<_> = registry
        .requests()
        .into_iter()
        .filter(|r| r.path().contains("/blobs/"))
        .map(|r| r.line)
        .collect();
    assert!(blob_requests.is_empty(), "{blob_requests:?}");
    assert_nothing_stored(store.path());
}

#[test]
fn a_blob_longer_than_declared_is_cut_at_its_declared_size() {
    if !root_on_the_host_or_skip("a_blob_longer_than_declared_is_cut_at_its_declared_size") {
        return;
    }
    let _serial = serial();
    let config_bytes = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let config = sha256(&config_bytes);
    // The manifest says 78 bytes with this digest; the registry sends those
    // 78 bytes and then keeps going.
    let declared = vec![b'l'; 78];
    let layer = sha256(&declared);
    let body = manifest((&config, config_bytes.len() as u64), (&layer, 78));
    let layer_path = format!("/blobs/{layer}");
    let registry = HostileRegistry::start(move |request, conn| {
        let path = request.path();
        if path == "/v2/" {
            conn.respond("200 OK", "application/json", b"{}")
        } else if path.contains("/manifests/") {
            conn.respond("200 OK", OCI_MANIFEST, &body)
        } else if path.ends_with(&layer_path) {
            conn.stream_huge("application/octet-stream", b"", b'l', HUGE)
        } else {
            conn.respond("200 OK", "application/octet-stream", &config_bytes)
        }
    });
    let store = tempfile::tempdir().expect("store");
    let pull = pull(
        store.path(),
        &format!("{}/evil/blob:1", registry.host()),
        &[],
    );
    assert_refused(
        &pull,
        &format!("blob {layer} is larger than its limit of 78 bytes"),
        &registry,
    );
    assert_nothing_stored(store.path());
}

/// A registry whose manifest comes one byte every 200 ms, for up to 60 s.
fn trickling_registry() -> HostileRegistry {
    HostileRegistry::start(|request, conn| match request.path() {
        "/v2/" => conn.respond("200 OK", "application/json", b"{}"),
        _ => conn.trickle(
            OCI_MANIFEST,
            br#"{"schemaVersion":2}"#,
            Duration::from_millis(200),
            Duration::from_secs(60),
        ),
    })
}

#[test]
fn a_stalled_registry_fails_the_pull_within_the_progress_timeout() {
    if !root_on_the_host_or_skip("a_stalled_registry_fails_the_pull_within_the_progress_timeout") {
        return;
    }
    let _serial = serial();
    let registry = trickling_registry();
    let store = tempfile::tempdir().expect("store");
    let pull = pull(
        store.path(),
        &format!("{}/evil/slow:1", registry.host()),
        &["--image-pull-progress-timeout", "2s"],
    );
    assert_refused(
        &pull,
        &format!(
            "registry {} stalled: less than 1024 bytes of the manifest evil/slow:1 in 2s",
            registry.host()
        ),
        &registry,
    );
    // The 2 s window, not the registry's 60 s: with room for a slow VM.
    assert!(
        pull.elapsed < Duration::from_secs(30),
        "the pull took {:?}",
        pull.elapsed
    );
    assert_nothing_stored(store.path());
}

#[test]
fn a_registry_trickling_its_headers_stalls_too() {
    if !root_on_the_host_or_skip("a_registry_trickling_its_headers_stalls_too") {
        return;
    }
    let _serial = serial();
    // Not even the answer to `GET /v2/` ends: no body to count bytes of,
    // the headers themselves must come within the timeout.
    let registry = HostileRegistry::start(|_, conn| {
        conn.trickle_headers(Duration::from_millis(200), Duration::from_secs(60))
    });
    let store = tempfile::tempdir().expect("store");
    let pull = pull(
        store.path(),
        &format!("{}/evil/slow:1", registry.host()),
        &["--image-pull-progress-timeout", "2s"],
    );
    assert_refused(
        &pull,
        &format!(
            "registry {0} stalled: less than 1024 bytes of the auth probe GET http://{0}/v2/ in 2s",
            registry.host()
        ),
        &registry,
    );
    assert!(
        pull.elapsed < Duration::from_secs(30),
        "the pull took {:?}",
        pull.elapsed
    );
}

#[test]
fn a_pod_on_a_stalled_registry_goes_err_image_pull() {
    if !root_on_the_host_or_skip("a_pod_on_a_stalled_registry_goes_err_image_pull") {
        return;
    }
    let _serial = serial();
    let registry = trickling_registry();
    let image = format!("{}/evil/slow:1", registry.host());
    let node = ScratchNode::new("hostile-stall");
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "stalled"},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 2,
            "containers": [{"name": "app", "image": image, "command": ["true"]}],
        },
    });
    let manifest = node.path("pod.json");
    fs::write(&manifest, pod.to_string()).expect("manifest");
    // The node's flags, with an empty image store of its own.
    let mut flags = Vec::new();
    let mut given = node.node_flags().into_iter();
    while let (Some(flag), Some(value)) = (given.next(), given.next()) {
        if flag != "--image-root" {
            flags.extend([flag, value]);
        }
    }
    let store = node.path("images");
    flags.extend(["--image-root".into(), store.to_str().expect("utf-8").into()]);
    let status_file = node.path("status.json");
    let started = Instant::now();
    let child = Command::new(CLI)
        .args(["run", "-f"])
        .arg(&manifest)
        .arg("--status-file")
        .arg(&status_file)
        .args(&flags)
        .args(["--image-pull-progress-timeout", "2s"])
        .args(["--backoff-initial", "1s", "--backoff-max", "2s"])
        .env(minipod_runtime_tests::MARKER_VAR, &node.marker)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(node.path("stderr")).expect("stderr file"))
        .spawn()
        .expect("minipod run");
    // Stopped however the test ends, a failed wait included.
    let run = StopOnDrop(child);
    let waiting = wait_until_or("the container waits in ErrImagePull", PATIENCE, || {
        let status: Option<Value> = fs::read_to_string(&status_file)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        let waiting =
            status.map(|s| s["status"]["containerStatuses"][0]["state"]["waiting"].clone());
        match waiting {
            Some(w) if w["reason"] == "ErrImagePull" => Ok(w),
            other => Err(other),
        }
    });
    let took = started.elapsed();
    drop(run);
    let stalled = format!("registry {} stalled", registry.host());
    let message = waiting["message"].as_str().unwrap_or_default();
    assert!(message.contains(&stalled), "{waiting}");
    let stderr = fs::read_to_string(node.path("stderr")).expect("stderr");
    let event = format!(
        "Warning Failed       app: Failed to pull image {image:?}: pulling {image}: {stalled}"
    );
    assert!(stderr.contains(&event), "no {event:?} in:\n{stderr}");
    assert!(
        took < Duration::from_secs(60),
        "ErrImagePull after {took:?}"
    );
    node.check_nothing_left();
    node.remove_dir();
}

#[test]
fn a_plain_http_token_realm_elsewhere_gets_no_credentials() {
    if !root_on_the_host_or_skip("a_plain_http_token_realm_elsewhere_gets_no_credentials") {
        return;
    }
    let _serial = serial();
    // The realm's listener is on loopback, but the realm names it as
    // 0.0.0.0 (Linux connects that to the local host): a host that is
    // neither loopback by name nor an insecure registry of the node, as a
    // remote token server would be. Nothing may reach it.
    let tokens =
        HostileRegistry::start(|_, conn| conn.respond("401 Unauthorized", "text/plain", b""));
    let realm = format!("http://0.0.0.0:{}/token", tokens.addr.port());
    let registry = HostileRegistry::start(move |_, conn| {
        conn.head(
            "401 Unauthorized",
            &[
                (
                    "WWW-Authenticate",
                    format!(r#"Bearer realm="{realm}",service="evil""#),
                ),
                ("Content-Length", "0".into()),
            ],
        )
    });
    let store = tempfile::tempdir().expect("store");
    let auth = store.path().join("auth.json");
    fs::write(
        &auth,
        json!({"auths": {registry.host(): {"username": "alice", "password": "secret"}}})
            .to_string(),
    )
    .expect("auth file");
    let pull = pull(
        store.path(),
        &format!("{}/evil/app:1", registry.host()),
        &["--auth-file", auth.to_str().expect("utf-8")],
    );
    assert!(!pull.status.success(), "{}", pull.stderr);
    let leaked: Vec<_> = tokens
        .requests()
        .into_iter()
        .map(|r| {
            format!(
                "{} (authorization: {:?})",
                r.line,
                r.header("authorization")
            )
        })
        .collect();
    assert!(leaked.is_empty(), "the realm got: {leaked:?}");
    assert!(
        pull.stderr.contains(&format!(
            "registry {} sent a token realm minipod refuses: plain http to 0.0.0.0:{}",
            registry.host(),
            tokens.addr.port()
        )),
        "{}",
        pull.stderr
    );
}
