//! A pod attached through a CNI configuration of the conf dir, used as it
//! is (`minipod_cni`): `CNI_CONTAINERID` is the pod's uid, `CNI_IFNAME`
//! `eth0`, `CNI_ARGS` the pod's namespace, name and uid, its host ports the
//! `portMappings` capability. `lo` is up already: the sandbox's holder
//! brings it up, so no `loopback` network is attached.

use std::net::IpAddr;
use std::path::Path;

use minipod_cni::{Attachment, Cni, CniError, CommandExec, NetworkConfig, PortMapping};
use minipod_spec::AdmittedPod;

use super::{NetworkError, POD_INTERFACE};

/// A pod attached through CNI: what its `DEL` needs.
#[derive(Debug, Clone)]
pub struct CniAttachment {
    cni: Cni<CommandExec>,
    config: NetworkConfig,
    attachment: Attachment,
}

fn setup_error(sandbox: &str) -> impl FnOnce(CniError) -> NetworkError + '_ {
    move |source| NetworkError::Setup {
        sandbox: sandbox.to_owned(),
        source: Box::new(source),
    }
}

fn teardown_error(sandbox: &str) -> impl FnOnce(CniError) -> NetworkError + '_ {
    move |source| NetworkError::Teardown {
        sandbox: sandbox.to_owned(),
        source: Box::new(source),
    }
}

/// `ADD` along the chain; the result is cached by `Cni::add` before it
/// returns. On failure the chain was deleted again.
pub(super) fn attach(
    cni: &Cni<CommandExec>,
    config: NetworkConfig,
    pod: &AdmittedPod,
    netns: &Path,
    port_mappings: Vec<PortMapping>,
) -> Result<(CniAttachment, Vec<IpAddr>), NetworkError> {
    let attachment = Attachment {
        container_id: pod.uid().to_owned(),
        netns: netns.to_owned(),
        if_name: POD_INTERFACE.to_owned(),
        pod_namespace: pod.namespace().to_owned(),
        pod_name: pod.name().to_owned(),
        pod_uid: pod.uid().to_owned(),
        port_mappings,
    };
    let result = cni
        .add(&config, &attachment)
        .map_err(setup_error(pod.uid()))?;
    let attached = CniAttachment {
        cni: cni.clone(),
        config,
        attachment,
    };
    let ips = result.pod_ips();
    if ips.is_empty() {
        let _ = attached.detach();
        return Err(NetworkError::NoAddress {
            sandbox: pod.uid().to_owned(),
        });
    }
    Ok((attached, ips))
}

impl CniAttachment {
    /// `DEL` along the chain, with the cached result.
    pub(super) fn detach(&self) -> Result<(), NetworkError> {
        self.cni
            .del(&self.config, &self.attachment)
            .map_err(teardown_error(&self.attachment.container_id))
    }
}

fn cache_error(e: CniError) -> NetworkError {
    NetworkError::Cache(Box::new(e))
}

/// `DEL` of every cached attachment of the pod `uid`, whatever network
/// made it. Whether there was one.
pub(super) fn detach_cached(cni: &Cni<CommandExec>, uid: &str) -> Result<bool, NetworkError> {
    let mut found = false;
    let mut first = None;
    for cached in cni.cache.list().map_err(cache_error)? {
        let Ok(cached) = cached else { continue };
        if cached.attachment.pod_uid != uid {
            continue;
        }
        found = true;
        if let Err(e) = cni.del(&cached.network, &cached.attachment) {
            first.get_or_insert(teardown_error(uid)(e));
        }
    }
    first.map_or(Ok(found), Err)
}

/// `DEL` of the cached attachments of pods not in `live`; then, where the
/// plugins support CNI 1.1, `GC` of `current` with the live ones.
pub(super) fn collect_garbage(
    cni: &Cni<CommandExec>,
    current: Option<minipod_cni::PodNetwork>,
    live: &[String],
) -> Result<Vec<String>, NetworkError> {
    let mut cleaned = Vec::new();
    let mut valid = Vec::new();
    for cached in cni.cache.list().map_err(cache_error)? {
        let Ok(cached) = cached else { continue };
        if live.contains(&cached.attachment.pod_uid) {
            valid.push(cached.attachment);
            continue;
        }
        let uid = cached.attachment.pod_uid.clone();
        cni.del(&cached.network, &cached.attachment)
            .map_err(teardown_error(&uid))?;
        cleaned.push(uid);
    }
    // GC is a sweep on top (CNI 1.1); plugins that predate it are skipped
    // by `Cni::gc` itself. The default network is native: no CNI GC.
    if let Some(minipod_cni::PodNetwork::Configured(config)) = current
        && let Err(e) = cni.gc(&config, &valid)
    {
        tracing::warn!("CNI GC: {}", minipod_spec::error_chain(&e));
    }
    Ok(cleaned)
}
