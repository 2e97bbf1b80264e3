//! What the image attacks are built from: scratch directories, tars and
//! OCI layouts written by hand, runs as nobody, memory measurements.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

use super::CLI;

/// The store's own directories, which must all be root-only.
pub(super) const STORE_DIRS: [&str; 6] = [
    "",
    "blobs",
    "blobs/sha256",
    "layers",
    "layers/sha256",
    "tmp",
];

/// A scratch directory any user may enter (so that only the store's own
/// modes keep an unprivileged user out), removed when dropped.
pub(super) struct Scratch(pub(super) PathBuf);

impl Scratch {
    pub(super) fn new(what: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "minipod-rt-img-{what}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).expect("scratch dir");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod scratch");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A tar entry: (name, type, mode, content).
pub(super) fn tar_of(entries: &[(&str, tar::EntryType, u32, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, kind, mode, data) in entries {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(*kind);
        header.set_mode(*mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1_000_000);
        match kind {
            tar::EntryType::Symlink => {
                header.set_size(0);
                let target = std::str::from_utf8(data).expect("utf-8 target");
                builder
                    .append_link(&mut header, name, target)
                    .expect("tar link");
            }
            _ => {
                header.set_size(data.len() as u64);
                builder
                    .append_data(&mut header, name, *data)
                    .expect("tar entry");
            }
        }
    }
    builder.into_inner().expect("tar")
}

pub(super) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// Writes an OCI image layout of one image with one layer (`blob`, whose
/// config claims `diff_id`) into `dir`; returns the layer blob's hex digest.
pub(super) fn oci_layout(dir: &Path, blob: &[u8], diff_id: &str) -> String {
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).expect("blobs dir");
    let write = |bytes: &[u8]| {
        let hex = sha256_hex(bytes);
        fs::write(blobs.join(&hex), bytes).expect("blob");
        hex
    };
    let layer = write(blob);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": minipod_image::host_architecture(), "os": "linux",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{diff_id}")]},
    }))
    .expect("config");
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": format!("sha256:{}", write(&config)), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": format!("sha256:{layer}"), "size": blob.len()}],
    }))
    .expect("manifest");
    let descriptor = serde_json::json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": format!("sha256:{}", write(&manifest)), "size": manifest.len(),
    });
    write_index(dir, descriptor);
    layer
}

pub(super) fn write_index(dir: &Path, descriptor: serde_json::Value) {
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).expect("oci-layout");
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [descriptor]});
    fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&index).expect("index"),
    )
    .expect("index");
}

/// Runs `argv` as nobody (uid and gid 65534, no supplementary groups),
/// through a shell: setpriv itself still holds root's capabilities when it
/// calls execve (they are dropped by the exec), so its own exec could look
/// a path up that nobody cannot; the shell's exec is nobody's.
pub(super) fn as_nobody(argv: &[&str]) -> Output {
    Command::new("setpriv")
        .args([
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            "--",
            "/bin/sh",
            "-c",
            "\"$0\" \"$@\"",
        ])
        .args(argv)
        .output()
        .expect("run setpriv")
}

pub(super) fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("stat").permissions().mode() & 0o7777
}

/// Nothing of a failed import is left: no layer, no blob, no scratch directory.
pub(super) fn assert_store_empty(root: &Path) {
    for sub in ["blobs/sha256", "layers/sha256", "tmp"] {
        let left: Vec<_> = fs::read_dir(root.join(sub))
            .map(|d| d.map(|e| e.expect("entry").path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{sub} holds {left:?}");
    }
}

/// The peak resident set of this process since the last [`reset_peak_rss`], in KiB.
pub(super) fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets this process's peak resident set (`VmHWM`) to its current size
/// (proc(5), `/proc/pid/clear_refs`, value 5).
pub(super) fn reset_peak_rss() {
    fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM");
}

pub(super) fn path(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_owned()
}

/// A gzip stream of a tar holding one entry of `kind` with `size` zeros,
/// made of repeated gzip members (a valid multi-member stream): about 1 KiB
/// of gzip per MiB of zeros, built in a moment.
pub(super) fn gzip_bomb(kind: tar::EntryType, size: u64) -> Vec<u8> {
    const CHUNK: u64 = 16 << 20;
    let mut header = tar::Header::new_gnu();
    header.set_path("zeros").expect("name");
    header.set_entry_type(kind);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(size);
    header.set_cksum();
    let mut bomb = gzip(header.as_bytes());
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![0u8; CHUNK as usize]).expect("gzip");
    let member = encoder.finish().expect("gzip");
    for _ in 0..size / CHUNK {
        bomb.extend_from_slice(&member);
    }
    bomb.extend_from_slice(&gzip(&[0u8; 1024])); // the end-of-archive blocks
    bomb
}

/// Runs `minipod image import` with its address space capped at 256 MiB
/// (prlimit(1), `RLIMIT_AS`: an import that read the document into memory
/// would die of it) and samples its peak resident set while it runs.
/// Returns its output, how long it took and the peak RSS seen, in KiB.
pub(super) fn import_measured(root: &Path, input: &Path) -> (Output, Duration, u64) {
    let started = Instant::now();
    let child = Command::new("prlimit")
        .args([
            "--as=268435456",
            CLI,
            "image",
            "--root",
            &path(root),
            "import",
            &path(input),
            "huge:1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("minipod image import");
    let pid = child.id();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let watcher = {
        let peak = peak.clone();
        std::thread::spawn(move || {
            // Until the process is gone (a zombie has no VmHWM line).
            while let Some(kib) = peak_rss_kib(pid) {
                peak.fetch_max(kib, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let out = child.wait_with_output().expect("wait");
    let took = started.elapsed();
    watcher.join().expect("watcher");
    (out, took, peak.load(Ordering::Relaxed))
}
