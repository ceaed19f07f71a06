//! The stale-view check: what changed between the object a human looked at
//! and a fresh GET, from one object alone.

use crate::cluster::fingerprint::object_fingerprint;
use crate::model::Kind;
use crate::test_support::fixture::{ARGO_CANARY, DEPLOYMENT_ROLLING, FLAGGER_CANARY, Fixture};
use serde_json::{Value, json};

/// The changes `object_fingerprint` reports after `patch` is merged into
/// the object (`kind`, `name`) of a fixture file.
fn changes_after(file: &str, kind: Kind, name: &str, patch: Value) -> Vec<String> {
    let mut fixture = Fixture::load(&[file]);
    let seen = object_fingerprint(kind, &fixture.object(kind.word(), name));
    fixture.merge(kind.word(), name, patch);
    object_fingerprint(kind, &fixture.object(kind.word(), name)).changes_since(&seen)
}

#[test]
fn a_changed_step_is_reported() {
    assert_eq!(
        changes_after(
            ARGO_CANARY,
            Kind::Rollout,
            "checkout",
            json!({"status": {"currentStepIndex": 3, "pauseConditions": null, "controllerPause": null,
                              "phase": "Progressing", "message": null}})
        ),
        vec![
            "step changed (2 → 3)",
            "phase changed (Paused → Progressing)",
            "pause changed (CanaryPauseStep → none)",
        ]
    );
}

#[test]
fn a_changed_pause_is_reported() {
    assert_eq!(
        changes_after(
            ARGO_CANARY,
            Kind::Rollout,
            "checkout",
            json!({"spec": {"paused": true}, "metadata": {"generation": 5},
                   "status": {"observedGeneration": "5", "message": "manually paused"}})
        ),
        vec![
            "spec changed (generation 4 → 5)",
            "pause changed (CanaryPauseStep → manually paused)",
        ]
    );
    assert_eq!(
        changes_after(
            DEPLOYMENT_ROLLING,
            Kind::Deployment,
            "frontend",
            json!({"spec": {"paused": true}})
        ),
        vec![
            "phase changed (Progressing → Paused)",
            "pause changed (none → manually paused)",
        ]
    );
}

#[test]
fn a_changed_canary_weight_is_reported() {
    assert_eq!(
        changes_after(
            FLAGGER_CANARY,
            Kind::Canary,
            "search",
            json!({"status": {"canaryWeight": 30}})
        ),
        vec!["canary weight changed (20% → 30%)"]
    );
}

#[test]
fn a_replica_count_change_is_not_a_change_of_decision() {
    let scaled = json!({"metadata": {"resourceVersion": "1201"},
                        "status": {"replicas": 7, "readyReplicas": 5, "availableReplicas": 5}});
    assert_eq!(
        changes_after(ARGO_CANARY, Kind::Rollout, "checkout", scaled.clone()),
        Vec::<String>::new()
    );
    assert_eq!(
        changes_after(DEPLOYMENT_ROLLING, Kind::Deployment, "frontend", scaled),
        Vec::<String>::new()
    );
}
