//! The start order, and what each role means.

use std::fmt::Write as _;

use super::layout::{heading, table};
use crate::plan::Plan;
use crate::roles::Role;

pub(super) fn start_order(out: &mut String, plan: &Plan) {
    heading(out, "Start order");
    let rows: Vec<Vec<String>> = plan
        .start_order
        .iter()
        .enumerate()
        .map(|(i, step)| {
            vec![
                format!("{}.", i + 1),
                step.name.clone(),
                step.role.to_string(),
            ]
        })
        .collect();
    table(out, "  ", &rows);
    let _ = writeln!(out);
    let roles: Vec<Vec<String>> = [Role::Init, Role::Sidecar, Role::App]
        .into_iter()
        .filter(|role| plan.start_order.iter().any(|s| s.role == *role))
        .map(|role| vec![role.to_string(), role.meaning().to_owned()])
        .collect();
    table(out, "  ", &roles);
}
