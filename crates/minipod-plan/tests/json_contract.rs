//! The JSON plan is a contract (`minipod plan -o json`, and what other
//! crates read): exactly these keys, these types, nothing else.

use std::collections::BTreeSet;

use minipod_plan::{NodeFacts, plan};
use minipod_spec::{AdmittedPod, Pod, ServerAssigned, admit};
use serde_json::{Value, json};

fn admitted(yaml: &str) -> AdmittedPod {
    let pod: Pod = yaml_serde::from_str(yaml).expect("manifest parses");
    let assigned = ServerAssigned {
        uid: "00000000-0000-4000-8000-000000000000".into(),
        name_suffix: "b7x2k".into(),
    };
    admit(pod, &assigned).expect("manifest is valid")
}

const NODE: NodeFacts = NodeFacts {
    memory_capacity_bytes: 8_000_000_000,
};

/// An init container, a sidecar without limits, and an app.
const WEB: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  initContainers:
  - name: setup
    image: busybox
    resources:
      requests: {cpu: 500m, memory: 64Mi}
      limits: {cpu: 500m, memory: 64Mi}
  - name: proxy
    image: envoy
    restartPolicy: Always
    resources:
      requests: {cpu: 400m, memory: 32Mi}
  containers:
  - name: app
    image: nginx
    resources:
      requests: {cpu: 300m, memory: 128Mi}
      limits: {cpu: '1', memory: 256Mi}
";

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

const CGROUP_KEYS: &[&str] = &[
    "cpuShares",
    "cpuQuotaUs",
    "cpuPeriodUs",
    "memoryLimitBytes",
    "cpuWeight",
    "cpuMax",
    "memoryMax",
];

#[test]
fn the_plan_has_exactly_the_contract_keys() {
    let value = serde_json::to_value(plan(&admitted(WEB), &NODE)).unwrap();
    assert_eq!(
        keys(&value),
        set(&[
            "name",
            "namespace",
            "qosClass",
            "startOrder",
            "effective",
            "podCgroup",
            "containers"
        ])
    );
    for step in value["startOrder"].as_array().unwrap() {
        assert_eq!(keys(step), set(&["name", "role"]));
    }
    assert_eq!(keys(&value["effective"]), set(&["requests", "limits"]));
    assert_eq!(keys(&value["podCgroup"]), set(CGROUP_KEYS));
    for container in value["containers"].as_array().unwrap() {
        assert_eq!(
            keys(container),
            set(&["name", "role", "oomScoreAdj", "cgroup"])
        );
        assert_eq!(keys(&container["cgroup"]), set(CGROUP_KEYS));
    }
}

#[test]
fn unset_quota_and_memory_limit_serialize_as_null() {
    let value = serde_json::to_value(plan(&admitted(WEB), &NODE)).unwrap();
    assert_eq!(value["podCgroup"]["cpuQuotaUs"], Value::Null);
    assert_eq!(value["podCgroup"]["memoryLimitBytes"], Value::Null);
}

#[test]
fn golden_plan_of_a_pod_with_an_init_container_a_sidecar_and_an_app() {
    let value = serde_json::to_value(plan(&admitted(WEB), &NODE)).unwrap();
    let expected = json!({
        "name": "web",
        "namespace": "default",
        "qosClass": "Burstable",
        "startOrder": [
            {"name": "setup", "role": "init"},
            {"name": "proxy", "role": "sidecar"},
            {"name": "app", "role": "app"}
        ],
        "effective": {
            // cpu: max(setup 500m + 0, app 300m + proxy 400m) = 700m
            // memory: max(64Mi, 128Mi + 32Mi) = 160Mi
            "requests": {"cpu": 700, "memory": 167_772_160},
            // the sidecar has no limits: it adds nothing
            "limits": {"cpu": 1000, "memory": 268_435_456}
        },
        "podCgroup": {
            // 700 * 1024 / 1000; no quota and no memory limit: proxy has no limits
            "cpuShares": 716, "cpuQuotaUs": null, "cpuPeriodUs": 100000,
            "memoryLimitBytes": null, "cpuWeight": 76,
            "cpuMax": "max 100000", "memoryMax": "max"
        },
        "containers": [
            {
                "name": "setup", "role": "init",
                // 1000 - 1000 * 67108864 / 8e9
                "oomScoreAdj": 992,
                "cgroup": {
                    "cpuShares": 512, "cpuQuotaUs": 50000, "cpuPeriodUs": 100000,
                    "memoryLimitBytes": 67_108_864, "cpuWeight": 59,
                    "cpuMax": "50000 100000", "memoryMax": "67108864"
                }
            },
            {
                "name": "proxy", "role": "sidecar",
                // min(1000 - 1000 * 32Mi / 8e9 = 996, app's 984)
                "oomScoreAdj": 984,
                "cgroup": {
                    "cpuShares": 409, "cpuQuotaUs": null, "cpuPeriodUs": 100000,
                    "memoryLimitBytes": null, "cpuWeight": 49,
                    "cpuMax": "max 100000", "memoryMax": "max"
                }
            },
            {
                "name": "app", "role": "app",
                // 1000 - 1000 * 128Mi / 8e9
                "oomScoreAdj": 984,
                "cgroup": {
                    "cpuShares": 307, "cpuQuotaUs": 100000, "cpuPeriodUs": 100000,
                    "memoryLimitBytes": 268_435_456, "cpuWeight": 40,
                    "cpuMax": "100000 100000", "memoryMax": "268435456"
                }
            }
        ]
    });
    assert_eq!(
        value,
        expected,
        "{}",
        serde_json::to_string_pretty(&value).unwrap()
    );
}

#[test]
fn a_guaranteed_pod_with_limits_only_gets_requests_from_its_limits() {
    let value = serde_json::to_value(plan(
        &admitted(
            "\
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: data}
spec:
  containers:
  - name: db
    image: postgres
    resources:
      limits: {cpu: 250m, memory: 1Gi}
",
        ),
        &NODE,
    ))
    .unwrap();
    assert_eq!(value["namespace"], "data");
    assert_eq!(value["qosClass"], "Guaranteed");
    assert_eq!(
        value["effective"]["requests"],
        json!({"cpu": 250, "memory": 1_073_741_824})
    );
    assert_eq!(
        value["effective"]["limits"],
        json!({"cpu": 250, "memory": 1_073_741_824})
    );
    assert_eq!(value["podCgroup"]["cpuQuotaUs"], 25_000);
    assert_eq!(value["podCgroup"]["memoryMax"], "1073741824");
    assert_eq!(value["containers"][0]["oomScoreAdj"], -997);
}

#[test]
fn a_best_effort_pod_has_empty_resource_maps() {
    let value = serde_json::to_value(plan(
        &admitted(
            "\
apiVersion: v1
kind: Pod
metadata: {name: idle}
spec:
  containers:
  - {name: idle, image: busybox}
",
        ),
        &NODE,
    ))
    .unwrap();
    assert_eq!(value["qosClass"], "BestEffort");
    assert_eq!(value["effective"], json!({"requests": {}, "limits": {}}));
    assert_eq!(value["podCgroup"]["cpuShares"], 2);
    assert_eq!(value["containers"][0]["oomScoreAdj"], 1000);
}
