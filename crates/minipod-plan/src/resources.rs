//! Effective pod requests and limits: what the scheduler counts for a pod,
//! and what sizes its cgroup (spec §2; Kubernetes `PodRequests` /
//! `PodLimits` in `staging/src/k8s.io/component-helpers/resource/helpers.go`).
//!
//! Per resource name, independently:
//!
//! * the containers that run together at the end are the app containers
//!   **and** the sidecars, so their amounts are summed;
//! * while a regular init container runs, the sidecars declared *before* it
//!   are already running: its footprint is its own amount plus theirs (a
//!   sidecar declared after it does not count);
//! * the pod needs the largest of these footprints;
//! * `spec.overhead` is added to every request (creating the resource if no
//!   container names it), but only to a limit that exists and is non-zero.
//!
//! A resource no container names is **absent** (not zero), and stays absent;
//! a container without a limit contributes nothing to the limits.
//!
//! Everything is computed on exact quantities; the conversion to integers
//! (millicores for `cpu`, whole units — bytes — for everything else, both
//! rounded up as Kubernetes' `MilliValue()`/`Value()` do) happens once, at
//! the end, in [`to_integer`].
//!
//! Alongside each value this module records a [`Derivation`]: which
//! containers contributed, which footprint was the largest, and the overhead,
//! so a plan can show a student the arithmetic.

use std::collections::{BTreeMap, BTreeSet};

use minipod_spec::Quantity;
use minipod_spec::model::{Container, PodSpec, ResourceList};

use crate::roles::Role;

/// The resource whose integer form is in millicores.
pub const CPU: &str = "cpu";
/// The memory resource (bytes).
pub const MEMORY: &str = "memory";

/// Which half of `resources` is aggregated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Requests,
    Limits,
}

impl Field {
    /// The list this field names in a container.
    pub fn of(self, container: &Container) -> &ResourceList {
        match self {
            Field::Requests => &container.resources.requests,
            Field::Limits => &container.resources.limits,
        }
    }

    /// `request` / `limit`, for sentences.
    pub fn singular(self) -> &'static str {
        match self {
            Field::Requests => "request",
            Field::Limits => "limit",
        }
    }
}

/// One container's amount of one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub container: String,
    pub amount: Quantity,
}

/// The footprint of the pod while one init container (regular or sidecar)
/// is being started: for a regular init container its own amount plus the
/// sidecars declared before it; for a sidecar, all sidecars up to and
/// including it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitStep {
    pub container: String,
    pub role: Role,
    /// The container's own amount, if it names the resource.
    pub own: Option<Quantity>,
    /// Sidecars declared before this container that name the resource.
    pub sidecars_before: Vec<Term>,
    /// The footprint of this step.
    pub total: Quantity,
}

/// Which footprint decided the aggregated value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peak {
    /// The steady state: app containers plus sidecars.
    Running,
    /// `init_steps[i]` of the derivation.
    InitStep(usize),
}

/// What `spec.overhead` did to a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overhead {
    /// The pod has no overhead for this resource.
    None,
    /// Added to the aggregated value.
    Added(Quantity),
    /// Not added: overhead only raises a limit that exists and is non-zero.
    NotAddedToZeroLimit(Quantity),
}

/// How one effective value was reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derivation {
    pub resource: String,
    pub field: Field,
    /// App containers that name the resource.
    pub apps: Vec<Term>,
    /// Sidecars that name the resource.
    pub sidecars: Vec<Term>,
    /// Apps plus sidecars, if any of them names the resource.
    pub running: Option<Quantity>,
    /// One step per init container (regular or sidecar) whose footprint
    /// names the resource, in declaration order.
    pub init_steps: Vec<InitStep>,
    /// The footprint that decided `aggregated` (the steady state wins ties).
    pub peak: Peak,
    /// The largest footprint, before overhead; `None` when only the overhead
    /// names the resource.
    pub aggregated: Option<Quantity>,
    pub overhead: Overhead,
    /// The effective value.
    pub value: Quantity,
}

/// The effective requests and limits of a pod, exactly, with their derivations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EffectiveResources {
    pub requests: ResourceList,
    pub limits: ResourceList,
    /// One per entry of `requests`, then one per entry of `limits`, each in
    /// resource-name order.
    pub derivations: Vec<Derivation>,
}

impl EffectiveResources {
    /// How `field` of `resource` was computed, if the pod has that value.
    pub fn derivation(&self, field: Field, resource: &str) -> Option<&Derivation> {
        self.derivations
            .iter()
            .find(|d| d.field == field && d.resource == resource)
    }
}

/// The effective requests (`PodRequests`, overhead included) and limits
/// (`PodLimits`, overhead on non-zero limits) of a pod spec.
pub fn effective_resources(spec: &PodSpec) -> EffectiveResources {
    let empty = ResourceList::new();
    let overhead = spec.overhead.as_ref().unwrap_or(&empty);
    let mut out = EffectiveResources::default();
    for field in [Field::Requests, Field::Limits] {
        let mut names: BTreeSet<&str> = all_containers(spec)
            .flat_map(|c| field.of(c).keys().map(String::as_str))
            .collect();
        if field == Field::Requests {
            names.extend(overhead.keys().map(String::as_str));
        }
        for name in names {
            let Some(derivation) = derive(spec, field, name, overhead.get(name)) else {
                continue;
            };
            let list = match field {
                Field::Requests => &mut out.requests,
                Field::Limits => &mut out.limits,
            };
            list.insert(name.to_owned(), derivation.value.clone());
            out.derivations.push(derivation);
        }
    }
    out
}

/// The integer a cgroup or the JSON plan uses for a quantity of `resource`:
/// millicores for `cpu` (`MilliValue()`), whole units for everything else
/// (`Value()`, bytes for memory); both round up.
pub fn to_integer(resource: &str, amount: &Quantity) -> i64 {
    if resource == CPU {
        amount.milli_value()
    } else {
        amount.value()
    }
}

/// A resource list converted with [`to_integer`].
pub fn to_integers(list: &ResourceList) -> BTreeMap<String, i64> {
    list.iter()
        .map(|(name, q)| (name.clone(), to_integer(name, q)))
        .collect()
}

fn all_containers(spec: &PodSpec) -> impl Iterator<Item = &Container> {
    spec.init_containers.iter().chain(&spec.containers)
}

/// The aggregation of one field of one resource (spec §2 `AGG`, then overhead).
fn derive(
    spec: &PodSpec,
    field: Field,
    resource: &str,
    overhead: Option<&Quantity>,
) -> Option<Derivation> {
    let term = |c: &Container| {
        field.of(c).get(resource).map(|amount| Term {
            container: c.name.clone(),
            amount: amount.clone(),
        })
    };

    let apps: Vec<Term> = spec.containers.iter().filter_map(term).collect();
    let mut running = sum(apps.iter().map(|t| &t.amount));

    let mut sidecars: Vec<Term> = Vec::new();
    let mut init_steps: Vec<InitStep> = Vec::new();
    let mut peak_step: Option<usize> = None;
    for c in &spec.init_containers {
        let role = Role::of_init_container(c);
        let own = field.of(c).get(resource).cloned();
        let sidecars_before = sidecars.clone();
        if role == Role::Sidecar
            && let Some(amount) = &own
        {
            running = Some(add_opt(running.as_ref(), amount));
            sidecars.push(Term {
                container: c.name.clone(),
                amount: amount.clone(),
            });
        }
        // A sidecar's step is every sidecar so far, itself included; a
        // regular init container's is itself plus the sidecars before it.
        let sidecar_sum = sum(sidecars_before.iter().map(|t| &t.amount));
        let total = match (&own, &sidecar_sum) {
            (Some(own), Some(s)) => Some(add(own, s)),
            (Some(only), None) | (None, Some(only)) => Some(only.clone()),
            (None, None) => None,
        };
        let Some(total) = total else { continue };
        let is_new_peak = match peak_step {
            None => true,
            Some(i) => total > init_steps[i].total,
        };
        if is_new_peak {
            peak_step = Some(init_steps.len());
        }
        init_steps.push(InitStep {
            container: c.name.clone(),
            role,
            own,
            sidecars_before,
            total,
        });
    }

    // max(running, init peak): the steady state is kept unless an init
    // step is strictly larger.
    let init_peak = peak_step.map(|i| &init_steps[i].total);
    let (aggregated, peak) = match (&running, init_peak, peak_step) {
        (Some(r), Some(p), Some(i)) if p > r => (Some(p.clone()), Peak::InitStep(i)),
        (None, Some(p), Some(i)) => (Some(p.clone()), Peak::InitStep(i)),
        (r, _, _) => (r.clone(), Peak::Running),
    };

    let (value, overhead) = match (field, aggregated.as_ref(), overhead) {
        (_, None, None) => return None,
        (Field::Limits, None, Some(_)) => return None,
        (_, Some(a), None) => (a.clone(), Overhead::None),
        (Field::Requests, a, Some(o)) => (add_opt(a, o), Overhead::Added(o.clone())),
        (Field::Limits, Some(a), Some(o)) if a.is_zero() => {
            (a.clone(), Overhead::NotAddedToZeroLimit(o.clone()))
        }
        (Field::Limits, Some(a), Some(o)) => (add(a, o), Overhead::Added(o.clone())),
    };

    Some(Derivation {
        resource: resource.to_owned(),
        field,
        apps,
        sidecars,
        running,
        init_steps,
        peak,
        aggregated,
        overhead,
        value,
    })
}

/// The exact sum of some quantities, `None` for none.
pub(crate) fn sum<'a>(amounts: impl IntoIterator<Item = &'a Quantity>) -> Option<Quantity> {
    amounts
        .into_iter()
        .fold(None, |acc, q| Some(add_opt(acc.as_ref(), q)))
}

fn add_opt(a: Option<&Quantity>, b: &Quantity) -> Quantity {
    match a {
        Some(a) => add(a, b),
        None => b.clone(),
    }
}

/// Exact `a + b`. A sum too large for exact arithmetic saturates (at
/// 2^63 − 1 units, where the integer conversions saturate anyway) rather than
/// failing: no real node has that much of anything.
pub(crate) fn add(a: &Quantity, b: &Quantity) -> Quantity {
    a.checked_add(b).unwrap_or_else(|| {
        let larger = a.max(b);
        Quantity::parse(&i64::MAX.to_string())
            .ok()
            .filter(|cap| cap > larger)
            .unwrap_or_else(|| larger.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::pod_spec;

    fn q(text: &str) -> Quantity {
        Quantity::parse(text).unwrap()
    }

    fn list(pairs: &[(&str, &str)]) -> ResourceList {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), q(v))).collect()
    }

    // The five worked examples of spec §2 (helpers_test.go).

    #[test]
    fn sidecars_add_to_the_apps_and_the_init_peak_is_compared_with_the_sum() {
        let spec = pod_spec(
            r#"
            initContainers:
            - {name: init, resources: {requests: {cpu: "5"}}}
            - {name: s1, restartPolicy: Always, resources: {requests: {cpu: "1"}}}
            - {name: s2, restartPolicy: Always, resources: {requests: {cpu: "2"}}}
            - {name: s3, restartPolicy: Always, resources: {requests: {cpu: "3"}}}
            containers:
            - {name: app, resources: {requests: {cpu: "1"}}}
            "#,
        );
        let eff = effective_resources(&spec);
        assert_eq!(eff.requests, list(&[("cpu", "7")]));
        let d = eff.derivation(Field::Requests, "cpu").unwrap();
        assert_eq!(d.peak, Peak::Running);
        assert_eq!(d.running, Some(q("7")));
    }

    #[test]
    fn an_init_container_is_charged_with_the_sidecars_declared_before_it() {
        let spec = pod_spec(
            r#"
            initContainers:
            - {name: init-1, resources: {requests: {cpu: "5"}}}
            - {name: s1, restartPolicy: Always, resources: {requests: {cpu: "1"}}}
            - {name: s2, restartPolicy: Always, resources: {requests: {cpu: "2"}}}
            - {name: init-2, resources: {requests: {cpu: "5"}}}
            - {name: s3, restartPolicy: Always, resources: {requests: {cpu: "3"}}}
            containers:
            - {name: app, resources: {requests: {cpu: "1"}}}
            "#,
        );
        let eff = effective_resources(&spec);
        assert_eq!(eff.requests, list(&[("cpu", "8")]));
        let d = eff.derivation(Field::Requests, "cpu").unwrap();
        let Peak::InitStep(i) = d.peak else {
            panic!("{d:?}")
        };
        let step = &d.init_steps[i];
        assert_eq!(step.container, "init-2");
        assert_eq!(
            step.sidecars_before
                .iter()
                .map(|t| t.container.as_str())
                .collect::<Vec<_>>(),
            ["s1", "s2"]
        );
    }

    #[test]
    fn a_sidecar_declared_before_an_init_container_adds_to_its_peak() {
        let spec = pod_spec(
            r#"
            initContainers:
            - {name: sidecar, restartPolicy: Always, resources: {requests: {cpu: "10"}}}
            - {name: init, resources: {requests: {cpu: "200"}}}
            containers:
            - {name: app, resources: {requests: {cpu: "100"}}}
            "#,
        );
        assert_eq!(effective_resources(&spec).requests, list(&[("cpu", "210")]));
    }

    #[test]
    fn sidecar_declared_after_init_container_does_not_add_to_its_peak() {
        let spec = pod_spec(
            r#"
            initContainers:
            - {name: init, resources: {requests: {cpu: "200"}}}
            - {name: sidecar, restartPolicy: Always, resources: {requests: {cpu: "10"}}}
            containers:
            - {name: app, resources: {requests: {cpu: "100"}}}
            "#,
        );
        assert_eq!(effective_resources(&spec).requests, list(&[("cpu", "200")]));
    }

    #[test]
    fn overhead_is_added_to_every_request_but_only_to_existing_limits() {
        let spec = pod_spec(
            r#"
            overhead: {cpu: "5", memory: "5"}
            containers:
            - name: app
              resources:
                requests: {cpu: "1", memory: "10"}
                limits: {cpu: "2"}
            "#,
        );
        let eff = effective_resources(&spec);
        assert_eq!(eff.requests, list(&[("cpu", "6"), ("memory", "15")]));
        assert_eq!(eff.limits, list(&[("cpu", "7")]));
    }

    #[test]
    fn overhead_does_not_create_a_memory_limit_when_only_cpu_is_limited() {
        let spec = pod_spec(
            r#"
            overhead: {cpu: "1", memory: "1Gi"}
            initContainers:
            - {name: init, resources: {limits: {cpu: "2"}}}
            containers:
            - {name: a, resources: {limits: {cpu: "2"}}}
            - {name: b, resources: {limits: {cpu: "3"}}}
            "#,
        );
        assert_eq!(effective_resources(&spec).limits, list(&[("cpu", "6")]));
    }

    // Absent is not zero.

    #[test]
    fn a_resource_no_container_names_is_absent() {
        let spec = pod_spec("containers: [{name: app}]");
        let eff = effective_resources(&spec);
        assert!(eff.requests.is_empty() && eff.limits.is_empty());
    }

    #[test]
    fn an_explicit_zero_is_present() {
        let spec = pod_spec(
            "containers: [{name: app, resources: {requests: {cpu: '0'}, limits: {memory: '0'}}}]",
        );
        let eff = effective_resources(&spec);
        assert_eq!(eff.requests, list(&[("cpu", "0")]));
        assert_eq!(eff.limits, list(&[("memory", "0")]));
    }

    #[test]
    fn overhead_creates_a_request_no_container_names() {
        let spec = pod_spec("overhead: {memory: 64Mi}\ncontainers: [{name: app}]");
        let eff = effective_resources(&spec);
        assert_eq!(eff.requests, list(&[("memory", "64Mi")]));
        assert!(eff.limits.is_empty());
        let d = eff.derivation(Field::Requests, "memory").unwrap();
        assert_eq!(d.aggregated, None);
        assert_eq!(d.overhead, Overhead::Added(q("64Mi")));
    }

    #[test]
    fn overhead_is_not_added_to_a_zero_limit() {
        let spec = pod_spec(
            "overhead: {cpu: 100m}\ncontainers: [{name: app, resources: {limits: {cpu: '0'}}}]",
        );
        let eff = effective_resources(&spec);
        assert_eq!(eff.limits, list(&[("cpu", "0")]));
        let d = eff.derivation(Field::Limits, "cpu").unwrap();
        assert_eq!(d.overhead, Overhead::NotAddedToZeroLimit(q("100m")));
    }

    #[test]
    fn a_container_without_a_limit_adds_nothing_to_the_limits() {
        let spec = pod_spec(
            r#"
            initContainers:
            - {name: proxy, restartPolicy: Always, resources: {requests: {cpu: 100m}}}
            containers:
            - {name: app, resources: {limits: {cpu: 500m}}}
            "#,
        );
        assert_eq!(effective_resources(&spec).limits, list(&[("cpu", "500m")]));
    }

    #[test]
    fn sums_are_exact_and_rounded_only_at_the_end() {
        // Three containers of 0.5m: rounding each up would give 3m.
        let spec = pod_spec(
            r#"
            containers:
            - {name: a, resources: {requests: {cpu: 500u, memory: "0.5"}}}
            - {name: b, resources: {requests: {cpu: 500u, memory: "0.5"}}}
            - {name: c, resources: {requests: {cpu: 500u}}}
            "#,
        );
        let eff = effective_resources(&spec);
        assert_eq!(eff.requests["cpu"], q("1500u"));
        assert_eq!(
            to_integers(&eff.requests),
            BTreeMap::from([("cpu".to_owned(), 2), ("memory".to_owned(), 1)])
        );
    }

    #[test]
    fn every_resource_name_is_aggregated_independently() {
        let spec = pod_spec(
            r#"
            initContainers:
            - {name: init, resources: {requests: {cpu: "2", memory: 10Mi}}}
            containers:
            - {name: app, resources: {requests: {cpu: "1", memory: 1Gi, ephemeral-storage: 1Gi}}}
            "#,
        );
        let eff = effective_resources(&spec);
        assert_eq!(
            eff.requests,
            list(&[
                ("cpu", "2"),
                ("ephemeral-storage", "1Gi"),
                ("memory", "1Gi")
            ])
        );
        assert!(matches!(
            eff.derivation(Field::Requests, "cpu").unwrap().peak,
            Peak::InitStep(0)
        ));
        assert_eq!(
            eff.derivation(Field::Requests, "memory").unwrap().peak,
            Peak::Running
        );
    }

    #[test]
    fn the_steady_state_wins_a_tie_with_an_init_step() {
        let spec = pod_spec(
            r#"
            initContainers: [{name: init, resources: {requests: {cpu: "1"}}}]
            containers: [{name: app, resources: {requests: {cpu: 1000m}}}]
            "#,
        );
        let eff = effective_resources(&spec);
        assert_eq!(
            eff.derivation(Field::Requests, "cpu").unwrap().peak,
            Peak::Running
        );
    }

    #[test]
    fn integers_are_millicores_for_cpu_and_units_rounded_up_otherwise() {
        assert_eq!(to_integer("cpu", &q("1.5")), 1500);
        assert_eq!(to_integer("cpu", &q("1u")), 1);
        assert_eq!(to_integer("memory", &q("1Ki")), 1024);
        assert_eq!(to_integer("memory", &q("1m")), 1);
        assert_eq!(to_integer("hugepages-2Mi", &q("4Mi")), 4 << 20);
    }
}
