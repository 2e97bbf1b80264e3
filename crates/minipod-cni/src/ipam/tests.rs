//! The IPAM on real files in a temporary directory: the order, the
//! idempotence, what is refused, and files planted in the directory.

use std::fs;
use std::os::unix::fs::symlink;

use super::*;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("ip")
}

fn ipam(dir: &Path, cidr: &str) -> Ipam {
    Ipam::new(dir.join("network/minipod"), cidr.parse().expect("cidr")).expect("ipam")
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    names.sort();
    names
}

#[test]
fn addresses_come_in_order_after_the_gateway_with_the_files_host_local_keeps() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ipam = ipam(tmp.path(), "10.88.0.0/16");
    assert_eq!(ipam.gateway(), ip("10.88.0.1"));
    let a = ipam.reserve("pod-a").expect("a");
    assert_eq!(
        a,
        Lease {
            owner: "pod-a".to_owned(),
            address: ip("10.88.0.2"),
            prefix_len: 16,
            gateway: ip("10.88.0.1"),
        }
    );
    assert_eq!(ipam.reserve("pod-b").expect("b").address, ip("10.88.0.3"));
    assert_eq!(
        names(ipam.dir()),
        [
            "10.88.0.2",
            "10.88.0.3",
            "last_reserved_ip.0",
            "lock",
            "owner.pod-a",
            "owner.pod-b"
        ]
    );
    assert_eq!(
        fs::read_to_string(ipam.dir().join("10.88.0.2")).expect("read"),
        "pod-a\n10.88.0.2\n"
    );
    // The owner's name is the same file: one file per reservation.
    use std::os::unix::fs::MetadataExt;
    let inode = |name: &str| fs::metadata(ipam.dir().join(name)).expect("meta").ino();
    assert_eq!(inode("owner.pod-b"), inode("10.88.0.3"));
    assert_eq!(
        fs::read_to_string(ipam.dir().join("last_reserved_ip.0")).expect("read"),
        "10.88.0.3      \n"
    );
    // Only root enters the directory.
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(ipam.dir()).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert_eq!(
        ipam.leases().expect("leases"),
        [a.clone(), ipam.reserve("pod-b").expect("b again")]
    );
}

#[test]
fn reserve_and_release_are_idempotent() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ipam = ipam(tmp.path(), "10.88.0.0/16");
    let first = ipam.reserve("pod-a").expect("reserve");
    assert_eq!(ipam.reserve("pod-a").expect("again"), first);
    assert_eq!(ipam.leases().expect("leases").len(), 1);
    assert_eq!(ipam.release("pod-a").expect("release"), Some(first.address));
    assert_eq!(ipam.release("pod-a").expect("twice"), None);
    assert!(ipam.leases().expect("leases").is_empty());
    assert!(!ipam.dir().join("10.88.0.2").exists());
    // Nothing reserved yet, not even a directory: nothing to give back.
    let fresh = super::tests::ipam(&tmp.path().join("elsewhere"), "10.88.0.0/16");
    assert_eq!(fresh.release("pod-a").expect("release"), None);
    assert!(fresh.leases().expect("leases").is_empty());
    assert!(!fresh.dir().exists(), "release and leases create nothing");
}

#[test]
fn a_released_address_comes_back_only_after_the_range_wraps() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ipam = ipam(tmp.path(), "10.0.0.0/29"); // .2 to .6
    let got: Vec<Ipv4Addr> = ["a", "b", "c"]
        .iter()
        .map(|o| ipam.reserve(o).expect("reserve").address)
        .collect();
    assert_eq!(got, [ip("10.0.0.2"), ip("10.0.0.3"), ip("10.0.0.4")]);
    ipam.release("a").expect("release");
    // Round robin: .5 and .6 first, then the front again (.2, free).
    assert_eq!(ipam.reserve("d").expect("d").address, ip("10.0.0.5"));
    assert_eq!(ipam.reserve("e").expect("e").address, ip("10.0.0.6"));
    assert_eq!(ipam.reserve("f").expect("f").address, ip("10.0.0.2"));
    // Now full: the error names the range.
    let e = ipam.reserve("g").expect_err("full");
    assert!(matches!(e, IpamError::RangeFull { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "no free address left in the pod range 10.0.0.0/29"
    );
    // The network (.0), the gateway (.1) and the broadcast (.7) were never handed out.
    let held: Vec<Ipv4Addr> = ipam
        .leases()
        .expect("leases")
        .iter()
        .map(|l| l.address)
        .collect();
    assert_eq!(held, [2, 3, 4, 5, 6].map(|n| Ipv4Addr::new(10, 0, 0, n)));
    // A full range stays full for a new owner, not for one that holds an address.
    assert_eq!(ipam.reserve("c").expect("held").address, ip("10.0.0.4"));
}

#[test]
fn a_slash_30_holds_one_pod_and_a_slash_31_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ipam = ipam(tmp.path(), "192.0.2.4/30");
    assert_eq!(ipam.gateway(), ip("192.0.2.5"));
    let only = ipam.reserve("a").expect("a");
    assert_eq!((only.address, only.prefix_len), (ip("192.0.2.6"), 30));
    assert!(matches!(
        ipam.reserve("b"),
        Err(IpamError::RangeFull { .. })
    ));
    ipam.release("a").expect("release");
    assert_eq!(ipam.reserve("b").expect("b").address, ip("192.0.2.6"));
    let e =
        Ipam::new(tmp.path().into(), "192.0.2.4/31".parse().expect("cidr")).expect_err("too small");
    assert!(
        e.to_string()
            .starts_with("the pod range 192.0.2.4/31 is too small"),
        "{e}"
    );
}

#[test]
fn a_slash_16_crosses_octets_and_wraps_at_its_end() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ipam = ipam(tmp.path(), "10.88.0.0/16");
    fs::create_dir_all(ipam.dir()).expect("mkdir");
    // As if the range had been used up to just before its end.
    fs::write(ipam.dir().join("last_reserved_ip.0"), "10.88.0.255").expect("write");
    assert_eq!(ipam.reserve("a").expect("a").address, ip("10.88.1.0"));
    fs::write(ipam.dir().join("last_reserved_ip.0"), "10.88.255.253").expect("write");
    assert_eq!(ipam.reserve("b").expect("b").address, ip("10.88.255.254"));
    // Past the last usable address (.255.255 is the broadcast): the front.
    assert_eq!(ipam.reserve("c").expect("c").address, ip("10.88.0.2"));
    // A last address that is not one, or outside the range: the front too.
    for stale in ["garbage", "10.99.0.7", ""] {
        fs::write(ipam.dir().join("last_reserved_ip.0"), stale).expect("write");
        let lease = ipam.reserve(&format!("x{}", stale.len())).expect("reserve");
        assert_eq!(lease.address, ip("10.88.0.3"), "after {stale:?}");
        ipam.release(&lease.owner).expect("release");
    }
}

#[test]
fn bad_owner_ids_are_refused_before_anything_is_touched() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ipam = ipam(tmp.path(), "10.88.0.0/16");
    for bad in ["../etc", "a/b", "..", ".", "", "a\nb", "/abs"] {
        let e = ipam.reserve(bad).expect_err(bad);
        assert!(matches!(e, IpamError::BadOwner { .. }), "{bad:?}: {e:?}");
        assert!(e.to_string().starts_with("the owner id "), "{e}");
        assert!(matches!(ipam.release(bad), Err(IpamError::BadOwner { .. })));
    }
    let e = ipam.reserve("a/../../b").expect_err("slash");
    assert_eq!(
        e.to_string(),
        "the owner id \"a/../../b\" may hold only letters, digits, '-', '_' and '.'"
    );
    let long = "a".repeat(10_000);
    let e = ipam.reserve(&long).expect_err("long").to_string();
    assert!(
        e.len() < 300,
        "the message stays bounded: {} bytes",
        e.len()
    );
    assert!(!ipam.dir().exists(), "nothing was made");
    // An owner is never a file name of its own: one called like a file
    // of the directory is just a name (its index is `owner.lock`).
    assert_eq!(ipam.reserve("lock").expect("lock").address, ip("10.88.0.2"));
    assert_eq!(
        names(ipam.dir()),
        ["10.88.0.2", "last_reserved_ip.0", "lock", "owner.lock"]
    );
}

#[test]
fn foreign_files_are_ignored_and_keep_their_address_taken() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ipam = ipam(tmp.path(), "10.88.0.0/16");
    fs::create_dir_all(ipam.dir()).expect("mkdir");
    let dir = ipam.dir();
    fs::write(dir.join("README"), "not a reservation").expect("write");
    fs::write(dir.join("10.88.0.02"), "pod-a\n10.88.0.2").expect("not canonical");
    fs::write(dir.join("10.88.0.2"), "../../etc/passwd\n10.88.0.2").expect("bad owner");
    fs::write(dir.join("10.88.0.6"), "pod-a\n10.88.0.9").expect("another address");
    fs::write(dir.join("10.88.0.3"), "x".repeat(4096)).expect("too large");
    fs::create_dir(dir.join("10.88.0.4")).expect("a directory");
    fs::write(dir.join("10.99.0.9"), "pod-old\n10.99.0.9\n").expect("outside the range");
    let lease = ipam.reserve("pod-a").expect("reserve");
    assert_eq!(
        lease.address,
        ip("10.88.0.5"),
        "the taken names are skipped"
    );
    // Only minipod's reservations in the range are leases.
    assert_eq!(ipam.leases().expect("leases"), [lease]);
    // Releasing touches no foreign file; the old range's lease goes with
    // its owner.
    assert_eq!(ipam.release("pod-old").expect("old"), Some(ip("10.99.0.9")));
    ipam.release("pod-a").expect("release");
    assert_eq!(
        names(dir),
        [
            "10.88.0.02",
            "10.88.0.2",
            "10.88.0.3",
            "10.88.0.4",
            "10.88.0.6",
            "README",
            "last_reserved_ip.0",
            "lock"
        ]
    );
    assert_eq!(
        fs::read_to_string(dir.join("10.88.0.2")).expect("read"),
        "../../etc/passwd\n10.88.0.2"
    );
}

#[test]
fn symlinks_planted_in_the_directory_are_never_followed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ipam = ipam(tmp.path(), "10.0.0.0/29");
    fs::create_dir_all(ipam.dir()).expect("mkdir");
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).expect("outside");
    let victim = outside.join("victim");
    fs::write(&victim, "pod-a\n10.0.0.2\n").expect("victim");
    let dir = ipam.dir();
    // A reservation name pointing at a file that holds a valid owner: not
    // read (the owner would otherwise "hold" .2), not written through.
    symlink(&victim, dir.join("10.0.0.2")).expect("symlink");
    // A dangling one: creating through it would make outside/made.
    symlink(outside.join("made"), dir.join("10.0.0.3")).expect("symlink");
    // The last reserved address pointing elsewhere: not read, and replaced
    // (the link itself), not written through.
    fs::write(outside.join("last"), "10.0.0.4").expect("last");
    symlink(outside.join("last"), dir.join("last_reserved_ip.0")).expect("symlink");
    // The owner's own name pointing outside: removed, not written through.
    symlink(outside.join("staged"), dir.join("owner.pod-a")).expect("symlink");

    let lease = ipam.reserve("pod-a").expect("reserve");
    assert_eq!(
        lease.address,
        ip("10.0.0.4"),
        ".2 and .3 taken, the last not read"
    );
    assert_eq!(ipam.leases().expect("leases"), std::slice::from_ref(&lease));
    assert_eq!(ipam.release("pod-a").expect("release"), Some(lease.address));
    assert!(dir.join("10.0.0.2").is_symlink(), "a foreign link stays");
    assert_eq!(
        fs::read_to_string(&victim).expect("victim"),
        "pod-a\n10.0.0.2\n"
    );
    assert_eq!(
        fs::read_to_string(outside.join("last")).expect("last"),
        "10.0.0.4"
    );
    assert_eq!(names(&outside), ["last", "victim"], "nothing made outside");
    assert!(
        !dir.join("last_reserved_ip.0").is_symlink(),
        "the link was replaced"
    );

    // An owner's index that is a symlink to a file naming an address the
    // owner holds: not read (the address is not given back through it),
    // and replaced, not written through.
    let holder = ipam.reserve("pod-b").expect("pod-b");
    fs::remove_file(dir.join("owner.pod-b")).expect("remove the index");
    fs::write(outside.join("index"), "pod-b\n10.0.0.5\n").expect("index");
    symlink(outside.join("index"), dir.join("owner.pod-b")).expect("symlink");
    assert_eq!(
        ipam.reserve("pod-c").expect("pod-c").address,
        ip("10.0.0.6")
    );
    symlink(outside.join("index"), dir.join("owner.pod-c")).expect_err("taken");
    assert_eq!(
        ipam.release("pod-b").expect("release"),
        Some(holder.address)
    );
    assert!(
        !dir.join("owner.pod-b").exists(),
        "the link went, not its target"
    );
    assert_eq!(
        fs::read_to_string(outside.join("index")).expect("index"),
        "pod-b\n10.0.0.5\n"
    );
    assert_eq!(names(&outside), ["index", "last", "victim"]);

    // A lock file that is a symlink is refused, not opened.
    let other = super::tests::ipam(&tmp.path().join("second"), "10.0.0.0/29");
    fs::create_dir_all(other.dir()).expect("mkdir");
    symlink(outside.join("lock"), other.dir().join("lock")).expect("symlink");
    let e = other.reserve("pod-a").expect_err("symlinked lock");
    assert!(e.to_string().contains("open the lock file"), "{e}");
    assert!(!outside.join("lock").exists());
}

#[test]
fn an_owner_name_that_is_not_the_reservation_is_ignored() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ipam = ipam(tmp.path(), "10.88.0.0/16");
    let b = ipam.reserve("pod-b").expect("b");
    let dir = ipam.dir();
    // pod-a's name for a reservation claims pod-b's address, in a file of
    // its own (a hand edit): the address's file is another one.
    fs::write(dir.join("owner.pod-a"), "pod-a\n10.88.0.2\n").expect("lying index");
    let a = ipam.reserve("pod-a").expect("a");
    assert_eq!(a.address, ip("10.88.0.3"), "pod-b's address is not pod-a's");
    assert_eq!(ipam.release("pod-a").expect("release"), Some(a.address));
    fs::write(dir.join("owner.pod-a"), "pod-a\n10.88.0.2\n").expect("lying index");
    assert_eq!(ipam.release("pod-a").expect("release"), None);
    assert!(!dir.join("owner.pod-a").exists(), "removed on release");
    assert_eq!(ipam.leases().expect("leases"), std::slice::from_ref(&b));
    // A staged file never linked to its address (a crash in between).
    fs::write(dir.join("owner.pod-c"), "pod-c\n10.88.0.77\n").expect("stale");
    assert_eq!(ipam.reserve("pod-c").expect("c").address, ip("10.88.0.4"));
    assert!(!dir.join("10.88.0.77").exists());
    // A reservation whose owner name was lost is still found and given back.
    fs::remove_file(dir.join("owner.pod-b")).expect("remove");
    assert_eq!(ipam.release("pod-b").expect("release"), Some(b.address));
    assert!(!dir.join("10.88.0.2").exists());
    // Garbage and oversized ones read as none, and are replaced.
    fs::write(dir.join("owner.pod-d"), "x".repeat(10_000)).expect("big");
    assert_eq!(ipam.reserve("pod-d").expect("d").address, ip("10.88.0.5"));
    assert_eq!(
        fs::read_to_string(dir.join("owner.pod-d")).expect("rewritten"),
        "pod-d\n10.88.0.5\n"
    );
}

#[test]
fn an_owner_reserved_in_an_old_range_gets_one_of_the_new_range() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let old = ipam(tmp.path(), "10.88.0.0/16");
    let kept = old.reserve("pod-a").expect("a");
    old.reserve("pod-gone").expect("gone");
    let new = ipam(tmp.path(), "10.87.0.0/16");
    let moved = new.reserve("pod-a").expect("a again");
    assert_eq!(moved.address, ip("10.87.0.2"));
    assert_eq!(moved.gateway, ip("10.87.0.1"));
    assert!(
        !new.dir().join(kept.address.to_string()).exists(),
        "the old one went"
    );
    // Leases of the old range are not the new range's; release still
    // removes them.
    assert_eq!(new.leases().expect("leases"), [moved]);
    assert_eq!(
        new.release("pod-gone").expect("release"),
        Some(ip("10.88.0.3"))
    );
}

#[test]
fn a_failed_reservation_leaves_nothing_of_itself() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ipam = ipam(tmp.path(), "10.88.0.0/16");
    ipam.reserve("pod-a").expect("a");
    // The last address's file cannot be written: a directory in its way.
    fs::remove_file(ipam.dir().join("last_reserved_ip.0")).expect("remove");
    fs::create_dir(ipam.dir().join("last_reserved_ip.0")).expect("mkdir");
    let e = ipam
        .reserve("pod-b")
        .expect_err("cannot write the last address");
    assert!(matches!(e, IpamError::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("last_reserved_ip.0"), "{e}");
    assert_eq!(
        names(ipam.dir()),
        ["10.88.0.2", "last_reserved_ip.0", "lock", "owner.pod-a"],
        "no reservation, index or temporary file of pod-b"
    );
    assert_eq!(ipam.release("pod-b").expect("release"), None);
}
