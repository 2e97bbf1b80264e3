//! cgroup values for the pod cgroup and for each container's cgroup, for
//! cgroup v1 (`cpu.shares`, `cpu.cfs_quota_us`, `cpu.cfs_period_us`,
//! `memory.limit_in_bytes`) and v2 (`cpu.weight`, `cpu.max`, `memory.max`).
//!
//! * Pod (spec §3.2; kubelet `ResourceConfigForPod` in
//!   `pkg/kubelet/cm/helpers_linux.go`): shares from the effective cpu
//!   request; CFS quota from the effective cpu limit and a memory limit from
//!   the effective memory limit — but for a Burstable pod only when **every**
//!   container (init containers and sidecars included) declares a non-zero
//!   limit for that resource, since one unlimited container makes the pod as
//!   a whole unlimited. A Guaranteed pod always has both; a BestEffort pod
//!   gets the minimum shares and nothing else.
//! * Container (spec §3.3; kubelet `calculateLinuxResources` in
//!   `pkg/kubelet/kuberuntime/kuberuntime_container_linux.go`): shares from
//!   the cpu request, or from the cpu limit when the container has no cpu
//!   request at all; quota from the cpu limit; memory limit when non-zero.
//!
//! The CFS period is always the kubelet's 100 000 µs (the kernel default
//! too, so "unset" and 100 000 mean the same). cgroup v2 values are derived
//! from the v1 ones the way the OCI runtime derives them.

use minipod_spec::Quantity;
use minipod_spec::model::{Container, PodSpec};
use serde::Serialize;

use crate::cpu::{
    MIN_SHARES, QUOTA_PERIOD_US, milli_cpu_to_quota, milli_cpu_to_shares, shares_to_weight,
};
use crate::qos::QosClass;
use crate::resources::{CPU, EffectiveResources, MEMORY, to_integer};
use crate::roles::{Role, containers_in_start_order};

/// The values of one cgroup, as the JSON plan carries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CgroupValues {
    /// v1 `cpu.shares`.
    pub cpu_shares: u64,
    /// v1 `cpu.cfs_quota_us`; `None` = no quota (`-1`).
    pub cpu_quota_us: Option<i64>,
    /// v1 `cpu.cfs_period_us`.
    pub cpu_period_us: i64,
    /// v1 `memory.limit_in_bytes`; `None` = unlimited.
    pub memory_limit_bytes: Option<i64>,
    /// v2 `cpu.weight`, from the shares (see [`shares_to_weight`]).
    pub cpu_weight: u64,
    /// v2 `cpu.max`: `"<quota> <period>"` or `"max <period>"`.
    pub cpu_max: String,
    /// v2 `memory.max`: bytes or `"max"`.
    pub memory_max: String,
}

impl CgroupValues {
    /// The v1 values and the v2 values derived from them. A zero quota or
    /// memory limit means "none", as it does for the runtime.
    pub fn new(
        cpu_shares: u64,
        cpu_quota_us: Option<i64>,
        memory_limit_bytes: Option<i64>,
    ) -> Self {
        let cpu_quota_us = cpu_quota_us.filter(|q| *q != 0);
        let memory_limit_bytes = memory_limit_bytes.filter(|m| *m != 0);
        let cpu_max = match cpu_quota_us {
            Some(quota) => format!("{quota} {QUOTA_PERIOD_US}"),
            None => format!("max {QUOTA_PERIOD_US}"),
        };
        let memory_max = match memory_limit_bytes {
            Some(bytes) => bytes.to_string(),
            None => "max".to_owned(),
        };
        CgroupValues {
            cpu_shares,
            cpu_quota_us,
            cpu_period_us: QUOTA_PERIOD_US,
            memory_limit_bytes,
            cpu_weight: shares_to_weight(cpu_shares),
            cpu_max,
            memory_max,
        }
    }
}

/// Why the pod cgroup has its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodCgroupWhy {
    pub qos_class: QosClass,
    /// The effective cpu request the shares come from, if any.
    pub cpu_request: Option<Quantity>,
    /// The effective cpu limit the quota would come from, if any.
    pub cpu_limit: Option<Quantity>,
    /// The effective memory limit, if any.
    pub memory_limit: Option<Quantity>,
    /// Containers without a non-zero cpu limit (a Burstable pod then has no quota).
    pub without_cpu_limit: Vec<(String, Role)>,
    /// Containers without a non-zero memory limit (a Burstable pod then has no memory limit).
    pub without_memory_limit: Vec<(String, Role)>,
}

/// The pod cgroup's values (`ResourceConfigForPod`), and why.
pub fn pod_cgroup(
    spec: &PodSpec,
    effective: &EffectiveResources,
    qos_class: QosClass,
) -> (CgroupValues, PodCgroupWhy) {
    let without_limit = |resource: &str| -> Vec<(String, Role)> {
        containers_in_start_order(spec)
            .filter(|(c, _)| !has_non_zero_limit(c, resource))
            .map(|(c, role)| (c.name.clone(), role))
            .collect()
    };
    let why = PodCgroupWhy {
        qos_class,
        cpu_request: effective.requests.get(CPU).cloned(),
        cpu_limit: effective.limits.get(CPU).cloned(),
        memory_limit: effective.limits.get(MEMORY).cloned(),
        without_cpu_limit: without_limit(CPU),
        without_memory_limit: without_limit(MEMORY),
    };

    let milli = |q: &Option<Quantity>| q.as_ref().map_or(0, |q| to_integer(CPU, q));
    let shares = milli_cpu_to_shares(milli(&why.cpu_request));
    let quota = milli_cpu_to_quota(milli(&why.cpu_limit), QUOTA_PERIOD_US);
    let memory = why.memory_limit.as_ref().map(|q| to_integer(MEMORY, q));

    let values = match qos_class {
        QosClass::Guaranteed => CgroupValues::new(shares, quota, memory),
        QosClass::Burstable => CgroupValues::new(
            shares,
            quota.filter(|_| why.without_cpu_limit.is_empty()),
            memory.filter(|_| why.without_memory_limit.is_empty()),
        ),
        QosClass::BestEffort => CgroupValues::new(MIN_SHARES, None, None),
    };
    (values, why)
}

/// Where a container's `cpu.shares` come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharesSource {
    /// The container's cpu request (an explicit `0` gives the minimum, 2).
    Request(Quantity),
    /// No cpu request at all: the cpu limit stands in for it.
    Limit(Quantity),
    /// Neither: the minimum, 2.
    Nothing,
}

/// Why a container's cgroup has its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerCgroupWhy {
    pub shares_from: SharesSource,
    pub cpu_limit: Option<Quantity>,
    pub memory_limit: Option<Quantity>,
}

/// One container's cgroup values (`calculateLinuxResources`), and why.
pub fn container_cgroup(container: &Container) -> (CgroupValues, ContainerCgroupWhy) {
    let requests = &container.resources.requests;
    let limits = &container.resources.limits;
    let cpu_limit = limits.get(CPU).cloned();
    let memory_limit = limits.get(MEMORY).cloned();
    // Kubernetes repeats the API server's "request defaults to limit" here
    // only when the request is missing: an explicit request wins, even 0.
    let shares_from = match (requests.get(CPU), &cpu_limit) {
        (Some(request), _) => SharesSource::Request(request.clone()),
        (None, Some(limit)) => SharesSource::Limit(limit.clone()),
        (None, None) => SharesSource::Nothing,
    };
    let shares = match &shares_from {
        SharesSource::Request(q) | SharesSource::Limit(q) => {
            milli_cpu_to_shares(to_integer(CPU, q))
        }
        SharesSource::Nothing => MIN_SHARES,
    };
    let quota = milli_cpu_to_quota(
        cpu_limit.as_ref().map_or(0, |q| to_integer(CPU, q)),
        QUOTA_PERIOD_US,
    );
    let memory = memory_limit.as_ref().map(|q| to_integer(MEMORY, q));
    let values = CgroupValues::new(shares, quota, memory);
    (
        values,
        ContainerCgroupWhy {
            shares_from,
            cpu_limit,
            memory_limit,
        },
    )
}

/// True if the container limits `resource` to a non-zero amount (an absent
/// limit counts as zero, as Kubernetes' `Limits.Cpu().IsZero()` does).
pub fn has_non_zero_limit(container: &Container, resource: &str) -> bool {
    container
        .resources
        .limits
        .get(resource)
        .is_some_and(|q| !q.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qos::qos_class;
    use crate::resources::effective_resources;
    use crate::test_support::pod_spec;

    fn pod_values(yaml: &str) -> CgroupValues {
        let spec = pod_spec(yaml);
        pod_cgroup(&spec, &effective_resources(&spec), qos_class(&spec)).0
    }

    fn container_values(yaml: &str) -> CgroupValues {
        let spec = pod_spec(yaml);
        container_cgroup(&spec.containers[0]).0
    }

    // Spec §3.2 examples (helpers_linux_test.go, TestResourceConfigForPod).

    #[test]
    fn best_effort_pod_gets_minimum_shares_only() {
        let v = pod_values("containers: [{name: a}]");
        assert_eq!(v, CgroupValues::new(2, None, None));
        assert_eq!(v.cpu_max, "max 100000");
        assert_eq!(v.memory_max, "max");
        assert_eq!(v.cpu_weight, 1);
    }

    #[test]
    fn burstable_pod_without_limits_gets_shares_only() {
        let v = pod_values(
            "containers: [{name: a, resources: {requests: {cpu: 100m, memory: 100Mi}}}]",
        );
        assert_eq!(v, CgroupValues::new(102, None, None));
    }

    #[test]
    fn burstable_pod_with_limits_gets_quota_and_memory_limit() {
        let v = pod_values(
            "containers: [{name: a, resources: {requests: {cpu: 100m, memory: 100Mi}, \
             limits: {cpu: 200m, memory: 200Mi}}}]",
        );
        assert_eq!(v, CgroupValues::new(102, Some(20_000), Some(209_715_200)));
        assert_eq!(v.cpu_max, "20000 100000");
        assert_eq!(v.memory_max, "209715200");
        assert_eq!(v.cpu_period_us, 100_000);
    }

    #[test]
    fn one_container_without_limits_removes_the_pod_quota_and_memory_limit() {
        let v = pod_values(
            r#"
            containers:
            - {name: a, resources: {requests: {cpu: 100m, memory: 100Mi}, limits: {cpu: 200m, memory: 200Mi}}}
            - {name: b, resources: {requests: {cpu: 100m, memory: 100Mi}}}
            "#,
        );
        assert_eq!(v, CgroupValues::new(204, None, None));
    }

    #[test]
    fn guaranteed_pod_gets_shares_quota_and_memory_limit() {
        let v = pod_values(
            "containers: [{name: a, resources: {requests: {cpu: 100m, memory: 100Mi}, \
             limits: {cpu: 100m, memory: 100Mi}}}]",
        );
        assert_eq!(v, CgroupValues::new(102, Some(10_000), Some(104_857_600)));
    }

    #[test]
    fn an_init_container_without_limits_removes_the_pod_quota_and_memory_limit() {
        // "burstable-partial-limits-with-init-containers"
        let v = pod_values(
            r#"
            initContainers:
            - {name: i1, resources: {requests: {cpu: 100m, memory: 100m}, limits: {cpu: 100m, memory: 100Mi}}}
            - {name: i2, resources: {requests: {cpu: 100m, memory: 100m}}}
            containers:
            - {name: a1, resources: {requests: {cpu: 100m, memory: 100m}, limits: {cpu: 100m, memory: 100Mi}}}
            - {name: a2, resources: {requests: {cpu: 100m, memory: 100m}}}
            "#,
        );
        assert_eq!(v, CgroupValues::new(204, None, None));
    }

    #[test]
    fn one_unlimited_sidecar_removes_the_pod_cpu_quota() {
        let spec = pod_spec(
            r#"
            initContainers:
            - {name: proxy, restartPolicy: Always, resources: {requests: {cpu: 100m}, limits: {memory: 64Mi}}}
            containers:
            - {name: app, resources: {requests: {cpu: 500m, memory: 128Mi}, limits: {cpu: "1", memory: 256Mi}}}
            "#,
        );
        let (v, why) = pod_cgroup(&spec, &effective_resources(&spec), qos_class(&spec));
        assert_eq!(v.cpu_quota_us, None);
        assert_eq!(v.cpu_max, "max 100000");
        assert_eq!(why.without_cpu_limit, [("proxy".to_owned(), Role::Sidecar)]);
        // Memory is limited everywhere: 64Mi + 256Mi.
        assert_eq!(v.memory_limit_bytes, Some(320 << 20));
        assert_eq!(v.cpu_shares, milli_cpu_to_shares(600));
    }

    #[test]
    fn a_zero_cpu_limit_counts_as_no_limit_for_the_pod() {
        let v = pod_values(
            r#"
            containers:
            - {name: a, resources: {requests: {cpu: 100m}, limits: {cpu: 200m}}}
            - {name: b, resources: {requests: {cpu: 100m}, limits: {cpu: '0'}}}
            "#,
        );
        assert_eq!(v.cpu_quota_us, None);
    }

    #[test]
    fn best_effort_pod_ignores_overhead_for_shares() {
        let v = pod_values("overhead: {cpu: 250m}\ncontainers: [{name: a}]");
        assert_eq!(v.cpu_shares, 2);
    }

    #[test]
    fn overhead_raises_a_burstable_pods_shares_and_limits() {
        let v = pod_values(
            "overhead: {cpu: 100m, memory: 10Mi}\ncontainers: [{name: a, resources: \
             {requests: {cpu: 100m, memory: 100Mi}, limits: {cpu: 200m, memory: 200Mi}}}]",
        );
        assert_eq!(v, CgroupValues::new(204, Some(30_000), Some(210 << 20)));
    }

    // Spec §3.3: container values.

    #[test]
    fn container_shares_come_from_the_cpu_request() {
        let v = container_values(
            "containers: [{name: a, resources: {requests: {cpu: 250m}, limits: {cpu: 500m}}}]",
        );
        assert_eq!(v, CgroupValues::new(256, Some(50_000), None));
    }

    #[test]
    fn container_shares_come_from_the_cpu_limit_when_there_is_no_cpu_request() {
        let v = container_values(
            "containers: [{name: a, resources: {limits: {cpu: 500m, memory: 1Gi}}}]",
        );
        assert_eq!(v, CgroupValues::new(512, Some(50_000), Some(1 << 30)));
    }

    #[test]
    fn an_explicit_zero_cpu_request_gives_minimum_shares_even_with_a_limit() {
        let v = container_values(
            "containers: [{name: a, resources: {requests: {cpu: '0'}, limits: {cpu: 500m}}}]",
        );
        assert_eq!(v.cpu_shares, 2);
        assert_eq!(v.cpu_quota_us, Some(50_000));
    }

    #[test]
    fn a_container_without_resources_gets_minimum_shares_and_no_caps() {
        let v = container_values("containers: [{name: a}]");
        assert_eq!(v, CgroupValues::new(2, None, None));
        assert_eq!(
            (v.cpu_max.as_str(), v.memory_max.as_str()),
            ("max 100000", "max")
        );
    }

    #[test]
    fn a_zero_memory_limit_is_no_memory_limit() {
        let v = container_values("containers: [{name: a, resources: {limits: {memory: '0'}}}]");
        assert_eq!(v.memory_limit_bytes, None);
    }

    #[test]
    fn one_cpu_is_the_cgroup_v2_default_weight() {
        let v = container_values("containers: [{name: a, resources: {requests: {cpu: '1'}}}]");
        assert_eq!((v.cpu_shares, v.cpu_weight), (1024, 100));
    }

    #[test]
    fn cgroup_values_serialize_with_nulls_for_unset_limits() {
        let json = serde_json::to_value(CgroupValues::new(2, None, None)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "cpuShares": 2, "cpuQuotaUs": null, "cpuPeriodUs": 100000,
                "memoryLimitBytes": null, "cpuWeight": 1,
                "cpuMax": "max 100000", "memoryMax": "max"
            })
        );
    }
}
