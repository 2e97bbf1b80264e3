//! Properties of the planning rules over random pods: random init
//! containers, sidecars and app containers with random cpu and memory
//! requests and limits (zeros included), shaped as the API server leaves
//! them (a missing request defaults to its limit; requests ≤ limits).

use minipod_plan::cgroup::{has_non_zero_limit, pod_cgroup};
use minipod_plan::qos::{QosClass, qos_class};
use minipod_plan::resources::{CPU, MEMORY, effective_resources};
use minipod_spec::Quantity;
use minipod_spec::enums::ContainerRestartPolicy;
use minipod_spec::model::{Container, PodSpec, ResourceList};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Init,
    Sidecar,
    App,
}

/// One container: kind, and (request, limit) for cpu in millicores and
/// memory in Mi.
#[derive(Debug, Clone)]
struct Shape {
    kind: Kind,
    cpu: (Option<u32>, Option<u32>),
    memory: (Option<u32>, Option<u32>),
}

fn amount() -> impl Strategy<Value = Option<u32>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(0)),
        6 => (1u32..=4000).prop_map(Some),
    ]
}

/// A request and a limit as the API server leaves them.
fn request_and_limit() -> impl Strategy<Value = (Option<u32>, Option<u32>)> {
    (amount(), amount()).prop_map(|(request, limit)| match (request, limit) {
        (request, Some(limit)) => (Some(request.unwrap_or(limit).min(limit)), Some(limit)),
        (request, None) => (request, None),
    })
}

fn shape(kinds: impl Strategy<Value = Kind>) -> impl Strategy<Value = Shape> {
    (kinds, request_and_limit(), request_and_limit()).prop_map(|(kind, cpu, memory)| Shape {
        kind,
        cpu,
        memory,
    })
}

fn init_kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Init), Just(Kind::Sidecar)]
}

fn pod_shapes() -> impl Strategy<Value = (Vec<Shape>, Vec<Shape>)> {
    (
        prop::collection::vec(shape(init_kind()), 0..5),
        prop::collection::vec(shape(Just(Kind::App)), 1..4),
    )
}

fn quantity(resource: &str, n: u32) -> Quantity {
    let text = if resource == CPU {
        format!("{n}m")
    } else {
        format!("{n}Mi")
    };
    Quantity::parse(&text).expect("a valid quantity")
}

fn container(name: String, s: &Shape) -> Container {
    let mut c = Container {
        name,
        image: Some("busybox".into()),
        restart_policy: (s.kind == Kind::Sidecar).then_some(ContainerRestartPolicy::Always),
        ..Container::default()
    };
    for (resource, (request, limit)) in [(CPU, s.cpu), (MEMORY, s.memory)] {
        if let Some(n) = request {
            c.resources
                .requests
                .insert(resource.into(), quantity(resource, n));
        }
        if let Some(n) = limit {
            c.resources
                .limits
                .insert(resource.into(), quantity(resource, n));
        }
    }
    c
}

fn spec(init: &[Shape], apps: &[Shape]) -> PodSpec {
    PodSpec {
        init_containers: init
            .iter()
            .enumerate()
            .map(|(i, s)| container(format!("init-{i}"), s))
            .collect(),
        containers: apps
            .iter()
            .enumerate()
            .map(|(i, s)| container(format!("app-{i}"), s))
            .collect(),
        ..PodSpec::default()
    }
}

fn sum(amounts: impl IntoIterator<Item = Quantity>) -> Option<Quantity> {
    amounts.into_iter().fold(None, |acc, q| match acc {
        None => Some(q),
        Some(a) => Some(a.checked_add(&q).expect("small sums fit")),
    })
}

/// Every amount one container (with the sidecars running at that moment)
/// needs: each app with all sidecars, each init container with the sidecars
/// declared before it.
fn needs(spec: &PodSpec, resource: &str) -> Vec<Quantity> {
    let get = |c: &Container| c.resources.requests.get(resource).cloned();
    let all_sidecars = spec
        .init_containers
        .iter()
        .filter(|c| c.is_restartable_init());
    let apps_and_sidecars = sum(spec.containers.iter().chain(all_sidecars).filter_map(get));
    let mut out: Vec<Quantity> = apps_and_sidecars.into_iter().collect();
    for (i, c) in spec.init_containers.iter().enumerate() {
        if c.is_restartable_init() {
            continue;
        }
        let before = spec.init_containers[..i]
            .iter()
            .filter(|s| s.is_restartable_init());
        out.extend(sum(before.chain([c]).filter_map(get)));
    }
    out
}

fn request(spec: &PodSpec, resource: &str) -> Option<Quantity> {
    effective_resources(spec).requests.get(resource).cloned()
}

fn limits_list(c: &Container) -> &ResourceList {
    &c.resources.limits
}

fn all(spec: &PodSpec) -> impl Iterator<Item = &Container> {
    spec.init_containers.iter().chain(&spec.containers)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_effective_request_covers_every_containers_need((init, apps) in pod_shapes()) {
        let spec = spec(&init, &apps);
        for resource in [CPU, MEMORY] {
            let need = needs(&spec, resource);
            let effective = request(&spec, resource);
            prop_assert_eq!(effective.is_some(), !need.is_empty());
            for n in need {
                prop_assert!(effective.as_ref().is_some_and(|e| *e >= n), "{resource}: {effective:?} < {n:?}");
            }
        }
    }

    #[test]
    fn the_effective_request_is_the_largest_need((init, apps) in pod_shapes()) {
        let spec = spec(&init, &apps);
        for resource in [CPU, MEMORY] {
            prop_assert_eq!(request(&spec, resource), needs(&spec, resource).into_iter().max());
        }
    }

    #[test]
    fn adding_a_sidecar_never_lowers_the_effective_request(
        (init, apps) in pod_shapes(),
        extra in shape(Just(Kind::Sidecar)),
        at in any::<prop::sample::Index>(),
    ) {
        let before = spec(&init, &apps);
        let mut with = init.clone();
        with.insert(at.index(init.len() + 1), extra);
        let after = spec(&with, &apps);
        for resource in [CPU, MEMORY] {
            let (b, a) = (request(&before, resource), request(&after, resource));
            prop_assert!(b.is_none() || a >= b, "{resource}: {b:?} -> {a:?}");
        }
    }

    #[test]
    fn adding_an_app_container_never_lowers_the_effective_request(
        (init, apps) in pod_shapes(),
        extra in shape(Just(Kind::App)),
    ) {
        let before = spec(&init, &apps);
        let mut with = apps.clone();
        with.push(extra);
        let after = spec(&init, &with);
        for resource in [CPU, MEMORY] {
            let (b, a) = (request(&before, resource), request(&after, resource));
            prop_assert!(b.is_none() || a >= b, "{resource}: {b:?} -> {a:?}");
        }
    }

    #[test]
    fn a_limit_is_present_only_if_some_container_names_it((init, apps) in pod_shapes()) {
        let spec = spec(&init, &apps);
        let limits = effective_resources(&spec).limits;
        for resource in [CPU, MEMORY] {
            let named = all(&spec).any(|c| limits_list(c).contains_key(resource));
            prop_assert_eq!(limits.contains_key(resource), named, "{}", resource);
        }
    }

    #[test]
    fn the_pod_has_a_cpu_quota_iff_every_container_has_a_cpu_limit((init, apps) in pod_shapes()) {
        let spec = spec(&init, &apps);
        let class = qos_class(&spec);
        let (values, _) = pod_cgroup(&spec, &effective_resources(&spec), class);
        if class == QosClass::BestEffort {
            prop_assert_eq!(values.cpu_quota_us, None);
            prop_assert_eq!(values.memory_limit_bytes, None);
            prop_assert_eq!(values.cpu_shares, 2);
        } else {
            let every_cpu = all(&spec).all(|c| has_non_zero_limit(c, CPU));
            let every_memory = all(&spec).all(|c| has_non_zero_limit(c, MEMORY));
            prop_assert_eq!(values.cpu_quota_us.is_some(), every_cpu);
            prop_assert_eq!(values.memory_limit_bytes.is_some(), every_memory);
            prop_assert_eq!(values.cpu_max.starts_with("max "), !every_cpu);
            prop_assert_eq!(values.memory_max == "max", !every_memory);
        }
    }

    #[test]
    fn guaranteed_iff_every_container_limits_cpu_and_memory_to_its_requests((init, apps) in pod_shapes()) {
        let spec = spec(&init, &apps);
        let guaranteed_shape = all(&spec).all(|c| {
            [CPU, MEMORY].into_iter().all(|r| {
                let limit = c.resources.limits.get(r);
                limit.is_some_and(|l| !l.is_zero()) && c.resources.requests.get(r) == limit
            })
        });
        prop_assert_eq!(qos_class(&spec) == QosClass::Guaranteed, guaranteed_shape);
    }
}
