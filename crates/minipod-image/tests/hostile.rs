//! Hostile layers: each must be refused with the entry and layer named, leave
//! the store exactly as it was, and never touch anything outside it.
//! Whiteouts and opaque directories are checked on disk.
//! Run as root (whiteouts are device nodes; a refused device must be refused
//! for its content, not for lack of privilege).

#![allow(clippy::unwrap_used)] // a test harness: a failure should panic loudly

mod common;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use common::*;
use minipod_image::extract::{ExtractError, Refusal, unpack_layer};
use minipod_image::{Error, Store};

struct Case {
    name: &'static str,
    entries: Vec<Entry>,
    /// The entry the error must name.
    entry: &'static str,
    refusal: fn(&Refusal) -> bool,
}

/// `outside` is a directory beside the store that a layer might try to reach.
fn cases(outside: &'static str) -> Vec<Case> {
    use tar::EntryType::{Block, Char, Fifo};
    vec![
        Case {
            name: "dot-dot",
            entries: vec![Entry::file("../escape", b"x")],
            entry: "../escape",
            refusal: |r| *r == Refusal::DotDot,
        },
        Case {
            name: "dot-dot deeper",
            entries: vec![Entry::dir("a"), Entry::file("a/../../escape", b"x")],
            entry: "a/../../escape",
            refusal: |r| *r == Refusal::DotDot,
        },
        Case {
            name: "absolute",
            entries: vec![Entry::file("/etc/minipod-test-absolute", b"x")],
            entry: "/etc/minipod-test-absolute",
            refusal: |r| *r == Refusal::Absolute,
        },
        Case {
            name: "write through a symlink to an absolute directory",
            entries: vec![Entry::symlink("a", outside), Entry::file("a/pwned", b"x")],
            entry: "a/pwned",
            refusal: |r| *r == Refusal::SymlinkParent("a".into()),
        },
        Case {
            name: "write through a relative symlink climbing out",
            entries: vec![
                Entry::dir("d"),
                Entry::symlink("d/up", "../../../../../../../../.."),
                Entry::file("d/up/tmp/pwned", b"x"),
            ],
            entry: "d/up/tmp/pwned",
            refusal: |r| *r == Refusal::SymlinkParent("d/up".into()),
        },
        Case {
            name: "directory through a symlink",
            entries: vec![Entry::symlink("a", outside), Entry::dir("a/sub")],
            entry: "a/sub",
            refusal: |r| matches!(r, Refusal::SymlinkParent(_)),
        },
        Case {
            name: "symlink through a symlink",
            entries: vec![Entry::symlink("a", outside), Entry::symlink("a/l", "/")],
            entry: "a/l",
            refusal: |r| matches!(r, Refusal::SymlinkParent(_)),
        },
        Case {
            name: "whiteout through a symlink",
            entries: vec![
                Entry::symlink("a", outside),
                Entry::file("a/.wh.victim", b""),
            ],
            entry: "a/.wh.victim",
            refusal: |r| matches!(r, Refusal::SymlinkParent(_)),
        },
        Case {
            name: "opaque marker through a symlink",
            entries: vec![
                Entry::symlink("a", outside),
                Entry::file("a/.wh..wh..opq", b""),
            ],
            entry: "a/.wh..wh..opq",
            refusal: |r| matches!(r, Refusal::SymlinkParent(_)),
        },
        Case {
            name: "parent is a file",
            entries: vec![Entry::file("f", b"x"), Entry::file("f/g", b"y")],
            entry: "f/g",
            refusal: |r| *r == Refusal::NotDirectoryParent("f".into()),
        },
        Case {
            name: "hard link to an absolute host file",
            entries: vec![Entry::hard_link("passwd", "/etc/passwd")],
            entry: "passwd",
            refusal: |r| matches!(r, Refusal::HardLink { problem, .. } if problem.starts_with("absolute")),
        },
        Case {
            name: "hard link climbing out",
            entries: vec![Entry::hard_link("passwd", "../../../../etc/passwd")],
            entry: "passwd",
            refusal: |r| matches!(r, Refusal::HardLink { problem, .. } if problem.contains("..")),
        },
        Case {
            name: "hard link to an entry not yet extracted",
            entries: vec![
                Entry::hard_link("early", "later"),
                Entry::file("later", b"x"),
            ],
            entry: "early",
            refusal: |r| matches!(r, Refusal::HardLink { problem, .. } if problem.contains("not extracted")),
        },
        Case {
            name: "hard link through a symlink",
            entries: vec![
                Entry::symlink("etc", "/etc"),
                Entry::hard_link("passwd", "etc/passwd"),
            ],
            entry: "passwd",
            refusal: |r| matches!(r, Refusal::HardLink { problem, .. } if problem.contains("symlink")),
        },
        Case {
            name: "hard link to a directory",
            entries: vec![Entry::dir("d"), Entry::hard_link("h", "d")],
            entry: "h",
            refusal: |r| matches!(r, Refusal::HardLink { problem, .. } if problem.contains("not a regular file")),
        },
        Case {
            name: "character device",
            entries: vec![Entry::special("dev/mem", Char)],
            entry: "dev/mem",
            refusal: |r| *r == Refusal::Special("character device"),
        },
        Case {
            name: "block device",
            entries: vec![Entry::special("dev/sda", Block)],
            entry: "dev/sda",
            refusal: |r| *r == Refusal::Special("block device"),
        },
        Case {
            name: "fifo",
            entries: vec![Entry::special("run/fifo", Fifo)],
            entry: "run/fifo",
            refusal: |r| *r == Refusal::Special("fifo"),
        },
        Case {
            name: "whiteout without a name",
            entries: vec![Entry::file("d/.wh.", b"")],
            entry: "d/.wh.",
            refusal: |r| *r == Refusal::BadWhiteout,
        },
        Case {
            name: "whiteout of ..",
            entries: vec![Entry::file("d/.wh...", b"")],
            entry: "d/.wh...",
            refusal: |r| *r == Refusal::BadWhiteout,
        },
        Case {
            name: "overlayfs xattr from the layer",
            entries: vec![Entry::dir("d").xattr("trusted.overlay.redirect", b"/etc")],
            entry: "d",
            refusal: |r| *r == Refusal::ReservedXattr("trusted.overlay.redirect".into()),
        },
        Case {
            name: "root entry that is a file",
            entries: vec![Entry::file("./", b"x")],
            entry: "./",
            refusal: |r| *r == Refusal::RootNotDirectory,
        },
    ]
}

#[test]
fn every_hostile_layer_is_refused_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    // The cases need a 'static path; leak one small string for the test's life.
    let outside_str: &'static str = Box::leak(outside.display().to_string().into_boxed_str());
    let store = Store::new(tmp.path().join("store"));
    // A store with content, so "nothing left behind" means "exactly as before".
    store
        .import(
            &oci_layout(
                &tmp.path().join("ok"),
                &Image::new(vec![base_layer()]),
                None,
            ),
            Some("ok"),
        )
        .unwrap();
    let before = tree(store.root());
    let cases = cases(outside_str);
    assert!(cases.len() >= 20);

    for (i, case) in cases.into_iter().enumerate() {
        for compress in [Compress::None, Compress::Gzip] {
            // A good layer first, so the failure happens mid-import.
            let hostile = Layer::new(&case.entries, compress);
            let image = Image::new(vec![app_layer(&format!("case {i}")), hostile.clone()]);
            let layout = oci_layout(
                &tmp.path().join(format!("case-{i}-{compress:?}")),
                &image,
                None,
            );
            let err = store.import(&layout, Some("hostile")).unwrap_err();
            match &err {
                Error::Layer {
                    layer,
                    source: ExtractError::Refused { entry, refusal },
                } => {
                    assert_eq!(layer.to_string(), hostile.digest, "{}", case.name);
                    assert_eq!(entry, case.entry, "{}", case.name);
                    assert!((case.refusal)(refusal), "{}: {refusal}", case.name);
                }
                other => panic!("{}: unexpected error {other}", case.name),
            }
            assert!(err.is_invalid_input(), "{}", case.name);
            // The layer names itself, its cause the entry: the chain has both.
            let message = minipod_spec::error_chain(&err);
            assert!(
                message.contains(&hostile.digest),
                "{}: {message}",
                case.name
            );
            assert!(message.contains(case.entry), "{}: {message}", case.name);
            assert_eq!(
                tree(store.root()),
                before,
                "{}: the store changed",
                case.name
            );
            assert_eq!(
                fs::read_dir(&outside).unwrap().count(),
                0,
                "{}: wrote outside",
                case.name
            );
        }
    }
    assert!(!Path::new("/etc/minipod-test-absolute").exists());
    assert_eq!(store.list().unwrap().len(), 1);
}

#[test]
fn whiteouts_and_opaque_directories_become_what_overlayfs_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let lower = base_layer();
    let upper = Layer::new(
        &[
            Entry::dir("etc"),
            Entry::file("etc/.wh.passwd", b""),
            Entry::dir("tmp"),
            Entry::file("tmp/.wh..wh..opq", b""),
            Entry::file("tmp/kept", b"k"),
            Entry::file("var/lib/.wh..wh..opq", b""),
            Entry::file(".wh..wh.plnk", b""),
            Entry::file(".wh.bin", b""),
        ],
        Compress::Gzip,
    );
    let store = Store::new(tmp.path().join("store"));
    store
        .import(
            &oci_layout(&tmp.path().join("l"), &Image::new(vec![lower, upper]), None),
            Some("wh"),
        )
        .unwrap();
    let top = &store.resolve("wh").unwrap().layers[1];

    for whiteout in ["etc/passwd", "bin"] {
        let meta = fs::symlink_metadata(top.join(whiteout)).unwrap();
        assert!(meta.file_type().is_char_device(), "{whiteout}");
        assert_eq!(meta.rdev(), 0, "{whiteout}: device 0/0");
    }
    for gone in [
        "etc/.wh.passwd",
        ".wh.bin",
        "tmp/.wh..wh..opq",
        ".wh..wh.plnk",
    ] {
        assert!(
            fs::symlink_metadata(top.join(gone)).is_err(),
            "{gone} must not exist"
        );
    }
    for opaque in ["tmp", "var/lib"] {
        assert_eq!(
            xattr::get(top.join(opaque), "trusted.overlay.opaque")
                .unwrap()
                .as_deref(),
            Some(&b"y"[..]),
            "{opaque}"
        );
    }
    assert_eq!(
        xattr::get(top.join("etc"), "trusted.overlay.opaque").unwrap(),
        None
    );
    assert_eq!(fs::read(top.join("tmp/kept")).unwrap(), b"k");
}

#[test]
fn later_entries_replace_earlier_ones_without_following_them() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let target = outside.join("victim");
    fs::write(&target, b"original").unwrap();
    let dest = tmp.path().join("layer");
    fs::create_dir(&dest).unwrap();
    let stream = tar(&[
        // A symlink to a host file, then a file of the same name: the file
        // replaces the link, the host file is untouched.
        Entry::symlink("victim", target.to_str().unwrap()),
        Entry::file("victim", b"layer content"),
        // A symlink to a host directory, then a directory of the same name.
        Entry::symlink("d", outside.to_str().unwrap()),
        Entry::dir("d"),
        Entry::file("d/new", b"inside"),
        // A directory replaced by a file.
        Entry::dir("x"),
        Entry::file("x/y", b"y"),
        Entry::file("x", b"now a file"),
        // A hard link to a symlink links the symlink, not its target.
        Entry::symlink("ln", target.to_str().unwrap()),
        Entry::hard_link("ln2", "ln"),
    ]);
    let stats = unpack_layer(
        &stream[..],
        &dest,
        minipod_image::Limits::default().layer_entries_cap(),
    )
    .unwrap();
    assert_eq!(stats.entries, 10);
    assert_eq!(fs::read(&target).unwrap(), b"original");
    assert_eq!(fs::read(dest.join("victim")).unwrap(), b"layer content");
    assert!(fs::symlink_metadata(dest.join("d")).unwrap().is_dir());
    assert_eq!(fs::read(dest.join("d/new")).unwrap(), b"inside");
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 1);
    assert_eq!(fs::read(dest.join("x")).unwrap(), b"now a file");
    assert!(
        fs::symlink_metadata(dest.join("ln2"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn a_truncated_or_corrupt_layer_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path().join("store"));
    let good = Layer::new(&[Entry::file("big", &vec![7u8; 100_000])], Compress::Gzip);
    // The gzip stream cut in half, with a config that still expects the whole.
    let mut cut = good.clone();
    cut.blob.truncate(good.blob.len() / 2);
    cut.digest = sha256(&cut.blob);
    let image = Image {
        config: config(
            std::slice::from_ref(&good),
            minipod_image::host_architecture(),
        ),
        layers: vec![cut.clone()],
    };
    let err = store
        .import(
            &oci_layout(&tmp.path().join("l"), &image, None),
            Some("cut"),
        )
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Layer {
                source: ExtractError::Stream(_) | ExtractError::Io { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains(&cut.digest), "{err}");
    assert!(store.list().unwrap().is_empty());
    assert_eq!(fs::read_dir(store.root().join("tmp")).unwrap().count(), 0);
    assert_eq!(
        fs::read_dir(store.root().join("layers/sha256"))
            .unwrap()
            .count(),
        0
    );
}

/// The proof that the conversion is right: overlayfs itself hides what the
/// whiteouts name and what lies under an opaque directory.
#[test]
fn whiteouts_hide_lower_files_in_a_real_overlay_mount() {
    use nix::mount::{MntFlags, MsFlags, mount, umount2};

    let tmp = tempfile::tempdir().unwrap();
    let lower = Layer::new(
        &[
            Entry::file("gone", b"lower"),
            Entry::dir("opaque"),
            Entry::file("opaque/old", b"lower"),
            Entry::dir("merged"),
            Entry::file("merged/old", b"lower"),
        ],
        Compress::Gzip,
    );
    let upper = Layer::new(
        &[
            Entry::file(".wh.gone", b""),
            Entry::file("opaque/.wh..wh..opq", b""),
            Entry::file("opaque/new", b"upper"),
            Entry::file("merged/new", b"upper"),
        ],
        Compress::Gzip,
    );
    let store = Store::new(tmp.path().join("store"));
    store
        .import(
            &oci_layout(&tmp.path().join("l"), &Image::new(vec![lower, upper]), None),
            Some("ovl"),
        )
        .unwrap();
    let layers = store.resolve("ovl").unwrap().layers;
    // overlayfs lists the topmost layer first.
    let lowerdir: Vec<String> = layers
        .iter()
        .rev()
        .map(|p| p.display().to_string())
        .collect();
    let target = tmp.path().join("merged-root");
    fs::create_dir(&target).unwrap();
    let options = format!("lowerdir={}", lowerdir.join(":"));
    if let Err(e) = mount(
        Some("overlay"),
        &target,
        Some("overlay"),
        MsFlags::MS_RDONLY,
        Some(options.as_str()),
    ) {
        eprintln!(
            "skipped: cannot mount overlayfs here ({e}); whiteouts were checked on disk only"
        );
        return;
    }
    let seen = |p: &str| fs::symlink_metadata(target.join(p)).is_ok();
    let result = std::panic::catch_unwind(|| {
        assert!(!seen("gone"), "a whiteout hides the lower file");
        assert!(
            !seen("opaque/old"),
            "an opaque directory hides the lower content"
        );
        assert!(seen("opaque/new"));
        assert!(
            seen("merged/old") && seen("merged/new"),
            "other directories merge"
        );
    });
    umount2(&target, MntFlags::MNT_DETACH).unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
