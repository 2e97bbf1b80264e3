//! End to end: `scripts/busybox-image` builds the project's busybox image from
//! the host's busybox-static and imports it with this `minipod`; then
//! `minipod image ls/rm` see it as a user would. Runs as root (the store keeps
//! file owners). Skipped, loudly, only when busybox-static cannot be had.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness: a failure should panic loudly

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_minipod");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn minipod(root: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--root")
        .arg(root)
        .output()
        .expect("run minipod")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A statically linked ELF executable has no PT_INTERP program header.
fn is_static_elf(path: &Path) -> bool {
    let bytes = std::fs::read(path).unwrap();
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" || bytes[4] != 2 {
        return false; // not a 64-bit ELF
    }
    let u16_at = |o: usize| usize::from(u16::from_le_bytes([bytes[o], bytes[o + 1]]));
    let phoff = usize::try_from(u64::from_le_bytes(bytes[0x20..0x28].try_into().unwrap())).unwrap();
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    const PT_INTERP: u32 = 3;
    (0..phnum).all(|i| {
        let at = phoff + i * phentsize;
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) != PT_INTERP
    })
}

#[test]
fn busybox_image_script_builds_and_imports_a_runnable_busybox() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let layout = tmp.path().join("busybox-oci");
    let script = Command::new(repo_root().join("scripts/busybox-image"))
        .arg("--root")
        .arg(&root)
        .arg(&layout)
        .env("MINIPOD", BIN)
        .output()
        .expect("run scripts/busybox-image");
    if script.status.code() == Some(77) {
        eprintln!(
            "SKIPPED: busybox-static is not installed and cannot be installed here:\n{}",
            text(&script.stderr)
        );
        return;
    }
    assert!(
        script.status.success(),
        "scripts/busybox-image failed\nstdout:\n{}\nstderr:\n{}",
        text(&script.stdout),
        text(&script.stderr)
    );
    assert!(layout.join("oci-layout").is_file());

    let ls = minipod(&root, &["image", "ls"]);
    assert!(ls.status.success(), "{}", text(&ls.stderr));
    let listing = text(&ls.stdout);
    let lines: Vec<&str> = listing.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{listing}");
    for name in [
        "docker.io/library/busybox:latest",
        "docker.io/library/busybox:1.36",
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "{name} missing from:\n{listing}"
        );
    }

    let store = minipod_image::Store::new(&root);
    let image = store.resolve("busybox:1.36").unwrap();
    assert_eq!(image.defaults.cmd, ["sh"]);
    assert_eq!(image.defaults.env, ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]);
    assert_eq!(image.layers.len(), 1);
    let layer = &image.layers[0];
    assert_eq!(
        std::fs::read_link(layer.join("bin/sh")).unwrap(),
        Path::new("busybox")
    );
    assert!(
        is_static_elf(&layer.join("bin/busybox")),
        "bin/busybox must be a static ELF"
    );
    let passwd = std::fs::read_to_string(layer.join("etc/passwd")).unwrap();
    for user in ["root:x:0:0:", "app:x:1000:1000:", "nobody:x:65534:65534:"] {
        assert!(passwd.contains(user), "{user} missing from:\n{passwd}");
    }
    // Both tags are one image: one layer on disk.
    assert_eq!(store.resolve("busybox").unwrap().id, image.id);
    assert_eq!(
        std::fs::read_dir(root.join("layers/sha256"))
            .unwrap()
            .count(),
        1
    );

    // rm: one name, then the other frees the layer.
    let rm = minipod(&root, &["image", "rm", "busybox:latest"]);
    assert!(rm.status.success(), "{}", text(&rm.stderr));
    assert_eq!(
        text(&rm.stdout),
        "removed docker.io/library/busybox:latest\n"
    );
    assert!(layer.is_dir());
    let rm = minipod(&root, &["image", "rm", "busybox:1.36"]);
    assert!(rm.status.success(), "{}", text(&rm.stderr));
    assert!(!layer.exists());
    assert_eq!(
        text(&minipod(&root, &["image", "ls"]).stdout),
        "NAME   ID   SIZE\n"
    );
}

#[test]
fn image_commands_exit_2_for_bad_input_and_name_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let missing = tmp.path().join("missing.tar");

    let run = minipod(&root, &["image", "import", missing.to_str().unwrap(), "x"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains("missing.tar"),
        "{}",
        text(&run.stderr)
    );

    let run = minipod(&root, &["image", "rm", "nope"]);
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(
        text(&run.stderr),
        format!(
            "error: no image docker.io/library/nope:latest in the store {}\n",
            root.display()
        )
    );

    let run = minipod(&root, &["image", "import", ".", "Upper/Case:x"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains("must be lowercase"),
        "{}",
        text(&run.stderr)
    );

    // MINIPOD_IMAGE_ROOT stands for --root.
    let run = Command::new(BIN)
        .args(["image", "ls"])
        .env("MINIPOD_IMAGE_ROOT", &root)
        .output()
        .unwrap();
    assert!(run.status.success());
    assert_eq!(text(&run.stdout), "NAME   ID   SIZE\n");
}
