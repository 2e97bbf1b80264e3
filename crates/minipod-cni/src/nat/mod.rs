//! NAT and host ports of minipod's native default network, in minipod's
//! own nftables table `table ip minipod` (`docs/networking.md`, "NAT and
//! host ports"; decision 0018).
//!
//! * [`input`]: what goes into a script, checked (table and bridge names,
//!   the pod CIDR, a pod's IP, its `portMappings`).
//! * [`script`]: the scripts, pure text: the node's table (masquerade,
//!   the host port lookups), a pod's host ports added and removed, the
//!   table deleted.
//! * [`nft`]: running a script with the system's `nft -f -`, with a
//!   timeout.
//!
//! ```no_run
//! use minipod_cni::nat::{Nft, TableName};
//! # fn main() -> Result<(), minipod_cni::nat::NatError> {
//! # let (pod_ip, ports) = ("10.88.0.2".parse().unwrap(), Vec::new());
//! let nft = Nft::find()?;                                   // "install the nftables package"
//! let table = TableName::minipod();
//! nft.set_up_node(&table, "minipod0", "10.88.0.0/16".parse().unwrap())?; // with the bridge
//! nft.add_host_ports(&table, pod_ip, &ports)?;              // after the pod's link is up
//! nft.remove_host_ports(&table, pod_ip, &ports)?;           // at teardown, from the record
//! nft.delete_table(&table)?;                                // the daemon's clean-up
//! # Ok(()) }
//! ```

pub mod input;
pub mod nft;
pub mod script;

use std::path::PathBuf;
use std::time::Duration;

pub use input::{DEFAULT_TABLE, HostPort, Protocol, TableName, host_ports};
pub use nft::{NFT_DIRS, NFT_TIMEOUT, Nft, NftExec};
pub use script::{Script, add_host_ports, delete_table, node_table, remove_host_ports};

/// Why a NAT script was not made or not applied.
#[derive(Debug, thiserror::Error)]
pub enum NatError {
    /// An input that cannot go into a script, naming its field.
    #[error("{field}: {value:?} {why}")]
    Invalid {
        field: String,
        value: String,
        why: String,
    },
    #[error(
        "the nft command is not installed (looked in {}): install the nftables package",
        dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NftNotInstalled { dirs: Vec<PathBuf> },
    #[error("cannot start {} to {step}", binary.display())]
    Spawn {
        binary: PathBuf,
        step: String,
        #[source]
        source: std::io::Error,
    },
    #[error("nft did not {step} within {after:?} (killed)")]
    Timeout { step: String, after: Duration },
    #[error("nft wrote more than 1 MiB of output while trying to {step} (killed)")]
    OutputTooLarge { step: String },
    /// nft refused the script; its own message (`Error: …`, the line).
    #[error("nft could not {step}: {stderr}")]
    Refused { step: String, stderr: String },
}
