//! The pod's and the node's addresses in the status (§4.8).

use std::net::IpAddr;

use minipod_plan::addresses::PodAddresses;

use super::*;
use crate::status::PodIp;

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|s| s.parse().expect("ip")).collect()
}

fn entries(list: &[&str]) -> Vec<PodIp> {
    list.iter().map(|ip| PodIp { ip: (*ip).into() }).collect()
}

#[test]
fn the_addresses_show_from_the_sandbox_to_the_pods_end() {
    let mut sim =
        Sim::without_sandbox("{restartPolicy: Never, containers: [{name: app, image: b:1}]}");
    assert_eq!(sim.machine.status().pod_ip, None, "no sandbox network yet");
    assert!(sim.machine.status().host_ips.is_empty());

    sim.feed(Input::SandboxCreated {
        addresses: PodAddresses::new(
            &ips(&["192.0.2.2", "2001:db8::2"]),
            &ips(&["fd00::5", "10.88.0.5"]),
        ),
    });
    let status = sim.machine.status();
    assert_eq!(status.host_ip.as_deref(), Some("192.0.2.2"));
    assert_eq!(status.host_ips, entries(&["192.0.2.2", "2001:db8::2"]));
    assert_eq!(
        status.pod_ip.as_deref(),
        Some("10.88.0.5"),
        "the node's family first"
    );
    assert_eq!(status.pod_ips, entries(&["10.88.0.5", "fd00::5"]));
    assert_eq!(
        sim.columns().1,
        "ContainerCreating",
        "set before any container runs"
    );

    sim.start_all(&["app"]);
    sim.exited("app", 0);
    assert_eq!(sim.finished(), Some(PodPhase::Succeeded));
    let status = sim.machine.status();
    assert_eq!(
        status.pod_ip.as_deref(),
        Some("10.88.0.5"),
        "kept when the pod ends"
    );
    assert_eq!(status.host_ip.as_deref(), Some("192.0.2.2"));
}

#[test]
fn a_sandbox_without_addresses_leaves_pod_ip_unset() {
    let mut sim = Sim::without_sandbox("{containers: [{name: app, image: b:1}]}");
    sim.feed(Input::SandboxCreated {
        addresses: PodAddresses::new(&ips(&["192.0.2.2"]), &[]),
    });
    let status = sim.machine.status();
    assert_eq!(status.pod_ip, None);
    assert!(status.pod_ips.is_empty());
    assert_eq!(status.host_ip.as_deref(), Some("192.0.2.2"));
    let json = serde_json::to_value(status).expect("json");
    assert!(json.get("podIP").is_none(), "{json}");
    assert!(json.get("podIPs").is_none(), "{json}");
}

#[test]
fn the_nodes_addresses_show_while_the_sandbox_is_missing() {
    let mut sim = Sim::without_sandbox("{containers: [{name: app, image: b:1}]}");
    sim.machine
        .set_addresses(&PodAddresses::new(&ips(&["192.0.2.2"]), &[]));
    sim.feed(Input::SandboxFailed {
        reason: SandboxFailure::CreatePodSandbox,
        error: "boom".into(),
    });
    sim.wait(0.1);
    let status = sim.machine.status();
    assert_eq!(status.host_ip.as_deref(), Some("192.0.2.2"));
    assert_eq!(status.pod_ip, None);
}
