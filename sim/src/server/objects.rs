//! The resource routes: get, list, create, update, patch, delete and
//! deletecollection of a resource's objects, and what their requests carry.

use super::resource_path::ResourcePath;
use super::{Body, Query, Shared, header_str, json_response, parse_json, read_body};
use crate::api_error::ApiError;
use crate::convert::Conversion;
use crate::patch::PatchKind;
use crate::resources::ResourceDef;
use crate::store::{Propagation, WriteScope};
use crate::validation::{self, FieldValidation};
use http::{HeaderValue, Request, Response, header};
use hyper::body::Incoming;
use serde_json::{Value, json};
use std::sync::Arc;

/// A request on a resource's objects, with what every route reads of it.
pub(super) struct ObjectRequest<'a> {
    pub(super) shared: &'a Arc<Shared>,
    pub(super) target: ResourcePath<'a>,
    pub(super) query: Query,
    /// The request's namespace; empty for cluster-scoped resources and
    /// requests across all namespaces.
    pub(super) ns: String,
    pub(super) dry_run: bool,
    field_validation: FieldValidation,
    /// Some served resources are views of objects stored under another one.
    pub(super) conversion: Option<Conversion>,
    /// The resource the objects are stored under.
    pub(super) stored: &'static ResourceDef,
    write_target: WriteScope,
}

impl<'a> ObjectRequest<'a> {
    pub(super) fn new(
        shared: &'a Arc<Shared>,
        target: ResourcePath<'a>,
        query: Query,
    ) -> Result<Self, ApiError> {
        let ns = target.namespace.clone().unwrap_or_default();
        let dry_run = query.get("dryRun").is_some_and(|d| d == "All");
        let field_validation = FieldValidation::from_query(query.get("fieldValidation"))?;
        let conversion = crate::convert::conversion_for(target.res);
        let stored = conversion.as_ref().map_or(target.res, |c| c.stored);
        let write_target = match target.subresource {
            Some("status") => WriteScope::Status,
            _ => WriteScope::Main,
        };
        Ok(ObjectRequest {
            shared,
            target,
            query,
            ns,
            dry_run,
            field_validation,
            conversion,
            stored,
            write_target,
        })
    }

    /// The object as the served resource shows it.
    fn served(&self, v: Arc<Value>) -> Value {
        match &self.conversion {
            Some(c) => c.to_served(Arc::unwrap_or_clone(v)),
            None => Arc::unwrap_or_clone(v),
        }
    }

    fn to_stored(&self, v: Value) -> Value {
        match &self.conversion {
            Some(c) => c.to_stored(v),
            None => v,
        }
    }

    /// The object's name; empty on a collection.
    pub(super) fn name(&self) -> &'a str {
        self.target.name.unwrap_or_default()
    }

    pub(super) fn get(&self) -> Result<Response<Body>, ApiError> {
        let obj = self.shared.store.get(self.stored, &self.ns, self.name())?;
        Ok(json_response(200, &self.served(obj)))
    }

    pub(super) fn list(&self) -> Result<Response<Body>, ApiError> {
        let res = self.target.res;
        let opts = self.query.list_options(res)?;
        let list = self
            .shared
            .store
            .list(self.stored, self.target.namespace.as_deref(), &opts)?;
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
                "items": list.items.into_iter().map(|v| self.served(v)).collect::<Vec<_>>(),
            }),
        ))
    }

    pub(super) async fn create(&self, req: Request<Incoming>) -> Result<Response<Body>, ApiError> {
        let res = self.target.res;
        let body = object_body(req, res).await?;
        let warnings = validation::check(res, self.field_validation, &body)?;
        let created = self.shared.store.create(
            self.stored,
            &self.ns,
            self.to_stored(body),
            WriteScope::Main,
            self.dry_run,
        )?;
        Ok(warned(json_response(201, &self.served(created)), &warnings))
    }

    pub(super) async fn update(&self, req: Request<Incoming>) -> Result<Response<Body>, ApiError> {
        let res = self.target.res;
        let body = object_body(req, res).await?;
        let warnings = validation::check(res, self.field_validation, &body)?;
        let updated = self.shared.store.update(
            self.stored,
            &self.ns,
            self.name(),
            self.to_stored(body),
            self.write_target,
            self.dry_run,
        )?;
        Ok(warned(json_response(200, &self.served(updated)), &warnings))
    }

    pub(super) async fn patch(&self, req: Request<Incoming>) -> Result<Response<Body>, ApiError> {
        let (res, store, ns, name) = (self.target.res, &self.shared.store, &self.ns, self.name());
        let kind = patch_kind(&req, "patch")?.expect("patch has a kind");
        let body = read_body(req).await?;
        let warnings = validation::check_patch(res, self.field_validation, kind, &body)?;
        let patched = match &self.conversion {
            None => store.patch(res, ns, name, kind, &body, self.write_target, self.dry_run)?,
            // The patch is written against the served form: apply it there,
            // then store the converted result if nobody wrote in between.
            Some(c) => {
                let current = store.get(self.stored, ns, name)?;
                let next = crate::patch::apply_patch(kind, &self.served(current), &body)
                    .map_err(|e| ApiError::invalid(res.kind, name, "patch", e.to_string()))?;
                store.update(
                    self.stored,
                    ns,
                    name,
                    c.to_stored(next),
                    self.write_target,
                    self.dry_run,
                )?
            }
        };
        Ok(warned(json_response(200, &self.served(patched)), &warnings))
    }

    pub(super) async fn delete(&self, req: Request<Incoming>) -> Result<Response<Body>, ApiError> {
        let (store, name) = (&self.shared.store, self.name());
        let body = read_body(req).await?;
        let opts = delete_options(&self.query, &body)?;
        if let Some(uid) = &opts.uid {
            let current = store.get(self.stored, &self.ns, name)?;
            if current["metadata"]["uid"].as_str() != Some(uid) {
                return Err(ApiError::conflict(self.target.res, name));
            }
        }
        let dry = self.dry_run || opts.dry_run;
        let deleted = store.delete(self.stored, &self.ns, name, opts.propagation, dry)?;
        Ok(json_response(200, &self.served(deleted)))
    }

    pub(super) async fn delete_collection(
        &self,
        req: Request<Incoming>,
    ) -> Result<Response<Body>, ApiError> {
        let (res, store) = (self.target.res, &self.shared.store);
        let body = read_body(req).await?;
        let opts = delete_options(&self.query, &body)?;
        let items = store.delete_collection(
            self.stored,
            self.target.namespace.as_deref(),
            &self.query.list_options(res)?,
            self.dry_run || opts.dry_run,
        )?;
        Ok(json_response(
            200,
            &json!({
                "kind": format!("{}List", res.kind),
                "apiVersion": res.api_version(),
                "metadata": {"resourceVersion": store.resource_version().to_string()},
                "items": items.into_iter().map(|v| self.served(v)).collect::<Vec<_>>(),
            }),
        ))
    }
}

/// An object sent to create or replace: JSON, or protobuf as kubectl's typed
/// clients send it.
async fn object_body(req: Request<Incoming>, res: &ResourceDef) -> Result<Value, ApiError> {
    let protobuf = crate::protobuf::is_protobuf(header_str(&req, header::CONTENT_TYPE));
    let raw = read_body(req).await?;
    if protobuf {
        crate::pbobject::decode(res, &raw)
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
