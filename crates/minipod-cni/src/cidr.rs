//! The node pod CIDR: the first candidate that overlaps nothing the host
//! routes (`docs/decisions/0017-pod-cidr.md`).
//!
//! The host's IPv4 routes come from `/proc/net/route` (the main table, which
//! holds the connected route of every address that is up). The default route
//! is not a range in use: it is skipped.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// The candidates in order: podman's default network first (the range users
/// of local pod runners know), then its neighbours below it, away from
/// Docker's 172.17–31, the 192.168 home ranges, Kubernetes' usual
/// 10.96.0.0/12 services and 10.244.0.0/16 (flannel), and k3s' 10.42/10.43.
pub const CANDIDATES: [&str; 5] = [
    "10.88.0.0/16",
    "10.87.0.0/16",
    "10.86.0.0/16",
    "10.85.0.0/16",
    "10.84.0.0/16",
];

/// An IPv4 network, address and prefix length (host bits zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Net {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Net {
    /// A network from any address in it (the host bits are cleared).
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Option<Ipv4Net> {
        (prefix <= 32).then(|| Ipv4Net {
            addr: Ipv4Addr::from(u32::from(addr) & mask(prefix)),
            prefix,
        })
    }

    fn first(&self) -> u32 {
        u32::from(self.addr)
    }

    fn last(&self) -> u32 {
        self.first() | !mask(self.prefix)
    }

    /// Whether the two networks share at least one address.
    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }

    /// Whether `addr` is in the network.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        (self.first()..=self.last()).contains(&u32::from(addr))
    }

    /// The `n`th address of the network (`.1` is the bridge's gateway).
    pub fn nth(&self, n: u32) -> Option<Ipv4Addr> {
        let a = self.first().checked_add(n)?;
        (a <= self.last()).then(|| Ipv4Addr::from(a))
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Ipv4Net {
    type Err = String;

    /// `10.88.0.0/16`; host bits must be zero (a CIDR, not an address).
    fn from_str(s: &str) -> Result<Ipv4Net, String> {
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} has no /prefix"))?;
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("{s:?}: bad IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= 32)
            .ok_or_else(|| format!("{s:?}: the prefix must be 0 to 32"))?;
        let net = Ipv4Net::new(addr, prefix).ok_or_else(|| format!("{s:?}: bad prefix"))?;
        if net.addr != addr {
            return Err(format!("{s:?} has host bits set (the network is {net})"));
        }
        Ok(net)
    }
}

/// The destinations of `/proc/net/route` (its text), default routes left
/// out. Lines that do not parse are skipped: the kernel's format is fixed,
/// and a route minipod cannot read cannot be avoided either way.
pub fn parse_proc_net_route(text: &str) -> Vec<Ipv4Net> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let dest = hex_addr(fields.get(1)?)?;
            let mask = u32::from(hex_addr(fields.get(7)?)?);
            if mask.leading_ones() != mask.count_ones() {
                return None;
            }
            let prefix = mask.count_ones() as u8;
            (prefix > 0).then(|| Ipv4Net::new(dest, prefix)).flatten()
        })
        .collect()
}

/// `/proc/net/route` prints each `__be32` as `%08X` of its in-memory value:
/// the native-endian bytes of the parsed number are the network-order bytes.
fn hex_addr(text: &str) -> Option<Ipv4Addr> {
    let raw = u32::from_str_radix(text, 16).ok()?;
    Some(Ipv4Addr::from(raw.to_ne_bytes()))
}

/// The first candidate that overlaps no route; `None` when all do (the node
/// setting must then be given).
pub fn choose_pod_cidr(routes: &[Ipv4Net], candidates: &[Ipv4Net]) -> Option<Ipv4Net> {
    candidates
        .iter()
        .find(|c| !routes.iter().any(|r| r.overlaps(c)))
        .copied()
}

/// [`CANDIDATES`], parsed.
pub fn default_candidates() -> Vec<Ipv4Net> {
    CANDIDATES.iter().filter_map(|c| c.parse().ok()).collect()
}

/// The default pod CIDR for this host: reads `/proc/net/route` once.
pub fn default_pod_cidr() -> std::io::Result<Option<Ipv4Net>> {
    let text = std::fs::read_to_string("/proc/net/route")?;
    Ok(choose_pod_cidr(
        &parse_proc_net_route(&text),
        &default_candidates(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().expect("cidr")
    }

    fn le_hex(a: [u8; 4]) -> String {
        format!("{:08X}", u32::from_ne_bytes(a))
    }

    fn route_table(rows: &[([u8; 4], [u8; 4])]) -> String {
        let mut text =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
                .to_owned();
        for (dest, mask) in rows {
            text += &format!(
                "eth0\t{}\t00000000\t0001\t0\t0\t0\t{}\t0\t0\t0\n",
                le_hex(*dest),
                le_hex(*mask)
            );
        }
        text
    }

    #[test]
    fn parses_the_kernels_table_and_skips_the_default_route() {
        let text = route_table(&[
            ([0, 0, 0, 0], [0, 0, 0, 0]),
            ([192, 0, 2, 0], [255, 255, 255, 0]),
            ([10, 88, 0, 0], [255, 255, 0, 0]),
        ]);
        assert_eq!(
            parse_proc_net_route(&text),
            vec![net("192.0.2.0/24"), net("10.88.0.0/16")]
        );
    }

    #[test]
    fn the_first_candidate_overlapping_nothing_wins() {
        let c = default_candidates();
        assert_eq!(c.len(), CANDIDATES.len());
        assert_eq!(
            choose_pod_cidr(&[net("192.0.2.0/24")], &c),
            Some(net("10.88.0.0/16"))
        );
        // podman's network is up: the next one.
        assert_eq!(
            choose_pod_cidr(&[net("10.88.0.0/16")], &c),
            Some(net("10.87.0.0/16"))
        );
        // A wide route (a VPN's 10/8) covers them all.
        assert_eq!(choose_pod_cidr(&[net("10.0.0.0/8")], &c), None);
        // A narrow route inside a candidate rules it out too.
        assert_eq!(
            choose_pod_cidr(&[net("10.88.7.0/24"), net("10.87.0.5/32")], &c),
            Some(net("10.86.0.0/16"))
        );
    }

    #[test]
    fn networks_parse_strictly_and_overlap_as_ranges() {
        assert!("10.88.0.1/16".parse::<Ipv4Net>().is_err());
        assert!("10.88.0.0".parse::<Ipv4Net>().is_err());
        assert!("10.88.0.0/33".parse::<Ipv4Net>().is_err());
        assert!(net("10.0.0.0/8").overlaps(&net("10.88.0.0/16")));
        assert!(!net("10.88.0.0/16").overlaps(&net("10.89.0.0/16")));
        assert!(net("0.0.0.0/0").overlaps(&net("1.2.3.4/32")));
        assert_eq!(
            net("10.88.0.0/16").nth(1),
            Some(Ipv4Addr::new(10, 88, 0, 1))
        );
        assert_eq!(net("10.0.0.0/31").nth(2), None);
        assert!(net("10.88.0.0/16").contains(Ipv4Addr::new(10, 88, 255, 255)));
        assert_eq!(net("10.88.0.0/16").to_string(), "10.88.0.0/16");
    }
}
