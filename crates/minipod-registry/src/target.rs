//! Where an image name is pulled from, and over what.

use std::net::IpAddr;

use minipod_image::ImageName;
use oci_spec::distribution::Reference;

use crate::error::PullError;

/// A parsed image name, ready for the registry.
#[derive(Debug, Clone)]
pub struct Target {
    /// The normalised name (`docker.io/library/busybox:1.36`), as stored.
    pub name: ImageName,
    /// The same as the distribution client's reference.
    pub reference: Reference,
    /// The registry as named (`docker.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// The repository path in it (`library/busybox`).
    pub repository: String,
    /// Speak plain HTTP to it (a loopback registry, or one the node allows).
    pub plain_http: bool,
}

/// The target of `image`. `insecure` lists the registries (`host[:port]`)
/// that the node's configuration allows over plain HTTP, besides loopback.
pub fn target(image: &str, insecure: &[String]) -> Result<Target, PullError> {
    let name = ImageName::parse(image)?;
    let registry = name.domain().to_owned();
    let repository = name.path().to_owned();
    let reference = match (name.digest(), name.tag()) {
        (Some(digest), Some(tag)) => Reference::with_tag_and_digest(
            registry.clone(),
            repository.clone(),
            tag.to_owned(),
            digest.to_string(),
        ),
        (Some(digest), None) => {
            Reference::with_digest(registry.clone(), repository.clone(), digest.to_string())
        }
        (None, tag) => Reference::with_tag(
            registry.clone(),
            repository.clone(),
            tag.unwrap_or("latest").to_owned(),
        ),
    };
    let plain_http = plain_http_allowed(&registry, insecure);
    Ok(Target {
        name,
        reference,
        registry,
        repository,
        plain_http,
    })
}

/// Whether `host[:port]` may be spoken to over plain HTTP: loopback, or
/// one of the node's insecure registries (`insecure`).
pub fn plain_http_allowed(host: &str, insecure: &[String]) -> bool {
    is_loopback(host) || insecure.iter().any(|r| r == host)
}

/// Whether `registry` (`host[:port]`) is on this machine's loopback:
/// `localhost`, 127.0.0.0/8 or `::1` (`[::1]:5000`), which Docker treats as
/// insecure by default (plain HTTP allowed).
pub fn is_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        // `[::1]:5000`
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => registry.rsplit_once(':').map_or(registry, |(host, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                host
            } else {
                registry
            }
        }),
    };
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_as_docker_and_the_kubelet_resolve_them() {
        let t = target("busybox", &[]).unwrap();
        assert_eq!(t.name.to_string(), "docker.io/library/busybox:latest");
        assert_eq!(
            (t.registry.as_str(), t.repository.as_str()),
            ("docker.io", "library/busybox")
        );
        assert_eq!(t.reference.tag(), Some("latest"));
        // Docker Hub's API lives on another host than its name.
        assert_eq!(t.reference.resolve_registry(), "index.docker.io");
        assert!(!t.plain_http);

        let t = target("127.0.0.1:5000/team/app:1.4", &[]).unwrap();
        assert_eq!(t.registry, "127.0.0.1:5000");
        assert_eq!(t.repository, "team/app");
        assert_eq!(t.reference.tag(), Some("1.4"));
        assert!(t.plain_http, "loopback: plain HTTP");

        let digest = format!("sha256:{}", "a".repeat(64));
        let t = target(&format!("registry.example:443/app@{digest}"), &[]).unwrap();
        assert_eq!(t.reference.digest(), Some(digest.as_str()));
        assert!(!t.plain_http);

        let allowed = ["registry.example:5000".to_owned()];
        assert!(
            target("registry.example:5000/app", &allowed)
                .unwrap()
                .plain_http
        );
        assert!(
            !target("registry.example:5001/app", &allowed)
                .unwrap()
                .plain_http
        );

        assert!(matches!(target("Busybox", &[]), Err(PullError::Name(_))));
    }

    #[test]
    fn loopback_is_localhost_127_slash_8_and_ipv6_one() {
        for yes in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.8.9.10",
            "[::1]:5000",
        ] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in [
            "docker.io",
            "10.0.0.1:5000",
            "localhost.example:5000",
            "[::2]:5000",
            "128.0.0.1",
        ] {
            assert!(!is_loopback(no), "{no}");
        }
    }
}
