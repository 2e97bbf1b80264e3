//! The native IPAM with many reservers at once on one directory, as a
//! node has them (each pod's monitor is a process of its own): threads of
//! this process and processes (this test binary run again, as its own
//! `child_reserves_its_share` test), all at the same time. Every address
//! handed out must be distinct and every reservation on disk accounted for.
//! Also the time one `reserve` + `release` takes.

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use minipod_cni::{Ipam, Lease};

/// Set by the parent test: where a child reserves, and its owners' prefix.
const CHILD_DIR: &str = "MINIPOD_IPAM_TEST_CHILD_DIR";
const CHILD_PREFIX: &str = "MINIPOD_IPAM_TEST_CHILD_PREFIX";
const RANGE: &str = "10.77.0.0/24";
const PER_RESERVER: usize = 16;
const THREADS: usize = 8;
const PROCESSES: usize = 4;
/// The most a child may take; it is killed after that.
const CHILD_TIMEOUT: Duration = Duration::from_secs(120);

/// Held by the tests that load the disk or time it, so that the times are
/// not those of the other test's twelve reservers.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn ipam(dir: &Path) -> Ipam {
    Ipam::new(dir.to_owned(), RANGE.parse().expect("range")).expect("ipam")
}

/// Reserves `PER_RESERVER` addresses for `prefix-0`, `prefix-1`, …,
/// checking each lease as it comes.
fn reserve_share(ipam: &Ipam, prefix: &str) -> Vec<Lease> {
    (0..PER_RESERVER)
        .map(|i| {
            let owner = format!("{prefix}-{i}");
            let lease = ipam.reserve(&owner).expect("reserve");
            assert_eq!(lease.owner, owner);
            assert!(ipam.range().contains(lease.address), "{lease:?}");
            assert_ne!(lease.address, ipam.gateway());
            lease
        })
        .collect()
}

/// A child's share, printed one `LEASE <owner> <address>` line each for
/// the parent. Run on its own (no parent), it reserves its share in a
/// directory of its own and checks the same.
#[test]
fn child_reserves_its_share() {
    let own = tempfile::tempdir().expect("tempdir");
    let (dir, prefix) = match std::env::var_os(CHILD_DIR) {
        Some(dir) => (
            PathBuf::from(dir),
            std::env::var(CHILD_PREFIX).expect("prefix"),
        ),
        None => (own.path().join("ipam"), "alone".to_owned()),
    };
    let leases = reserve_share(&ipam(&dir), &prefix);
    let distinct: HashSet<Ipv4Addr> = leases.iter().map(|l| l.address).collect();
    assert_eq!(distinct.len(), PER_RESERVER);
    for lease in leases {
        println!("LEASE {} {}", lease.owner, lease.address);
    }
}

fn spawn_child(dir: &Path, prefix: &str) -> Child {
    Command::new(std::env::current_exe().expect("current exe"))
        .args([
            "--exact",
            "child_reserves_its_share",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir)
        .env(CHILD_PREFIX, prefix)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the child")
}

/// The child's `LEASE` lines, once it has succeeded within the timeout.
fn child_leases(mut child: Child) -> Vec<(String, Ipv4Addr)> {
    let deadline = Instant::now() + CHILD_TIMEOUT;
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            child.kill().expect("kill the child");
            child.wait().expect("reap the child");
            panic!("a child did not finish within {CHILD_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().expect("child output");
    assert!(output.status.success(), "child: {:?}", output.status);
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        // libtest's own `test … ` may start the first line.
        .filter_map(|line| line.split_once("LEASE ").map(|(_, rest)| rest))
        .map(|rest| {
            let (owner, address) = rest.split_once(' ').expect("owner address");
            (owner.to_owned(), address.parse().expect("address"))
        })
        .collect()
}

#[test]
fn threads_and_processes_reserving_at_once_get_distinct_addresses() {
    let _alone = one_at_a_time();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("network/minipod");
    let started = Instant::now();
    let children: Vec<Child> = (0..PROCESSES)
        .map(|p| spawn_child(&dir, &format!("proc{p}")))
        .collect();
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let dir = dir.clone();
            std::thread::spawn(move || reserve_share(&ipam(&dir), &format!("thread{t}")))
        })
        .collect();
    let mut handed_out: Vec<(String, Ipv4Addr)> = Vec::new();
    for thread in threads {
        let leases = thread.join().expect("a reserving thread panicked");
        handed_out.extend(leases.into_iter().map(|l| (l.owner, l.address)));
    }
    for child in children {
        let leases = child_leases(child);
        assert_eq!(leases.len(), PER_RESERVER, "every child reports its share");
        handed_out.extend(leases);
    }
    let elapsed = started.elapsed();
    let total = (THREADS + PROCESSES) * PER_RESERVER;
    assert_eq!(handed_out.len(), total);
    let addresses: HashSet<Ipv4Addr> = handed_out.iter().map(|(_, a)| *a).collect();
    assert_eq!(addresses.len(), total, "an address was handed out twice");
    // What is on disk is exactly what was handed out.
    let on_disk: BTreeMap<String, Ipv4Addr> = ipam(&dir)
        .leases()
        .expect("leases")
        .into_iter()
        .map(|l| (l.owner, l.address))
        .collect();
    let expected: BTreeMap<String, Ipv4Addr> = handed_out.into_iter().collect();
    assert_eq!(on_disk, expected);
    eprintln!(
        "{total} reservations by {THREADS} threads and {PROCESSES} processes at once: {elapsed:?}"
    );

    // And all given back at once, by threads: nothing is left.
    let owners: Vec<String> = expected.keys().cloned().collect();
    let releasers: Vec<_> = owners
        .chunks(PER_RESERVER)
        .map(|chunk| {
            let (dir, chunk) = (dir.clone(), chunk.to_vec());
            std::thread::spawn(move || {
                let ipam = ipam(&dir);
                for owner in chunk {
                    assert!(ipam.release(&owner).expect("release").is_some(), "{owner}");
                }
            })
        })
        .collect();
    for releaser in releasers {
        releaser.join().expect("a releasing thread panicked");
    }
    assert!(ipam(&dir).leases().expect("leases").is_empty());
}

/// The times of 100 `reserve` + `release` cycles, sorted, with `held`
/// other leases in the directory (each pod already on the node).
fn cycle_times(held: usize) -> Vec<Duration> {
    let tmp = tempfile::tempdir_in(bench_dir()).expect("tempdir");
    let ipam = Ipam::new(
        tmp.path().join("ipam"),
        "10.88.0.0/16".parse().expect("range"),
    )
    .expect("ipam");
    for n in 0..held {
        ipam.reserve(&format!("resident-{n}")).expect("resident");
    }
    let mut times: Vec<Duration> = (0..100)
        .map(|n| {
            let owner = format!("pod-{n}");
            let start = Instant::now();
            let lease = ipam.reserve(&owner).expect("reserve");
            let released = ipam.release(&owner).expect("release");
            let took = start.elapsed();
            assert_eq!(released, Some(lease.address));
            took
        })
        .collect();
    assert_eq!(ipam.leases().expect("leases").len(), held);
    times.sort();
    times
}

/// Where the times are taken: `MINIPOD_IPAM_BENCH_DIR`, else the
/// workspace's `target/tmp`. Not `/tmp`: on ext4 a new directory right
/// under a top-level one is spread to a block group of its own (the Orlov
/// allocator), where creating files costs several times more than in a
/// deep directory such as the state directory
/// (`/var/lib/minipod/network/minipod`).
fn bench_dir() -> PathBuf {
    std::env::var_os("MINIPOD_IPAM_BENCH_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")), PathBuf::from)
}

#[test]
fn reserve_and_release_take_well_under_a_millisecond() {
    let _alone = one_at_a_time();
    eprintln!("in {}:", bench_dir().display());
    for held in [0, 50, 250] {
        let times = cycle_times(held);
        eprintln!(
            "reserve + release, {held} other leases held, 100 runs: median {:?}, p90 {:?}, min {:?}, max {:?}",
            times[50], times[90], times[0], times[99]
        );
    }
}
