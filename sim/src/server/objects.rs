//! The resource routes: get, list, create, update, patch, delete and
//! deletecollection of a resource's objects, and what their requests carry.

use super::{Body, Query, header_str, parse_json, read_body};
use crate::patch::PatchKind;
use crate::resources::ResourceDef;
use crate::status::ApiError;
use crate::store::Propagation;
use http::{HeaderValue, Request, Response, header};
use hyper::body::Incoming;
use serde_json::{Value, json};

/// An object sent to create or replace: JSON, or protobuf as kubectl's typed
/// clients send it.
pub(super) async fn object_body(
    req: Request<Incoming>,
    res: &ResourceDef,
) -> Result<Value, ApiError> {
    let protobuf = crate::protobuf::is_protobuf(header_str(&req, header::CONTENT_TYPE));
    let raw = read_body(req).await?;
    if protobuf {
        crate::pbobject::decode(res, &raw)
    } else {
        parse_json(&raw)
    }
}

/// The answer with a `Warning` header per warning, as kubectl prints them.
pub(super) fn warned(mut resp: Response<Body>, warnings: &[String]) -> Response<Body> {
    for w in warnings {
        let text = format!("299 - \"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""));
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    resp
}

/// The patch type from Content-Type; `None` for a plain PUT.
pub(super) fn patch_kind(
    req: &Request<Incoming>,
    verb: &str,
) -> Result<Option<PatchKind>, ApiError> {
    if verb != "patch" {
        return Ok(None);
    }
    let ct = header_str(req, header::CONTENT_TYPE);
    PatchKind::from_content_type(ct)
        .map(Some)
        .ok_or_else(|| ApiError::unsupported_media_type(ct))
}

pub(super) struct DeleteOpts {
    pub(super) propagation: Propagation,
    pub(super) dry_run: bool,
    pub(super) uid: Option<String>,
}

pub(super) fn delete_options(query: &Query, body: &[u8]) -> Result<DeleteOpts, ApiError> {
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
