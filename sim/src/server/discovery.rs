//! The API's documents: the version, discovery (`/api`, `/apis`, a group,
//! a group version) and the OpenAPI documents; all read-only.

use super::{Body, Shared, VERSION, full, json_response};
use crate::api_error::ApiError;
use crate::resources;
use http::{HeaderValue, Method, Response, header};
use serde_json::{Value, json};

pub(super) fn version() -> Value {
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

/// The OpenAPI or discovery document at `path`; None when `path` names none.
pub(super) fn document(
    shared: &Shared,
    path: &str,
    method: &Method,
    accept: &str,
) -> Result<Option<Response<Body>>, ApiError> {
    let addr = shared.addr.to_string();
    if let Some((content_type, doc)) = crate::openapi::document(path, accept)? {
        if *method != Method::GET {
            return Err(ApiError::method_not_allowed(
                "OpenAPI documents are read-only",
            ));
        }
        let mut resp = Response::new(full(doc));
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        return Ok(Some(resp));
    }
    let discovery = match path.trim_end_matches('/') {
        "/api" => Some(resources::api_versions(&addr)),
        "/apis" => Some(resources::api_group_list(shared.served)),
        p => match p
            .trim_start_matches('/')
            .split('/')
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["api", v] => Some(
                resources::api_resource_list("", v, shared.served)
                    .ok_or_else(ApiError::path_not_found)?,
            ),
            ["apis", g] => {
                Some(resources::api_group(g, shared.served).ok_or_else(ApiError::path_not_found)?)
            }
            ["apis", g, v] => Some(
                resources::api_resource_list(g, v, shared.served)
                    .ok_or_else(ApiError::path_not_found)?,
            ),
            _ => None,
        },
    };
    let Some(doc) = discovery else {
        return Ok(None);
    };
    if *method != Method::GET {
        return Err(ApiError::method_not_allowed(
            "discovery documents are read-only",
        ));
    }
    Ok(Some(json_response(200, &doc)))
}
