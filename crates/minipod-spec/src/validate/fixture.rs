//! Test support: a valid, already-defaulted pod and a table runner that
//! applies one small mutation and compares the rendered errors (golden
//! strings, in the API server's order).

use crate::enums::{DnsPolicy, PullPolicy, RestartPolicy, TerminationMessagePolicy, UriScheme};
use crate::model::{
    Container, ExecAction, HttpGetAction, IntOrString, ObjectMeta, Pod, PodSpec, Probe,
    TcpSocketAction,
};
use crate::quantity::Quantity;

use super::validate_pod;

/// One table row: a mutation of [`base_pod`] and the exact errors expected.
pub(crate) struct Case<'a> {
    pub name: &'a str,
    pub mutate: fn(&mut Pod),
    pub want: &'a [&'a str],
}

/// Runs every case; reports all mismatches together.
pub(crate) fn check(cases: &[Case<'_>]) {
    let mut failures = Vec::new();
    for case in cases {
        let mut pod = base_pod();
        (case.mutate)(&mut pod);
        let got: Vec<String> = validate_pod(&pod).iter().map(ToString::to_string).collect();
        let want: Vec<String> = case.want.iter().map(|s| (*s).to_owned()).collect();
        if got != want {
            failures.push(format!(
                "{}:\n  got:  {got:#?}\n  want: {want:#?}",
                case.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A defaulted app container named `name`.
pub(crate) fn container(name: &str) -> Container {
    Container {
        name: name.to_owned(),
        image: Some("nginx:1.27".to_owned()),
        image_pull_policy: Some(PullPolicy::IfNotPresent),
        termination_message_path: Some("/dev/termination-log".to_owned()),
        termination_message_policy: Some(TerminationMessagePolicy::File),
        ..Container::default()
    }
}

/// The pod every case starts from: valid once defaulted.
pub(crate) fn base_pod() -> Pod {
    Pod {
        api_version: "v1".to_owned(),
        kind: "Pod".to_owned(),
        metadata: ObjectMeta {
            name: Some("web".to_owned()),
            namespace: Some("default".to_owned()),
            ..ObjectMeta::default()
        },
        spec: PodSpec {
            containers: vec![container("app")],
            restart_policy: Some(RestartPolicy::Always),
            termination_grace_period_seconds: Some(30),
            dns_policy: Some(DnsPolicy::ClusterFirst),
            ..PodSpec::default()
        },
        status: None,
    }
}

/// A defaulted probe running `true`.
pub(crate) fn exec_probe() -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: vec!["true".to_owned()],
        }),
        ..defaulted_probe()
    }
}

/// A defaulted probe doing `GET /` on `port`.
pub(crate) fn http_probe(port: IntOrString) -> Probe {
    Probe {
        http_get: Some(http_get(port)),
        ..defaulted_probe()
    }
}

/// A defaulted probe connecting to `port`.
pub(crate) fn tcp_probe(port: IntOrString) -> Probe {
    Probe {
        tcp_socket: Some(TcpSocketAction { port, host: None }),
        ..defaulted_probe()
    }
}

/// A defaulted `httpGet` action.
pub(crate) fn http_get(port: IntOrString) -> HttpGetAction {
    HttpGetAction {
        path: Some("/".to_owned()),
        port,
        host: None,
        scheme: Some(UriScheme::Http),
        http_headers: Vec::new(),
    }
}

/// Probe numbers as the API server defaults them, no handler.
pub(crate) fn defaulted_probe() -> Probe {
    Probe {
        timeout_seconds: Some(1),
        period_seconds: Some(10),
        success_threshold: Some(1),
        failure_threshold: Some(3),
        ..Probe::default()
    }
}

/// A quantity from its text; tests only use valid ones.
pub(crate) fn q(text: &str) -> Quantity {
    Quantity::parse(text).expect("valid quantity")
}
