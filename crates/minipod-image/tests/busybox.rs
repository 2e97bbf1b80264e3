//! The project's busybox image (`scripts/busybox-image --no-import`) imports
//! through the library under the name its index gives it, and is runnable
//! material: `bin/sh` links to a static `bin/busybox`. (The full script, with
//! its import through the `minipod` binary, is tested in the `minipod` crate.)

#![allow(clippy::unwrap_used)] // a test harness: a failure should panic loudly

use std::path::Path;
use std::process::Command;

#[test]
fn the_busybox_layout_imports_under_the_name_in_its_index() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("busybox-oci");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/busybox-image");
    let run = Command::new(script)
        .arg("--no-import")
        .arg(&layout)
        .output()
        .unwrap();
    if run.status.code() == Some(77) {
        eprintln!(
            "SKIPPED: busybox-static is not installed and cannot be installed here:\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
        return;
    }
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let store = minipod_image::Store::new(tmp.path().join("store"));
    let report = store.import(&layout, None).unwrap();
    assert_eq!(report.images[0].name, "docker.io/library/busybox:latest");
    let image = store.resolve("busybox").unwrap();
    let layer = &image.layers[0];
    assert_eq!(
        std::fs::read_link(layer.join("bin/sh")).unwrap(),
        Path::new("busybox")
    );
    let busybox = std::fs::read(layer.join("bin/busybox")).unwrap();
    assert_eq!(&busybox[..4], b"\x7fELF");
    assert_eq!(
        std::fs::read(layer.join("bin/busybox")).unwrap(),
        std::fs::read("/bin/busybox").unwrap()
    );
    let tmp_dir = std::fs::metadata(layer.join("tmp")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&tmp_dir.permissions()) & 0o7777,
        0o1777
    );
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(layer.join("home/app")).unwrap()),
        1000
    );
}
