//! A Deployment mapped to a release, judged as `kubectl rollout status`.

use crate::model::traffic::Weight;
use crate::model::{Attention, Health, Kind, Release, Role, Strategy};
use crate::test_support::fixture::{DEPLOYMENT_ROLLING, Fixture};
use serde_json::json;

fn frontend(fixture: &Fixture) -> Release {
    fixture.release(Kind::Deployment, "frontend")
}

#[test]
fn rolling_update_in_progress() {
    let r = frontend(&Fixture::load(&[DEPLOYMENT_ROLLING]));
    assert_eq!(r.strategy, Strategy::RollingUpdate);
    assert_eq!(r.health, Health::Progressing);
    assert_eq!(
        r.message,
        "Waiting for deployment \"frontend\" rollout to finish: 2 out of 4 new replicas have been updated..."
    );
    // Traffic follows available pods: 1 of 4 is new.
    assert_eq!(r.weights.applied.known(), Some(25));
    assert_eq!(r.pause, None);
    assert_eq!(
        r.attention,
        vec![Attention::CrashLooping("frontend-7f9c8d6b5-q8vzn".into())]
    );
}

#[test]
fn revisions_newest_first_with_roles() {
    let r = frontend(&Fixture::load(&[DEPLOYMENT_ROLLING]));
    let revisions: Vec<(Option<u64>, &str, &[Role])> = r
        .revisions
        .iter()
        .map(|rev| (rev.number, rev.hash.as_str(), rev.roles.as_slice()))
        .collect();
    assert_eq!(
        revisions,
        vec![
            (Some(5), "7f9c8d6b5", &[Role::Canary][..]),
            (Some(4), "5c8d7f9b4", &[Role::Stable][..]),
            (Some(3), "6d7e8f9a1", &[][..]),
        ]
    );
    assert_eq!(r.current_revision, Some(5));
    assert_eq!(r.previous_revision().and_then(|p| p.number), Some(4));
    let new = r.revision_by_role(Role::Canary).expect("the new revision");
    assert_eq!(new.restarts(), 5);
    assert_eq!(new.pods[1].status, "CrashLoopBackOff");
}

#[test]
fn paused_deployment_waits_for_a_decision() {
    let mut fixture = Fixture::load(&[DEPLOYMENT_ROLLING]);
    fixture.merge("Deployment", "frontend", json!({"spec": {"paused": true}}));
    let r = frontend(&fixture);
    assert_eq!(r.health, Health::Paused);
    assert!(r.spec_paused);
    assert!(r.pause.as_ref().is_some_and(|p| p.needs_decision));
    assert!(
        r.attention
            .contains(&Attention::AwaitingDecision("manually paused".into()))
    );
}

#[test]
fn progress_deadline_exceeded_is_degraded() {
    let mut fixture = Fixture::load(&[DEPLOYMENT_ROLLING]);
    fixture.set(
        "Deployment",
        "frontend",
        "/status/conditions/1",
        json!({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
               "message": "ReplicaSet \"frontend-7f9c8d6b5\" has timed out progressing."}),
    );
    let r = frontend(&fixture);
    assert_eq!(r.health, Health::Degraded);
    assert_eq!(r.phase, "Degraded");
    assert!(matches!(r.attention.first(), Some(Attention::Degraded(_))));
}

#[test]
fn finished_update_is_healthy_and_stable() {
    let mut fixture = Fixture::load(&[DEPLOYMENT_ROLLING]);
    fixture.merge(
        "Deployment",
        "frontend",
        json!({"status": {"replicas": 4, "updatedReplicas": 4, "readyReplicas": 4, "availableReplicas": 4}}),
    );
    let r = frontend(&fixture);
    assert_eq!(r.health, Health::Healthy);
    assert_eq!(r.weights.applied, Weight::Absent);
    assert_eq!(r.current_hash, r.stable_hash);
    assert_eq!(
        r.revisions[0].roles,
        vec![Role::Stable],
        "the newest revision serves as stable once the update is done"
    );
}

#[test]
fn a_complete_deployment_finished_when_its_new_replica_set_became_available() {
    let mut fixture = Fixture::load(&[DEPLOYMENT_ROLLING]);
    assert_eq!(frontend(&fixture).completion, None, "still rolling");
    fixture.merge(
        "Deployment",
        "frontend",
        json!({"status": {
            "replicas": 4, "updatedReplicas": 4, "readyReplicas": 4, "availableReplicas": 4,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                 "lastTransitionTime": "2026-03-01T11:00:00Z",
                 "lastUpdateTime": "2026-03-01T12:10:00Z"},
            ],
        }}),
    );
    let r = frontend(&fixture);
    assert_eq!(r.health, Health::Healthy);
    let done = r.completion.expect("a completion");
    assert_eq!(done.at.to_rfc3339(), "2026-03-01T12:10:00+00:00");
    assert_eq!(
        (done.hash.as_str(), done.previous_hash.as_str()),
        ("7f9c8d6b5", "5c8d7f9b4")
    );
}
