//! String enumerations of the Kubernetes API (`restartPolicy: Always`, ...).
//!
//! The API keeps these as strings, and the API server reports a bad value as a
//! *validation* error together with every other error
//! (`spec.restartPolicy: Unsupported value: "Sometimes": supported values: ...`).
//! So a value we do not know must survive parsing: each enum has an
//! `Unknown(String)` variant, which validation rejects. Code after validation
//! never sees `Unknown`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares a string enum with the exact Kubernetes spellings, an `Unknown`
/// catch-all, `as_str`, the list of supported values, and serde impls.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value the Kubernetes API does not define; rejected by validation.
            Unknown(String),
        }

        impl $name {
            /// Every value the Kubernetes API accepts, in the order its
            /// validation messages list them (sorted).
            pub const SUPPORTED: &'static [&'static str] = &{
                let mut values = [$($text),+];
                // Sorted at compile time so messages match the API server's
                // sorted "supported values" lists.
                let mut i = 0;
                while i < values.len() {
                    let mut j = i + 1;
                    while j < values.len() {
                        if crate::enums::str_gt(values[i], values[j]) {
                            let t = values[i];
                            values[i] = values[j];
                            values[j] = t;
                        }
                        j += 1;
                    }
                    i += 1;
                }
                values
            };

            /// The value as written in a manifest.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )+
                    Self::Unknown(other) => other,
                }
            }

            /// Parses the exact Kubernetes spelling; anything else is `Unknown`.
            pub fn parse(text: &str) -> Self {
                match text {
                    $( $text => Self::$variant, )+
                    other => Self::Unknown(other.to_owned()),
                }
            }

            /// True for the `Unknown` catch-all.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown(_))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Ok(Self::parse(&text))
            }
        }
    };
}

/// Byte-wise `a > b`, usable in const context (for sorting `SUPPORTED`).
pub(crate) const fn str_gt(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] > b[i];
        }
        i += 1;
    }
    a.len() > b.len()
}

string_enum! {
    /// `spec.restartPolicy`: which app (and regular init) containers restart.
    pub enum RestartPolicy { Always = "Always", OnFailure = "OnFailure", Never = "Never" }
}

string_enum! {
    /// `initContainers[].restartPolicy`: only `Always`, which makes the init
    /// container a native sidecar.
    pub enum ContainerRestartPolicy { Always = "Always" }
}

string_enum! {
    /// `imagePullPolicy`.
    pub enum PullPolicy { Always = "Always", IfNotPresent = "IfNotPresent", Never = "Never" }
}

string_enum! {
    /// `ports[].protocol`.
    pub enum Protocol { Tcp = "TCP", Udp = "UDP", Sctp = "SCTP" }
}

string_enum! {
    /// `spec.dnsPolicy`.
    pub enum DnsPolicy {
        ClusterFirstWithHostNet = "ClusterFirstWithHostNet",
        ClusterFirst = "ClusterFirst",
        Default = "Default",
        None = "None",
    }
}

string_enum! {
    /// `httpGet.scheme`.
    pub enum UriScheme { Http = "HTTP", Https = "HTTPS" }
}

string_enum! {
    /// `hostPath.type`: what must (or will) exist at the host path.
    pub enum HostPathType {
        Unset = "",
        DirectoryOrCreate = "DirectoryOrCreate",
        Directory = "Directory",
        FileOrCreate = "FileOrCreate",
        File = "File",
        Socket = "Socket",
        CharDevice = "CharDevice",
        BlockDevice = "BlockDevice",
    }
}

string_enum! {
    /// `emptyDir.medium`: the node's disk, or a tmpfs.
    pub enum StorageMedium { Default = "", Memory = "Memory", HugePages = "HugePages" }
}

string_enum! {
    /// `terminationMessagePolicy`.
    pub enum TerminationMessagePolicy { File = "File", FallbackToLogsOnError = "FallbackToLogsOnError" }
}

string_enum! {
    /// `seccompProfile.type` and `appArmorProfile.type`.
    pub enum ProfileType { RuntimeDefault = "RuntimeDefault", Unconfined = "Unconfined", Localhost = "Localhost" }
}

string_enum! {
    /// `volumeMounts[].mountPropagation`.
    pub enum MountPropagation {
        None = "None",
        HostToContainer = "HostToContainer",
        Bidirectional = "Bidirectional",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_values_are_sorted_like_the_api_server_lists_them() {
        assert_eq!(RestartPolicy::SUPPORTED, &["Always", "Never", "OnFailure"]);
        assert_eq!(PullPolicy::SUPPORTED, &["Always", "IfNotPresent", "Never"]);
    }

    #[test]
    fn unknown_values_survive_parsing_for_validation_to_report() {
        let policy: RestartPolicy = yaml_serde::from_str("Sometimes").unwrap();
        assert_eq!(policy, RestartPolicy::Unknown("Sometimes".into()));
        assert_eq!(policy.as_str(), "Sometimes");
        assert!(policy.is_unknown());
    }

    #[test]
    fn known_values_round_trip() {
        let policy: RestartPolicy = yaml_serde::from_str("OnFailure").unwrap();
        assert_eq!(policy, RestartPolicy::OnFailure);
        assert_eq!(serde_json::to_string(&policy).unwrap(), "\"OnFailure\"");
    }
}
