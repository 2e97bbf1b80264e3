//! `secrets` and `secrets/{name}`: create, get, replace, patch and delete
//! (the checks are [`crate::secrets`]').

use hyper::{Method, Response, StatusCode};

use super::request::{Ctx, json_body, typed_body};
use super::response::respond_object;
use crate::backend::{Backend, Resource};
use crate::body::ResponseBody;
use crate::error::ApiError;
use crate::patch;
use crate::secrets;

/// `GET`, `DELETE`, `PUT` and `PATCH` of one Secret.
pub(super) async fn one<B: Backend>(
    backend: &B,
    ctx: &mut Ctx,
    namespace: &str,
    name: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    match ctx.method {
        Method::GET => {
            let secret = backend.get_secret(namespace, name).await?;
            respond_object(ctx, Resource::Secrets, StatusCode::OK, secret)
        }
        Method::DELETE => {
            let secret = backend.delete_secret(namespace, name).await?;
            respond_object(ctx, Resource::Secrets, StatusCode::OK, secret)
        }
        Method::PUT | Method::PATCH => change(backend, ctx, namespace, name).await,
        _ => Err(ApiError::MethodNotAllowed),
    }
}

pub(super) async fn create<B: Backend>(
    backend: &B,
    ctx: &mut Ctx,
    namespace: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    // kubectl's typed client (`kubectl create secret ...`) sends protobuf.
    let types = ["application/json", crate::protobuf::MEDIA_TYPE];
    let (mut body, _) = json_body(ctx, &types).await?;
    if !body.is_object() {
        return Err(ApiError::BadRequest(
            "the request body must be a Secret object".into(),
        ));
    }
    typed_body(&mut body, "Secret", namespace)?;
    let secret = secrets::admit_new(body)?;
    let dry_run = ctx.query.get("dryRun").is_some_and(|v| v == "All");
    let created = backend.create_secret(namespace, secret, dry_run).await?;
    respond_object(ctx, Resource::Secrets, StatusCode::CREATED, created)
}

/// PUT (with a resourceVersion check) and PATCH (merge or strategic
/// merge; a Secret has no lists, so both merge `data` key by key).
async fn change<B: Backend>(
    backend: &B,
    ctx: &mut Ctx,
    namespace: &str,
    name: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let replacing = ctx.method == Method::PUT;
    let types: &[&str] = if replacing {
        &["application/json", crate::protobuf::MEDIA_TYPE]
    } else {
        &[
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
        ]
    };
    let (body, media) = json_body(ctx, types).await?;
    if !body.is_object() {
        return Err(ApiError::BadRequest(if replacing {
            "the request body must be a Secret object".into()
        } else {
            "the patch must be a JSON object".into()
        }));
    }
    let old = backend.get_secret(namespace, name).await?;
    let new = if replacing {
        let (old_rv, new_rv) = (
            old.pointer("/metadata/resourceVersion"),
            body.pointer("/metadata/resourceVersion"),
        );
        if new_rv.is_some_and(|v| v != "") && new_rv != old_rv {
            return Err(ApiError::Conflict(format!(
                "Operation cannot be fulfilled on secrets \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
            )));
        }
        body
    } else {
        let mut new = old.clone();
        if media == "application/merge-patch+json" {
            patch::merge_patch(&mut new, &body);
        } else {
            patch::strategic_merge_patch(&mut new, &body);
        }
        new
    };
    match secrets::admit_change(&old, new, name)? {
        // A no-op update changes nothing, not even the resourceVersion.
        None => respond_object(ctx, Resource::Secrets, StatusCode::OK, old),
        Some(stored) => {
            let updated = backend.update_secret(namespace, name, stored).await?;
            respond_object(ctx, Resource::Secrets, StatusCode::OK, updated)
        }
    }
}
