//! The `/_sim/` endpoints: faults and human gates switched while the
//! server runs (admin token only).

use super::{Body, Query, Shared, error_response, json_response, parse_json, read_body};
use crate::api_error::ApiError;
use crate::faults::{FaultSettings, Faults};
use crate::resources::RESOURCES;
use http::{Method, Request, Response};
use hyper::body::Incoming;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// `/_sim/...`: switch faults while the server runs (admin token only).
pub(super) async fn admin(
    shared: &Arc<Shared>,
    path: &str,
    req: Request<Incoming>,
) -> Response<Body> {
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
    pub(super) fn forbidden_path(user: &str, path: &str) -> Self {
        let mut e = ApiError::forbidden(user, "get", &RESOURCES[0], None, None, None);
        e.message = format!("forbidden: User \"{user}\" cannot access path \"{path}\"");
        e.details = None;
        e
    }
}
