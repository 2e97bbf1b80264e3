//! Each container's cgroup values and `oom_score_adj`, and why.

use std::fmt::Write as _;

use super::cgroups::{or_minus_one, quota_arithmetic, shares_arithmetic};
use super::layout::{heading, table};
use crate::cgroup::SharesSource;
use crate::cpu::MIN_SHARES;
use crate::oom::{OomReason, SYSTEM_NODE_CRITICAL};
use crate::plan::{ContainerExplanation, ContainerPlan, Plan};

pub(super) fn containers(out: &mut String, plan: &Plan) {
    heading(
        out,
        "Container cgroups (one per container, inside the pod cgroup)",
    );
    let header = |cells: &[&str]| cells.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
    let mut v1 = vec![header(&[
        "container",
        "role",
        "cpu.shares",
        "cpu.cfs_quota_us",
        "memory.limit_in_bytes",
        "oom_score_adj",
    ])];
    let mut v2 = vec![header(&[
        "container",
        "role",
        "cpu.weight",
        "cpu.max",
        "memory.max",
    ])];
    for c in &plan.containers {
        v1.push(vec![
            c.name.clone(),
            c.role.to_string(),
            c.cgroup.cpu_shares.to_string(),
            or_minus_one(c.cgroup.cpu_quota_us),
            or_minus_one(c.cgroup.memory_limit_bytes),
            c.oom_score_adj.to_string(),
        ]);
        v2.push(vec![
            c.name.clone(),
            c.role.to_string(),
            c.cgroup.cpu_weight.to_string(),
            c.cgroup.cpu_max.clone(),
            c.cgroup.memory_max.clone(),
        ]);
    }
    let _ = writeln!(out, "  cgroup v1");
    table(out, "    ", &v1);
    let _ = writeln!(out, "  cgroup v2 (same derivations as for the pod cgroup)");
    table(out, "    ", &v2);

    let node = plan.explanation.node.memory_capacity_bytes;
    let _ = writeln!(
        out,
        "\n  Where the values come from (node memory: {node} bytes)"
    );
    let mut rows: Vec<Vec<String>> = Vec::new();
    let pod_memory_limited = plan.pod_cgroup.memory_limit_bytes.is_some();
    for (c, why) in plan.containers.iter().zip(&plan.explanation.containers) {
        rows.push(vec![format!("{} ({})", c.name, c.role)]);
        rows.extend(container_why(c, why, pod_memory_limited));
    }
    table(out, "  ", &rows);
}

fn container_why(
    c: &ContainerPlan,
    why: &ContainerExplanation,
    pod_memory_limited: bool,
) -> Vec<Vec<String>> {
    let shares = match &why.cgroup.shares_from {
        SharesSource::Request(q) => {
            shares_arithmetic(&format!("cpu request {q}"), q, c.cgroup.cpu_shares)
        }
        SharesSource::Limit(q) => shares_arithmetic(
            &format!("no cpu request, so the cpu limit {q} stands in"),
            q,
            c.cgroup.cpu_shares,
        ),
        SharesSource::Nothing => format!("no cpu request or limit: the minimum {MIN_SHARES}"),
    };
    let quota = match (c.cgroup.cpu_quota_us, &why.cgroup.cpu_limit) {
        (Some(quota), Some(limit)) => quota_arithmetic(&format!("cpu limit {limit}"), limit, quota),
        _ => "no cpu limit: no quota".to_owned(),
    };
    let memory = match (c.cgroup.memory_limit_bytes, &why.cgroup.memory_limit) {
        (Some(bytes), Some(limit)) => format!("memory limit {limit} = {bytes} bytes"),
        _ if pod_memory_limited => {
            "no memory limit: only the pod cgroup's limit applies".to_owned()
        }
        _ => "no memory limit, and the pod cgroup has none either".to_owned(),
    };
    vec![
        vec![
            "  cpu.shares".into(),
            c.cgroup.cpu_shares.to_string(),
            shares,
        ],
        vec![
            "  cpu.cfs_quota_us".into(),
            or_minus_one(c.cgroup.cpu_quota_us),
            quota,
        ],
        vec![
            "  memory.limit_in_bytes".into(),
            or_minus_one(c.cgroup.memory_limit_bytes),
            memory,
        ],
        vec![
            "  oom_score_adj".into(),
            c.oom_score_adj.to_string(),
            oom_text(&why.oom.reason, c.oom_score_adj),
        ],
    ]
}

fn oom_text(reason: &OomReason, score: i64) -> String {
    match reason {
        OomReason::NodeCritical => format!("priority class {SYSTEM_NODE_CRITICAL}: killed last"),
        OomReason::Guaranteed => "Guaranteed pod: killed last".into(),
        OomReason::BestEffort => "BestEffort pod: killed first".into(),
        OomReason::Burstable {
            request_bytes,
            capacity_bytes,
            from_request,
            sidecar_cap,
            unclamped,
        } => {
            let mut text = format!(
                "Burstable: 1000 - 1000 × memory request {request_bytes} / node memory \
                 {capacity_bytes} = {from_request}"
            );
            if let Some(cap) = sidecar_cap {
                let _ = write!(
                    text,
                    "; sidecar rule: no higher than the app with the smallest memory request \
                     ({} bytes → {}), min({from_request}, {}) = {unclamped}",
                    cap.min_app_request_bytes, cap.score, cap.score
                );
            }
            if score != *unclamped {
                let _ = write!(text, "; kept within 3..999 → {score}");
            }
            text
        }
    }
}
