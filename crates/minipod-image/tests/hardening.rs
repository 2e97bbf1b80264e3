//! The store's defences against inputs built to cost the host something:
//! metadata written through a swapped symlink, decompression bombs (bytes and
//! entries), oversized JSON documents, and error messages that would quote a
//! file's content. The same attacks, at full size and measured (time, memory,
//! disk, an unprivileged user), are in `runtime-tests/tests/hostile/images/`.
//! Run as root (layers keep their owners).

#![allow(clippy::unwrap_used)] // a test harness: a failure should panic loudly

mod common;

use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::*;
use minipod_image::extract::{ExtractError, unpack_layer};
use minipod_image::{Error, Limits, Store};

fn small_limits() -> Limits {
    Limits {
        layer_bytes: 1 << 20,
        layer_entries: 50,
        json_bytes: 64 << 10,
        archive_bytes: 4 << 20,
    }
}

/// The store holds nothing but its empty directories (and its lock).
fn assert_store_empty(root: &Path) {
    for sub in ["blobs/sha256", "layers/sha256", "tmp"] {
        let dir = root.join(sub);
        let left: Vec<_> = fs::read_dir(&dir).unwrap().collect();
        assert!(left.is_empty(), "{} holds {left:?}", dir.display());
    }
}

#[test]
fn directory_times_are_not_set_through_a_directory_swapped_for_a_symlink() {
    let tmp = tempfile::tempdir().unwrap();
    // A host directory `host/b` with a known mtime.
    let host = tmp.path().join("host");
    fs::create_dir_all(host.join("b")).unwrap();
    let before = fs::metadata(host.join("b")).unwrap().mtime();
    assert_ne!(before, 0);
    let dest = tmp.path().join("layer");
    fs::create_dir(&dest).unwrap();
    // `a/`, `a/b/` (mtime 0), then `a` becomes a symlink to the host: the
    // time of `a/b`, set at the end, must not land on `host/b`.
    let stream = tar(&[
        Entry::dir("a"),
        Entry::dir("a/b").mtime(0),
        Entry::symlink("a", host.to_str().unwrap()),
    ]);
    let caps = Limits::default().layer_entries_cap();
    unpack_layer(&stream[..], &dest, caps).unwrap();
    assert_eq!(fs::metadata(host.join("b")).unwrap().mtime(), before);
    assert!(fs::symlink_metadata(dest.join("a")).unwrap().is_symlink());
}

#[test]
fn a_layer_with_more_entries_than_the_cap_is_refused() {
    let dest = tempfile::tempdir().unwrap();
    let entries: Vec<Entry> = (0..60)
        .map(|i| Entry::file(&format!("f{i}"), b""))
        .collect();
    let err = unpack_layer(
        &tar(&entries)[..],
        dest.path(),
        small_limits().layer_entries_cap(),
    )
    .unwrap_err();
    assert!(matches!(err, ExtractError::Cap(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "refused: more than 50 tar entries (the store's layer_entries limit)"
    );
}

#[test]
fn a_layer_bigger_than_the_cap_is_refused_and_nothing_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let store = Store::new(&root).with_limits(small_limits());
    // 2 MiB of zeros: a few KiB of gzip, twice the cap once uncompressed.
    let bomb = Layer::new(&[Entry::file("zeros", &vec![0u8; 2 << 20])], Compress::Gzip);
    assert!(bomb.blob.len() < 64 << 10);
    let layout = oci_layout(&tmp.path().join("in"), &Image::new(vec![bomb]), None);
    let err = store.import(&layout, Some("bomb")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Layer {
                source: ExtractError::Cap(_),
                ..
            }
        ),
        "{err}"
    );
    // The cap is the layer's cause: the whole chain names it.
    let chain = minipod_spec::error_chain(&err);
    assert!(chain.contains("layer_bytes"), "{chain}");
    assert!(err.is_invalid_input());
    assert_store_empty(&root);
    // The same image fits a store with the default caps.
    Store::new(tmp.path().join("roomy"))
        .import(&layout, Some("fine"))
        .unwrap();
}

#[test]
fn an_oversized_manifest_is_refused_before_it_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let store = Store::new(&root).with_limits(small_limits());
    // A descriptor announcing 1 GiB, and a sparse 1 GiB blob behind it:
    // refused for its declared size, without copying (or hashing) a byte.
    let layout = tmp.path().join("in");
    let hex = "e".repeat(64);
    fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    File::create(layout.join("blobs/sha256").join(&hex))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    write_index(
        &layout,
        vec![serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{hex}"),
            "size": 1u64 << 30,
        })],
    );
    let started = std::time::Instant::now();
    let err = store.import(&layout, Some("huge")).unwrap_err();
    assert!(
        started.elapsed().as_secs() < 5,
        "took {:?}",
        started.elapsed()
    );
    let message = err.to_string();
    assert!(
        message.contains("image manifest of 1073741824 bytes refused")
            && message.contains("json_bytes"),
        "{message}"
    );
    assert_store_empty(&root);
    // An index.json over the cap is refused the same way.
    File::create(layout.join("index.json"))
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    let err = store.import(&layout, Some("huge")).unwrap_err();
    assert!(
        err.to_string()
            .contains("index.json of 1048576 bytes refused"),
        "{err}"
    );
}

#[test]
fn error_messages_never_quote_the_input() {
    const SECRET: &str = "root:$y$j9T$SecretHashThatMustNotLeak:19000:0:99999:7:::";
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path().join("store"));
    // A "layer.tar" that is a text file: the tar parser's own message would
    // quote its first header fields.
    let image = Image::new(vec![base_layer()]);
    let dir = docker_save_legacy(&tmp.path().join("save"), &image, &["x:1"]);
    let layer_tar = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("layer.tar").exists())
        .unwrap()
        .join("layer.tar");
    fs::write(&layer_tar, SECRET.repeat(20)).unwrap();
    let err = store.import(&dir, None).unwrap_err();
    let chain = minipod_spec::error_chain(&err);
    assert!(!chain.contains("SecretHash"), "{chain}");
    assert!(chain.contains("tar"), "{chain}");
    // A JSON document with a string where an object belongs: serde's own
    // message would quote the string.
    let json_dir = tmp.path().join("json");
    fs::create_dir_all(&json_dir).unwrap();
    fs::write(
        json_dir.join("index.json"),
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": SECRET})).unwrap(),
    )
    .unwrap();
    let err = store.import(&json_dir, Some("x")).unwrap_err();
    let message = err.to_string();
    assert!(!message.contains("SecretHash"), "{message}");
    assert!(
        message.contains("invalid image index: a field has the wrong type or value (at line 1"),
        "{message}"
    );
}
