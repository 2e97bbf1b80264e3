//! The pod's `/etc/resolv.conf` and `/etc/hosts` as a container reads them,
//! decided as the kubelet decides them (`minipod_plan::dns`,
//! `minipod_plan::sandbox_files`; `docs/kubernetes-semantics.md` §10), and a
//! node resolver file the kubelet would refuse failing the pod with nothing
//! left behind.
//!
//! Run as root, on the host's cgroup version by `cargo test`, and on cgroup
//! v2 by `scripts/vm-test`.

use std::fs;
use std::io::Read;

use minipod_linux::container::ExitStatus;
use minipod_runtime_tests::{TestNode, root_or_skip, serial};

const INIT: &str = env!("CARGO_BIN_EXE_minipod-test-init");

/// A node file with what a real one has: comments, two servers, a search
/// line with a trailing dot, options.
const NODE_RESOLV: &str = "# from the host\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch example.test lab.test.\noptions ndots:2 edns0\n";

/// Runs the pod's only container, `cat`, to its end and returns its output.
fn cat_in_pod(node: &TestNode, yaml: &str) -> String {
    let mut pod = node.create(yaml).expect("create the pod");
    let started = node.start(&mut pod, "cat");
    let status = started.container.wait().expect("wait");
    let mut out = String::new();
    fs::File::from(started.stdout)
        .read_to_string(&mut out)
        .expect("read");
    assert_eq!(status, ExitStatus::Exited(0), "{out}");
    node.runtime.remove_pod(pod).expect("remove the pod");
    out
}

#[test]
fn dns_policies_and_the_hosts_file_are_the_kubelets_inside_the_container() {
    if !root_or_skip("dns_policies_and_the_hosts_file_are_the_kubelets_inside_the_container") {
        return;
    }
    let _serial = serial();
    let node = TestNode::with(INIT, NODE_RESOLV, None);
    let pod = |spec: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: files, namespace: lab}}\nspec:\n{spec}  containers:\n  - {{name: cat, image: busybox, imagePullPolicy: Never, command: [cat, /etc/resolv.conf, /etc/hosts]}}\n"
        )
    };
    let hosts = "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n";

    // ClusterFirst (the default) on a node without cluster DNS: the node's.
    assert_eq!(
        cat_in_pod(&node, &pod("")),
        format!(
            "search example.test lab.test\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions ndots:2 edns0\n{hosts}127.0.0.1\tfiles\n"
        )
    );
    // Default with dnsConfig merged in, its options winning; a subdomain
    // and host aliases in /etc/hosts.
    assert_eq!(
        cat_in_pod(
            &node,
            &pod(
                "  dnsPolicy: Default\n  dnsConfig: {nameservers: [192.0.2.53, 198.51.100.1], searches: [svc.test], options: [{name: ndots, value: '5'}, {name: rotate}]}\n  hostname: web\n  subdomain: shop\n  hostAliases: [{ip: 203.0.113.9, hostnames: [db, db.test]}]\n"
            )
        ),
        format!(
            "search example.test lab.test svc.test\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nnameserver 198.51.100.1\noptions ndots:5 edns0 rotate\n{hosts}127.0.0.1\tweb.shop.lab.svc.\tweb\n\n# Entries added by HostAliases.\n203.0.113.9\tdb\tdb.test\n"
        )
    );
    // None: dnsConfig only.
    assert_eq!(
        cat_in_pod(
            &node,
            &pod("  dnsPolicy: None\n  dnsConfig: {nameservers: [198.51.100.1]}\n")
        ),
        format!("nameserver 198.51.100.1\n{hosts}127.0.0.1\tfiles\n")
    );
    node.finish();
}

#[test]
fn a_node_resolver_file_the_kubelet_refuses_fails_the_pod_with_nothing_left() {
    if !root_or_skip("a_node_resolver_file_the_kubelet_refuses_fails_the_pod_with_nothing_left") {
        return;
    }
    let _serial = serial();
    let node = TestNode::with(INIT, "nameserver 192.0.2.53\nnameserver\n", None);
    let err = node
        .create(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: files}\nspec:\n  containers: [{name: cat, image: busybox, imagePullPolicy: Never}]\n",
        )
        .expect_err("a pod on a broken resolver file");
    assert_eq!(
        minipod_spec::error_chain(&err),
        "pod DNS configuration: the node's resolver file: line 2: nameserver list is empty"
    );
    // No directory, mount, cgroup or descriptor of the pod is left.
    node.finish();
}
