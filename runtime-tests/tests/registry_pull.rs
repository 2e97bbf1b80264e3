//! Pulls from real registries on loopback (`docker-registry`, images pushed
//! with `skopeo`: see `src/registry.rs`) into a real image store, through
//! `minipod_registry::Puller` and `minipod image pull`.
//!
//! Each test starts its own registry and store. The store's import makes
//! device nodes for whiteouts, so these run as root.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use minipod_image::Store;
use minipod_registry::{AuthConfig, DockerConfig, Progress, PullError, PullOptions, Puller};
use minipod_runtime_tests::registry::{Compression, PushedImage, TestRegistry};
use minipod_runtime_tests::root_or_skip;

const CLI: &str = env!("CARGO_BIN_EXE_minipod-cli");

fn new_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::new(dir.path().join("images"));
    (dir, store)
}

fn puller(store: &Store) -> Puller {
    Puller::new(store.clone(), PullOptions::default())
}

fn quiet(_: &Progress) {}

/// The logins of a Docker config naming `registry`.
fn login(registry: &str, user: &str, password: &str) -> AuthConfig {
    let json = format!(
        r#"{{"auths": {{"{registry}": {{"username": "{user}", "password": "{password}"}}}}}}"#
    );
    AuthConfig {
        sources: vec![DockerConfig::parse(json.as_bytes(), "test").expect("a Docker config")],
    }
}

/// The image is in the store, as pushed.
fn check_stored(store: &Store, pushed: &PushedImage) {
    let resolved = store
        .resolve(&pushed.name)
        .unwrap_or_else(|e| panic!("{} is not in the store: {e}", pushed.name));
    assert_eq!(
        resolved.id.to_string(),
        pushed.image_id(),
        "{}",
        pushed.name
    );
    assert_eq!(
        resolved.manifest.to_string(),
        pushed.manifest.digest,
        "{}",
        pushed.name
    );
    assert_eq!(resolved.layers.len(), pushed.layers.len());
    assert!(
        resolved
            .layers
            .iter()
            .all(|l| l.join("bin/busybox").exists() || l.join("etc").exists()),
        "unpacked layers: {:?}",
        resolved.layers
    );
}

/// Nothing of an unfinished pull is left in the store's directories.
fn check_no_pull_leftovers(store: &Store) {
    for sub in ["pulls", "downloads"] {
        let dir = store.root().join(sub);
        let left: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{} holds {left:?}", dir.display());
    }
}

#[test]
fn anonymous_pulls_of_gzip_zstd_plain_and_docker_images_land_in_the_store() {
    if !root_or_skip("anonymous_pulls_of_gzip_zstd_plain_and_docker_images_land_in_the_store") {
        return;
    }
    let registry = TestRegistry::start(None);
    let images = [
        registry.push_busybox("gzip/busybox:1", Compression::Gzip),
        registry.push_busybox("zstd/busybox:1", Compression::Zstd),
        registry.push_busybox_docker("docker/busybox:1"),
        registry.push_busybox("tar/busybox:1", Compression::Uncompressed),
    ];
    let (_dir, store) = new_store();
    for pushed in &images {
        let events = Mutex::new(Vec::new());
        let pulled = puller(&store)
            .pull(&pushed.name, &AuthConfig::default(), &|p| {
                events.lock().unwrap().push(p.clone())
            })
            .unwrap_or_else(|e| panic!("pulling {}: {e}", pushed.name));
        assert_eq!(pulled.name, pushed.name);
        assert_eq!(pulled.id.to_string(), pushed.image_id());
        assert_eq!(pulled.size, pushed.size(), "{}", pushed.name);
        check_stored(&store, pushed);
        let events = events.into_inner().unwrap();
        assert!(
            matches!(&events[0], Progress::Resolved { blobs, .. } if *blobs == 1 + pushed.layers.len()),
            "{events:?}"
        );
        let blobs: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                Progress::Blob { digest, .. } => Some(digest.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(blobs.len(), 1 + pushed.layers.len(), "{events:?}");
        assert!(blobs.contains(&pushed.layers[0].digest.as_str()));
    }
    // The zstd and the uncompressed layers are other blobs with the same
    // content: one image ID.
    assert_ne!(images[0].layers[0].digest, images[1].layers[0].digest);
    assert_ne!(images[0].layers[0].digest, images[3].layers[0].digest);
    assert_eq!(images[0].image_id(), images[1].image_id());
    assert_eq!(images[0].image_id(), images[3].image_id());
    assert_eq!(
        images[3].layers[0].media_type,
        "application/vnd.oci.image.layer.v1.tar"
    );
    check_no_pull_leftovers(&store);
    // The plain layer again, into an empty store: downloaded and unpacked
    // itself, not found there by its diff_id.
    let (_fresh_dir, fresh) = new_store();
    let reused = Mutex::new(Vec::new());
    puller(&fresh)
        .pull(&images[3].name, &AuthConfig::default(), &|p| {
            if let Progress::Blob { reused: r, .. } = p {
                reused.lock().unwrap().push(*r);
            }
        })
        .expect("the plain image into an empty store");
    assert_eq!(reused.into_inner().unwrap(), [false, false]);
    check_stored(&fresh, &images[3]);
    check_no_pull_leftovers(&fresh);

    // A name the registry does not have.
    let missing = format!("{}/nobody/nothing:1", registry.host());
    let error = puller(&store)
        .pull(&missing, &AuthConfig::default(), &quiet)
        .expect_err("no such image");
    assert!(matches!(error, PullError::NotFound { .. }), "{error:?}");
    assert!(error.to_string().contains("not found"), "{error}");
}

#[test]
fn an_htpasswd_registry_takes_the_right_login_only() {
    if !root_or_skip("an_htpasswd_registry_takes_the_right_login_only") {
        return;
    }
    let registry = TestRegistry::start(Some(("alice", "s3cret")));
    let pushed = registry.push_busybox("private/busybox:1", Compression::Gzip);
    let (_dir, store) = new_store();

    let anonymous = puller(&store)
        .pull(&pushed.name, &AuthConfig::default(), &quiet)
        .expect_err("anonymous is refused");
    assert!(
        matches!(anonymous, PullError::Unauthorized { .. }),
        "{anonymous:?}"
    );
    assert!(
        anonymous.to_string().starts_with("pull access denied"),
        "{anonymous}"
    );

    let wrong = login(registry.host(), "alice", "wrong");
    let refused = puller(&store)
        .pull(&pushed.name, &wrong, &quiet)
        .expect_err("a wrong password");
    assert!(
        matches!(refused, PullError::Unauthorized { .. }),
        "{refused:?}"
    );
    assert!(store.resolve(&pushed.name).is_err());

    // Each matching login is tried in turn, as the kubelet does.
    let mut both = wrong.clone();
    both.sources
        .extend(login(registry.host(), "alice", "s3cret").sources);
    let pulled = puller(&store)
        .pull(&pushed.name, &both, &quiet)
        .expect("the right login");
    assert_eq!(pulled.id.to_string(), pushed.image_id());
    check_stored(&store, &pushed);
    check_no_pull_leftovers(&store);
}

#[test]
fn a_token_registry_takes_the_right_login_only() {
    if !root_or_skip("a_token_registry_takes_the_right_login_only") {
        return;
    }
    let registry = TestRegistry::start_with_token_auth("dora", "t0ken pw");
    let server = registry.token_server().expect("a token server");
    let pushed = registry.push_busybox("bearer/busybox:1", Compression::Gzip);
    let (_dir, store) = new_store();
    let asked = |user: Option<&str>, status: u16| {
        server.requests().iter().any(|r| {
            r.user.as_deref() == user
                && r.status == status
                && r.scopes == ["repository:bearer/busybox:pull"]
        })
    };

    // The client is sent to the token server, which refuses it a token.
    let anonymous = puller(&store)
        .pull(&pushed.name, &AuthConfig::default(), &quiet)
        .expect_err("anonymous is refused");
    assert!(
        matches!(anonymous, PullError::Unauthorized { .. }),
        "{anonymous:?}"
    );
    assert!(
        anonymous.to_string().starts_with("pull access denied"),
        "{anonymous}"
    );
    assert!(asked(None, 401), "{:?}", server.requests());

    let wrong = login(registry.host(), "dora", "wrong");
    let refused = puller(&store)
        .pull(&pushed.name, &wrong, &quiet)
        .expect_err("a wrong password");
    assert!(
        matches!(refused, PullError::Unauthorized { .. }),
        "{refused:?}"
    );
    assert!(asked(Some("dora"), 401), "{:?}", server.requests());
    assert!(store.resolve(&pushed.name).is_err());

    let pulled = puller(&store)
        .pull(
            &pushed.name,
            &login(registry.host(), "dora", "t0ken pw"),
            &quiet,
        )
        .expect("the right login");
    assert_eq!(pulled.id.to_string(), pushed.image_id());
    assert!(asked(Some("dora"), 200), "{:?}", server.requests());
    check_stored(&store, &pushed);
    check_no_pull_leftovers(&store);
}

#[test]
fn an_index_is_resolved_to_the_requested_platform() {
    if !root_or_skip("an_index_is_resolved_to_the_requested_platform") {
        return;
    }
    let registry = TestRegistry::start(None);
    let index = registry.push_multi_platform("multi/busybox:1");
    let host = minipod_image::host_architecture();
    let other = minipod_runtime_tests::registry::layout::other_architecture();

    let (_dir, store) = new_store();
    let pulled = puller(&store)
        .pull(&index.name, &AuthConfig::default(), &quiet)
        .expect("the host's platform");
    assert_eq!(pulled.id.to_string(), index.platform(host).image_id());
    assert_eq!(
        pulled.manifest.to_string(),
        index.platform(host).manifest.digest
    );

    let (_dir2, store2) = new_store();
    let foreign = Puller::new(
        store2.clone(),
        PullOptions {
            architecture: other.to_owned(),
            ..PullOptions::default()
        },
    );
    // Asked for the other platform, the pull takes that manifest, which the
    // store then refuses: this host cannot run it.
    let refused = foreign
        .pull(&index.name, &AuthConfig::default(), &quiet)
        .expect_err("a foreign image is not stored");
    // The store's refusal is the cause of the Store error: read the chain.
    let text = minipod_spec::error_chain(&refused);
    assert!(
        matches!(refused, PullError::Store { .. })
            && text.contains(&format!("the image is for linux/{other}")),
        "{text}"
    );
    check_no_pull_leftovers(&store2);

    let nowhere = Puller::new(
        store2,
        PullOptions {
            architecture: "s390x".into(),
            ..PullOptions::default()
        },
    );
    let error = nowhere
        .pull(&index.name, &AuthConfig::default(), &quiet)
        .expect_err("no s390x in the index");
    let text = error.to_string();
    assert!(matches!(error, PullError::NoPlatform { .. }), "{error:?}");
    assert!(
        text.contains("wanted linux/s390x")
            && text.contains(&format!("linux/{host}"))
            && text.contains(&format!("linux/{other}")),
        "{text}"
    );
}

#[test]
fn a_docker_manifest_list_is_resolved_to_the_host_platform() {
    if !root_or_skip("a_docker_manifest_list_is_resolved_to_the_host_platform") {
        return;
    }
    let registry = TestRegistry::start(None);
    let list = registry.push_multi_platform_docker("list/busybox:1");
    let host = minipod_image::host_architecture();
    let chosen = list.platform(host);

    let (_dir, store) = new_store();
    let events = Mutex::new(Vec::new());
    let pulled = puller(&store)
        .pull(&list.name, &AuthConfig::default(), &|p| {
            events.lock().unwrap().push(p.clone())
        })
        .expect("the host's platform");
    assert_eq!(pulled.name, list.name);
    assert_eq!(pulled.id.to_string(), chosen.image_id());
    assert_eq!(pulled.manifest.to_string(), chosen.manifest.digest);
    assert_eq!(pulled.size, chosen.size());
    // Only the chosen image's blobs were fetched.
    let events = events.into_inner().unwrap();
    assert!(
        matches!(&events[0], Progress::Resolved { manifest, .. } if *manifest == chosen.manifest.digest),
        "{events:?}"
    );
    let blob_path = |digest: &str| format!("/v2/list/busybox/blobs/{digest}");
    // (the access log has the chosen layer's GET: it is up to date)
    minipod_runtime_tests::wait_until(
        "the registry logs the layer's GET",
        std::time::Duration::from_secs(30),
        || {
            !registry
                .requests_for("GET", &blob_path(&chosen.layers[0].digest))
                .is_empty()
        },
    );
    let other = list.platform(minipod_runtime_tests::registry::layout::other_architecture());
    for blob in std::iter::once(&other.config).chain(&other.layers) {
        assert!(
            registry
                .requests_for("GET", &blob_path(&blob.digest))
                .is_empty(),
            "the other platform's {} was fetched",
            blob.digest
        );
    }
    // Stored under the list's name, as that platform's image.
    let resolved = store.resolve(&list.name).expect("in the store");
    assert_eq!(resolved.id.to_string(), chosen.image_id());
    assert_eq!(resolved.manifest.to_string(), chosen.manifest.digest);
    assert_eq!(resolved.layers.len(), 1);
    assert!(resolved.layers[0].join("bin/busybox").exists());
    check_no_pull_leftovers(&store);
}

#[test]
fn a_tampered_blob_is_refused_by_name_and_nothing_is_kept() {
    if !root_or_skip("a_tampered_blob_is_refused_by_name_and_nothing_is_kept") {
        return;
    }
    let registry = TestRegistry::start(None);
    let pushed = registry.push_busybox("tampered/busybox:1", Compression::Gzip);
    let layer = pushed.layers[0].digest.clone();
    registry.tamper_blob(&layer);
    let (_dir, store) = new_store();
    let error = puller(&store)
        .pull(&pushed.name, &AuthConfig::default(), &quiet)
        .expect_err("a blob that does not match its digest");
    assert!(matches!(error, PullError::Digest { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&format!("blob {layer}")),
        "{error}"
    );
    assert!(store.resolve(&pushed.name).is_err(), "nothing stored");
    assert!(store.list().unwrap_or_default().is_empty());
    let partials: Vec<_> = std::fs::read_dir(store.root().join("downloads"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.ends_with(".lock"))
                .collect()
        })
        .unwrap_or_default();
    assert!(partials.is_empty(), "left in downloads: {partials:?}");
    assert!(
        std::fs::read_dir(store.root().join("pulls"))
            .map(|d| d.count() == 0)
            .unwrap_or(true)
    );
}

#[test]
fn two_pulls_of_one_image_at_once_download_each_blob_once() {
    if !root_or_skip("two_pulls_of_one_image_at_once_download_each_blob_once") {
        return;
    }
    let registry = TestRegistry::start(None);
    let pushed = registry.push_busybox("shared/busybox:1", Compression::Gzip);
    let (_dir, store) = new_store();
    let store = Arc::new(store);
    let pulls: Vec<_> = (0..2)
        .map(|_| {
            let (store, name) = (Arc::clone(&store), pushed.name.clone());
            std::thread::spawn(move || puller(&store).pull(&name, &AuthConfig::default(), &quiet))
        })
        .collect();
    for pull in pulls {
        let pulled = pull
            .join()
            .expect("a pull thread")
            .expect("both pulls succeed");
        assert_eq!(pulled.id.to_string(), pushed.image_id());
    }
    check_stored(&store, &pushed);
    let path = |digest: &str| format!("/v2/shared/busybox/blobs/{digest}");
    for blob in std::iter::once(&pushed.config).chain(&pushed.layers) {
        let fetches = registry.requests_for("GET", &path(&blob.digest));
        assert_eq!(fetches.len(), 1, "{}: {fetches:?}", blob.digest);
    }
    check_no_pull_leftovers(&store);
}

fn cli(store: &Path, args: &[&str]) -> std::process::Output {
    Command::new(CLI)
        .args(["image", "--root"])
        .arg(store)
        .args(args)
        .env("MINIPOD_AUTH_FILE", store.join("no-such-auth.json"))
        .output()
        .expect("minipod runs")
}

#[test]
fn minipod_image_pull_says_what_it_does() {
    if !root_or_skip("minipod_image_pull_says_what_it_does") {
        return;
    }
    let registry = TestRegistry::start(Some(("bob", "pw")));
    let pushed = registry.push_busybox("cli/busybox:1", Compression::Gzip);
    let (dir, _store) = new_store();
    let root = dir.path().join("images");

    let refused = cli(&root, &["pull", &pushed.name]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.starts_with("error: pull access denied for "),
        "{stderr}"
    );

    let auth = dir.path().join("auth.json");
    std::fs::write(
        &auth,
        format!(
            r#"{{"auths": {{"{}": {{"username": "bob", "password": "pw"}}}}}}"#,
            registry.host()
        ),
    )
    .expect("auth file");
    let out = Command::new(CLI)
        .args(["image", "--root"])
        .arg(&root)
        .args(["pull", "--auth-file"])
        .arg(&auth)
        .arg(&pushed.name)
        .output()
        .expect("minipod runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // Not a terminal: plain lines, one per blob.
    assert!(
        stderr.contains(&format!("manifest {}: 2 blobs", pushed.manifest.digest)),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{} downloaded", pushed.layers[0].digest)),
        "{stderr}"
    );
    let id = &pushed.image_id()["sha256:".len()..][..12];
    assert!(
        stdout.starts_with(&format!("pulled {} (ID {id}, ", pushed.name)),
        "{stdout}"
    );
    let listed = cli(&root, &["ls"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&pushed.name));

    let bad = cli(&root, &["pull", "Not/Valid"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}

#[test]
fn what_an_interrupted_pull_left_is_cleared_by_the_next_one() {
    if !root_or_skip("what_an_interrupted_pull_left_is_cleared_by_the_next_one") {
        return;
    }
    let registry = TestRegistry::start(None);
    let pushed = registry.push_busybox("again/busybox:1", Compression::Gzip);
    let (_dir, store) = new_store();
    // As a pull killed mid-download leaves it: a layout of a process that
    // is gone (no pid is that high), half a blob, its lock file.
    let hex = &pushed.layers[0].digest["sha256:".len()..];
    let abandoned = store.root().join("pulls/999999999-1/blobs/sha256");
    std::fs::create_dir_all(&abandoned).expect("abandoned layout");
    let downloads = store.root().join("downloads");
    std::fs::create_dir_all(&downloads).expect("downloads");
    std::fs::write(downloads.join(format!("{hex}.partial")), b"half a blob").expect("partial");
    std::fs::write(downloads.join(format!("{hex}.lock")), b"").expect("lock");

    let pulled = puller(&store)
        .pull(&pushed.name, &AuthConfig::default(), &quiet)
        .expect("the pull");
    assert_eq!(pulled.id.to_string(), pushed.image_id());
    check_stored(&store, &pushed);
    check_no_pull_leftovers(&store);
}

#[test]
fn minipod_image_pull_draws_a_progress_bar_on_a_terminal() {
    if !root_or_skip("minipod_image_pull_draws_a_progress_bar_on_a_terminal") {
        return;
    }
    let registry = TestRegistry::start(None);
    let pushed = registry.push_busybox("bar/busybox:1", Compression::Gzip);
    let (dir, _store) = new_store();
    // `script` gives minipod a terminal.
    let inner = format!(
        "{CLI} image --root {} pull --auth-file /nonexistent {}",
        dir.path().join("images").display(),
        pushed.name
    );
    let out = Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .output()
        .expect("script runs");
    let seen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{seen}");
    assert!(
        seen.contains("\r[##############################] 2/2 blobs, "),
        "no full bar in {seen:?}"
    );
    assert!(
        !seen.contains("downloaded ("),
        "no plain lines on a terminal: {seen:?}"
    );
    assert!(
        seen.contains(&format!("pulled {}", pushed.name)),
        "{seen:?}"
    );
}
