//! The client end of `pods/exec`: a websocket on the daemon's socket that
//! carries kubectl's channel protocol (`v5.channel.k8s.io`, or
//! `v4.channel.k8s.io` from an older server).
//!
//! Every message is binary and starts with its channel: 0 stdin, 1 stdout,
//! 2 stderr, 3 the final `Status` (JSON), 4 a terminal size
//! (`{"Width":80,"Height":24}`). In v5 the client closes stdin with
//! `[255, 0]`; v4 has no way to close it, so a command that reads stdin to
//! its end (`cat`) never ends under v4 (kubectl has the same limit).
//!
//! The server side is `minipod_api::exec`.

use std::os::unix::net::UnixStream;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::HandshakeError;
use tungstenite::http::HeaderValue;
use tungstenite::{Message, WebSocket};

use crate::client::{Client, status_error};

pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const STATUS: u8 = 3;
pub const RESIZE: u8 = 4;
/// v5: `[CLOSE, channel]` closes that channel of the client's.
pub const CLOSE: u8 = 255;

/// The protocols offered, best first.
const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

/// Which channel protocol the server chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    V5,
    V4,
}

impl Protocol {
    /// Whether stdin can be closed (`[255, 0]`).
    pub fn can_close_stdin(self) -> bool {
        self == Protocol::V5
    }
}

/// `data` on `channel`, as one message.
pub fn frame(channel: u8, data: &[u8]) -> Message {
    let mut bytes = Vec::with_capacity(data.len() + 1);
    bytes.push(channel);
    bytes.extend_from_slice(data);
    Message::Binary(bytes.into())
}

/// v5's "stdin is done".
pub fn close_stdin() -> Message {
    Message::Binary(vec![CLOSE, STDIN].into())
}

/// A terminal size on channel 4.
pub fn resize(width: u16, height: u16) -> Message {
    let json = serde_json::json!({"Width": width, "Height": height}).to_string();
    frame(RESIZE, json.as_bytes())
}

/// How the remote command ended, from the channel-3 `Status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Exit code 0.
    Success,
    /// A non-zero exit code (1 to 255).
    ExitCode(u8),
    /// It failed some other way (it never ran, the status was garbled...):
    /// the message to print.
    Failed(String),
}

/// Reads the final status as kubectl's client does: `Success`, a
/// `NonZeroExitCode` failure with an `ExitCode` cause, or any other failure
/// (its message).
pub fn parse_status(data: &[u8]) -> Outcome {
    let Ok(status) = serde_json::from_slice::<Value>(data) else {
        return Outcome::Failed(format!(
            "error stream protocol error: not a Status: {:?}",
            String::from_utf8_lossy(data)
        ));
    };
    match status["status"].as_str() {
        Some("Success") => Outcome::Success,
        Some("Failure") if status["reason"] == "NonZeroExitCode" => {
            let causes = status["details"]["causes"].as_array();
            let code = causes
                .into_iter()
                .flatten()
                .find(|c| c["reason"] == "ExitCode")
                .map(|c| c["message"].as_str().unwrap_or_default());
            match code.map(|c| (c, c.parse::<u8>())) {
                Some((_, Ok(0))) => Outcome::Success,
                Some((_, Ok(n))) => Outcome::ExitCode(n),
                Some((text, Err(_))) => Outcome::Failed(format!(
                    "error stream protocol error: invalid exit code value {text:?}"
                )),
                None => {
                    Outcome::Failed("error stream protocol error: no ExitCode cause given".into())
                }
            }
        }
        Some("Failure") => Outcome::Failed(
            status["message"]
                .as_str()
                .unwrap_or("the command failed")
                .to_owned(),
        ),
        _ => Outcome::Failed("error stream protocol error: unknown error".into()),
    }
}

/// An open exec session.
#[derive(Debug)]
pub struct Session {
    pub socket: WebSocket<UnixStream>,
    pub protocol: Protocol,
}

/// Opens `path` (`/api/v1/.../exec?...`) as a websocket on the daemon's
/// socket. An answer other than the upgrade (the pod does not exist, the
/// container is wrong) is an error with the server's `Status` message.
pub fn connect(client: &Client, path: &str) -> Result<Session> {
    let stream = client.connect()?;
    // The host only fills the Host header: the connection is the unix socket.
    let mut request = format!("ws://localhost{path}")
        .into_client_request()
        .context("building the exec request")?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("v5.channel.k8s.io, v4.channel.k8s.io"),
    );
    let (socket, response) = match tungstenite::client(request, stream) {
        Ok(done) => done,
        Err(HandshakeError::Failure(tungstenite::Error::Http(response))) => {
            let code = response.status().as_u16();
            let body = response.body().as_deref().unwrap_or_default();
            match serde_json::from_slice::<Value>(body) {
                Ok(status) => bail!("{}", status_error(&status, code)),
                Err(_) => bail!(
                    "the daemon refused the exec ({code}): {}",
                    String::from_utf8_lossy(body).trim()
                ),
            }
        }
        Err(HandshakeError::Failure(e)) => return Err(anyhow!(e).context("exec handshake")),
        Err(HandshakeError::Interrupted(_)) => bail!("exec handshake interrupted"),
    };
    let chosen = response
        .headers()
        .get("Sec-WebSocket-Protocol")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let protocol = match chosen {
        p if p == PROTOCOLS[0] => Protocol::V5,
        p if p == PROTOCOLS[1] => Protocol::V4,
        other => bail!("the daemon chose an unknown exec protocol {other:?}"),
    };
    Ok(Session { socket, protocol })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(m: Message) -> Vec<u8> {
        m.into_data().to_vec()
    }

    #[test]
    fn frames_carry_their_channel_first() {
        assert_eq!(bytes(frame(STDIN, b"hi\n")), b"\0hi\n");
        assert_eq!(bytes(frame(STDOUT, b"")), [1]);
        assert_eq!(bytes(close_stdin()), [255, 0]);
        assert_eq!(
            bytes(resize(120, 40)),
            b"\x04{\"Height\":40,\"Width\":120}".to_vec()
        );
    }

    #[test]
    fn statuses_read_as_kubectl_reads_them() {
        let ok = br#"{"metadata":{},"status":"Success"}"#;
        assert_eq!(parse_status(ok), Outcome::Success);
        let three = br#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#;
        assert_eq!(parse_status(three), Outcome::ExitCode(3));
        let never_ran = br#"{"status":"Failure","message":"container app is not running","reason":"InternalError"}"#;
        assert_eq!(
            parse_status(never_ran),
            Outcome::Failed("container app is not running".into())
        );
    }

    #[test]
    fn garbled_statuses_are_protocol_errors() {
        let no_cause =
            br#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[]}}"#;
        assert!(
            matches!(parse_status(no_cause), Outcome::Failed(m) if m.contains("no ExitCode cause"))
        );
        let too_big = br#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"300"}]}}"#;
        assert!(
            matches!(parse_status(too_big), Outcome::Failed(m) if m.contains("invalid exit code value \"300\""))
        );
        assert!(matches!(parse_status(b"nope"), Outcome::Failed(_)));
        assert!(matches!(parse_status(b"{}"), Outcome::Failed(m) if m.contains("unknown error")));
    }
}
