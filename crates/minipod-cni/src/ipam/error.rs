//! What the IPAM refuses or fails at. Each message names its own step; the
//! cause is the `source`.

use std::path::PathBuf;

use crate::cidr::Ipv4Net;

#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    #[error(
        "the pod range {range} is too small: it needs a /30 or wider (its network, gateway and broadcast addresses are never handed out)"
    )]
    RangeTooSmall { range: Ipv4Net },
    #[error("the owner id {owner:?} {why}")]
    BadOwner { owner: String, why: &'static str },
    #[error("no free address left in the pod range {range}")]
    RangeFull { range: Ipv4Net },
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}
