//! Capabilities of the workload (capabilities(7)).

use std::collections::HashSet;
use std::str::FromStr;

use caps::{CapSet, Capability};

/// A capability step that failed.
#[derive(Debug, thiserror::Error)]
pub enum CapsError {
    #[error("{name}")]
    Unknown {
        name: String,
        #[source]
        source: caps::errors::CapsError,
    },
    #[error("dropping {cap} from the bounding set")]
    DropBounding {
        cap: Capability,
        #[source]
        source: caps::errors::CapsError,
    },
    #[error("setting the {set:?} set")]
    Set {
        set: CapSet,
        #[source]
        source: caps::errors::CapsError,
    },
}

fn parse(names: &[String]) -> Result<HashSet<Capability>, CapsError> {
    names
        .iter()
        .map(|name| {
            Capability::from_str(name).map_err(|source| CapsError::Unknown {
                name: name.clone(),
                source,
            })
        })
        .collect()
}

/// The capabilities of `wanted` that this process itself holds in its
/// bounding set: what a privileged container gets. containerd gives a
/// privileged container every capability the runtime holds (`cap.Current()`
/// in its `WithPrivileged`), not every one Linux defines: a runtime that
/// lacks one (root in a container, or a node without `CAP_SYS_RESOURCE`)
/// could not hand it on, and asking for it would fail the start.
pub fn held_by_this_process(wanted: &[String]) -> Vec<String> {
    wanted
        .iter()
        .filter(|name| {
            Capability::from_str(name)
                .ok()
                .and_then(|cap| caps::has_cap(None, CapSet::Bounding, cap).ok())
                .unwrap_or(false)
        })
        .cloned()
        .collect()
}

/// Drops every capability not kept from the bounding set: no process of the
/// container can ever regain it. Needs CAP_SETPCAP, so it runs before the
/// user switch.
pub fn limit_bounding(keep: &[String]) -> Result<(), CapsError> {
    let keep = parse(keep)?;
    for cap in caps::all() {
        if !keep.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap)
                .map_err(|source| CapsError::DropBounding { cap, source })?;
        }
    }
    Ok(())
}

/// Sets the permitted, effective and inheritable sets to `keep` and clears
/// the ambient set, as containerd's default spec does. (A non-root workload
/// then holds none after exec unless its file has capabilities, as on a node.)
pub fn apply(keep: &[String]) -> Result<(), CapsError> {
    let keep = parse(keep)?;
    let failed = |set| move |source| CapsError::Set { set, source };
    caps::clear(None, CapSet::Ambient).map_err(failed(CapSet::Ambient))?;
    // Effective first: it must always stay a subset of permitted.
    for set in [CapSet::Effective, CapSet::Permitted, CapSet::Inheritable] {
        caps::set(None, set, &keep).map_err(failed(set))?;
    }
    Ok(())
}
