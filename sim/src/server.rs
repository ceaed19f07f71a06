//! The HTTP face of the simulated cluster: discovery, get/list/watch/create/
//! update/patch/delete with the status and scale subresources, bearer-token
//! authentication and RBAC, Status errors, the request log, and the admin
//! endpoint that switches faults while the server runs.

mod access_review;
mod admin;
mod objects;
mod resource_path;
mod subresources;
mod watch;

use super::behaviour::Behaviour;
use super::faults::Faults;
use super::patch::PatchKind;
use super::rbac::{Access, Role, User, Users};
use super::reqlog::{RequestLog, RequestRecord};
use super::resources::{self, ResourceDef};
use super::selector::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::store::{ListOptions, Store, Target};
use super::validation::{self, FieldValidation};
use access_review::review;
use admin::admin;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use objects::{delete_options, object_body, patch_kind, warned};
use resource_path::parse_resource_path;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use subresources::scale_of;
use tokio::net::TcpListener;
use tokio::sync::Mutex;
use tokio::task::{JoinHandle, JoinSet};
use watch::watch_response;

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

#[cfg(test)]
mod tests;
