//! The HTTP face of the simulated cluster: discovery, get/list/watch/create/
//! update/patch/delete with the status and scale subresources, bearer-token
//! authentication and RBAC, Status errors, the request log, and the admin
//! endpoint that switches faults while the server runs.

use super::behaviour::Behaviour;
use super::faults::{FaultSettings, Faults};
use super::patch::PatchKind;
use super::rbac::{Access, Role, User, Users};
use super::reqlog::{RequestLog, RequestRecord};
use super::resources::{self, RESOURCES, ResourceDef};
use super::selector::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::store::{Change, EventType, ListOptions, Propagation, Store, Target};
use super::validation::{self, FieldValidation};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};
use tokio::task::{JoinHandle, JoinSet};

type Body = BoxBody<Bytes, Infallible>;

/// Everything a request handler needs, shared by all connections.
pub struct Shared {
    pub store: Arc<Store>,
    pub users: Users,
    pub faults: Arc<Faults>,
    pub log: Arc<RequestLog>,
    pub behaviour: Arc<Behaviour>,
    /// How often a watch that allows bookmarks gets one.
    pub bookmark_interval: Duration,
    tls: tokio_rustls::TlsAcceptor,
    addr: SocketAddr,
    listener: Mutex<Option<JoinHandle<()>>>,
}

/// What a server is built from.
pub struct ServerParts {
    pub store: Arc<Store>,
    pub users: Users,
    pub faults: Arc<Faults>,
    pub log: Arc<RequestLog>,
    pub behaviour: Arc<Behaviour>,
    pub bookmark_interval: Duration,
    pub tls: tokio_rustls::TlsAcceptor,
    pub addr: SocketAddr,
}

impl Shared {
    pub fn new(parts: ServerParts) -> Arc<Self> {
        Arc::new(Shared {
            store: parts.store,
            users: parts.users,
            faults: parts.faults,
            log: parts.log,
            behaviour: parts.behaviour,
            bookmark_interval: parts.bookmark_interval,
            tls: parts.tls,
            addr: parts.addr,
            listener: Mutex::new(None),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Start accepting connections on the server's address.
    pub async fn start_listener(self: &Arc<Self>) -> std::io::Result<()> {
        let mut slot = self.listener.lock().await;
        if slot.is_some() {
            return Ok(());
        }
        let listener = TcpListener::bind(self.addr).await?;
        *slot = Some(tokio::spawn(accept_loop(listener, self.clone())));
        Ok(())
    }

    /// Stop accepting and close every open connection, watches included.
    pub async fn stop_listener(&self) {
        if let Some(task) = self.listener.lock().await.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Stop from synchronous code (a Drop); the task ends on its own.
    pub fn abort_listener(&self) {
        if let Ok(mut slot) = self.listener.try_lock()
            && let Some(task) = slot.take()
        {
            task.abort();
        }
    }

    pub async fn listening(&self) -> bool {
        self.listener.lock().await.is_some()
    }
}

/// Bind a listener first so that an OS-chosen port (`:0`) is known before serving.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Serve an already-bound listener.
pub async fn serve(shared: &Arc<Shared>, listener: TcpListener) {
    *shared.listener.lock().await = Some(tokio::spawn(accept_loop(listener, shared.clone())));
}

/// Boxed so that the admin endpoint, served from inside this loop, can
/// restart it without making the future's type recursive.
fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
) -> futures::future::BoxFuture<'static, ()> {
    Box::pin(accept_connections(listener, shared))
}

async fn accept_connections(listener: TcpListener, shared: Arc<Shared>) {
    // Dropping this set (when the task is aborted) aborts every connection.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let shared = shared.clone();
                    connections.spawn(async move {
                        let stream = match shared.tls.accept(stream).await {
                            Ok(s) => s,
                            Err(e) => {
                                tracing::debug!("TLS handshake failed: {e}");
                                return;
                            }
                        };
                        let service = hyper::service::service_fn(move |req| {
                            let shared = shared.clone();
                            async move { Ok::<_, Infallible>(handle(shared, req).await) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

fn json_response(code: u16, body: &Value) -> Response<Body> {
    let mut resp = Response::new(full(body.to_string()));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn error_response(e: &ApiError) -> Response<Body> {
    json_response(e.code, &e.to_status())
}

/// Decoded query parameters; the last value of a repeated key wins.
struct Query(HashMap<String, String>);

impl Query {
    fn parse(raw: &str) -> Self {
        Query(
            form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect(),
        )
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }
    fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some("1" | "true" | "True"))
    }
    fn list_options(&self, res: &ResourceDef) -> Result<ListOptions, ApiError> {
        let labels = LabelSelector::parse(self.get("labelSelector").unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
        let fields = FieldSelector::parse_for(
            self.get("fieldSelector").unwrap_or(""),
            res.field_labels,
            resources::FIELD_LABEL_POINTERS,
        )
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let limit = match self.get("limit") {
            None | Some("") => None,
            Some(l) => Some(
                l.parse::<i64>()
                    .map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}")))?
                    .max(0) as usize,
            ),
        };
        Ok(ListOptions {
            labels,
            fields,
            limit: limit.filter(|l| *l > 0),
            continue_token: self
                .get("continue")
                .filter(|c| !c.is_empty())
                .map(str::to_string),
        })
    }
}

/// Who is asking: a valid bearer token's user, or nobody.
fn authenticate<'a>(shared: &'a Shared, req: &Request<Incoming>) -> Option<&'a User> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?.trim();
    shared.users.authenticate(token)
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let raw_query = req.uri().query().unwrap_or("").to_string();
    let user = authenticate(&shared, &req).cloned();
    let latency = shared.faults.latency();
    if !latency.is_zero() && !path.starts_with("/_sim/") {
        tokio::time::sleep(latency).await;
    }
    let mut resp = respond(&shared, user.as_ref(), req).await;
    // The server's own clock, as a real API server's Date header carries it.
    let date = shared
        .store
        .clock()
        .now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    if let Ok(v) = HeaderValue::from_str(&date) {
        resp.headers_mut().insert(header::DATE, v);
    }
    shared.log.record(RequestRecord {
        time: chrono::Utc::now(),
        user: user.map(|u| u.name).unwrap_or_default(),
        method: method.to_string(),
        path,
        query: raw_query,
        status: resp.status().as_u16(),
    });
    resp
}

async fn respond(
    shared: &Arc<Shared>,
    user: Option<&User>,
    req: Request<Incoming>,
) -> Response<Body> {
    let path = req.uri().path().to_string();
    if matches!(
        path.as_str(),
        "/version" | "/healthz" | "/livez" | "/readyz"
    ) {
        return match path.as_str() {
            "/version" => json_response(200, &version()),
            _ => {
                let mut r = Response::new(full("ok"));
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
                r
            }
        };
    }
    let Some(user) = user else {
        return error_response(&ApiError::unauthorized());
    };
    if let Some(admin_path) = path.strip_prefix("/_sim/") {
        if user.name != Role::Admin.user_name() {
            return error_response(&ApiError::forbidden_path(&user.name, &path));
        }
        return admin(shared, admin_path, req).await;
    }
    if let Some(code) = shared.faults.roll_error() {
        let e = if code == 500 {
            ApiError::internal("injected fault: internal error")
        } else {
            ApiError::unavailable(
                "injected fault: the server is currently unable to handle the request",
            )
        };
        return error_response(&e);
    }
    match api(shared, user, req).await {
        Ok(resp) => resp,
        Err(e) => error_response(&e),
    }
}

/// The Kubernetes version the simulator answers as.
pub const VERSION: &str = "v1.32.0-cutover-sim";

fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.23.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// A parsed resource URL.
struct Target3<'a> {
    res: &'static ResourceDef,
    namespace: Option<String>,
    name: Option<&'a str>,
    subresource: Option<&'a str>,
}

fn parse_resource_path(path: &str) -> Result<Option<Target3<'_>>, ApiError> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Ok(None),
    };
    if rest.is_empty() {
        return Ok(None);
    }
    let namespaced_form = rest.len() >= 3
        && rest[0] == "namespaces"
        && resources::lookup(group, version, rest[2]).is_some_and(|r| r.namespaced);
    let (ns, plural, tail) = if namespaced_form {
        (Some(rest[1].to_string()), rest[2], &rest[3..])
    } else {
        (None, rest[0], &rest[1..])
    };
    let res = resources::lookup(group, version, plural).ok_or_else(ApiError::path_not_found)?;
    let (name, subresource) = match tail {
        [] => (None, None),
        [name] => (Some(*name), None),
        [name, sub] => (Some(*name), Some(*sub)),
        _ => return Err(ApiError::path_not_found()),
    };
    if let Some(sub) = subresource {
        let served = (sub == "status" && res.status) || (sub == "scale" && res.scale);
        if !served {
            return Err(ApiError::path_not_found());
        }
    }
    if res.namespaced && name.is_some() && ns.is_none() {
        return Err(ApiError::path_not_found());
    }
    Ok(Some(Target3 {
        res,
        namespace: ns,
        name,
        subresource,
    }))
}

async fn read_body(req: Request<Incoming>) -> Result<Bytes, ApiError> {
    req.into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))
}

fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
}

async fn api(
    shared: &Arc<Shared>,
    user: &User,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let path = req.uri().path().to_string();
    let query = Query::parse(req.uri().query().unwrap_or(""));
    let method = req.method().clone();
    let addr = shared.addr.to_string();
    if let Some((content_type, doc)) =
        super::openapi::document(&path, header_str(&req, header::ACCEPT))?
    {
        if method != Method::GET {
            return Err(ApiError::method_not_allowed(
                "OpenAPI documents are read-only",
            ));
        }
        let mut resp = Response::new(full(doc));
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        return Ok(resp);
    }
    let discovery = match path.trim_end_matches('/') {
        "/api" => Some(resources::api_versions(&addr)),
        "/apis" => Some(resources::api_group_list()),
        p => match p
            .trim_start_matches('/')
            .split('/')
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["api", v] => {
                Some(resources::api_resource_list("", v).ok_or_else(ApiError::path_not_found)?)
            }
            ["apis", g] => Some(resources::api_group(g).ok_or_else(ApiError::path_not_found)?),
            ["apis", g, v] => {
                Some(resources::api_resource_list(g, v).ok_or_else(ApiError::path_not_found)?)
            }
            _ => None,
        },
    };
    if let Some(doc) = discovery {
        if method != Method::GET {
            return Err(ApiError::method_not_allowed(
                "discovery documents are read-only",
            ));
        }
        return Ok(json_response(200, &doc));
    }
    let target = parse_resource_path(&path)?.ok_or_else(ApiError::path_not_found)?;
    let res = target.res;
    let watch = query.flag("watch");
    let verb = match (&method, target.name.is_some()) {
        (&Method::GET, _) if watch => "watch",
        (&Method::GET, true) => "get",
        (&Method::GET, false) => "list",
        (&Method::POST, false) => "create",
        (&Method::PUT, true) => "update",
        (&Method::PATCH, true) => "patch",
        (&Method::DELETE, true) => "delete",
        (&Method::DELETE, false) => "deletecollection",
        _ => {
            return Err(ApiError::method_not_allowed(format!(
                "{method} is not supported on {path}"
            )));
        }
    };
    if !res.verbs.contains(&verb) {
        return Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({verb} {})",
            res.plural
        )));
    }
    let access = Access {
        verb,
        group: res.group,
        resource: res.plural,
        subresource: target.subresource,
        name: target.name,
    };
    if !user.allows(&access) {
        return Err(ApiError::forbidden(
            &user.name,
            verb,
            res,
            target.subresource,
            target.namespace.as_deref(),
            target.name,
        ));
    }
    let ns = target.namespace.clone().unwrap_or_default();
    let dry_run = query.get("dryRun").is_some_and(|d| d == "All");
    let field_validation = FieldValidation::from_query(query.get("fieldValidation"))?;
    let store = &shared.store;
    // Some served resources are views of objects stored under another one.
    let conversion = super::convert::conversion_for(res);
    let served = |v: Arc<Value>| match &conversion {
        Some(c) => c.to_served(Arc::unwrap_or_clone(v)),
        None => Arc::unwrap_or_clone(v),
    };
    let to_stored = |v: Value| match &conversion {
        Some(c) => c.to_stored(v),
        None => v,
    };
    let stored = conversion.as_ref().map_or(res, |c| c.stored);
    let write_target = match target.subresource {
        Some("status") => Target::Status,
        _ => Target::Main,
    };
    match verb {
        "get" if target.subresource == Some("scale") => {
            let obj = store.get(stored, &ns, target.name.unwrap_or_default())?;
            Ok(json_response(200, &scale_of(&obj)))
        }
        "get" => Ok(json_response(
            200,
            &served(store.get(stored, &ns, target.name.unwrap_or_default())?),
        )),
        "list" => {
            let opts = query.list_options(res)?;
            let list = store.list(stored, target.namespace.as_deref(), &opts)?;
            let mut metadata = json!({"resourceVersion": list.resource_version.to_string()});
            if let Some(c) = list.continue_token {
                metadata["continue"] = json!(c);
            }
            if let Some(n) = list.remaining {
                metadata["remainingItemCount"] = json!(n);
            }
            Ok(json_response(
                200,
                &json!({
                    "kind": format!("{}List", res.kind),
                    "apiVersion": res.api_version(),
                    "metadata": metadata,
                    "items": list.items.into_iter().map(served).collect::<Vec<_>>(),
                }),
            ))
        }
        "watch" => {
            let mut opts = query.list_options(res)?;
            if let Some(name) = target.name {
                opts.fields = FieldSelector::parse(&format!("metadata.name={name}"))
                    .map_err(|e| ApiError::bad_request(e.to_string()))?;
            }
            watch_response(
                shared,
                stored,
                conversion,
                target.namespace.clone(),
                opts,
                &query,
            )
        }
        "create" if res.virtual_create => {
            let protobuf = super::protobuf::is_protobuf(header_str(&req, header::CONTENT_TYPE));
            let raw = read_body(req).await?;
            let body = if protobuf {
                super::protobuf::decode_review(&raw)?
            } else {
                parse_json(&raw)?
            };
            Ok(json_response(201, &review(shared, user, res, body)?))
        }
        "create" => {
            let body = object_body(req, res).await?;
            let warnings = validation::check(res, field_validation, &body)?;
            let created = store.create(stored, &ns, to_stored(body), Target::Main, dry_run)?;
            Ok(warned(json_response(201, &served(created)), &warnings))
        }
        "update" | "patch" if target.subresource == Some("scale") => {
            let name = target.name.unwrap_or_default();
            let kind = patch_kind(&req, verb)?;
            let body = read_body(req).await?;
            let current = store.get(res, &ns, name)?;
            let scale = match kind {
                Some(k) => super::patch::apply_patch(k, &scale_of(&current), &body)
                    .map_err(|e| ApiError::invalid("Scale", name, "patch", e.to_string()))?,
                None => parse_json(&body)?,
            };
            let replicas = scale["spec"]["replicas"].as_i64().ok_or_else(|| {
                ApiError::invalid("Scale", name, "spec.replicas", "Required value")
            })?;
            let patch = json!({"spec": {"replicas": replicas}}).to_string();
            let obj = store.patch(
                res,
                &ns,
                name,
                PatchKind::Merge,
                patch.as_bytes(),
                Target::Main,
                dry_run,
            )?;
            Ok(json_response(200, &scale_of(&obj)))
        }
        "update" => {
            let body = object_body(req, res).await?;
            let warnings = validation::check(res, field_validation, &body)?;
            let name = target.name.unwrap_or_default();
            let updated =
                store.update(stored, &ns, name, to_stored(body), write_target, dry_run)?;
            Ok(warned(json_response(200, &served(updated)), &warnings))
        }
        "patch" => {
            let kind = patch_kind(&req, verb)?.expect("patch has a kind");
            let body = read_body(req).await?;
            let warnings = validation::check_patch(res, field_validation, kind, &body)?;
            let name = target.name.unwrap_or_default();
            let patched = match &conversion {
                None => store.patch(res, &ns, name, kind, &body, write_target, dry_run)?,
                // The patch is written against the served form: apply it there,
                // then store the converted result if nobody wrote in between.
                Some(c) => {
                    let current = store.get(stored, &ns, name)?;
                    let next = super::patch::apply_patch(kind, &served(current), &body)
                        .map_err(|e| ApiError::invalid(res.kind, name, "patch", e.to_string()))?;
                    store.update(stored, &ns, name, c.to_stored(next), write_target, dry_run)?
                }
            };
            Ok(warned(json_response(200, &served(patched)), &warnings))
        }
        "delete" => {
            let body = read_body(req).await?;
            let opts = delete_options(&query, &body)?;
            let name = target.name.unwrap_or_default();
            if let Some(uid) = &opts.uid {
                let current = store.get(stored, &ns, name)?;
                if current["metadata"]["uid"].as_str() != Some(uid) {
                    return Err(ApiError::conflict(res, name));
                }
            }
            let dry = dry_run || opts.dry_run;
            Ok(json_response(
                200,
                &served(store.delete(stored, &ns, name, opts.propagation, dry)?),
            ))
        }
        "deletecollection" => {
            let body = read_body(req).await?;
            let opts = delete_options(&query, &body)?;
            let items = store.delete_collection(
                stored,
                target.namespace.as_deref(),
                &query.list_options(res)?,
                dry_run || opts.dry_run,
            )?;
            Ok(json_response(
                200,
                &json!({
                    "kind": format!("{}List", res.kind),
                    "apiVersion": res.api_version(),
                    "metadata": {"resourceVersion": store.resource_version().to_string()},
                    "items": items.into_iter().map(served).collect::<Vec<_>>(),
                }),
            ))
        }
        _ => Err(ApiError::method_not_allowed(verb.to_string())),
    }
}

fn header_str(req: &Request<Incoming>, name: header::HeaderName) -> &str {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// An object sent to create or replace: JSON, or protobuf as kubectl's typed
/// clients send it.
async fn object_body(req: Request<Incoming>, res: &ResourceDef) -> Result<Value, ApiError> {
    let protobuf = super::protobuf::is_protobuf(header_str(&req, header::CONTENT_TYPE));
    let raw = read_body(req).await?;
    if protobuf {
        super::pbobject::decode(res, &raw)
    } else {
        parse_json(&raw)
    }
}

/// The answer with a `Warning` header per warning, as kubectl prints them.
fn warned(mut resp: Response<Body>, warnings: &[String]) -> Response<Body> {
    for w in warnings {
        let text = format!("299 - \"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""));
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    resp
}

/// The patch type from Content-Type; `None` for a plain PUT.
fn patch_kind(req: &Request<Incoming>, verb: &str) -> Result<Option<PatchKind>, ApiError> {
    if verb != "patch" {
        return Ok(None);
    }
    let ct = header_str(req, header::CONTENT_TYPE);
    PatchKind::from_content_type(ct)
        .map(Some)
        .ok_or_else(|| ApiError::unsupported_media_type(ct))
}

struct DeleteOpts {
    propagation: Propagation,
    dry_run: bool,
    uid: Option<String>,
}

fn delete_options(query: &Query, body: &[u8]) -> Result<DeleteOpts, ApiError> {
    let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        parse_json(body)?
    };
    let policy = body["propagationPolicy"]
        .as_str()
        .or_else(|| query.get("propagationPolicy"))
        .map(str::to_string);
    let orphan = body["orphanDependents"].as_bool() == Some(true) || query.flag("orphanDependents");
    let propagation = match policy.as_deref() {
        Some("Orphan") => Propagation::Orphan,
        Some("Foreground") => Propagation::Foreground,
        Some("Background") | None if !orphan => Propagation::Background,
        None => Propagation::Orphan,
        Some(other) => {
            return Err(ApiError::invalid(
                "DeleteOptions",
                "",
                "propagationPolicy",
                format!("Unsupported value: \"{other}\""),
            ));
        }
    };
    let dry_run = body["dryRun"]
        .as_array()
        .is_some_and(|d| d.iter().any(|x| x == "All"));
    let uid = body["preconditions"]["uid"].as_str().map(str::to_string);
    Ok(DeleteOpts {
        propagation,
        dry_run,
        uid,
    })
}

/// The autoscaling/v1 Scale view of an object with `spec.replicas`.
fn scale_of(obj: &Value) -> Value {
    let m = &obj["metadata"];
    let selector = obj["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|labels| {
            labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m["name"],
            "namespace": m["namespace"],
            "uid": m["uid"],
            "resourceVersion": m["resourceVersion"],
            "creationTimestamp": m["creationTimestamp"],
        },
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {
            "replicas": obj["status"]["replicas"].as_i64().unwrap_or(0),
            "selector": selector,
        },
    })
}

/// Answer a SelfSubjectAccessReview or SelfSubjectReview by the user's own rules.
fn review(
    shared: &Shared,
    user: &User,
    res: &ResourceDef,
    mut body: Value,
) -> Result<Value, ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    body["apiVersion"] = json!(res.api_version());
    body["kind"] = json!(res.kind);
    body["metadata"] = json!({"creationTimestamp": shared.store.clock().now().format("%Y-%m-%dT%H:%M:%SZ").to_string()});
    match res.plural {
        "selfsubjectreviews" => {
            body["status"] = json!({"userInfo": user.user_info()});
        }
        _ => {
            let attrs = &body["spec"]["resourceAttributes"];
            let allowed = if attrs.is_object() {
                let given = |field: &str| attrs[field].as_str().filter(|s| !s.is_empty());
                user.allows(&Access {
                    verb: attrs["verb"].as_str().unwrap_or(""),
                    group: attrs["group"].as_str().unwrap_or(""),
                    resource: attrs["resource"].as_str().unwrap_or(""),
                    subresource: given("subresource"),
                    name: given("name"),
                })
            } else {
                // Non-resource URLs (/healthz, /version …) are readable by everyone.
                let verb = body["spec"]["nonResourceAttributes"]["verb"]
                    .as_str()
                    .unwrap_or("");
                verb == "get" || user.name == Role::Admin.user_name()
            };
            let mut status = json!({"allowed": allowed});
            if allowed {
                status["reason"] = json!(format!("allowed by the rules of user {:?}", user.name));
            }
            body["status"] = status;
        }
    }
    Ok(body)
}

/// One line of a watch stream.
fn watch_line(kind: &str, object: &Value) -> Bytes {
    // Written out rather than through `json!`, which would copy the object.
    let line = format!("{{\"type\":\"{kind}\",\"object\":{object}}}\n");
    Bytes::from(line)
}

/// How a change looks to one watch: label-selected watches see an object
/// that stops matching as DELETED and one that starts matching as ADDED.
fn visible_event(
    change: &Change,
    res: &ResourceDef,
    ns: Option<&str>,
    opts: &ListOptions,
) -> Option<(EventType, Arc<Value>)> {
    if !std::ptr::eq(change.res, res) {
        return None;
    }
    if let Some(ns) = ns
        && res.namespaced
        && change.namespace != ns
    {
        return None;
    }
    let now = opts.matches(&change.object);
    let before = change.old.as_ref().is_some_and(|o| opts.matches(o));
    match change.event {
        EventType::Added if now => Some((EventType::Added, change.object.clone())),
        EventType::Deleted if now || before => Some((EventType::Deleted, change.object.clone())),
        EventType::Modified => match (before, now) {
            (true, true) => Some((EventType::Modified, change.object.clone())),
            (false, true) => Some((EventType::Added, change.object.clone())),
            (true, false) => {
                let mut gone = change.old.as_deref().cloned().unwrap_or_default();
                gone["metadata"]["resourceVersion"] = json!(change.rv.to_string());
                Some((EventType::Deleted, Arc::new(gone)))
            }
            (false, false) => None,
        },
        _ => None,
    }
}

fn bookmark(res: &ResourceDef, rv: u64, initial_events_end: bool) -> Value {
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if initial_events_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    json!({"kind": res.kind, "apiVersion": res.api_version(), "metadata": metadata})
}

fn streaming_response(rx: mpsc::Receiver<Bytes>) -> Response<Body> {
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, Infallible>(Frame::data(bytes)), rx))
    });
    let mut resp = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn watch_response(
    shared: &Arc<Shared>,
    res: &'static ResourceDef,
    conversion: Option<super::convert::Conversion>,
    ns: Option<String>,
    opts: ListOptions,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let from = match query.get("resourceVersion") {
        None | Some("") | Some("0") => None,
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv:?}")))?,
        ),
    };
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let bookmarks = query.flag("allowWatchBookmarks");
    let send_initial_events = query.flag("sendInitialEvents");
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    // Like a real server, an expired version is an ERROR event in a 200 stream.
    let start = if shared.faults.take_gone() {
        Err(ApiError::expired(format!(
            "too old resource version: {} ({})",
            from.unwrap_or(0),
            shared.store.resource_version()
        )))
    } else {
        shared
            .store
            .watch(res, if send_initial_events { None } else { from })
    };
    let start = match start {
        Ok(s) => s,
        Err(e) => {
            let line = watch_line("ERROR", &e.to_status());
            tokio::spawn(async move {
                let _ = tx.send(line).await;
            });
            return Ok(streaming_response(rx));
        }
    };
    let mut cut = shared.faults.cut_signal();
    let interval = shared.bookmark_interval;
    let event_line = move |kind: &str, obj: Arc<Value>| match &conversion {
        Some(c) => watch_line(kind, &c.to_served(Arc::unwrap_or_clone(obj))),
        None => watch_line(kind, &obj),
    };
    tokio::spawn(async move {
        let mut last_rv = start.resource_version;
        for change in &start.initial {
            if let Some((kind, obj)) = visible_event(change, res, ns.as_deref(), &opts)
                && tx.send(event_line(kind.as_str(), obj)).await.is_err()
            {
                return;
            }
        }
        if send_initial_events
            && tx
                .send(event_line(
                    "BOOKMARK",
                    Arc::new(bookmark(res, last_rv, true)),
                ))
                .await
                .is_err()
        {
            return;
        }
        let mut live = start.live;
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let mut ticker = tokio::time::interval(interval);
        ticker.tick().await;
        loop {
            tokio::select! {
                change = live.recv() => match change {
                    Ok(change) => {
                        last_rv = last_rv.max(change.rv);
                        if let Some((kind, obj)) = visible_event(&change, res, ns.as_deref(), &opts)
                            && tx.send(event_line(kind.as_str(), obj)).await.is_err() {
                                return;
                            }
                    }
                    // A watcher too slow to keep up is closed; it resumes from its last version.
                    Err(_) => return,
                },
                _ = ticker.tick(), if bookmarks => {
                    if tx.send(event_line("BOOKMARK", Arc::new(bookmark(res, last_rv, false)))).await.is_err() {
                        return;
                    }
                }
                _ = async { tokio::time::sleep_until(deadline.expect("guarded")).await }, if deadline.is_some() => return,
                _ = cut.changed() => return,
                _ = tx.closed() => return,
            }
        }
    });
    Ok(streaming_response(rx))
}

/// `/_sim/...`: switch faults while the server runs (admin token only).
async fn admin(shared: &Arc<Shared>, path: &str, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().clone();
    let query = Query::parse(req.uri().query().unwrap_or(""));
    let faults = &shared.faults;
    let state = |faults: &Faults| {
        let mut v = serde_json::to_value(faults.settings()).unwrap_or_default();
        v["forcedGone"] = json!(faults.forced_gone_left());
        v
    };
    match (method, path.trim_end_matches('/')) {
        (Method::GET, "faults") => json_response(200, &state(faults)),
        (Method::PUT, "faults") => {
            let body = match read_body(req).await.and_then(|b| parse_json(&b)) {
                Ok(b) => b,
                Err(e) => return error_response(&e),
            };
            match serde_json::from_value::<FaultSettings>(body.clone()) {
                Ok(s) => {
                    faults.set(s);
                    if let Some(n) = body["forcedGone"].as_u64() {
                        faults.force_gone(n as u32);
                    }
                    json_response(200, &state(faults))
                }
                Err(e) => error_response(&ApiError::bad_request(format!("fault settings: {e}"))),
            }
        }
        (Method::DELETE, "faults") => {
            faults.clear();
            json_response(200, &state(faults))
        }
        (Method::POST, "faults/cut-watches") => {
            faults.cut_watches();
            json_response(200, &state(faults))
        }
        (Method::POST, "faults/gone") => {
            let n = query.get("count").and_then(|c| c.parse().ok()).unwrap_or(1);
            faults.force_gone(n);
            json_response(200, &state(faults))
        }
        (Method::POST, "faults/outage") => {
            let secs: f64 = query
                .get("seconds")
                .and_then(|c| c.parse().ok())
                .unwrap_or(5.0);
            let shared = shared.clone();
            tokio::spawn(async move {
                // Let this answer reach the client before the listener goes.
                tokio::time::sleep(Duration::from_millis(100)).await;
                shared.stop_listener().await;
                tokio::time::sleep(Duration::from_secs_f64(secs.clamp(0.0, 3600.0))).await;
                if let Err(e) = shared.start_listener().await {
                    tracing::error!("restarting the listener after an outage: {e}");
                }
            });
            json_response(202, &json!({"outageSeconds": secs}))
        }
        (Method::GET, "requests") => json_response(
            200,
            &serde_json::to_value(shared.log.records()).unwrap_or_default(),
        ),
        (Method::GET, "clock") => {
            let clock = shared.store.clock();
            let now = clock
                .now()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            json_response(200, &json!({"now": now, "timeScale": clock.scale()}))
        }
        (
            method @ (Method::GET | Method::POST),
            gate @ ("gate/open" | "gate/close" | "gate/check"),
        ) if (method == Method::GET) == (gate == "gate/check") => {
            let target = if method == Method::GET {
                json!({"name": query.get("name"), "namespace": query.get("namespace")})
            } else {
                match read_body(req).await.and_then(|b| parse_json(&b)) {
                    Ok(t) => t,
                    Err(e) => return error_response(&e),
                }
            };
            let (Some(name), Some(namespace)) =
                (target["name"].as_str(), target["namespace"].as_str())
            else {
                return error_response(&ApiError::bad_request(
                    "a gate is named by name and namespace",
                ));
            };
            match gate {
                "gate/open" => shared.behaviour.open_gate(namespace, name),
                "gate/close" => shared.behaviour.close_gate(namespace, name),
                _ => {}
            }
            let open = shared.behaviour.gate_open(namespace, name);
            // As Flagger's load tester answers a confirm-promotion hook: 403 while closed.
            let code = if open || gate != "gate/check" {
                200
            } else {
                403
            };
            json_response(
                code,
                &json!({"name": name, "namespace": namespace, "open": open}),
            )
        }
        _ => error_response(&ApiError::path_not_found()),
    }
}

impl ApiError {
    fn forbidden_path(user: &str, path: &str) -> Self {
        let mut e = ApiError::forbidden(user, "get", &RESOURCES[0], None, None, None);
        e.message = format!("forbidden: User \"{user}\" cannot access path \"{path}\"");
        e.details = None;
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_paths_parse_like_the_apiserver() {
        let t = parse_resource_path(
            "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout/status",
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.res.plural, "rollouts");
        assert_eq!(t.namespace.as_deref(), Some("shop"));
        assert_eq!(t.name, Some("checkout"));
        assert_eq!(t.subresource, Some("status"));
        let t = parse_resource_path("/api/v1/namespaces/shop")
            .unwrap()
            .unwrap();
        assert_eq!(t.res.plural, "namespaces");
        assert_eq!(t.name, Some("shop"));
        let t = parse_resource_path("/api/v1/namespaces/shop/status")
            .unwrap()
            .unwrap();
        assert_eq!(t.subresource, Some("status"));
        let t = parse_resource_path("/apis/apps/v1/deployments")
            .unwrap()
            .unwrap();
        assert!(t.namespace.is_none() && t.name.is_none());
        assert!(parse_resource_path("/apis/apps/v1/namespaces/shop/deployments/a/exec").is_err());
        assert!(
            parse_resource_path("/apis/argoproj.io/v1alpha1/namespaces/shop/analysisruns/a/scale")
                .is_err()
        );
    }

    #[test]
    fn label_selected_watches_see_objects_leave_and_enter() {
        let res = resources::lookup("", "v1", "pods").unwrap();
        let opts = ListOptions {
            labels: LabelSelector::parse("app=a").unwrap(),
            ..Default::default()
        };
        let old =
            json!({"metadata": {"name": "p", "labels": {"app": "a"}, "resourceVersion": "4"}});
        let new =
            json!({"metadata": {"name": "p", "labels": {"app": "b"}, "resourceVersion": "5"}});
        let change = Change {
            rv: 5,
            event: EventType::Modified,
            res,
            namespace: "shop".into(),
            object: Arc::new(new.clone()),
            old: Some(Arc::new(old.clone())),
        };
        let (kind, obj) = visible_event(&change, res, Some("shop"), &opts).unwrap();
        assert_eq!(kind, EventType::Deleted);
        assert_eq!(obj["metadata"]["resourceVersion"], "5");
        let back = Change {
            object: Arc::new(old),
            old: Some(Arc::new(new)),
            ..change.clone()
        };
        assert_eq!(
            visible_event(&back, res, Some("shop"), &opts).unwrap().0,
            EventType::Added
        );
        assert!(visible_event(&change, res, Some("other"), &opts).is_none());
    }
}
