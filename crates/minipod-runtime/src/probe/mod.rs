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
//!
//! One module per part: `network` (a thread in the pod's network
//! namespace), `dial` (names, deadlines, connections, in Go's words),
//! `tcp` (the `tcpSocket` check), `http` (the `httpGet` check: request and
//! redirects), `response` (an HTTP/1.1 response read and parsed) and
//! `error` (why a check got no answer, in the kubelet's words). A new
//! probe kind is a new module beside `tcp` and `http`.

mod dial;
mod error;
mod http;
mod network;
mod response;
mod tcp;

pub use dial::DEFAULT_HOST;
pub use error::{DialError, HTTPS_UNSUPPORTED, ProbeError};
pub use http::{HttpGetRequest, HttpOutcome, MAX_REDIRECTS, USER_AGENT, http_get};
pub use response::{MAX_BODY, MAX_HEADERS, Response, ResponseError, parse_response};
pub use tcp::tcp_check;
