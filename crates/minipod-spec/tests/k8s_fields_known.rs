//! The other direction of `k8s_openapi_agrees`: every field Kubernetes has
//! is known to our model, so a real field is never taken for a typo.
//!
//! The Kubernetes version minipod follows is the one k8s-openapi is built
//! for (its `v1_*` feature in the workspace `Cargo.toml`, recorded in
//! `docs/kubernetes-semantics.md` §0). Each k8s-openapi type hands serde
//! the list of its JSON field names; a deserializer that only records that
//! list reads it without any input.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use k8s_openapi::api::core::v1 as k8s;
use minipod_spec::model;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

/// Stops a deserialization once the field list is recorded.
#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stopped after reading the field list")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Stop
    }
}

/// A deserializer that records the fields a struct asks for.
struct FieldList<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for FieldList<'_> {
    type Error = Stop;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Stop> {
        *self.0 = Some(fields);
        Err(Stop)
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// The JSON field names of a struct, as its `Deserialize` lists them.
fn fields_of<T: DeserializeOwned>() -> BTreeSet<&'static str> {
    let mut fields = None;
    let _ = T::deserialize(FieldList(&mut fields));
    let fields = fields.unwrap_or_else(|| panic!("{} is not a struct", std::any::type_name::<T>()));
    fields.iter().copied().collect()
}

#[test]
fn our_model_knows_every_field_of_the_kubernetes_version_followed() {
    macro_rules! pairs {
        ($($ours:ident => $theirs:ty),+ $(,)?) => {
            vec![$((
                stringify!($ours),
                fields_of::<model::$ours>(),
                fields_of::<$theirs>(),
            )),+]
        };
    }
    use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
    let pairs = pairs!(
        Pod => k8s::Pod,
        ObjectMeta => meta::ObjectMeta,
        PodSpec => k8s::PodSpec,
        PodOs => k8s::PodOS,
        LocalObjectReference => k8s::LocalObjectReference,
        PodReadinessGate => k8s::PodReadinessGate,
        HostAlias => k8s::HostAlias,
        PodDnsConfig => k8s::PodDNSConfig,
        PodDnsConfigOption => k8s::PodDNSConfigOption,
        PodSecurityContext => k8s::PodSecurityContext,
        SecurityProfile => k8s::SeccompProfile,
        Container => k8s::Container,
        ContainerPort => k8s::ContainerPort,
        EnvVar => k8s::EnvVar,
        EnvVarSource => k8s::EnvVarSource,
        ObjectFieldSelector => k8s::ObjectFieldSelector,
        ResourceRequirements => k8s::ResourceRequirements,
        VolumeMount => k8s::VolumeMount,
        Probe => k8s::Probe,
        ExecAction => k8s::ExecAction,
        HttpGetAction => k8s::HTTPGetAction,
        HttpHeader => k8s::HTTPHeader,
        TcpSocketAction => k8s::TCPSocketAction,
        GrpcAction => k8s::GRPCAction,
        Lifecycle => k8s::Lifecycle,
        LifecycleHandler => k8s::LifecycleHandler,
        SleepAction => k8s::SleepAction,
        SecurityContext => k8s::SecurityContext,
        Capabilities => k8s::Capabilities,
        Volume => k8s::Volume,
        EmptyDirVolumeSource => k8s::EmptyDirVolumeSource,
        HostPathVolumeSource => k8s::HostPathVolumeSource,
        Affinity => k8s::Affinity,
        NodeAffinity => k8s::NodeAffinity,
        NodeSelector => k8s::NodeSelector,
        NodeSelectorTerm => k8s::NodeSelectorTerm,
        SelectorRequirement => k8s::NodeSelectorRequirement,
        PreferredSchedulingTerm => k8s::PreferredSchedulingTerm,
        PodAffinity => k8s::PodAffinity,
        PodAffinityTerm => k8s::PodAffinityTerm,
        WeightedPodAffinityTerm => k8s::WeightedPodAffinityTerm,
        LabelSelector => meta::LabelSelector,
    );
    let mut unknown: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (ours, our_fields, their_fields) in pairs {
        let missing: Vec<&str> = their_fields.difference(&our_fields).copied().collect();
        if !missing.is_empty() {
            unknown.insert(ours, missing);
        }
    }
    assert!(
        unknown.is_empty(),
        "Kubernetes fields our model would refuse as typos (add them to model/, \
         warned about or refused in support/): {unknown:#?}"
    );
}
