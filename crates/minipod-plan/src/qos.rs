//! The pod's QoS class (spec §3.4; Kubernetes `ComputePodQOS` in
//! `pkg/apis/core/v1/helper/qos/qos.go`).
//!
//! Every container counts — app containers, init containers and sidecars —
//! but only `cpu` and `memory`, and only amounts above zero. Overhead never
//! counts.
//!
//! * **BestEffort**: no container requests or limits any cpu or memory.
//! * **Guaranteed**: every container has a cpu and a memory limit, and the
//!   summed requests equal the summed limits for both resources. (With the
//!   API server's defaulting — a missing request defaults to the limit — and
//!   its validation — a request never exceeds its limit — this means every
//!   container's requests equal its limits.)
//! * **Burstable**: anything else.

use std::collections::BTreeMap;

use minipod_spec::Quantity;
use minipod_spec::model::{Container, PodSpec, ResourceList};
use serde::Serialize;

use crate::resources::{CPU, MEMORY, add};
use crate::roles::{Role, containers_in_start_order};

/// Kubernetes' `PodQOSClass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum QosClass {
    Guaranteed,
    Burstable,
    BestEffort,
}

impl QosClass {
    pub fn as_str(self) -> &'static str {
        match self {
            QosClass::Guaranteed => "Guaranteed",
            QosClass::Burstable => "Burstable",
            QosClass::BestEffort => "BestEffort",
        }
    }
}

impl std::fmt::Display for QosClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the pod has its class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QosReason {
    /// BestEffort: no cpu or memory request or limit above zero anywhere.
    NothingSet,
    /// Guaranteed: every container limits cpu and memory, requests = limits.
    LimitsEqualRequests,
    /// Burstable: this container (the first in start order) lacks a cpu or
    /// memory limit above zero.
    MissingLimit {
        container: String,
        role: Role,
        resource: &'static str,
    },
    /// Burstable: summed over all containers, requests and limits of this
    /// resource differ (`None` = no amount above zero).
    RequestsDifferFromLimits {
        resource: &'static str,
        requests: Option<Quantity>,
        limits: Option<Quantity>,
    },
}

/// The class and the reason for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QosVerdict {
    pub class: QosClass,
    pub reason: QosReason,
}

/// The QoS class of a pod spec.
pub fn qos_class(spec: &PodSpec) -> QosClass {
    qos_verdict(spec).class
}

/// The QoS class of a pod spec, with the reason.
pub fn qos_verdict(spec: &PodSpec) -> QosVerdict {
    let mut requests: BTreeMap<&'static str, Quantity> = BTreeMap::new();
    let mut limits: BTreeMap<&'static str, Quantity> = BTreeMap::new();
    let mut missing_limit: Option<QosReason> = None;

    for (container, role) in containers_in_start_order(spec) {
        accumulate(&mut requests, &container.resources.requests);
        accumulate(&mut limits, &container.resources.limits);
        if missing_limit.is_none()
            && let Some(resource) = first_missing_limit(container)
        {
            missing_limit = Some(QosReason::MissingLimit {
                container: container.name.clone(),
                role,
                resource,
            });
        }
    }

    if requests.is_empty() && limits.is_empty() {
        return QosVerdict {
            class: QosClass::BestEffort,
            reason: QosReason::NothingSet,
        };
    }
    if let Some(reason) = missing_limit {
        return QosVerdict {
            class: QosClass::Burstable,
            reason,
        };
    }
    // Every container limits both resources, so `limits` has cpu and memory;
    // the class is Guaranteed iff `requests` has exactly the same values.
    for resource in [CPU, MEMORY] {
        if requests.get(resource) != limits.get(resource) {
            return QosVerdict {
                class: QosClass::Burstable,
                reason: QosReason::RequestsDifferFromLimits {
                    resource,
                    requests: requests.get(resource).cloned(),
                    limits: limits.get(resource).cloned(),
                },
            };
        }
    }
    QosVerdict {
        class: QosClass::Guaranteed,
        reason: QosReason::LimitsEqualRequests,
    }
}

/// Adds the cpu and memory amounts above zero of `list` to `sums`.
fn accumulate(sums: &mut BTreeMap<&'static str, Quantity>, list: &ResourceList) {
    for resource in [CPU, MEMORY] {
        let Some(amount) = list.get(resource).filter(|q| is_positive(q)) else {
            continue;
        };
        let total = match sums.get(resource) {
            Some(so_far) => add(so_far, amount),
            None => amount.clone(),
        };
        sums.insert(resource, total);
    }
}

/// The first of cpu, memory that the container does not limit above zero.
fn first_missing_limit(container: &Container) -> Option<&'static str> {
    [CPU, MEMORY]
        .into_iter()
        .find(|r| !container.resources.limits.get(*r).is_some_and(is_positive))
}

fn is_positive(q: &Quantity) -> bool {
    !q.is_zero() && !q.is_negative()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::pod_spec;

    fn class(yaml: &str) -> QosClass {
        qos_class(&pod_spec(yaml))
    }

    // Spec §3.4 examples (qos_test.go).

    #[test]
    fn equal_cpu_and_memory_requests_and_limits_are_guaranteed() {
        assert_eq!(
            class(
                "containers: [{name: a, resources: {requests: {cpu: 100m, memory: 100Mi}, \
                 limits: {cpu: 100m, memory: 100Mi}}}]"
            ),
            QosClass::Guaranteed
        );
    }

    #[test]
    fn requests_without_limits_are_burstable() {
        assert_eq!(
            class("containers: [{name: a, resources: {requests: {cpu: 100m, memory: 100Mi}}}]"),
            QosClass::Burstable
        );
    }

    #[test]
    fn a_best_effort_app_with_a_burstable_init_container_is_burstable() {
        assert_eq!(
            class(
                "initContainers: [{name: i, resources: {requests: {cpu: 100m}}}]\n\
                 containers: [{name: a}]"
            ),
            QosClass::Burstable
        );
    }

    #[test]
    fn a_sidecar_without_resources_next_to_a_guaranteed_app_makes_the_pod_burstable() {
        let spec = pod_spec(
            r#"
            initContainers: [{name: proxy, restartPolicy: Always}]
            containers:
            - name: app
              resources: {requests: {cpu: 100m, memory: 100Mi}, limits: {cpu: 100m, memory: 100Mi}}
            "#,
        );
        let verdict = qos_verdict(&spec);
        assert_eq!(verdict.class, QosClass::Burstable);
        assert_eq!(
            verdict.reason,
            QosReason::MissingLimit {
                container: "proxy".into(),
                role: Role::Sidecar,
                resource: CPU
            }
        );
    }

    #[test]
    fn hugepages_alone_are_best_effort() {
        assert_eq!(
            class(
                "containers: [{name: a, resources: {requests: {hugepages-2Mi: 2Mi}, \
                 limits: {hugepages-2Mi: 2Mi}}}]"
            ),
            QosClass::BestEffort
        );
    }

    #[test]
    fn no_resources_at_all_are_best_effort() {
        let verdict = qos_verdict(&pod_spec("containers: [{name: a}, {name: b}]"));
        assert_eq!(verdict.class, QosClass::BestEffort);
        assert_eq!(verdict.reason, QosReason::NothingSet);
    }

    #[test]
    fn zero_amounts_do_not_count() {
        assert_eq!(
            class(
                "containers: [{name: a, resources: {requests: {cpu: '0'}, limits: {memory: '0'}}}]"
            ),
            QosClass::BestEffort
        );
    }

    #[test]
    fn overhead_does_not_count_for_qos() {
        assert_eq!(
            class("overhead: {cpu: 100m, memory: 10Mi}\ncontainers: [{name: a}]"),
            QosClass::BestEffort
        );
    }

    #[test]
    fn limits_only_on_a_raw_spec_are_burstable_until_defaulting_copies_them_to_requests() {
        // Kubernetes' own unit tests run on raw specs; an admitted pod would
        // have requests defaulted from the limits and be Guaranteed.
        assert_eq!(
            class("containers: [{name: a, resources: {limits: {cpu: 100m, memory: 100Mi}}}]"),
            QosClass::Burstable
        );
    }

    #[test]
    fn every_container_including_init_containers_must_be_limited_for_guaranteed() {
        let spec = pod_spec(
            r#"
            initContainers:
            - name: init
              resources: {requests: {cpu: 100m, memory: 1Mi}, limits: {cpu: 100m, memory: 1Mi}}
            containers:
            - name: app
              resources: {requests: {cpu: "1", memory: 1Gi}, limits: {cpu: "1", memory: 1Gi}}
            "#,
        );
        assert_eq!(qos_class(&spec), QosClass::Guaranteed);
    }

    #[test]
    fn a_cpu_request_below_its_limit_is_burstable_and_names_the_resource() {
        let spec = pod_spec(
            "containers: [{name: a, resources: {requests: {cpu: 100m, memory: 1Gi}, \
             limits: {cpu: 200m, memory: 1Gi}}}]",
        );
        let verdict = qos_verdict(&spec);
        assert_eq!(verdict.class, QosClass::Burstable);
        assert!(matches!(
            verdict.reason,
            QosReason::RequestsDifferFromLimits {
                resource: "cpu",
                ..
            }
        ));
    }

    #[test]
    fn an_explicit_zero_cpu_request_with_limits_is_burstable() {
        assert_eq!(
            class(
                "containers: [{name: a, resources: {requests: {cpu: '0', memory: 1Gi}, \
                 limits: {cpu: 200m, memory: 1Gi}}}]"
            ),
            QosClass::Burstable
        );
    }
}
