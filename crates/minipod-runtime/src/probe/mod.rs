//! `tcpSocket` and `httpGet` checks: for probes and `httpGet` hooks.
//!
//! As the kubelet, a check connects from the node's network namespace to
//! the probe's `host`, else to the pod's IP (`pkg/kubelet/prober/prober.go`);
//! a `hostNetwork` pod's IP is the node's. A pod without a network (its
//! only address `127.0.0.1`) cannot be reached from the node: its checks
//! go to `127.0.0.1` (or the `host` given) from inside the pod, on a
//! short-lived thread of their own that first `setns(CLONE_NEWNET)`s into
//! the pod's pinned network namespace: that changes the namespace of this
//! one thread only (setns(2)), and every socket it creates stays in the
//! pod's namespace. The thread ends with the check, so no other thread of
//! the monitor is ever moved. The choice is [`dial_target`], pure.
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
//! One module per part: `target` (where a check connects from, and to
//! which host), `network` (the node's namespace, or a thread in the pod's),
//! `dial` (names, deadlines, connections, in Go's words),
//! `tcp` (the `tcpSocket` check), `http` (the `httpGet` check: request and
//! redirects), `response` (an HTTP/1.1 response read and parsed) and
//! `error` (why a check got no answer, in the kubelet's words). A new
//! probe kind is a new module beside `tcp` and `http`.

mod dial;
mod error;
mod http;
mod network;
mod response;
mod target;
mod tcp;

pub use dial::DEFAULT_HOST;
pub use error::{DialError, HTTPS_UNSUPPORTED, ProbeError};
pub use http::{HttpGetRequest, HttpOutcome, MAX_REDIRECTS, USER_AGENT, http_get};
pub use response::{MAX_BODY, MAX_HEADERS, Response, ResponseError, parse_response};
pub use target::{DialFrom, DialTarget, dial_target};
pub use tcp::tcp_check;
