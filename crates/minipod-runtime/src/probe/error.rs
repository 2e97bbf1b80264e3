//! Why a check got no answer, in the words of the kubelet's probe
//! messages (Go's net and http packages'). The text reaches Kubernetes as
//! an event message through `String::from`, which prints the causes.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::response::ResponseError;

/// The error for an `HTTPS` probe or hook.
pub const HTTPS_UNSUPPORTED: &str = "HTTPS probes are not supported by minipod";

/// Why a `tcpSocket` or `httpGet` check failed without a response.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("the pod has no network namespace")]
    NoNetworkNamespace,
    /// Opening the pod's pinned network namespace.
    #[error("{}", path.display())]
    OpenNamespace {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("entering the pod's network namespace")]
    EnterNamespace(#[source] std::io::Error),
    #[error("starting a probe thread")]
    SpawnThread(#[source] std::io::Error),
    #[error("the probe thread panicked")]
    ThreadPanicked,
    #[error("dial tcp: lookup {host}")]
    Lookup {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("dial tcp: lookup {host}: no such host")]
    NoSuchHost { host: String },
    #[error("no address")]
    NoAddress,
    #[error("dial tcp {addr}")]
    Dial {
        addr: SocketAddr,
        #[source]
        source: DialError,
    },
    #[error("timeout: the deadline was exceeded")]
    Deadline,
    #[error("timeout: the deadline was exceeded (Client.Timeout exceeded while awaiting headers)")]
    AwaitingHeaders,
    /// Sending the request or reading the response.
    #[error(transparent)]
    Exchange(std::io::Error),
    #[error("stopped after {0} redirects")]
    TooManyRedirects(usize),
    #[error("{}", HTTPS_UNSUPPORTED)]
    HttpsUnsupported,
    #[error(transparent)]
    Response(#[from] ResponseError),
}

/// A connect error in the words of Go's net package (`connect: connection
/// refused`).
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    #[error("connect: connection refused")]
    Refused,
    #[error("i/o timeout")]
    Timeout,
    /// Another errno, described as Go does (lower case, no number).
    #[error("connect: {0}")]
    Connect(String),
    #[error(transparent)]
    Other(std::io::Error),
}

/// The event text: the error and its causes
/// (`dial tcp 127.0.0.1:8080: connect: connection refused`).
impl From<ProbeError> for String {
    fn from(error: ProbeError) -> String {
        minipod_spec::error_chain(&error)
    }
}
