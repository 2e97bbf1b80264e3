//! The host's interface addresses (getifaddrs(3)): where the node's own
//! address is found when none is configured, as the kubelet takes the
//! address of the default route's interface.

use std::net::IpAddr;

/// One address of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceAddress {
    /// The interface's name (`eth0`).
    pub interface: String,
    pub address: IpAddr,
}

/// The host's interfaces cannot be listed.
#[derive(Debug, thiserror::Error)]
#[error("listing the host's interface addresses")]
pub struct InterfacesError(#[source] pub std::io::Error);

/// Every IPv4 and IPv6 address of this network namespace's interfaces, in
/// the kernel's order.
pub fn interface_addresses() -> Result<Vec<InterfaceAddress>, InterfacesError> {
    let all = nix::ifaddrs::getifaddrs().map_err(|e| InterfacesError(e.into()))?;
    Ok(all
        .filter_map(|entry| {
            let storage = entry.address?;
            let address = if let Some(v4) = storage.as_sockaddr_in() {
                IpAddr::V4(v4.ip())
            } else {
                IpAddr::V6(storage.as_sockaddr_in6()?.ip())
            };
            Some(InterfaceAddress {
                interface: entry.interface_name,
                address,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_has_its_address() {
        let addresses = super::interface_addresses().expect("getifaddrs");
        assert!(
            addresses
                .iter()
                .any(|a| a.interface == "lo" && a.address == std::net::Ipv4Addr::LOCALHOST),
            "{addresses:?}"
        );
    }
}
