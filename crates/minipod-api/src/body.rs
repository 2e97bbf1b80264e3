//! Response bodies: whole (JSON, Status) or streamed from a channel (watch
//! events, logs), plus the request-body reader with its size limit.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use tokio::sync::mpsc;

use crate::error::ApiError;

/// The body of every response.
pub type ResponseBody = BoxBody<Bytes, io::Error>;

/// The largest request body accepted (the API server's 3 MiB).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// A body sent whole.
pub fn full(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// A body whose chunks come from `rx`, ending when every sender is dropped.
/// hyper writes it with chunked transfer encoding and flushes each chunk.
pub fn channel(rx: mpsc::Receiver<Bytes>) -> ResponseBody {
    ChannelBody { rx }.boxed()
}

struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
    }
}

/// Reads a request body of at most [`MAX_BODY`] bytes (413 past it) within
/// `deadline` (408 past it: a client sending a byte a minute must not hold
/// the connection forever; see `limits`).
pub async fn read_limited(body: Incoming, deadline: Duration) -> Result<Bytes, ApiError> {
    let Ok(read) = tokio::time::timeout(deadline, Limited::new(body, MAX_BODY).collect()).await
    else {
        return Err(ApiError::RequestTimeout(format!(
            "the request body was not received within {}s",
            deadline.as_secs_f64()
        )));
    };
    match read {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(ApiError::TooLarge { limit: MAX_BODY })
        }
        Err(e) => Err(ApiError::BadRequest(format!(
            "error reading the request body: {e}"
        ))),
    }
}
