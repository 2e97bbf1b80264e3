//! Which addresses of the pod range are handed out, in which order, and
//! what a reservation file may be named and hold: host-local's rules
//! (containernetworking/plugins, `plugins/ipam/host-local/backend/allocator`),
//! pure.
//!
//! * The range's first address is the network, never handed out; its
//!   second (`.1`) is the gateway (the bridge's address), skipped; the last
//!   is the broadcast, never handed out (host-local's default `rangeEnd` is
//!   the address before it). So a /30 has one address for a pod, and a /31
//!   or /32 none: host-local refuses them ("too small to allocate from").
//! * The search starts after the last reserved address and wraps around
//!   (host-local's `RangeIter`): a pod that crash-loops does not get the
//!   address it just gave back until the whole range has been used.

use std::net::Ipv4Addr;

use crate::cidr::Ipv4Net;

/// The longest prefix with an address to hand out (network, gateway,
/// one address, broadcast).
pub const MAX_PREFIX: u8 = 30;

/// The most bytes an owner id may have: a pod uid is 36, a sandbox id 64.
pub const MAX_OWNER_LEN: usize = 128;

/// The usable part of a range: from the gateway (`.1`) to the address
/// before the broadcast, the gateway itself excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usable {
    pub range: Ipv4Net,
    first: u32,
    last: u32,
}

impl Usable {
    /// `None` when `range` is narrower than a /30.
    pub fn new(range: Ipv4Net) -> Option<Usable> {
        if range.prefix > MAX_PREFIX {
            return None;
        }
        let network = u32::from(range.addr);
        let broadcast = network | (u32::MAX >> range.prefix);
        Some(Usable {
            range,
            first: network + 1,
            last: broadcast - 1,
        })
    }

    /// The range's first usable address: the bridge's, the pods' gateway.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.first)
    }

    /// Whether `addr` may be handed out to a pod.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        let a = u32::from(addr);
        a > self.first && a <= self.last
    }

    /// The addresses to try, in host-local's order: after `last_reserved`
    /// when it is in the range, wrapping around to it; from the start
    /// otherwise. Each usable address comes exactly once.
    pub fn candidates(&self, last_reserved: Option<Ipv4Addr>) -> impl Iterator<Item = Ipv4Addr> {
        let start = self.first + 1;
        let split = match last_reserved {
            Some(a) if self.contains(a) => u32::from(a),
            _ => self.last,
        };
        // `last` is below the broadcast, so `split + 1` cannot overflow;
        // when `split == last` the tail is empty.
        ((split + 1)..=self.last)
            .chain(start..=split)
            .map(Ipv4Addr::from)
    }
}

/// What is wrong with `owner` as the holder of an address, or `None`. An
/// owner is a plain name (it is written in a file and compared as text):
/// ASCII letters, digits, `-`, `_` and `.`, starting with a letter or a
/// digit (so never `.`, `..` or a path), at most [`MAX_OWNER_LEN`] bytes.
pub fn owner_problem(owner: &str) -> Option<&'static str> {
    if owner.is_empty() {
        Some("is empty")
    } else if owner.len() > MAX_OWNER_LEN {
        Some("is longer than 128 bytes")
    } else if !owner.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        Some("must start with a letter or a digit")
    } else if !owner
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Some("may hold only letters, digits, '-', '_' and '.'")
    } else {
        None
    }
}

/// The address a reservation file is named after: the address in dotted
/// form exactly as it prints (no leading zeros, nothing around it).
/// Anything else in the directory is not a reservation.
pub fn address_of_file_name(name: &str) -> Option<Ipv4Addr> {
    // `Ipv4Addr`'s parser takes exactly that: four decimal octets, no sign,
    // no leading zero, nothing around them
    // (<https://doc.rust-lang.org/std/net/struct.Ipv4Addr.html#textual-representation>).
    if !name.starts_with(|c: char| c.is_ascii_digit()) {
        return None; // most names of the directory, at no cost
    }
    name.parse().ok()
}

/// What a reservation file holds: its owner, then its address, a line
/// each, so `cat` shows both and the owner's index (the same file under
/// a second name) says which address it is.
pub fn contents_of(owner: &str, address: Ipv4Addr) -> String {
    format!("{owner}\n{address}\n")
}

/// The owner and the address a reservation file holds: a valid owner id
/// on the first line, an address on the second (white space around each
/// ignored, as host-local trims its files). `None` for anything else: such
/// a file keeps its address taken but belongs to no one minipod knows.
pub fn parse_contents(bytes: &[u8]) -> Option<(&str, Ipv4Addr)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut lines = text.trim().lines().map(str::trim);
    let owner = lines.next()?;
    let address = lines.next()?.parse().ok()?;
    (owner_problem(owner).is_none() && lines.next().is_none()).then_some((owner, address))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usable(cidr: &str) -> Usable {
        Usable::new(cidr.parse().expect("cidr")).expect("usable")
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().expect("ip")
    }

    fn all(u: &Usable, last: Option<&str>) -> Vec<String> {
        u.candidates(last.map(ip)).map(|a| a.to_string()).collect()
    }

    #[test]
    fn network_gateway_and_broadcast_are_never_candidates() {
        let u = usable("10.0.0.0/29");
        assert_eq!(u.gateway(), ip("10.0.0.1"));
        assert_eq!(
            all(&u, None),
            ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
        );
        for not_usable in [
            "10.0.0.0",
            "10.0.0.1",
            "10.0.0.7",
            "10.0.0.8",
            "9.255.255.255",
        ] {
            assert!(!u.contains(ip(not_usable)), "{not_usable}");
        }
    }

    #[test]
    fn the_search_starts_after_the_last_reserved_and_wraps() {
        let u = usable("10.0.0.0/29");
        assert_eq!(
            all(&u, Some("10.0.0.4")),
            ["10.0.0.5", "10.0.0.6", "10.0.0.2", "10.0.0.3", "10.0.0.4"]
        );
        // The last usable address reserved last: start again at the front.
        assert_eq!(all(&u, Some("10.0.0.6"))[0], "10.0.0.2");
        assert_eq!(all(&u, Some("10.0.0.6")).len(), 5);
        // A last address outside the range (the range changed), the gateway
        // or the broadcast: from the start, as host-local does.
        for stale in ["10.9.0.4", "10.0.0.1", "10.0.0.7"] {
            assert_eq!(all(&u, Some(stale)), all(&u, None), "{stale}");
        }
    }

    #[test]
    fn a_slash_30_has_one_address_and_narrower_ranges_none() {
        let u = usable("192.0.2.4/30");
        assert_eq!(u.gateway(), ip("192.0.2.5"));
        assert_eq!(all(&u, None), ["192.0.2.6"]);
        assert_eq!(all(&u, Some("192.0.2.6")), ["192.0.2.6"]);
        assert!(Usable::new("192.0.2.4/31".parse().expect("cidr")).is_none());
        assert!(Usable::new("192.0.2.4/32".parse().expect("cidr")).is_none());
    }

    #[test]
    fn a_slash_16_and_the_whole_space_count_right() {
        let u = usable("10.88.0.0/16");
        assert_eq!(u.candidates(None).count(), 65_536 - 3);
        assert_eq!(u.candidates(None).next(), Some(ip("10.88.0.2")));
        assert_eq!(u.candidates(None).last(), Some(ip("10.88.255.254")));
        let mid = u
            .candidates(Some(ip("10.88.1.255")))
            .take(2)
            .collect::<Vec<_>>();
        assert_eq!(mid, [ip("10.88.2.0"), ip("10.88.2.1")]);
        // No overflow at the edges of the address space.
        let whole = usable("0.0.0.0/0");
        assert_eq!(
            whole.candidates(Some(ip("255.255.255.254"))).next(),
            Some(ip("0.0.0.2"))
        );
        let top = usable("255.255.255.252/30");
        assert_eq!(all(&top, None), ["255.255.255.254"]);
    }

    #[test]
    fn owners_are_plain_names() {
        for good in [
            "0b7c2c1e-4a4f-4bd3-9a4e-6a0f5c3f9d11",
            "abc",
            "a.b_c-d",
            "7",
        ] {
            assert_eq!(owner_problem(good), None, "{good}");
        }
        assert_eq!(owner_problem(""), Some("is empty"));
        assert_eq!(
            owner_problem(&"a".repeat(129)),
            Some("is longer than 128 bytes")
        );
        assert_eq!(owner_problem(&"a".repeat(128)), None);
        for bad in ["..", ".", ".hidden", "-x", "/etc/passwd"] {
            assert_eq!(
                owner_problem(bad),
                Some("must start with a letter or a digit"),
                "{bad}"
            );
        }
        for bad in ["a/b", "a/../b", "a b", "a\nb", "a\r", "é"] {
            assert!(owner_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn only_canonical_addresses_name_reservations() {
        assert_eq!(address_of_file_name("10.88.0.2"), Some(ip("10.88.0.2")));
        for not_one in [
            "lock",
            "last_reserved_ip.0",
            "10.88.0.02",
            " 10.88.0.2",
            "10.88.0",
            "::1",
            ".lease.tmp",
        ] {
            assert_eq!(address_of_file_name(not_one), None, "{not_one}");
        }
    }

    #[test]
    fn contents_hold_an_owner_and_an_address() {
        let a = ip("10.88.0.2");
        assert_eq!(contents_of("uid-1", a), "uid-1\n10.88.0.2\n");
        assert_eq!(
            parse_contents(contents_of("uid-1", a).as_bytes()),
            Some(("uid-1", a))
        );
        assert_eq!(parse_contents(b" uid-1 \r\n10.88.0.2"), Some(("uid-1", a)));
        for not_ours in [
            &b""[..],
            b"uid-1",
            b"uid-1\r\neth0",
            b"uid-1\n10.88.0.2\nmore",
            b"../x\n10.88.0.2",
            b"\xff\xfe\n10.88.0.2",
        ] {
            assert_eq!(parse_contents(not_ours), None, "{not_ours:?}");
        }
    }
}
