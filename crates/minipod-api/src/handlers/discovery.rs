//! Discovery documents, health checks and the implicit namespaces.

use hyper::header::{self, HeaderValue};
use hyper::{Method, Response, StatusCode};
use serde_json::{Value, json};

use super::request::{Ctx, only};
use super::response::json_response;
use crate::backend::{Backend, Resource};
use crate::body::{self, ResponseBody};
use crate::error::ApiError;

/// A discovery document (`/api`, `/apis`, `/version`, `/openapi/v3`...).
pub(super) fn document(ctx: &Ctx, doc: Value) -> Result<Response<ResponseBody>, ApiError> {
    only(ctx, &[Method::GET])?;
    Ok(json_response(StatusCode::OK, &doc))
}

/// `/healthz`, `/livez`, `/readyz`: a plain `ok`.
pub(super) fn health(ctx: &Ctx) -> Result<Response<ResponseBody>, ApiError> {
    only(ctx, &[Method::GET])?;
    let mut resp = Response::new(body::full("ok"));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(resp)
}

pub(super) async fn namespaces<B: Backend>(
    backend: &B,
    ctx: &Ctx,
    name: Option<&str>,
) -> Result<Response<ResponseBody>, ApiError> {
    // Namespaces are implicit: `default` and every namespace that has pods.
    let pods = backend.list(Resource::Pods, None).await?;
    let mut names: Vec<String> = pods
        .items
        .iter()
        .filter_map(|p| p.pointer("/metadata/namespace").and_then(Value::as_str))
        .map(str::to_owned)
        .chain(["default".to_owned()])
        .collect();
    names.sort();
    names.dedup();
    let ns = |n: &str| {
        json!({
            "kind": "Namespace", "apiVersion": "v1",
            "metadata": {"name": n},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"}
        })
    };
    ctx.output.clone()?;
    match name {
        Some(n) => Ok(json_response(StatusCode::OK, &ns(n))),
        None => Ok(json_response(
            StatusCode::OK,
            &json!({
                "kind": "NamespaceList", "apiVersion": "v1",
                "metadata": {"resourceVersion": pods.resource_version.to_string()},
                "items": names.iter().map(|n| ns(n)).collect::<Vec<_>>(),
            }),
        )),
    }
}
