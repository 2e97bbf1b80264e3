//! The results of `ADD`, one file per attachment, as libcni keeps them in
//! `/var/lib/cni/results`: `DEL` must get the `ADD` result as `prevResult`
//! (SPEC.md "CNI operations", DEL:
//! <https://github.com/containernetworking/cni/blob/main/SPEC.md#del-remove-container-from-network-or-un-apply-modifications>),
//! and a pod whose monitor died must still be torn down by someone else.
//!
//! Each file also holds the configuration the attachment was made with, so
//! that it is torn down with that chain even after the conf dir changed (and
//! the port mappings, which portmap needs again on `DEL`).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::attachment::{Attachment, PortMapping};
use crate::config::{NetworkConfig, parse_list};
use crate::error::CniError;
use crate::result::CniResult;

/// The most a cache file may hold.
pub const MAX_CACHE_BYTES: u64 = 4 << 20;
const KIND: &str = "minipod-cni-cache/v1";

/// One cached attachment.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedAttachment {
    pub network: NetworkConfig,
    pub attachment: Attachment,
    pub result: CniResult,
    pub path: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Record {
    kind: String,
    #[serde(rename = "containerId")]
    container_id: String,
    #[serde(rename = "ifName")]
    if_name: String,
    netns: PathBuf,
    #[serde(rename = "podNamespace")]
    pod_namespace: String,
    #[serde(rename = "podName")]
    pod_name: String,
    #[serde(rename = "podUid")]
    pod_uid: String,
    #[serde(rename = "portMappings", default)]
    port_mappings: Vec<PortMapping>,
    config: Value,
    result: Value,
}

/// The configuration as a `.conflist` document (what the cache keeps).
pub fn conflist_of(network: &NetworkConfig) -> Value {
    let mut doc = json!({
        "cniVersion": network.cni_version,
        "name": network.name,
        "plugins": network.plugins.iter().map(|p| Value::Object(p.conf.clone())).collect::<Vec<_>>(),
    });
    if network.disable_check {
        doc["disableCheck"] = json!(true);
    }
    if network.disable_gc {
        doc["disableGC"] = json!(true);
    }
    doc
}

/// The cache directory, `<state dir>/cni/results`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultCache {
    pub dir: PathBuf,
}

impl ResultCache {
    pub fn new(state_dir: &Path) -> ResultCache {
        ResultCache {
            dir: state_dir.join("cni").join("results"),
        }
    }

    /// `<network>-<container id>-<ifname>.json`; every part is checked to
    /// be a plain name before it gets here ([`crate::invoke::check_ids`]).
    pub fn path_of(&self, network: &str, attachment: &Attachment) -> PathBuf {
        self.dir.join(format!(
            "{network}-{}-{}.json",
            attachment.container_id, attachment.if_name
        ))
    }

    /// Writes the record atomically: a temporary file, synced, renamed over
    /// the final name, then the directory synced.
    pub fn store(
        &self,
        network: &NetworkConfig,
        attachment: &Attachment,
        result: &CniResult,
    ) -> Result<PathBuf, CniError> {
        let path = self.path_of(&network.name, attachment);
        let io = |action, source| CniError::Cache {
            action,
            path: path.clone(),
            source,
        };
        fs::create_dir_all(&self.dir).map_err(|e| io("create the directory of", e))?;
        let record = Record {
            kind: KIND.to_owned(),
            container_id: attachment.container_id.clone(),
            if_name: attachment.if_name.clone(),
            netns: attachment.netns.clone(),
            pod_namespace: attachment.pod_namespace.clone(),
            pod_name: attachment.pod_name.clone(),
            pod_uid: attachment.pod_uid.clone(),
            port_mappings: attachment.port_mappings.clone(),
            config: conflist_of(network),
            result: result.raw.clone(),
        };
        let bytes = serde_json::to_vec(&record).map_err(|e| CniError::CacheJson {
            path: path.clone(),
            source: e,
        })?;
        let tmp = path.with_extension("json.tmp");
        let mut file = fs::File::create(&tmp).map_err(|e| io("create", e))?;
        file.write_all(&bytes).map_err(|e| io("write", e))?;
        file.sync_all().map_err(|e| io("sync", e))?;
        fs::rename(&tmp, &path).map_err(|e| io("rename into place", e))?;
        fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io("sync the directory of", e))?;
        Ok(path)
    }

    /// The cached attachment of `network` for `attachment`, if any.
    pub fn load(
        &self,
        network: &str,
        attachment: &Attachment,
    ) -> Result<Option<CachedAttachment>, CniError> {
        let path = self.path_of(network, attachment);
        match fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            _ => read_record(&path).map(Some),
        }
    }

    /// Removes the cached attachment (after a successful `DEL`); a missing
    /// file is not an error.
    pub fn remove(&self, network: &str, attachment: &Attachment) -> Result<(), CniError> {
        let path = self.path_of(network, attachment);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CniError::Cache {
                action: "remove",
                path,
                source: e,
            }),
            _ => Ok(()),
        }
    }

    /// Every cached attachment, sorted by file name; a file that cannot be
    /// read comes back as its error, so the caller can report it and go on
    /// (the daemon's start-up clean-up).
    pub fn list(&self) -> Result<Vec<Result<CachedAttachment, CniError>>, CniError> {
        let entries = match fs::read_dir(&self.dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(CniError::Cache {
                    action: "list",
                    path: self.dir.clone(),
                    source,
                });
            }
            Ok(entries) => entries,
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        Ok(paths.iter().map(|p| read_record(p)).collect())
    }
}

fn read_record(path: &Path) -> Result<CachedAttachment, CniError> {
    let io = |source| CniError::Cache {
        action: "read",
        path: path.to_owned(),
        source,
    };
    let len = fs::metadata(path).map_err(io)?.len();
    if len > MAX_CACHE_BYTES {
        return Err(io(std::io::Error::other("larger than the cache limit")));
    }
    let bytes = fs::read(path).map_err(io)?;
    let json_err = |source| CniError::CacheJson {
        path: path.to_owned(),
        source,
    };
    let record: Record = serde_json::from_slice(&bytes).map_err(json_err)?;
    let invalid = |why: String| json_err(<serde_json::Error as serde::de::Error>::custom(why));
    if record.kind != KIND {
        return Err(invalid(format!("kind {:?} is not {KIND:?}", record.kind)));
    }
    let network = parse_list(record.config, path).map_err(|e| invalid(e.to_string()))?;
    let result = CniResult::from_value(record.result).map_err(invalid)?;
    Ok(CachedAttachment {
        network,
        attachment: Attachment {
            container_id: record.container_id,
            netns: record.netns,
            if_name: record.if_name,
            pod_namespace: record.pod_namespace,
            pod_name: record.pod_name,
            pod_uid: record.pod_uid,
            port_mappings: record.port_mappings,
        },
        result,
        path: path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::default_net::DefaultNetwork;

    fn attachment(id: &str) -> Attachment {
        Attachment {
            container_id: id.to_owned(),
            netns: PathBuf::from("/run/netns/p"),
            if_name: "eth0".to_owned(),
            pod_namespace: "default".to_owned(),
            pod_name: "web".to_owned(),
            pod_uid: "u-1".to_owned(),
            port_mappings: vec![PortMapping {
                host_port: 8080,
                container_port: 80,
                protocol: "tcp".to_owned(),
                host_ip: Some("127.0.0.1".to_owned()),
            }],
        }
    }

    fn result() -> CniResult {
        CniResult::from_value(json!({"cniVersion":"1.0.0",
            "interfaces":[{"name":"eth0","sandbox":"/run/netns/p"}],
            "ips":[{"address":"10.88.0.2/16","gateway":"10.88.0.1","interface":0}]}))
        .expect("result")
    }

    #[test]
    fn store_load_list_remove() {
        let state = tempfile::tempdir().expect("tempdir");
        let cache = ResultCache::new(state.path());
        let net = DefaultNetwork::new("10.88.0.0/16".parse().expect("cidr"), state.path()).config();
        assert!(cache.list().expect("list").is_empty());
        let path = cache
            .store(&net, &attachment("abc"), &result())
            .expect("store");
        assert_eq!(path, state.path().join("cni/results/minipod-abc-eth0.json"));
        cache
            .store(&net, &attachment("def"), &result())
            .expect("store");
        let back = cache
            .load("minipod", &attachment("abc"))
            .expect("load")
            .expect("some");
        assert_eq!(back.network, net);
        assert_eq!(back.attachment, attachment("abc"));
        assert_eq!(back.result, result());
        let all = cache.list().expect("list");
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].as_ref().expect("ok").attachment.container_id, "def");
        cache.remove("minipod", &attachment("abc")).expect("remove");
        cache
            .remove("minipod", &attachment("abc"))
            .expect("twice is fine");
        assert!(
            cache
                .load("minipod", &attachment("abc"))
                .expect("load")
                .is_none()
        );
        assert_eq!(cache.list().expect("list").len(), 1);
        // No temporary file stays behind.
        let names: Vec<_> = fs::read_dir(&cache.dir)
            .expect("dir")
            .map(|e| e.expect("e").file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_broken_file_is_reported_and_the_others_still_listed() {
        let state = tempfile::tempdir().expect("tempdir");
        let cache = ResultCache::new(state.path());
        let net = DefaultNetwork::new("10.88.0.0/16".parse().expect("cidr"), state.path()).config();
        cache
            .store(&net, &attachment("good"), &result())
            .expect("store");
        fs::write(cache.dir.join("minipod-bad-eth0.json"), "{").expect("write");
        let all = cache.list().expect("list");
        assert_eq!(all.len(), 2);
        let e = all[0].as_ref().expect_err("bad first by name").to_string();
        assert!(e.contains("minipod-bad-eth0.json"), "{e}");
        assert!(all[1].is_ok());
    }
}
