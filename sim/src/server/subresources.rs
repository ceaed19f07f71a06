//! The scale subresource: the autoscaling/v1 Scale view of an object, read
//! and written. (The status subresource is a plain object route writing
//! only the status.)

use super::objects::{ObjectRequest, patch_kind};
use super::{Body, json_response, parse_json, read_body};
use crate::api_error::ApiError;
use crate::patch::PatchKind;
use crate::store::WriteScope;
use http::{Request, Response};
use hyper::body::Incoming;
use serde_json::{Value, json};

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

pub(super) fn get_scale(call: &ObjectRequest<'_>) -> Result<Response<Body>, ApiError> {
    let obj = call.shared.store.get(call.stored, &call.ns, call.name())?;
    Ok(json_response(200, &scale_of(&obj)))
}

/// A PUT or PATCH of the Scale: only `spec.replicas` reaches the object.
pub(super) async fn write_scale(
    call: &ObjectRequest<'_>,
    verb: &str,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let (res, store, ns, name) = (call.target.res, &call.shared.store, &call.ns, call.name());
    let kind = patch_kind(&req, verb)?;
    let body = read_body(req).await?;
    let current = store.get(res, ns, name)?;
    let scale = match kind {
        Some(k) => crate::patch::apply_patch(k, &scale_of(&current), &body)
            .map_err(|e| ApiError::invalid("Scale", name, "patch", e.to_string()))?,
        None => parse_json(&body)?,
    };
    let replicas = scale["spec"]["replicas"]
        .as_i64()
        .ok_or_else(|| ApiError::invalid("Scale", name, "spec.replicas", "Required value"))?;
    let patch = json!({"spec": {"replicas": replicas}}).to_string();
    let obj = store.patch(
        res,
        ns,
        name,
        PatchKind::Merge,
        patch.as_bytes(),
        WriteScope::Main,
        call.dry_run,
    )?;
    Ok(json_response(200, &scale_of(&obj)))
}
