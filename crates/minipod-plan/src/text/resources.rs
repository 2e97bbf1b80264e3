//! The effective pod resources, with the arithmetic behind each.

use super::layout::{heading, paragraph, table};
use minipod_spec::Quantity;

use crate::plan::Plan;
use crate::resources::{
    CPU, Derivation, Field, InitStep, MEMORY, Overhead, Peak, Term, sum, to_integer,
};
use crate::roles::Role;

pub(super) fn effective(out: &mut String, plan: &Plan) {
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

/// A value with its integer form: `700m`, `1 (1000m)`, `64Mi (67108864 bytes)`.
pub(super) fn amount(resource: &str, q: &Quantity) -> String {
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
