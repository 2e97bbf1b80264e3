//! Capabilities of the workload (capabilities(7)).

use std::collections::HashSet;
use std::str::FromStr;

use caps::{CapSet, Capability};

fn parse(names: &[String]) -> Result<HashSet<Capability>, String> {
    names
        .iter()
        .map(|n| Capability::from_str(n).map_err(|e| format!("{n}: {e}")))
        .collect()
}

/// Drops every capability not kept from the bounding set: no process of the
/// container can ever regain it. Needs CAP_SETPCAP, so it runs before the
/// user switch.
pub fn limit_bounding(keep: &[String]) -> Result<(), String> {
    let keep = parse(keep)?;
    for cap in caps::all() {
        if !keep.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Sets the permitted, effective and inheritable sets to `keep` and clears
/// the ambient set, as containerd's default spec does. (A non-root workload
/// then holds none after exec unless its file has capabilities, as on a node.)
pub fn apply(keep: &[String]) -> Result<(), String> {
    let keep = parse(keep)?;
    caps::clear(None, CapSet::Ambient).map_err(|e| e.to_string())?;
    // Effective first: it must always stay a subset of permitted.
    caps::set(None, CapSet::Effective, &keep).map_err(|e| e.to_string())?;
    caps::set(None, CapSet::Permitted, &keep).map_err(|e| e.to_string())?;
    caps::set(None, CapSet::Inheritable, &keep).map_err(|e| e.to_string())?;
    Ok(())
}
