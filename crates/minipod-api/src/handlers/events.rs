//! `events/{name}`: one event (the lists and watches are [`super::list_watch`]).

use hyper::{Response, StatusCode};
use serde_json::Value;

use super::request::Ctx;
use super::response::respond_object;
use crate::backend::{Backend, Resource};
use crate::body::ResponseBody;
use crate::error::ApiError;

/// One event of `namespace` by name: the backend keeps events as a list.
pub(super) async fn get<B: Backend>(
    backend: &B,
    ctx: &Ctx,
    namespace: &str,
    name: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let list = backend.list(Resource::Events, Some(namespace)).await?;
    let event = list
        .items
        .into_iter()
        .find(|e| e.pointer("/metadata/name").and_then(Value::as_str) == Some(name))
        .ok_or_else(|| ApiError::NotFound {
            resource: "events".into(),
            name: name.to_owned(),
        })?;
    respond_object(ctx, Resource::Events, StatusCode::OK, event)
}
