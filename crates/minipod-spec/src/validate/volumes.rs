//! `spec.volumes` and `containers[].volumeMounts`.
//!
//! Mirrors `ValidateVolumes`, `validateVolumeSource` (source counting only
//! for the sources minipod does not implement), `validateHostPathVolumeSource`,
//! `validateHostPathType`, `ValidateVolumeMounts`, `validateLocalDescendingPath`,
//! `validatePathNoBacksteps`, `validateMountPropagation` and
//! `validateMountRecursiveReadOnly` in `pkg/apis/core/validation/validation.go`.

use std::collections::{BTreeMap, HashSet};

use super::names::{invalid_each, is_dns1123_label};
use crate::enums::{HostPathType, MountPropagation, StorageMedium};
use crate::field_error::{FieldError, quote};
use crate::model::{Container, HostPathVolumeSource, Volume, VolumeMount};

/// Volume sources after `emptyDir` and `hostPath`, in the order Kubernetes
/// counts them, with the path it reports for a second source (two of them
/// are spelled differently from the field, as in Kubernetes).
const OTHER_SOURCES: &[(&str, &str)] = &[
    ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("cinder", "cinder"),
    ("cephfs", "cephFS"),
    ("quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("configMap", "configMap"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
    ("image", "image"),
];

const MORE_THAN_ONE: &str = "may not specify more than 1 volume type";

/// `ValidateVolumes`: returns the volumes that passed, by name (only those
/// can be mounted: a mount of an invalid volume is reported `Not found`).
pub(super) fn validate_volumes<'a>(
    volumes: &'a [Volume],
    errs: &mut Vec<FieldError>,
) -> BTreeMap<&'a str, &'a Volume> {
    let mut valid = BTreeMap::new();
    for (i, volume) in volumes.iter().enumerate() {
        let path = format!("spec.volumes[{i}]");
        let name_path = format!("{path}.name");
        let mut volume_errs = Vec::new();
        validate_volume_source(volume, &path, &mut volume_errs);
        if volume.name.is_empty() {
            volume_errs.push(FieldError::required(&name_path, ""));
        } else {
            volume_errs.extend(invalid_each(
                &name_path,
                &volume.name,
                is_dns1123_label(&volume.name),
            ));
        }
        if valid.contains_key(volume.name.as_str()) {
            volume_errs.push(FieldError::duplicate(&name_path, quote(&volume.name)));
        }
        if volume_errs.is_empty() {
            valid.insert(volume.name.as_str(), volume);
        } else {
            errs.extend(volume_errs);
        }
    }
    valid
}

/// `validateVolumeSource`: exactly one source.
fn validate_volume_source(volume: &Volume, path: &str, errs: &mut Vec<FieldError>) {
    let mut count = 0;
    if let Some(empty_dir) = &volume.empty_dir {
        count += 1;
        if empty_dir
            .size_limit
            .as_ref()
            .is_some_and(|limit| limit.is_negative())
        {
            errs.push(FieldError::forbidden(
                format!("{path}.emptyDir.sizeLimit"),
                "SizeLimit field must be a valid resource quantity",
            ));
        }
        // Not an API server rule: Kubernetes leaves `medium` to the kubelet.
        // minipod's enum cannot carry other values, so it rejects them here.
        if let Some(StorageMedium::Unknown(other)) = &empty_dir.medium {
            errs.push(FieldError::not_supported(
                format!("{path}.emptyDir.medium"),
                other,
                &["", "HugePages", "Memory"],
            ));
        }
    }
    if let Some(host_path) = &volume.host_path {
        if count > 0 {
            errs.push(FieldError::forbidden(
                format!("{path}.hostPath"),
                MORE_THAN_ONE,
            ));
        } else {
            count += 1;
            validate_host_path(host_path, &format!("{path}.hostPath"), errs);
        }
    }
    let others = volume.unimplemented_sources();
    for (field, reported) in OTHER_SOURCES {
        if !others.contains(field) {
            continue;
        }
        if count > 0 {
            errs.push(FieldError::forbidden(
                format!("{path}.{reported}"),
                MORE_THAN_ONE,
            ));
        } else {
            count += 1;
        }
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a volume type"));
    }
}

/// `validateHostPathVolumeSource`: a path without `..`, a known type.
fn validate_host_path(source: &HostPathVolumeSource, path: &str, errs: &mut Vec<FieldError>) {
    if source.path.is_empty() {
        errs.push(FieldError::required(format!("{path}.path"), ""));
        return;
    }
    validate_path_no_backsteps(&source.path, &format!("{path}.path"), errs);
    if let Some(HostPathType::Unknown(other)) = &source.path_type {
        errs.push(FieldError::not_supported(
            format!("{path}.type"),
            other,
            HostPathType::SUPPORTED,
        ));
    }
}

/// `ValidateVolumeMounts`: a known volume, a unique mount path, a relative
/// `subPath`, a supported propagation.
pub(super) fn validate_volume_mounts(
    mounts: &[VolumeMount],
    volumes: &BTreeMap<&str, &Volume>,
    container: &Container,
    list: &str,
    errs: &mut Vec<FieldError>,
) {
    let mut mount_points = HashSet::new();
    for (i, mount) in mounts.iter().enumerate() {
        let path = format!("{list}[{i}]");
        if mount.name.is_empty() {
            errs.push(FieldError::required(format!("{path}.name"), ""));
        }
        let volume = volumes.get(mount.name.as_str());
        if volume.is_none() {
            errs.push(FieldError::not_found(
                format!("{path}.name"),
                quote(&mount.name),
            ));
        }
        if mount.mount_path.is_empty() {
            errs.push(FieldError::required(format!("{path}.mountPath"), ""));
        }
        if !mount_points.insert(mount.mount_path.as_str()) {
            errs.push(FieldError::invalid(
                format!("{path}.mountPath"),
                quote(&mount.mount_path),
                "must be unique",
            ));
        }

        let sub_path = mount.sub_path.as_deref().unwrap_or_default();
        let sub_path_expr = mount.sub_path_expr.as_deref().unwrap_or_default();
        // An `image` volume takes `subPath` and `subPathExpr` like any other
        // volume: Kubernetes 1.33 dropped the refusal ("not allowed in image
        // volume sources") when image volumes went beta (KEP-4639,
        // kubernetes/kubernetes#130135), so the version minipod follows has none.
        // As in Kubernetes, these three are reported on the list's path.
        if !sub_path.is_empty() {
            validate_local_descending_path(sub_path, &format!("{list}.subPath"), errs);
        }
        if !sub_path_expr.is_empty() {
            if !sub_path.is_empty() {
                errs.push(FieldError::invalid(
                    format!("{path}.subPathExpr"),
                    quote(sub_path_expr),
                    "subPathExpr and subPath are mutually exclusive",
                ));
            }
            validate_local_descending_path(sub_path_expr, &format!("{list}.subPathExpr"), errs);
        }
        if let Some(propagation) = &mount.mount_propagation {
            validate_mount_propagation(
                propagation,
                container,
                &format!("{list}.mountPropagation"),
                errs,
            );
        }
        validate_recursive_read_only(mount, &format!("{list}.recursiveReadOnly"), errs);
    }
}

/// `validateMountPropagation`: a known mode; `Bidirectional` only for
/// privileged containers.
fn validate_mount_propagation(
    propagation: &MountPropagation,
    container: &Container,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    if let MountPropagation::Unknown(other) = propagation {
        errs.push(FieldError::not_supported(
            path,
            other,
            MountPropagation::SUPPORTED,
        ));
    }
    let privileged = container
        .security_context
        .as_ref()
        .and_then(|sc| sc.privileged)
        .unwrap_or(false);
    if *propagation == MountPropagation::Bidirectional && !privileged {
        errs.push(FieldError::forbidden(
            path,
            "Bidirectional mount propagation is available only to privileged containers",
        ));
    }
}

/// `validateMountRecursiveReadOnly`.
fn validate_recursive_read_only(mount: &VolumeMount, path: &str, errs: &mut Vec<FieldError>) {
    let Some(mode) = mount.recursive_read_only.as_deref() else {
        return;
    };
    match mode {
        "Disabled" => {}
        "Enabled" | "IfPossible" => {
            if !mount.read_only.unwrap_or(false) {
                errs.push(FieldError::forbidden(
                    path,
                    "may only be specified when readOnly is true",
                ));
            }
            if mount
                .mount_propagation
                .as_ref()
                .is_some_and(|p| *p != MountPropagation::None)
            {
                errs.push(FieldError::forbidden(
                    path,
                    "may only be specified when mountPropagation is None or not specified",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            path,
            other,
            &["Disabled", "Enabled", "IfPossible"],
        )),
    }
}

/// `validateLocalDescendingPath`: relative, without `..`.
pub(super) fn validate_local_descending_path(target: &str, path: &str, errs: &mut Vec<FieldError>) {
    if target.starts_with('/') {
        errs.push(FieldError::invalid(
            path,
            quote(target),
            "must be a relative path",
        ));
    }
    validate_path_no_backsteps(target, path, errs);
}

/// `validatePathNoBacksteps`: no `..` element (one error is enough).
fn validate_path_no_backsteps(target: &str, path: &str, errs: &mut Vec<FieldError>) {
    if target.split('/').any(|part| part == "..") {
        errs.push(FieldError::invalid(
            path,
            quote(target),
            "must not contain '..'",
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::enums::{HostPathType, MountPropagation, StorageMedium};
    use crate::model::{
        EmptyDirVolumeSource, HostPathVolumeSource, SecurityContext, Volume, VolumeMount,
    };
    use crate::validate::fixture::{Case, check, q};

    fn empty_dir(name: &str) -> Volume {
        Volume {
            name: name.into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        }
    }

    fn host_path(name: &str, path: &str) -> Volume {
        Volume {
            name: name.into(),
            host_path: Some(HostPathVolumeSource {
                path: path.into(),
                path_type: Some(HostPathType::Unset),
            }),
            ..Volume::default()
        }
    }

    fn mount(name: &str, path: &str) -> VolumeMount {
        VolumeMount {
            name: name.into(),
            mount_path: path.into(),
            ..VolumeMount::default()
        }
    }

    #[test]
    fn volume_rules() {
        check(&[
            Case {
                name: "volume_name_is_required",
                mutate: |p| p.spec.volumes.push(empty_dir("")),
                want: &["spec.volumes[0].name: Required value"],
            },
            Case {
                name: "volume_names_must_be_unique",
                mutate: |p| {
                    p.spec.volumes.push(empty_dir("data"));
                    p.spec.volumes.push(empty_dir("data"));
                },
                want: &[r#"spec.volumes[1].name: Duplicate value: "data""#],
            },
            Case {
                name: "volume_must_specify_a_volume_type",
                mutate: |p| {
                    p.spec.volumes.push(Volume {
                        name: "data".into(),
                        ..Volume::default()
                    })
                },
                want: &["spec.volumes[0]: Required value: must specify a volume type"],
            },
            Case {
                name: "volume_may_not_specify_more_than_1_volume_type",
                mutate: |p| {
                    let mut volume = host_path("data", "/srv");
                    volume.empty_dir = Some(EmptyDirVolumeSource::default());
                    volume.config_map = Some(serde_json::json!({"name": "cm"}));
                    volume.downward_api = Some(serde_json::json!({}));
                    p.spec.volumes.push(volume);
                },
                want: &[
                    "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type",
                    "spec.volumes[0].downwarAPI: Forbidden: may not specify more than 1 volume type",
                    "spec.volumes[0].configMap: Forbidden: may not specify more than 1 volume type",
                ],
            },
            Case {
                name: "config_map_volume_counts_as_one_source",
                mutate: |p| {
                    p.spec.volumes.push(Volume {
                        name: "cfg".into(),
                        config_map: Some(serde_json::json!({"name": "cm"})),
                        ..Volume::default()
                    });
                },
                want: &[],
            },
            Case {
                name: "host_path_path_is_required",
                mutate: |p| p.spec.volumes.push(host_path("data", "")),
                want: &["spec.volumes[0].hostPath.path: Required value"],
            },
            Case {
                name: "host_path_must_not_contain_backsteps",
                mutate: |p| p.spec.volumes.push(host_path("data", "/srv/../etc")),
                want: &[
                    r#"spec.volumes[0].hostPath.path: Invalid value: "/srv/../etc": must not contain '..'"#,
                ],
            },
            Case {
                name: "host_path_type_values",
                mutate: |p| {
                    let mut volume = host_path("data", "/srv");
                    if let Some(hp) = volume.host_path.as_mut() {
                        hp.path_type = Some(HostPathType::Unknown("Dir".into()));
                    }
                    p.spec.volumes.push(volume);
                },
                want: &[
                    r#"spec.volumes[0].hostPath.type: Unsupported value: "Dir": supported values: "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket""#,
                ],
            },
            Case {
                name: "empty_dir_medium_values",
                mutate: |p| {
                    let mut volume = empty_dir("data");
                    if let Some(source) = volume.empty_dir.as_mut() {
                        source.medium = Some(StorageMedium::Unknown("Disk".into()));
                    }
                    p.spec.volumes.push(volume);
                },
                want: &[
                    r#"spec.volumes[0].emptyDir.medium: Unsupported value: "Disk": supported values: "", "HugePages", "Memory""#,
                ],
            },
            Case {
                name: "volume_name_must_be_a_dns_label",
                mutate: |p| p.spec.volumes.push(empty_dir("my.data")),
                want: &[r#"spec.volumes[0].name: Invalid value: "my.data": must not contain dots"#],
            },
        ]);
    }

    /// Needs `crate::quantity` (a negative size limit).
    #[test]
    fn empty_dir_size_limit_must_not_be_negative() {
        check(&[Case {
            name: "empty_dir_size_limit_must_not_be_negative",
            mutate: |p| {
                let mut volume = empty_dir("data");
                if let Some(source) = volume.empty_dir.as_mut() {
                    source.size_limit = Some(q("-1Gi"));
                }
                p.spec.volumes.push(volume);
            },
            want: &[
                "spec.volumes[0].emptyDir.sizeLimit: Forbidden: SizeLimit field must be a valid resource quantity",
            ],
        }]);
    }

    #[test]
    fn volume_mount_rules() {
        check(&[
            Case {
                name: "volume_mount_must_name_a_volume",
                mutate: |p| {
                    p.spec.containers[0]
                        .volume_mounts
                        .push(mount("missing", "/data"))
                },
                want: &[r#"spec.containers[0].volumeMounts[0].name: Not found: "missing""#],
            },
            Case {
                name: "volume_mount_of_an_invalid_volume_is_not_found",
                mutate: |p| {
                    p.spec.volumes.push(host_path("data", ""));
                    p.spec.containers[0]
                        .volume_mounts
                        .push(mount("data", "/data"));
                },
                want: &[
                    "spec.volumes[0].hostPath.path: Required value",
                    r#"spec.containers[0].volumeMounts[0].name: Not found: "data""#,
                ],
            },
            Case {
                name: "volume_mount_name_and_path_are_required",
                mutate: |p| p.spec.containers[0].volume_mounts.push(mount("", "")),
                want: &[
                    "spec.containers[0].volumeMounts[0].name: Required value",
                    r#"spec.containers[0].volumeMounts[0].name: Not found: """#,
                    "spec.containers[0].volumeMounts[0].mountPath: Required value",
                ],
            },
            Case {
                name: "volume_mount_paths_must_be_unique",
                mutate: |p| {
                    p.spec.volumes.push(empty_dir("a"));
                    p.spec.volumes.push(empty_dir("b"));
                    p.spec.containers[0].volume_mounts.push(mount("a", "/data"));
                    p.spec.containers[0].volume_mounts.push(mount("b", "/data"));
                },
                want: &[
                    r#"spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/data": must be unique"#,
                ],
            },
            Case {
                name: "relative_mount_paths_are_accepted_by_the_api_server",
                mutate: |p| {
                    p.spec.volumes.push(empty_dir("a"));
                    p.spec.containers[0].volume_mounts.push(mount("a", "data"));
                },
                want: &[],
            },
            Case {
                name: "sub_path_must_be_relative_without_backsteps",
                mutate: |p| {
                    p.spec.volumes.push(empty_dir("a"));
                    let mut m = mount("a", "/data");
                    m.sub_path = Some("/etc/../x".into());
                    p.spec.containers[0].volume_mounts.push(m);
                },
                want: &[
                    r#"spec.containers[0].volumeMounts.subPath: Invalid value: "/etc/../x": must be a relative path"#,
                    r#"spec.containers[0].volumeMounts.subPath: Invalid value: "/etc/../x": must not contain '..'"#,
                ],
            },
            Case {
                name: "sub_path_and_sub_path_expr_are_mutually_exclusive",
                mutate: |p| {
                    p.spec.volumes.push(empty_dir("a"));
                    let mut m = mount("a", "/data");
                    m.sub_path = Some("x".into());
                    m.sub_path_expr = Some("$(POD_NAME)".into());
                    p.spec.containers[0].volume_mounts.push(m);
                },
                want: &[
                    r#"spec.containers[0].volumeMounts[0].subPathExpr: Invalid value: "$(POD_NAME)": subPathExpr and subPath are mutually exclusive"#,
                ],
            },
            Case {
                name: "image_volumes_take_sub_paths_since_kubernetes_1_33",
                mutate: |p| {
                    p.spec.volumes.push(Volume {
                        name: "tools".into(),
                        image: Some(serde_json::json!({"reference": "busybox:1.36"})),
                        ..Volume::default()
                    });
                    let mut m = mount("tools", "/bin/tool");
                    m.sub_path = Some("bin/busybox".into());
                    p.spec.containers[0].volume_mounts.push(m);
                    let mut m = mount("tools", "/pod");
                    m.sub_path_expr = Some("$(POD_NAME)".into());
                    p.spec.containers[0].volume_mounts.push(m);
                },
                want: &[],
            },
            Case {
                name: "image_volume_sub_paths_follow_the_sub_path_rules",
                mutate: |p| {
                    p.spec.volumes.push(Volume {
                        name: "tools".into(),
                        image: Some(serde_json::json!({"reference": "busybox:1.36"})),
                        ..Volume::default()
                    });
                    let mut m = mount("tools", "/bin/tool");
                    m.sub_path = Some("../etc".into());
                    p.spec.containers[0].volume_mounts.push(m);
                },
                want: &[
                    r#"spec.containers[0].volumeMounts.subPath: Invalid value: "../etc": must not contain '..'"#,
                ],
            },
            Case {
                name: "mount_propagation_values",
                mutate: |p| {
                    p.spec.volumes.push(empty_dir("a"));
                    let mut m = mount("a", "/data");
                    m.mount_propagation = Some(MountPropagation::Unknown("Shared".into()));
                    p.spec.containers[0].volume_mounts.push(m);
                },
                want: &[
                    r#"spec.containers[0].volumeMounts.mountPropagation: Unsupported value: "Shared": supported values: "Bidirectional", "HostToContainer", "None""#,
                ],
            },
            Case {
                name: "bidirectional_propagation_needs_a_privileged_container",
                mutate: |p| {
                    p.spec.volumes.push(empty_dir("a"));
                    let mut m = mount("a", "/data");
                    m.mount_propagation = Some(MountPropagation::Bidirectional);
                    p.spec.containers[0].volume_mounts.push(m.clone());
                    let mut privileged = crate::validate::fixture::container("privileged");
                    privileged.security_context = Some(SecurityContext {
                        privileged: Some(true),
                        ..SecurityContext::default()
                    });
                    privileged.volume_mounts.push(m);
                    p.spec.containers.push(privileged);
                },
                want: &[
                    "spec.containers[0].volumeMounts.mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers",
                ],
            },
            Case {
                name: "recursive_read_only_needs_read_only",
                mutate: |p| {
                    p.spec.volumes.push(empty_dir("a"));
                    let mut m = mount("a", "/data");
                    m.recursive_read_only = Some("Enabled".into());
                    p.spec.containers[0].volume_mounts.push(m);
                },
                want: &[
                    "spec.containers[0].volumeMounts.recursiveReadOnly: Forbidden: may only be specified when readOnly is true",
                ],
            },
        ]);
    }
}
