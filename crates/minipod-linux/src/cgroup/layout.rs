//! Where a pod's cgroups go: the kubelet's cgroupfs layout, and the checks
//! that keep every name a single, harmless path component.
//!
//! The kubelet (`pkg/kubelet/cm/qos_container_manager_linux.go` and
//! `pod_container_manager_linux.go`, cgroupfs driver) puts
//!
//! ```text
//! <root>/pod<uid>                  Guaranteed pods, directly under the root
//! <root>/burstable/pod<uid>        Burstable pods
//! <root>/besteffort/pod<uid>       BestEffort pods
//! ```
//!
//! where its root is `kubepods`; minipod's is `minipod` unless configured.
//! The QoS directory names are the lower-cased class names. Each container
//! gets `<pod>/<container name>` (the runtimes under the kubelet use the
//! container's id there; minipod has one container per name and pod, and
//! the name is what a student looks for).

use std::path::{Path, PathBuf};

use minipod_plan::QosClass;

use super::CgroupError;

/// The default root of minipod's cgroups, relative to each hierarchy's root.
pub const DEFAULT_ROOT: &str = "minipod";

/// The prefix of a pod cgroup's name (the kubelet's `podCgroupNamePrefix`).
pub const POD_PREFIX: &str = "pod";

/// The directory of a QoS tier under the root, or `None` for Guaranteed
/// pods, which live directly under the root.
pub fn qos_dir(qos: QosClass) -> Option<&'static str> {
    match qos {
        QosClass::Guaranteed => None,
        QosClass::Burstable => Some("burstable"),
        QosClass::BestEffort => Some("besteffort"),
    }
}

/// The pod cgroup's path relative to the hierarchy root:
/// `<root>[/<qos>]/pod<uid>`.
pub fn pod_path(root: &Path, qos: QosClass, uid: &str) -> PathBuf {
    let mut path = root.to_path_buf();
    if let Some(tier) = qos_dir(qos) {
        path.push(tier);
    }
    path.push(format!("{POD_PREFIX}{uid}"));
    path
}

/// Checks a configured root (`minipod`, `system.slice/minipod.service/pods`)
/// and returns it relative: a leading `/` is dropped, as the kubelet's
/// `--cgroup-root` is written with one. Every component must be a plain name.
pub fn check_root(root: &str) -> Result<PathBuf, CgroupError> {
    let invalid = |reason| CgroupError::InvalidName {
        what: "cgroup root",
        value: root.to_owned(),
        reason,
    };
    let relative = root.trim_start_matches('/');
    if relative.is_empty() {
        return Err(invalid(
            "must name a directory below the hierarchy root, not the root itself",
        ));
    }
    for component in relative.split('/') {
        if component.is_empty() || component == "." || component == ".." {
            return Err(invalid("empty, `.` and `..` components are not allowed"));
        }
        if !component
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(invalid(
                "only ASCII letters, digits, `.`, `_` and `-` are allowed",
            ));
        }
    }
    Ok(PathBuf::from(relative))
}

/// Checks a pod uid (a UUID on a real cluster): it becomes part of a
/// directory name, so only letters, digits, `-` and `_` are accepted.
pub fn check_uid(uid: &str) -> Result<(), CgroupError> {
    let ok = !uid.is_empty()
        && uid.len() <= 128
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(CgroupError::InvalidName {
            what: "pod uid",
            value: uid.to_owned(),
            reason: "must be 1-128 ASCII letters, digits, `-` or `_`",
        })
    }
}

/// Checks a container name: a DNS-1123 label, as the API server requires
/// (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters). Such a name can
/// never be `..`, contain a `/`, or collide with a cgroup's control files,
/// which all contain a `.`.
pub fn check_container_name(name: &str) -> Result<(), CgroupError> {
    let bytes = name.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let ok = !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.iter().all(|b| alnum(b) || *b == b'-')
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum);
    if ok {
        Ok(())
    } else {
        Err(CgroupError::InvalidName {
            what: "container name",
            value: name.to_owned(),
            reason: "must be a DNS-1123 label (lower-case letters, digits and `-`, at most 63)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_are_placed_by_qos_class_as_the_kubelet_places_them() {
        let root = Path::new("minipod");
        let uid = "0f5c3a1e-8b7d-4c2a-9e6f-1a2b3c4d5e6f";
        assert_eq!(
            pod_path(root, QosClass::Guaranteed, uid),
            Path::new("minipod/pod0f5c3a1e-8b7d-4c2a-9e6f-1a2b3c4d5e6f")
        );
        assert_eq!(
            pod_path(root, QosClass::Burstable, uid),
            Path::new("minipod/burstable/pod0f5c3a1e-8b7d-4c2a-9e6f-1a2b3c4d5e6f")
        );
        assert_eq!(
            pod_path(root, QosClass::BestEffort, uid),
            Path::new("minipod/besteffort/pod0f5c3a1e-8b7d-4c2a-9e6f-1a2b3c4d5e6f")
        );
    }

    #[test]
    fn a_root_is_relative_and_made_of_plain_names() {
        assert_eq!(check_root("minipod").unwrap(), Path::new("minipod"));
        assert_eq!(check_root("/minipod").unwrap(), Path::new("minipod"));
        assert_eq!(
            check_root("system.slice/minipod.service").unwrap(),
            Path::new("system.slice/minipod.service")
        );
        for bad in [
            "", "/", "a//b", "../x", "a/..", "a/./b", "a b", "a\0b", "a/",
        ] {
            assert!(check_root(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn uids_and_container_names_cannot_escape_their_directory() {
        assert!(check_uid("0f5c3a1e-8b7d-4c2a-9e6f-1a2b3c4d5e6f").is_ok());
        for bad in ["", "..", "a/b", "a.b", "é"] {
            assert!(check_uid(bad).is_err(), "{bad:?} was accepted");
        }
        for good in ["app", "a", "web-1", "0"] {
            assert!(check_container_name(good).is_ok(), "{good:?} was refused");
        }
        let long = "a".repeat(64);
        for bad in [
            "",
            "..",
            "a/b",
            "cgroup.procs",
            "App",
            "-a",
            "a-",
            long.as_str(),
        ] {
            assert!(check_container_name(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn invalid_names_are_reported_with_the_value_and_the_rule() {
        let err = check_container_name("cgroup.procs")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid container name \"cgroup.procs\": must be a DNS-1123 label \
             (lower-case letters, digits and `-`, at most 63)"
        );
    }
}
