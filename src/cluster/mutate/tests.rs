//! The requests the Mutator sends, as the API server reads them: method,
//! path, query, content type and body byte for byte as the plan wrote them
//! (the bodies of `kubectl argo rollouts` and `kubectl rollout`), the
//! plugin's fallback when there is no status subresource, and the Event.

use super::Mutator;
use crate::audit::Audit;
use crate::cluster::fingerprint::object_fingerprint;
use crate::cluster::kinds::watched_kind;
use crate::model::{
    Action, ActionOutcome, ActionPlan, ActionRequest, Kind, PatchRequest, PatchType, ReleaseKey,
};
use crate::test_support::fixture::{ARGO_CANARY, DEPLOYMENT_ROLLING, Fixture};
use http::header::CONTENT_TYPE;
use kube::client::Body;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// One request as the server received it.
#[derive(Debug, PartialEq)]
struct Sent {
    method: String,
    path: String,
    /// Empty when there is none (kube ends a bare path with `?`, which
    /// carries no parameter).
    query: String,
    content_type: String,
    body: String,
}

fn sent(method: &str, path: &str, content_type: &str, body: &str) -> Sent {
    Sent {
        method: method.into(),
        path: path.into(),
        query: String::new(),
        content_type: content_type.into(),
        body: body.into(),
    }
}

/// A server holding `objects` (each answered at a path ending in its
/// name) that records every request; without `status_served` its status
/// subresource is missing, as in Argo before v0.10.
fn recording_client(
    objects: Vec<Value>,
    status_served: bool,
) -> (kube::Client, Arc<Mutex<Vec<Sent>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&log);
    let service = tower::service_fn(move |request: http::Request<Body>| {
        let log = Arc::clone(&recorded);
        let path = request.uri().path().trim_end_matches("/status").to_string();
        let object = objects
            .iter()
            .find(|o| {
                o["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| path.ends_with(&format!("/{n}")))
            })
            .unwrap_or(&objects[0])
            .clone();
        async move {
            let (parts, body) = request.into_parts();
            let body = body.collect_bytes().await?;
            let request = Sent {
                method: parts.method.to_string(),
                path: parts.uri.path().to_string(),
                query: parts.uri.query().unwrap_or_default().to_string(),
                content_type: parts
                    .headers
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string(),
                body: String::from_utf8(body.to_vec()).expect("a UTF-8 body"),
            };
            let (status, answer) = if !status_served && request.path.ends_with("/status") {
                let not_found = json!({
                    "kind": "Status", "apiVersion": "v1", "status": "Failure",
                    "reason": "NotFound", "code": 404,
                    "message": "the server could not find the requested resource",
                });
                (404, not_found)
            } else if request.method == "POST" {
                (
                    201,
                    serde_json::from_str(&request.body).expect("a JSON body"),
                )
            } else {
                (200, object)
            };
            log.lock().expect("the request log").push(request);
            let answer = serde_json::to_vec(&answer).expect("JSON");
            Ok::<_, kube::Error>(
                http::Response::builder()
                    .status(status)
                    .header(CONTENT_TYPE, "application/json")
                    .body(Body::from(answer))
                    .expect("a response"),
            )
        }
    });
    (kube::Client::new(service, "shop"), log)
}

/// Run `requests` as one action on `name` of `kind` from `fixture`, as the
/// human saw it; the requests the server received.
async fn execute(
    fixture: &str,
    kind: Kind,
    name: &str,
    requests: Vec<PatchRequest>,
    status_served: bool,
) -> (ActionOutcome, Vec<Sent>) {
    let object = Fixture::load(&[fixture]).object(kind.word(), name);
    let (client, log) = recording_client(
        vec![serde_json::to_value(&object).expect("JSON")],
        status_served,
    );
    let dir = tempfile::tempdir().expect("a temporary folder");
    let wk = watched_kind(kind);
    let mutator = Mutator {
        client,
        kinds: [(wk, wk.api_resource(None))].into(),
        audit: Arc::new(Audit::open(&dir.path().join("audit.jsonl")).expect("the audit file")),
        unleash: None,
    };
    let request = ActionRequest {
        id: 1,
        key: ReleaseKey {
            cluster: String::new(),
            kind,
            namespace: "shop".into(),
            name: name.into(),
        },
        plan: ActionPlan {
            action: Action::Promote,
            requests,
            effect: String::new(),
            revision: "revision 5".into(),
            flag: None,
        },
        seen: object_fingerprint(kind, &object),
        seen_resource_version: object.metadata.resource_version.clone().unwrap_or_default(),
        user: "admin".into(),
        context: "test".into(),
        override_of: None,
    };
    let outcome = mutator.execute(&request).await;
    let log = std::mem::take(&mut *log.lock().expect("the request log"));
    (outcome, log)
}

fn merge(subresource: Option<&'static str>, body: Value) -> PatchRequest {
    PatchRequest {
        subresource,
        kind: PatchType::Merge,
        body,
    }
}

const ROLLOUT: &str = "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout";
const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/shop/deployments/frontend";
const EVENTS: &str = "/api/v1/namespaces/shop/events";
const MERGE: &str = "application/merge-patch+json";

/// The Event's body has a fresh name and time: only where it went counts.
fn without_event_body(mut log: Vec<Sent>) -> Vec<Sent> {
    for request in &mut log {
        if request.path == EVENTS {
            request.body.clear();
        }
    }
    log
}

#[tokio::test]
async fn a_promote_sends_the_plugins_merge_patches_to_the_resource_and_its_status() {
    let requests = vec![
        merge(None, json!({"spec": {"paused": false}})),
        merge(Some("status"), json!({"status": {"pauseConditions": null}})),
    ];
    let (outcome, log) = execute(ARGO_CANARY, Kind::Rollout, "checkout", requests, true).await;
    assert_eq!(outcome, ActionOutcome::Done("2 patches accepted".into()));
    let status = format!("{ROLLOUT}/status");
    assert_eq!(
        without_event_body(log),
        [
            sent("GET", ROLLOUT, "", ""),
            sent("PATCH", ROLLOUT, MERGE, r#"{"spec":{"paused":false}}"#),
            sent(
                "PATCH",
                &status,
                MERGE,
                r#"{"status":{"pauseConditions":null}}"#
            ),
            sent("GET", ROLLOUT, "", ""),
            sent("POST", EVENTS, "application/json", ""),
        ]
    );
}

#[tokio::test]
async fn without_a_status_subresource_the_same_body_goes_to_the_resource() {
    let requests = vec![merge(Some("status"), json!({"status": {"abort": true}}))];
    let (outcome, log) = execute(ARGO_CANARY, Kind::Rollout, "checkout", requests, false).await;
    assert_eq!(outcome, ActionOutcome::Done("1 patch accepted".into()));
    let body = r#"{"status":{"abort":true}}"#;
    assert_eq!(
        without_event_body(log),
        [
            sent("GET", ROLLOUT, "", ""),
            sent("PATCH", &format!("{ROLLOUT}/status"), MERGE, body),
            sent("PATCH", ROLLOUT, MERGE, body),
            sent("GET", ROLLOUT, "", ""),
            sent("POST", EVENTS, "application/json", ""),
        ]
    );
}

#[tokio::test]
async fn json_and_strategic_patches_keep_their_content_type_and_body() {
    let template = json!({"metadata": {"labels": {"app": "frontend"}},
                          "spec": {"containers": [{"name": "frontend", "image": "shop/frontend:2.8.0"}]}});
    let requests = vec![
        PatchRequest {
            subresource: None,
            kind: PatchType::Json,
            body: json!([
                {"op": "replace", "path": "/spec/template", "value": template},
                {"op": "replace", "path": "/metadata/annotations", "value": {"a": "1"}},
            ]),
        },
        PatchRequest {
            subresource: None,
            kind: PatchType::Strategic,
            body: json!({"spec": {"template": {"metadata": {"annotations":
                {"kubectl.kubernetes.io/restartedAt": "2026-08-17T10:00:00Z"}}}}}),
        },
    ];
    let bodies: Vec<String> = requests
        .iter()
        .map(|r| serde_json::to_string(&r.body).expect("JSON"))
        .collect();
    let (outcome, log) = execute(
        DEPLOYMENT_ROLLING,
        Kind::Deployment,
        "frontend",
        requests,
        true,
    )
    .await;
    assert_eq!(outcome, ActionOutcome::Done("2 patches accepted".into()));
    assert_eq!(
        without_event_body(log),
        [
            sent("GET", DEPLOYMENT, "", ""),
            sent(
                "PATCH",
                DEPLOYMENT,
                "application/json-patch+json",
                &bodies[0]
            ),
            sent(
                "PATCH",
                DEPLOYMENT,
                "application/strategic-merge-patch+json",
                &bodies[1]
            ),
            sent("GET", DEPLOYMENT, "", ""),
            sent("POST", EVENTS, "application/json", ""),
        ]
    );
}

#[tokio::test]
async fn a_kill_switch_reads_the_flag_again_then_patches_that_flag_and_notes_it_on_the_release() {
    use crate::cluster::kinds::WatchedKind;
    use crate::model::action::plan;
    use crate::test_support::fixture::{FEATURE_FLAGS, SHOP, at};
    let fixture = Fixture::load(&[SHOP, FEATURE_FLAGS]);
    let release = fixture.release(Kind::Rollout, "checkout");
    let rollout = fixture.object("Rollout", "checkout");
    let flags = fixture.object("FeatureFlag", "checkout-flags");
    let json = |o| serde_json::to_value(o).expect("JSON");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let request = |plan| ActionRequest {
        id: 1,
        key: release.key.clone(),
        plan,
        seen: object_fingerprint(Kind::Rollout, &rollout),
        seen_resource_version: "48213".into(),
        user: "admin".into(),
        context: "test".into(),
        override_of: None,
    };
    let off = plan(
        &release,
        Action::KillSwitch(Some(0)),
        at("2025-03-02T10:00:00Z"),
    )
    .expect("planned");
    let mut changed = json(&flags);
    changed["spec"]["flagSpec"]["flags"]["new-checkout-flow"]["defaultVariant"] = json!("on");
    for (served, expected) in [(json(&flags), "done"), (changed, "refused")] {
        let (client, log) = recording_client(vec![served, json(&rollout)], true);
        let mutator = Mutator {
            client,
            kinds: [WatchedKind::Rollout, WatchedKind::FeatureFlag]
                .into_iter()
                .map(|k| (k, k.api_resource(None)))
                .collect(),
            audit: Arc::new(Audit::open(&dir.path().join("audit.jsonl")).expect("the audit file")),
            unleash: None,
        };
        let outcome = mutator.execute(&request(off.clone())).await;
        assert_eq!(outcome.word(), expected, "{outcome:?}");
        let flag = "/apis/core.openfeature.dev/v1beta1/namespaces/shop/featureflags/checkout-flags";
        let mut wanted = vec![sent("GET", flag, "", "")];
        if expected == "done" {
            let body =
                r#"{"spec":{"flagSpec":{"flags":{"new-checkout-flow":{"state":"DISABLED"}}}}}"#;
            wanted.push(sent("PATCH", flag, MERGE, body));
        }
        wanted.push(sent("GET", ROLLOUT, "", ""));
        wanted.push(sent("POST", EVENTS, "application/json", ""));
        let log = std::mem::take(&mut *log.lock().expect("the request log"));
        assert_eq!(without_event_body(log), wanted);
    }
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("the audit");
    let stages: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON"))
        .map(|l| json!([l["action"], l["stage"], l["flag"]["key"]]))
        .collect();
    assert_eq!(
        stages,
        [
            json!(["kill-switch", "requested", "new-checkout-flow"]),
            json!(["kill-switch", "done", "new-checkout-flow"]),
            json!(["kill-switch", "requested", "new-checkout-flow"]),
            json!(["kill-switch", "refused", "new-checkout-flow"]),
        ]
    );
}
