//! Removing one cgroup: kill what is left in it, wait until it is empty,
//! `rmdir` it — in every hierarchy, and only this cgroup.
//!
//! Only the cgroup's own members are killed (its `cgroup.procs`), never a
//! child cgroup's, and nothing is removed recursively: a cgroup with child
//! cgroups is an error ([`CgroupError::HasChildren`]), so removing a pod
//! whose containers are still there cannot take them down by accident.
//!
//! Killing must win against a process that keeps forking:
//! * v2: `cgroup.kill` (Linux ≥ 5.14) SIGKILLs every process of the cgroup
//!   in one step, including ones forked meanwhile (`cgroup-v2.rst`, "Core
//!   Interface Files").
//! * v1 (and v2 without `cgroup.kill`): the pids listed in `cgroup.procs`
//!   are SIGKILLed, then the list is read again until it is empty. On v1 the
//!   cgroup is frozen first when the freezer hierarchy is mounted
//!   (`cgroup-v1/freezer-subsystem.rst`): frozen tasks cannot fork, so the
//!   list is complete, and they die as soon as they are thawed. runc does
//!   the same.
//!
//! A killed process leaves `cgroup.procs` when it exits, before its parent
//! reaps it, so waiting here never depends on the caller having called
//! `wait()` yet.

use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::CgroupError;
use super::hierarchy::{self, CgroupVersion, Hierarchy};

/// How long [`remove`] waits for killed processes to leave (a process in
/// uninterruptible sleep, e.g. on a slow disk, may take a while to die).
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Kills the members of the cgroup `rel`, waits until it is empty in every
/// hierarchy, and removes its directories. Idempotent: missing directories
/// are skipped.
pub fn remove(
    version: CgroupVersion,
    hierarchies: &[Hierarchy],
    rel: &Path,
) -> Result<(), CgroupError> {
    let dirs: Vec<PathBuf> = hierarchies
        .iter()
        .map(|h| h.mount.join(rel))
        .filter(|d| d.exists())
        .collect();
    if let Some(dir) = dirs.iter().find(|d| hierarchy::has_children(d)) {
        return Err(CgroupError::HasChildren { path: dir.clone() });
    }
    kill_members(version, hierarchies, rel, &dirs)?;
    for dir in &dirs {
        // An exiting process may still be leaving: retry EBUSY briefly.
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match hierarchy::remove_dir(dir) {
                Ok(_) => break,
                Err(e)
                    if e.raw_os_error() == Some(libc::EBUSY) && start.elapsed() < EXIT_TIMEOUT =>
                {
                    sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(source) => {
                    return Err(CgroupError::Remove {
                        path: dir.clone(),
                        source,
                    });
                }
            }
        }
    }
    Ok(())
}

fn kill_members(
    version: CgroupVersion,
    hierarchies: &[Hierarchy],
    rel: &Path,
    dirs: &[PathBuf],
) -> Result<(), CgroupError> {
    if members(dirs)?.is_empty() {
        return Ok(());
    }
    let used_kill_file = version == CgroupVersion::V2 && kill_v2(dirs)?;
    if !used_kill_file {
        let freezer = hierarchies
            .iter()
            .find(|h| h.has("freezer"))
            .map(|h| h.mount.join(rel))
            .filter(|d| d.exists());
        match freezer {
            Some(freezer) if version == CgroupVersion::V1 => {
                freeze(&freezer)?;
                let killed = kill_listed(dirs);
                // Thaw even if a kill failed: frozen processes would stay.
                let thawed = hierarchy::write(&freezer.join("freezer.state"), "THAWED");
                killed?;
                thawed?;
            }
            _ => kill_listed(dirs)?,
        }
    }
    wait_until_empty(dirs)
}

/// v2: writes `1` to `cgroup.kill` of each directory; `Ok(false)` if the
/// kernel is older than 5.14 and has no such file.
fn kill_v2(dirs: &[PathBuf]) -> Result<bool, CgroupError> {
    for dir in dirs {
        let file = dir.join("cgroup.kill");
        if !file.exists() {
            return Ok(false);
        }
        hierarchy::write(&file, "1")?;
    }
    Ok(true)
}

/// v1: asks the freezer to stop every task of the cgroup and waits, up to
/// a second, for `freezer.state` to read `FROZEN` (it reads `FREEZING`
/// while a task cannot be stopped yet, e.g. in uninterruptible sleep; the
/// kill-and-wait loop copes with that case).
fn freeze(freezer: &Path) -> Result<(), CgroupError> {
    let state = freezer.join("freezer.state");
    hierarchy::write(&state, "FROZEN")?;
    let start = Instant::now();
    let mut pause = Duration::from_micros(200);
    while hierarchy::read(&state)? != "FROZEN" && start.elapsed() < Duration::from_secs(1) {
        sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
    Ok(())
}

/// SIGKILLs every process listed in the cgroup's `cgroup.procs`.
fn kill_listed(dirs: &[PathBuf]) -> Result<(), CgroupError> {
    for dir in dirs {
        for pid in hierarchy::procs(dir)? {
            // Guards against a wrong listing (another pid namespace shows
            // 0 for processes it cannot see) or against ever taking down
            // init or minipod itself.
            if pid <= 1 || pid == nix::unistd::getpid().as_raw() {
                return Err(CgroupError::WontKill {
                    path: dir.clone(),
                    pid,
                });
            }
            match kill(Pid::from_raw(pid), Signal::SIGKILL) {
                // ESRCH: it exited between the read and the kill.
                Ok(()) | Err(Errno::ESRCH) => {}
                Err(errno) => {
                    return Err(CgroupError::Kill {
                        path: dir.clone(),
                        pid,
                        source: errno.into(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// The union of the processes of every directory, sorted.
fn members(dirs: &[PathBuf]) -> Result<Vec<i32>, CgroupError> {
    let mut all = Vec::new();
    for dir in dirs {
        all.extend(hierarchy::procs(dir)?);
    }
    all.sort_unstable();
    all.dedup();
    Ok(all)
}

/// Polls until no directory lists a process, killing any newcomer (a
/// process forked while we were killing), up to [`EXIT_TIMEOUT`].
fn wait_until_empty(dirs: &[PathBuf]) -> Result<(), CgroupError> {
    let start = Instant::now();
    let mut pause = Duration::from_micros(200);
    loop {
        let left = members(dirs)?;
        if left.is_empty() {
            return Ok(());
        }
        if start.elapsed() >= EXIT_TIMEOUT {
            return Err(CgroupError::StillPopulated {
                path: dirs.first().cloned().unwrap_or_default(),
                pids: left,
                waited: start.elapsed(),
            });
        }
        sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
        kill_listed(dirs)?;
    }
}
