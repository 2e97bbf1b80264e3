//! The plan as plain text for a student (`minipod plan`): every value with
//! where it came from, showing the arithmetic. Aligned columns, lines
//! wrapped at about 100 characters, no colours.
//!
//! One module per section of the text (`start_order.rs`, `resources.rs`,
//! `qos.rs`, `cgroups.rs` for the pod cgroup and the arithmetic the
//! containers share, `containers.rs`; `network.rs`, rendered apart as it
//! needs the node's network), and `layout.rs` for headings, paragraphs and
//! tables.

use std::fmt::Write as _;

use crate::plan::Plan;

mod cgroups;
mod containers;
mod layout;
mod network;
mod qos;
mod resources;
mod start_order;
#[cfg(test)]
mod tests;

pub use network::{NetworkFacts, NodePodNetwork, render_network};

/// Renders a plan as aligned plain text, ending in a newline.
pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Pod {}/{}", plan.namespace, plan.name);
    start_order::start_order(&mut out, plan);
    resources::effective(&mut out, plan);
    qos::qos(&mut out, plan);
    cgroups::pod_cgroup(&mut out, plan);
    containers::containers(&mut out, plan);
    out
}
