//! The whole text of a plan: what a student reads.

use super::layout::WIDTH;
use super::*;
use crate::plan::{NodeFacts, plan};
use crate::test_support::admitted;

fn render(yaml: &str) -> String {
    render_text(&plan(
        &admitted(yaml),
        &NodeFacts {
            memory_capacity_bytes: 8_000_000_000,
        },
    ))
}

/// The text with every run of whitespace made one space, so a sentence
/// can be found across wrapped lines.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

const TEACHING_POD: &str = r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: web}
    spec:
      overhead: {memory: 10Mi}
      initContainers:
      - name: setup
        image: busybox
        resources: {requests: {cpu: 500m, memory: 64Mi}, limits: {cpu: 500m, memory: 64Mi}}
      - name: proxy
        image: envoy
        restartPolicy: Always
        resources: {requests: {cpu: 400m, memory: 32Mi}}
      - name: migrate
        image: busybox
        resources: {requests: {cpu: 200m}, limits: {cpu: 200m, memory: 16Mi}}
      containers:
      - name: app
        image: nginx
        resources: {requests: {cpu: 300m, memory: 128Mi}, limits: {cpu: "1", memory: 256Mi}}
"#;

#[test]
fn the_text_shows_the_arithmetic_of_the_effective_cpu_request() {
    let text = flat(&render(TEACHING_POD));
    let expected = "cpu request 700m = max(init \"setup\" 500m + sidecars before it 0, \
                    init \"migrate\" 200m + sidecars before it 400m (\"proxy\"), \
                    app \"app\" 300m + sidecar \"proxy\" 400m)";
    assert!(text.contains(expected), "{text}");
    assert!(
        text.contains("largest once the app containers and sidecars run"),
        "{text}"
    );
}

#[test]
fn the_text_shows_the_overhead_added_to_requests() {
    let text = flat(&render(TEACHING_POD));
    assert!(
        text.contains("sidecar \"proxy\" 32Mi) + overhead 10Mi"),
        "{text}"
    );
}

#[test]
fn the_text_explains_roles_and_start_order() {
    let text = render(TEACHING_POD);
    for needle in [
        "1.  setup    init",
        "2.  proxy    sidecar",
        "3.  migrate  init",
        "4.  app      app",
        "runs to completion",
        "restartPolicy: Always",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn the_text_names_the_container_that_removes_the_pod_quota() {
    let text = render(TEACHING_POD);
    assert!(
        flat(&text).contains(
            "no quota: container \"proxy\" (sidecar) has no cpu limit, so the pod as a whole \
             has no CPU cap"
        ),
        "{text}"
    );
    for file in [
        "cpu.shares",
        "cpu.cfs_quota_us",
        "cpu.cfs_period_us",
        "memory.limit_in_bytes",
        "cpu.weight",
        "cpu.max",
        "memory.max",
    ] {
        assert!(text.contains(file), "missing {file} in\n{text}");
    }
}

#[test]
fn the_text_explains_the_qos_class() {
    let text = flat(&render(TEACHING_POD));
    assert!(text.contains("QoS class: Burstable"), "{text}");
    assert!(
        text.contains("The sidecar container \"proxy\" has no cpu limit."),
        "{text}"
    );
}

#[test]
fn the_text_explains_each_containers_values() {
    let text = flat(&render(TEACHING_POD));
    for needle in [
        "cpu request 500m: 500m × 1024 / 1000 = 512",
        "cpu limit 500m: 500m × 100000 / 1000 = 50000 µs per 100000 µs period",
        "memory limit 64Mi = 67108864 bytes",
        "memory request 33554432 / node memory 8000000000 = 996; sidecar rule: no higher than the app \
         with the smallest memory request (134217728 bytes → 984), min(996, 984) = 984",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn the_text_is_plain_and_aligned() {
    let text = render(TEACHING_POD);
    assert!(!text.contains('\x1b'));
    assert!(text.lines().all(|l| l == l.trim_end()), "{text}");
    assert!(text.ends_with('\n'));
    assert!(
        text.lines().all(|l| l.chars().count() <= WIDTH + 20),
        "{text}"
    );
}

#[test]
fn the_text_of_a_best_effort_pod_says_why_everything_is_unset() {
    let text = flat(&render(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: idle}\nspec:\n  containers: [{name: idle, image: busybox}]",
    ));
    assert!(text.contains("so the pod is BestEffort"), "{text}");
    assert!(
        text.contains("cpu request none no container requests it"),
        "{text}"
    );
    assert!(
        text.contains("BestEffort pod: minimum shares, no quota, no memory limit"),
        "{text}"
    );
}
