//! The plugins' answers: the result of `ADD` and the error JSON
//! (SPEC.md "Success" and "Error" under "Result Types":
//! <https://github.com/containernetworking/cni/blob/main/SPEC.md#result-types>).
//!
//! A result is parsed into types to check it and to read the pod's IPs, and
//! kept whole as JSON: the next plugin's `prevResult` and the cache get it
//! unchanged, fields minipod does not know included.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::version::Version;

/// An interface a plugin created or configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interface {
    pub name: String,
    #[serde(default)]
    pub mac: String,
    /// The netns path when the interface is inside the pod; empty on the host.
    #[serde(default)]
    pub sandbox: String,
}

/// An address given to an interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IpConfig {
    /// `10.88.0.2/16`: the address with its prefix.
    pub address: String,
    #[serde(default)]
    pub gateway: Option<IpAddr>,
    /// Index into `interfaces`.
    #[serde(default)]
    pub interface: Option<usize>,
}

/// A route added inside the pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    pub dst: String,
    #[serde(default)]
    pub gw: Option<IpAddr>,
}

/// The DNS settings a plugin suggests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dns {
    #[serde(default)]
    pub nameservers: Vec<String>,
    #[serde(default)]
    pub domain: String,
    #[serde(default)]
    pub search: Vec<String>,
    #[serde(default)]
    pub options: Vec<String>,
}

/// A checked result of `ADD`, with the JSON it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct CniResult {
    pub cni_version: String,
    pub interfaces: Vec<Interface>,
    pub ips: Vec<IpConfig>,
    pub routes: Vec<Route>,
    pub dns: Dns,
    /// The whole document, as the plugin wrote it.
    pub raw: Value,
}

#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "cniVersion")]
    cni_version: String,
    #[serde(default)]
    interfaces: Vec<Interface>,
    #[serde(default)]
    ips: Vec<IpConfig>,
    #[serde(default)]
    routes: Vec<Route>,
    #[serde(default)]
    dns: Dns,
}

impl CniResult {
    /// Checks a result document: a known `cniVersion`, addresses with a
    /// prefix, interface indexes that exist, routes that are CIDRs.
    pub fn from_value(raw: Value) -> Result<CniResult, String> {
        let wire: Wire = serde_json::from_value(raw.clone()).map_err(|e| e.to_string())?;
        if Version::parse(&wire.cni_version).is_none() {
            return Err(format!(
                "cniVersion {:?} is not a version",
                wire.cni_version
            ));
        }
        for (i, ip) in wire.ips.iter().enumerate() {
            parse_cidr(&ip.address).ok_or_else(|| {
                format!("ips[{i}].address {:?} is not an address/prefix", ip.address)
            })?;
            if let Some(index) = ip.interface
                && index >= wire.interfaces.len()
            {
                return Err(format!(
                    "ips[{i}].interface {index} names no interface ({} listed)",
                    wire.interfaces.len()
                ));
            }
        }
        for (i, route) in wire.routes.iter().enumerate() {
            parse_cidr(&route.dst)
                .ok_or_else(|| format!("routes[{i}].dst {:?} is not a CIDR", route.dst))?;
        }
        Ok(CniResult {
            cni_version: wire.cni_version,
            interfaces: wire.interfaces,
            ips: wire.ips,
            routes: wire.routes,
            dns: wire.dns,
            raw,
        })
    }

    /// Parses a plugin's stdout.
    pub fn from_slice(bytes: &[u8]) -> Result<CniResult, String> {
        let raw: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if !raw.is_object() {
            return Err("the result is not a JSON object".to_owned());
        }
        CniResult::from_value(raw)
    }

    /// The pod's addresses: those on an interface inside the sandbox (or on
    /// no named interface), in the plugin's order. The first is the kubelet's
    /// `status.podIP`.
    pub fn pod_ips(&self) -> Vec<IpAddr> {
        self.ips
            .iter()
            .filter(|ip| match ip.interface {
                Some(i) => !self.interfaces[i].sandbox.is_empty(),
                None => true,
            })
            .filter_map(|ip| parse_cidr(&ip.address).map(|(addr, _)| addr))
            .collect()
    }
}

/// `addr/prefix` with a prefix valid for the address family.
pub fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = text.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some((addr, prefix))
}

/// The error a plugin reports on stdout with a non-zero exit.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PluginError {
    pub code: i64,
    #[serde(default)]
    pub msg: String,
    #[serde(default)]
    pub details: String,
}

impl PluginError {
    /// The error JSON on a failed plugin's stdout, if it wrote one.
    pub fn from_slice(bytes: &[u8]) -> Option<PluginError> {
        serde_json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The bridge plugin's result from the verified trial (dependencies.md §14).
    fn bridge_result() -> Value {
        json!({"cniVersion":"1.0.0","dns":{},
            "interfaces":[{"mac":"72:8e:b8:d1:77:d1","name":"depchk0"},
                {"mac":"86:3d:a4:ee:72:e2","name":"veth7077e95c"},
                {"mac":"16:9b:07:27:ac:09","name":"eth0","sandbox":"/run/netns/depchk-cni"}],
            "ips":[{"address":"10.199.0.2/24","gateway":"10.199.0.1","interface":2}],
            "routes":[{"dst":"0.0.0.0/0"}]})
    }

    #[test]
    fn a_real_result_parses_and_gives_the_pod_ip() {
        let text = serde_json::to_vec(&bridge_result()).expect("json");
        let result = CniResult::from_slice(&text).expect("parses");
        assert_eq!(result.interfaces.len(), 3);
        assert_eq!(result.interfaces[2].sandbox, "/run/netns/depchk-cni");
        assert_eq!(
            result.ips[0].gateway,
            Some("10.199.0.1".parse().expect("ip"))
        );
        assert_eq!(
            result.pod_ips(),
            vec!["10.199.0.2".parse::<IpAddr>().expect("ip")]
        );
        assert_eq!(result.raw, bridge_result());
    }

    #[test]
    fn unknown_fields_are_kept_for_the_next_plugin() {
        let mut doc = bridge_result();
        doc["x-vendor"] = json!({"keep": 1});
        let result = CniResult::from_value(doc.clone()).expect("parses");
        assert_eq!(result.raw["x-vendor"], json!({"keep": 1}));
    }

    #[test]
    fn inconsistent_results_are_refused_with_the_field() {
        let mut doc = bridge_result();
        doc["ips"][0]["interface"] = json!(7);
        assert!(
            CniResult::from_value(doc)
                .expect_err("bad")
                .contains("ips[0].interface 7")
        );
        let mut doc = bridge_result();
        doc["ips"][0]["address"] = json!("10.199.0.2");
        assert!(
            CniResult::from_value(doc)
                .expect_err("bad")
                .contains("ips[0].address")
        );
        let mut doc = bridge_result();
        doc["routes"][0]["dst"] = json!("default");
        assert!(
            CniResult::from_value(doc)
                .expect_err("bad")
                .contains("routes[0].dst")
        );
        assert!(CniResult::from_value(json!({"ips": []})).is_err());
        assert!(CniResult::from_slice(b"[1]").is_err());
        assert!(CniResult::from_slice(b"").is_err());
    }

    #[test]
    fn a_result_without_interfaces_still_has_pod_ips() {
        let r = CniResult::from_value(
            json!({"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.1.0.5/24"}]}),
        )
        .expect("parses");
        assert_eq!(r.pod_ips(), vec!["10.1.0.5".parse::<IpAddr>().expect("ip")]);
    }

    #[test]
    fn the_error_json_is_read() {
        let e = PluginError::from_slice(
            br#"{"cniVersion":"1.0.0","code":7,"msg":"failed to allocate","details":"range full"}"#,
        )
        .expect("error json");
        assert_eq!(
            (e.code, e.msg.as_str(), e.details.as_str()),
            (7, "failed to allocate", "range full")
        );
        assert!(PluginError::from_slice(b"panic: oops").is_none());
    }
}
