//! Volumes: the sources minipod models (emptyDir, hostPath).

use serde::{Deserialize, Serialize};

use super::values::Opaque;
use crate::enums::{HostPathType, StorageMedium};
use crate::quantity::Quantity;

/// `spec.volumes[]`: `emptyDir` and `hostPath` are implemented; every other
/// Kubernetes volume source is known (so it is not a typo) and rejected.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Volume {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<EmptyDirVolumeSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<HostPathVolumeSource>,
    // Volume sources Kubernetes defines and minipod does not implement.
    #[serde(
        default,
        rename = "awsElasticBlockStore",
        skip_serializing_if = "Option::is_none"
    )]
    pub aws_elastic_block_store: Option<Opaque>,
    #[serde(default, rename = "azureDisk", skip_serializing_if = "Option::is_none")]
    pub azure_disk: Option<Opaque>,
    #[serde(default, rename = "azureFile", skip_serializing_if = "Option::is_none")]
    pub azure_file: Option<Opaque>,
    #[serde(default, rename = "cephfs", skip_serializing_if = "Option::is_none")]
    pub cephfs: Option<Opaque>,
    #[serde(default, rename = "cinder", skip_serializing_if = "Option::is_none")]
    pub cinder: Option<Opaque>,
    #[serde(default, rename = "configMap", skip_serializing_if = "Option::is_none")]
    pub config_map: Option<Opaque>,
    #[serde(default, rename = "csi", skip_serializing_if = "Option::is_none")]
    pub csi: Option<Opaque>,
    #[serde(
        default,
        rename = "downwardAPI",
        skip_serializing_if = "Option::is_none"
    )]
    pub downward_api: Option<Opaque>,
    #[serde(default, rename = "ephemeral", skip_serializing_if = "Option::is_none")]
    pub ephemeral: Option<Opaque>,
    #[serde(default, rename = "fc", skip_serializing_if = "Option::is_none")]
    pub fc: Option<Opaque>,
    #[serde(
        default,
        rename = "flexVolume",
        skip_serializing_if = "Option::is_none"
    )]
    pub flex_volume: Option<Opaque>,
    #[serde(default, rename = "flocker", skip_serializing_if = "Option::is_none")]
    pub flocker: Option<Opaque>,
    #[serde(
        default,
        rename = "gcePersistentDisk",
        skip_serializing_if = "Option::is_none"
    )]
    pub gce_persistent_disk: Option<Opaque>,
    #[serde(default, rename = "gitRepo", skip_serializing_if = "Option::is_none")]
    pub git_repo: Option<Opaque>,
    #[serde(default, rename = "glusterfs", skip_serializing_if = "Option::is_none")]
    pub glusterfs: Option<Opaque>,
    #[serde(default, rename = "image", skip_serializing_if = "Option::is_none")]
    pub image: Option<Opaque>,
    #[serde(default, rename = "iscsi", skip_serializing_if = "Option::is_none")]
    pub iscsi: Option<Opaque>,
    #[serde(default, rename = "nfs", skip_serializing_if = "Option::is_none")]
    pub nfs: Option<Opaque>,
    #[serde(
        default,
        rename = "persistentVolumeClaim",
        skip_serializing_if = "Option::is_none"
    )]
    pub persistent_volume_claim: Option<Opaque>,
    #[serde(
        default,
        rename = "photonPersistentDisk",
        skip_serializing_if = "Option::is_none"
    )]
    pub photon_persistent_disk: Option<Opaque>,
    #[serde(
        default,
        rename = "portworxVolume",
        skip_serializing_if = "Option::is_none"
    )]
    pub portworx_volume: Option<Opaque>,
    #[serde(default, rename = "projected", skip_serializing_if = "Option::is_none")]
    pub projected: Option<Opaque>,
    #[serde(default, rename = "quobyte", skip_serializing_if = "Option::is_none")]
    pub quobyte: Option<Opaque>,
    #[serde(default, rename = "rbd", skip_serializing_if = "Option::is_none")]
    pub rbd: Option<Opaque>,
    #[serde(default, rename = "scaleIO", skip_serializing_if = "Option::is_none")]
    pub scale_io: Option<Opaque>,
    #[serde(default, rename = "secret", skip_serializing_if = "Option::is_none")]
    pub secret: Option<Opaque>,
    #[serde(default, rename = "storageos", skip_serializing_if = "Option::is_none")]
    pub storageos: Option<Opaque>,
    #[serde(
        default,
        rename = "vsphereVolume",
        skip_serializing_if = "Option::is_none"
    )]
    pub vsphere_volume: Option<Opaque>,
}

impl Volume {
    /// The volume sources set on this volume that minipod does not implement
    /// (every `core/v1.VolumeSource` other than `emptyDir` and `hostPath`).
    pub fn unimplemented_sources(&self) -> Vec<&'static str> {
        [
            (
                "awsElasticBlockStore",
                self.aws_elastic_block_store.is_some(),
            ),
            ("azureDisk", self.azure_disk.is_some()),
            ("azureFile", self.azure_file.is_some()),
            ("cephfs", self.cephfs.is_some()),
            ("cinder", self.cinder.is_some()),
            ("configMap", self.config_map.is_some()),
            ("csi", self.csi.is_some()),
            ("downwardAPI", self.downward_api.is_some()),
            ("ephemeral", self.ephemeral.is_some()),
            ("fc", self.fc.is_some()),
            ("flexVolume", self.flex_volume.is_some()),
            ("flocker", self.flocker.is_some()),
            ("gcePersistentDisk", self.gce_persistent_disk.is_some()),
            ("gitRepo", self.git_repo.is_some()),
            ("glusterfs", self.glusterfs.is_some()),
            ("image", self.image.is_some()),
            ("iscsi", self.iscsi.is_some()),
            ("nfs", self.nfs.is_some()),
            (
                "persistentVolumeClaim",
                self.persistent_volume_claim.is_some(),
            ),
            (
                "photonPersistentDisk",
                self.photon_persistent_disk.is_some(),
            ),
            ("portworxVolume", self.portworx_volume.is_some()),
            ("projected", self.projected.is_some()),
            ("quobyte", self.quobyte.is_some()),
            ("rbd", self.rbd.is_some()),
            ("scaleIO", self.scale_io.is_some()),
            ("secret", self.secret.is_some()),
            ("storageos", self.storageos.is_some()),
            ("vsphereVolume", self.vsphere_volume.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

/// `volumes[].emptyDir`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EmptyDirVolumeSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<StorageMedium>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<Quantity>,
}

/// `volumes[].hostPath`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HostPathVolumeSource {
    #[serde(default)]
    pub path: String,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub path_type: Option<HostPathType>,
}
