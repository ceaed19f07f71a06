//! The exact requests each action sends, planned on releases mapped from
//! the fixtures, and the actions refused.

use crate::model::action::plan;
use crate::model::{Action, Kind, PatchType, Release};
use crate::test_support::fixture::{
    ARGO_BLUE_GREEN, ARGO_CANARY, DEPLOYMENT_ROLLING, FLAGGER_CANARY, Fixture, at, patched_release,
};
use serde_json::{Value, json};

const NOW: &str = "2026-03-01T12:30:00Z";

/// (subresource, patch type, body) of every request, in order.
type Sent = Vec<(Option<&'static str>, PatchType, Value)>;

fn requests(r: &Release, action: Action) -> Sent {
    plan(r, action, at(NOW))
        .unwrap_or_else(|e| panic!("{} refused: {e}", action.word()))
        .requests
        .into_iter()
        .map(|p| (p.subresource, p.kind, p.body))
        .collect()
}

fn refusal(r: &Release, action: Action) -> String {
    plan(r, action, at(NOW)).expect_err("the action should be refused")
}

fn status(body: Value) -> (Option<&'static str>, PatchType, Value) {
    (Some("status"), PatchType::Merge, body)
}

fn main_merge(body: Value) -> (Option<&'static str>, PatchType, Value) {
    (None, PatchType::Merge, body)
}

fn checkout_with(patch: Value) -> Release {
    patched_release(ARGO_CANARY, Kind::Rollout, "checkout", patch)
}

fn checkout() -> Release {
    checkout_with(json!({}))
}

fn unpause() -> (Option<&'static str>, PatchType, Value) {
    main_merge(json!({"spec": {"paused": false}}))
}

#[test]
fn argo_promote_with_pause_conditions_clears_them() {
    assert_eq!(
        requests(&checkout(), Action::Promote),
        vec![status(json!({"status": {"pauseConditions": null}}))]
    );
}

#[test]
fn argo_promote_never_guesses_the_next_step_from_an_unreadable_index() {
    for index in [json!(9), json!(-1), json!("2")] {
        let paused = checkout_with(json!({"status": {"currentStepIndex": index}}));
        assert_eq!(paused.warnings.len(), 1, "{:?}", paused.warnings);
        // Ending the controller's pause writes no step index.
        assert_eq!(
            requests(&paused, Action::Promote),
            vec![status(json!({"status": {"pauseConditions": null}}))]
        );
        let stepping = checkout_with(json!({"status": {
            "currentStepIndex": index,
            "pauseConditions": null,
            "controllerPause": false,
        }}));
        assert!(
            refusal(&stepping, Action::Promote).contains("the current step is unknown"),
            "{index}"
        );
    }
}

#[test]
fn argo_promote_of_an_inconclusive_step_analysis_moves_to_the_next_step() {
    let r = checkout_with(json!({"status": {
        "currentStepIndex": 3,
        "message": "InconclusiveAnalysisRun",
        "pauseConditions": [{"reason": "InconclusiveAnalysisRun", "startTime": "2026-03-01T12:02:00Z"}],
        "canary": {"currentStepAnalysisRunStatus": {"name": "checkout-6f646bf7b7-4-3", "status": "Inconclusive"}}
    }}));
    assert_eq!(
        requests(&r, Action::Promote),
        vec![status(json!({"status": {
            "pauseConditions": null, "controllerPause": false, "currentStepIndex": 4
        }}))]
    );
}

#[test]
fn argo_promote_of_an_inconclusive_background_analysis_only_clears_the_pause() {
    // At the pause step there is no step analysis: Argo's promote sees
    // pause conditions and clears them, without skipping the step.
    let r = checkout_with(json!({"status": {
        "message": "InconclusiveAnalysisRun",
        "pauseConditions": [{"reason": "InconclusiveAnalysisRun", "startTime": "2026-03-01T12:00:10Z"}]
    }}));
    assert_eq!(
        requests(&r, Action::Promote),
        vec![status(json!({"status": {"pauseConditions": null}}))]
    );
}

#[test]
fn argo_promote_mid_analysis_skips_the_step() {
    let r = checkout_with(json!({"status": {
        "currentStepIndex": 3, "phase": "Progressing", "message": null,
        "pauseConditions": null, "controllerPause": null
    }}));
    assert_eq!(
        requests(&r, Action::Promote),
        vec![status(
            json!({"status": {"pauseConditions": null, "currentStepIndex": 4}})
        )]
    );
}

fn effect(r: &Release) -> String {
    plan(r, Action::Promote, at(NOW))
        .unwrap_or_else(|e| panic!("promote refused: {e}"))
        .effect
}

#[test]
fn argo_promote_names_steps_as_the_step_list_and_the_step_column_do() {
    // STEP's N/M counts the steps done (Argo's currentStepIndex); the
    // detail's list numbers steps from 1, so 2/7 runs step 3.
    let paused = checkout();
    assert_eq!(paused.step_text().as_deref(), Some("2/7"));
    assert_eq!(paused.step_name(2), "step 3 (pause 30s)");
    assert_eq!(
        effect(&paused),
        "ends the pause and moves on to step 4 (analysis error-rate); STEP then reads 3/7"
    );
    // Running the analysis step (index 3), or the last step.
    let running = |index: u64| {
        checkout_with(json!({"status": {
            "currentStepIndex": index, "phase": "Progressing", "message": null,
            "pauseConditions": null, "controllerPause": null
        }}))
    };
    assert_eq!(
        effect(&running(3)),
        "skips step 4 (analysis error-rate) and moves on to step 5 (setWeight 50); STEP then reads 4/7"
    );
    assert_eq!(
        effect(&running(6)),
        "skips step 7 (setWeight 80) and completes the last step; STEP then reads 7/7"
    );
    let inconclusive = checkout_with(json!({"status": {
        "currentStepIndex": 3,
        "message": "InconclusiveAnalysisRun",
        "pauseConditions": [{"reason": "InconclusiveAnalysisRun", "startTime": "2026-03-01T12:02:00Z"}],
        "canary": {"currentStepAnalysisRunStatus": {"name": "checkout-6f646bf7b7-4-3", "status": "Inconclusive"}}
    }}));
    assert_eq!(
        effect(&inconclusive),
        "accepts the inconclusive analysis of step 4 (analysis error-rate) and moves on to step 5 (setWeight 50); STEP then reads 4/7"
    );
    // A background analysis paused the rollout at the timed pause: ending
    // that pause does not end the step.
    let background = checkout_with(json!({"status": {
        "message": "InconclusiveAnalysisRun",
        "pauseConditions": [{"reason": "InconclusiveAnalysisRun", "startTime": "2026-03-01T12:00:10Z"}]
    }}));
    assert_eq!(
        effect(&background),
        "ends the pause: step 3 (pause 30s) goes on"
    );
}

#[test]
fn argo_promote_unpauses_the_spec_first() {
    let r =
        checkout_with(json!({"spec": {"paused": true}, "status": {"message": "manually paused"}}));
    assert_eq!(
        requests(&r, Action::Promote),
        vec![
            unpause(),
            status(json!({"status": {"pauseConditions": null}}))
        ]
    );
}

#[test]
fn argo_promote_of_a_blue_green_switches_after_the_pause() {
    let r = Fixture::load(&[ARGO_BLUE_GREEN]).release(Kind::Rollout, "payments");
    assert_eq!(
        requests(&r, Action::Promote),
        vec![status(json!({"status": {"pauseConditions": null}}))]
    );
}

#[test]
fn argo_promote_full() {
    assert_eq!(
        requests(&checkout(), Action::PromoteFull),
        vec![status(json!({"status": {"promoteFull": true}}))]
    );
    let paused = checkout_with(json!({"spec": {"paused": true}}));
    assert_eq!(
        requests(&paused, Action::PromoteFull),
        vec![unpause(), status(json!({"status": {"promoteFull": true}}))]
    );
}

#[test]
fn argo_abort_and_retry_patch_the_status_subresource() {
    assert_eq!(
        requests(&checkout(), Action::Abort),
        vec![status(json!({"status": {"abort": true}}))]
    );
    assert_eq!(
        refusal(&checkout(), Action::Retry),
        "only an aborted rollout can be retried"
    );

    let aborted = checkout_with(json!({"status": {
        "abort": true, "phase": "Degraded", "pauseConditions": null, "controllerPause": null,
        "message": "RolloutAborted: Rollout aborted update to revision 4"
    }}));
    assert_eq!(
        requests(&aborted, Action::Retry),
        vec![status(json!({"status": {"abort": false}}))]
    );
    assert_eq!(refusal(&aborted, Action::Abort), "already aborted");
    assert_eq!(
        refusal(&aborted, Action::Promote),
        "aborted: retry first (R), or undo"
    );
}

#[test]
fn argo_pause_and_restart_patch_the_spec() {
    assert_eq!(
        requests(&checkout(), Action::Pause),
        vec![main_merge(json!({"spec": {"paused": true}}))]
    );
    assert_eq!(
        requests(&checkout(), Action::Restart),
        vec![main_merge(json!({"spec": {"restartAt": NOW}}))]
    );
}

#[test]
fn argo_undo_replaces_the_template_with_the_previous_revisions() {
    let r = checkout();
    assert_eq!(
        requests(&r, Action::Undo(None)),
        vec![(
            None,
            PatchType::Json,
            json!([{"op": "replace", "path": "/spec/template", "value": {
                "metadata": {"labels": {"app": "checkout"}},
                "spec": {"containers": [{"name": "checkout", "image": "registry.example/shop/checkout:1.4.2"}]}
            }}])
        )]
    );
    let plan = plan(&r, Action::Undo(Some(2)), at(NOW)).expect("an undo to revision 2");
    assert_eq!(plan.revision, "revision 4 (6f646bf7b7) → revision 2");
    assert_eq!(
        refusal(&r, Action::Undo(Some(4))),
        "that is the current revision"
    );
}

#[test]
fn argo_fully_promoted_rollout_has_nothing_to_promote_or_abort() {
    let done = checkout_with(json!({"status": {
        "stableRS": "6f646bf7b7", "phase": "Healthy", "message": null,
        "pauseConditions": null, "controllerPause": null, "currentStepIndex": 7
    }}));
    assert_eq!(refusal(&done, Action::Promote), "already fully promoted");
    assert_eq!(
        refusal(&done, Action::PromoteFull),
        "already fully promoted"
    );
    assert_eq!(
        refusal(&done, Action::Abort),
        "no update in progress to abort"
    );
}

fn search_with(patch: Value) -> Release {
    patched_release(FLAGGER_CANARY, Kind::Canary, "search", patch)
}

#[test]
fn flagger_suspend_resume_and_skip_analysis() {
    let r = search_with(json!({}));
    assert_eq!(
        requests(&r, Action::Pause),
        vec![main_merge(json!({"spec": {"suspend": true}}))]
    );
    assert_eq!(
        requests(&r, Action::Promote),
        vec![main_merge(json!({"spec": {"skipAnalysis": true}}))]
    );
    assert_eq!(refusal(&r, Action::Resume), "not suspended");

    let suspended = search_with(json!({"spec": {"suspend": true}}));
    assert_eq!(
        requests(&suspended, Action::Resume),
        vec![main_merge(json!({"spec": {"suspend": false}}))]
    );
}

#[test]
fn flagger_refuses_what_it_does_by_itself() {
    let r = search_with(json!({}));
    for action in [
        Action::PromoteFull,
        Action::Abort,
        Action::Retry,
        Action::Undo(None),
        Action::Restart,
    ] {
        assert!(
            refusal(&r, action).starts_with("Flagger has no"),
            "{} should be refused",
            action.word()
        );
    }
    let succeeded = search_with(json!({"status": {"phase": "Succeeded"}}));
    assert_eq!(
        refusal(&succeeded, Action::Promote),
        "nothing to promote while Succeeded"
    );
}

fn frontend_with(patch: Value) -> Release {
    patched_release(DEPLOYMENT_ROLLING, Kind::Deployment, "frontend", patch)
}

fn strategic(body: Value) -> (Option<&'static str>, PatchType, Value) {
    (None, PatchType::Strategic, body)
}

#[test]
fn deployment_pause_resume_and_restart() {
    let r = frontend_with(json!({}));
    assert_eq!(
        requests(&r, Action::Pause),
        vec![strategic(json!({"spec": {"paused": true}}))]
    );
    assert_eq!(
        requests(&r, Action::Restart),
        vec![strategic(
            json!({"spec": {"template": {"metadata": {"annotations": {
                "kubectl.kubernetes.io/restartedAt": NOW
            }}}}})
        )]
    );

    let paused = frontend_with(json!({"spec": {"paused": true}}));
    assert_eq!(
        requests(&paused, Action::Resume),
        vec![strategic(json!({"spec": {"paused": null}}))]
    );
    assert_eq!(
        refusal(&paused, Action::Restart),
        "can't restart a paused deployment: resume it first"
    );
    assert_eq!(
        refusal(&paused, Action::Undo(None)),
        "you cannot roll back a paused deployment: resume it first"
    );
}

#[test]
fn deployment_undo_restores_template_and_annotations_of_the_revision() {
    // As `kubectl rollout undo`: the template without its hash label, and
    // the ReplicaSet's annotations plus only the Deployment's own
    // bookkeeping ones.
    let r = frontend_with(json!({}));
    assert_eq!(
        requests(&r, Action::Undo(None)),
        vec![(
            None,
            PatchType::Json,
            json!([
                {"op": "replace", "path": "/spec/template", "value": {
                    "metadata": {"labels": {"app": "frontend"}},
                    "spec": {"containers": [{"name": "frontend", "image": "registry.example/shop/frontend:2.8.0"}]}
                }},
                {"op": "replace", "path": "/metadata/annotations", "value": {
                    "deployment.kubernetes.io/revision": "5",
                    "kubernetes.io/change-cause": "frontend 2.8.0"
                }}
            ])
        )]
    );
    assert_eq!(refusal(&r, Action::Undo(Some(9))), "no revision 9");
}

#[test]
fn deployment_has_no_steps_to_promote_abort_or_retry() {
    let r = frontend_with(json!({}));
    for action in [
        Action::Promote,
        Action::PromoteFull,
        Action::Abort,
        Action::Retry,
    ] {
        assert_eq!(
            refusal(&r, action),
            format!(
                "a Deployment has no steps: {} applies to Argo Rollouts",
                action.word()
            )
        );
    }
}
