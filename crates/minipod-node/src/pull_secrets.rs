//! A pod's `imagePullSecrets` as the monitor takes them: the one rule
//! (`minipod_spec::secret::resolve_pull_secrets`) in the record's shape
//! ([`PullSecrets`]), for `minipod run` (the Secrets of the file) and the
//! daemon (the Secrets of the pod's namespace).

use minipod_monitor::records::{PullSecret, PullSecrets};
use minipod_spec::model::Pod;
use minipod_spec::secret::{Secret, resolve_pull_secrets};

/// The logins `pod`'s `imagePullSecrets` name, among `secrets` (only those
/// of the pod's namespace count); `None` when the pod names none.
pub fn for_pod(pod: &Pod, secrets: &[Secret]) -> Option<PullSecrets> {
    let refs = &pod.spec.image_pull_secrets;
    if refs.is_empty() {
        return None;
    }
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    // A Secret that names no namespace is in `default`, as a pod is.
    let in_namespace = |s: &Secret| match s.namespace() {
        "" => namespace == "default",
        ns => ns == namespace,
    };
    let find = |name: &str| secrets.iter().find(|s| s.name() == name && in_namespace(s));
    let resolved = resolve_pull_secrets(refs, find);
    Some(PullSecrets {
        secrets: resolved
            .secrets
            .into_iter()
            .map(|(name, docker_config)| PullSecret {
                name,
                docker_config,
            })
            .collect(),
        missing: resolved.missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use minipod_spec::load::parse_objects;

    #[test]
    fn only_the_pods_namespace_counts() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata: {name: regcred, namespace: default}\ntype: kubernetes.io/dockerconfigjson\ndata: {.dockerconfigjson: e30=}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: other, namespace: elsewhere}\ntype: kubernetes.io/dockerconfigjson\ndata: {.dockerconfigjson: e30=}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\nspec:\n  imagePullSecrets: [{name: regcred}, {name: other}]\n  containers: [{name: a, image: busybox}]\n";
        let objects = parse_objects(text.as_bytes(), "f.yaml").unwrap();
        let secrets: Vec<Secret> = objects.secrets.into_iter().map(|s| s.secret).collect();
        let pulls = for_pod(&objects.pods[0].pod, &secrets).unwrap();
        assert_eq!(pulls.secrets.len(), 1);
        assert_eq!(pulls.secrets[0].name, "regcred");
        assert_eq!(pulls.secrets[0].docker_config, serde_json::json!({}));
        assert_eq!(pulls.missing, ["other"]);
        let mut plain = objects.pods[0].pod.clone();
        plain.spec.image_pull_secrets.clear();
        assert_eq!(for_pod(&plain, &secrets), None);
    }
}
