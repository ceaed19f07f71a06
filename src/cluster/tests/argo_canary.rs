//! An Argo canary Rollout mapped to a release: phase, steps, weights,
//! routers, pauses, revisions, pods and analysis.

use crate::model::traffic::{HeaderRoute, RouterWeight};
use crate::model::{Attention, Health, Kind, Release, Role, Step, Strategy};
use crate::test_support::fixture::{ARGO_CANARY, Fixture, at};
use serde_json::json;

fn checkout(fixture: &Fixture) -> Release {
    fixture.release(Kind::Rollout, "checkout")
}

fn canary() -> Fixture {
    Fixture::load(&[ARGO_CANARY])
}

#[test]
fn paused_on_a_timed_pause_step() {
    let r = checkout(&canary());
    assert_eq!(r.strategy, Strategy::Canary);
    assert_eq!(r.health, Health::Paused);
    assert_eq!(r.phase, "Paused");
    assert_eq!(r.message, "CanaryPauseStep");
    assert_eq!(r.step_text().as_deref(), Some("2/7"));
    assert_eq!(
        r.steps[0],
        Step::SetHeaderRoute {
            name: "canary-header".into()
        }
    );
    assert_eq!(r.steps[2], Step::Pause { seconds: Some(30) });
    assert_eq!(r.steps[5], Step::Pause { seconds: None });

    let pause = r.pause.as_ref().expect("a pause");
    assert_eq!(pause.reason, "CanaryPauseStep");
    assert_eq!(pause.since, Some(at("2026-03-01T12:00:00Z")));
    assert_eq!(pause.until, Some(at("2026-03-01T12:00:30Z")));
    assert_eq!(pause.remaining(at("2026-03-01T12:00:10Z")), Some(20));
    assert_eq!(pause.remaining(at("2026-03-01T12:05:00Z")), Some(0));
    assert!(!pause.needs_decision);
    // A timed pause ends by itself: nothing for a human to do.
    assert_eq!(r.attention, vec![]);
}

#[test]
fn spec_generation_not_yet_observed_is_progressing() {
    let mut fixture = canary();
    fixture.merge(
        "Rollout",
        "checkout",
        json!({"metadata": {"generation": 5}}),
    );
    let r = checkout(&fixture);
    assert_eq!(r.health, Health::Progressing);
    assert_eq!(r.phase, "Progressing");
    assert_eq!(r.message, "waiting for rollout spec update to be observed");
}

#[test]
fn controller_pause_without_pause_conditions_is_unpausing() {
    let mut fixture = canary();
    fixture.merge(
        "Rollout",
        "checkout",
        json!({"status": {"pauseConditions": null}}),
    );
    let r = checkout(&fixture);
    assert_eq!(r.health, Health::Progressing);
    assert_eq!(r.phase, "Progressing");
    assert_eq!(r.message, "waiting for rollout to unpause");
    assert_eq!(r.pause, None);
}

#[test]
fn manual_pause_step_waits_for_a_decision() {
    let mut fixture = canary();
    fixture.merge(
        "Rollout",
        "checkout",
        json!({"status": {"currentStepIndex": 5}}),
    );
    let r = checkout(&fixture);
    assert_eq!(r.step_text().as_deref(), Some("5/7"));
    assert_eq!(r.weights.desired.known(), Some(50));
    let pause = r.pause.as_ref().expect("a pause");
    assert_eq!(pause.until, None);
    assert_eq!(pause.remaining(at("2026-03-01T12:00:10Z")), None);
    assert!(pause.needs_decision);
    assert_eq!(
        r.attention,
        vec![Attention::AwaitingDecision("CanaryPauseStep".into())]
    );
}

#[test]
fn aborted_rollout_is_degraded() {
    let mut fixture = canary();
    fixture
        .merge(
            "Rollout",
            "checkout",
            json!({"status": {
                "abort": true,
                "abortedAt": "2026-03-01T12:00:20Z",
                "phase": "Degraded",
                "message": "RolloutAborted: Rollout aborted update to revision 4",
                "pauseConditions": null,
                "controllerPause": null,
                "currentStepIndex": 0,
                "canary": {"weights": {"canary": {"weight": 0}, "stable": {"weight": 100}}}
            }}),
        )
        .set(
            "VirtualService",
            "checkout",
            "/spec/http/1/route",
            json!([
                {"destination": {"host": "checkout-stable"}, "weight": 100},
                {"destination": {"host": "checkout-canary"}, "weight": 0}
            ]),
        );
    let r = checkout(&fixture);
    assert_eq!(r.health, Health::Degraded);
    assert!(r.aborted);
    assert_eq!(r.weights.desired.known(), Some(0));
    assert_eq!(r.weights.applied.known(), Some(0));
    assert_eq!(
        r.attention,
        vec![Attention::Degraded(
            "RolloutAborted: Rollout aborted update to revision 4".into()
        )]
    );
}

#[test]
fn desired_weight_from_steps_applied_weight_from_status() {
    let mut fixture = canary();
    // The controller has not yet applied step 4's 50%.
    fixture.merge(
        "Rollout",
        "checkout",
        json!({"status": {"currentStepIndex": 4, "pauseConditions": null, "controllerPause": null,
                          "phase": "Progressing", "message": "more replicas need to be updated"}}),
    );
    let r = checkout(&fixture);
    assert_eq!(r.weights.desired.known(), Some(50));
    assert_eq!(r.weights.applied.known(), Some(20));
    assert_eq!(r.weights.text(), "50/20");
}

#[test]
fn router_weight_and_header_routes_from_the_virtual_service() {
    let r = checkout(&canary());
    assert_eq!(
        r.weights.router,
        Some(RouterWeight {
            object: "VirtualService/checkout".into(),
            canary: 20,
            stable: 80,
        })
    );
    assert_eq!(r.weights.drift(), None);
    assert_eq!(
        r.weights.header_routes,
        vec![HeaderRoute {
            name: "canary-header".into(),
            matches: "X-Canary exact \"yes\"".into(),
        }]
    );
}

#[test]
fn router_weight_and_header_routes_from_the_http_route() {
    let mut fixture = canary();
    fixture.merge(
        "Rollout",
        "checkout",
        json!({"spec": {"strategy": {"canary": {"trafficRouting": {
            "istio": null,
            "plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": "checkout", "namespace": "shop"}}
        }}}}}),
    );
    let r = checkout(&fixture);
    assert_eq!(
        r.weights.router,
        Some(RouterWeight {
            object: "HTTPRoute/checkout".into(),
            canary: 20,
            stable: 80,
        })
    );
    assert_eq!(
        r.weights.header_routes,
        vec![HeaderRoute {
            name: "canary-header".into(),
            matches: "X-Canary exact \"yes\"".into(),
        }]
    );
}

#[test]
fn router_disagreeing_with_the_controller_is_drift() {
    let mut fixture = canary();
    fixture
        .set(
            "VirtualService",
            "checkout",
            "/spec/http/1/route/0/weight",
            json!(100),
        )
        .set(
            "VirtualService",
            "checkout",
            "/spec/http/1/route/1/weight",
            json!(0),
        );
    let r = checkout(&fixture);
    assert_eq!(
        r.attention,
        vec![Attention::WeightDrift {
            applied: 20,
            router: 0
        }]
    );
}

#[test]
fn revisions_carry_roles_and_pods() {
    let r = checkout(&canary());
    let summary: Vec<(Option<u64>, &str, &[Role])> = r
        .revisions
        .iter()
        .map(|rev| (rev.number, rev.hash.as_str(), rev.roles.as_slice()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (Some(4), "6f646bf7b7", &[Role::Canary][..]),
            (Some(3), "f6db98dff", &[Role::Stable][..]),
            (Some(2), "5d8c7b9f4", &[][..]),
        ]
    );
    assert_eq!(r.current_revision, Some(4));
    assert_eq!(
        r.canary_image(),
        Some("registry.example/shop/checkout:1.5.0")
    );
    assert_eq!(
        r.stable_image(),
        Some("registry.example/shop/checkout:1.4.2")
    );

    let canary_pod = &r.revision_by_role(Role::Canary).expect("a canary").pods[0];
    assert_eq!(canary_pod.name, "checkout-6f646bf7b7-wn5w8");
    assert_eq!(canary_pod.status, "Running");
    assert!(canary_pod.ready);
    assert_eq!((canary_pod.ready_containers, canary_pod.containers), (1, 1));
    assert_eq!(canary_pod.restarts, 1);
}

#[test]
fn previous_revision_is_the_newest_older_one() {
    let r = checkout(&canary());
    let previous = r.previous_revision().expect("a previous revision");
    assert_eq!(previous.number, Some(3));
    assert_eq!(previous.replica_set, "checkout-f6db98dff");
}

#[test]
fn crash_looping_pod_needs_attention() {
    let mut fixture = canary();
    fixture
        .set(
            "Pod",
            "checkout-6f646bf7b7-wn5w8",
            "/status/containerStatuses/0",
            json!({"name": "checkout", "ready": false, "restartCount": 6,
                   "state": {"waiting": {"reason": "CrashLoopBackOff"}}}),
        )
        .set(
            "Pod",
            "checkout-6f646bf7b7-wn5w8",
            "/status/conditions/0/status",
            json!("False"),
        );
    let r = checkout(&fixture);
    let canary = r.revision_by_role(Role::Canary).expect("a canary");
    assert_eq!(canary.pods[0].status, "CrashLoopBackOff");
    assert!(!canary.pods[0].ready);
    assert_eq!(canary.restarts(), 6);
    assert_eq!(
        r.attention,
        vec![Attention::CrashLooping("checkout-6f646bf7b7-wn5w8".into())]
    );
}

#[test]
fn analysis_runs_with_their_measurements() {
    let r = checkout(&canary());
    let names: Vec<&str> = r.analysis.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["checkout-6f646bf7b7-4", "checkout-f6db98dff-3-3"]);

    let background = &r.analysis[0];
    assert_eq!(background.run_type, "Background");
    assert_eq!(background.revision, Some(4));
    assert_eq!(background.phase, "Running");
    let metric = &background.metrics[0];
    assert_eq!(metric.name, "error-rate");
    assert_eq!(
        (metric.successful, metric.inconclusive, metric.failed),
        (1, 1, 0)
    );
    assert_eq!(
        metric.success_condition.as_deref(),
        Some("result[0] <= 0.01")
    );
    assert_eq!(
        metric.failure_condition.as_deref(),
        Some("result[0] > 0.02")
    );
    let measured: Vec<(&str, Option<&str>)> = metric
        .measurements
        .iter()
        .map(|m| (m.phase.as_str(), m.value.as_deref()))
        .collect();
    assert_eq!(
        measured,
        [
            ("Successful", Some("[0.002]")),
            ("Inconclusive", Some("[0.015]"))
        ]
    );
    assert_eq!(metric.measurements[1].at, Some(at("2026-03-01T11:58:41Z")));

    let step = &r.analysis[1];
    assert_eq!(
        (step.run_type.as_str(), step.step_index, step.revision),
        ("Step", Some(3), Some(3))
    );
}

#[test]
fn only_a_failing_analysis_of_the_current_revision_needs_attention() {
    let mut fixture = canary();
    fixture.merge(
        "AnalysisRun",
        "checkout-f6db98dff-3-3",
        json!({"status": {"phase": "Failed"}}),
    );
    assert_eq!(checkout(&fixture).attention, vec![]);

    fixture.merge(
        "AnalysisRun",
        "checkout-6f646bf7b7-4",
        json!({"status": {"phase": "Failed"}}),
    );
    assert_eq!(
        checkout(&fixture).attention,
        vec![Attention::FailingAnalysis(
            "checkout-6f646bf7b7-4 Failed".into()
        )]
    );
}

/// Events about checkout and its ReplicaSets, one of them about a
/// namesake in another namespace.
const EVENTS: &str = r#"
apiVersion: v1
kind: Event
metadata: {name: checkout.1, namespace: shop, uid: ev-1}
involvedObject: {apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: checkout, namespace: shop}
reason: RolloutUpdated
message: Rollout updated to revision 4
type: Normal
lastTimestamp: "2026-03-01T11:58:00Z"
---
apiVersion: v1
kind: Event
metadata: {name: checkout-6f646bf7b7.1, namespace: shop, uid: ev-2}
involvedObject: {apiVersion: apps/v1, kind: ReplicaSet, name: checkout-6f646bf7b7, namespace: shop}
reason: SuccessfulCreate
message: "Created pod: checkout-6f646bf7b7-wn5w8"
type: Normal
lastTimestamp: "2026-03-01T11:58:05Z"
---
apiVersion: v1
kind: Event
metadata: {name: checkout.2, namespace: shop, uid: ev-3}
involvedObject: {apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: checkout, namespace: shop}
reason: RolloutPaused
message: Rollout is paused (CanaryPauseStep)
type: Normal
lastTimestamp: "2026-03-01T12:00:00Z"
---
apiVersion: v1
kind: Event
metadata: {name: checkout.3, namespace: staging, uid: ev-4}
involvedObject: {apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: checkout, namespace: staging}
reason: RolloutAborted
message: another namespace's checkout
type: Warning
lastTimestamp: "2026-03-01T12:01:00Z"
"#;

#[test]
fn the_timeline_is_newest_first_with_actions_taken_from_here() {
    let r = checkout(&Fixture::load(&[ARGO_CANARY, EVENTS]));
    let reasons = |entries: &[crate::model::TimelineEntry]| -> Vec<String> {
        entries.iter().map(|e| e.reason.clone()).collect()
    };
    assert_eq!(
        reasons(&r.timeline),
        ["RolloutPaused", "SuccessfulCreate", "RolloutUpdated"],
        "newest first, and only this namespace's checkout"
    );

    let mut state = crate::app::State::new(
        at("2026-03-01T12:00:00Z"),
        false,
        crate::app::keymap::Keymap::default(),
    );
    let action = |reason: &str, at| crate::model::TimelineEntry {
        at: Some(at),
        kind: crate::model::EventKind::Action,
        reason: reason.into(),
        message: String::new(),
        count: 1,
    };
    state.local_timeline.insert(
        r.key.clone(),
        vec![
            action("pause (cutover)", at("2026-03-01T12:00:00Z")),
            action("promote (cutover)", at("2026-03-01T12:02:00Z")),
        ],
    );
    assert_eq!(
        reasons(&state.timeline_of(&r)),
        [
            "promote (cutover)",
            "pause (cutover)",
            "RolloutPaused",
            "SuccessfulCreate",
            "RolloutUpdated"
        ],
        "what happened at the same instant: what was added later first"
    );
}

#[test]
fn a_rollout_finished_when_its_completed_condition_turned_true() {
    let mut fixture = canary();
    assert_eq!(checkout(&fixture).completion, None, "paused at a step");
    fixture.merge(
        "Rollout",
        "checkout",
        json!({"status": {
            "phase": "Healthy", "message": null, "currentStepIndex": 6,
            "stableRS": "6f646bf7b7", "controllerPause": null, "pauseConditions": null,
            "updatedReplicas": 6,
            "canary": {"weights": null},
            "conditions": [
                {"type": "Healthy", "status": "True", "lastTransitionTime": "2026-03-01T12:31:00Z"},
                {"type": "Completed", "status": "True", "reason": "RolloutCompleted",
                 "lastTransitionTime": "2026-03-01T12:30:00Z"},
            ],
        }}),
    );
    let r = checkout(&fixture);
    assert_eq!(r.health, Health::Healthy, "{:?}", r.warnings);
    let done = r.completion.expect("a completion");
    assert_eq!(done.at.to_rfc3339(), "2026-03-01T12:30:00+00:00");
    assert_eq!(
        (done.hash.as_str(), done.previous_hash.as_str()),
        ("6f646bf7b7", "f6db98dff")
    );
}
