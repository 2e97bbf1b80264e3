//! The chain's logic against a fake executor: what each plugin gets, in
//! which order, and what is cached.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::default_net::DefaultNetwork;
use crate::exec::PluginOutput;

#[derive(Debug, Clone)]
struct Call {
    plugin: String,
    env: HashMap<String, String>,
    stdin: Value,
}

/// Answers by (plugin, command): a result to print, or an error JSON.
#[derive(Debug, Default)]
struct Fake {
    calls: RefCell<Vec<Call>>,
    fail: RefCell<HashMap<(String, String), Value>>,
    versions: Vec<&'static str>,
}

impl PluginExec for Fake {
    fn exec(&self, call: &PluginCall<'_>, _timeout: Duration) -> Result<PluginOutput, ExecFailure> {
        let plugin = call
            .binary
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let env: HashMap<String, String> = call.env.iter().cloned().collect();
        let stdin: Value = serde_json::from_slice(call.stdin).expect("stdin is JSON");
        let command = env["CNI_COMMAND"].clone();
        self.calls.borrow_mut().push(Call {
            plugin: plugin.clone(),
            env: env.clone(),
            stdin: stdin.clone(),
        });
        if let Some(err) = self.fail.borrow().get(&(plugin.clone(), command.clone())) {
            return Ok(PluginOutput {
                success: false,
                stdout: serde_json::to_vec(err).expect("json"),
                stderr: b"boom\n".to_vec(),
            });
        }
        let stdout = match command.as_str() {
            "ADD" => {
                // bridge makes a result, the others pass prevResult through
                // (adding an interface, to see the threading).
                let mut result = stdin.get("prevResult").cloned().unwrap_or_else(
                    || json!({"cniVersion":"1.0.0","interfaces":[],"ips":[],"dns":{}}),
                );
                let ifaces = result["interfaces"].as_array_mut().expect("interfaces");
                ifaces.push(json!({"name": format!("{plugin}-if"), "sandbox": env["CNI_NETNS"]}));
                if plugin == "bridge" {
                    result["ips"] =
                        json!([{"address":"10.88.0.2/16","gateway":"10.88.0.1","interface":0}]);
                }
                serde_json::to_vec(&result).expect("json")
            }
            "VERSION" => serde_json::to_vec(
                &json!({"cniVersion":"1.1.0","supportedVersions": self.versions}),
            )
            .expect("json"),
            _ => Vec::new(),
        };
        Ok(PluginOutput {
            success: true,
            stdout,
            stderr: Vec::new(),
        })
    }
}

struct Setup {
    _bin: tempfile::TempDir,
    state: tempfile::TempDir,
    cni: Cni<Fake>,
    net: NetworkConfig,
}

fn setup() -> Setup {
    let bin = tempfile::tempdir().expect("tempdir");
    for name in ["bridge", "portmap", "loopback", "host-local"] {
        let p = bin.path().join(name);
        fs::write(&p, "").expect("write");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let state = tempfile::tempdir().expect("tempdir");
    let net = DefaultNetwork::new("10.88.0.0/16".parse().expect("cidr"), state.path()).config();
    let cni = Cni::new(
        vec![bin.path().to_owned(), "/usr/lib/cni".into()],
        state.path(),
        Fake::default(),
    );
    Setup {
        _bin: bin,
        state,
        cni,
        net,
    }
}

fn attachment(netns: &Path) -> Attachment {
    Attachment {
        container_id: "sandbox1".to_owned(),
        netns: netns.to_owned(),
        if_name: "eth0".to_owned(),
        pod_namespace: "default".to_owned(),
        pod_name: "web".to_owned(),
        pod_uid: "uid-1".to_owned(),
        port_mappings: vec![PortMapping {
            host_port: 8080,
            container_port: 80,
            protocol: "tcp".to_owned(),
            host_ip: Some("127.0.0.1".to_owned()),
        }],
    }
}

fn plugins(calls: &[Call]) -> Vec<(String, String)> {
    calls
        .iter()
        .map(|c| (c.plugin.clone(), c.env["CNI_COMMAND"].clone()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn add_threads_prev_result_and_caches_the_last_result() {
    let s = setup();
    let att = attachment(s.state.path());
    let result = s.cni.add(&s.net, &att).expect("add");
    let calls = s.cni.exec.calls.borrow().clone();
    assert_eq!(
        plugins(&calls),
        pairs(&[("bridge", "ADD"), ("portmap", "ADD")])
    );
    // The environment, exactly.
    let env = &calls[0].env;
    assert_eq!(env["CNI_CONTAINERID"], "sandbox1");
    assert_eq!(env["CNI_NETNS"], s.state.path().to_string_lossy());
    assert_eq!(env["CNI_IFNAME"], "eth0");
    assert_eq!(
        env["CNI_ARGS"],
        "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=sandbox1;K8S_POD_UID=uid-1"
    );
    assert!(env["CNI_PATH"].ends_with(":/usr/lib/cni"));
    assert!(env["PATH"].contains("/usr/sbin"));
    assert_eq!(env.len(), 7, "nothing else is passed: {env:?}");
    // bridge: no prevResult, no runtimeConfig (no capability declared).
    assert_eq!(calls[0].stdin["name"], "minipod");
    assert_eq!(calls[0].stdin["cniVersion"], "1.0.0");
    assert!(calls[0].stdin.get("prevResult").is_none());
    assert!(calls[0].stdin.get("runtimeConfig").is_none());
    // portmap: bridge's result and its port mappings.
    assert_eq!(
        calls[1].stdin["prevResult"]["ips"][0]["address"],
        "10.88.0.2/16"
    );
    assert_eq!(
        calls[1].stdin["runtimeConfig"],
        json!({"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp","hostIP":"127.0.0.1"}]})
    );
    // The final result is portmap's, and it is cached.
    assert_eq!(result.interfaces.len(), 2);
    assert_eq!(
        result.pod_ips(),
        vec!["10.88.0.2".parse::<std::net::IpAddr>().expect("ip")]
    );
    let cached = s
        .cni
        .cache
        .load("minipod", &att)
        .expect("load")
        .expect("cached");
    assert_eq!(cached.result, result);
}

#[test]
fn del_runs_in_reverse_with_the_cached_result_then_forgets_it() {
    let s = setup();
    let att = attachment(s.state.path());
    let result = s.cni.add(&s.net, &att).expect("add");
    s.cni.exec.calls.borrow_mut().clear();
    // The caller's configuration changed since: the cached chain is used.
    let mut other = s.net.clone();
    other.plugins.truncate(1);
    s.cni.del(&other, &att).expect("del");
    let calls = s.cni.exec.calls.borrow().clone();
    assert_eq!(
        plugins(&calls),
        pairs(&[("portmap", "DEL"), ("bridge", "DEL")])
    );
    for call in &calls {
        assert_eq!(call.stdin["prevResult"], result.raw);
    }
    assert_eq!(
        calls[0].stdin["runtimeConfig"]["portMappings"][0]["hostPort"],
        8080
    );
    assert!(s.cni.cache.load("minipod", &att).expect("load").is_none());
    // A second DEL (nothing cached) still runs the chain, without prevResult.
    s.cni.exec.calls.borrow_mut().clear();
    s.cni.del(&s.net, &att).expect("del again");
    let calls = s.cni.exec.calls.borrow().clone();
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|c| c.stdin.get("prevResult").is_none()));
}

#[test]
fn del_of_a_gone_netns_passes_an_empty_netns_and_keeps_going_after_errors() {
    let s = setup();
    let att = attachment(&s.state.path().join("gone"));
    s.cni.exec.fail.borrow_mut().insert(
        ("portmap".into(), "DEL".into()),
        json!({"code":999,"msg":"iptables busy"}),
    );
    let e = s.cni.del(&s.net, &att).expect_err("portmap failed");
    let calls = s.cni.exec.calls.borrow().clone();
    assert_eq!(
        plugins(&calls),
        pairs(&[("portmap", "DEL"), ("bridge", "DEL")])
    );
    assert!(calls.iter().all(|c| c.env["CNI_NETNS"].is_empty()));
    let msg = e.to_string();
    assert!(
        msg.contains("CNI plugin portmap failed DEL: iptables busy (code 999)"),
        "{msg}"
    );
    assert!(msg.contains("stderr: boom"), "{msg}");
}

#[test]
fn a_failed_add_is_rolled_back_and_names_the_plugin() {
    let s = setup();
    let att = attachment(s.state.path());
    s.cni.exec.fail.borrow_mut().insert(
        ("portmap".into(), "ADD".into()),
        json!({"cniVersion":"1.0.0","code":11,"msg":"cannot open iptables","details":"exit 4"}),
    );
    let e = s.cni.add(&s.net, &att).expect_err("fails");
    assert!(
        matches!(&e, CniError::Plugin { plugin, code: 11, .. } if plugin == "portmap"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "CNI plugin portmap failed ADD: cannot open iptables (code 11); exit 4; stderr: boom"
    );
    let calls = s.cni.exec.calls.borrow().clone();
    assert_eq!(
        plugins(&calls),
        pairs(&[
            ("bridge", "ADD"),
            ("portmap", "ADD"),
            ("portmap", "DEL"),
            ("bridge", "DEL")
        ])
    );
    // The rollback gets the last good result (bridge's).
    assert_eq!(
        calls[3].stdin["prevResult"]["ips"][0]["address"],
        "10.88.0.2/16"
    );
    assert!(s.cni.cache.list().expect("list").is_empty());
}

#[test]
fn a_missing_plugin_is_an_error_before_anything_runs() {
    let s = setup();
    let mut net = s.net.clone();
    net.plugins[0].plugin_type = "nope-not-installed".to_owned();
    let e = s
        .cni
        .add(&net, &attachment(s.state.path()))
        .expect_err("fails");
    assert!(
        e.to_string().starts_with("the network configuration"),
        "{e}"
    );
    assert!(matches!(
        e,
        CniError::Config(crate::error::ConfigError::PluginNotFound { .. })
    ));
}

#[test]
fn check_uses_the_cache_and_respects_disable_check() {
    let s = setup();
    let att = attachment(s.state.path());
    let e = s.cni.check(&s.net, &att).expect_err("nothing cached");
    assert!(matches!(e, CniError::NoCachedResult { .. }));
    let result = s.cni.add(&s.net, &att).expect("add");
    s.cni.exec.calls.borrow_mut().clear();
    s.cni.check(&s.net, &att).expect("check");
    let calls = s.cni.exec.calls.borrow().clone();
    assert_eq!(
        plugins(&calls),
        pairs(&[("bridge", "CHECK"), ("portmap", "CHECK")])
    );
    assert!(calls.iter().all(|c| c.stdin["prevResult"] == result.raw));
    s.cni.exec.calls.borrow_mut().clear();
    let mut net = s.net.clone();
    net.disable_check = true;
    s.cni.check(&net, &att).expect("skipped");
    assert!(s.cni.exec.calls.borrow().is_empty());
}

#[test]
fn bad_ids_are_refused_before_any_plugin_runs() {
    let s = setup();
    let mut att = attachment(s.state.path());
    att.container_id = "../../etc".to_owned();
    assert!(s.cni.add(&s.net, &att).is_err());
    let mut att = attachment(s.state.path());
    att.pod_name = "a;b=c".to_owned();
    assert!(s.cni.add(&s.net, &att).is_err());
    let mut att = attachment(s.state.path());
    att.if_name = "a-very-long-name0".to_owned();
    assert!(s.cni.add(&s.net, &att).is_err());
    assert!(s.cni.exec.calls.borrow().is_empty());
}

#[test]
fn status_and_gc_run_only_for_cni_1_1_plugins() {
    let mut s = setup();
    // A 1.0.0 configuration: nothing runs, not even VERSION.
    assert_eq!(s.cni.status(&s.net).expect("status"), Support::NotSupported);
    assert!(s.cni.exec.calls.borrow().is_empty());
    let mut net = s.net.clone();
    net.cni_version = "1.1.0".to_owned();
    net.version = Version::V1_1;
    // Plugins that stop at 1.0.0 (Debian's 1.1.1): VERSION only.
    s.cni.exec.versions = vec!["0.4.0", "1.0.0"];
    assert_eq!(s.cni.gc(&net, &[]).expect("gc"), Support::NotSupported);
    assert!(
        plugins(&s.cni.exec.calls.borrow())
            .iter()
            .all(|(_, c)| c == "VERSION")
    );
    s.cni.exec.calls.borrow_mut().clear();
    s.cni.exec.versions = vec!["1.0.0", "1.1.0"];
    let att = attachment(s.state.path());
    assert_eq!(s.cni.gc(&net, &[att]).expect("gc"), Support::Ran);
    let calls = s.cni.exec.calls.borrow().clone();
    let gc: Vec<&Call> = calls
        .iter()
        .filter(|c| c.env["CNI_COMMAND"] == "GC")
        .collect();
    assert_eq!(gc.len(), 2);
    assert_eq!(
        gc[0].stdin["cni.dev/valid-attachments"],
        json!([{"containerID":"sandbox1","ifname":"eth0"}])
    );
    assert!(!gc[0].env.contains_key("CNI_CONTAINERID"));
    assert_eq!(s.cni.status(&net).expect("status"), Support::Ran);
    net.disable_gc = true;
    s.cni.exec.calls.borrow_mut().clear();
    assert_eq!(s.cni.gc(&net, &[]).expect("gc"), Support::NotSupported);
    assert!(s.cni.exec.calls.borrow().is_empty());
}

#[test]
fn a_result_that_does_not_parse_is_a_bad_result_of_that_plugin() {
    #[derive(Debug)]
    struct Garbage;
    impl PluginExec for Garbage {
        fn exec(&self, _: &PluginCall<'_>, _: Duration) -> Result<PluginOutput, ExecFailure> {
            Ok(PluginOutput {
                success: true,
                stdout: b"{\"ips\":1}".to_vec(),
                stderr: Vec::new(),
            })
        }
    }
    let s = setup();
    let cni = Cni {
        bin_dirs: s.cni.bin_dirs.clone(),
        cache: s.cni.cache.clone(),
        timeout: DEFAULT_TIMEOUT,
        path: String::new(),
        exec: Garbage,
    };
    let e = cni
        .add(&s.net, &attachment(s.state.path()))
        .expect_err("bad");
    assert!(
        e.to_string()
            .starts_with("CNI plugin bridge gave a result for ADD that minipod cannot use"),
        "{e}"
    );
}
