//! The host's UTS names (uts_namespaces(7)): the name the node takes when
//! none is configured, as the kubelet defaults `--hostname-override`.

/// This host's name, as gethostname(2) reports it in this process's UTS
/// namespace; `None` when it cannot be read or is not UTF-8.
pub fn host_name() -> Option<String> {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_host_has_a_name() {
        assert!(super::host_name().is_some_and(|name| !name.is_empty()));
    }
}
