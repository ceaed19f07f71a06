//! SelfSubjectAccessReview and SelfSubjectReview, answered from the
//! user's own rules.

use super::objects::ObjectRequest;
use super::{Body, Shared, header_str, json_response, parse_json, read_body};
use crate::api_error::ApiError;
use crate::rbac::{RbacRequest, Role, User};
use crate::resources::ResourceDef;
use http::{Request, Response, header};
use hyper::body::Incoming;
use serde_json::{Value, json};

/// A review created: the body in JSON, or protobuf as kubectl sends it.
pub(super) async fn route(
    call: &ObjectRequest<'_>,
    user: &User,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let protobuf = crate::protobuf::is_protobuf(header_str(&req, header::CONTENT_TYPE));
    let raw = read_body(req).await?;
    let body = if protobuf {
        crate::protobuf::decode_review(&raw)?
    } else {
        parse_json(&raw)?
    };
    Ok(json_response(
        201,
        &review(call.shared, user, call.target.res, body)?,
    ))
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
                user.allows(&RbacRequest {
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
