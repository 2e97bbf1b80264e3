//! Pod networks with the host's real CNI plugins (Debian's
//! `containernetworking-plugins` in `/usr/lib/cni`) through `minipod-cni`:
//! the default chain's `ADD` on a network namespace the test owns, traffic
//! both ways and through a `hostPort` on 127.0.0.1, then `DEL`, and nothing
//! left behind.
//!
//! Everything the test makes is its own and is removed even when an
//! assertion fails: the namespace `minipod-test-<pid>-<n>`, a bridge
//! `mpt<pid>` (not `minipod0`), a pod CIDR from 10.203.0.0/16 that overlaps
//! no route of the host, state and IPAM under a temporary directory. The
//! plugins change two things outside those: `isGateway` turns
//! `net.ipv4.ip_forward` on host-wide (restored to its value before the
//! test), and portmap's top-level nat chains (`CNI-HOSTPORT-*` and their
//! jumps), which its `DEL` leaves by design (removed when the test's run
//! created them). All traffic stays on this machine.

#[path = "cni/scene.rs"]
mod scene;

use std::fs;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::time::Duration;

use minipod_cni::PortMapping;
use minipod_runtime_tests::{root_on_the_host_or_skip, serial, wait_until_or};
use scene::{DEADLINE, attach, detach, link_exists, nat_rules, read_reply, report, run, scene};

#[test]
fn default_chain_gives_the_pod_an_address_the_host_reaches_and_del_removes_it() {
    let test = "default_chain_gives_the_pod_an_address_the_host_reaches_and_del_removes_it";
    if !root_on_the_host_or_skip(test) {
        return;
    }
    let _serial = serial();
    let nat_before = nat_rules();
    let mut scene = scene();
    let default = scene.network();
    let net = default.config();
    let (result, add_time) = attach(&mut scene, &net, Vec::new());
    report(test, "ADD (lo + bridge/host-local/portmap)", add_time);

    // The pod's eth0 has the result's address, in the pod CIDR, with the
    // default route through the bridge; lo is up.
    let [IpAddr::V4(pod_ip)] = result.pod_ips()[..] else {
        panic!("one IPv4 pod address expected: {result:?}");
    };
    assert!(
        scene.cidr.contains(pod_ip),
        "{pod_ip} not in {}",
        scene.cidr
    );
    let gateway = scene.cidr.nth(1).expect("gateway");
    let addrs = scene.ip_n(&["-4", "-o", "addr", "show", "dev", "eth0"]);
    assert!(addrs.contains(&format!("inet {pod_ip}/24")), "{addrs}");
    let routes = scene.ip_n(&["-4", "route"]);
    assert!(
        routes.contains(&format!("default via {gateway} dev eth0")),
        "{routes}"
    );
    let lo = scene.ip_n(&["-o", "link", "show", "dev", "lo"]);
    assert!(lo.contains("UP"), "{lo}");
    // The host side: the bridge has the gateway, one veth is its port.
    let bridge_addrs = run("ip", &["-4", "-o", "addr", "show", "dev", &scene.bridge]);
    assert!(
        bridge_addrs.contains(&format!("inet {gateway}/24")),
        "{bridge_addrs}"
    );
    let veth = result
        .interfaces
        .iter()
        .find(|i| i.sandbox.is_empty() && i.name != scene.bridge)
        .expect("the host veth in the result")
        .name
        .clone();
    let ports = run("ip", &["-o", "link", "show", "master", &scene.bridge]);
    assert!(ports.contains(&veth), "{ports}");
    // host-local's reservation, under our state directory.
    let ipam_dir = default.ipam_data_dir.join(&net.name);
    assert!(
        ipam_dir.join(pod_ip.to_string()).is_file(),
        "no reservation in {}",
        ipam_dir.display()
    );
    assert_eq!(scene.cni().cache.list().expect("cache").len(), 2);

    // Host -> pod: a TCP server in the pod answers at the pod IP.
    let mut server = scene.listen_in_pod(8080, "hello-from-pod");
    let reply = wait_until_or("the pod's server answers at the pod IP", DEADLINE, || {
        read_reply(SocketAddr::new(pod_ip.into(), 8080))
    });
    assert_eq!(reply, "hello-from-pod\n");
    let _ = server.kill();
    let _ = server.wait();

    // Pod -> host: the pod reaches a server of the test on the gateway.
    let listener = TcpListener::bind((gateway, 0)).expect("listen on the bridge address");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let mut client = Command::new("ip")
        .args(["netns", "exec", &scene.netns, "busybox", "sh", "-c"])
        .arg(format!(
            "echo hello-from-pod-side | busybox nc -w 5 {gateway} {port}"
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start busybox nc client");
    let (mut conn, from) = wait_until_or("the pod connects to the host", DEADLINE, || {
        listener.accept()
    });
    assert_eq!(
        from.ip(),
        IpAddr::V4(pod_ip),
        "the pod's own address, not NATed to the bridge"
    );
    conn.set_nonblocking(false).expect("blocking");
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut line = [0u8; 64];
    let n = conn.read(&mut line).expect("read");
    assert_eq!(&line[..n], b"hello-from-pod-side\n");
    drop(conn);
    let _ = client.kill();
    let _ = client.wait();

    let del_time = detach(&scene, &net, Vec::new());
    report(test, "DEL (bridge/host-local/portmap + lo)", del_time);

    // Nothing of the pod is left: no veth, no reservation, no cache entry,
    // no nat rule (bridge's ipMasq chain is gone with it).
    assert!(!link_exists(&veth), "{veth} is left");
    let ports = run("ip", &["-o", "link", "show", "master", &scene.bridge]);
    assert!(ports.trim().is_empty(), "bridge ports left: {ports}");
    assert!(ipam_dir.is_dir());
    let left = reservations(&ipam_dir);
    assert!(left.is_empty(), "host-local reservations left: {left:?}");
    assert!(scene.cni().cache.list().expect("cache").is_empty());
    assert_eq!(nat_rules(), nat_before, "nat rules changed");
    // A second DEL (nothing cached, say after a crash between DEL and the
    // cache's removal) is not an error.
    detach(&scene, &net, Vec::new());
    drop(scene);
    assert_eq!(nat_rules(), nat_before);
}

#[test]
fn a_host_port_on_loopback_reaches_the_pod_through_portmap() {
    let test = "a_host_port_on_loopback_reaches_the_pod_through_portmap";
    if !root_on_the_host_or_skip(test) {
        return;
    }
    let _serial = serial();
    let nat_before = nat_rules();
    let mut scene = scene();
    let net = scene.network().config();
    // A free port on the host for the hostPort.
    let host_port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let ports = vec![PortMapping {
        host_port,
        container_port: 8080,
        protocol: "tcp".to_owned(),
        host_ip: Some("127.0.0.1".to_owned()),
    }];
    let (_, add_time) = attach(&mut scene, &net, ports.clone());
    report(test, "ADD with a hostPort", add_time);
    let dnat = run("iptables", &["-t", "nat", "-S"]);
    assert!(
        dnat.contains(&format!("--dport {host_port} -j DNAT")),
        "no DNAT for {host_port}:\n{dnat}"
    );
    let mut server = scene.listen_in_pod(8080, "hello-through-hostport");
    let reply = wait_until_or("the pod answers on 127.0.0.1:hostPort", DEADLINE, || {
        read_reply(SocketAddr::from(([127, 0, 0, 1], host_port)))
    });
    assert_eq!(reply, "hello-through-hostport\n");
    let _ = server.kill();
    let _ = server.wait();

    let del_time = detach(&scene, &net, ports);
    report(test, "DEL with a hostPort", del_time);
    let after = run("iptables", &["-t", "nat", "-S"]);
    assert!(
        !after.contains(&format!("--dport {host_port}")),
        "the DNAT is left:\n{after}"
    );
    // What portmap leaves by design: its top-level chains and their jumps.
    let left: Vec<String> = nat_rules()
        .into_iter()
        .filter(|l| !nat_before.contains(l))
        .collect();
    assert!(
        left.iter().all(|l| l.contains("CNI-HOSTPORT-")),
        "more than portmap's top-level chains left: {left:#?}"
    );
    let _ = writeln!(
        std::io::stderr(),
        "{test}: left by portmap's DEL (removed by the test): {left:#?}"
    );
    drop(scene);
    assert_eq!(
        nat_rules(),
        nat_before,
        "the test's clean-up did not restore the nat table"
    );
}

/// The host-local reservations in `dir` (its `lock` and
/// `last_reserved_ip.*` files are its allocator's state, not reservations).
fn reservations(dir: &std::path::Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .filter(|n| n != "lock" && !n.starts_with("last_reserved_ip"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_failing_plugin_is_named_and_its_add_rolled_back() {
    let test = "a_failing_plugin_is_named_and_its_add_rolled_back";
    if !root_on_the_host_or_skip(test) {
        return;
    }
    let _serial = serial();
    let nat_before = nat_rules();
    let mut scene = scene();
    let default = scene.network();
    // bridge, then a plugin that fails ADD with a CNI error (and succeeds
    // DEL, as the specification asks of DEL), then portmap.
    let bin = tempfile::tempdir().expect("tempdir");
    let failing = bin.path().join("fail-test");
    fs::write(
        &failing,
        "#!/bin/sh\ncat >/dev/null\n[ \"$CNI_COMMAND\" = ADD ] || exit 0\n\
         echo '{\"cniVersion\":\"1.0.0\",\"code\":100,\"msg\":\"refused by the test\",\"details\":\"on purpose\"}'\n\
         echo 'the test plugin says no' >&2\nexit 1\n",
    )
    .expect("write the plugin");
    fs::set_permissions(
        &failing,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let mut net = default.config();
    let conf = serde_json::json!({"type": "fail-test"});
    net.plugins.insert(
        1,
        minipod_cni::PluginConfig {
            plugin_type: "fail-test".to_owned(),
            conf: conf.as_object().expect("object").clone(),
        },
    );
    let mut bin_dirs = vec![bin.path().to_owned()];
    bin_dirs.extend(scene::BIN_DIRS.iter().map(std::path::PathBuf::from));
    let cni = minipod_cni::Cni::new(bin_dirs, scene.state.path(), minipod_cni::CommandExec);
    let eth0 = scene.attachment("eth0", Vec::new());
    let (guard_cni, guard_net, guard_att) = (cni.clone(), net.clone(), eth0.clone());
    scene.cleanup.push("DEL", move || {
        let _ = guard_cni.del(&guard_net, &guard_att);
    });

    let err = cni.add(&net, &eth0).expect_err("the chain fails");
    assert_eq!(
        err.to_string(),
        "CNI plugin fail-test failed ADD: refused by the test (code 100); on purpose; \
         stderr: the test plugin says no"
    );
    // bridge's work was undone: no veth on the bridge, no address, no nat
    // rule, nothing cached.
    let ports = run("ip", &["-o", "link", "show", "master", &scene.bridge]);
    assert!(ports.trim().is_empty(), "a veth is left: {ports}");
    let left = reservations(&default.ipam_data_dir.join(&net.name));
    assert!(left.is_empty(), "host-local reservations left: {left:?}");
    assert!(cni.cache.list().expect("cache").is_empty());
    assert_eq!(nat_rules(), nat_before);
    drop(scene);
}

/// ADD, then a teardown as the daemon will do it for a pod whose monitor
/// died: a fresh runtime lists the cache and deletes each attachment with
/// its cached configuration. With `lose_netns`, the namespace is deleted
/// first; the chain then runs without bridge's `ipMasq`, whose rule Debian's
/// bridge 1.1.1 cannot remove without the namespace
/// (containernetworking/plugins#810): minipod must run DEL before it unpins
/// a pod's namespace.
fn torn_down_from_the_cache(test: &str, lose_netns: bool) {
    if !root_on_the_host_or_skip(test) {
        return;
    }
    let _serial = serial();
    let nat_before = nat_rules();
    let mut scene = scene();
    let default = scene.network();
    let mut net = default.config();
    if lose_netns {
        net.plugins[0]
            .conf
            .insert("ipMasq".to_owned(), false.into());
    }
    let (result, _) = attach(&mut scene, &net, Vec::new());
    let [IpAddr::V4(pod_ip)] = result.pod_ips()[..] else {
        panic!("one IPv4 pod address expected: {result:?}");
    };
    let ipam_dir = default.ipam_data_dir.join(&net.name);
    assert_eq!(reservations(&ipam_dir), vec![pod_ip.to_string()]);
    if lose_netns {
        // The veth dies with the namespace; the address stays reserved.
        run("ip", &["netns", "del", &scene.netns]);
    }

    let cni = scene.cni();
    let cached: Vec<_> = cni
        .cache
        .list()
        .expect("list")
        .into_iter()
        .map(|c| c.expect("a readable cache entry"))
        .collect();
    let mut names: Vec<(&str, &str)> = cached
        .iter()
        .map(|c| (c.network.name.as_str(), c.attachment.if_name.as_str()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [("minipod-loopback", "lo"), (net.name.as_str(), "eth0")]
    );
    let start = std::time::Instant::now();
    for c in &cached {
        cni.del(&c.network, &c.attachment)
            .unwrap_or_else(|e| panic!("DEL of {}: {e}", c.path.display()));
    }
    report(test, "DEL from the cache", start.elapsed());
    assert!(reservations(&ipam_dir).is_empty());
    assert!(cni.cache.list().expect("list").is_empty());
    assert_eq!(nat_rules(), nat_before, "a nat rule is left");
    let ports = run("ip", &["-o", "link", "show", "master", &scene.bridge]);
    assert!(ports.trim().is_empty(), "{ports}");
    drop(scene);
}

#[test]
fn a_pod_whose_monitor_died_is_torn_down_from_the_cache() {
    torn_down_from_the_cache(
        "a_pod_whose_monitor_died_is_torn_down_from_the_cache",
        false,
    );
}

#[test]
fn a_pod_whose_namespace_is_gone_gives_its_address_back() {
    torn_down_from_the_cache("a_pod_whose_namespace_is_gone_gives_its_address_back", true);
}
