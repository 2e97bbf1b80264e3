//! What a container runs: the image's defaults merged with the container's
//! `command`, `args`, `env`, `workingDir` and security context, by the
//! Kubernetes rules. Pure: the image config comes in as data ([`ImageConfig`]),
//! and names in `User` are resolved against the image's `/etc/passwd` later,
//! by the runtime.
//!
//! The rules, and where they come from:
//! * command and args (the Kubernetes docs "Define a Command and Arguments for
//!   a Container", implemented by the CRI runtime): `command` replaces the
//!   image `Entrypoint` *and* `Cmd`; `args` alone replaces only `Cmd`; neither
//!   keeps both.
//! * `$(VAR)` references in `command`, `args` and `env` values expand to the
//!   container's own variables declared before them (the kubelet's
//!   `third_party/forked/golang/expansion`): `$$` is a literal `$`, an
//!   unknown or unclosed reference stays as written. Image variables are not
//!   visible to expansion (the kubelet never sees them).
//! * environment: `HOSTNAME` (as containerd's CRI sets it), then the image's
//!   `Env`, then the container's `env`; a later definition of a name wins.
//! * `valueFrom.fieldRef` (the downward API): `metadata.name`, `namespace`,
//!   `uid`, `labels['k']`, `annotations['k']`, `spec.nodeName`,
//!   `spec.serviceAccountName`, and the addresses `status.podIP`,
//!   `status.hostIP` (the first) and `status.podIPs`, `status.hostIPs`
//!   (comma-separated) as the pod's status shows them when the container
//!   starts (the kubelet's `podFieldSelectorRuntimeValue` in
//!   `pkg/kubelet/kubelet_pods.go`).
//! * working directory: `workingDir`, else the image's, else `/`.
//! * user: `runAsUser`/`runAsGroup` of the container, else of the pod, else the
//!   image's `User`; supplemental groups from the pod.
//! * stop signal: `lifecycle.stopSignal`, else the image's `StopSignal`, else `SIGTERM`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use minipod_spec::AdmittedPod;
use minipod_spec::model::{Container, EnvVar};

use crate::addresses::PodAddresses;

/// The parts of an OCI image config that decide how a container runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// `NAME=value` entries, as the image config writes them.
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    /// `user`, `uid`, `user:group` or `uid:gid`, as in a Dockerfile's `USER`.
    pub user: Option<String>,
    pub stop_signal: Option<String>,
}

/// How the container's process will run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// `args[0]` is the program.
    pub args: Vec<String>,
    /// In order of first definition; each name once.
    pub env: Vec<(String, String)>,
    pub cwd: String,
    pub user: UserRequest,
    /// As written (`SIGTERM`, `SIGQUIT`, `QUIT`, `3`); the runtime parses it.
    pub stop_signal: String,
}

/// Who the process runs as, before names are looked up in the image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserRequest {
    /// `runAsUser` (container, else pod).
    pub uid: Option<i64>,
    /// `runAsGroup` (container, else pod).
    pub gid: Option<i64>,
    /// The image's `User`, used for what `uid`/`gid` leave open.
    pub image_user: Option<String>,
    pub supplemental_groups: Vec<i64>,
    /// `runAsNonRoot` (container, else pod): the runtime refuses uid 0.
    pub run_as_non_root: bool,
}

/// Why a process cannot be made (Kubernetes shows these as `CreateContainerError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    #[error(
        "container {container:?}: no command specified (the image has no Entrypoint or Cmd, and the pod gives no command or args)"
    )]
    NoCommand { container: String },
    #[error("container {container:?}: env {name:?}: unsupported fieldRef {field_path:?}")]
    UnsupportedFieldRef {
        container: String,
        name: String,
        field_path: String,
    },
}

/// The signal that stops a container when nothing names another.
pub const DEFAULT_STOP_SIGNAL: &str = "SIGTERM";

/// The pod's hostname: `spec.hostname`, else the pod's name cut to 63
/// characters (a DNS label), as the kubelet's `GeneratePodHostNameAndDomain`.
pub fn pod_hostname(pod: &AdmittedPod) -> String {
    match pod.pod().spec.hostname.as_deref().filter(|h| !h.is_empty()) {
        Some(hostname) => hostname.to_owned(),
        None => {
            let name = pod.name();
            // Kubernetes trims a trailing '-' or '.' left by the cut.
            let cut: String = name.chars().take(63).collect();
            cut.trim_end_matches(['-', '.']).to_owned()
        }
    }
}

/// The hostname the pod's containers see (`uname -n`, `/etc/hostname`,
/// `HOSTNAME`): [`pod_hostname`], but the node's own (`node_hostname`) for
/// a `hostNetwork` pod, which stays in the node's UTS namespace (the
/// kubelet sends no hostname for it, and containerd takes the host's).
pub fn sandbox_hostname(pod: &AdmittedPod, node_hostname: &str) -> String {
    if pod.uses_host_network() {
        node_hostname.to_owned()
    } else {
        pod_hostname(pod)
    }
}

/// What the downward API shows that the pod's manifest does not say: the
/// node it runs on and the addresses its status shows.
#[derive(Debug, Clone, Copy)]
pub struct RuntimeFields<'a> {
    /// `spec.nodeName`.
    pub node_name: &'a str,
    /// The node's own hostname (`uname -n`): a `hostNetwork` pod's.
    pub node_hostname: &'a str,
    /// `status.podIP(s)` and `status.hostIP(s)`.
    pub addresses: &'a PodAddresses,
}

/// A node named `node_name` whose pods have no addresses: for tests.
#[cfg(test)]
pub(crate) fn on_node(node_name: &str) -> RuntimeFields<'_> {
    static NONE: PodAddresses = PodAddresses {
        host_ips: Vec::new(),
        pod_ips: Vec::new(),
    };
    RuntimeFields {
        node_name,
        node_hostname: "node-hostname",
        addresses: &NONE,
    }
}

/// Merges `container` (of `pod`) with its image's config.
pub fn resolve_process(
    pod: &AdmittedPod,
    container: &Container,
    image: &ImageConfig,
    runtime: RuntimeFields<'_>,
) -> Result<Process, ProcessError> {
    let container_env = container_environment(pod, container, runtime)?;
    let expand_all = |items: &[String]| -> Vec<String> {
        items
            .iter()
            .map(|item| expand(item, &container_env.values))
            .collect()
    };
    let args = match (&container.command, &container.args) {
        (Some(command), Some(args)) => [expand_all(command), expand_all(args)].concat(),
        (Some(command), None) => expand_all(command),
        (None, Some(args)) => [image.entrypoint.clone(), expand_all(args)].concat(),
        (None, None) => [image.entrypoint.clone(), image.cmd.clone()].concat(),
    };
    if args.is_empty() {
        return Err(ProcessError::NoCommand {
            container: container.name.clone(),
        });
    }

    let mut env = Environment::default();
    env.set("HOSTNAME", &sandbox_hostname(pod, runtime.node_hostname));
    for entry in &image.env {
        let (name, value) = entry.split_once('=').unwrap_or((entry, ""));
        env.set(name, value);
    }
    for (name, value) in &container_env.ordered {
        env.set(name, value);
    }

    let cwd = container
        .working_dir
        .clone()
        .filter(|d| !d.is_empty())
        .or_else(|| image.working_dir.clone().filter(|d| !d.is_empty()))
        .unwrap_or_else(|| "/".to_owned());

    let stop_signal = container
        .lifecycle
        .as_ref()
        .and_then(|l| l.stop_signal.clone())
        .or_else(|| image.stop_signal.clone().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| DEFAULT_STOP_SIGNAL.to_owned());

    Ok(Process {
        args,
        env: env.into_pairs(),
        cwd,
        user: user_request(pod, container, image),
        stop_signal,
    })
}

fn user_request(pod: &AdmittedPod, container: &Container, image: &ImageConfig) -> UserRequest {
    let pod_security = pod.pod().spec.security_context.as_ref();
    let own = container.security_context.as_ref();
    UserRequest {
        uid: own
            .and_then(|s| s.run_as_user)
            .or_else(|| pod_security.and_then(|s| s.run_as_user)),
        gid: own
            .and_then(|s| s.run_as_group)
            .or_else(|| pod_security.and_then(|s| s.run_as_group)),
        image_user: image.user.clone().filter(|u| !u.is_empty()),
        supplemental_groups: pod_security
            .map(|s| s.supplemental_groups.clone())
            .unwrap_or_default(),
        run_as_non_root: own
            .and_then(|s| s.run_as_non_root)
            .or_else(|| pod_security.and_then(|s| s.run_as_non_root))
            .unwrap_or(false),
    }
}

/// An ordered environment where a later definition of a name wins.
#[derive(Debug, Default)]
struct Environment {
    ordered: Vec<(String, String)>,
    values: BTreeMap<String, String>,
}

impl Environment {
    fn set(&mut self, name: &str, value: &str) {
        match self.ordered.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = value.to_owned(),
            None => self.ordered.push((name.to_owned(), value.to_owned())),
        }
        self.values.insert(name.to_owned(), value.to_owned());
    }

    fn into_pairs(self) -> Vec<(String, String)> {
        self.ordered
    }
}

/// The container's own variables, each value expanded against those before it
/// (the kubelet's `makeEnvironmentVariables`).
fn container_environment(
    pod: &AdmittedPod,
    container: &Container,
    runtime: RuntimeFields<'_>,
) -> Result<Environment, ProcessError> {
    let mut env = Environment::default();
    for EnvVar {
        name,
        value,
        value_from,
    } in &container.env
    {
        let resolved =
            match (
                value,
                value_from.as_ref().and_then(|v| v.field_ref.as_ref()),
            ) {
                (Some(value), _) if !value.is_empty() => expand(value, &env.values),
                (_, Some(field_ref)) => field_value(pod, &field_ref.field_path, runtime)
                    .ok_or_else(|| ProcessError::UnsupportedFieldRef {
                        container: container.name.clone(),
                        name: name.clone(),
                        field_path: field_ref.field_path.clone(),
                    })?,
                _ => String::new(),
            };
        env.set(name, &resolved);
    }
    Ok(env)
}

/// The downward API's value for `field_path`, or `None` if minipod cannot provide it.
fn field_value(pod: &AdmittedPod, field_path: &str, runtime: RuntimeFields<'_>) -> Option<String> {
    let meta = &pod.pod().metadata;
    let keyed = |prefix: &str, map: &BTreeMap<String, String>| {
        let key = field_path.strip_prefix(prefix)?.strip_suffix("']")?;
        Some(map.get(key).cloned().unwrap_or_default())
    };
    match field_path {
        "metadata.name" => Some(pod.name().to_owned()),
        "metadata.namespace" => Some(pod.namespace().to_owned()),
        "metadata.uid" => Some(pod.uid().to_owned()),
        "spec.nodeName" => Some(runtime.node_name.to_owned()),
        // An address the status does not have yet is the empty string.
        "status.podIP" => Some(first(&runtime.addresses.pod_ips)),
        "status.podIPs" => Some(joined(&runtime.addresses.pod_ips)),
        "status.hostIP" => Some(first(&runtime.addresses.host_ips)),
        "status.hostIPs" => Some(joined(&runtime.addresses.host_ips)),
        // With no service accounts, the pod runs as the one a cluster would give it.
        "spec.serviceAccountName" => Some(
            pod.pod()
                .spec
                .service_account_name
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "default".to_owned()),
        ),
        _ => keyed("metadata.labels['", &meta.labels)
            .or_else(|| keyed("metadata.annotations['", &meta.annotations)),
    }
}

fn first(ips: &[IpAddr]) -> String {
    ips.first().map(IpAddr::to_string).unwrap_or_default()
}

fn joined(ips: &[IpAddr]) -> String {
    let texts: Vec<String> = ips.iter().map(IpAddr::to_string).collect();
    texts.join(",")
}

/// Expands `$(NAME)` references as the kubelet does: `$$` → `$`; an unknown,
/// empty or unclosed reference, and a `$` before anything else, stay as written.
pub fn expand(input: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(reference) = after.strip_prefix('(') {
            match reference.find(')') {
                Some(close) => {
                    let name = &reference[..close];
                    match values.get(name) {
                        Some(value) => out.push_str(value),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &reference[close + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = reference;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::admitted;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn expansion_follows_the_kubelet_rules() {
        let vars = values(&[("A", "x"), ("EMPTY", "")]);
        let cases = [
            ("$(A)", "x"),
            ("pre-$(A)-post", "pre-x-post"),
            ("$(EMPTY)", ""),
            ("$$(A)", "$(A)"),
            ("$$$(A)", "$x"),
            ("$(UNKNOWN)", "$(UNKNOWN)"),
            ("$()", "$()"),
            ("$(A", "$(A"),
            ("$A", "$A"),
            ("a$", "a$"),
            ("$(A)$(A)", "xx"),
            ("no refs", "no refs"),
        ];
        for (input, expected) in cases {
            assert_eq!(expand(input, &vars), expected, "{input}");
        }
    }

    fn pod_with(container_yaml: &str) -> AdmittedPod {
        admitted(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: lab\n  labels: {{app: shop}}\nspec:\n  os: {{name: linux}}\n  containers:\n  - name: app\n    image: busybox\n{container_yaml}"
        ))
    }

    fn image() -> ImageConfig {
        ImageConfig {
            entrypoint: vec!["/entry".into()],
            cmd: vec!["serve".into(), "--port=80".into()],
            env: vec!["PATH=/bin".into(), "MODE=image".into()],
            working_dir: Some("/srv".into()),
            user: Some("1000:1000".into()),
            stop_signal: Some("SIGQUIT".into()),
        }
    }

    fn process(container_yaml: &str) -> Process {
        let pod = pod_with(container_yaml);
        resolve_process(
            &pod,
            &pod.pod().spec.containers[0],
            &image(),
            on_node("node-1"),
        )
        .unwrap()
    }

    #[test]
    fn neither_command_nor_args_keeps_the_image_entrypoint_and_cmd() {
        assert_eq!(process("").args, ["/entry", "serve", "--port=80"]);
    }

    #[test]
    fn args_alone_replace_only_the_image_cmd() {
        assert_eq!(process("    args: [debug]\n").args, ["/entry", "debug"]);
    }

    #[test]
    fn command_replaces_entrypoint_and_cmd() {
        assert_eq!(process("    command: [sh, -c]\n").args, ["sh", "-c"]);
        assert_eq!(
            process("    command: [sh, -c]\n    args: [date]\n").args,
            ["sh", "-c", "date"]
        );
    }

    #[test]
    fn no_command_anywhere_is_an_error_naming_the_container() {
        let pod = pod_with("");
        let error = resolve_process(
            &pod,
            &pod.pod().spec.containers[0],
            &ImageConfig::default(),
            on_node("n"),
        )
        .unwrap_err();
        assert_eq!(
            error,
            ProcessError::NoCommand {
                container: "app".into()
            }
        );
    }

    #[test]
    fn env_is_hostname_then_image_then_container_and_later_wins() {
        let p = process(
            "    env: [{name: MODE, value: pod}, {name: EXTRA, value: \"$(MODE)-$(PATH)\"}]\n",
        );
        assert_eq!(
            p.env,
            [
                ("HOSTNAME".to_owned(), "web".to_owned()),
                ("PATH".to_owned(), "/bin".to_owned()),
                ("MODE".to_owned(), "pod".to_owned()),
                // $(PATH) is the image's: not visible to expansion, kept as written.
                ("EXTRA".to_owned(), "pod-$(PATH)".to_owned()),
            ]
        );
    }

    #[test]
    fn command_and_args_expand_container_variables() {
        let p = process(
            "    env: [{name: GREETING, value: hello}]\n    command: [echo, \"$(GREETING)\", \"$$(GREETING)\"]\n",
        );
        assert_eq!(p.args, ["echo", "hello", "$(GREETING)"]);
    }

    #[test]
    fn field_refs_give_the_pods_identity() {
        let p = process(
            "    env:\n    - {name: NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}\n    - {name: NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}\n    - {name: UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}\n    - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}\n    - {name: APP, valueFrom: {fieldRef: {fieldPath: \"metadata.labels['app']\"}}}\n    - {name: SA, valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}}\n",
        );
        let env: BTreeMap<_, _> = p.env.into_iter().collect();
        assert_eq!(env["NAME"], "web");
        assert_eq!(env["NS"], "lab");
        assert_eq!(env["UID"].len(), 36, "a UUID");
        assert_eq!(env["NODE"], "node-1");
        assert_eq!(env["APP"], "shop");
        assert_eq!(env["SA"], "default");
    }

    #[test]
    fn field_refs_give_the_addresses_of_the_pods_status() {
        let pod = admitted(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: app\n    image: busybox\n    env:\n    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}\n    - {name: POD_IPS, valueFrom: {fieldRef: {fieldPath: status.podIPs}}}\n    - {name: HOST_IP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}\n    - {name: HOST_IPS, valueFrom: {fieldRef: {fieldPath: status.hostIPs}}}\n    - {name: URL, value: \"http://$(POD_IP):80\"}\n",
        );
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let env_with = |addresses: &PodAddresses| -> BTreeMap<String, String> {
            let runtime = RuntimeFields {
                node_name: "n",
                node_hostname: "node-hostname",
                addresses,
            };
            resolve_process(&pod, &pod.pod().spec.containers[0], &image(), runtime)
                .unwrap()
                .env
                .into_iter()
                .collect()
        };
        let dual = PodAddresses::new(
            &[ip("192.0.2.2"), ip("2001:db8::2")],
            &[ip("fd00::5"), ip("10.88.0.5")],
        );
        let env = env_with(&dual);
        assert_eq!(env["POD_IP"], "10.88.0.5");
        assert_eq!(env["POD_IPS"], "10.88.0.5,fd00::5");
        assert_eq!(env["HOST_IP"], "192.0.2.2");
        assert_eq!(env["HOST_IPS"], "192.0.2.2,2001:db8::2");
        assert_eq!(env["URL"], "http://10.88.0.5:80");

        // No address yet: empty values, as the kubelet's empty podIP.
        let env = env_with(&PodAddresses::default());
        for name in ["POD_IP", "POD_IPS", "HOST_IP", "HOST_IPS"] {
            assert_eq!(env[name], "", "{name}");
        }
    }

    #[test]
    fn working_dir_stop_signal_and_user_fall_back_to_the_image() {
        let p = process("");
        assert_eq!(p.cwd, "/srv");
        assert_eq!(p.stop_signal, "SIGQUIT");
        assert_eq!(p.user.image_user.as_deref(), Some("1000:1000"));
        assert_eq!((p.user.uid, p.user.gid), (None, None));
        let p = process(
            "    workingDir: /data\n    lifecycle: {stopSignal: SIGUSR1}\n    securityContext: {runAsUser: 7, runAsNonRoot: true}\n",
        );
        assert_eq!(p.cwd, "/data");
        assert_eq!(p.stop_signal, "SIGUSR1");
        assert_eq!(p.user.uid, Some(7));
        assert!(p.user.run_as_non_root);
    }

    #[test]
    fn the_pod_security_context_applies_unless_the_container_overrides_it() {
        let pod = admitted(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  securityContext: {runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000]}\n  containers:\n  - {name: a, image: busybox, command: [sh]}\n  - {name: b, image: busybox, command: [sh], securityContext: {runAsUser: 2000}}\n",
        );
        let user = |i: usize| {
            resolve_process(
                &pod,
                &pod.pod().spec.containers[i],
                &ImageConfig::default(),
                on_node("n"),
            )
            .unwrap()
            .user
        };
        assert_eq!(
            (user(0).uid, user(0).gid, user(0).supplemental_groups),
            (Some(1000), Some(3000), vec![4000])
        );
        assert_eq!((user(1).uid, user(1).gid), (Some(2000), Some(3000)));
    }

    #[test]
    fn the_hostname_is_spec_hostname_or_the_pod_name_cut_to_a_label() {
        let pod = admitted(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {hostname: front, containers: [{name: a, image: b}]}\n",
        );
        assert_eq!(pod_hostname(&pod), "front");
        let long = format!("{}-x", "a".repeat(62));
        let pod = admitted(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {long}}}\nspec: {{containers: [{{name: a, image: b}}]}}\n"
        ));
        assert_eq!(
            pod_hostname(&pod),
            "a".repeat(62),
            "63 characters, trailing '-' trimmed"
        );
    }
}
