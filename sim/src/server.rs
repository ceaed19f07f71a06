//! The HTTP face of the simulated cluster: discovery, get/list/watch/create/
//! update/patch/delete with the status and scale subresources, bearer-token
//! authentication and RBAC, Status errors, the request log, and the admin
//! endpoint that switches faults while the server runs.

mod access_review;
mod admin;
mod discovery;
mod objects;
mod resource_path;
mod subresources;
mod watch;

use super::api_error::ApiError;
use super::behaviour::Behaviour;
use super::faults::Faults;
use super::rbac::{RbacRequest, Role, User, Users};
use super::reqlog::{RequestLog, RequestRecord};
use super::resources::{self, ResourceDef};
use super::selector::{FieldSelector, LabelSelector};
use super::store::{ListOptions, Store};
use admin::admin;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use objects::ObjectRequest;
use resource_path::parse_resource_path;
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Mutex;
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
    /// The versions served where the table has several of a kind.
    pub served: resources::Served,
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
    pub served: resources::Served,
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
            served: parts.served,
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
            "/version" => json_response(200, &discovery::version()),
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

/// The Kubernetes API: its documents (OpenAPI, discovery), else a route on
/// a resource's objects, once the user's rules allow the verb.
async fn api(
    shared: &Arc<Shared>,
    user: &User,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let path = req.uri().path().to_string();
    let query = Query::parse(req.uri().query().unwrap_or(""));
    let method = req.method().clone();
    if let Some(resp) =
        discovery::document(shared, &path, &method, header_str(&req, header::ACCEPT))?
    {
        return Ok(resp);
    }
    let target = parse_resource_path(&path, shared.served)?.ok_or_else(ApiError::path_not_found)?;
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
    let access = RbacRequest {
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
    let call = ObjectRequest::new(shared, target, query)?;
    match verb {
        "get" if call.target.subresource == Some("scale") => subresources::get_scale(&call),
        "update" | "patch" if call.target.subresource == Some("scale") => {
            subresources::write_scale(&call, verb, req).await
        }
        "watch" => watch::route(call),
        "create" if res.virtual_create => access_review::route(&call, user, req).await,
        "get" => call.get(),
        "list" => call.list(),
        "create" => call.create(req).await,
        "update" => call.update(req).await,
        "patch" => call.patch(req).await,
        "delete" => call.delete(req).await,
        "deletecollection" => call.delete_collection(req).await,
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
