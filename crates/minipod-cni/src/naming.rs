//! The host end of a pod's veth, named from the pod's uid so that anyone
//! (the pod's monitor, or the daemon after the monitor died) finds and
//! deletes it by name, and the daemon finds leftovers by prefix
//! (decision 0018). Calico names its host ends the same way (`cali` and
//! 11 hex digits of a hash); the bridge plugin's are random (`veth` and 8
//! hex digits), so only the plugin's own result can find them again.
//!
//! A link name is at most 15 bytes (`IFNAMSIZ` less the NUL,
//! <https://man7.org/linux/man-pages/man7/netdevice.7.html>): the prefix
//! and 11 hex digits of the uid's SHA-256, 44 bits, so two pods of one node
//! share a name with odds of about n²/2⁴⁵ (one in 3·10⁹ for a hundred pods).

use sha2::{Digest as _, Sha256};

/// The prefix of every pod's host link. Not `veth` (the bridge plugin's,
/// and what other runtimes on the host use) and not a prefix of the
/// runtime tests' own links (`mpt…`, `mpv…`).
pub const HOST_LINK_PREFIX: &str = "mpod";

/// How many hex digits of the hash follow the prefix: 15 bytes in all.
const HASH_DIGITS: usize = 15 - HOST_LINK_PREFIX.len();

/// The host end of the veth of the pod with `pod_uid`: `mpod` and 11
/// lowercase hex digits, the same for the same uid everywhere.
pub fn host_link_name(pod_uid: &str) -> String {
    let digest = Sha256::digest(pod_uid.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{HOST_LINK_PREFIX}{}", &hex[..HASH_DIGITS])
}

/// Whether `name` is one [`host_link_name`] makes: the prefix, then
/// exactly 11 lowercase hex digits.
pub fn is_host_link_name(name: &str) -> bool {
    name.strip_prefix(HOST_LINK_PREFIX).is_some_and(|hash| {
        hash.len() == HASH_DIGITS
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use minipod_linux::net::{MAX_LINK_NAME, link_name_problem};

    #[test]
    fn names_are_valid_links_deterministic_and_distinct() {
        let uid = "0b7c2c1e-4a4f-4bd3-9a4e-6a0f5c3f9d11";
        let name = host_link_name(uid);
        assert_eq!(name, host_link_name(uid), "the same uid, the same name");
        assert_eq!(name.len(), MAX_LINK_NAME);
        assert_eq!(link_name_problem(&name), None, "{name}");
        assert!(name.starts_with("mpod"), "{name}");
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
            "{name}"
        );
        assert!(is_host_link_name(&name));
        // The first 44 bits of SHA-256("abc") (FIPS 180-2's example).
        assert_eq!(host_link_name("abc"), "mpodba7816bf8f0");
        // Distinct for many uids, even empty, odd or very long ones.
        let mut seen = std::collections::HashSet::new();
        for n in 0..10_000 {
            let name = host_link_name(&format!("uid-{n}"));
            assert_eq!(link_name_problem(&name), None, "{name}");
            assert!(seen.insert(name), "a clash at {n}");
        }
        for odd in ["", "a/b c:d", &"x".repeat(100_000)] {
            let name = host_link_name(odd);
            assert_eq!(link_name_problem(&name), None, "{name}");
            assert!(is_host_link_name(&name));
        }
    }

    #[test]
    fn only_names_of_this_shape_are_ours() {
        for not_ours in [
            "mpod",
            "mpodba7816bf8f",   // one digit short
            "mpodba7816bf8f01", // one too many
            "mpodBA7816BF8F0",  // upper case
            "mpodba7816bf8fg",  // not hex
            "vethba7816bf8f0",
            "mpv12345", // the runtime tests' host ends
            "mpt12345", // and bridges
            "minipod0", // the bridge
            "eth0",
        ] {
            assert!(!is_host_link_name(not_ours), "{not_ours}");
        }
    }
}
