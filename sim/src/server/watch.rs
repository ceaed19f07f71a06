//! Watch streams: the initial events, changes as each watch sees them
//! through its selectors, bookmarks and the timeout.

use super::objects::ObjectRequest;
use super::{Body, Query, Shared};
use crate::api_error::ApiError;
use crate::resources::ResourceDef;
use crate::selector::FieldSelector;
use crate::store::{Change, ChangeType, ListOptions};
use bytes::Bytes;
use http::{HeaderValue, Response, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// One line of a watch stream.
fn watch_line(kind: &str, object: &Value) -> Bytes {
    // Written out rather than through `json!`, which would copy the object.
    let line = format!("{{\"type\":\"{kind}\",\"object\":{object}}}\n");
    Bytes::from(line)
}

/// How a change looks to one watch: label-selected watches see an object
/// that stops matching as DELETED and one that starts matching as ADDED.
pub(super) fn visible_event(
    change: &Change,
    res: &ResourceDef,
    ns: Option<&str>,
    opts: &ListOptions,
) -> Option<(ChangeType, Arc<Value>)> {
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
        ChangeType::Added if now => Some((ChangeType::Added, change.object.clone())),
        ChangeType::Deleted if now || before => Some((ChangeType::Deleted, change.object.clone())),
        ChangeType::Modified => match (before, now) {
            (true, true) => Some((ChangeType::Modified, change.object.clone())),
            (false, true) => Some((ChangeType::Added, change.object.clone())),
            (true, false) => {
                let mut gone = change.old.as_deref().cloned().unwrap_or_default();
                gone["metadata"]["resourceVersion"] = json!(change.rv.to_string());
                Some((ChangeType::Deleted, Arc::new(gone)))
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

/// A watch on a resource's objects (on one object when the path names it).
pub(super) fn route(call: ObjectRequest<'_>) -> Result<Response<Body>, ApiError> {
    let mut opts = call.query.list_options(call.target.res)?;
    if let Some(name) = call.target.name {
        opts.fields = FieldSelector::parse(&format!("metadata.name={name}"))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    watch_response(
        call.shared,
        call.stored,
        call.conversion,
        call.target.namespace.clone(),
        opts,
        &call.query,
    )
}

fn watch_response(
    shared: &Arc<Shared>,
    res: &'static ResourceDef,
    conversion: Option<crate::convert::Conversion>,
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
