//! The whole plan of a pod: roles and start order, effective resources, QoS
//! class, pod and container cgroup values, `oom_score_adj` — everything
//! minipod will build, decided before a process exists.
//!
//! [`Plan`] serializes to minipod's JSON plan contract (`minipod plan -o
//! json`); the exact quantities and the reasons behind each value travel in
//! [`Plan::explanation`], which is not serialized and feeds
//! [`crate::text::render_text`].

use std::collections::BTreeMap;

use minipod_spec::AdmittedPod;
use serde::Serialize;

use crate::cgroup::{CgroupValues, ContainerCgroupWhy, PodCgroupWhy, container_cgroup, pod_cgroup};
use crate::oom::{OomScore, oom_score_adj};
use crate::qos::{QosClass, QosVerdict, qos_verdict};
use crate::resources::{EffectiveResources, effective_resources, to_integers};
use crate::roles::{Role, StartStep, containers_in_start_order, start_order};

/// What the plan needs to know about the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeFacts {
    /// Total memory of the node in bytes (`MemTotal`), for `oom_score_adj`.
    pub memory_capacity_bytes: i64,
}

/// What minipod will build for a pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub name: String,
    pub namespace: String,
    pub qos_class: QosClass,
    /// `initContainers` in order, then `containers`.
    pub start_order: Vec<StartStep>,
    pub effective: Effective,
    pub pod_cgroup: CgroupValues,
    /// Every container, in start order.
    pub containers: Vec<ContainerPlan>,
    /// The exact quantities and the reasons behind the values above.
    #[serde(skip)]
    pub explanation: Explanation,
}

/// Effective pod requests and limits as integers: millicores for `cpu`,
/// whole units (bytes) for everything else. A resource no container names is
/// absent. Keys are Kubernetes resource names, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Effective {
    pub requests: BTreeMap<String, i64>,
    pub limits: BTreeMap<String, i64>,
}

/// One container's part of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPlan {
    pub name: String,
    pub role: Role,
    pub oom_score_adj: i64,
    pub cgroup: CgroupValues,
}

/// Why the plan has its values (not part of the JSON contract).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// Exact effective quantities, with how each was reached.
    pub resources: EffectiveResources,
    pub qos: QosVerdict,
    pub pod_cgroup: PodCgroupWhy,
    /// One per container, in start order.
    pub containers: Vec<ContainerExplanation>,
    pub node: NodeFacts,
}

/// Why one container has its cgroup values and score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerExplanation {
    pub cgroup: ContainerCgroupWhy,
    pub oom: OomScore,
}

/// Plans an admitted (defaulted and validated) pod for a node.
pub fn plan(pod: &AdmittedPod, node: &NodeFacts) -> Plan {
    let spec = &pod.pod().spec;
    let resources = effective_resources(spec);
    let qos = qos_verdict(spec);
    let (pod_cgroup_values, pod_cgroup_why) = pod_cgroup(spec, &resources, qos.class);

    let mut containers = Vec::new();
    let mut container_whys = Vec::new();
    for (container, role) in containers_in_start_order(spec) {
        let (cgroup, cgroup_why) = container_cgroup(container);
        let oom = oom_score_adj(spec, qos.class, container, role, node.memory_capacity_bytes);
        containers.push(ContainerPlan {
            name: container.name.clone(),
            role,
            oom_score_adj: oom.score,
            cgroup,
        });
        container_whys.push(ContainerExplanation {
            cgroup: cgroup_why,
            oom,
        });
    }

    Plan {
        name: pod.name().to_owned(),
        namespace: pod.namespace().to_owned(),
        qos_class: qos.class,
        start_order: start_order(spec),
        effective: Effective {
            requests: to_integers(&resources.requests),
            limits: to_integers(&resources.limits),
        },
        pod_cgroup: pod_cgroup_values,
        containers,
        explanation: Explanation {
            resources,
            qos,
            pod_cgroup: pod_cgroup_why,
            containers: container_whys,
            node: *node,
        },
    }
}
