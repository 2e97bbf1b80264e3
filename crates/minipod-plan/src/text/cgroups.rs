//! The pod cgroup's values, and the cgroup arithmetic the containers'
//! section shares (shares, quota, cgroup v2 weight).

use std::fmt::Write as _;

use minipod_spec::Quantity;

use super::layout::{heading, table};
use crate::cgroup::CgroupValues;
use crate::cpu::{MAX_SHARES, MIN_QUOTA_US, MIN_SHARES, QUOTA_PERIOD_US};
use crate::plan::Plan;
use crate::qos::QosClass;
use crate::resources::{CPU, to_integer};
use crate::roles::Role;

pub(super) fn pod_cgroup(out: &mut String, plan: &Plan) {
    heading(
        out,
        "Pod cgroup (parent of the container cgroups, sized from the effective values above)",
    );
    let v = &plan.pod_cgroup;
    let why = &plan.explanation.pod_cgroup;

    if why.qos_class == QosClass::BestEffort {
        let best_effort = "BestEffort pod: minimum shares, no quota, no memory limit";
        cgroup_files(out, v, best_effort, best_effort, best_effort);
        return;
    }
    let shares = match &why.cpu_request {
        Some(q) => shares_arithmetic(&format!("cpu request {q}"), q, v.cpu_shares),
        None => format!("no cpu request: the minimum {MIN_SHARES}"),
    };
    let quota = match (v.cpu_quota_us, &why.cpu_limit) {
        (Some(quota), Some(limit)) => quota_arithmetic(&format!("cpu limit {limit}"), limit, quota),
        _ if !why.without_cpu_limit.is_empty() => format!(
            "no quota: {} no cpu limit, so the pod as a whole has no CPU cap",
            who(&why.without_cpu_limit)
        ),
        _ => "no quota: no cpu limit".to_owned(),
    };
    let memory = match (v.memory_limit_bytes, &why.memory_limit) {
        (Some(bytes), Some(limit)) => format!("memory limit {limit} = {bytes} bytes"),
        _ if !why.without_memory_limit.is_empty() => format!(
            "no limit: {} no memory limit, so the pod as a whole has no memory cap",
            who(&why.without_memory_limit)
        ),
        _ => "no limit: no memory limit".to_owned(),
    };
    cgroup_files(out, v, &shares, &quota, &memory);
}

/// `container "a" (sidecar) has` / `containers "a" (sidecar), "b" (app) have`
pub(super) fn who(containers: &[(String, Role)]) -> String {
    let names: Vec<String> = containers
        .iter()
        .map(|(n, r)| format!("{n:?} ({r})"))
        .collect();
    match names.as_slice() {
        [one] => format!("container {one} has"),
        many => format!("containers {} have", many.join(", ")),
    }
}

/// `cpu request 700m: 700 × 1024 / 1000 = 716`, with any clamp spelled out.
pub(super) fn shares_arithmetic(basis: &str, cpu: &Quantity, shares: u64) -> String {
    let milli = to_integer(CPU, cpu);
    if milli == 0 {
        return format!("{basis}: zero gives the minimum {MIN_SHARES}");
    }
    let raw = i128::from(milli) * 1024 / 1000;
    let mut text = format!("{basis}: {milli}m × 1024 / 1000 = {raw}");
    if raw < i128::from(MIN_SHARES) {
        let _ = write!(text, ", raised to the minimum {MIN_SHARES}");
    } else if raw > i128::from(MAX_SHARES) {
        let _ = write!(text, ", lowered to the maximum {MAX_SHARES}");
    }
    debug_assert_eq!(
        raw.clamp(i128::from(MIN_SHARES), i128::from(MAX_SHARES)),
        i128::from(shares)
    );
    text
}

/// `cpu limit 500m: 500 × 100000 / 1000 = 50000 µs per 100000 µs period`.
pub(super) fn quota_arithmetic(basis: &str, cpu: &Quantity, quota: i64) -> String {
    let milli = to_integer(CPU, cpu);
    let raw = i128::from(milli) * i128::from(QUOTA_PERIOD_US) / 1000;
    let mut text = format!("{basis}: {milli}m × {QUOTA_PERIOD_US} / 1000 = {raw}");
    if raw < i128::from(MIN_QUOTA_US) {
        let _ = write!(text, ", raised to the minimum {MIN_QUOTA_US}");
    }
    let _ = write!(text, " µs per {QUOTA_PERIOD_US} µs period");
    debug_assert!(raw.max(i128::from(MIN_QUOTA_US)) >= i128::from(quota));
    text
}

pub(super) fn cgroup_files(
    out: &mut String,
    v: &CgroupValues,
    shares: &str,
    quota: &str,
    memory: &str,
) {
    let rows = vec![
        vec!["cgroup v1".into()],
        vec![
            "  cpu.shares".into(),
            v.cpu_shares.to_string(),
            shares.into(),
        ],
        vec![
            "  cpu.cfs_quota_us".into(),
            or_minus_one(v.cpu_quota_us),
            quota.into(),
        ],
        vec![
            "  cpu.cfs_period_us".into(),
            v.cpu_period_us.to_string(),
            "the CFS period (100 ms); -1 above means no quota".into(),
        ],
        vec![
            "  memory.limit_in_bytes".into(),
            or_minus_one(v.memory_limit_bytes),
            memory.into(),
        ],
        vec!["cgroup v2".into()],
        vec![
            "  cpu.weight".into(),
            v.cpu_weight.to_string(),
            weight_text(v.cpu_shares),
        ],
        vec![
            "  cpu.max".into(),
            v.cpu_max.clone(),
            "\"<quota> <period>\"; max = no quota".into(),
        ],
        vec![
            "  memory.max".into(),
            v.memory_max.clone(),
            "bytes; max = no limit".into(),
        ],
    ];
    table(out, "  ", &rows);
}

/// How the runtime turns shares into `cpu.weight` (see [`crate::cpu::shares_to_weight`]).
fn weight_text(shares: u64) -> String {
    if shares <= MIN_SHARES {
        return format!("{shares} shares, the minimum: weight 1");
    }
    if shares >= MAX_SHARES {
        return format!("{shares} shares, the maximum: weight 10000");
    }
    format!(
        "from {shares} shares as runc ≥ 1.3 converts them: ceil(10^((l² + 125·l)/612 − 7/34)) \
         with l = log2({shares}) (1024 shares → weight 100)"
    )
}

pub(super) fn or_minus_one(value: Option<i64>) -> String {
    value.map_or_else(|| "-1".to_owned(), |n| n.to_string())
}
