//! A Flagger Canary mapped to a release, with its target and primary
//! Deployments as revisions.

use crate::model::traffic::RouterWeight;
use crate::model::{Attention, Health, Kind, Release, Role, Strategy};
use crate::test_support::fixture::{DEPLOYMENT_ROLLING, FLAGGER_CANARY, Fixture, patched_release};
use serde_json::json;

fn search(fixture: &Fixture) -> Release {
    fixture.release(Kind::Canary, "search")
}

fn with_status(status: serde_json::Value) -> Release {
    patched_release(
        FLAGGER_CANARY,
        Kind::Canary,
        "search",
        json!({ "status": status }),
    )
}

#[test]
fn progressing_analysis_with_failed_checks() {
    let r = search(&Fixture::load(&[FLAGGER_CANARY]));
    assert_eq!(r.strategy, Strategy::Progressive);
    assert_eq!(r.health, Health::Progressing);
    assert_eq!(r.phase, "Progressing");
    assert_eq!(
        r.message,
        "New revision detected, progressing canary analysis."
    );
    assert_eq!(r.pause, None);

    let f = r.flagger.as_ref().expect("Flagger status");
    assert_eq!(
        (f.weight, f.max_weight, f.step_weight),
        (Some(20), Some(50), Some(10))
    );
    assert_eq!((f.failed_checks, f.threshold), (2, 5));
    assert_eq!(
        (f.target.as_str(), f.primary.as_str()),
        ("search", "search-primary")
    );
    assert_eq!(f.interval, "1m");

    assert_eq!(r.weights.applied.known(), Some(20));
    assert_eq!(
        r.weights.router,
        Some(RouterWeight {
            object: "VirtualService/search".into(),
            canary: 20,
            stable: 80,
        })
    );
    assert_eq!(
        r.attention,
        vec![Attention::FailingAnalysis("2 of 5 failed checks".into())]
    );
}

#[test]
fn primary_and_canary_revisions_come_from_the_two_deployments() {
    let r = search(&Fixture::load(&[FLAGGER_CANARY]));
    let revisions: Vec<(&str, &[Role])> = r
        .revisions
        .iter()
        .map(|rev| (rev.replica_set.as_str(), rev.roles.as_slice()))
        .collect();
    // Only the newest ReplicaSet of each Deployment counts.
    assert_eq!(
        revisions,
        vec![
            ("search-6b8f9c7d5", &[Role::Canary][..]),
            ("search-primary-7d9f8b6c4", &[Role::Stable][..]),
        ]
    );
    assert_eq!(r.current_hash.as_deref(), Some("6b8f9c7d5"));
    assert_eq!(r.stable_hash.as_deref(), Some("7d9f8b6c4"));
    assert_eq!(r.current_revision, Some(2));
    assert_eq!(r.canary_image(), Some("registry.example/shop/search:2.5.0"));
    assert_eq!(r.stable_image(), Some("registry.example/shop/search:2.4.0"));
    assert_eq!(r.replicas.desired, Some(3));
}

#[test]
fn waiting_promotion_is_paused_for_a_decision() {
    let r = with_status(json!({"phase": "WaitingPromotion", "failedChecks": 0}));
    assert_eq!(r.health, Health::Paused);
    let pause = r.pause.as_ref().expect("a pause");
    assert_eq!(pause.reason, "WaitingPromotion");
    assert!(pause.needs_decision);
    assert_eq!(
        r.attention,
        vec![Attention::AwaitingDecision("WaitingPromotion".into())]
    );
}

#[test]
fn failed_canary_is_degraded() {
    let r = with_status(json!({
        "phase": "Failed",
        "canaryWeight": 0,
        "failedChecks": 5,
        "conditions": [{"type": "Promoted", "status": "False", "reason": "Failed",
                        "message": "Canary analysis failed, Deployment scaled to zero."}]
    }));
    assert_eq!(r.health, Health::Degraded);
    assert_eq!(
        r.attention,
        vec![Attention::Degraded(
            "Canary analysis failed, Deployment scaled to zero.".into()
        )]
    );
}

#[test]
fn suspended_canary_is_paused() {
    let mut fixture = Fixture::load(&[FLAGGER_CANARY]);
    fixture.merge("Canary", "search", json!({"spec": {"suspend": true}}));
    let r = search(&fixture);
    assert_eq!(r.health, Health::Paused);
    assert!(r.spec_paused);
    assert_eq!(
        r.pause.as_ref().map(|p| p.reason.as_str()),
        Some("suspended")
    );
}

#[test]
fn managed_deployments_are_not_releases_of_their_own() {
    let fixture = Fixture::load(&[FLAGGER_CANARY, DEPLOYMENT_ROLLING]);
    let keys: Vec<(Kind, String)> = fixture
        .releases()
        .into_iter()
        .map(|r| (r.key.kind, r.key.name))
        .collect();
    assert_eq!(
        keys,
        vec![
            (Kind::Deployment, "frontend".to_string()),
            (Kind::Canary, "search".to_string()),
        ]
    );
}

/// The primary's ReplicaSet after a promotion to 2.5.0: revision 2.
const PROMOTED_PRIMARY: &str = r#"
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: search-primary-9c8b7a6d5
  namespace: shop
  uid: rs-search-primary-9c8b7a6d5
  creationTimestamp: "2026-03-01T12:20:00Z"
  labels: {app: search-primary, pod-template-hash: 9c8b7a6d5}
  annotations: {deployment.kubernetes.io/revision: "2"}
  ownerReferences:
    - {apiVersion: apps/v1, kind: Deployment, name: search-primary, uid: deploy-search-primary, controller: true}
spec:
  replicas: 3
  template:
    metadata: {labels: {app: search-primary, pod-template-hash: 9c8b7a6d5}}
    spec:
      containers:
        - {name: search, image: registry.example/shop/search:2.5.0}
status: {replicas: 3, readyReplicas: 3, availableReplicas: 3}
"#;

#[test]
fn a_succeeded_canary_finished_when_it_was_promoted() {
    let mut fixture = Fixture::load(&[FLAGGER_CANARY, PROMOTED_PRIMARY]);
    assert_eq!(search(&fixture).completion, None, "still progressing");
    fixture.merge(
        "Canary",
        "search",
        json!({"status": {
            "phase": "Succeeded", "canaryWeight": 0, "failedChecks": 0,
            "lastTransitionTime": "2026-03-01T12:25:00Z",
            "conditions": [{"type": "Promoted", "status": "True", "reason": "Succeeded",
                            "message": "Canary analysis completed successfully, promotion finished.",
                            "lastTransitionTime": "2026-03-01T12:24:00Z"}],
        }}),
    );
    let done = search(&fixture).completion.expect("a completion");
    assert_eq!(done.at.to_rfc3339(), "2026-03-01T12:24:00+00:00");
    assert_eq!(
        (done.hash.as_str(), done.previous_hash.as_str()),
        ("9c8b7a6d5", "7d9f8b6c4")
    );
}
