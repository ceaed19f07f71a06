//! Canary analysis steps: AnalysisRuns that succeed, fail, are
//! inconclusive or are skipped by a promotion.

use super::{
    Cluster, ERROR_QUERY, V1, V2, analysis_step, analysis_template, error_metric, istio_canary,
    rollout, traffic, *,
};

fn with_analysis(metric: Value) -> Cluster {
    let c = Cluster::new();
    c.create(analysis_template(metric));
    c.create(rollout(istio_canary(json!([
        {"setWeight": 20}, analysis_step(), {"setWeight": 50}, {"pause": {}}]))));
    c.advance(10);
    c.set_image(V2);
    c
}

#[test]
fn a_successful_analysis_continues() {
    let c = with_analysis(error_metric());
    let canary = c.hash(V2);
    c.set_traffic(V2, traffic(1000.0, 2.0));
    c.advance(10);
    let runs = c.runs();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["metadata"]["name"], format!("checkout-{canary}-2-1"));
    assert_eq!(run["metadata"]["labels"]["rollout-type"], "Step");
    assert_eq!(run["metadata"]["labels"]["step-index"], "1");
    assert_eq!(
        run["metadata"]["labels"]["rollouts-pod-template-hash"],
        canary
    );
    assert_eq!(run["metadata"]["ownerReferences"][0]["kind"], "Rollout");
    assert_eq!(
        run["spec"]["args"],
        json!([{"name": "canary-hash", "value": canary}])
    );
    assert_eq!(run["status"]["phase"], "Successful");
    let measurement = &run["status"]["metricResults"][0]["measurements"][0];
    assert_eq!(measurement["value"], "[0.002]");
    assert!(
        measurement["metadata"]["ResolvedPrometheusQuery"]
            .as_str()
            .unwrap()
            .contains(&canary)
    );
    let s = c.status();
    assert_eq!(s["currentStepIndex"], 3);
    assert_eq!(s["message"], "CanaryPauseStep");
    assert_eq!(s["canary"]["currentStepAnalysisRunStatus"], Value::Null);
    assert_eq!(c.replicas(V2), 3);
    let running = format!("Step Analysis Run 'checkout-{canary}-2-1' Status New: 'Successful'");
    assert!(
        c.event_messages("AnalysisRunSuccessful")
            .iter()
            .any(|m| m.starts_with(&running)),
        "{:?}",
        c.event_messages("AnalysisRunSuccessful")
    );
}

#[test]
fn a_failed_analysis_aborts_and_scales_the_canary_down_later() {
    let c = with_analysis(error_metric());
    c.set_traffic(V2, traffic(1000.0, 150.0));
    c.advance(10);
    let s = c.status();
    assert_eq!(s["phase"], "Degraded", "{s}");
    assert_eq!(
        s["message"],
        "RolloutAborted: Rollout aborted update to revision 2: Step-based analysis phase error/failed: Metric \"error-rate\" assessed Failed due to failed (1) > failureLimit (0)"
    );
    assert_eq!(s["abort"], true);
    assert!(s["abortedAt"].is_string());
    assert_eq!(s["currentStepIndex"], 0);
    assert_eq!(s["pauseConditions"], Value::Null);
    assert_eq!(s["canary"]["weights"]["canary"]["weight"], 0);
    assert_eq!(s["canary"]["weights"]["stable"]["weight"], 100);
    assert_eq!(
        s["canary"]["currentStepAnalysisRunStatus"]["status"],
        "Failed"
    );
    assert_eq!(c.vs_weights(), (100, 0));
    assert_eq!(c.selector_of("checkout-canary"), c.hash(V1));
    assert_eq!(c.condition("Progressing")["reason"], "RolloutAborted");
    assert_eq!(c.event_messages("RolloutAborted").len(), 1);
    assert_eq!(c.event_messages("AnalysisRunFailed").len(), 1);
    // The canary keeps its pod for abortScaleDownDelaySeconds (30 s).
    assert_eq!(c.replicas(V2), 1);
    c.advance(31);
    assert_eq!(c.replicas(V2), 0);
    assert_eq!(c.status()["phase"], "Degraded");
}

#[test]
fn an_inconclusive_analysis_pauses_and_the_inconclusive_promote_advances() {
    let metric = json!({"name": "error-rate", "successCondition": "result[0] <= 0.01",
        "failureCondition": "result[0] > 0.05",
        "provider": {"prometheus": {"query": ERROR_QUERY}}});
    let c = with_analysis(metric);
    c.set_traffic(V2, traffic(1000.0, 30.0));
    c.advance(10);
    let s = c.status();
    assert_eq!(s["phase"], "Paused", "{s}");
    assert_eq!(s["message"], "InconclusiveAnalysisRun");
    assert_eq!(s["pauseConditions"][0]["reason"], "InconclusiveAnalysisRun");
    assert_eq!(s["controllerPause"], true);
    assert_eq!(s["currentStepIndex"], 1);
    assert_eq!(
        s["canary"]["currentStepAnalysisRunStatus"]["status"],
        "Inconclusive"
    );
    // kubectl argo rollouts promote, from an inconclusive analysis step.
    c.patch_status(json!({"status": {"pauseConditions": null, "controllerPause": false, "currentStepIndex": 2}}));
    c.advance(10);
    let s = c.status();
    assert_eq!(s["currentStepIndex"], 3, "{s}");
    assert_eq!(s["message"], "CanaryPauseStep");
    assert_eq!(c.replicas(V2), 3);
    assert_eq!(c.runs().len(), 1);
}

#[test]
fn promote_skips_a_running_analysis_step() {
    let metric = json!({"name": "error-rate", "successCondition": "result[0] <= 0.01",
        "interval": "1m", "count": 10,
        "provider": {"prometheus": {"query": ERROR_QUERY}}});
    let c = with_analysis(metric);
    c.set_traffic(V2, traffic(1000.0, 1.0));
    c.advance(10);
    assert_eq!(c.status()["currentStepIndex"], 1);
    c.patch_status(json!({"status": {"pauseConditions": null, "currentStepIndex": 2}}));
    c.advance(10);
    assert_eq!(c.status()["currentStepIndex"], 3);
    let run = &c.runs()[0];
    let running = format!(
        "Step Analysis Run '{}' Status New: 'Running'",
        workload::name_of(run)
    );
    assert!(
        c.event_messages("AnalysisRunRunning")[0].starts_with(&running),
        "{:?}",
        c.event_messages("AnalysisRunRunning")
    );
    assert_eq!(run["spec"]["terminate"], true);
    assert_eq!(run["status"]["phase"], "Successful");
    assert_eq!(run["status"]["message"], "Run Terminated");
}
