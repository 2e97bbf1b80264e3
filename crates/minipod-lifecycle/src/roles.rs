//! Which spec entry a status belongs to, as the kubelet and kubectl look it up.

use minipod_spec::model::PodSpec;

/// Whether `name` is a native sidecar (`initContainers[]` with
/// `restartPolicy: Always`). A name the spec does not have is not a sidecar,
/// as in kubectl's `isRestartableInitContainer(nil)`.
pub(crate) fn is_sidecar_named(spec: &PodSpec, name: &str) -> bool {
    spec.init_containers
        .iter()
        .any(|c| c.name == name && c.is_restartable_init())
}
