//! A request as the handlers see it: its query, what it accepts, its body.

use std::time::Duration;

use hyper::Method;
use hyper::Request;
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::body;
use crate::error::ApiError;
use crate::secrets;
use crate::table::IncludeObject;

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space).
fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded query pairs, in order.
#[derive(Debug, Default)]
pub(super) struct Query(Vec<(String, String)>);

impl Query {
    pub(super) fn parse(query: Option<&str>) -> Self {
        Query(
            query
                .unwrap_or_default()
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (url_decode(k), url_decode(v))
                })
                .collect(),
        )
    }

    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub(super) fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.get(key) {
            None | Some("false") | Some("0") | Some("False") => Ok(false),
            Some("true") | Some("1") | Some("True") | Some("") => Ok(true),
            Some(v) => Err(ApiError::BadRequest(format!(
                "invalid value {v:?} for {key}: expected a boolean"
            ))),
        }
    }

    pub(super) fn number<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, ApiError> {
        self.get(key)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::BadRequest(format!(
                        "invalid value {v:?} for {key}: expected a number"
                    ))
                })
            })
            .transpose()
    }
}

/// What the client accepts, reduced to what this server can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Output {
    Json,
    Table,
}

/// Picks the first acceptable media range of an `Accept` header.
pub(super) fn negotiate(accept: Option<&str>) -> Result<Output, ApiError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Output::Json);
    };
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut as_ = None;
        let mut group = None;
        let mut version = None;
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                match k.trim() {
                    "as" => as_ = Some(v.trim().to_owned()),
                    "g" => group = Some(v.trim().to_owned()),
                    "v" => version = Some(v.trim().to_owned()),
                    _ => {}
                }
            }
        }
        if !matches!(media.as_str(), "application/json" | "*/*" | "application/*") {
            continue;
        }
        match as_.as_deref() {
            None => return Ok(Output::Json),
            Some("Table")
                if group.as_deref() == Some("meta.k8s.io")
                    && matches!(version.as_deref(), Some("v1") | Some("v1beta1")) =>
            {
                return Ok(Output::Table);
            }
            _ => continue,
        }
    }
    Err(ApiError::NotAcceptable(format!(
        "only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io (got {accept})"
    )))
}

/// A request, parsed enough to route.
pub(super) struct Ctx {
    pub(super) method: Method,
    pub(super) query: Query,
    pub(super) output: Result<Output, ApiError>,
    pub(super) content_type: Option<String>,
    pub(super) body: Option<Incoming>,
    /// How long the client has to send the body (`ServerLimits`).
    pub(super) body_read_timeout: Duration,
    pub(super) upgrade: bool,
    pub(super) request: Option<Request<()>>,
}

/// Refuses (405) a method the path does not serve.
pub(super) fn only(ctx: &Ctx, methods: &[Method]) -> Result<(), ApiError> {
    if methods.contains(&ctx.method) {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed)
    }
}

/// `includeObject` of a Table request (`Metadata` when absent).
pub(super) fn include_object(query: &Query) -> Result<IncludeObject, ApiError> {
    let text = query.get("includeObject").unwrap_or_default();
    IncludeObject::parse(text)
        .ok_or_else(|| ApiError::BadRequest(format!("invalid includeObject {text:?}")))
}

/// Reads a JSON body (with the size limit) of one of `types`; a protobuf
/// body (only ever allowed for a Secret) comes back as JSON.
pub(super) async fn json_body(ctx: &mut Ctx, types: &[&str]) -> Result<(Value, String), ApiError> {
    let media = ctx
        .content_type
        .as_deref()
        .unwrap_or("application/json")
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !types.contains(&media.as_str()) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let incoming = ctx
        .body
        .take()
        .ok_or_else(|| ApiError::BadRequest("no request body".into()))?;
    let bytes = body::read_limited(incoming, ctx.body_read_timeout).await?;
    if media == crate::protobuf::MEDIA_TYPE {
        return Ok((crate::protobuf::secret_to_json(&bytes)?, media));
    }
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("the request body is not valid JSON: {e}")))?;
    // A JSON object keeps the last of repeated keys; the API server's
    // strict decoding refuses them instead (`json: duplicate field`).
    minipod_spec::duplicates::check(&mut serde_json::Deserializer::from_slice(&bytes))
        .map_err(|e| ApiError::BadRequest(format!("strict decoding error: {e}")))?;
    Ok((value, media))
}

/// Checks a create body's `apiVersion`, `kind` and namespace (the API
/// server's 400s) and fills them in.
pub(super) fn typed_body(body: &mut Value, kind: &str, namespace: &str) -> Result<(), ApiError> {
    secrets::check_type(body, kind)?;
    body["apiVersion"] = json!("v1");
    body["kind"] = json!(kind);
    if !body.get("metadata").is_some_and(Value::is_object) {
        body["metadata"] = json!({});
    }
    match body.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(ns) if !ns.is_empty() && ns != namespace => Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        )),
        _ => {
            body["metadata"]["namespace"] = json!(namespace);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        assert_eq!(negotiate(None).ok(), Some(Output::Json));
        assert_eq!(negotiate(Some("application/json")).ok(), Some(Output::Json));
        assert_eq!(
            negotiate(Some(
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
            ))
            .ok(),
            Some(Output::Table)
        );
        assert_eq!(
            negotiate(Some(
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
            ))
            .ok(),
            Some(Output::Json)
        );
        assert_eq!(
            negotiate(Some("application/vnd.kubernetes.protobuf, */*")).ok(),
            Some(Output::Json)
        );
        assert!(matches!(
            negotiate(Some("application/vnd.kubernetes.protobuf")),
            Err(ApiError::NotAcceptable(_))
        ));
    }

    #[test]
    fn query_decoding() {
        let q = Query::parse(Some(
            "labelSelector=app%3Dweb%2Cenv+in+%28a%2Cb%29&command=sh&command=-c&watch=1",
        ));
        assert_eq!(q.get("labelSelector"), Some("app=web,env in (a,b)"));
        assert_eq!(q.all("command"), ["sh", "-c"]);
        assert_eq!(q.flag("watch").ok(), Some(true));
        assert_eq!(q.flag("follow").ok(), Some(false));
        assert!(q.number::<u64>("labelSelector").is_err());
        assert_eq!(url_decode("100%"), "100%");
        assert_eq!(url_decode("%zz"), "%zz");
    }
}
