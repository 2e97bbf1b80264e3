//! The `httpGet` check: a GET to the pod, from the node (or from inside a
//! pod without a network: [`super::target`]), redirects on the same host
//! followed (`pkg/probe/http` of the kubelet).

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use minipod_spec::enums::UriScheme;

use super::dial::{connect, remaining, resolve};
use super::error::ProbeError;
use super::network::in_network;
use super::response::{parse_response, response_complete};
use super::target::dial_target;
use crate::pod::RunningPod;

/// The kubelet's user agent for probes: `kube-probe/<major>.<minor>` of the
/// Kubernetes version whose semantics minipod follows.
pub const USER_AGENT: &str = "kube-probe/1.33";
/// Redirects followed before giving up (Go's client default, the kubelet's).
pub const MAX_REDIRECTS: usize = 10;

/// An `httpGet` action, its port resolved to a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpGetRequest {
    /// `httpGet.host`; the pod's IP when absent ([`super::target`]).
    pub host: Option<String>,
    pub port: u16,
    /// `httpGet.path` (with its query, if any); `/` when empty.
    pub path: String,
    /// `httpGet.scheme`: only `HTTP` is supported.
    pub scheme: UriScheme,
    /// `httpGet.httpHeaders`, in order (a name may repeat).
    pub headers: Vec<(String, String)>,
}

/// The response the check ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOutcome {
    pub status: u16,
    /// The first [`MAX_BODY`](crate::probe::MAX_BODY) bytes of the body.
    pub body: Vec<u8>,
    /// A redirect to another host that was not followed: its `Location`.
    /// The kubelet calls this a warning and counts it as success.
    pub redirect_not_followed: Option<String>,
}

impl HttpOutcome {
    /// The kubelet's rule: 200 ≤ status < 400.
    pub fn is_success(&self) -> bool {
        (200..400).contains(&self.status)
    }

    /// The kubelet's message for a failed check.
    pub fn failure_message(&self) -> String {
        format!("HTTP probe failed with statuscode: {}", self.status)
    }
}

/// `httpGet`: a GET to `request`, made where
/// [`dial_target`](super::target::dial_target) says, redirects on the same
/// host followed, all within `timeout`. Returns the
/// final response whatever its status (see [`HttpOutcome::is_success`]);
/// an error when no response came (refused, timeout, malformed).
pub fn http_get(
    running: &RunningPod,
    request: &HttpGetRequest,
    timeout: Duration,
) -> Result<HttpOutcome, ProbeError> {
    if request.scheme != UriScheme::Http {
        return Err(ProbeError::HttpsUnsupported);
    }
    let deadline = Instant::now() + timeout;
    let dial = dial_target(
        request.host.as_deref(),
        running.pod_ips(),
        running.pod().uses_host_network(),
    );
    // Names are resolved by the node, as the kubelet does (the pod's own
    // network has no resolver).
    let first = Target {
        host: dial.host,
        port: request.port,
        path: normalize_path(&request.path),
    };
    let headers = request_headers(&request.headers);
    let mut addrs = resolve(&first.host, first.port)?;
    let mut target = first;
    let mut redirects = 0;
    loop {
        let text = request_text(&target, &headers);
        let raw = in_network(running, dial.from, {
            let addrs = addrs.clone();
            move || exchange(&addrs, &text, deadline)
        })?;
        let response = parse_response(&raw)?;
        let location = match response.status {
            301 | 302 | 303 | 307 | 308 => response.header("location").map(str::to_owned),
            _ => None,
        };
        let Some(location) = location else {
            return Ok(HttpOutcome {
                status: response.status,
                body: response.body,
                redirect_not_followed: None,
            });
        };
        match resolve_location(&target, &location) {
            Redirect::SameHost(next) => {
                redirects += 1;
                if redirects > MAX_REDIRECTS {
                    return Err(ProbeError::TooManyRedirects(MAX_REDIRECTS));
                }
                addrs = resolve(&next.host, next.port)?;
                target = next;
            }
            Redirect::Https => return Err(ProbeError::HttpsUnsupported),
            Redirect::OtherHost => {
                return Ok(HttpOutcome {
                    status: response.status,
                    body: response.body,
                    redirect_not_followed: Some(location),
                });
            }
        }
    }
}

/// Sends `request` and reads the response until the server closes, the
/// body is complete, or enough was read.
fn exchange(addrs: &[SocketAddr], request: &str, deadline: Instant) -> Result<Vec<u8>, ProbeError> {
    let mut stream = connect(addrs, deadline)?;
    let io = |e: std::io::Error| {
        if matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            ProbeError::AwaitingHeaders
        } else {
            ProbeError::Exchange(e)
        }
    };
    stream
        .set_write_timeout(Some(remaining(deadline)?))
        .map_err(io)?;
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    while !response_complete(&raw)? {
        stream
            .set_read_timeout(Some(remaining(deadline)?))
            .map_err(io)?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    Ok(raw)
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    host: String,
    port: u16,
    path: String,
}

fn normalize_path(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

/// The probe's headers with the kubelet's defaults: `User-Agent` and
/// `Accept: */*` added unless given; an empty `Accept` removed.
fn request_headers(given: &[(String, String)]) -> Vec<(String, String)> {
    let has = |name: &str| given.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let mut headers: Vec<(String, String)> = given
        .iter()
        .filter(|(n, v)| !(n.eq_ignore_ascii_case("accept") && v.is_empty()))
        .cloned()
        .collect();
    if !has("user-agent") {
        headers.push(("User-Agent".into(), USER_AGENT.into()));
    }
    if !has("accept") {
        headers.push(("Accept".into(), "*/*".into()));
    }
    headers
}

/// The request's bytes. `Host` is the target's `host:port` unless the
/// probe's headers set it (as the kubelet sets `req.Host` from them).
fn request_text(target: &Target, headers: &[(String, String)]) -> String {
    let mut text = format!("GET {} HTTP/1.1\r\n", target.path);
    let host_header = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| {
            if target.host.contains(':') && !target.host.starts_with('[') {
                format!("[{}]:{}", target.host, target.port)
            } else {
                format!("{}:{}", target.host, target.port)
            }
        });
    text.push_str(&format!("Host: {host_header}\r\n"));
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("host") || name.eq_ignore_ascii_case("connection") {
            continue;
        }
        // A header may not break the request: no line breaks in it.
        let clean = |s: &str| s.replace(['\r', '\n'], " ");
        text.push_str(&format!("{}: {}\r\n", clean(name), clean(value)));
    }
    text.push_str("Connection: close\r\n\r\n");
    text
}

enum Redirect {
    SameHost(Target),
    OtherHost,
    Https,
}

/// Where a `Location` leads from `current`: the same host (followed, as
/// the kubelet's redirect check compares host names only), another host
/// (not followed), or HTTPS on the same host (unsupported).
fn resolve_location(current: &Target, location: &str) -> Redirect {
    let location = location.trim();
    let (scheme, rest) = match location.split_once("://") {
        Some((scheme, rest)) if !scheme.contains('/') => (Some(scheme.to_ascii_lowercase()), rest),
        _ => (None, location),
    };
    let authority_and_path = match (&scheme, rest.strip_prefix("//")) {
        (None, Some(rest)) => Some(rest), // scheme-relative: //host/path
        (Some(_), _) => Some(rest),
        (None, None) => None,
    };
    let Some(authority_and_path) = authority_and_path else {
        // A path on the same host: absolute, or relative to the current one.
        let path = if location.starts_with('/') {
            location.to_owned()
        } else {
            let base = current
                .path
                .split(['?', '#'])
                .next()
                .unwrap_or("/")
                .rsplit_once('/')
                .map_or("", |(dir, _)| dir);
            format!("{base}/{location}")
        };
        return Redirect::SameHost(Target {
            path,
            ..current.clone()
        });
    };
    let (authority, path) = match authority_and_path.find(['/', '?', '#']) {
        Some(i) => (&authority_and_path[..i], &authority_and_path[i..]),
        None => (authority_and_path, "/"),
    };
    let (host, port) = split_host_port(authority);
    let same_host =
        host.eq_ignore_ascii_case(current.host.trim_start_matches('[').trim_end_matches(']'));
    if !same_host {
        return Redirect::OtherHost;
    }
    let https = scheme.as_deref() == Some("https");
    if https {
        return Redirect::Https;
    }
    Redirect::SameHost(Target {
        host: current.host.clone(),
        port: port.unwrap_or(80),
        path: normalize_path(path),
    })
}

/// `host[:port]` or `[v6]:port`; a port that does not parse is left in
/// the host (and then never matches).
fn split_host_port(authority: &str) -> (&str, Option<u16>) {
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']').unwrap_or((rest, ""));
        return (host, after.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (authority, None),
        },
        None => (authority, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_without_a_length_runs_to_the_close_and_an_http_1_0_status_parses() {
        let response = parse_response(b"HTTP/1.0 404 Not Found\r\n\r\n<h1>404</h1>").unwrap();
        assert_eq!(response.status, 404);
        assert_eq!(response.body, b"<h1>404</h1>");
        let outcome = HttpOutcome {
            status: response.status,
            body: response.body,
            redirect_not_followed: None,
        };
        assert!(!outcome.is_success());
        assert_eq!(
            outcome.failure_message(),
            "HTTP probe failed with statuscode: 404"
        );
    }

    #[test]
    fn the_status_decides_success_as_the_kubelet_does() {
        let outcome = |status| HttpOutcome {
            status,
            body: vec![],
            redirect_not_followed: None,
        };
        assert!(outcome(200).is_success());
        assert!(outcome(302).is_success());
        assert!(outcome(399).is_success());
        assert!(!outcome(199).is_success());
        assert!(!outcome(400).is_success());
        assert!(!outcome(503).is_success());
    }

    #[test]
    fn the_request_has_the_kubelets_default_headers_unless_overridden() {
        let target = Target {
            host: "127.0.0.1".into(),
            port: 8080,
            path: "/healthz?full=1".into(),
        };
        let text = request_text(&target, &request_headers(&[]));
        assert_eq!(
            text,
            "GET /healthz?full=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: kube-probe/1.33\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        let given = [
            ("Host".to_owned(), "example.test".to_owned()),
            ("user-agent".to_owned(), "mine".to_owned()),
            ("Accept".to_owned(), String::new()),
            ("X-Two".to_owned(), "a".to_owned()),
            ("X-Two".to_owned(), "b\r\nEvil: 1".to_owned()),
        ];
        let text = request_text(&target, &request_headers(&given));
        assert_eq!(
            text,
            "GET /healthz?full=1 HTTP/1.1\r\nHost: example.test\r\nuser-agent: mine\r\nX-Two: a\r\nX-Two: b  Evil: 1\r\nConnection: close\r\n\r\n"
        );
        let v6 = Target {
            host: "::1".into(),
            port: 80,
            path: "/".into(),
        };
        assert!(request_text(&v6, &[]).contains("Host: [::1]:80\r\n"));
    }

    #[test]
    fn redirects_are_followed_on_the_same_host_only() {
        let current = Target {
            host: "127.0.0.1".into(),
            port: 8080,
            path: "/a/b?x=1".into(),
        };
        let same = |location: &str| match resolve_location(&current, location) {
            Redirect::SameHost(t) => Some((t.port, t.path)),
            _ => None,
        };
        assert_eq!(same("/new"), Some((8080, "/new".into())));
        assert_eq!(same("c"), Some((8080, "/a/c".into())));
        assert_eq!(same("http://127.0.0.1:9090/x"), Some((9090, "/x".into())));
        assert_eq!(same("http://127.0.0.1"), Some((80, "/".into())));
        assert_eq!(same("//127.0.0.1:81/y?z"), Some((81, "/y?z".into())));
        assert!(matches!(
            resolve_location(&current, "http://example.test/"),
            Redirect::OtherHost
        ));
        assert!(matches!(
            resolve_location(&current, "https://127.0.0.1/"),
            Redirect::Https
        ));
        assert!(matches!(
            resolve_location(&current, "https://example.test/"),
            Redirect::OtherHost
        ));
    }

    #[test]
    fn host_and_port_split_with_ipv6_and_userinfo() {
        assert_eq!(split_host_port("a:1"), ("a", Some(1)));
        assert_eq!(split_host_port("a"), ("a", None));
        assert_eq!(split_host_port("[::1]:8080"), ("::1", Some(8080)));
        assert_eq!(split_host_port("u:p@h:2"), ("h", Some(2)));
    }
}
