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

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::error::{PullError, io};

/// The downloads directory of a store.
#[derive(Debug, Clone)]
pub struct Downloads {
    dir: PathBuf,
}

/// A blob's download slot, held exclusively until dropped.
#[derive(Debug)]
pub struct Slot {
    _lock: Flock<File>,
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
        fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let lock_path = self.dir.join(format!("{hex}.lock"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| io(&lock_path)(errno.into()))?;
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

    /// Forgets a finished download (the store has the blob now).
    pub fn forget(&self, hex: &str) {
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
