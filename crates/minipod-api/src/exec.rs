//! `pods/exec` over a websocket, the channel protocol kubectl speaks
//! (`v5.channel.k8s.io`, or `v4.channel.k8s.io`).
//!
//! Every websocket message is binary, its first byte a channel: 0 stdin,
//! 1 stdout, 2 stderr, 3 the final status (a `Status` JSON), 4 terminal
//! resize (`{"Width":80,"Height":24}`); in v5, `[255, 0]` from the client
//! closes stdin. The server answers the upgrade (101) after the backend has
//! started the command, then pumps bytes both ways until the output ends and
//! the command exits, sends the status on channel 3, and closes.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};

use crate::backend::{Backend, ByteStream, ExecExit, ExecOptions, TerminalSize};
use crate::body::{self, ResponseBody};
use crate::error::ApiError;

const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

/// The protocol to speak, from the client's `Sec-WebSocket-Protocol` list.
fn choose_protocol(offered: &str) -> Option<&'static str> {
    let offered: Vec<&str> = offered.split(',').map(str::trim).collect();
    PROTOCOLS.into_iter().find(|p| offered.contains(p))
}

/// The backend dropped an exec's exit before sending it.
#[derive(Debug, thiserror::Error)]
#[error("the command's exit status was lost")]
struct ExitLost;

/// The final status sent on channel 3.
pub fn exit_status(exit: &ExecExit) -> Value {
    match exit {
        Ok(0) => json!({"metadata": {}, "status": "Success"}),
        Ok(code) => json!({
            "metadata": {},
            "status": "Failure",
            "message": format!("command terminated with non-zero exit code: exit status {code}"),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}
        }),
        // The kubelet's words for a command that could not run
        // (`ServeExec`: `NewInternalError` of "error executing command in
        // container: ..."); kubectl prints the message.
        Err(failure) => json!({
            "metadata": {},
            "status": "Failure",
            "message": format!(
                "Internal error occurred: error executing command in container: {}",
                minipod_spec::error_chain(failure.as_ref())
            ),
            "reason": "InternalError",
            "code": 500
        }),
    }
}

/// Answers the websocket upgrade of an exec request and runs the session.
pub async fn upgrade<B: Backend>(
    backend: Arc<B>,
    mut request: Request<()>,
    namespace: &str,
    name: &str,
    options: ExecOptions,
) -> Result<Response<ResponseBody>, ApiError> {
    let headers = request.headers();
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or_else(|| ApiError::BadRequest("missing Sec-WebSocket-Key".into()))?
        .as_bytes()
        .to_vec();
    let offered = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let protocol = choose_protocol(offered).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "none of the offered websocket protocols ({offered}) is supported: {}",
            PROTOCOLS.join(", ")
        ))
    })?;
    let tty = options.tty;
    let session = backend.exec(namespace, name, options).await?;
    let on_upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                run(ws, session, tty).await;
            }
            Err(e) => tracing::debug!("exec upgrade failed: {e}"),
        }
    });
    let mut resp = Response::new(body::full(Bytes::new()));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(protocol),
    );
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(&key)) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    Ok(resp)
}

fn framed(channel: u8, data: &[u8]) -> Message {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.push(channel);
    v.extend_from_slice(data);
    Message::Binary(v.into())
}

fn copy_out(
    reader: Option<ByteStream>,
    channel: u8,
    tx: mpsc::Sender<Message>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some(mut reader) = reader else { return };
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.send(framed(channel, &buf[..n])).await.is_err() {
                        return;
                    }
                }
            }
        }
    })
}

async fn run<S>(ws: WebSocketStream<S>, session: crate::backend::ExecSession, _tty: bool)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::channel::<Message>(16);
    let writer = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            if sink.send(m).await.is_err() {
                return;
            }
        }
        // A normal closure (1000): kubectl reads it as the end of every stream.
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            })))
            .await;
        let _ = sink.close().await;
    });
    let stdout = copy_out(session.stdout, 1, tx.clone());
    let stderr = copy_out(session.stderr, 2, tx.clone());
    let mut stdin = session.stdin;
    let resize = session.resize;
    let mut input = tokio::spawn(async move {
        while let Some(Ok(message)) = stream.next().await {
            let data = match message {
                Message::Binary(b) => b,
                Message::Close(_) => break,
                _ => continue,
            };
            let Some((&channel, rest)) = data.split_first() else {
                continue;
            };
            match channel {
                0 => {
                    if let Some(w) = stdin.as_mut()
                        && (w.write_all(rest).await.is_err() || w.flush().await.is_err())
                    {
                        stdin = None;
                    }
                }
                4 => {
                    if let (Some(r), Ok(size)) = (&resize, serde_json::from_slice::<Value>(rest)) {
                        let dim = |k: &str| {
                            size.get(k)
                                .and_then(Value::as_u64)
                                .and_then(|v| u16::try_from(v).ok())
                        };
                        if let (Some(width), Some(height)) = (dim("Width"), dim("Height")) {
                            let _ = r.send(TerminalSize { width, height }).await;
                        }
                    }
                }
                255 if rest.first() == Some(&0) => {
                    if let Some(mut w) = stdin.take() {
                        let _ = w.shutdown().await;
                    }
                }
                _ => {}
            }
        }
    });
    let (stdout_abort, stderr_abort) = (stdout.abort_handle(), stderr.abort_handle());
    let ended = async {
        let _ = stdout.await;
        let _ = stderr.await;
        session.exit.await
    };
    // The client's side ending first means it went away (kubectl closes
    // only after the status): drop the session, which tells the backend
    // to end the command, as the kubelet ends an exec whose stream broke.
    let exit = tokio::select! {
        exit = ended => exit,
        _ = &mut input => {
            stdout_abort.abort();
            stderr_abort.abort();
            return;
        }
    };
    let exit = exit.unwrap_or_else(|_| Err(Box::new(ExitLost)));
    let status = serde_json::to_vec(&exit_status(&exit)).unwrap_or_default();
    let _ = tx.send(framed(3, &status)).await;
    drop(tx);
    let _ = writer.await;
    input.abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_choice() {
        assert_eq!(
            choose_protocol("v5.channel.k8s.io, v4.channel.k8s.io"),
            Some("v5.channel.k8s.io")
        );
        assert_eq!(
            choose_protocol("v4.channel.k8s.io,base64.channel.k8s.io"),
            Some("v4.channel.k8s.io")
        );
        assert_eq!(choose_protocol("channel.k8s.io"), None);
    }

    #[test]
    fn statuses() {
        assert_eq!(exit_status(&Ok(0))["status"], "Success");
        let s = exit_status(&Ok(3));
        assert_eq!(s["reason"], "NonZeroExitCode");
        assert_eq!(s["details"]["causes"][0]["message"], "3");
        assert_eq!(
            exit_status(&Err("boom".into()))["message"],
            "Internal error occurred: error executing command in container: boom"
        );
    }
}
