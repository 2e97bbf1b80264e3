//! `pods` and `pods/{name}`: create, get, replace, patch and delete.

use hyper::{Method, Response, StatusCode};
use serde_json::Value;

use super::request::{Ctx, json_body, typed_body};
use super::response::respond_object;
use crate::backend::{Backend, Resource};
use crate::body::{self, ResponseBody};
use crate::error::ApiError;
use crate::patch;

/// `GET`, `DELETE`, `PUT` and `PATCH` of one pod.
pub(super) async fn one<B: Backend>(
    backend: &B,
    ctx: &mut Ctx,
    namespace: &str,
    name: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    match ctx.method {
        Method::GET => {
            let pod = backend.get_pod(namespace, name).await?;
            respond_object(ctx, Resource::Pods, StatusCode::OK, pod)
        }
        Method::DELETE => delete(backend, ctx, namespace, name).await,
        Method::PUT => replace(backend, ctx, namespace, name).await,
        Method::PATCH => apply_patch(backend, ctx, namespace, name).await,
        _ => Err(ApiError::MethodNotAllowed),
    }
}

pub(super) async fn create<B: Backend>(
    backend: &B,
    ctx: &mut Ctx,
    namespace: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let (mut pod, _) = json_body(ctx, &["application/json"]).await?;
    if !pod.is_object() {
        return Err(ApiError::BadRequest(
            "the request body must be a Pod object".into(),
        ));
    }
    typed_body(&mut pod, "Pod", namespace)?;
    let dry_run = ctx.query.get("dryRun").is_some_and(|v| v == "All");
    let created = backend.create_pod(namespace, pod, dry_run).await?;
    respond_object(ctx, Resource::Pods, StatusCode::CREATED, created)
}

async fn delete<B: Backend>(
    backend: &B,
    ctx: &mut Ctx,
    namespace: &str,
    name: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let mut grace = ctx.query.number::<i64>("gracePeriodSeconds")?;
    // An optional DeleteOptions body.
    if let Some(incoming) = ctx.body.take() {
        let bytes = body::read_limited(incoming, ctx.body_read_timeout).await?;
        if !bytes.iter().all(u8::is_ascii_whitespace) {
            let options: Value = serde_json::from_slice(&bytes).map_err(|e| {
                ApiError::BadRequest(format!("the DeleteOptions body is not valid JSON: {e}"))
            })?;
            if let Some(g) = options.get("gracePeriodSeconds").filter(|g| !g.is_null()) {
                grace = Some(g.as_i64().ok_or_else(|| {
                    ApiError::BadRequest("gracePeriodSeconds must be an integer".into())
                })?);
            }
        }
    }
    if grace.is_some_and(|g| g < 0) {
        grace = Some(0);
    }
    let pod = backend.delete_pod(namespace, name, grace).await?;
    respond_object(ctx, Resource::Pods, StatusCode::OK, pod)
}

async fn replace<B: Backend>(
    backend: &B,
    ctx: &mut Ctx,
    namespace: &str,
    name: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let (new, _) = json_body(ctx, &["application/json"]).await?;
    let old = backend.get_pod(namespace, name).await?;
    let (old_rv, new_rv) = (
        old.pointer("/metadata/resourceVersion"),
        new.pointer("/metadata/resourceVersion"),
    );
    if new_rv.is_some_and(|v| v != "") && new_rv != old_rv {
        return Err(ApiError::Conflict(format!(
            "Operation cannot be fulfilled on pods \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
        )));
    }
    let stored = patch::check_pod_update(&old, &new)?;
    if stored == old {
        // A no-op update changes nothing, not even the resourceVersion.
        return respond_object(ctx, Resource::Pods, StatusCode::OK, old);
    }
    let updated = backend.update_pod(namespace, name, stored).await?;
    respond_object(ctx, Resource::Pods, StatusCode::OK, updated)
}

async fn apply_patch<B: Backend>(
    backend: &B,
    ctx: &mut Ctx,
    namespace: &str,
    name: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let (patch_doc, media) = json_body(
        ctx,
        &[
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
        ],
    )
    .await?;
    if !patch_doc.is_object() {
        return Err(ApiError::BadRequest(
            "the patch must be a JSON object".into(),
        ));
    }
    let old = backend.get_pod(namespace, name).await?;
    let mut new = old.clone();
    if media == "application/merge-patch+json" {
        patch::merge_patch(&mut new, &patch_doc);
    } else {
        patch::strategic_merge_patch(&mut new, &patch_doc);
    }
    let stored = patch::check_pod_update(&old, &new)?;
    if stored == old {
        // A no-op update changes nothing, not even the resourceVersion.
        return respond_object(ctx, Resource::Pods, StatusCode::OK, old);
    }
    let updated = backend.update_pod(namespace, name, stored).await?;
    respond_object(ctx, Resource::Pods, StatusCode::OK, updated)
}
