//! Our hand-written Pod model (`src/model/`) and Kubernetes agree.
//!
//! `k8s-openapi` is generated from the Kubernetes OpenAPI document, so it is
//! our stand-in for the API server's idea of a Pod. Its structs ignore unknown
//! fields; wrapping the deserializer in `serde_ignored` makes every ignored
//! field visible. The tests prove, in both directions that matter:
//!
//! * every field our model names is a Kubernetes field, spelt the same (a
//!   fixture that sets every model field parses with k8s-openapi, nothing
//!   ignored, and k8s-openapi writes every key back out);
//! * the fixture really does set every field of every model struct (the field
//!   lists come from serde itself, so a field added to `model/` fails the
//!   test until the fixture sets it);
//! * every manifest under `examples/` is a Pod to both models;
//! * a typo is an error for us and an ignored (unknown) field for Kubernetes.
//!
//! The Kubernetes version is k8s-openapi's `v1_*` feature (workspace
//! `Cargo.toml`): the one minipod follows. `k8s_fields_known.rs` checks the
//! other direction (every field of that version is in our model).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use minipod_spec::ServerAssigned;
use minipod_spec::model::{self, Container, IntOrString, LifecycleHandler, Pod, Probe};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, ser};
use serde_json::Value;

type K8sPod = k8s_openapi::api::core::v1::Pod;

// ---------------------------------------------------------------------------
// Files

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    manifest_dir().join("tests/fixtures").join(name)
}

fn examples_dir() -> PathBuf {
    manifest_dir().join("../../examples")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------
// Parsing with both models

/// Parses one YAML document as k8s-openapi's Pod and returns it with every
/// path k8s-openapi ignored (written like our paths: `spec.containers[0].x`).
fn parse_k8s<'de, D>(document: D) -> (Result<K8sPod, D::Error>, Vec<String>)
where
    D: serde::Deserializer<'de>,
{
    let mut ignored = Vec::new();
    let pod = serde_ignored::deserialize(document, |path| ignored.push(path_string(&path)));
    (pod, ignored)
}

fn parse_k8s_str(yaml: &str) -> (K8sPod, Vec<String>) {
    let (pod, ignored) = parse_k8s(yaml_serde::Deserializer::from_str(yaml));
    (
        pod.unwrap_or_else(|e| panic!("k8s-openapi cannot read the Pod: {e}")),
        ignored,
    )
}

/// `serde_ignored`'s path in our notation: map keys joined by `.`, sequence
/// indices in brackets, `Option`/newtype wrappers invisible.
fn path_string(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path as P;
    match path {
        P::Root => String::new(),
        P::Seq { parent, index } => format!("{}[{index}]", path_string(parent)),
        P::Map { parent, key } => {
            let parent = path_string(parent);
            if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            }
        }
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            path_string(parent)
        }
    }
}

/// Every key path of a JSON value: `spec`, `spec.containers`,
/// `spec.containers[0]`'s keys as `spec.containers[0].name`, ...
fn key_paths(value: &Value) -> BTreeSet<String> {
    fn walk(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    out.insert(path.clone());
                    walk(child, &path, out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{prefix}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(value, "", &mut out);
    out
}

/// Lines for an assertion message: what is only on one side.
fn diff(
    left_name: &str,
    left: &BTreeSet<String>,
    right_name: &str,
    right: &BTreeSet<String>,
) -> String {
    let only_left: Vec<_> = left.difference(right).collect();
    let only_right: Vec<_> = right.difference(left).collect();
    format!("only in {left_name}: {only_left:#?}\nonly in {right_name}: {only_right:#?}")
}

// ---------------------------------------------------------------------------
// The fields each model struct declares, as serde sees them

/// The JSON field names `T` accepts, read from serde's own "unknown field"
/// error (which lists every field, after `rename`/`rename_all`).
fn declared_fields<T: DeserializeOwned>() -> BTreeSet<String> {
    let probe = serde_json::json!({ "\u{1}not-a-field": null });
    let message = match serde_json::from_value::<T>(probe) {
        Ok(_) => panic!("{}: accepted an unknown field", std::any::type_name::<T>()),
        Err(e) => e.to_string(),
    };
    if message.contains("there are no fields") {
        return BTreeSet::new();
    }
    let (_, expected) = message.split_once(", expected ").unwrap_or_else(|| {
        panic!(
            "{}: unexpected error {message:?}",
            std::any::type_name::<T>()
        )
    });
    // "`a`", "`a` or `b`", "one of `a`, `b`, `c`": names sit between backticks.
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Every struct of `model/` with the fields it declares.
fn model_structs() -> BTreeMap<&'static str, BTreeSet<String>> {
    macro_rules! structs {
        ($($name:ident),+ $(,)?) => {
            BTreeMap::from([$((stringify!($name), declared_fields::<model::$name>())),+])
        };
    }
    structs!(
        Pod,
        ObjectMeta,
        PodSpec,
        PodOs,
        LocalObjectReference,
        PodReadinessGate,
        HostAlias,
        PodDnsConfig,
        PodDnsConfigOption,
        PodSecurityContext,
        SecurityProfile,
        Container,
        ContainerPort,
        EnvVar,
        EnvVarSource,
        ObjectFieldSelector,
        ResourceRequirements,
        VolumeMount,
        Probe,
        ExecAction,
        HttpGetAction,
        HttpHeader,
        TcpSocketAction,
        GrpcAction,
        Lifecycle,
        LifecycleHandler,
        SleepAction,
        SecurityContext,
        Capabilities,
        Sysctl,
        Volume,
        EmptyDirVolumeSource,
        HostPathVolumeSource,
        Affinity,
        NodeAffinity,
        NodeSelector,
        NodeSelectorTerm,
        SelectorRequirement,
        PreferredSchedulingTerm,
        PodAffinity,
        PodAffinityTerm,
        WeightedPodAffinityTerm,
        LabelSelector,
    )
}

/// Names declared with `pub <keyword> Name` in `src/model/*.rs`.
fn declared_in_model_source(keyword: &str) -> BTreeSet<String> {
    let dir = manifest_dir().join("src/model");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path());
    let mut files: Vec<PathBuf> = entries
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    files.sort();
    let source: String = files.iter().map(|path| read(path)).collect();
    let prefix = format!("pub {keyword} ");
    source
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix(prefix.as_str()))
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Which struct fields a value actually carries: a serializer that records,
// for every `serialize_struct`, the struct's name and the fields it emits
// (fields skipped by `skip_serializing_if` are not emitted, so not recorded).

#[derive(Debug)]
struct RecordError(String);

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RecordError {}

impl ser::Error for RecordError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        RecordError(msg.to_string())
    }
}

type Seen = BTreeMap<&'static str, BTreeSet<&'static str>>;

struct Recorder<'a> {
    seen: &'a mut Seen,
    /// The struct whose fields are being serialized, for `SerializeStruct`.
    current: &'static str,
}

impl Recorder<'_> {
    fn child(&mut self) -> Recorder<'_> {
        Recorder {
            seen: &mut *self.seen,
            current: "",
        }
    }
}

fn record_fields<T: Serialize>(value: &T) -> Seen {
    let mut seen = Seen::new();
    value
        .serialize(Recorder {
            seen: &mut seen,
            current: "",
        })
        .unwrap_or_else(|e| panic!("recording fields: {e}"));
    seen
}

macro_rules! ignore_scalars {
    ($($method:ident: $ty:ty),+ $(,)?) => {
        $(fn $method(self, _: $ty) -> Result<(), RecordError> { Ok(()) })+
    };
}

impl ser::Serializer for Recorder<'_> {
    type Ok = ();
    type Error = RecordError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    ignore_scalars!(
        serialize_bool: bool,
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
        serialize_f32: f32,
        serialize_f64: f64,
        serialize_char: char,
        serialize_str: &str,
        serialize_bytes: &[u8],
        serialize_unit_struct: &'static str,
    );

    fn serialize_none(self) -> Result<(), RecordError> {
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), RecordError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), RecordError> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), RecordError> {
        Ok(())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), RecordError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<(), RecordError> {
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, RecordError> {
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, RecordError> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, RecordError> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, RecordError> {
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, RecordError> {
        Ok(self)
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Self, RecordError> {
        self.seen.entry(name).or_default();
        Ok(Recorder {
            seen: self.seen,
            current: name,
        })
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
        len: usize,
    ) -> Result<Self, RecordError> {
        ser::Serializer::serialize_struct(self, name, len)
    }
}

impl ser::SerializeSeq for Recorder<'_> {
    type Ok = ();
    type Error = RecordError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), RecordError> {
        value.serialize(self.child())
    }
    fn end(self) -> Result<(), RecordError> {
        Ok(())
    }
}

impl ser::SerializeTuple for Recorder<'_> {
    type Ok = ();
    type Error = RecordError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), RecordError> {
        value.serialize(self.child())
    }
    fn end(self) -> Result<(), RecordError> {
        Ok(())
    }
}

impl ser::SerializeTupleStruct for Recorder<'_> {
    type Ok = ();
    type Error = RecordError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), RecordError> {
        value.serialize(self.child())
    }
    fn end(self) -> Result<(), RecordError> {
        Ok(())
    }
}

impl ser::SerializeTupleVariant for Recorder<'_> {
    type Ok = ();
    type Error = RecordError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), RecordError> {
        value.serialize(self.child())
    }
    fn end(self) -> Result<(), RecordError> {
        Ok(())
    }
}

impl ser::SerializeMap for Recorder<'_> {
    type Ok = ();
    type Error = RecordError;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), RecordError> {
        key.serialize(self.child())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), RecordError> {
        value.serialize(self.child())
    }
    fn end(self) -> Result<(), RecordError> {
        Ok(())
    }
}

impl ser::SerializeStruct for Recorder<'_> {
    type Ok = ();
    type Error = RecordError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), RecordError> {
        self.seen.entry(self.current).or_default().insert(key);
        value.serialize(self.child())
    }
    fn end(self) -> Result<(), RecordError> {
        Ok(())
    }
}

impl ser::SerializeStructVariant for Recorder<'_> {
    type Ok = ();
    type Error = RecordError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), RecordError> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<(), RecordError> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// IntOrString, the one enum of the model: both forms must be exercised.

fn ports_of_handlers<'a>(
    probes: impl Iterator<Item = &'a Probe>,
    handlers: impl Iterator<Item = &'a LifecycleHandler>,
) -> Vec<&'a IntOrString> {
    let mut ports = Vec::new();
    for probe in probes {
        ports.extend(probe.http_get.as_ref().map(|h| &h.port));
        ports.extend(probe.tcp_socket.as_ref().map(|t| &t.port));
    }
    for handler in handlers {
        ports.extend(handler.http_get.as_ref().map(|h| &h.port));
        ports.extend(handler.tcp_socket.as_ref().map(|t| &t.port));
    }
    ports
}

fn all_int_or_strings(pod: &Pod) -> Vec<&IntOrString> {
    let containers: Vec<&Container> = pod.spec.all_containers().map(|(_, c)| c).collect();
    let probes = containers
        .iter()
        .flat_map(|c| [&c.liveness_probe, &c.readiness_probe, &c.startup_probe])
        .flatten();
    let handlers = containers
        .iter()
        .filter_map(|c| c.lifecycle.as_ref())
        .flat_map(|l| [&l.post_start, &l.pre_stop])
        .flatten();
    ports_of_handlers(probes, handlers)
}

// ---------------------------------------------------------------------------
// Tests

#[test]
fn every_field_our_model_names_is_a_kubernetes_field() {
    let path = fixture("every-field.yaml");
    let yaml = read(&path);

    // 1. Our strict model reads it (every key is a model field).
    let ours: Pod = yaml_serde::from_str(&yaml)
        .unwrap_or_else(|e| panic!("{}: our model rejects the fixture: {e}", path.display()));

    // 2. Kubernetes reads it and ignores nothing: every key is a k8s field.
    let (k8s, ignored) = parse_k8s_str(&yaml);
    assert!(
        ignored.is_empty(),
        "fields our model accepts but Kubernetes does not know (misspelt or invented?): {ignored:#?}"
    );

    // 3. Nothing is lost on either side: the keys of the YAML, of our model
    //    written back out, and of k8s-openapi's Pod written back out are the
    //    same set (so every key the fixture sets really lands in a field, and
    //    our model emits nothing the manifest did not say).
    let as_written: Value = yaml_serde::from_str(&yaml).expect("the fixture is YAML");
    let written = key_paths(&as_written);
    let ours_json = serde_json::to_value(&ours).expect("our Pod serializes");
    let k8s_json = serde_json::to_value(&k8s).expect("k8s-openapi's Pod serializes");
    let ours_keys = key_paths(&ours_json);
    let k8s_keys = key_paths(&k8s_json);
    assert!(
        written == ours_keys,
        "{}",
        diff("the YAML", &written, "our model", &ours_keys)
    );
    assert!(
        written == k8s_keys,
        "{}",
        diff("the YAML", &written, "k8s-openapi", &k8s_keys)
    );

    // 4. The fixture sets every field of every struct of model/.
    let declared = model_structs();
    let in_source = declared_in_model_source("struct");
    let listed: BTreeSet<String> = declared.keys().map(|s| (*s).to_owned()).collect();
    assert!(
        in_source == listed,
        "model_structs() in this test must list every `pub struct` of src/model/\n{}",
        diff("model/", &in_source, "the test's list", &listed)
    );

    let seen = record_fields(&ours);
    let mut missing = Vec::new();
    for (name, fields) in &declared {
        let seen_fields = seen.get(name).cloned().unwrap_or_default();
        if seen_fields.is_empty() && !fields.is_empty() {
            missing.push(format!("{name} (the fixture never uses this struct)"));
            continue;
        }
        for field in fields {
            if !seen_fields.contains(field.as_str()) {
                missing.push(format!("{name}.{field}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "tests/fixtures/every-field.yaml does not set these model fields; add them (with values \
         Kubernetes accepts): {missing:#?}"
    );
    // Every struct the serializer met is one we know (no container-level renames).
    let unknown: Vec<_> = seen
        .keys()
        .filter(|name| !declared.contains_key(*name))
        .collect();
    assert!(
        unknown.is_empty(),
        "structs serialized but not in model_structs(): {unknown:?}"
    );

    // 5. The model's one enum, IntOrString, in both of its forms.
    assert_eq!(
        declared_in_model_source("enum"),
        BTreeSet::from(["IntOrString".to_owned()]),
        "a new enum in model/: make the fixture exercise each of its variants here"
    );
    let ports = all_int_or_strings(&ours);
    assert!(
        ports.iter().any(|p| matches!(p, IntOrString::Int(_))),
        "no numeric port in the fixture"
    );
    assert!(
        ports.iter().any(|p| matches!(p, IntOrString::String(_))),
        "no named port in the fixture"
    );
}

#[test]
fn the_field_lists_come_from_serde() {
    // A guard for the probe `declared_fields` relies on: serde's message for
    // one, two and many fields, and renames applied.
    assert_eq!(
        declared_fields::<model::SleepAction>(),
        BTreeSet::from(["seconds".to_owned()])
    );
    assert_eq!(
        declared_fields::<model::HostPathVolumeSource>(),
        BTreeSet::from(["path".to_owned(), "type".to_owned()])
    );
    let spec = declared_fields::<model::PodSpec>();
    for field in [
        "hostPID",
        "hostIPC",
        "setHostnameAsFQDN",
        "initContainers",
        "containers",
    ] {
        assert!(
            spec.contains(field),
            "PodSpec fields from serde lack {field}: {spec:?}"
        );
    }
}

/// The example files the README lists; each must exist.
const EXAMPLES: &[&str] = &[
    "sidecar-order.yaml",
    "job-with-sidecars.yaml",
    "init-containers.yaml",
    "log-shipper.yaml",
    "sidecar-probes.yaml",
    "resources.yaml",
    "web.yaml",
];

fn example_files() -> Vec<PathBuf> {
    let dir = examples_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_parses_with_both_models() {
    let files = example_files();
    let names: BTreeSet<String> = files
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    for expected in EXAMPLES {
        assert!(
            names.contains(*expected),
            "examples/{expected} is missing (have {names:?})"
        );
    }

    let mut failures = Vec::new();
    for path in &files {
        let text = read(path);
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !text.starts_with('#') {
            failures.push(format!(
                "{file}: must start with a `#` comment block saying what it shows"
            ));
        }

        let mut documents = 0;
        for (i, document) in yaml_serde::Deserializer::from_str(&text).enumerate() {
            documents += 1;
            if let Err(e) = Pod::deserialize(document) {
                failures.push(format!("{file} document {i}: our model: {e}"));
            }
        }
        for (i, document) in yaml_serde::Deserializer::from_str(&text).enumerate() {
            let (pod, ignored) = parse_k8s(document);
            if let Err(e) = pod {
                failures.push(format!("{file} document {i}: k8s-openapi: {e}"));
            }
            if !ignored.is_empty() {
                failures.push(format!(
                    "{file} document {i}: unknown to Kubernetes: {ignored:?}"
                ));
            }
        }
        if documents == 0 {
            failures.push(format!("{file}: no YAML document"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A DNS-1123 label (container names, and what we use for pod names).
fn is_dns1123_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

#[test]
fn examples_are_valid_pods_within_what_minipod_implements() {
    let mut failures = Vec::new();
    for path in example_files() {
        let text = read(&path);
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (i, document) in yaml_serde::Deserializer::from_str(&text).enumerate() {
            let Ok(pod) = Pod::deserialize(document) else {
                continue; // reported by every_example_parses_with_both_models
            };
            let at = format!("{file} document {i}");

            // Only fields minipod implements: no warning, no rejection.
            let support = minipod_spec::support::check_support(&pod);
            for warning in &support.warnings {
                failures.push(format!("{at}: uses an ignored field: {warning}"));
            }
            for error in &support.errors {
                failures.push(format!("{at}: uses an unsupported field: {error}"));
            }

            // What the API server would say on create (minipod's defaulting and
            // validation): the example is a valid Pod.
            let assigned = ServerAssigned {
                uid: "00000000-0000-4000-8000-000000000000".to_owned(),
                name_suffix: "x2b4z".to_owned(),
            };
            if let Err(invalid) = minipod_spec::admit(pod.clone(), &assigned) {
                failures.push(format!("{at}: not admitted: {invalid}"));
            }

            // The conventions of the examples: busybox, DNS-1123 names,
            // valid ports, and a short grace period so demos end quickly.
            let name = pod.metadata.name.clone().unwrap_or_default();
            if !is_dns1123_label(&name) {
                failures.push(format!(
                    "{at}: metadata.name {name:?} is not a DNS-1123 label"
                ));
            }
            match pod.spec.termination_grace_period_seconds {
                Some(1..=10) => {}
                other => failures.push(format!(
                    "{at}: spec.terminationGracePeriodSeconds should be 1..=10, is {other:?}"
                )),
            }
            for (field, container) in pod.spec.all_containers() {
                if container.image.as_deref() != Some("busybox:1.36") {
                    failures.push(format!(
                        "{at}: {field}.image is {:?}, not busybox:1.36",
                        container.image
                    ));
                }
                if !is_dns1123_label(&container.name) {
                    failures.push(format!(
                        "{at}: {field}.name {:?} is not a DNS-1123 label",
                        container.name
                    ));
                }
                for port in &container.ports {
                    if !(1..=65535).contains(&port.container_port) {
                        failures.push(format!(
                            "{at}: {field} containerPort {} out of range",
                            port.container_port
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A field name spelt right and wrong in a small valid pod.
struct TypoCase {
    /// The manifest with `KEY` where the (mis)spelt field goes.
    template: &'static str,
    correct: &'static str,
    typo: &'static str,
    /// The path of the object holding the field, as our error names it.
    parent: &'static str,
}

const TYPOS: &[TypoCase] = &[
    TypoCase {
        template: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: typo\nspec:\n  KEY: Never\n  containers:\n    - name: app\n      image: busybox:1.36\n",
        correct: "restartPolicy",
        typo: "restartPolicyy",
        parent: "spec",
    },
    TypoCase {
        template: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: typo\nspec:\n  containers:\n    - name: app\n      KEY: busybox:1.36\n",
        correct: "image",
        typo: "image_name",
        parent: "spec.containers[0]",
    },
    TypoCase {
        template: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: typo\nspec:\n  containers:\n    - name: app\n      image: busybox:1.36\n      KEY:\n        exec:\n          command: [\"true\"]\n",
        correct: "livenessProbe",
        typo: "livenessprobe",
        parent: "spec.containers[0]",
    },
    TypoCase {
        template: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: typo\n  KEY:\n    app: typo\nspec:\n  containers:\n    - name: app\n      image: busybox:1.36\n",
        correct: "labels",
        typo: "lables",
        parent: "metadata",
    },
    TypoCase {
        template: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: typo\nspec:\n  volumes:\n    - name: data\n      KEY: {}\n  initContainers:\n    - name: sidecar\n      image: busybox:1.36\n      restartPolicy: Always\n      startupProbe:\n        httpGet:\n          port: 8080\n  containers:\n    - name: app\n      image: busybox:1.36\n",
        correct: "emptyDir",
        typo: "emptydir",
        parent: "spec.volumes[0]",
    },
    TypoCase {
        template: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: typo\nspec:\n  initContainers:\n    - name: sidecar\n      image: busybox:1.36\n      restartPolicy: Always\n      startupProbe:\n        httpGet:\n          KEY: 8080\n  containers:\n    - name: app\n      image: busybox:1.36\n",
        correct: "port",
        typo: "portt",
        parent: "spec.initContainers[0].startupProbe.httpGet",
    },
];

#[test]
fn typos_are_unknown_to_kubernetes_too() {
    for case in TYPOS {
        // Spelt right, both models take it and Kubernetes ignores nothing:
        // so what follows is about the typo alone.
        let good = case.template.replace("KEY", case.correct);
        if let Err(e) = yaml_serde::from_str::<Pod>(&good) {
            panic!(
                "{}: the correctly spelt manifest is rejected: {e}\n{good}",
                case.correct
            );
        }
        let (_, ignored) = parse_k8s_str(&good);
        assert!(
            ignored.is_empty(),
            "{}: Kubernetes ignores {ignored:?}",
            case.correct
        );

        // Misspelt: our model refuses it, naming the path and the field...
        let bad = case.template.replace("KEY", case.typo);
        let Err(err) = yaml_serde::from_str::<Pod>(&bad) else {
            panic!("{}: our model accepted the typo\n{bad}", case.typo);
        };
        let message = err.to_string();
        let expected = format!("{}: unknown field `{}`", case.parent, case.typo);
        assert!(
            message.contains(&expected),
            "error {message:?} should contain {expected:?}"
        );
        assert!(
            err.location().is_some(),
            "error {message:?} should carry a line and column"
        );

        // ...and Kubernetes does not know it either: it is exactly the one
        // field k8s-openapi ignores.
        let (_, ignored) = parse_k8s_str(&bad);
        assert_eq!(
            ignored,
            vec![format!("{}.{}", case.parent, case.typo)],
            "{}",
            case.typo
        );
    }
}
