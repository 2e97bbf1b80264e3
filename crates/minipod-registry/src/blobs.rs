//! Downloads of blobs, one at a time per blob on the whole node.
//!
//! `<store>/downloads/` holds, per blob being pulled, `<hex>.lock` (held
//! with `flock(2)` for as long as one process downloads it), `<hex>.partial`
//! (the bytes as they arrive) and, once verified, `<hex>`. A second pull of
//! the same blob, in this process or another (two pods' monitors), waits for
//! the lock and finds the finished file. A failed or interrupted download
//! leaves at most a `.partial`, which the next download of that blob
//! removes first. The store's own blobs are reused without a download at all.
//!
//! Finished files are removed once the image that needed them is imported
//! (the store then has the blob); a file another pull still links to stays
//! alive through its hard link.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use minipod_linux::file_lock::{FileLock, LockMode};

use crate::error::{PullError, io};

/// The downloads directory of a store.
#[derive(Debug, Clone)]
pub struct Downloads {
    dir: PathBuf,
}

/// A blob's download slot, held exclusively until dropped.
#[derive(Debug)]
pub struct Slot {
    _lock: FileLock,
    pub partial: PathBuf,
    pub finished: PathBuf,
}

impl Downloads {
    pub fn new(store_root: &Path) -> Downloads {
        Downloads {
            dir: store_root.join("downloads"),
        }
    }

    /// Waits until no other pull downloads `hex`, and takes its slot.
    /// Blocking: from async code, call it through `spawn_blocking`.
    pub fn slot(&self, hex: &str) -> Result<Slot, PullError> {
        let lock = self.lock(hex)?;
        let partial = self.dir.join(format!("{hex}.partial"));
        // Whoever wrote a `.partial` no longer holds the lock: a pull that
        // was interrupted (killed) mid-download. Its bytes go.
        match fs::remove_file(&partial) {
            Ok(()) => tracing::info!("removed an interrupted download: {}", partial.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&partial)(e)),
        }
        Ok(Slot {
            _lock: lock,
            partial,
            finished: self.dir.join(hex),
        })
    }

    /// Takes `<hex>.lock`. A lock file is removed by [`Downloads::forget`]
    /// while held, so a pull that was waiting on it wakes up holding a lock
    /// on a file no longer in the directory, while a newcomer may lock a
    /// new file of that name: the lock held must be the file that is
    /// there now (same inode), or it is taken again.
    fn lock(&self, hex: &str) -> Result<FileLock, PullError> {
        use std::os::unix::fs::MetadataExt;
        fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let lock_path = self.dir.join(format!("{hex}.lock"));
        loop {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(io(&lock_path))?;
            let lock = FileLock::lock(file, LockMode::Exclusive).map_err(io(&lock_path))?;
            let held = lock.metadata().map_err(io(&lock_path))?.ino();
            match fs::metadata(&lock_path) {
                Ok(now) if now.ino() == held => return Ok(lock),
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(&lock_path)(e)),
            }
        }
    }

    /// Forgets a finished download (the store has the blob now). It takes
    /// the blob's lock first: another pull holding it may be linking the
    /// finished file at this moment, and must not find it gone between
    /// seeing it and linking it. The lock file goes while held (see
    /// [`Downloads::lock`]).
    pub fn forget(&self, hex: &str) {
        let Ok(_lock) = self.lock(hex) else { return };
        for name in [hex.to_owned(), format!("{hex}.lock")] {
            let _ = fs::remove_file(self.dir.join(name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};
    use std::time::{Duration, Instant};

    #[test]
    fn one_download_per_blob_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let downloads = Downloads::new(dir.path());
        let held = downloads.slot("ab").unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let (d, b) = (downloads.clone(), Arc::clone(&barrier));
        let waiter = std::thread::spawn(move || {
            b.wait();
            let began = Instant::now();
            let slot = d.slot("ab").unwrap();
            (began.elapsed(), slot.finished.is_file())
        });
        barrier.wait();
        // Another blob is not held up.
        drop(downloads.slot("cd").unwrap());
        std::thread::sleep(Duration::from_millis(200));
        fs::write(&held.finished, b"done").unwrap();
        drop(held);
        let (waited, found) = waiter.join().unwrap();
        assert!(waited >= Duration::from_millis(150), "{waited:?}");
        assert!(found, "the second pull finds the first one's file");
        downloads.forget("ab");
        assert!(!dir.path().join("downloads/ab").exists());
    }

    #[test]
    fn a_pull_woken_on_a_removed_lock_file_waits_for_the_current_one() {
        let dir = tempfile::tempdir().unwrap();
        let downloads = Downloads::new(dir.path());
        let first = downloads.slot("ab").unwrap();
        let (d, woke) = (
            downloads.clone(),
            Arc::new(std::sync::atomic::AtomicBool::new(false)),
        );
        let flag = Arc::clone(&woke);
        let waiter = std::thread::spawn(move || {
            let slot = d.slot("ab").unwrap();
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            drop(slot);
        });
        // Let the waiter open the lock file and block on it, then remove
        // the file as `forget` does: a newcomer locks a new file at once.
        std::thread::sleep(Duration::from_millis(200));
        fs::remove_file(dir.path().join("downloads/ab.lock")).unwrap();
        let newcomer = downloads.slot("ab").unwrap();
        drop(first);
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            !woke.load(std::sync::atomic::Ordering::SeqCst),
            "the waiter took a lock the newcomer also holds"
        );
        drop(newcomer);
        waiter.join().unwrap();
        assert!(woke.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[test]
    fn an_interrupted_download_is_removed_by_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let downloads = Downloads::new(dir.path());
        let slot = downloads.slot("ef").unwrap();
        fs::write(&slot.partial, b"half").unwrap();
        drop(slot); // the pull died: its lock went with it
        let slot = downloads.slot("ef").unwrap();
        assert!(!slot.partial.exists());
    }
}
