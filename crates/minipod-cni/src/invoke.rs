//! `ADD`, `CHECK` and `DEL` along a chain, `STATUS` and `GC` where the
//! plugins speak CNI 1.1 (SPEC.md "Section 4: Plugin Delegation" and
//! "Section 3: Execution of Network Configurations":
//! <https://github.com/containernetworking/cni/blob/main/SPEC.md#section-3-execution-of-network-configurations>).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::attachment::{Attachment, PortMapping};
use crate::cache::ResultCache;
use crate::config::{NetworkConfig, PluginConfig, find_plugin};
use crate::error::CniError;
use crate::exec::{ExecFailure, PluginCall, PluginExec};
use crate::result::{CniResult, PluginError};
use crate::version::Version;

/// How long one plugin may run: containerd gives a whole setup a few
/// minutes; one plugin of a local chain takes tens of milliseconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether a CNI 1.1 operation ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Every plugin that speaks CNI 1.1 ran it (and succeeded).
    Ran,
    /// The configuration or no plugin speaks CNI 1.1: nothing ran.
    NotSupported,
}

/// The names that become environment values and cache file names must be
/// plain: SPEC.md restricts the container id to alphanumerics, `_`, `.`
/// and `-`, and an interface name to what the kernel accepts.
pub fn check_ids(attachment: &Attachment) -> Result<(), CniError> {
    let id = &attachment.container_id;
    let id_ok = id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !id_ok {
        return Err(CniError::BadArgument {
            field: "container id",
            value: id.clone(),
            why: "must be letters, digits, '_', '.' or '-', starting with a letter or digit",
        });
    }
    let ifname = &attachment.if_name;
    let if_ok = !ifname.is_empty()
        && ifname.len() < 16
        && ifname != "."
        && ifname != ".."
        && ifname
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':');
    if !if_ok {
        return Err(CniError::BadArgument {
            field: "interface name",
            value: ifname.clone(),
            why: "must be 1 to 15 printable characters without '/' or ':'",
        });
    }
    for (field, value) in [
        ("pod namespace", &attachment.pod_namespace),
        ("pod name", &attachment.pod_name),
        ("pod uid", &attachment.pod_uid),
    ] {
        if value.contains([';', '=', '\0']) {
            return Err(CniError::BadArgument {
                field,
                value: value.clone(),
                why: "CNI_ARGS cannot carry ';' or '='",
            });
        }
    }
    Ok(())
}

/// `CNI_ARGS` as containerd passes it: `IgnoreUnknown=1` first, so plugins
/// that do not know the Kubernetes keys accept them.
pub fn cni_args(attachment: &Attachment) -> String {
    format!(
        "IgnoreUnknown=1;K8S_POD_NAMESPACE={};K8S_POD_NAME={};K8S_POD_INFRA_CONTAINER_ID={};K8S_POD_UID={}",
        attachment.pod_namespace, attachment.pod_name, attachment.container_id, attachment.pod_uid
    )
}

/// The document one plugin gets on stdin (SPEC.md "Deriving execution
/// configuration from plugin configuration"): its own object, the list's
/// `name` and `cniVersion`, `prevResult` when there is one, and
/// `runtimeConfig` holding only the capabilities it declares.
pub fn plugin_stdin(
    network: &NetworkConfig,
    plugin: &PluginConfig,
    prev_result: Option<&Value>,
    port_mappings: &[PortMapping],
) -> Value {
    let mut conf: Map<String, Value> = plugin.conf.clone();
    conf.insert("name".to_owned(), json!(network.name));
    conf.insert("cniVersion".to_owned(), json!(network.cni_version));
    conf.remove("prevResult");
    conf.remove("runtimeConfig");
    if let Some(prev) = prev_result {
        conf.insert("prevResult".to_owned(), prev.clone());
    }
    if plugin.has_capability("portMappings") {
        conf.insert(
            "runtimeConfig".to_owned(),
            json!({ "portMappings": port_mappings }),
        );
    }
    Value::Object(conf)
}

/// A CNI runtime: where the plugins are, where results are cached, how long
/// a plugin may take, and what runs them.
#[derive(Debug, Clone)]
pub struct Cni<E> {
    pub bin_dirs: Vec<PathBuf>,
    pub cache: ResultCache,
    pub timeout: Duration,
    /// The `PATH` plugins get: bridge and portmap run iptables.
    pub path: String,
    pub exec: E,
}

impl<E: PluginExec> Cni<E> {
    pub fn new(bin_dirs: Vec<PathBuf>, state_dir: &Path, exec: E) -> Cni<E> {
        Cni {
            bin_dirs,
            cache: ResultCache::new(state_dir),
            timeout: DEFAULT_TIMEOUT,
            path: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
            exec,
        }
    }

    fn env(
        &self,
        command: &str,
        attachment: Option<&Attachment>,
        netns: &str,
    ) -> Vec<(String, String)> {
        let cni_path = std::env::join_paths(&self.bin_dirs)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut env = vec![
            ("CNI_COMMAND".to_owned(), command.to_owned()),
            ("CNI_PATH".to_owned(), cni_path),
            ("PATH".to_owned(), self.path.clone()),
        ];
        if let Some(a) = attachment {
            env.push(("CNI_CONTAINERID".to_owned(), a.container_id.clone()));
            env.push(("CNI_NETNS".to_owned(), netns.to_owned()));
            env.push(("CNI_IFNAME".to_owned(), a.if_name.clone()));
            env.push(("CNI_ARGS".to_owned(), cni_args(a)));
        }
        env
    }

    /// Runs one plugin; `Ok(stdout)` when it exits 0.
    fn run(
        &self,
        plugin_type: &str,
        command: &'static str,
        env: &[(String, String)],
        stdin: &Value,
    ) -> Result<Vec<u8>, CniError> {
        let binary = find_plugin(plugin_type, &self.bin_dirs)?;
        let stdin = serde_json::to_vec(stdin).unwrap_or_default();
        let call = PluginCall {
            binary: &binary,
            env,
            stdin: &stdin,
        };
        let plugin = plugin_type.to_owned();
        let out = self.exec.exec(&call, self.timeout).map_err(|f| match f {
            ExecFailure::Spawn(source) => CniError::Spawn {
                plugin: plugin.clone(),
                command,
                source,
            },
            ExecFailure::Timeout => CniError::Timeout {
                plugin: plugin.clone(),
                command,
                after: self.timeout,
            },
            ExecFailure::StdoutTooLarge => CniError::OutputTooLarge {
                plugin: plugin.clone(),
                command,
                stream: "stdout",
                limit: crate::exec::MAX_STDOUT,
            },
        })?;
        if out.success {
            return Ok(out.stdout);
        }
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        Err(match PluginError::from_slice(&out.stdout) {
            Some(e) => CniError::Plugin {
                plugin,
                command,
                code: e.code,
                msg: e.msg,
                details: e.details,
                stderr,
            },
            None => CniError::Plugin {
                plugin,
                command,
                code: -1,
                msg: "exited with an error and no CNI error on stdout".to_owned(),
                details: String::from_utf8_lossy(&out.stdout)
                    .trim()
                    .chars()
                    .take(512)
                    .collect(),
                stderr,
            },
        })
    }

    /// `ADD`: the plugins in order, each given the previous one's result;
    /// the last result is cached and returned. If a plugin fails, the chain
    /// is deleted again (as containerd tears a failed setup down), so
    /// nothing stays half-created, and the `ADD` error is returned.
    pub fn add(
        &self,
        network: &NetworkConfig,
        attachment: &Attachment,
    ) -> Result<CniResult, CniError> {
        check_ids(attachment)?;
        let netns = attachment.netns.to_string_lossy();
        let env = self.env("ADD", Some(attachment), &netns);
        let mut prev: Option<CniResult> = None;
        for plugin in &network.plugins {
            let stdin = plugin_stdin(
                network,
                plugin,
                prev.as_ref().map(|r| &r.raw),
                &attachment.port_mappings,
            );
            let step = self
                .run(&plugin.plugin_type, "ADD", &env, &stdin)
                .and_then(|out| {
                    CniResult::from_slice(&out).map_err(|why| CniError::BadResult {
                        plugin: plugin.plugin_type.clone(),
                        command: "ADD",
                        why,
                    })
                });
            match step {
                Ok(result) => prev = Some(result),
                Err(e) => {
                    let _ = self.del_chain(network, attachment, prev.as_ref().map(|r| &r.raw));
                    return Err(e);
                }
            }
        }
        let Some(result) = prev else {
            unreachable!("a validated configuration has at least one plugin")
        };
        if let Err(e) = self.cache.store(network, attachment, &result) {
            let _ = self.del_chain(network, attachment, Some(&result.raw));
            return Err(e);
        }
        Ok(result)
    }

    /// `CHECK`: the plugins in order, each with the cached result. Skipped
    /// (Ok) when the configuration says `disableCheck` or predates CNI 0.4.
    pub fn check(&self, network: &NetworkConfig, attachment: &Attachment) -> Result<(), CniError> {
        check_ids(attachment)?;
        if network.disable_check || network.version < Version::V0_4 {
            return Ok(());
        }
        let cached = self.cache.load(&network.name, attachment)?.ok_or_else(|| {
            CniError::NoCachedResult {
                what: format!("{} on network {}", attachment.container_id, network.name),
                command: "CHECK",
            }
        })?;
        let netns = attachment.netns.to_string_lossy();
        let env = self.env("CHECK", Some(attachment), &netns);
        for plugin in &cached.network.plugins {
            let stdin = plugin_stdin(
                &cached.network,
                plugin,
                Some(&cached.result.raw),
                &attachment.port_mappings,
            );
            self.run(&plugin.plugin_type, "CHECK", &env, &stdin)?;
        }
        Ok(())
    }

    /// `DEL`: the chain in reverse with the cached result as `prevResult`.
    /// The cached configuration and port mappings win over the given ones
    /// (the attachment is torn down as it was made); with no cache entry the
    /// given configuration runs without `prevResult`. Every plugin runs even
    /// if one fails; the cache entry is removed only when all succeeded, so
    /// a failed `DEL` can be retried.
    pub fn del(&self, network: &NetworkConfig, attachment: &Attachment) -> Result<(), CniError> {
        check_ids(attachment)?;
        let cached = self.cache.load(&network.name, attachment)?;
        let (net, att, prev) = match &cached {
            Some(c) => (&c.network, &c.attachment, Some(&c.result.raw)),
            None => (network, attachment, None),
        };
        // The netns path of the caller: the cached one may be gone already.
        let att = Attachment {
            netns: attachment.netns.clone(),
            ..att.clone()
        };
        self.del_chain(net, &att, prev)?;
        self.cache.remove(&network.name, attachment)
    }

    fn del_chain(
        &self,
        network: &NetworkConfig,
        attachment: &Attachment,
        prev: Option<&Value>,
    ) -> Result<(), CniError> {
        // SPEC.md asks plugins to succeed on DEL when things are already
        // gone; a netns that no longer exists is passed as an empty
        // CNI_NETNS, which the reference plugins take as "only release
        // what is outside the namespace" (the IP reservation, NAT rules).
        let netns = if attachment.netns.exists() {
            attachment.netns.to_string_lossy().into_owned()
        } else {
            String::new()
        };
        let env = self.env("DEL", Some(attachment), &netns);
        let mut first_error = None;
        for plugin in network.plugins.iter().rev() {
            let stdin = plugin_stdin(network, plugin, prev, &attachment.port_mappings);
            if let Err(e) = self.run(&plugin.plugin_type, "DEL", &env, &stdin) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// `VERSION`: the versions a plugin supports.
    pub fn versions(
        &self,
        network: &NetworkConfig,
        plugin_type: &str,
    ) -> Result<Vec<Version>, CniError> {
        let env = self.env("VERSION", None, "");
        let out = self.run(
            plugin_type,
            "VERSION",
            &env,
            &json!({ "cniVersion": network.cni_version }),
        )?;
        #[derive(Deserialize)]
        struct Info {
            #[serde(rename = "supportedVersions", default)]
            supported: Vec<String>,
        }
        let info: Info = serde_json::from_slice(&out).map_err(|e| CniError::BadResult {
            plugin: plugin_type.to_owned(),
            command: "VERSION",
            why: e.to_string(),
        })?;
        Ok(info
            .supported
            .iter()
            .filter_map(|v| Version::parse(v))
            .collect())
    }

    /// The plugins of the chain that speak CNI 1.1, when the configuration
    /// does (STATUS and GC appeared in 1.1; older plugins must not get them).
    fn plugins_with_1_1<'n>(
        &self,
        network: &'n NetworkConfig,
    ) -> Result<Vec<&'n PluginConfig>, CniError> {
        if network.version < Version::V1_1 {
            return Ok(Vec::new());
        }
        let mut with = Vec::new();
        for plugin in &network.plugins {
            if self
                .versions(network, &plugin.plugin_type)?
                .iter()
                .any(|v| *v >= Version::V1_1)
            {
                with.push(plugin);
            }
        }
        Ok(with)
    }

    /// `STATUS` (CNI 1.1): whether the network is ready for `ADD`.
    pub fn status(&self, network: &NetworkConfig) -> Result<Support, CniError> {
        let plugins = self.plugins_with_1_1(network)?;
        let env = self.env("STATUS", None, "");
        for plugin in &plugins {
            self.run(
                &plugin.plugin_type,
                "STATUS",
                &env,
                &plugin_stdin(network, plugin, None, &[]),
            )?;
        }
        Ok(if plugins.is_empty() {
            Support::NotSupported
        } else {
            Support::Ran
        })
    }

    /// `GC` (CNI 1.1): the plugins release whatever belongs to an
    /// attachment not in `valid` (`cni.dev/valid-attachments`). Not run
    /// when the configuration says `disableGC`.
    pub fn gc(&self, network: &NetworkConfig, valid: &[Attachment]) -> Result<Support, CniError> {
        if network.disable_gc {
            return Ok(Support::NotSupported);
        }
        let plugins = self.plugins_with_1_1(network)?;
        let env = self.env("GC", None, "");
        let valid: Vec<Value> = valid
            .iter()
            .map(|a| json!({ "containerID": a.container_id, "ifname": a.if_name }))
            .collect();
        for plugin in &plugins {
            let mut stdin = plugin_stdin(network, plugin, None, &[]);
            stdin["cni.dev/valid-attachments"] = json!(valid);
            self.run(&plugin.plugin_type, "GC", &env, &stdin)?;
        }
        Ok(if plugins.is_empty() {
            Support::NotSupported
        } else {
            Support::Ran
        })
    }
}

#[cfg(test)]
#[path = "invoke_tests.rs"]
mod tests;
