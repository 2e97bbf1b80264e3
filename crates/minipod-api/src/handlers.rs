//! Routing and the handlers: one request in, one response out.
//!
//! [`App::handle`] never fails: every error becomes a `Status` response.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use minipod_lifecycle::Timestamp;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use crate::backend::{
    Backend, EventType, ExecOptions, LogOptions, ObjectList, Resource, WatchEvent,
};
use crate::body::{self, ResponseBody};
use crate::discovery;
use crate::error::ApiError;
use crate::limits::{Counters, ServerLimits};
use crate::patch;
use crate::secrets;
use crate::selector::{FieldSelector, LabelSelector};
use crate::table::{self, IncludeObject};

/// Which listener a request came in on.
#[derive(Debug, Clone)]
pub enum Transport {
    /// The unix socket: its file mode is the access control.
    Unix,
    /// TCP with TLS: every request needs `Authorization: Bearer <token>`.
    Tcp { token: String },
}

/// The router with its backend.
#[derive(Debug)]
pub struct App<B> {
    backend: Arc<B>,
    transport: Transport,
    server_address: String,
    counters: Counters,
}

/// The wall clock as a [`Timestamp`].
pub fn now() -> Timestamp {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    Timestamp::from_unix_nanos(nanos)
}

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
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(query: Option<&str>) -> Self {
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

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.get(key) {
            None | Some("false") | Some("0") | Some("False") => Ok(false),
            Some("true") | Some("1") | Some("True") | Some("") => Ok(true),
            Some(v) => Err(ApiError::BadRequest(format!(
                "invalid value {v:?} for {key}: expected a boolean"
            ))),
        }
    }

    fn number<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, ApiError> {
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
enum Output {
    Json,
    Table,
}

/// Picks the first acceptable media range of an `Accept` header.
fn negotiate(accept: Option<&str>) -> Result<Output, ApiError> {
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

fn json_response(code: StatusCode, value: &Value) -> Response<ResponseBody> {
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

fn error_response(error: &ApiError) -> Response<ResponseBody> {
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

/// Compares without an early exit, so timing reveals nothing of the token.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A request, parsed enough to route.
struct Ctx {
    method: Method,
    query: Query,
    output: Result<Output, ApiError>,
    content_type: Option<String>,
    body: Option<Incoming>,
    upgrade: bool,
    request: Option<Request<()>>,
}

impl<B: Backend> App<B> {
    /// A router over `backend` for one listener, within `limits`.
    pub fn new(
        backend: Arc<B>,
        transport: Transport,
        server_address: String,
        limits: ServerLimits,
    ) -> Self {
        App {
            backend,
            transport,
            server_address,
            counters: Counters::new(limits),
        }
    }

    /// This listener's counters (connections, long-running streams).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Serves one request.
    pub async fn handle(&self, req: Request<Incoming>) -> Response<ResponseBody> {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let result = self.authorize(&req);
        let response = match result {
            Err(e) => error_response(&e),
            Ok(()) => match self.route(req).await {
                Ok(resp) => resp,
                Err(e) => error_response(&e),
            },
        };
        tracing::debug!("{method} {path} -> {}", response.status());
        response
    }

    fn authorize(&self, req: &Request<Incoming>) -> Result<(), ApiError> {
        let Transport::Tcp { token } = &self.transport else {
            return Ok(());
        };
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            });
        match given {
            Some(given) if same_secret(given.as_bytes(), token.as_bytes()) => Ok(()),
            _ => Err(ApiError::Unauthorized),
        }
    }

    async fn route(&self, req: Request<Incoming>) -> Result<Response<ResponseBody>, ApiError> {
        let path = req.uri().path().to_owned();
        let header = |name: header::HeaderName| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let accept = header(header::ACCEPT);
        let content_type = header(header::CONTENT_TYPE);
        let upgrade = header(header::UPGRADE).is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
        if let Some(len) = header(header::CONTENT_LENGTH).and_then(|l| l.parse::<u64>().ok())
            && len > body::MAX_BODY as u64
        {
            return Err(ApiError::TooLarge {
                limit: body::MAX_BODY,
            });
        }
        let (parts, incoming) = req.into_parts();
        let method = parts.method.clone();
        let query = Query::parse(parts.uri.query());
        let request = upgrade.then(|| Request::from_parts(parts, ()));
        let mut ctx = Ctx {
            method,
            query,
            output: negotiate(accept.as_deref()),
            content_type,
            body: Some(incoming),
            upgrade,
            request,
        };
        let segments: Vec<&str> = path
            .trim_end_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        match segments.as_slice() {
            ["version"] => self.discovery(&ctx, discovery::version()),
            ["api"] => self.discovery(&ctx, discovery::api_versions(&self.server_address)),
            ["apis"] => self.discovery(&ctx, discovery::api_groups()),
            ["openapi", "v3"] => self.discovery(&ctx, discovery::openapi_v3_root()),
            ["openapi", "v3", "api", "v1"] => self.discovery(&ctx, discovery::openapi_v3_core()),
            ["api", "v1"] => self.discovery(&ctx, discovery::core_v1_resources()),
            ["healthz"] | ["livez"] | ["readyz"] => {
                only(&ctx, &[Method::GET])?;
                let mut resp = Response::new(body::full("ok"));
                resp.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
                Ok(resp)
            }
            ["api", "v1", "pods"] => {
                only(&ctx, &[Method::GET])?;
                self.list_or_watch(&ctx, Resource::Pods, None).await
            }
            ["api", "v1", "events"] => {
                only(&ctx, &[Method::GET])?;
                self.list_or_watch(&ctx, Resource::Events, None).await
            }
            ["api", "v1", "secrets"] => {
                only(&ctx, &[Method::GET])?;
                self.list_or_watch(&ctx, Resource::Secrets, None).await
            }
            ["api", "v1", "namespaces", ns, "secrets"] => match ctx.method {
                Method::GET => self.list_or_watch(&ctx, Resource::Secrets, Some(ns)).await,
                Method::POST => self.create_secret(&mut ctx, ns).await,
                _ => Err(ApiError::MethodNotAllowed),
            },
            ["api", "v1", "namespaces", ns, "secrets", name] => match ctx.method {
                Method::GET => {
                    let secret = self.backend.get_secret(ns, name).await?;
                    self.respond_object(&ctx, Resource::Secrets, StatusCode::OK, secret)
                }
                Method::DELETE => {
                    let secret = self.backend.delete_secret(ns, name).await?;
                    self.respond_object(&ctx, Resource::Secrets, StatusCode::OK, secret)
                }
                Method::PUT | Method::PATCH => self.change_secret(&mut ctx, ns, name).await,
                _ => Err(ApiError::MethodNotAllowed),
            },
            ["api", "v1", "namespaces"] => {
                only(&ctx, &[Method::GET])?;
                self.namespaces(&ctx, None).await
            }
            ["api", "v1", "namespaces", ns] => {
                only(&ctx, &[Method::GET])?;
                self.namespaces(&ctx, Some(ns)).await
            }
            ["api", "v1", "namespaces", ns, "pods"] => match ctx.method {
                Method::GET => self.list_or_watch(&ctx, Resource::Pods, Some(ns)).await,
                Method::POST => self.create_pod(&mut ctx, ns).await,
                _ => Err(ApiError::MethodNotAllowed),
            },
            ["api", "v1", "namespaces", ns, "pods", name] => match ctx.method {
                Method::GET => {
                    let pod = self.backend.get_pod(ns, name).await?;
                    self.respond_object(&ctx, Resource::Pods, StatusCode::OK, pod)
                }
                Method::DELETE => self.delete_pod(&mut ctx, ns, name).await,
                Method::PUT => self.replace_pod(&mut ctx, ns, name).await,
                Method::PATCH => self.patch_pod(&mut ctx, ns, name).await,
                _ => Err(ApiError::MethodNotAllowed),
            },
            ["api", "v1", "namespaces", ns, "pods", name, "status"] => {
                only(&ctx, &[Method::GET])?;
                let pod = self.backend.get_pod(ns, name).await?;
                self.respond_object(&ctx, Resource::Pods, StatusCode::OK, pod)
            }
            ["api", "v1", "namespaces", ns, "pods", name, "log"] => {
                only(&ctx, &[Method::GET])?;
                self.logs(&ctx, ns, name).await
            }
            ["api", "v1", "namespaces", ns, "pods", name, "exec"] => {
                only(&ctx, &[Method::GET, Method::POST])?;
                self.exec(&mut ctx, ns, name).await
            }
            ["api", "v1", "namespaces", ns, "events"] => {
                only(&ctx, &[Method::GET])?;
                self.list_or_watch(&ctx, Resource::Events, Some(ns)).await
            }
            ["api", "v1", "namespaces", ns, "events", name] => {
                only(&ctx, &[Method::GET])?;
                let list = self.backend.list(Resource::Events, Some(ns)).await?;
                let event = list
                    .items
                    .into_iter()
                    .find(|e| e.pointer("/metadata/name").and_then(Value::as_str) == Some(name))
                    .ok_or_else(|| ApiError::NotFound {
                        resource: "events".into(),
                        name: (*name).to_owned(),
                    })?;
                self.respond_object(&ctx, Resource::Events, StatusCode::OK, event)
            }
            _ => Err(ApiError::UnknownPath),
        }
    }

    fn discovery(&self, ctx: &Ctx, doc: Value) -> Result<Response<ResponseBody>, ApiError> {
        only(ctx, &[Method::GET])?;
        Ok(json_response(StatusCode::OK, &doc))
    }

    /// An object, or a one-row Table when the client asked for one.
    fn respond_object(
        &self,
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

    async fn namespaces(
        &self,
        ctx: &Ctx,
        name: Option<&str>,
    ) -> Result<Response<ResponseBody>, ApiError> {
        // Namespaces are implicit: `default` and every namespace that has pods.
        let pods = self.backend.list(Resource::Pods, None).await?;
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

    async fn list_or_watch(
        &self,
        ctx: &Ctx,
        resource: Resource,
        namespace: Option<&str>,
    ) -> Result<Response<ResponseBody>, ApiError> {
        let output = ctx.output.clone()?;
        let labels = LabelSelector::parse(ctx.query.get("labelSelector").unwrap_or_default())?;
        let fields =
            FieldSelector::parse(ctx.query.get("fieldSelector").unwrap_or_default(), resource)?;
        let include = include_object(&ctx.query)?;
        let keep = move |o: &Value| labels.matches_object(o) && fields.matches_object(o);
        if ctx.query.flag("watch")? {
            let timeout = ctx.query.number::<u64>("timeoutSeconds")?;
            let from =
                match ctx.query.get("resourceVersion") {
                    None | Some("") | Some("0") => None,
                    Some(v) => Some(v.parse::<u64>().map_err(|_| {
                        ApiError::BadRequest(format!("invalid resourceVersion {v:?}"))
                    })?),
                };
            return self
                .watch(resource, namespace, from, timeout, output, include, keep)
                .await;
        }
        let ObjectList {
            items,
            resource_version,
        } = self.list_objects(resource, namespace).await?;
        let items: Vec<Value> = items.into_iter().filter(|o| keep(o)).collect();
        let rv = resource_version.to_string();
        let doc = match output {
            Output::Table => table::table(resource, &items, Some(rv), include, now()),
            Output::Json => json!({
                "kind": format!("{}List", resource.kind()),
                "apiVersion": "v1",
                "metadata": {"resourceVersion": rv},
                "items": items,
            }),
        };
        Ok(json_response(StatusCode::OK, &doc))
    }

    /// A list of `resource`: Secrets have calls of their own.
    async fn list_objects(
        &self,
        resource: Resource,
        namespace: Option<&str>,
    ) -> Result<ObjectList, ApiError> {
        match resource {
            Resource::Secrets => self.backend.list_secrets(namespace).await,
            _ => self.backend.list(resource, namespace).await,
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn watch(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        from: Option<u64>,
        timeout: Option<u64>,
        output: Output,
        include: IncludeObject,
        keep: impl Fn(&Value) -> bool + Send + 'static,
    ) -> Result<Response<ResponseBody>, ApiError> {
        let place = self.counters.long_running()?;
        // Without a version: the current objects as ADDED, then the changes after the list.
        let (initial, after) = match from {
            Some(v) => (Vec::new(), v),
            None => {
                let list = self.list_objects(resource, namespace).await?;
                (list.items, list.resource_version)
            }
        };
        let mut events = self.backend.watch(resource, namespace, after).await?;
        let (tx, rx) = mpsc::channel::<Bytes>(16);
        tokio::spawn(async move {
            let _place = place; // held until the watch ends
            let deadline = timeout.map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
            let mut first = true;
            // Whether each object seen so far matched the selectors, to turn
            // an object leaving the selection into DELETED and one entering
            // it into ADDED. Objects not seen yet were known to the client
            // from its list when it watches from a version.
            let mut matched: HashMap<(String, String), bool> = HashMap::new();
            let mut send = move |event: WatchEvent, first: &mut bool| -> Option<Bytes> {
                let id = object_id(&event.object);
                let matches = keep(&event.object);
                let before = matched.get(&id).copied();
                let event_type = match (matches, event.event_type, before) {
                    (true, EventType::Deleted, _) | (false, _, Some(true)) => EventType::Deleted,
                    (true, EventType::Modified, Some(false)) => EventType::Added,
                    (true, t, _) => t,
                    (false, _, _) => {
                        matched.insert(id, false);
                        return None;
                    }
                };
                if event_type == EventType::Deleted && event.event_type == EventType::Deleted {
                    matched.remove(&id);
                } else {
                    matched.insert(id, event_type != EventType::Deleted);
                }
                let object = match output {
                    Output::Json => event.object,
                    Output::Table => {
                        let rv = event
                            .object
                            .pointer("/metadata/resourceVersion")
                            .and_then(Value::as_str)
                            .map(str::to_owned);
                        let mut t = table::table(resource, &[event.object], rv, include, now());
                        if !*first {
                            t["columnDefinitions"] = json!([]);
                        }
                        *first = false;
                        t
                    }
                };
                let mut line =
                    serde_json::to_vec(&json!({"type": event_type.as_str(), "object": object}))
                        .unwrap_or_default();
                line.push(b'\n');
                Some(Bytes::from(line))
            };
            for object in initial {
                if let Some(line) = send(
                    WatchEvent {
                        event_type: EventType::Added,
                        object,
                    },
                    &mut first,
                ) && tx.send(line).await.is_err()
                {
                    return;
                }
            }
            loop {
                let next = async {
                    match deadline {
                        Some(d) => tokio::time::timeout_at(d, events.recv())
                            .await
                            .ok()
                            .flatten(),
                        None => events.recv().await,
                    }
                };
                let event = tokio::select! {
                    e = next => e,
                    _ = tx.closed() => None,
                };
                let Some(event) = event else { return };
                if let Some(line) = send(event, &mut first)
                    && tx.send(line).await.is_err()
                {
                    return;
                }
            }
        });
        let mut resp = Response::new(body::channel(rx));
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        Ok(resp)
    }

    /// Reads a JSON body (with the size limit) of one of `types`; a protobuf
    /// body (only ever allowed for a Secret) comes back as JSON.
    async fn json_body(&self, ctx: &mut Ctx, types: &[&str]) -> Result<(Value, String), ApiError> {
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
        let bytes = body::read_limited(incoming, self.counters.limits().body_read_timeout).await?;
        if media == crate::protobuf::MEDIA_TYPE {
            return Ok((crate::protobuf::secret_to_json(&bytes)?, media));
        }
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::BadRequest(format!("the request body is not valid JSON: {e}"))
        })?;
        // A JSON object keeps the last of repeated keys; the API server's
        // strict decoding refuses them instead (`json: duplicate field`).
        minipod_spec::duplicates::check(&mut serde_json::Deserializer::from_slice(&bytes))
            .map_err(|e| ApiError::BadRequest(format!("strict decoding error: {e}")))?;
        Ok((value, media))
    }

    async fn create_pod(
        &self,
        ctx: &mut Ctx,
        namespace: &str,
    ) -> Result<Response<ResponseBody>, ApiError> {
        let (mut pod, _) = self.json_body(ctx, &["application/json"]).await?;
        if !pod.is_object() {
            return Err(ApiError::BadRequest(
                "the request body must be a Pod object".into(),
            ));
        }
        typed_body(&mut pod, "Pod", namespace)?;
        let dry_run = ctx.query.get("dryRun").is_some_and(|v| v == "All");
        let created = self.backend.create_pod(namespace, pod, dry_run).await?;
        self.respond_object(ctx, Resource::Pods, StatusCode::CREATED, created)
    }

    async fn create_secret(
        &self,
        ctx: &mut Ctx,
        namespace: &str,
    ) -> Result<Response<ResponseBody>, ApiError> {
        // kubectl's typed client (`kubectl create secret ...`) sends protobuf.
        let types = ["application/json", crate::protobuf::MEDIA_TYPE];
        let (mut body, _) = self.json_body(ctx, &types).await?;
        if !body.is_object() {
            return Err(ApiError::BadRequest(
                "the request body must be a Secret object".into(),
            ));
        }
        typed_body(&mut body, "Secret", namespace)?;
        let secret = secrets::admit_new(body)?;
        let dry_run = ctx.query.get("dryRun").is_some_and(|v| v == "All");
        let created = self
            .backend
            .create_secret(namespace, secret, dry_run)
            .await?;
        self.respond_object(ctx, Resource::Secrets, StatusCode::CREATED, created)
    }

    /// PUT (with a resourceVersion check) and PATCH (merge or strategic
    /// merge; a Secret has no lists, so both merge `data` key by key).
    async fn change_secret(
        &self,
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
        let (body, media) = self.json_body(ctx, types).await?;
        if !body.is_object() {
            return Err(ApiError::BadRequest(if replacing {
                "the request body must be a Secret object".into()
            } else {
                "the patch must be a JSON object".into()
            }));
        }
        let old = self.backend.get_secret(namespace, name).await?;
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
            None => self.respond_object(ctx, Resource::Secrets, StatusCode::OK, old),
            Some(stored) => {
                let updated = self.backend.update_secret(namespace, name, stored).await?;
                self.respond_object(ctx, Resource::Secrets, StatusCode::OK, updated)
            }
        }
    }

    async fn delete_pod(
        &self,
        ctx: &mut Ctx,
        namespace: &str,
        name: &str,
    ) -> Result<Response<ResponseBody>, ApiError> {
        let mut grace = ctx.query.number::<i64>("gracePeriodSeconds")?;
        // An optional DeleteOptions body.
        if let Some(incoming) = ctx.body.take() {
            let bytes =
                body::read_limited(incoming, self.counters.limits().body_read_timeout).await?;
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
        let pod = self.backend.delete_pod(namespace, name, grace).await?;
        self.respond_object(ctx, Resource::Pods, StatusCode::OK, pod)
    }

    async fn replace_pod(
        &self,
        ctx: &mut Ctx,
        namespace: &str,
        name: &str,
    ) -> Result<Response<ResponseBody>, ApiError> {
        let (new, _) = self.json_body(ctx, &["application/json"]).await?;
        let old = self.backend.get_pod(namespace, name).await?;
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
            return self.respond_object(ctx, Resource::Pods, StatusCode::OK, old);
        }
        let updated = self.backend.update_pod(namespace, name, stored).await?;
        self.respond_object(ctx, Resource::Pods, StatusCode::OK, updated)
    }

    async fn patch_pod(
        &self,
        ctx: &mut Ctx,
        namespace: &str,
        name: &str,
    ) -> Result<Response<ResponseBody>, ApiError> {
        let (patch_doc, media) = self
            .json_body(
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
        let old = self.backend.get_pod(namespace, name).await?;
        let mut new = old.clone();
        if media == "application/merge-patch+json" {
            patch::merge_patch(&mut new, &patch_doc);
        } else {
            patch::strategic_merge_patch(&mut new, &patch_doc);
        }
        let stored = patch::check_pod_update(&old, &new)?;
        if stored == old {
            // A no-op update changes nothing, not even the resourceVersion.
            return self.respond_object(ctx, Resource::Pods, StatusCode::OK, old);
        }
        let updated = self.backend.update_pod(namespace, name, stored).await?;
        self.respond_object(ctx, Resource::Pods, StatusCode::OK, updated)
    }

    async fn logs(
        &self,
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
            .then(|| self.counters.long_running())
            .transpose()?;
        let mut reader = self.backend.logs(namespace, name, options).await?;
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

    async fn exec(
        &self,
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
        let pod = self.backend.get_pod(namespace, name).await?;
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
        crate::exec::upgrade(self.backend.clone(), request, namespace, name, options).await
    }
}

/// `namespace/name` of an object.
fn object_id(object: &Value) -> (String, String) {
    let s = |p: &str| {
        object
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    (s("/metadata/namespace"), s("/metadata/name"))
}

/// Checks a create body's `apiVersion`, `kind` and namespace (the API
/// server's 400s) and fills them in.
fn typed_body(body: &mut Value, kind: &str, namespace: &str) -> Result<(), ApiError> {
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

fn include_object(query: &Query) -> Result<IncludeObject, ApiError> {
    let text = query.get("includeObject").unwrap_or_default();
    IncludeObject::parse(text)
        .ok_or_else(|| ApiError::BadRequest(format!("invalid includeObject {text:?}")))
}

fn only(ctx: &Ctx, methods: &[Method]) -> Result<(), ApiError> {
    if methods.contains(&ctx.method) {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed)
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

    #[test]
    fn secrets_compare() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"ab"));
    }
}
