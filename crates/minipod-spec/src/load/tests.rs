use super::*;

fn errors(text: &str) -> Vec<String> {
    match parse_manifests(text.as_bytes(), "pod.yaml") {
        Ok(pods) => panic!("expected errors, got {} pods", pods.len()),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
    }
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: app\n    image: busybox\n";

#[test]
fn one_pod_parses() {
    let pods = parse_manifests(POD.as_bytes(), "pod.yaml").unwrap();
    assert_eq!(pods.len(), 1);
    assert_eq!(pods[0].pod.metadata.name.as_deref(), Some("web"));
    assert_eq!(
        pods[0].source,
        Source {
            file: "pod.yaml".into(),
            document: 1
        }
    );
}

#[test]
fn several_documents_and_empty_ones_are_handled_as_kubectl_does() {
    let text = format!(
        "---\n{POD}---\n---\n# only a comment\n---\n{}",
        POD.replace("web", "db")
    );
    let pods = parse_manifests(text.as_bytes(), "pods.yaml").unwrap();
    let names: Vec<_> = pods
        .iter()
        .map(|p| p.pod.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["web", "db"]);
    assert_eq!(pods[1].source.document, 4);
}

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: e30=\n";

#[test]
fn secrets_and_pods_come_back_apart_in_the_files_order() {
    let text = format!(
        "{POD}---\n{SECRET}---\n{}",
        SECRET.replace("regcred", "other")
    );
    let objects = parse_objects(text.as_bytes(), "all.yaml").unwrap();
    assert_eq!(objects.pods.len(), 1);
    let names: Vec<&str> = objects.secrets.iter().map(|s| s.secret.name()).collect();
    assert_eq!(names, ["regcred", "other"]);
    assert_eq!(objects.secrets[0].source.document, 2);
    assert_eq!(objects.secrets[0].secret.data[".dockerconfigjson"].0, b"{}");
    // The pods-only readers skip the Secrets.
    assert_eq!(
        parse_manifests(text.as_bytes(), "all.yaml").unwrap().len(),
        1
    );
    assert!(
        parse_manifests(SECRET.as_bytes(), "s.yaml")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_secret_is_read_strictly_and_its_base64_checked() {
    assert_eq!(
        errors(&SECRET.replace("type:", "typo:")),
        ["pod.yaml:5:1: unknown field \"typo\" (did you mean \"type\"?)"]
    );
    assert_eq!(
        errors(&SECRET.replace("e30=", "e30$")),
        ["pod.yaml:7:22: data..dockerconfigjson: illegal base64 data at input byte 3"]
    );
}

#[test]
fn json_is_accepted_including_tabs() {
    let json = "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"Pod\",\n\t\"metadata\": {\"name\": \"web\"},\n\t\"spec\": {\"containers\": [{\"name\": \"app\", \"image\": \"busybox\"}]}\n}\n";
    let pods = parse_manifests(json.as_bytes(), "pod.json").unwrap();
    assert_eq!(pods[0].pod.spec.containers[0].name, "app");
}

#[test]
fn a_typo_names_the_field_path_file_line_and_the_real_field() {
    let text = POD.replace(
        "    image: busybox\n",
        "    image: busybox\n    restartPolicyy: Always\n",
    );
    assert_eq!(
        errors(&text),
        [
            "pod.yaml:9:5: unknown field \"spec.containers[0].restartPolicyy\" (did you mean \"restartPolicy\"?)"
        ]
    );
}

#[test]
fn a_typo_in_json_is_located_too() {
    let json = "{\"apiVersion\": \"v1\", \"kind\": \"Pod\",\n \"spec\": {\"containers\": [{\"name\": \"a\", \"imagePullPolicyy\": \"Never\"}]}}";
    assert_eq!(
        errors(json),
        [
            "pod.yaml:2:40: unknown field \"spec.containers[0].imagePullPolicyy\" (did you mean \"imagePullPolicy\"?)"
        ]
    );
}

#[test]
fn a_top_level_typo_and_a_wrong_case_are_suggested() {
    assert_eq!(
        errors("apiVersion: v1\nkind: Pod\nSpec: {}\n"),
        ["pod.yaml:3:1: unknown field \"Spec\" (did you mean \"spec\"?)"]
    );
}

#[test]
fn a_field_far_from_any_real_one_gets_no_suggestion() {
    assert_eq!(
        errors("apiVersion: v1\nkind: Pod\nmetadata: {name: web, colour: blue}\n"),
        ["pod.yaml:3:23: unknown field \"metadata.colour\""]
    );
}

#[test]
fn every_bad_document_is_reported() {
    let text = format!(
        "{}---\napiVersion: apps/v1\nkind: Deployment\n---\n{}",
        POD.replace("  name: web\n", "  name: web\n  lables: {}\n"),
        POD.replace("image: busybox", "image: [busybox]")
    );
    assert_eq!(
        errors(&text),
        [
            "pod.yaml:5:3: unknown field \"metadata.lables\" (did you mean \"labels\"?)",
            "pod.yaml:12:7: unsupported kind \"Deployment\" (apiVersion \"apps/v1\"): minipod takes Pods and Secrets (apiVersion \"v1\", kind \"Pod\" or \"Secret\")",
            "pod.yaml:21:12: spec.containers[0].image: invalid type: sequence, expected a string",
        ]
    );
}

#[test]
fn pod_needs_api_version_v1() {
    assert_eq!(
        errors("apiVersion: v2\nkind: Pod\n"),
        [
            "pod.yaml:2:7: unsupported kind \"Pod\" (apiVersion \"v2\"): minipod takes Pods and Secrets (apiVersion \"v1\", kind \"Pod\" or \"Secret\")"
        ]
    );
}

#[test]
fn missing_type_information_is_named() {
    assert_eq!(
        errors("metadata: {name: web}\n"),
        ["pod.yaml (document 1): kind not set"]
    );
    assert_eq!(
        errors("kind: Pod\n"),
        ["pod.yaml (document 1): apiVersion not set"]
    );
}

#[test]
fn an_empty_file_is_an_error() {
    assert_eq!(
        errors(""),
        ["pod.yaml: no objects found (the file is empty or only comments)"]
    );
    assert_eq!(
        errors("# nothing\n---\n"),
        ["pod.yaml: no objects found (the file is empty or only comments)"]
    );
}

#[test]
fn syntax_errors_are_located() {
    assert_eq!(
        errors("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n   image: b\n"),
        [
            "pod.yaml:6:4: did not find expected key, while parsing a block mapping at line 4 column 3"
        ]
    );
}

#[test]
fn a_bad_quantity_is_a_parse_error_in_kubernetes_words() {
    let text = POD.replace(
        "image: busybox",
        "image: busybox\n    resources: {limits: {cpu: lots}}",
    );
    let errors = errors(&text);
    assert_eq!(errors.len(), 1);
    assert!(
            errors[0].starts_with("pod.yaml:9:31: spec.containers[0].resources.limits.cpu: quantities must match the regular expression"),
            "{errors:?}"
        );
}

#[test]
fn binary_garbage_is_refused_as_not_text() {
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let error = parse_manifests(&garbage, "blob.bin").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("blob.bin: not a manifest: not UTF-8 text"),
        "{error}"
    );
}

#[test]
fn control_characters_are_refused() {
    assert_eq!(
        errors("\u{1}\u{2}zz: ["),
        ["pod.yaml:1:1: control characters are not allowed"]
    );
}

#[test]
fn deep_nesting_is_refused_quickly() {
    let deep = format!(
        "apiVersion: v1\nkind: Pod\nspec: {{affinity: {}{}}}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let started = std::time::Instant::now();
    assert_eq!(
        errors(&deep),
        ["pod.yaml:3:117: collections nested deeper than 100 levels"]
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn an_alias_bomb_is_refused_quickly() {
    // Nine levels of anchors, each repeating the one before nine times,
    // inside a field typed loosely (so every alias would be expanded;
    // `affinity` was one until it was typed).
    let mut bomb = String::from(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  tolerations:\n    x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..10 {
        let p = i - 1;
        bomb += &format!(
            "    x{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        );
    }
    bomb += "  containers: [{name: a, image: b}]\n";
    let started = std::time::Instant::now();
    let errors = errors(&bomb);
    // Generous bound: the point is "bounded", not "fast".
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        errors,
        [
            "pod.yaml (document 1): YAML aliases expand to too many nodes (repetition limit exceeded)"
        ]
    );
}

#[test]
fn a_value_of_the_wrong_type_is_named_by_its_kind_only() {
    let secret = SECRET.replace(".dockerconfigjson: e30=", ".dockerconfigjson: 123456");
    assert_eq!(
        errors(&secret),
        vec![
            "pod.yaml:7:22: data..dockerconfigjson: invalid type: integer, expected a base64 string"
        ]
    );
    let pod = POD.replace(
        "image: busybox",
        "image: \"x\"\n    ports:\n    - containerPort: \"hunter2\"",
    );
    let message = errors(&pod).join("\n");
    assert!(
        message.contains("invalid type: string, expected i32"),
        "{message}"
    );
    assert_eq!(
        without_values(
            "a: invalid value: string \"x, y\", expected b; invalid type: boolean `true`"
        ),
        "a: invalid value: string, expected b; invalid type: boolean"
    );
}

#[test]
fn a_block_sequence_bomb_is_refused_before_the_parser() {
    let started = std::time::Instant::now();
    let bomb = format!("{}x\n", "- ".repeat(1_500_000));
    assert_eq!(
        errors(&bomb),
        vec![format!(
            "pod.yaml:1:{}: collections nested deeper than {} levels",
            2 * crate::nesting::MAX_FLOW_DEPTH + 1,
            crate::nesting::MAX_FLOW_DEPTH
        )]
    );
    let flat = "- a\n".repeat(700_000);
    let message = errors(&flat).join("\n");
    assert!(message.contains("more than 100000 YAML nodes"), "{message}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn a_repeated_map_key_is_refused_with_its_path_and_line() {
    let text = POD.replace(
        "  name: web\n",
        "  name: web\n  labels:\n    app: a\n    app: b\n",
    );
    assert_eq!(
        errors(&text),
        vec![
            "pod.yaml:7:5: duplicate key \"metadata.labels.app\": the mapping already has this key"
        ]
    );
    // Every document is checked; a repeated struct field is serde's own error.
    let two = format!(
        "{POD}---\n{}",
        SECRET.replace("\ndata:\n", "\ndata:\n  k: YQ==\n  k: Yg==\n")
    );
    let message = errors(&two).join("\n");
    assert!(
        message.starts_with("pod.yaml:17:3: duplicate key \"data.k\""),
        "{message}"
    );
    assert!(
        !message.contains("YQ==") && !message.contains("Yg=="),
        "{message}"
    );
}

#[test]
fn large_input_is_refused_without_reading_it_all() {
    let endless = std::io::repeat(b'a');
    let error = read_bounded(endless, "/dev/zero").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "/dev/zero: larger than {MAX_MANIFEST_BYTES} bytes (the Kubernetes API server's request limit)"
        )
    );
}

#[test]
fn a_directory_and_a_missing_file_are_named() {
    let dir = std::env::temp_dir();
    let error = read_manifest_file(&dir).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{}: is a directory; give a manifest file", dir.display())
    );
    let missing = Path::new("/nonexistent/pod.yaml");
    let error = read_manifest_file(missing).unwrap_err();
    // The step names itself; the cause follows once, from the chain.
    assert_eq!(error.to_string(), "/nonexistent/pod.yaml: cannot read");
    let errors = LoadErrors::from(error);
    assert!(
        errors
            .to_string()
            .starts_with("/nonexistent/pod.yaml: cannot read: No such file"),
        "{errors}"
    );
}

#[test]
fn positions_are_taken_out_of_the_middle_of_messages() {
    assert_eq!(
        strip_location("did not find expected key at line 6 column 4, while parsing"),
        "did not find expected key, while parsing"
    );
    assert_eq!(
        strip_location("invalid type at line 1 column 2"),
        "invalid type"
    );
    assert_eq!(
        strip_location("quoted \"at line one\""),
        "quoted \"at line one\""
    );
}

#[test]
fn short_names_get_no_far_fetched_suggestion() {
    assert_eq!(
        errors("apiVersion: v1\nkind: Pod\nspec: {x1: 1}\n"),
        ["pod.yaml:3:8: unknown field \"spec.x1\""]
    );
}

#[test]
fn edit_distance_counts_single_edits() {
    assert_eq!(edit_distance("restartpolicyy", "restartpolicy"), 1);
    assert_eq!(edit_distance("imgae", "image"), 2);
    assert_eq!(edit_distance("", "abc"), 3);
}

/// kubectl's YAML library (go-yaml v2) reads `\'` in a double-quoted scalar
/// as an apostrophe; so must we (see `escapes`).
#[test]
fn an_escaped_apostrophe_in_double_quotes_reads_as_kubectl_reads_it() {
    let text = format!("{POD}    command: [\"sh\", \"-c\", \"echo it\\'s \\\"ok\\\"\"]\n");
    let pods = parse_manifests(text.as_bytes(), "pod.yaml").unwrap();
    assert_eq!(
        pods[0].pod.spec.containers[0].command,
        Some(vec!["sh".into(), "-c".into(), "echo it's \"ok\"".into()])
    );
}

#[test]
fn errors_after_an_escaped_apostrophe_point_into_the_file_as_written() {
    // The typo's column is counted in the file, not in the rewritten text.
    let text = format!("{POD}    env: [{{name: A, value: \"it\\'s\", valu: x}}]\n");
    assert_eq!(
        errors(&text),
        [
            r#"pod.yaml:9:37: unknown field "spec.containers[0].env[0].valu" (did you mean "value"?)"#
        ]
    );
}

#[test]
fn an_escaped_apostrophe_in_json_is_refused_as_kubectl_refuses_it() {
    let text = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "it\'s"}}"#;
    let errors = errors(text);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].contains("found unknown escape character"),
        "{errors:?}"
    );
}

/// The API server decodes `affinity` into its types before anything else:
/// a list where a `NodeSelector` object is required is refused there
/// (`json: cannot unmarshal array into Go struct field
/// NodeAffinity.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
/// of type v1.NodeSelector`), so it is here, with the same path.
#[test]
fn affinity_is_decoded_as_the_api_server_decodes_it() {
    let with_affinity = |affinity: &str| format!("{POD}  affinity:\n{affinity}");
    assert_eq!(
        errors(&with_affinity(
            "    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n      - nodeSelectorTerms: []\n"
        )),
        [
            "pod.yaml:12:7: spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution: invalid type: sequence, expected struct NodeSelector"
        ]
    );
    assert_eq!(
        errors(&with_affinity(
            "    podAntiAffinity:\n      preferredDuringSchedulingIgnoredDuringExecution:\n      - weight: heavy\n"
        )),
        [
            "pod.yaml:12:17: spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: invalid type: string, expected i32"
        ]
    );
    assert_eq!(
        errors(&with_affinity("    nodeAfinity: {}\n")),
        [
            r#"pod.yaml:10:5: unknown field "spec.affinity.nodeAfinity" (did you mean "nodeAffinity"?)"#
        ]
    );
    // What decodes is accepted, nulls included, as Go's decoder leaves
    // them at their zero values.
    let pods = parse_manifests(
        with_affinity(
            "    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: a, operator: In, values: [x]}]}]}\n      preferredDuringSchedulingIgnoredDuringExecution: null\n",
        )
        .as_bytes(),
        "pod.yaml",
    )
    .unwrap();
    assert!(pods[0].pod.spec.affinity.is_some());
}

#[test]
fn an_escaped_slash_in_double_quoted_yaml_is_refused_as_kubectl_refuses_it() {
    let text = format!("{POD}    command: [\"echo\", \"a\\/b\"]\n");
    assert_eq!(
        errors(&text),
        [
            r"pod.yaml:9:25: found unknown escape character \/ while parsing a quoted scalar (kubectl's YAML parser takes it only in JSON; write / unescaped)"
        ]
    );
}
