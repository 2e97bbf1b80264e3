//! The registry's authentication challenge (`WWW-Authenticate` on a `401`)
//! and where its token may be fetched from.
//!
//! The distribution protocol's token auth
//! (<https://distribution.github.io/distribution/spec/auth/token/>): the
//! registry answers `GET /v2/` with
//! `WWW-Authenticate: Bearer realm="https://auth.example/token",service="registry.example"`
//! and the client asks the realm for a token, sending the user's
//! credentials. The realm is chosen by the registry, so a hostile one could
//! send those credentials anywhere: [`check_realm`] lets them go over plain
//! HTTP only between hosts the node allows plain HTTP for.

use reqwest::Url;

pub use crate::error::RealmRefused;
use crate::target::plain_http_allowed;

/// How the registry wants requests authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// Credentials on every request (`Authorization: Basic`).
    Basic,
    /// A token from `realm`, for `service`.
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// The challenge in a `WWW-Authenticate` value, `None` for a scheme the
/// registry protocol does not use. Parameters are `key=value` or
/// `key="quoted, value"` (RFC 9110, section 11.6.1).
pub fn parse(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let params = parameters(rest);
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
    };
    Some(Challenge::Bearer {
        realm: get("realm")?,
        service: get("service"),
    })
}

/// `a="x, y",b=z` → `[(a, "x, y"), (b, z)]`.
fn parameters(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ',' || c.is_whitespace()).is_some() {}
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        if key.is_empty() || chars.next() != Some('=') {
            return out;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect();
        }
        out.push((key.trim().to_owned(), value.trim().to_owned()));
    }
}

/// The realm as a URL the client may send credentials to, or why not:
/// `https`, or plain `http` when both the registry and the realm's host may
/// be reached over plain HTTP (loopback, or the node's insecure
/// registries). A realm on another host is another party: the registry's
/// own permission does not extend to it.
pub fn check_realm(
    realm: &str,
    registry_plain_http: bool,
    insecure: &[String],
) -> Result<Url, RealmRefused> {
    let url = Url::parse(realm).map_err(RealmRefused::NotUrl)?;
    let host = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => return Err(RealmRefused::NoHost),
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if !registry_plain_http => Err(RealmRefused::PlainHttpFromHttps),
        "http" if !plain_http_allowed(&host, insecure) => {
            Err(RealmRefused::PlainHttpNotAllowed { host })
        }
        "http" => Ok(url),
        other => Err(RealmRefused::Scheme {
            scheme: other.to_owned(),
        }),
    }
}

/// The realm's `scheme://host[:port]` for messages (never its query).
pub fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_as_registries_send_them() {
        assert_eq!(
            parse(r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io""#),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
            })
        );
        assert_eq!(
            parse(r#"bearer service="a, \"b\"" , realm=http://127.0.0.1:1/t"#),
            Some(Challenge::Bearer {
                realm: "http://127.0.0.1:1/t".into(),
                service: Some(r#"a, "b""#.into()),
            })
        );
        assert_eq!(parse(r#"Basic realm="Registry""#), Some(Challenge::Basic));
        assert_eq!(parse(r#"Bearer service="x""#), None, "a realm is required");
        assert_eq!(parse("Negotiate abc"), None);
    }

    #[test]
    fn a_realm_is_https_unless_both_ends_may_speak_plain_http() {
        let none: &[String] = &[];
        assert!(check_realm("https://auth.example/token", false, none).is_ok());
        assert!(check_realm("https://auth.example/token", true, none).is_ok());
        // An https registry never sends its users to plain http.
        let e = check_realm("http://127.0.0.1:9/token", false, none).unwrap_err();
        assert!(e.to_string().contains("unencrypted"), "{e}");
        // A loopback registry, a loopback realm: allowed.
        assert!(check_realm("http://127.0.0.1:9/token", true, none).is_ok());
        assert!(check_realm("http://localhost/token", true, none).is_ok());
        // A loopback registry, a realm elsewhere: that host is not allowed.
        let e = check_realm("http://0.0.0.0:9/token", true, none).unwrap_err();
        assert!(e.to_string().contains("0.0.0.0:9"), "{e}");
        assert!(check_realm("http://auth.example/token", true, none).is_err());
        // ... unless the node names it.
        let insecure = ["auth.example".to_owned()];
        assert!(check_realm("http://auth.example/token", true, &insecure).is_ok());
        assert!(check_realm("file:///etc/passwd", true, none).is_err());
        assert!(check_realm("not a url", true, none).is_err());
        let url = check_realm("https://u:p@auth.example:8443/t?x=1", false, none).unwrap();
        assert_eq!(origin(&url), "https://auth.example:8443");
    }
}
