//! `tcpSocket` and `httpGet` checks, made from inside the pod's network
//! namespace: for probes and `httpGet` hooks.
//!
//! A minipod pod has loopback networking only, so the kubelet's default
//! host (the pod IP) becomes `127.0.0.1`, which is only reachable from
//! inside the pod. Each check runs on a short-lived thread of its own that
//! first `setns(CLONE_NEWNET)`s into the pod's pinned network namespace:
//! that changes the namespace of this one thread only (setns(2)), and every
//! socket it creates stays in the pod's namespace. The thread ends with the
//! check, so no other thread of the monitor is ever moved.
//!
//! `httpGet` follows the kubelet (`pkg/probe/http`): a `GET` with
//! `User-Agent: kube-probe/<version>` and `Accept: */*` unless the probe's
//! headers set them (an empty `Accept` removes it), success for
//! 200 ≤ status < 400, redirects followed on the same host (at most 10), a
//! redirect to another host not followed (the kubelet's "warning" result,
//! counted as success), at most 10 KiB of the body read. The HTTP/1.1
//! client is written here (docs/decisions/0004-probe-http-client.md); there
//! is no TLS, so `HTTPS` is refused.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

use minipod_spec::enums::UriScheme;
use nix::sched::{CloneFlags, setns};

use crate::pod::RunningPod;

/// The kubelet's user agent for probes: `kube-probe/<major>.<minor>` of the
/// Kubernetes version whose semantics minipod follows.
pub const USER_AGENT: &str = "kube-probe/1.33";
/// How much of a response body is read (the kubelet's `maxRespBodyLength`).
pub const MAX_BODY: usize = 10 * 1024;
/// The largest status line and header block accepted.
pub const MAX_HEADERS: usize = 64 * 1024;
/// Redirects followed before giving up (Go's client default, the kubelet's).
pub const MAX_REDIRECTS: usize = 10;
/// The host when a probe names none: the pod's loopback (minipod pods have
/// no other address).
pub const DEFAULT_HOST: &str = "127.0.0.1";

/// The error for an `HTTPS` probe or hook.
pub const HTTPS_UNSUPPORTED: &str = "HTTPS probes are not supported by minipod";

/// An `httpGet` action, its port resolved to a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpGetRequest {
    /// `httpGet.host`; [`DEFAULT_HOST`] when absent.
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
    /// The first [`MAX_BODY`] bytes of the body.
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

/// `tcpSocket`: succeeds when a TCP connection to `host:port` (default
/// host [`DEFAULT_HOST`]) opens within `timeout`, from inside the pod's
/// network namespace. The connection is closed at once.
pub fn tcp_check(
    running: &RunningPod,
    host: Option<&str>,
    port: u16,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let host = host.filter(|h| !h.is_empty()).unwrap_or(DEFAULT_HOST);
    let addrs = resolve(host, port)?;
    in_pod_network(running, move || connect(&addrs, deadline).map(drop))
}

/// `httpGet`: a GET to `request` from inside the pod's network namespace,
/// redirects on the same host followed, all within `timeout`. Returns the
/// final response whatever its status (see [`HttpOutcome::is_success`]);
/// an error when no response came (refused, timeout, malformed).
pub fn http_get(
    running: &RunningPod,
    request: &HttpGetRequest,
    timeout: Duration,
) -> Result<HttpOutcome, String> {
    if request.scheme != UriScheme::Http {
        return Err(HTTPS_UNSUPPORTED.into());
    }
    let deadline = Instant::now() + timeout;
    let host = request
        .host
        .clone()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| DEFAULT_HOST.to_owned());
    // Names are resolved by the node, as the kubelet does (the pod's own
    // network has no resolver).
    let first = Target {
        host: host.clone(),
        port: request.port,
        path: normalize_path(&request.path),
    };
    let headers = request_headers(&request.headers);
    let mut addrs = resolve(&first.host, first.port)?;
    let mut target = first;
    let mut redirects = 0;
    loop {
        let text = request_text(&target, &headers);
        let raw = in_pod_network(running, {
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
                    return Err(format!("stopped after {MAX_REDIRECTS} redirects"));
                }
                addrs = resolve(&next.host, next.port)?;
                target = next;
            }
            Redirect::Https => return Err(HTTPS_UNSUPPORTED.into()),
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

/// Runs `f` on a new thread inside the pod's network namespace.
fn in_pod_network<T: Send>(
    running: &RunningPod,
    f: impl FnOnce() -> Result<T, String> + Send,
) -> Result<T, String> {
    let path = running
        .network_namespace_path()
        .ok_or("the pod has no network namespace")?;
    let namespace = open_namespace(path)?;
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("minipod-probe".into())
            .spawn_scoped(scope, move || {
                // This thread only: it ends with the check.
                setns(&namespace, CloneFlags::CLONE_NEWNET)
                    .map_err(|e| format!("entering the pod's network namespace: {e}"))?;
                drop(namespace);
                f()
            })
            .map_err(|e| format!("starting a probe thread: {e}"))?
            .join()
            .unwrap_or_else(|_| Err("the probe thread panicked".into()))
    })
}

fn open_namespace(path: &Path) -> Result<File, String> {
    File::open(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    // An IPv6 literal may come bracketed, as in a URL.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = (bare, port)
        .to_socket_addrs()
        .map_err(|e| format!("dial tcp: lookup {host}: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("dial tcp: lookup {host}: no such host"));
    }
    Ok(addrs)
}

fn remaining(deadline: Instant) -> Result<Duration, String> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err("timeout: the deadline was exceeded".into())
    } else {
        Ok(left)
    }
}

/// The first address that accepts, as Go's dialer tries them.
fn connect(addrs: &[SocketAddr], deadline: Instant) -> Result<TcpStream, String> {
    let mut last = String::from("no address");
    for addr in addrs {
        match TcpStream::connect_timeout(addr, remaining(deadline)?) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = format!("dial tcp {addr}: {}", go_dial_error(&e)),
        }
    }
    Err(last)
}

/// A connect error in the words of Go's net package, which the kubelet's
/// probe messages carry (`dial tcp 127.0.0.1:8080: connect: connection
/// refused`).
fn go_dial_error(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::ConnectionRefused => "connect: connection refused".into(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "i/o timeout".into(),
        _ => match error.raw_os_error() {
            Some(errno) => format!(
                "connect: {}",
                nix::errno::Errno::from_raw(errno).desc().to_lowercase()
            ),
            None => error.to_string(),
        },
    }
}

/// Sends `request` and reads the response until the server closes, the
/// body is complete, or enough was read.
fn exchange(addrs: &[SocketAddr], request: &str, deadline: Instant) -> Result<Vec<u8>, String> {
    let mut stream = connect(addrs, deadline)?;
    let io = |e: std::io::Error| {
        if matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            "timeout: the deadline was exceeded (Client.Timeout exceeded while awaiting headers)"
                .to_owned()
        } else {
            e.to_string()
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

/// A parsed response: status, headers, and the first [`MAX_BODY`] bytes of
/// the (de-chunked) body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Where the header block ends (the index just past its blank line).
fn header_end(raw: &[u8]) -> Option<usize> {
    raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// True once enough of a response was read: the body is complete by its
/// `Content-Length` or its last chunk, or [`MAX_BODY`] bytes of it are
/// there. An error when the headers grow past [`MAX_HEADERS`].
fn response_complete(raw: &[u8]) -> Result<bool, String> {
    let Some(end) = header_end(raw) else {
        return if raw.len() > MAX_HEADERS {
            Err(format!("the response headers exceed {MAX_HEADERS} bytes"))
        } else {
            Ok(false)
        };
    };
    let body = &raw[end..];
    if body.len() >= MAX_BODY + 512 {
        return Ok(true);
    }
    let head = parse_head(&raw[..end])?;
    if head.status == 204 || head.status == 304 || (100..200).contains(&head.status) {
        return Ok(true);
    }
    if is_chunked(&head.headers) {
        return Ok(body.windows(5).any(|w| w == b"0\r\n\r\n"));
    }
    match content_length(&head.headers) {
        Some(length) => Ok(body.len() >= length),
        None => Ok(false), // until the server closes
    }
}

struct Head {
    status: u16,
    headers: Vec<(String, String)>,
}

fn parse_head(head: &[u8]) -> Result<Head, String> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("malformed HTTP response {status_line:?}"));
    }
    let status = parts
        .next()
        .filter(|code| code.len() == 3)
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|code| (100..1000).contains(code))
        .ok_or_else(|| format!("malformed HTTP status code in {status_line:?}"))?;
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("malformed MIME header line: {line}"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(Head { status, headers })
}

fn is_chunked(headers: &[(String, String)]) -> bool {
    headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
    })
}

fn content_length(headers: &[(String, String)]) -> Option<usize> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
}

/// Parses the bytes of a response as read from the connection (possibly
/// cut after [`MAX_BODY`] bytes of body).
pub fn parse_response(raw: &[u8]) -> Result<Response, String> {
    if raw.is_empty() {
        return Err("EOF: the server closed the connection without a response".into());
    }
    let end = header_end(raw).ok_or_else(|| {
        if raw.len() > MAX_HEADERS {
            format!("the response headers exceed {MAX_HEADERS} bytes")
        } else {
            "unexpected EOF in the response headers".to_owned()
        }
    })?;
    let head = parse_head(&raw[..end])?;
    let raw_body = &raw[end..];
    let mut body = if is_chunked(&head.headers) {
        dechunk(raw_body)
    } else {
        match content_length(&head.headers) {
            Some(length) => raw_body[..length.min(raw_body.len())].to_vec(),
            None => raw_body.to_vec(),
        }
    };
    body.truncate(MAX_BODY);
    Ok(Response {
        status: head.status,
        headers: head.headers,
        body,
    })
}

/// The data of a chunked body, as far as it goes.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return body;
        };
        let size_text = String::from_utf8_lossy(&raw[..eol]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            return body;
        };
        if size == 0 {
            return body;
        }
        let data = &raw[eol + 2..];
        let take = size.min(data.len());
        body.extend_from_slice(&data[..take]);
        if take < size || data.len() < size + 2 {
            return body;
        }
        raw = &data[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_with_a_content_length_gives_its_status_headers_and_body() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello";
        assert!(response_complete(raw).unwrap());
        let response = parse_response(raw).unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some("text/html"));
        assert_eq!(response.body, b"hello");
    }

    #[test]
    fn a_response_is_incomplete_until_its_content_length_or_the_close() {
        assert!(!response_complete(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap());
        assert!(!response_complete(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel").unwrap());
        assert!(!response_complete(b"HTTP/1.0 200 OK\r\n\r\nno length").unwrap());
        assert!(response_complete(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap());
    }

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
    fn a_chunked_body_is_decoded_and_complete_at_its_last_chunk() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;x=y\r\n, world\r\n0\r\n\r\n";
        assert!(response_complete(raw).unwrap());
        assert_eq!(parse_response(raw).unwrap().body, b"hello, world");
        let cut = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel";
        assert!(!response_complete(cut).unwrap());
        assert_eq!(parse_response(cut).unwrap().body, b"hel");
    }

    #[test]
    fn a_body_is_cut_at_ten_kib_and_reading_stops_there() {
        let mut raw = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        raw.extend(std::iter::repeat_n(b'x', MAX_BODY + 600));
        assert!(response_complete(&raw).unwrap());
        assert_eq!(parse_response(&raw).unwrap().body.len(), MAX_BODY);
    }

    #[test]
    fn malformed_responses_are_errors() {
        assert!(parse_response(b"").unwrap_err().contains("EOF"));
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 abc OK\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
        let huge = vec![b'a'; MAX_HEADERS + 1];
        assert!(response_complete(&huge).is_err());
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
