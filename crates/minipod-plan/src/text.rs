//! The plan as plain text for a student (`minipod plan`): every value with
//! where it came from, showing the arithmetic. Aligned columns, lines
//! wrapped at about 100 characters, no colours.

use std::fmt::Write as _;

use minipod_spec::Quantity;

use crate::cgroup::{CgroupValues, SharesSource};
use crate::cpu::{MAX_SHARES, MIN_QUOTA_US, MIN_SHARES, QUOTA_PERIOD_US};
use crate::oom::{OomReason, SYSTEM_NODE_CRITICAL};
use crate::plan::{ContainerExplanation, ContainerPlan, Plan};
use crate::qos::{QosClass, QosReason};
use crate::resources::{
    CPU, Derivation, Field, InitStep, MEMORY, Overhead, Peak, Term, sum, to_integer,
};
use crate::roles::Role;

/// Lines are wrapped to this width where the text allows it.
const WIDTH: usize = 100;

/// Renders a plan as aligned plain text, ending in a newline.
pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Pod {}/{}", plan.namespace, plan.name);
    start_order(&mut out, plan);
    effective(&mut out, plan);
    qos(&mut out, plan);
    pod_cgroup(&mut out, plan);
    containers(&mut out, plan);
    out
}

fn heading(out: &mut String, title: &str) {
    let _ = writeln!(out, "\n{title}");
}

// ------------------------------------------------------------------ start order

fn start_order(out: &mut String, plan: &Plan) {
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

// ------------------------------------------------------------------ effective resources

fn effective(out: &mut String, plan: &Plan) {
    heading(
        out,
        "Effective pod resources (per resource, the most the pod needs at any one time)",
    );
    let resources = &plan.explanation.resources;
    let mut rows: Vec<Vec<String>> = Vec::new();
    for field in [Field::Requests, Field::Limits] {
        let list = match field {
            Field::Requests => &resources.requests,
            Field::Limits => &resources.limits,
        };
        let others = list
            .keys()
            .map(String::as_str)
            .filter(|n| *n != CPU && *n != MEMORY);
        for name in [CPU, MEMORY].into_iter().chain(others) {
            let label = format!("{name} {}", field.singular());
            match resources.derivation(field, name) {
                Some(d) => {
                    rows.push(vec![
                        label,
                        amount(name, &d.value),
                        format!("= {}", formula(d)),
                    ]);
                    if let Some(note) = derivation_note(d) {
                        rows.push(vec![String::new(), String::new(), note]);
                    }
                }
                None => rows.push(vec![label, "none".into(), absent_reason(field).into()]),
            }
        }
    }
    table(out, "  ", &rows);
    if resources
        .derivations
        .iter()
        .any(|d| d.init_steps.iter().any(|s| s.role == Role::Init))
    {
        paragraph(
            out,
            "  ",
            "Init containers run one at a time, each next to the sidecars declared before it; \
             the app containers and all sidecars run together afterwards. The pod needs the \
             largest of these moments.",
        );
    }
}

fn absent_reason(field: Field) -> &'static str {
    match field {
        Field::Requests => "no container requests it",
        Field::Limits => "no container limits it (a container without a limit adds nothing)",
    }
}

/// `max(init "setup" 500m + sidecars before it 0, app "web" 300m + sidecar "proxy" 400m) + overhead 100m`
fn formula(d: &Derivation) -> String {
    let mut candidates: Vec<String> = d
        .init_steps
        .iter()
        .enumerate()
        .filter(|(i, step)| step.role == Role::Init || d.peak == Peak::InitStep(*i))
        .map(|(_, step)| init_step_term(step))
        .collect();
    if let Some(running) = running_term(d) {
        candidates.push(running);
    }
    let aggregated = match candidates.len() {
        0 => None,
        1 => candidates.pop(),
        _ => Some(format!("max({})", candidates.join(", "))),
    };
    let overhead = match &d.overhead {
        Overhead::Added(o) => Some(format!("overhead {o}")),
        Overhead::None | Overhead::NotAddedToZeroLimit(_) => None,
    };
    match (aggregated, overhead) {
        (Some(a), Some(o)) => format!("{a} + {o}"),
        (Some(a), None) => a,
        (None, Some(o)) => o,
        (None, None) => d.value.to_string(),
    }
}

fn init_step_term(step: &InitStep) -> String {
    if step.role == Role::Sidecar {
        return format!("sidecars up to {:?} {}", step.container, step.total);
    }
    let own = step
        .own
        .as_ref()
        .map_or_else(|| "0".to_owned(), ToString::to_string);
    let before = match step.sidecars_before.as_slice() {
        [] => "0".to_owned(),
        terms => format!("{} ({})", sum_text(terms), names(terms)),
    };
    format!(
        "init {:?} {own} + sidecars before it {before}",
        step.container
    )
}

fn running_term(d: &Derivation) -> Option<String> {
    let group = |one: &str, many: &str, terms: &[Term]| match terms {
        [] => None,
        [t] => Some(format!("{one} {:?} {}", t.container, t.amount)),
        _ => Some(format!("{many} {}", sum_text(terms))),
    };
    let apps = group("app", "apps", &d.apps);
    let sidecars = group("sidecar", "sidecars", &d.sidecars);
    match (apps, sidecars) {
        (Some(a), Some(s)) => Some(format!("{a} + {s}")),
        (Some(one), None) | (None, Some(one)) => Some(one),
        (None, None) => None,
    }
}

/// The sum of some terms.
fn sum_text(terms: &[Term]) -> String {
    sum(terms.iter().map(|t| &t.amount)).map_or_else(|| "0".to_owned(), |q| q.to_string())
}

fn names(terms: &[Term]) -> String {
    terms
        .iter()
        .map(|t| format!("{:?}", t.container))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The per-container breakdown of sums, and which moment was the largest.
fn derivation_note(d: &Derivation) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    let breakdown = |terms: &[Term]| -> String {
        terms
            .iter()
            .map(|t| format!("{:?} {}", t.container, t.amount))
            .collect::<Vec<_>>()
            .join(" + ")
    };
    if d.apps.len() > 1 {
        parts.push(format!("apps: {}", breakdown(&d.apps)));
    }
    if d.sidecars.len() > 1 {
        parts.push(format!("sidecars: {}", breakdown(&d.sidecars)));
    }
    if d.init_steps.iter().any(|s| s.role == Role::Init) {
        let moment = match d.peak {
            Peak::InitStep(i) => {
                format!("while init container {:?} runs", d.init_steps[i].container)
            }
            Peak::Running if d.sidecars.is_empty() => "once the app containers run".to_owned(),
            Peak::Running => "once the app containers and sidecars run".to_owned(),
        };
        parts.push(format!("largest {moment}"));
    }
    if let Overhead::NotAddedToZeroLimit(o) = &d.overhead {
        parts.push(format!(
            "overhead {o} not added: overhead only raises a non-zero limit"
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

// ------------------------------------------------------------------ QoS

fn qos(out: &mut String, plan: &Plan) {
    heading(out, &format!("QoS class: {}", plan.qos_class));
    let why = match &plan.explanation.qos.reason {
        QosReason::NothingSet => "No container requests or limits cpu or memory (overhead does \
                                  not count), so the pod is BestEffort."
            .to_owned(),
        QosReason::LimitsEqualRequests => "Every container (init containers and sidecars \
                                           included) limits cpu and memory, and the requests \
                                           equal the limits, so the pod is Guaranteed."
            .to_owned(),
        QosReason::MissingLimit {
            container,
            role,
            resource,
        } => format!(
            "The {role} container {container:?} has no {resource} limit. Guaranteed needs a cpu \
             and a memory limit on every container (init containers and sidecars included), so \
             the pod is Burstable."
        ),
        QosReason::RequestsDifferFromLimits {
            resource,
            requests,
            limits,
        } => {
            let show =
                |q: &Option<Quantity>| q.as_ref().map_or_else(|| "0".into(), |q| q.to_string());
            format!(
                "Summed over all containers, the {resource} requests ({}) differ from the \
                 {resource} limits ({}). Guaranteed needs them equal, so the pod is Burstable.",
                show(requests),
                show(limits)
            )
        }
    };
    paragraph(out, "  ", &why);
    paragraph(
        out,
        "  ",
        "The class decides the pod cgroup below and the containers' oom_score_adj \
         (Guaranteed -997: killed last; Burstable 3..999; BestEffort 1000: killed first).",
    );
}

// ------------------------------------------------------------------ pod cgroup

fn pod_cgroup(out: &mut String, plan: &Plan) {
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
fn who(containers: &[(String, Role)]) -> String {
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
fn shares_arithmetic(source: &str, cpu: &Quantity, shares: u64) -> String {
    let milli = to_integer(CPU, cpu);
    if milli == 0 {
        return format!("{source}: zero gives the minimum {MIN_SHARES}");
    }
    let raw = i128::from(milli) * 1024 / 1000;
    let mut text = format!("{source}: {milli}m × 1024 / 1000 = {raw}");
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
fn quota_arithmetic(source: &str, cpu: &Quantity, quota: i64) -> String {
    let milli = to_integer(CPU, cpu);
    let raw = i128::from(milli) * i128::from(QUOTA_PERIOD_US) / 1000;
    let mut text = format!("{source}: {milli}m × {QUOTA_PERIOD_US} / 1000 = {raw}");
    if raw < i128::from(MIN_QUOTA_US) {
        let _ = write!(text, ", raised to the minimum {MIN_QUOTA_US}");
    }
    let _ = write!(text, " µs per {QUOTA_PERIOD_US} µs period");
    debug_assert!(raw.max(i128::from(MIN_QUOTA_US)) >= i128::from(quota));
    text
}

fn cgroup_files(out: &mut String, v: &CgroupValues, shares: &str, quota: &str, memory: &str) {
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

fn or_minus_one(value: Option<i64>) -> String {
    value.map_or_else(|| "-1".to_owned(), |n| n.to_string())
}

// ------------------------------------------------------------------ containers

fn containers(out: &mut String, plan: &Plan) {
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

// ------------------------------------------------------------------ helpers

/// A value with its integer form: `700m`, `1 (1000m)`, `64Mi (67108864 bytes)`.
fn amount(resource: &str, q: &Quantity) -> String {
    let shown = q.to_string();
    let integer = to_integer(resource, q);
    let (integer, unit) = match resource {
        CPU => (format!("{integer}m"), ""),
        MEMORY => (integer.to_string(), " bytes"),
        _ => (integer.to_string(), ""),
    };
    if shown == integer {
        format!("{shown}{unit}")
    } else {
        format!("{shown} ({integer}{unit})")
    }
}

/// A paragraph wrapped at [`WIDTH`], every line indented.
fn paragraph(out: &mut String, indent: &str, text: &str) {
    for line in wrap(text, WIDTH.saturating_sub(indent.len())) {
        let _ = writeln!(out, "{indent}{line}");
    }
}

/// Greedy word wrap; a word longer than `width` gets a line of its own.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let fits = line.is_empty() || line.chars().count() + 1 + word.chars().count() <= width;
        if !fits {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Left-aligned columns two spaces apart. Rows of one cell are headings and
/// do not widen the first column. The last cell of a row wraps at [`WIDTH`],
/// continuing under itself. Trailing spaces are trimmed.
fn table(out: &mut String, indent: &str, rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows.iter().filter(|r| r.len() > 1) {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::from(indent);
        let Some((last, cells)) = row.split_last() else {
            let _ = writeln!(out);
            continue;
        };
        for (i, cell) in cells.iter().enumerate() {
            line.push_str(cell);
            line.extend(std::iter::repeat_n(
                ' ',
                widths[i] - cell.chars().count() + 2,
            ));
        }
        let start = line.chars().count();
        let wrapped = if cells.is_empty() {
            vec![last.clone()]
        } else {
            wrap(last, WIDTH.saturating_sub(start).max(30))
        };
        for (i, part) in wrapped.iter().enumerate() {
            if i == 0 {
                line.push_str(part);
                let _ = writeln!(out, "{}", line.trim_end());
            } else {
                let _ = writeln!(out, "{}{part}", " ".repeat(start));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{NodeFacts, plan};
    use crate::test_support::admitted;

    fn render(yaml: &str) -> String {
        render_text(&plan(
            &admitted(yaml),
            &NodeFacts {
                memory_capacity_bytes: 8_000_000_000,
            },
        ))
    }

    /// The text with every run of whitespace made one space, so a sentence
    /// can be found across wrapped lines.
    fn flat(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    const TEACHING_POD: &str = r#"
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          overhead: {memory: 10Mi}
          initContainers:
          - name: setup
            image: busybox
            resources: {requests: {cpu: 500m, memory: 64Mi}, limits: {cpu: 500m, memory: 64Mi}}
          - name: proxy
            image: envoy
            restartPolicy: Always
            resources: {requests: {cpu: 400m, memory: 32Mi}}
          - name: migrate
            image: busybox
            resources: {requests: {cpu: 200m}, limits: {cpu: 200m, memory: 16Mi}}
          containers:
          - name: app
            image: nginx
            resources: {requests: {cpu: 300m, memory: 128Mi}, limits: {cpu: "1", memory: 256Mi}}
    "#;

    #[test]
    fn the_text_shows_the_arithmetic_of_the_effective_cpu_request() {
        let text = flat(&render(TEACHING_POD));
        let expected = "cpu request 700m = max(init \"setup\" 500m + sidecars before it 0, \
                        init \"migrate\" 200m + sidecars before it 400m (\"proxy\"), \
                        app \"app\" 300m + sidecar \"proxy\" 400m)";
        assert!(text.contains(expected), "{text}");
        assert!(
            text.contains("largest once the app containers and sidecars run"),
            "{text}"
        );
    }

    #[test]
    fn the_text_shows_the_overhead_added_to_requests() {
        let text = flat(&render(TEACHING_POD));
        assert!(
            text.contains("sidecar \"proxy\" 32Mi) + overhead 10Mi"),
            "{text}"
        );
    }

    #[test]
    fn the_text_explains_roles_and_start_order() {
        let text = render(TEACHING_POD);
        for needle in [
            "1.  setup    init",
            "2.  proxy    sidecar",
            "3.  migrate  init",
            "4.  app      app",
            "runs to completion",
            "restartPolicy: Always",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }

    #[test]
    fn the_text_names_the_container_that_removes_the_pod_quota() {
        let text = render(TEACHING_POD);
        assert!(
            flat(&text).contains(
                "no quota: container \"proxy\" (sidecar) has no cpu limit, so the pod as a whole \
                 has no CPU cap"
            ),
            "{text}"
        );
        for file in [
            "cpu.shares",
            "cpu.cfs_quota_us",
            "cpu.cfs_period_us",
            "memory.limit_in_bytes",
            "cpu.weight",
            "cpu.max",
            "memory.max",
        ] {
            assert!(text.contains(file), "missing {file} in\n{text}");
        }
    }

    #[test]
    fn the_text_explains_the_qos_class() {
        let text = flat(&render(TEACHING_POD));
        assert!(text.contains("QoS class: Burstable"), "{text}");
        assert!(
            text.contains("The sidecar container \"proxy\" has no cpu limit."),
            "{text}"
        );
    }

    #[test]
    fn the_text_explains_each_containers_values() {
        let text = flat(&render(TEACHING_POD));
        for needle in [
            "cpu request 500m: 500m × 1024 / 1000 = 512",
            "cpu limit 500m: 500m × 100000 / 1000 = 50000 µs per 100000 µs period",
            "memory limit 64Mi = 67108864 bytes",
            "memory request 33554432 / node memory 8000000000 = 996; sidecar rule: no higher than the app \
             with the smallest memory request (134217728 bytes → 984), min(996, 984) = 984",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }

    #[test]
    fn the_text_is_plain_and_aligned() {
        let text = render(TEACHING_POD);
        assert!(!text.contains('\x1b'));
        assert!(text.lines().all(|l| l == l.trim_end()), "{text}");
        assert!(text.ends_with('\n'));
        assert!(
            text.lines().all(|l| l.chars().count() <= WIDTH + 20),
            "{text}"
        );
    }

    #[test]
    fn the_text_of_a_best_effort_pod_says_why_everything_is_unset() {
        let text = flat(&render(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: idle}\nspec:\n  containers: [{name: idle, image: busybox}]",
        ));
        assert!(text.contains("so the pod is BestEffort"), "{text}");
        assert!(
            text.contains("cpu request none no container requests it"),
            "{text}"
        );
        assert!(
            text.contains("BestEffort pod: minimum shares, no quota, no memory limit"),
            "{text}"
        );
    }

    #[test]
    fn table_aligns_columns() {
        let mut out = String::new();
        let rows = [
            ["a", "bb", "c"].map(String::from).to_vec(),
            ["ddd", "e", "f"].map(String::from).to_vec(),
        ];
        table(&mut out, "", &rows);
        assert_eq!(out, "a    bb  c\nddd  e   f\n");
    }

    #[test]
    fn table_wraps_the_last_column_under_itself() {
        let mut out = String::new();
        let long = "word ".repeat(40);
        table(&mut out, "", &[vec!["key".into(), long.trim_end().into()]]);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() > 1);
        assert!(lines[1].starts_with("     word"), "{out}");
        assert!(lines.iter().all(|l| l.chars().count() <= WIDTH), "{out}");
    }
}
