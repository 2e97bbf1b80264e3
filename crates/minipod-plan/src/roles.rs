//! What each container is for, and the order the pod starts them in.
//!
//! Kubernetes has three kinds of containers in a pod (see
//! `docs/kubernetes-semantics.md` §1):
//!
//! * an **init** container (`spec.initContainers[]` without `restartPolicy`)
//!   runs to completion before the next container starts;
//! * a **sidecar** (`spec.initContainers[]` with `restartPolicy: Always`, a
//!   "restartable init container") starts in init order, then keeps running
//!   next to the app containers and is restarted whenever it exits;
//! * an **app** container (`spec.containers[]`) starts once every init
//!   container has completed and every sidecar has started.
//!
//! The start order is therefore simply `initContainers` in order, then
//! `containers` in order.

use minipod_spec::model::{Container, PodSpec};
use serde::Serialize;

/// The role of one container in its pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A regular init container: runs to completion, one at a time.
    Init,
    /// A restartable init container (`restartPolicy: Always`).
    Sidecar,
    /// An entry of `spec.containers`.
    App,
}

impl Role {
    /// The role of an entry of `spec.initContainers`.
    pub fn of_init_container(container: &Container) -> Role {
        if container.is_restartable_init() {
            Role::Sidecar
        } else {
            Role::Init
        }
    }

    /// The name used in the JSON plan and in the text (`init`, `sidecar`, `app`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Init => "init",
            Role::Sidecar => "sidecar",
            Role::App => "app",
        }
    }

    /// The list of the pod spec a container with this role is an entry of.
    pub fn spec_list(self) -> &'static str {
        match self {
            Role::Init | Role::Sidecar => "initContainers",
            Role::App => "containers",
        }
    }

    /// The `involvedObject.fieldPath` of an event about the container
    /// `name` with this role: `spec.initContainers{name}` or
    /// `spec.containers{name}`, as the kubelet writes it
    /// (`pkg/kubelet/container/ref.go`, `fieldPath`).
    pub fn field_path(self, name: &str) -> String {
        format!("spec.{}{{{name}}}", self.spec_list())
    }

    /// One sentence on what the role means at run time.
    pub fn meaning(self) -> &'static str {
        match self {
            Role::Init => {
                "runs to completion, one at a time; the next container starts only after it exits 0"
            }
            Role::Sidecar => {
                "an init container with restartPolicy: Always; starts in order, the next \
                 container starts once it is running and its startupProbe (if any) has \
                 succeeded, and it keeps running (restarted whenever it exits) until after the \
                 app containers have stopped"
            }
            Role::App => {
                "a regular container; starts once every init container has completed and every \
                 sidecar has started"
            }
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step of the start order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StartStep {
    pub name: String,
    pub role: Role,
}

/// Every container of the pod with its role, in start order:
/// `initContainers` in order, then `containers` in order.
pub fn containers_in_start_order(spec: &PodSpec) -> impl Iterator<Item = (&Container, Role)> {
    let init = spec
        .init_containers
        .iter()
        .map(|c| (c, Role::of_init_container(c)));
    let apps = spec.containers.iter().map(|c| (c, Role::App));
    init.chain(apps)
}

/// The role of the container called `name`, or `None` if the spec has no
/// such container (container names are unique across both lists).
pub fn role_of(spec: &PodSpec, name: &str) -> Option<Role> {
    containers_in_start_order(spec)
        .find(|(c, _)| c.name == name)
        .map(|(_, role)| role)
}

/// The start order of the pod, with each container's role.
pub fn start_order(spec: &PodSpec) -> Vec<StartStep> {
    containers_in_start_order(spec)
        .map(|(c, role)| StartStep {
            name: c.name.clone(),
            role,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use minipod_spec::enums::ContainerRestartPolicy;

    fn container(name: &str, sidecar: bool) -> Container {
        Container {
            name: name.into(),
            restart_policy: sidecar.then_some(ContainerRestartPolicy::Always),
            ..Container::default()
        }
    }

    fn order(spec: &PodSpec) -> Vec<(String, &'static str)> {
        start_order(spec)
            .into_iter()
            .map(|s| (s.name, s.role.as_str()))
            .collect()
    }

    #[test]
    fn init_containers_start_before_app_containers_in_declaration_order() {
        let spec = PodSpec {
            init_containers: vec![
                container("setup", false),
                container("proxy", true),
                container("migrate", false),
            ],
            containers: vec![container("web", false), container("worker", false)],
            ..PodSpec::default()
        };
        assert_eq!(
            order(&spec),
            [
                ("setup".into(), "init"),
                ("proxy".into(), "sidecar"),
                ("migrate".into(), "init"),
                ("web".into(), "app"),
                ("worker".into(), "app"),
            ]
        );
    }

    #[test]
    fn only_restart_policy_always_makes_an_init_container_a_sidecar() {
        assert_eq!(Role::of_init_container(&container("a", false)), Role::Init);
        assert_eq!(
            Role::of_init_container(&container("b", true)),
            Role::Sidecar
        );
    }

    #[test]
    fn a_pod_without_init_containers_starts_its_apps_in_order() {
        let spec = PodSpec {
            containers: vec![container("b", false), container("a", false)],
            ..PodSpec::default()
        };
        assert_eq!(order(&spec), [("b".into(), "app"), ("a".into(), "app")]);
    }

    #[test]
    fn a_role_is_looked_up_by_name_and_names_its_field_path() {
        let spec = PodSpec {
            init_containers: vec![container("setup", false), container("proxy", true)],
            containers: vec![container("web", false)],
            ..PodSpec::default()
        };
        assert_eq!(role_of(&spec, "proxy"), Some(Role::Sidecar));
        assert_eq!(role_of(&spec, "nope"), None);
        let path = |name| role_of(&spec, name).map(|r| r.field_path(name));
        assert_eq!(path("setup").as_deref(), Some("spec.initContainers{setup}"));
        assert_eq!(path("proxy").as_deref(), Some("spec.initContainers{proxy}"));
        assert_eq!(path("web").as_deref(), Some("spec.containers{web}"));
    }

    #[test]
    fn roles_serialize_in_lower_case() {
        let json = serde_json::to_string(&[Role::Init, Role::Sidecar, Role::App]).unwrap();
        assert_eq!(json, r#"["init","sidecar","app"]"#);
    }
}
