//! The image store against a hostile image or a local user (issue 11, the
//! image store's part; `docs/security/images.md`):
//! * the store's directories are root-only: a local user can neither run a
//!   layer's setuid-root binary, nor list the layers, nor read a blob, nor
//!   write to a layer's 1777 `tmp/`; an old 0755 store is closed when it is
//!   opened; a container running as a non-root user still reads its image;
//! * a directory swapped for a symlink to the host does not get the host's
//!   mtime;
//! * a gzip bomb (2 MiB → 2 GiB, with a wrong diff_id) and a layer of many
//!   tiny entries stop at the store's caps, quickly, with bounded memory,
//!   leaving nothing;
//! * a GNU long name of 512 MiB is refused at its header, before the tar
//!   reader would hold it in memory;
//! * a 1.5 GiB manifest (and a 1.5 GiB docker config) is refused by its
//!   size, at once, with bounded memory;
//! * an import error through a hard link to a secret file does not print
//!   the secret.

use std::fs::{self, File};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;
use std::time::{Duration, Instant};

use minipod_image::{Error, Limits, Store};
use minipod_linux::container::ExitStatus;
use minipod_runtime_tests::{TestNode, root_on_the_host_or_skip, serial};

mod build;
use build::*;

const CLI: &str = env!("CARGO_BIN_EXE_minipod-cli");
const INIT: &str = env!("CARGO_BIN_EXE_minipod-test-init");

#[test]
fn the_store_is_closed_to_local_users_and_open_to_its_containers() {
    if !root_on_the_host_or_skip("the_store_is_closed_to_local_users_and_open_to_its_containers") {
        return;
    }
    let _serial = serial();
    let scratch = Scratch::new("private");
    let busybox = fs::read("/bin/busybox").expect("/bin/busybox (busybox-static)");
    let tar = tar_of(&[
        ("bin", tar::EntryType::Directory, 0o755, b""),
        ("bin/rootshell", tar::EntryType::Regular, 0o4755, &busybox),
        ("tmp", tar::EntryType::Directory, 0o1777, b""),
    ]);
    let blob = gzip(&tar);
    let layout = scratch.0.join("in");
    let blob_hex = oci_layout(&layout, &blob, &sha256_hex(&tar));
    let root = scratch.0.join("store");
    Store::new(&root)
        .import(&layout, Some("setuid:1"))
        .expect("import");
    let layer = root.join("layers/sha256").join(sha256_hex(&tar));
    assert_eq!(
        mode(&layer.join("bin/rootshell")),
        0o4755,
        "the image keeps its setuid bit"
    );

    // As nobody: the setuid binary cannot be run, the layers not listed,
    // the blobs not read, the layer's 1777 tmp not written.
    let shell = layer.join("bin/rootshell");
    let attempts: [(&str, Vec<String>); 4] = [
        (
            "run the setuid binary",
            vec![path(&shell), "id".into(), "-u".into()],
        ),
        (
            "list the layers",
            vec!["ls".into(), path(&root.join("layers/sha256"))],
        ),
        (
            "read a blob",
            vec![
                "cat".into(),
                path(&root.join("blobs/sha256").join(&blob_hex)),
            ],
        ),
        (
            "write to the layer's tmp",
            vec!["touch".into(), path(&layer.join("tmp/x"))],
        ),
    ];
    for (what, argv) in &attempts {
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out = as_nobody(&argv);
        assert!(
            !out.status.success(),
            "nobody could {what}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    for sub in STORE_DIRS {
        assert_eq!(mode(&root.join(sub)), 0o700, "{sub:?} of the store");
    }

    // A store an older minipod left open (0755) is closed by the next
    // command that opens it, a mere `image ls`.
    for sub in STORE_DIRS {
        fs::set_permissions(root.join(sub), fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let out = Command::new(CLI)
        .args(["image", "--root", &path(&root), "ls"])
        .output()
        .expect("minipod image ls");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&root), 0o700, "the root after `image ls`");
    Store::new(&root).gc().expect("gc");
    for sub in STORE_DIRS {
        assert_eq!(mode(&root.join(sub)), 0o700, "{sub:?} after a change");
    }

    // A container running as a non-root user still reads and runs its
    // image: overlayfs looks the layers up as the mounter (root), the
    // container only sees the merged tree.
    let node = TestNode::new(INIT);
    assert_eq!(mode(&node.runtime.node().image_root), 0o700);
    let mut pod = node
        .create(
            r#"
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  containers:
  - {name: app, image: busybox, imagePullPolicy: Never, command: [sh, -c, 'id -u; cat /etc/passwd'],
     securityContext: {runAsUser: 1000, runAsGroup: 1000}}
"#,
        )
        .expect("create the pod");
    for dir in [&node.runtime.node().state_dir, &node.runtime.node().run_dir] {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
    }
    let (status, out) = {
        // In a block: the container's pidfd and pipes are closed at its end.
        let started = node.start(&mut pod, "app");
        let status = started.container.wait().expect("wait");
        let mut out = String::new();
        std::io::Read::read_to_string(&mut File::from(started.stdout), &mut out).expect("stdout");
        (status, out)
    };
    assert_eq!(status, ExitStatus::Exited(0), "{out}");
    assert!(
        out.starts_with("1000\n") && out.contains("app:x:1000:"),
        "{out}"
    );
    node.runtime.remove_pod(pod).expect("remove the pod");
    node.finish();
}

#[test]
fn a_directory_swapped_for_a_symlink_does_not_pass_its_mtime_to_the_host() {
    if !root_on_the_host_or_skip(
        "a_directory_swapped_for_a_symlink_does_not_pass_its_mtime_to_the_host",
    ) {
        return;
    }
    let _serial = serial();
    let scratch = Scratch::new("swap");
    let host = scratch.0.join("host");
    fs::create_dir_all(host.join("b")).expect("host dir");
    let before = fs::metadata(host.join("b")).expect("stat").mtime();
    let mut tar = tar::Builder::new(Vec::new());
    for (name, kind, mtime, target) in [
        ("a", tar::EntryType::Directory, 1_000_000, None),
        ("a/b", tar::EntryType::Directory, 0, None),
        ("a", tar::EntryType::Symlink, 1_000_000, Some(path(&host))),
    ] {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(kind);
        header.set_mode(0o755);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        header.set_size(0);
        match target {
            Some(target) => tar.append_link(&mut header, name, target),
            None => tar.append_data(&mut header, name, &[][..]),
        }
        .expect("tar entry");
    }
    let tar = tar.into_inner().expect("tar");
    let layout = scratch.0.join("in");
    oci_layout(&layout, &gzip(&tar), &sha256_hex(&tar));
    let root = scratch.0.join("store");
    Store::new(&root)
        .import(&layout, Some("swap:1"))
        .expect("import");
    assert_eq!(
        fs::metadata(host.join("b")).expect("stat").mtime(),
        before,
        "the host directory's mtime was changed through the swapped symlink"
    );
}

#[test]
fn decompression_bombs_stop_at_the_caps_quickly_and_leave_nothing() {
    if !root_on_the_host_or_skip("decompression_bombs_stop_at_the_caps_quickly_and_leave_nothing") {
        return;
    }
    let _serial = serial();
    let scratch = Scratch::new("bomb");
    let limits = Limits {
        layer_bytes: 64 << 20,
        layer_entries: 10_000,
        ..Limits::default()
    };
    let root = scratch.0.join("store");
    let store = Store::new(&root).with_limits(limits);

    // 2 MiB of gzip, 2 GiB of zeros, and a diff_id that is not even its own.
    let bomb = gzip_bomb(tar::EntryType::Regular, 2 << 30);
    assert!(bomb.len() < 4 << 20, "{} bytes", bomb.len());
    let layout = scratch.0.join("bytes");
    oci_layout(&layout, &bomb, &sha256_hex(b"not this layer"));
    reset_peak_rss();
    let before = peak_rss_kib(std::process::id()).expect("VmHWM");
    let started = Instant::now();
    let err = store
        .import(&layout, Some("bomb:1"))
        .expect_err("the bomb is refused");
    let took = started.elapsed();
    let grew = peak_rss_kib(std::process::id())
        .expect("VmHWM")
        .saturating_sub(before);
    // The layer names itself; the cap is its cause, in the chain users see.
    let chain = minipod_spec::error_chain(&err);
    assert!(
        matches!(err, Error::Layer { .. }) && chain.contains("layer_bytes limit"),
        "{chain}"
    );
    eprintln!("gzip bomb refused after {took:?}, peak RSS +{grew} KiB: {err}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(grew < 64 << 10, "the import grew by {grew} KiB");
    assert_store_empty(&root);

    // 50,000 empty files in about 150 KiB of gzip: refused at 10,000.
    let names: Vec<String> = (0..50_000).map(|i| format!("f{i}")).collect();
    let entries: Vec<(&str, tar::EntryType, u32, &[u8])> = names
        .iter()
        .map(|n| (n.as_str(), tar::EntryType::Regular, 0o644, &b""[..]))
        .collect();
    let tar = tar_of(&entries);
    let layout = scratch.0.join("entries");
    oci_layout(&layout, &gzip(&tar), &sha256_hex(&tar));
    let started = Instant::now();
    let err = store.import(&layout, Some("many:1")).expect_err("refused");
    assert!(
        minipod_spec::error_chain(&err).contains("more than 10000 tar entries"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_store_empty(&root);
}

#[test]
fn huge_json_documents_are_refused_by_size_at_once() {
    if !root_on_the_host_or_skip("huge_json_documents_are_refused_by_size_at_once") {
        return;
    }
    let _serial = serial();
    let scratch = Scratch::new("json");
    let root = scratch.0.join("store");
    const HUGE: u64 = 3 << 29; // 1.5 GiB, sparse: costs no disk

    // An OCI layout whose index points at a 1.5 GiB manifest.
    let layout = scratch.0.join("oci");
    let hex = "d".repeat(64);
    fs::create_dir_all(layout.join("blobs/sha256")).expect("blobs");
    File::create(layout.join("blobs/sha256").join(&hex))
        .and_then(|f| f.set_len(HUGE))
        .expect("sparse manifest");
    write_index(
        &layout,
        serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "digest": format!("sha256:{hex}"), "size": HUGE}),
    );
    // A docker save directory whose config is 1.5 GiB (no descriptor size).
    let saved = scratch.0.join("saved");
    fs::create_dir_all(saved.join("l")).expect("saved");
    File::create(saved.join("config.json"))
        .and_then(|f| f.set_len(HUGE))
        .expect("sparse config");
    fs::write(
        saved.join("manifest.json"),
        br#"[{"Config":"config.json","RepoTags":["huge:1"],"Layers":["l/layer.tar"]}]"#,
    )
    .expect("manifest.json");

    for (input, file) in [
        (&layout, format!("blobs/sha256/{hex}")),
        (&saved, "config.json".into()),
    ] {
        let (out, took, peak_kib) = import_measured(&root, input);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&file)
                && stderr.contains("of 1610612736 bytes refused")
                && stderr.contains("json_bytes limit"),
            "{stderr}"
        );
        eprintln!("{file}: refused after {took:?}, peak RSS {peak_kib} KiB");
        assert!(took < Duration::from_secs(10), "{file}: took {took:?}");
        assert!(peak_kib < 64 << 10, "{file}: peak RSS {peak_kib} KiB");
        assert_store_empty(&root);
    }
}

#[test]
fn an_import_error_through_a_hard_linked_secret_does_not_print_it() {
    if !root_on_the_host_or_skip("an_import_error_through_a_hard_linked_secret_does_not_print_it") {
        return;
    }
    let _serial = serial();
    let scratch = Scratch::new("secret");
    // A secret of the shape of /etc/shadow, made by the test, root-only.
    let secret = scratch.0.join("shadow");
    let secret_text = "root:$y$j9T$TopSecretHashNeverToBePrinted:19000:0:99999:7:::\n";
    fs::write(&secret, secret_text.repeat(40)).expect("secret");
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).expect("chmod");
    let json_secret = scratch.0.join("secret.json");
    fs::write(
        &json_secret,
        format!(
            r#"{{"schemaVersion":2,"manifests":"{}"}}"#,
            secret_text.trim()
        ),
    )
    .expect("json secret");

    // A docker save whose layer.tar is a hard link to the secret.
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": minipod_image::host_architecture(), "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", "a".repeat(64))]},
    }))
    .expect("config");
    let saved = scratch.0.join("saved");
    fs::create_dir_all(saved.join("l")).expect("saved");
    fs::write(saved.join("config.json"), config).expect("config");
    fs::write(
        saved.join("manifest.json"),
        br#"[{"Config":"config.json","RepoTags":["leak:1"],"Layers":["l/layer.tar"]}]"#,
    )
    .expect("manifest.json");
    fs::hard_link(&secret, saved.join("l/layer.tar")).expect("hard link");
    // An OCI layout whose index.json is a hard link to a JSON-shaped secret.
    let layout = scratch.0.join("oci");
    fs::create_dir_all(&layout).expect("layout");
    fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("layout");
    fs::hard_link(&json_secret, layout.join("index.json")).expect("hard link");

    let root = scratch.0.join("store");
    for (input, names) in [
        (&saved, "tar stream"),
        (&layout, "index.json: invalid image index"),
    ] {
        let out = Command::new(CLI)
            .args(["image", "--root", &path(&root), "import", &path(input)])
            .output()
            .expect("minipod image import");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(names), "{stderr}");
        for fragment in ["TopSecretHash", "$y$j9T", "19000:0:99999"] {
            assert!(
                !stderr.contains(fragment),
                "the message prints the secret: {stderr}"
            );
        }
        assert_store_empty(&root);
    }
}

#[test]
fn a_long_name_bomb_is_refused_before_the_tar_reader_holds_it() {
    if !root_on_the_host_or_skip("a_long_name_bomb_is_refused_before_the_tar_reader_holds_it") {
        return;
    }
    let _serial = serial();
    let scratch = Scratch::new("longname");
    // A GNU long name of 512 MiB of zeros in 512 KiB of gzip: the tar crate
    // reads a long name into memory whole before the entry it names.
    let bomb = gzip_bomb(tar::EntryType::GNULongName, 512 << 20);
    let layout = scratch.0.join("in");
    oci_layout(&layout, &bomb, &sha256_hex(b"not this layer"));
    let root = scratch.0.join("store");
    reset_peak_rss();
    let before = peak_rss_kib(std::process::id()).expect("VmHWM");
    let started = Instant::now();
    // The store's default limits.
    let err = Store::new(&root)
        .import(&layout, Some("longname:1"))
        .expect_err("refused");
    let took = started.elapsed();
    let grew = peak_rss_kib(std::process::id())
        .expect("VmHWM")
        .saturating_sub(before);
    eprintln!("long name bomb refused after {took:?}, peak RSS +{grew} KiB: {err}");
    assert!(
        minipod_spec::error_chain(&err).contains("in one GNU long name or PAX header"),
        "{err}"
    );
    assert!(grew < 64 << 10, "the import grew by {grew} KiB");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert_store_empty(&root);
}
