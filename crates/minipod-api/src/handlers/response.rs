//! Responses: JSON objects, Tables and `Status` errors.

use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use minipod_lifecycle::Timestamp;
use serde_json::Value;

use super::request::{Ctx, Output, include_object};
use crate::backend::Resource;
use crate::body::{self, ResponseBody};
use crate::error::ApiError;
use crate::table;

/// The wall clock as a [`Timestamp`].
pub fn now() -> Timestamp {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    Timestamp::from_unix_nanos(nanos)
}

/// `value` as a JSON body with `code`.
pub(super) fn json_response(code: StatusCode, value: &Value) -> Response<ResponseBody> {
    let mut bytes = serde_json::to_vec(value).unwrap_or_default();
    bytes.push(b'\n');
    let mut resp = Response::new(body::full(bytes));
    *resp.status_mut() = code;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// `error` as a `Status` body, with the headers its code calls for.
pub(super) fn error_response(error: &ApiError) -> Response<ResponseBody> {
    let code = StatusCode::from_u16(error.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = json_response(code, &error.to_status());
    let headers = resp.headers_mut();
    match error {
        ApiError::Unauthorized => {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"minipod\""),
            );
        }
        ApiError::TooManyRequests {
            retry_after_seconds,
            ..
        } => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
        }
        // The rest of a too-slow body is not waited for: the connection ends.
        ApiError::RequestTimeout(_) => {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        _ => {}
    }
    resp
}

/// An object, or a one-row Table when the client asked for one.
pub(super) fn respond_object(
    ctx: &Ctx,
    resource: Resource,
    code: StatusCode,
    object: Value,
) -> Result<Response<ResponseBody>, ApiError> {
    match ctx.output.clone()? {
        Output::Json => Ok(json_response(code, &object)),
        Output::Table => {
            let include = include_object(&ctx.query)?;
            let rv = object
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let t = table::table(resource, &[object], rv, include, now());
            Ok(json_response(code, &t))
        }
    }
}
