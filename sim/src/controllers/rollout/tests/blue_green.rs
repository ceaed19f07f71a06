//! Blue/green rollouts: preview, promotion (by hand or after
//! `autoPromotionSeconds`), pre-promotion analysis and scale-down.

use super::{Cluster, V1, V2, analysis_template, error_metric, rollout, service, traffic, *};

fn blue_green(extra: Value) -> Value {
    let mut bg = json!({"activeService": "checkout-active", "previewService": "checkout-preview"});
    bg.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"blueGreen": bg})
}

fn blue_green_cluster(extra: Value) -> Cluster {
    let c = Cluster::new();
    c.create(service("checkout-active"));
    c.create(service("checkout-preview"));
    c.create(rollout(blue_green(extra)));
    c.advance(10);
    assert_eq!(c.status()["phase"], "Healthy", "{}", c.status());
    c
}

#[test]
fn blue_green_waits_for_promotion_then_switches_and_scales_down_later() {
    let c = blue_green_cluster(json!({"autoPromotionEnabled": false}));
    let v1 = c.hash(V1);
    let s = c.status();
    assert_eq!(
        s["blueGreen"],
        json!({"activeSelector": v1, "previewSelector": v1})
    );
    assert_eq!(s["canary"], json!({}));
    assert_eq!(s["currentStepIndex"], Value::Null);
    assert_eq!(c.selector_of("checkout-active"), v1);
    c.set_image(V2);
    c.advance(10);
    let v2 = c.hash(V2);
    let s = c.status();
    assert_eq!(s["phase"], "Paused", "{s}");
    assert_eq!(s["message"], "BlueGreenPause");
    assert_eq!(s["pauseConditions"][0]["reason"], "BlueGreenPause");
    assert_eq!(s["blueGreen"]["activeSelector"], v1);
    assert_eq!(s["blueGreen"]["previewSelector"], v2);
    assert_eq!(c.selector_of("checkout-preview"), v2);
    assert_eq!(c.selector_of("checkout-active"), v1);
    assert_eq!(c.replicas(V2), 5);
    c.patch_status(json!({"status": {"pauseConditions": null}}));
    let s = c.status();
    assert_eq!(s["phase"], "Healthy", "{s}");
    assert_eq!(s["blueGreen"]["activeSelector"], v2);
    assert_eq!(s["stableRS"], v2);
    assert_eq!(c.selector_of("checkout-active"), v2);
    assert!(c.event_messages("SwitchService").contains(&format!(
        "Switched selector for service 'checkout-active' from '{v1}' to '{v2}'"
    )));
    let old = c.rs_by_image(V1);
    assert_eq!(old["spec"]["replicas"], 5);
    assert!(old["metadata"]["annotations"]["scale-down-deadline"].is_string());
    c.advance(31);
    assert_eq!(c.replicas(V1), 0);
}

#[test]
fn blue_green_pre_promotion_analysis_failing_aborts() {
    let c = Cluster::new();
    c.create(service("checkout-active"));
    c.create(service("checkout-preview"));
    c.create(analysis_template(error_metric()));
    c.create(rollout(blue_green(json!({"prePromotionAnalysis": {
        "templates": [{"templateName": "error-rate"}],
        "args": [{"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]}}))));
    c.advance(10);
    c.set_image(V2);
    c.set_traffic(V2, traffic(100.0, 50.0));
    c.advance(10);
    let v2 = c.hash(V2);
    let run = &c.runs()[0];
    assert_eq!(run["metadata"]["name"], format!("checkout-{v2}-2-pre"));
    assert_eq!(run["metadata"]["labels"]["rollout-type"], "PrePromotion");
    let s = c.status();
    assert_eq!(s["phase"], "Degraded", "{s}");
    assert_eq!(
        s["message"],
        "RolloutAborted: Rollout aborted update to revision 2: Blue/green pre-promotion analysis phase error/failed: Metric \"error-rate\" assessed Failed due to failed (1) > failureLimit (0)"
    );
    assert_eq!(
        s["blueGreen"]["prePromotionAnalysisRunStatus"]["status"],
        "Failed"
    );
    assert_eq!(s["blueGreen"]["activeSelector"], c.hash(V1));
    assert_eq!(c.selector_of("checkout-active"), c.hash(V1));
    c.advance(31);
    assert_eq!(c.replicas(V2), 0);
    assert_eq!(c.replicas(V1), 5);
}

#[test]
fn blue_green_promotes_itself_after_auto_promotion_seconds() {
    let c = blue_green_cluster(json!({"autoPromotionSeconds": 30}));
    c.set_image(V2);
    c.advance(10);
    let s = c.status();
    assert_eq!(s["message"], "BlueGreenPause", "{s}");
    assert_eq!(s["blueGreen"]["activeSelector"], c.hash(V1));
    c.advance(30);
    let s = c.status();
    assert_eq!(s["phase"], "Healthy", "{s}");
    assert_eq!(s["blueGreen"]["activeSelector"], c.hash(V2));
    assert_eq!(c.event_messages("RolloutResumed"), ["Rollout is resumed"]);
}

#[test]
fn blue_green_preview_runs_fewer_replicas_until_promoted() {
    let c = blue_green_cluster(json!({"autoPromotionEnabled": false, "previewReplicaCount": 1}));
    c.set_image(V2);
    c.advance(10);
    assert_eq!(c.status()["message"], "BlueGreenPause");
    assert_eq!(c.replicas(V2), 1);
    assert_eq!(c.selector_of("checkout-preview"), c.hash(V2));
    c.patch_status(json!({"status": {"pauseConditions": null}}));
    assert_eq!(c.replicas(V2), 5);
    assert_eq!(c.status()["blueGreen"]["scaleUpPreviewCheckPoint"], true);
    assert_eq!(c.status()["message"], "active service cutover pending");
    c.advance(10);
    let s = c.status();
    assert_eq!(s["phase"], "Healthy", "{s}");
    assert_eq!(s["blueGreen"]["activeSelector"], c.hash(V2));
    assert_eq!(s["blueGreen"]["scaleUpPreviewCheckPoint"], Value::Null);
}
