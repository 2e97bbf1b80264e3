//! What a node can give its pods: capacity, the node's reservations, and
//! the allocatable that remains (the kubelet's "Node Allocatable",
//! <https://kubernetes.io/docs/tasks/administer-cluster/reserve-compute-resources/>).
//!
//! ```text
//! allocatable = capacity - kube-reserved - system-reserved - hard eviction threshold
//! ```
//!
//! clamped at zero, per resource (kubelet
//! `pkg/kubelet/cm/node_container_manager_linux.go`,
//! `GetNodeAllocatableAbsolute`/`getNodeAllocatableInternal`). Only the
//! memory threshold (`memory.available`) reserves anything, and the
//! kubelet's default is `memory.available<100Mi`
//! (`pkg/kubelet/eviction/defaults_linux.go`); the default reservations are
//! none. The reading of the host (CPUs, `MemTotal`) is the CLI's; the
//! settings are read here, from the kubelet's own flag and config syntax,
//! so that they are tested beside the arithmetic.

use std::collections::BTreeMap;

use minipod_spec::Quantity;

use crate::resources::{CPU, MEMORY};

/// An amount of CPU (millicores) and memory (bytes): a capacity, a
/// reservation, an allocatable, or a pod's requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuAndMemory {
    pub cpu_millis: i64,
    pub memory_bytes: i64,
}

impl CpuAndMemory {
    /// `self + other`, each resource saturating at `i64::MAX` (a pod may ask
    /// for 8Ei of memory, which is already `i64::MAX` bytes).
    pub fn saturating_add(self, other: CpuAndMemory) -> CpuAndMemory {
        CpuAndMemory {
            cpu_millis: self.cpu_millis.saturating_add(other.cpu_millis),
            memory_bytes: self.memory_bytes.saturating_add(other.memory_bytes),
        }
    }

    /// `self - other`, each resource clamped at zero, as the kubelet clamps
    /// a negative allocatable.
    pub fn clamped_sub(self, other: CpuAndMemory) -> CpuAndMemory {
        CpuAndMemory {
            cpu_millis: self.cpu_millis.saturating_sub(other.cpu_millis).max(0),
            memory_bytes: self.memory_bytes.saturating_sub(other.memory_bytes).max(0),
        }
    }
}

/// The hard eviction threshold on `memory.available`: memory the kubelet
/// keeps free, so it counts as reserved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MemoryThreshold {
    /// No threshold (`evictionHard` given without `memory.available`).
    None,
    /// A quantity, in bytes: `100Mi`.
    Bytes(i64),
    /// A share of the node's memory capacity: `10%` is `0.10`.
    Fraction(f64),
}

impl MemoryThreshold {
    /// The kubelet's default, `memory.available<100Mi`.
    pub const DEFAULT: MemoryThreshold = MemoryThreshold::Bytes(100 * 1024 * 1024);

    /// The bytes this threshold keeps free on a node of `capacity_bytes`
    /// (kubelet `GetThresholdQuantity`: a percentage is of the capacity).
    pub fn bytes(self, capacity_bytes: i64) -> i64 {
        match self {
            MemoryThreshold::None => 0,
            MemoryThreshold::Bytes(bytes) => bytes,
            // `as` saturates; a fraction is within 0..=1, so is the product.
            MemoryThreshold::Fraction(f) => (capacity_bytes as f64 * f) as i64,
        }
    }
}

/// The node settings that take resources away from pods.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reservations {
    /// `--kube-reserved` / `kubeReserved`: for the node's own daemons.
    pub kube_reserved: CpuAndMemory,
    /// `--system-reserved` / `systemReserved`: for the OS.
    pub system_reserved: CpuAndMemory,
    /// `--eviction-hard` / `evictionHard`, its `memory.available` signal.
    pub eviction_hard_memory: MemoryThreshold,
}

impl Default for Reservations {
    /// The kubelet's defaults: nothing reserved, `memory.available<100Mi`.
    fn default() -> Reservations {
        Reservations {
            kube_reserved: CpuAndMemory::default(),
            system_reserved: CpuAndMemory::default(),
            eviction_hard_memory: MemoryThreshold::DEFAULT,
        }
    }
}

/// What pods may request in all, on a node of `capacity` with `reservations`.
pub fn allocatable(capacity: CpuAndMemory, reservations: &Reservations) -> CpuAndMemory {
    let eviction = CpuAndMemory {
        cpu_millis: 0,
        memory_bytes: reservations
            .eviction_hard_memory
            .bytes(capacity.memory_bytes),
    };
    let reserved = reservations
        .kube_reserved
        .saturating_add(reservations.system_reserved)
        .saturating_add(eviction);
    capacity.clamped_sub(reserved)
}

/// A node setting that cannot be used; the message names the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    #[error("{setting}: {entry:?} is not `name=quantity`")]
    NotAPair { setting: String, entry: String },
    #[error("{setting}: {name:?} is not reserved by minipod (only cpu and memory are)")]
    UnknownResource { setting: String, name: String },
    #[error(
        "{setting}: {signal:?} is not a threshold minipod uses (it has no eviction manager; only memory.available, which is kept out of allocatable)"
    )]
    UnknownSignal { setting: String, signal: String },
    #[error("{setting}: {name}: {value:?} is not a quantity: {reason}")]
    BadQuantity {
        setting: String,
        name: String,
        value: String,
        reason: String,
    },
    #[error("{setting}: {name}: must not be negative")]
    Negative { setting: String, name: String },
    #[error("{setting}: {name}: {value:?} is not a percentage between 0% and 100%")]
    BadPercentage {
        setting: String,
        name: String,
        value: String,
    },
    #[error("{setting}: {name} is given twice")]
    Duplicate { setting: String, name: String },
}

/// A reservation written as the kubelet's flag writes it: `cpu=500m,memory=1Gi`
/// (an empty string reserves nothing). `setting` names the flag in errors.
pub fn parse_reserved_flag(setting: &str, text: &str) -> Result<CpuAndMemory, SettingError> {
    let pairs = split_pairs(setting, text, '=')?;
    reserved_from_pairs(setting, &pairs)
}

/// A reservation from a config file's map: `{cpu: 500m, memory: 1Gi}`.
pub fn reserved_from_map(
    setting: &str,
    map: &BTreeMap<String, String>,
) -> Result<CpuAndMemory, SettingError> {
    let pairs: Vec<(String, String)> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    reserved_from_pairs(setting, &pairs)
}

/// The hard eviction thresholds as the kubelet's flag writes them:
/// `memory.available<100Mi` or `memory.available<10%`.
pub fn parse_eviction_flag(setting: &str, text: &str) -> Result<MemoryThreshold, SettingError> {
    let pairs = split_pairs(setting, text, '<')?;
    eviction_from_pairs(setting, &pairs)
}

/// The hard eviction thresholds from a config file's map:
/// `{memory.available: 100Mi}`.
pub fn eviction_from_map(
    setting: &str,
    map: &BTreeMap<String, String>,
) -> Result<MemoryThreshold, SettingError> {
    let pairs: Vec<(String, String)> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    eviction_from_pairs(setting, &pairs)
}

/// `a<sep>x,b<sep>y` into pairs; surrounding spaces are ignored.
fn split_pairs(
    setting: &str,
    text: &str,
    separator: char,
) -> Result<Vec<(String, String)>, SettingError> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| match entry.split_once(separator) {
            Some((name, value)) if !name.trim().is_empty() => {
                Ok((name.trim().to_owned(), value.trim().to_owned()))
            }
            _ => Err(SettingError::NotAPair {
                setting: setting.to_owned(),
                entry: entry.to_owned(),
            }),
        })
        .collect()
}

fn reserved_from_pairs(
    setting: &str,
    pairs: &[(String, String)],
) -> Result<CpuAndMemory, SettingError> {
    let mut reserved = CpuAndMemory::default();
    let mut seen = Vec::new();
    for (name, value) in pairs {
        if seen.contains(&name) {
            return Err(SettingError::Duplicate {
                setting: setting.to_owned(),
                name: name.clone(),
            });
        }
        seen.push(name);
        let quantity = non_negative(setting, name, value)?;
        match name.as_str() {
            CPU => reserved.cpu_millis = quantity.milli_value(),
            MEMORY => reserved.memory_bytes = quantity.value(),
            _ => {
                return Err(SettingError::UnknownResource {
                    setting: setting.to_owned(),
                    name: name.clone(),
                });
            }
        }
    }
    Ok(reserved)
}

/// The signal whose threshold is kept out of allocatable.
const MEMORY_AVAILABLE: &str = "memory.available";

/// As the kubelet: thresholds given replace the defaults, so a setting
/// without `memory.available` keeps no memory back.
fn eviction_from_pairs(
    setting: &str,
    pairs: &[(String, String)],
) -> Result<MemoryThreshold, SettingError> {
    let mut threshold = MemoryThreshold::None;
    for (name, value) in pairs {
        if name != MEMORY_AVAILABLE {
            return Err(SettingError::UnknownSignal {
                setting: setting.to_owned(),
                signal: name.clone(),
            });
        }
        if threshold != MemoryThreshold::None {
            return Err(SettingError::Duplicate {
                setting: setting.to_owned(),
                name: name.clone(),
            });
        }
        threshold = match value.strip_suffix('%') {
            Some(percent) => {
                let bad = || SettingError::BadPercentage {
                    setting: setting.to_owned(),
                    name: name.clone(),
                    value: value.clone(),
                };
                let percent: f64 = percent.parse().map_err(|_| bad())?;
                if !(0.0..=100.0).contains(&percent) {
                    return Err(bad());
                }
                MemoryThreshold::Fraction(percent / 100.0)
            }
            None => MemoryThreshold::Bytes(non_negative(setting, name, value)?.value()),
        };
    }
    Ok(threshold)
}

fn non_negative(setting: &str, name: &str, value: &str) -> Result<Quantity, SettingError> {
    let quantity = Quantity::parse(value).map_err(|e| SettingError::BadQuantity {
        setting: setting.to_owned(),
        name: name.to_owned(),
        value: value.to_owned(),
        reason: e.to_string(),
    })?;
    if quantity.is_negative() {
        return Err(SettingError::Negative {
            setting: setting.to_owned(),
            name: name.to_owned(),
        });
    }
    Ok(quantity)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MI: i64 = 1024 * 1024;
    const GI: i64 = 1024 * MI;

    fn node(cpu_millis: i64, memory_bytes: i64) -> CpuAndMemory {
        CpuAndMemory {
            cpu_millis,
            memory_bytes,
        }
    }

    #[test]
    fn by_default_only_the_100mi_eviction_threshold_is_kept_back() {
        let got = allocatable(node(2000, 8 * GI), &Reservations::default());
        assert_eq!(got, node(2000, 8 * GI - 100 * MI));
    }

    #[test]
    fn every_reservation_is_subtracted() {
        let reservations = Reservations {
            kube_reserved: node(100, 256 * MI),
            system_reserved: node(400, 512 * MI),
            eviction_hard_memory: MemoryThreshold::Fraction(0.25),
        };
        let got = allocatable(node(4000, 4 * GI), &reservations);
        assert_eq!(got, node(3500, 4 * GI - 768 * MI - GI));
    }

    #[test]
    fn reserving_more_than_the_node_has_leaves_zero_not_a_negative() {
        let reservations = Reservations {
            system_reserved: node(8000, 64 * GI),
            ..Reservations::default()
        };
        assert_eq!(
            allocatable(node(2000, GI), &reservations),
            CpuAndMemory::default()
        );
    }

    #[test]
    fn reservations_read_as_the_kubelet_flags_write_them() {
        assert_eq!(
            parse_reserved_flag("--kube-reserved", "cpu=500m, memory=1Gi"),
            Ok(node(500, GI))
        );
        assert_eq!(
            parse_reserved_flag("--kube-reserved", "cpu=1"),
            Ok(node(1000, 0))
        );
        assert_eq!(
            parse_reserved_flag("--kube-reserved", ""),
            Ok(CpuAndMemory::default())
        );
        let map = BTreeMap::from([("memory".to_owned(), "100Mi".to_owned())]);
        assert_eq!(
            reserved_from_map("systemReserved", &map),
            Ok(node(0, 100 * MI))
        );
    }

    #[test]
    fn a_bad_reservation_is_an_error_naming_the_setting_and_the_entry() {
        for (text, expected) in [
            ("cpu", "--system-reserved: \"cpu\" is not `name=quantity`"),
            (
                "pid=100",
                "--system-reserved: \"pid\" is not reserved by minipod",
            ),
            (
                "cpu=lots",
                "--system-reserved: cpu: \"lots\" is not a quantity",
            ),
            (
                "memory=-1Gi",
                "--system-reserved: memory: must not be negative",
            ),
            ("cpu=1,cpu=2", "--system-reserved: cpu is given twice"),
        ] {
            let error = parse_reserved_flag("--system-reserved", text)
                .unwrap_err()
                .to_string();
            assert!(error.starts_with(expected), "{text}: {error}");
        }
    }

    #[test]
    fn eviction_thresholds_read_as_the_kubelet_writes_them() {
        assert_eq!(
            parse_eviction_flag("--eviction-hard", "memory.available<200Mi"),
            Ok(MemoryThreshold::Bytes(200 * MI))
        );
        assert_eq!(
            parse_eviction_flag("--eviction-hard", "memory.available<10%"),
            Ok(MemoryThreshold::Fraction(0.1))
        );
        // Given thresholds replace the defaults, as the kubelet's do.
        assert_eq!(
            parse_eviction_flag("--eviction-hard", ""),
            Ok(MemoryThreshold::None)
        );
        let map = BTreeMap::from([("memory.available".to_owned(), "1Gi".to_owned())]);
        assert_eq!(
            eviction_from_map("evictionHard", &map),
            Ok(MemoryThreshold::Bytes(GI))
        );
        assert_eq!(MemoryThreshold::Fraction(0.1).bytes(10 * GI), GI);
    }

    #[test]
    fn an_eviction_signal_minipod_does_not_use_is_refused_not_dropped() {
        let error = parse_eviction_flag("--eviction-hard", "nodefs.available<10%")
            .unwrap_err()
            .to_string();
        assert!(error.contains("\"nodefs.available\""), "{error}");
        for bad in ["memory.available<150%", "memory.available<x%"] {
            let error = parse_eviction_flag("--eviction-hard", bad)
                .unwrap_err()
                .to_string();
            assert!(error.contains("not a percentage"), "{bad}: {error}");
        }
    }
}
