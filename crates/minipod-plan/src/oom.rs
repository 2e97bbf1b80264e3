//! Each container's `oom_score_adj` (spec §3.5; kubelet
//! `GetContainerOOMScoreAdjust` in `pkg/kubelet/qos/policy.go`).
//!
//! The kernel's OOM killer picks the process with the highest score, which
//! is roughly its share of memory in thousandths plus `oom_score_adj`
//! (−1000…1000). The kubelet sets the adjustment from the pod's QoS class:
//!
//! * node-critical pods and Guaranteed pods: **−997** (killed last);
//! * BestEffort pods: **1000** (killed first);
//! * Burstable: `1000 − 1000 · memoryRequest / memoryCapacity` (integer
//!   division), so a container that requested 10% of the node's memory gets
//!   900 and reaches 1000 only when it uses more than it asked for. A sidecar
//!   is never more killable than the app container with the smallest memory
//!   request: its score is capped at that app's score. The result is kept in
//!   3…999 — above any Guaranteed container, below any BestEffort one.

use minipod_spec::model::{Container, PodSpec};

use crate::qos::QosClass;
use crate::resources::{MEMORY, to_integer};
use crate::roles::Role;

/// The score of Guaranteed and node-critical containers.
pub const GUARANTEED_OOM_SCORE_ADJ: i64 = -997;
/// The score of BestEffort containers.
pub const BEST_EFFORT_OOM_SCORE_ADJ: i64 = 1000;
/// The lowest score a Burstable container gets (`1000 + GUARANTEED_OOM_SCORE_ADJ`).
pub const MIN_BURSTABLE_OOM_SCORE_ADJ: i64 = 3;
/// The highest score a Burstable container gets.
pub const MAX_BURSTABLE_OOM_SCORE_ADJ: i64 = 999;

/// The priority class of pods the node cannot work without.
pub const SYSTEM_NODE_CRITICAL: &str = "system-node-critical";
/// The lowest priority Kubernetes considers critical (`SystemCriticalPriority`).
pub const SYSTEM_CRITICAL_PRIORITY: i32 = 2_000_000_000;

/// Why a container has its score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OomReason {
    /// The pod's priority class is `system-node-critical`.
    NodeCritical,
    Guaranteed,
    BestEffort,
    Burstable {
        /// The container's memory request in bytes (0 if none).
        request_bytes: i64,
        capacity_bytes: i64,
        /// `1000 − 1000 · request / capacity`.
        from_request: i64,
        /// For a sidecar: the smallest app memory request and its score.
        sidecar_cap: Option<SidecarCap>,
        /// The score before clamping to 3…999.
        unclamped: i64,
    },
}

/// The sidecar rule: a sidecar's score is at most the score of the app
/// container with the smallest memory request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SidecarCap {
    pub min_app_request_bytes: i64,
    pub score: i64,
}

/// A container's `oom_score_adj` and the reason for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OomScore {
    pub score: i64,
    pub reason: OomReason,
}

/// True for a pod Kubernetes treats as node-critical: priority class
/// `system-node-critical`.
///
/// Kubernetes asks for the class name *and* a critical pod; the Priority
/// admission plugin resolves that class to priority 2000001000 (critical)
/// and rejects a pod that states another priority, and static pods (which
/// `minipod run` pods resemble) are critical regardless. So the class name
/// decides, unless the manifest states a priority below the critical range.
pub fn is_node_critical(spec: &PodSpec) -> bool {
    spec.priority_class_name.as_deref() == Some(SYSTEM_NODE_CRITICAL)
        && spec.priority.is_none_or(|p| p >= SYSTEM_CRITICAL_PRIORITY)
}

/// The `oom_score_adj` of `container` (of role `role`) in a pod of class
/// `qos_class`, on a node with `capacity_bytes` of memory.
///
/// `capacity_bytes` must be positive; anything less is treated as 1 byte
/// (Kubernetes would divide by zero).
pub fn oom_score_adj(
    spec: &PodSpec,
    qos_class: QosClass,
    container: &Container,
    role: Role,
    capacity_bytes: i64,
) -> OomScore {
    if is_node_critical(spec) {
        return OomScore {
            score: GUARANTEED_OOM_SCORE_ADJ,
            reason: OomReason::NodeCritical,
        };
    }
    match qos_class {
        QosClass::Guaranteed => {
            return OomScore {
                score: GUARANTEED_OOM_SCORE_ADJ,
                reason: OomReason::Guaranteed,
            };
        }
        QosClass::BestEffort => {
            return OomScore {
                score: BEST_EFFORT_OOM_SCORE_ADJ,
                reason: OomReason::BestEffort,
            };
        }
        QosClass::Burstable => {}
    }

    let capacity_bytes = capacity_bytes.max(1);
    let request_bytes = memory_request_bytes(container);
    let from_request = score_for_request(request_bytes, capacity_bytes);
    let mut unclamped = from_request;
    let mut sidecar_cap = None;
    if role == Role::Sidecar {
        // Every valid pod has an app container; without one the rule has
        // nothing to compare with.
        if let Some(min_app) = spec.containers.iter().map(memory_request_bytes).min() {
            let score = score_for_request(min_app, capacity_bytes);
            unclamped = unclamped.min(score);
            sidecar_cap = Some(SidecarCap {
                min_app_request_bytes: min_app,
                score,
            });
        }
    }
    let score = if unclamped < MIN_BURSTABLE_OOM_SCORE_ADJ {
        MIN_BURSTABLE_OOM_SCORE_ADJ
    } else if unclamped == BEST_EFFORT_OOM_SCORE_ADJ {
        MAX_BURSTABLE_OOM_SCORE_ADJ
    } else {
        unclamped
    };
    OomScore {
        score,
        reason: OomReason::Burstable {
            request_bytes,
            capacity_bytes,
            from_request,
            sidecar_cap,
            unclamped,
        },
    }
}

/// A container's memory request in bytes; 0 when it has none.
fn memory_request_bytes(container: &Container) -> i64 {
    container
        .resources
        .requests
        .get(MEMORY)
        .map_or(0, |q| to_integer(MEMORY, q))
}

/// `1000 − ⌊1000 · request / capacity⌋`, in `i128` so no request overflows.
fn score_for_request(request_bytes: i64, capacity_bytes: i64) -> i64 {
    let share = 1000 * i128::from(request_bytes) / i128::from(capacity_bytes);
    let score = 1000 - share;
    // Clamped to i64 only for absurd requests (> 9e15 × capacity); the
    // Burstable clamp then gives 3 either way.
    i64::try_from(score.clamp(i128::from(i64::MIN), i128::from(i64::MAX))).unwrap_or(i64::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qos::qos_class;
    use crate::roles::containers_in_start_order;
    use crate::test_support::pod_spec;

    /// The score of the first app container.
    fn app_score(yaml: &str, capacity: i64) -> i64 {
        scores(yaml, capacity)
            .into_iter()
            .find(|(_, r, _)| *r == Role::App)
            .unwrap()
            .2
    }

    fn scores(yaml: &str, capacity: i64) -> Vec<(String, Role, i64)> {
        let spec = pod_spec(yaml);
        let class = qos_class(&spec);
        containers_in_start_order(&spec)
            .map(|(c, role)| {
                (
                    c.name.clone(),
                    role,
                    oom_score_adj(&spec, class, c, role, capacity).score,
                )
            })
            .collect()
    }

    // Spec §3.5 / policy_test.go (raw specs, as Kubernetes tests them).

    #[test]
    fn cpu_limit_only_is_burstable_with_no_memory_request_so_999() {
        assert_eq!(
            app_score(
                "containers: [{name: a, resources: {limits: {cpu: '10'}}}]",
                4_000_000_000
            ),
            999
        );
    }

    #[test]
    fn memory_limit_with_zero_cpu_request_and_no_memory_request_is_999() {
        assert_eq!(
            app_score(
                "containers: [{name: a, resources: {requests: {cpu: '0'}, limits: {memory: 10G}}}]",
                8_000_000_000
            ),
            999
        );
    }

    #[test]
    fn a_zero_memory_limit_alone_is_best_effort_so_1000() {
        assert_eq!(
            app_score(
                "containers: [{name: a, resources: {limits: {memory: '0'}}}]",
                7_230_457_451
            ),
            1000
        );
    }

    #[test]
    fn no_requests_or_limits_is_best_effort_so_1000() {
        assert_eq!(app_score("containers: [{name: a}]", 4_000_000_000), 1000);
    }

    #[test]
    fn guaranteed_is_minus_997() {
        assert_eq!(
            app_score(
                "containers: [{name: a, resources: {requests: {cpu: 5m, memory: 10G}, \
                 limits: {cpu: 5m, memory: 10G}}}]",
                123_456_789
            ),
            -997
        );
    }

    #[test]
    fn requesting_half_the_node_memory_scores_500() {
        assert_eq!(
            app_score(
                "containers: [{name: a, resources: {requests: {cpu: 5m, memory: '4000000000'}, \
                 limits: {memory: 10G}}}]",
                8_000_000_000
            ),
            500
        );
    }

    #[test]
    fn requesting_almost_all_node_memory_is_clamped_to_3() {
        assert_eq!(
            app_score(
                "containers: [{name: a, resources: {requests: {cpu: 5m, memory: '7999999999'}}}]",
                8_000_000_000
            ),
            3
        );
    }

    #[test]
    fn a_cluster_critical_best_effort_pod_is_still_1000() {
        assert_eq!(
            app_score(
                "priorityClassName: system-cluster-critical\npriority: 2000000000\ncontainers: [{name: a}]",
                4_000_000_000
            ),
            1000
        );
    }

    #[test]
    fn a_node_critical_pod_is_minus_997_whatever_its_resources() {
        assert_eq!(
            app_score(
                "priorityClassName: system-node-critical\ncontainers: [{name: a}]",
                4_000_000_000
            ),
            -997
        );
        assert_eq!(
            app_score(
                "priorityClassName: system-node-critical\npriority: 2000001000\ncontainers: [{name: a}]",
                4_000_000_000
            ),
            -997
        );
    }

    #[test]
    fn a_node_critical_class_with_a_non_critical_priority_is_not_node_critical() {
        assert_eq!(
            app_score(
                "priorityClassName: system-node-critical\npriority: 1000\ncontainers: [{name: a}]",
                4_000_000_000
            ),
            1000
        );
    }

    // The sidecar rule.

    #[test]
    fn a_sidecar_is_never_more_killable_than_the_smallest_app() {
        let yaml = r#"
            initContainers:
            - {name: proxy, restartPolicy: Always, resources: {requests: {memory: 100M}}}
            - {name: setup, resources: {requests: {memory: 100M}}}
            containers:
            - {name: big, resources: {requests: {memory: 4G}}}
            - {name: small, resources: {requests: {memory: 2G}}}
            "#;
        assert_eq!(
            scores(yaml, 8_000_000_000),
            [
                ("proxy".to_owned(), Role::Sidecar, 750),
                ("setup".to_owned(), Role::Init, 988),
                ("big".to_owned(), Role::App, 500),
                ("small".to_owned(), Role::App, 750),
            ]
        );
    }

    #[test]
    fn the_sidecar_rule_only_lowers_the_score() {
        let yaml = r#"
            initContainers:
            - {name: cache, restartPolicy: Always, resources: {requests: {memory: 6G}}}
            containers:
            - {name: app, resources: {requests: {memory: 2G}}}
            "#;
        assert_eq!(scores(yaml, 8_000_000_000)[0].2, 250);
    }

    #[test]
    fn an_app_without_a_memory_request_leaves_the_sidecar_score_alone() {
        let yaml = r#"
            initContainers:
            - {name: proxy, restartPolicy: Always, resources: {requests: {memory: 800M}}}
            containers:
            - {name: a, resources: {requests: {memory: 2G}}}
            - {name: b, resources: {requests: {cpu: 100m}}}
            "#;
        assert_eq!(scores(yaml, 8_000_000_000)[0].2, 900);
    }

    #[test]
    fn a_sidecar_capped_below_3_is_clamped_to_3() {
        let yaml = r#"
            initContainers:
            - {name: proxy, restartPolicy: Always, resources: {requests: {memory: 1M}}}
            containers:
            - {name: app, resources: {requests: {memory: 8G}}}
            "#;
        let s = scores(yaml, 8_000_000_000);
        assert_eq!((s[0].2, s[1].2), (3, 3));
    }

    #[test]
    fn a_tiny_request_on_a_big_node_is_999_not_1000() {
        let yaml = "containers: [{name: a, resources: {requests: {memory: 1Ki}}}]";
        assert_eq!(app_score(yaml, 64 << 30), 999);
    }

    #[test]
    fn enormous_requests_do_not_overflow() {
        assert_eq!(score_for_request(i64::MAX, 1), i64::MIN);
        assert_eq!(score_for_request(i64::MAX, i64::MAX), 0);
        let yaml = "containers: [{name: a, resources: {requests: {memory: 7Ei}}}]";
        assert_eq!(app_score(yaml, 1 << 30), 3);
    }
}
