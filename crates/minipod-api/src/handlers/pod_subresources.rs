//! A pod's subresources: `status`, `log` (streamed) and `exec` (a
//! websocket, [`crate::exec`]).

use std::sync::Arc;

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use super::request::Ctx;
use super::response::respond_object;
use crate::backend::{Backend, ExecOptions, LogOptions, Resource};
use crate::body::{self, ResponseBody};
use crate::error::ApiError;
use crate::limits::Counters;

/// `pods/{name}/status`: the pod itself (its status is read-only here).
pub(super) async fn status<B: Backend>(
    backend: &B,
    ctx: &Ctx,
    namespace: &str,
    name: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let pod = backend.get_pod(namespace, name).await?;
    respond_object(ctx, Resource::Pods, StatusCode::OK, pod)
}

pub(super) async fn logs<B: Backend>(
    backend: &B,
    counters: &Counters,
    ctx: &Ctx,
    namespace: &str,
    name: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let q = &ctx.query;
    let options = LogOptions {
        container: q
            .get("container")
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
        follow: q.flag("follow")?,
        previous: q.flag("previous")?,
        tail_lines: q.number("tailLines")?,
        since_seconds: q.number("sinceSeconds")?,
        timestamps: q.flag("timestamps")?,
        limit_bytes: q.number("limitBytes")?,
    };
    let limit = options.limit_bytes;
    // A followed log is long-running (it ends when the client leaves).
    let place = options
        .follow
        .then(|| counters.long_running())
        .transpose()?;
    let mut reader = backend.logs(namespace, name, options).await?;
    let (tx, rx) = mpsc::channel::<Bytes>(8);
    tokio::spawn(async move {
        let _place = place; // held until the stream ends
        let mut left = limit.unwrap_or(u64::MAX);
        let mut buf = vec![0u8; 16 * 1024];
        while left > 0 {
            let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            let n = tokio::select! {
                r = reader.read(&mut buf[..want]) => match r {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                },
                _ = tx.closed() => return,
            };
            left -= n as u64;
            if tx.send(Bytes::copy_from_slice(&buf[..n])).await.is_err() {
                return;
            }
        }
    });
    let mut resp = Response::new(body::channel(rx));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(resp)
}

pub(super) async fn exec<B: Backend>(
    backend: &Arc<B>,
    ctx: &mut Ctx,
    namespace: &str,
    name: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let q = &ctx.query;
    let options = ExecOptions {
        container: q
            .get("container")
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
        command: q.all("command"),
        stdin: q.flag("stdin")?,
        stdout: q.flag("stdout")?,
        stderr: q.flag("stderr")?,
        tty: q.flag("tty")?,
    };
    if options.command.is_empty() {
        return Err(ApiError::BadRequest(
            "you must specify at least 1 command".into(),
        ));
    }
    // The API server's own checks (`ExecLocation`), before any upgrade:
    // kubectl retries a refused websocket over SPDY, and that retry must
    // get the same answer, not only "needs a websocket upgrade".
    let pod = backend.get_pod(namespace, name).await?;
    if let Some(phase @ ("Succeeded" | "Failed")) = pod["status"]["phase"].as_str() {
        return Err(ApiError::BadRequest(format!(
            "cannot exec into a container in a completed pod; current phase is {phase}"
        )));
    }
    if let Some(container) = &options.container {
        let known = ["containers", "initContainers"].iter().any(|list| {
            pod["spec"][*list]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|c| c["name"] == container.as_str()))
        });
        if !known {
            return Err(ApiError::BadRequest(format!(
                "container {container} is not valid for pod {name}"
            )));
        }
    }
    let (true, Some(request)) = (ctx.upgrade, ctx.request.take()) else {
        return Err(ApiError::BadRequest(
            "exec needs a websocket upgrade (protocol v5.channel.k8s.io or v4.channel.k8s.io)"
                .into(),
        ));
    };
    crate::exec::upgrade(Arc::clone(backend), request, namespace, name, options).await
}
