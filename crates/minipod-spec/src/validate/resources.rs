//! `containers[].resources` and `spec.overhead`: resource names, quantities,
//! and requests against limits.
//!
//! Mirrors `ValidateContainerResourceRequirements`,
//! `validateResourceRequirements`, `validateContainerResourceName`,
//! `validateResourceName`, `ValidateResourceQuantityValue`,
//! `ValidateNonnegativeQuantity`, `validateResourceQuantityHugePageValue`
//! and `validateOverhead` in `pkg/apis/core/validation/validation.go`, with
//! the resource-name helpers of `pkg/apis/core/helper/helpers.go`.
//!
//! Kubernetes walks these maps in random order; minipod walks them sorted
//! by resource name so the output is stable.

use super::names::is_qualified_name;
use crate::field_error::{FieldError, quote};
use crate::model::{ResourceList, ResourceRequirements};
use crate::quantity::Quantity;

const HUGE_PAGES_PREFIX: &str = "hugepages-";
const DEFAULT_NAMESPACE_PREFIX: &str = "kubernetes.io/";
const REQUESTS_PREFIX: &str = "requests.";

/// `standardResources` (plus quota huge pages, see [`is_standard_resource_name`]).
const STANDARD_RESOURCES: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "quotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "storage",
    "requests.storage",
    "services.nodeports",
    "services.loadbalancers",
];

/// `integerResources`: counted things.
const INTEGER_RESOURCES: &[&str] = &[
    "pods",
    "quotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];

/// `ValidateContainerResourceRequirements`.
pub(super) fn validate_container_resources(
    resources: &ResourceRequirements,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    validate_resource_requirements(&resources.limits, &resources.requests, path, errs);
}

/// `validateOverhead`: the overhead is checked as a container's limits
/// (so errors read `spec.overhead.limits[cpu]`, as in Kubernetes).
pub(super) fn validate_overhead(overhead: &ResourceList, errs: &mut Vec<FieldError>) {
    validate_resource_requirements(overhead, &ResourceList::new(), "spec.overhead", errs);
}

/// `validateResourceRequirements` with `validateContainerResourceName`.
fn validate_resource_requirements(
    limits: &ResourceList,
    requests: &ResourceList,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let limits_path = format!("{path}.limits");
    let requests_path = format!("{path}.requests");
    let mut cpu_or_memory = false;
    let mut huge_pages = false;

    for (name, quantity) in limits {
        let field = format!("{limits_path}[{name}]");
        validate_container_resource_name(name, &field, errs);
        validate_resource_quantity_value(name, quantity, &field, errs);
        if is_huge_page_resource_name(name) {
            huge_pages = true;
            validate_huge_page_value(name, quantity, &field, errs);
        }
        cpu_or_memory |= name == "cpu" || name == "memory";
    }

    for (name, quantity) in requests {
        let field = format!("{requests_path}[{name}]");
        validate_container_resource_name(name, &field, errs);
        validate_resource_quantity_value(name, quantity, &field, errs);

        if let Some(limit) = limits.get(name) {
            if quantity != limit && !is_overcommit_allowed(name) {
                errs.push(FieldError::invalid(
                    &requests_path,
                    quote(&quantity.to_string()),
                    format!("must be equal to {name} limit of {limit}"),
                ));
            } else if quantity > limit {
                errs.push(FieldError::invalid(
                    &requests_path,
                    quote(&quantity.to_string()),
                    format!("must be less than or equal to {name} limit of {limit}"),
                ));
            }
        } else if !is_overcommit_allowed(name) {
            errs.push(FieldError::required(
                &limits_path,
                "Limit must be set for non overcommitable resources",
            ));
        }

        if is_huge_page_resource_name(name) {
            huge_pages = true;
            validate_huge_page_value(name, quantity, &field, errs);
        }
        cpu_or_memory |= name == "cpu" || name == "memory";
    }

    if huge_pages && !cpu_or_memory {
        errs.push(FieldError::forbidden(
            path,
            "HugePages require cpu or memory",
        ));
    }
}

/// `validateContainerResourceName` (after `validateResourceName`).
fn validate_container_resource_name(name: &str, field: &str, errs: &mut Vec<FieldError>) {
    let qualified: Vec<String> = is_qualified_name(name);
    let name_ok = qualified.is_empty();
    for msg in qualified {
        errs.push(FieldError::invalid(field, quote(name), msg));
    }
    let single_segment = !name.contains('/');
    if name_ok && single_segment && !is_standard_resource_name(name) {
        errs.push(FieldError::invalid(
            field,
            quote(name),
            "must be a standard resource type or fully qualified",
        ));
    }
    if single_segment {
        if !is_standard_container_resource_name(name) {
            errs.push(FieldError::invalid(
                field,
                quote(name),
                "must be a standard resource for containers",
            ));
        }
    } else if !is_native_resource(name) && !is_extended_resource_name(name) {
        errs.push(FieldError::invalid(
            field,
            quote(name),
            "doesn't follow extended resource name standard",
        ));
    }
}

/// `ValidateResourceQuantityValue`: not negative; whole numbers for
/// counted and extended resources.
fn validate_resource_quantity_value(
    name: &str,
    quantity: &Quantity,
    field: &str,
    errs: &mut Vec<FieldError>,
) {
    if quantity.is_negative() {
        errs.push(FieldError::invalid(
            field,
            quote(&quantity.to_string()),
            "must be greater than or equal to 0",
        ));
    }
    if is_integer_resource_name(name) && quantity.milli_value() % 1000 != 0 {
        // Kubernetes passes the Quantity itself here, which prints unquoted.
        errs.push(FieldError::invalid(
            field,
            quantity.to_string(),
            "must be an integer",
        ));
    }
}

/// `validateResourceQuantityHugePageValue`: a whole number of pages.
fn validate_huge_page_value(
    name: &str,
    quantity: &Quantity,
    field: &str,
    errs: &mut Vec<FieldError>,
) {
    if !is_huge_page_value_divisible(name, quantity) {
        errs.push(FieldError::invalid(
            field,
            quote(&quantity.to_string()),
            format!("{quantity} is not positive integer multiple of {name}"),
        ));
    }
}

/// `IsHugePageResourceValueDivisible`.
fn is_huge_page_value_divisible(name: &str, quantity: &Quantity) -> bool {
    let Some(size) = name.strip_prefix(HUGE_PAGES_PREFIX) else {
        return false;
    };
    let Ok(page) = Quantity::parse(size) else {
        return false;
    };
    if page.is_negative() || page.is_zero() || page.milli_value() % 1000 != 0 {
        return false;
    }
    let page_bytes = page.value();
    page_bytes != 0 && quantity.value() % page_bytes == 0
}

/// `IsHugePageResourceName`.
fn is_huge_page_resource_name(name: &str) -> bool {
    name.starts_with(HUGE_PAGES_PREFIX)
}

/// `IsStandardResourceName`.
fn is_standard_resource_name(name: &str) -> bool {
    STANDARD_RESOURCES.contains(&name)
        || name.starts_with(HUGE_PAGES_PREFIX)
        || name.starts_with("requests.hugepages-")
}

/// `IsStandardContainerResourceName`: cpu, memory, ephemeral-storage, huge pages.
fn is_standard_container_resource_name(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage") || is_huge_page_resource_name(name)
}

/// `IsNativeResource`: unprefixed, or in a `kubernetes.io/` namespace.
fn is_native_resource(name: &str) -> bool {
    !name.contains('/') || name.contains(DEFAULT_NAMESPACE_PREFIX)
}

/// `IsExtendedResourceName`: e.g. `example.com/gpu`.
fn is_extended_resource_name(name: &str) -> bool {
    if is_native_resource(name) || name.starts_with(REQUESTS_PREFIX) {
        return false;
    }
    is_qualified_name(&format!("{REQUESTS_PREFIX}{name}")).is_empty()
}

/// `IsOvercommitAllowed`: native and not huge pages.
fn is_overcommit_allowed(name: &str) -> bool {
    is_native_resource(name) && !is_huge_page_resource_name(name)
}

/// `IsIntegerResourceName`.
fn is_integer_resource_name(name: &str) -> bool {
    INTEGER_RESOURCES.contains(&name) || is_extended_resource_name(name)
}

#[cfg(test)]
mod tests {
    use crate::validate::fixture::{Case, check, q};

    /// These cases compare quantities, so they need `crate::quantity`.
    #[test]
    fn resource_rules() {
        check(&[
            Case {
                name: "requests_must_not_exceed_limits",
                mutate: |p| {
                    let r = &mut p.spec.containers[0].resources;
                    r.limits.insert("cpu".into(), q("500m"));
                    r.requests.insert("cpu".into(), q("1"));
                    r.limits.insert("memory".into(), q("128Mi"));
                    r.requests.insert("memory".into(), q("64Mi"));
                },
                want: &[
                    r#"spec.containers[0].resources.requests: Invalid value: "1": must be less than or equal to cpu limit of 500m"#,
                ],
            },
            Case {
                name: "quantities_must_not_be_negative",
                mutate: |p| {
                    p.spec.containers[0]
                        .resources
                        .requests
                        .insert("memory".into(), q("-1Gi"));
                },
                want: &[
                    r#"spec.containers[0].resources.requests[memory]: Invalid value: "-1Gi": must be greater than or equal to 0"#,
                ],
            },
            Case {
                name: "requests_print_the_canonical_quantity",
                mutate: |p| {
                    let r = &mut p.spec.containers[0].resources;
                    r.limits.insert("cpu".into(), q("0.5"));
                    r.requests.insert("cpu".into(), q("1.5"));
                },
                want: &[
                    r#"spec.containers[0].resources.requests: Invalid value: "1500m": must be less than or equal to cpu limit of 500m"#,
                ],
            },
            Case {
                name: "extended_resources_must_be_integers_and_requests_equal_limits",
                mutate: |p| {
                    let r = &mut p.spec.containers[0].resources;
                    r.limits.insert("example.com/gpu".into(), q("2"));
                    r.requests.insert("example.com/gpu".into(), q("1500m"));
                },
                want: &[
                    "spec.containers[0].resources.requests[example.com/gpu]: Invalid value: 1500m: must be an integer",
                    r#"spec.containers[0].resources.requests: Invalid value: "1500m": must be equal to example.com/gpu limit of 2"#,
                ],
            },
            Case {
                name: "extended_resource_requests_need_a_limit",
                mutate: |p| {
                    p.spec.containers[0]
                        .resources
                        .requests
                        .insert("example.com/gpu".into(), q("1"));
                },
                want: &[
                    "spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources",
                ],
            },
            Case {
                name: "hugepages_require_cpu_or_memory_and_whole_pages",
                mutate: |p| {
                    let r = &mut p.spec.containers[0].resources;
                    r.limits.insert("hugepages-2Mi".into(), q("3Mi"));
                    r.requests.insert("hugepages-2Mi".into(), q("3Mi"));
                },
                want: &[
                    r#"spec.containers[0].resources.limits[hugepages-2Mi]: Invalid value: "3Mi": 3Mi is not positive integer multiple of hugepages-2Mi"#,
                    r#"spec.containers[0].resources.requests[hugepages-2Mi]: Invalid value: "3Mi": 3Mi is not positive integer multiple of hugepages-2Mi"#,
                    "spec.containers[0].resources: Forbidden: HugePages require cpu or memory",
                ],
            },
            Case {
                name: "overhead_quantities_are_checked_as_limits",
                mutate: |p| {
                    let mut overhead = crate::model::ResourceList::new();
                    overhead.insert("cpu".into(), q("-100m"));
                    p.spec.overhead = Some(overhead);
                },
                want: &[
                    r#"spec.overhead.limits[cpu]: Invalid value: "-100m": must be greater than or equal to 0"#,
                ],
            },
        ]);
    }

    /// Resource names do not need quantities compared.
    #[test]
    fn resource_name_rules() {
        check(&[
            Case {
                name: "resource_names_must_be_standard_for_containers",
                mutate: |p| {
                    let r = &mut p.spec.containers[0].resources;
                    r.limits.insert("gpu".into(), q("1"));
                    r.limits.insert("pods".into(), q("1"));
                },
                want: &[
                    r#"spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource type or fully qualified"#,
                    r#"spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers"#,
                    r#"spec.containers[0].resources.limits[pods]: Invalid value: "pods": must be a standard resource for containers"#,
                ],
            },
            Case {
                name: "extended_resource_names_follow_the_standard",
                mutate: |p| {
                    let r = &mut p.spec.containers[0].resources;
                    r.limits.insert("requests.example.com/gpu".into(), q("1"));
                    r.requests.insert("requests.example.com/gpu".into(), q("1"));
                },
                want: &[
                    r#"spec.containers[0].resources.limits[requests.example.com/gpu]: Invalid value: "requests.example.com/gpu": doesn't follow extended resource name standard"#,
                    r#"spec.containers[0].resources.requests[requests.example.com/gpu]: Invalid value: "requests.example.com/gpu": doesn't follow extended resource name standard"#,
                ],
            },
        ]);
    }
}
