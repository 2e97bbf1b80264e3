//! The columns `kubectl get pods -o wide` adds: IP, NODE, NOMINATED NODE,
//! READINESS GATES, as `printPod` of `pkg/printers/internalversion/printers.go`
//! fills them (spec §5). Shared by the CLI's table and the API's Table.

use minipod_spec::model::PodSpec;

use crate::status::{ConditionStatus, PodStatus};

/// What kubectl shows for an unset cell.
const NONE: &str = "<none>";

/// The wide columns of one pod row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WideColumns {
    /// The first of `status.podIPs`, or `<none>`.
    pub ip: String,
    /// `spec.nodeName`, or `<none>`.
    pub node: String,
    /// `status.nominatedNodeName`, or `<none>`.
    pub nominated_node: String,
    /// `true gates/gates`, or `<none>` without readiness gates.
    pub readiness_gates: String,
}

/// The wide columns of the pod with `spec` and `status`.
pub fn wide_columns(spec: &PodSpec, status: &PodStatus) -> WideColumns {
    let or_none = |value: Option<&str>| value.filter(|v| !v.is_empty()).unwrap_or(NONE).to_owned();
    // kubectl reads `podIPs`, not `podIP` (they agree when a kubelet wrote them).
    let ip = status.pod_ips.first().map(|entry| entry.ip.as_str());
    let readiness_gates = if spec.readiness_gates.is_empty() {
        NONE.to_owned()
    } else {
        // Per gate, the first condition of its type counts, if True.
        let met = spec
            .readiness_gates
            .iter()
            .filter(|gate| {
                status
                    .condition(&gate.condition_type)
                    .is_some_and(|c| c.status == ConditionStatus::True)
            })
            .count();
        format!("{met}/{}", spec.readiness_gates.len())
    };
    WideColumns {
        ip: or_none(ip),
        node: or_none(spec.node_name.as_deref()),
        nominated_node: or_none(status.nominated_node_name.as_deref()),
        readiness_gates,
    }
}

#[cfg(test)]
mod tests {
    use minipod_spec::model::PodReadinessGate;

    use super::*;
    use crate::status::{PodCondition, PodIp};

    #[test]
    fn unset_cells_show_none() {
        let columns = wide_columns(&PodSpec::default(), &PodStatus::default());
        assert_eq!(
            columns,
            WideColumns {
                ip: NONE.into(),
                node: NONE.into(),
                nominated_node: NONE.into(),
                readiness_gates: NONE.into(),
            }
        );
        let empty = PodSpec {
            node_name: Some(String::new()),
            ..PodSpec::default()
        };
        let status = PodStatus {
            pod_ips: vec![PodIp { ip: String::new() }],
            ..PodStatus::default()
        };
        let columns = wide_columns(&empty, &status);
        assert_eq!((columns.ip.as_str(), columns.node.as_str()), (NONE, NONE));
    }

    #[test]
    fn the_ip_is_the_first_pod_ip_and_gates_count_true_conditions() {
        let gate = |t: &str| PodReadinessGate {
            condition_type: t.into(),
        };
        let spec = PodSpec {
            node_name: Some("node-a".into()),
            readiness_gates: vec![
                gate("example.com/lb"),
                gate("example.com/db"),
                gate("other"),
            ],
            ..PodSpec::default()
        };
        let status = PodStatus {
            pod_ip: Some("10.88.0.5".into()),
            pod_ips: vec![
                PodIp {
                    ip: "10.88.0.5".into(),
                },
                PodIp {
                    ip: "fd00::5".into(),
                },
            ],
            nominated_node_name: Some("node-b".into()),
            conditions: vec![
                PodCondition::new("example.com/lb", ConditionStatus::True),
                PodCondition::new("example.com/db", ConditionStatus::False),
            ],
            ..PodStatus::default()
        };
        assert_eq!(
            wide_columns(&spec, &status),
            WideColumns {
                ip: "10.88.0.5".into(),
                node: "node-a".into(),
                nominated_node: "node-b".into(),
                readiness_gates: "1/3".into(),
            }
        );
    }
}
