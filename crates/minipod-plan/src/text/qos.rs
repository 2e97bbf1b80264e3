//! The QoS class, and why.

use super::layout::{heading, paragraph};
use minipod_spec::Quantity;

use crate::plan::Plan;
use crate::qos::QosReason;

pub(super) fn qos(out: &mut String, plan: &Plan) {
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
