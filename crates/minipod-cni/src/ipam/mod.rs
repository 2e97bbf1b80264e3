//! The native default network's IPAM: addresses of the pod range handed
//! out to pods with host-local's semantics
//! (<https://www.cni.dev/plugins/current/ipam/host-local/>, decision 0018),
//! kept in a directory the caller gives
//! (`<state dir>/network/<network name>/`).
//!
//! * [`range`]: which addresses are handed out and in which order (pure).
//! * [`store`]: the directory: one file per address (also named after its
//!   owner), `last_reserved_ip.0`, and the lock every change is made under.
//!
//! Unlike host-local, a second reservation for an owner that holds an
//! address gives that address again instead of an error: the runtime may
//! retry a pod's network set-up after a failure later on.

mod error;
pub mod range;
pub mod store;

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use minipod_linux::file_lock::LockMode;
use minipod_linux::private_fs::private_dir;

pub use error::IpamError;

use crate::cidr::Ipv4Net;
use range::{Usable, owner_problem};
use store::Reservation;

/// An address held by a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Who holds it: the pod's uid.
    pub owner: String,
    pub address: Ipv4Addr,
    /// The pod range's prefix: the pod's `eth0` gets `address/prefix_len`.
    pub prefix_len: u8,
    /// The range's first usable address: the bridge's, the pod's default
    /// route.
    pub gateway: Ipv4Addr,
}

/// The addresses of one pod range, reserved in one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipam {
    dir: PathBuf,
    usable: Usable,
}

impl Ipam {
    /// The IPAM of `range`, kept in `dir` (made on the first reservation).
    /// A range narrower than a /30 has no address to hand out and is
    /// refused, as host-local refuses it.
    pub fn new(dir: PathBuf, range: Ipv4Net) -> Result<Ipam, IpamError> {
        let usable = Usable::new(range).ok_or(IpamError::RangeTooSmall { range })?;
        Ok(Ipam { dir, usable })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn range(&self) -> Ipv4Net {
        self.usable.range
    }

    /// The range's first usable address: the bridge's (the pods' gateway).
    pub fn gateway(&self) -> Ipv4Addr {
        self.usable.gateway()
    }

    /// Reserves an address for `owner` (the pod uid): the first free one
    /// after the address reserved last, wrapping around. Idempotent: an
    /// owner that holds an address of the range gets it again.
    pub fn reserve(&self, owner: &str) -> Result<Lease, IpamError> {
        check_owner(owner)?;
        let locked = match store::lock(&self.dir, LockMode::Exclusive)? {
            Some(locked) => locked,
            None => {
                private_dir(&self.dir).map_err(|source| IpamError::Io {
                    action: "create the IPAM directory",
                    path: self.dir.clone(),
                    source,
                })?;
                store::lock(&self.dir, LockMode::Exclusive)?.ok_or_else(|| IpamError::Io {
                    action: "lock",
                    path: self.dir.clone(),
                    source: std::io::ErrorKind::NotFound.into(),
                })?
            }
        };
        if let Some(held) = locked.held_by(owner) {
            if self.usable.contains(held) {
                return Ok(self.lease(owner, held));
            }
            // Reserved in a range the network no longer has: the pod being
            // set up again gets an address of this one.
            locked.remove(held)?;
        }
        let staged = locked.stage(owner)?;
        match self.claim_next(&locked, &staged) {
            Ok(Some(address)) => Ok(self.lease(owner, address)),
            failed => {
                // Nothing half-made: the staged file goes (the error to
                // report is the first one).
                drop(staged);
                let _ = locked.remove_index(owner);
                Err(failed.err().unwrap_or(IpamError::RangeFull {
                    range: self.range(),
                }))
            }
        }
    }

    /// Claims the first free address for the staged reservation; `None`
    /// when the range is full.
    fn claim_next(
        &self,
        locked: &store::Locked,
        staged: &store::Staged,
    ) -> Result<Option<Ipv4Addr>, IpamError> {
        // The next address after the last one reserved is nearly always
        // free: try it, and list the directory only if it is not.
        let mut taken = None;
        for candidate in self.usable.candidates(locked.last_reserved()) {
            if taken
                .as_ref()
                .is_some_and(|t: &HashSet<_>| t.contains(&candidate))
            {
                continue;
            }
            // A name taken since the listing (by something that does not
            // take the lock) is refused too: try on.
            if staged.claim(candidate)? {
                if let Err(e) = locked.set_last_reserved(candidate) {
                    let _ = locked.remove(candidate);
                    return Err(e);
                }
                return Ok(Some(candidate));
            }
            if taken.is_none() {
                taken = Some(locked.taken()?);
            }
        }
        Ok(None)
    }

    /// Gives back `owner`'s address (in or out of the range); idempotent:
    /// `Ok(None)` when it holds none.
    pub fn release(&self, owner: &str) -> Result<Option<Ipv4Addr>, IpamError> {
        check_owner(owner)?;
        let Some(locked) = store::lock(&self.dir, LockMode::Exclusive)? else {
            return Ok(None);
        };
        let released = match locked.held_by(owner) {
            Some(held) => {
                locked.remove(held)?;
                Some(held)
            }
            // No name of its own that holds (a reservation made by hand, or
            // a second release): look at every reservation.
            None => {
                let mut released = None;
                for r in locked.reservations()? {
                    if r.owner.as_deref() == Some(owner) {
                        locked.remove(r.address)?;
                        released = released.or(Some(r.address));
                    }
                }
                released
            }
        };
        // After the reservation: see `store`.
        locked.remove_index(owner)?;
        Ok(released)
    }

    /// Every reservation of the range, by address (for the daemon's
    /// start-up clean-up of pods that no longer exist). Files that are not
    /// minipod's reservations are left out; so are reservations outside
    /// the range (it changed since): `release` still removes them.
    pub fn leases(&self) -> Result<Vec<Lease>, IpamError> {
        let Some(locked) = store::lock(&self.dir, LockMode::Shared)? else {
            return Ok(Vec::new());
        };
        Ok(locked
            .reservations()?
            .into_iter()
            .filter(|r| self.usable.contains(r.address))
            .filter_map(|Reservation { address, owner }| Some(self.lease(&owner?, address)))
            .collect())
    }

    fn lease(&self, owner: &str, address: Ipv4Addr) -> Lease {
        Lease {
            owner: owner.to_owned(),
            address,
            prefix_len: self.usable.range.prefix,
            gateway: self.gateway(),
        }
    }
}

fn check_owner(owner: &str) -> Result<(), IpamError> {
    match owner_problem(owner) {
        // An owner too long to be one is cut in the message, not repeated whole.
        Some(why) => Err(IpamError::BadOwner {
            owner: owner.chars().take(range::MAX_OWNER_LEN).collect(),
            why,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
