//! Canary rollouts: steps, pauses, promotion, abort and retry, undo,
//! traffic routes, restarts and the progress deadline.

use super::{Cluster, NAME, NS, V1, V2, V3, istio_canary, rollout, standard_steps, *};
use crate::controllers::rollout::traffic::{http_routes, virtual_services};
use crate::controllers::workload::{pods, replicasets};
use crate::patch::PatchKind;
use crate::store::WriteScope;

#[test]
fn first_deploy_goes_straight_to_healthy() {
    let c = Cluster::deployed(istio_canary(standard_steps()));
    let s = c.status();
    let hash = c.hash(V1);
    assert_eq!(s["stableRS"], hash);
    assert_eq!(s["currentPodHash"], hash);
    assert_eq!(s["currentStepIndex"], 5);
    assert_eq!(s["observedGeneration"], "1");
    assert_eq!(s["message"], Value::Null);
    for field in [
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
        "HPAReplicas",
    ] {
        assert_eq!(s[field], 5, "{field}");
    }
    assert_eq!(s["selector"], "app=checkout");
    assert_eq!(s["blueGreen"], json!({}));
    assert_eq!(
        s["canary"]["weights"],
        json!({"canary": {"weight": 0, "serviceName": "checkout-canary", "podTemplateHash": hash},
               "stable": {"weight": 100, "serviceName": "checkout-stable", "podTemplateHash": hash}})
    );
    assert_eq!(c.condition("Available")["status"], "True");
    assert_eq!(c.condition("Healthy")["status"], "True");
    assert_eq!(c.condition("Completed")["status"], "True");
    assert_eq!(
        c.condition("Progressing")["reason"],
        "NewReplicaSetAvailable"
    );
    let rs = c.rs_by_image(V1);
    assert_eq!(
        rs["metadata"]["annotations"]["rollout.argoproj.io/revision"],
        "1"
    );
    assert_eq!(
        rs["metadata"]["annotations"]["rollout.argoproj.io/desired-replicas"],
        "5"
    );
    assert_eq!(rs["metadata"]["labels"]["rollouts-pod-template-hash"], hash);
    assert_eq!(
        c.rollout()["metadata"]["annotations"]["rollout.argoproj.io/revision"],
        "1"
    );
    assert_eq!(c.selector_of("checkout-stable"), hash);
    assert_eq!(c.selector_of("checkout-canary"), hash);
    assert_eq!(c.vs_weights(), (100, 0));
    let name = format!("checkout-{hash}");
    assert_eq!(
        c.event_messages("NewReplicaSetCreated"),
        [format!("Created ReplicaSet {name} (revision 1)")]
    );
    assert_eq!(
        c.event_messages("RolloutCompleted"),
        [format!(
            "Rollout completed update to revision 1 ({hash}): Initial deploy"
        )]
    );
    assert_eq!(
        c.event_messages("ScalingReplicaSet"),
        [format!(
            "Scaled up ReplicaSet {name} (revision 1) from 0 to 5"
        )]
    );
}

/// Deploy V1, then set V2 and let the first step complete.
fn at_first_pause() -> Cluster {
    let c = Cluster::deployed(istio_canary(standard_steps()));
    c.set_image(V2);
    c.advance(10);
    c
}

#[test]
fn an_image_change_runs_the_steps_from_the_first() {
    let c = at_first_pause();
    let (stable, canary) = (c.hash(V1), c.hash(V2));
    assert_eq!(c.replicas(V2), 1);
    assert_eq!(c.replicas(V1), 5);
    assert_eq!(c.vs_weights(), (80, 20));
    let s = c.status();
    assert_eq!(
        s["canary"]["weights"],
        json!({"canary": {"weight": 20, "serviceName": "checkout-canary", "podTemplateHash": canary},
               "stable": {"weight": 80, "serviceName": "checkout-stable", "podTemplateHash": stable}})
    );
    assert_eq!(s["phase"], "Paused");
    assert_eq!(s["message"], "CanaryPauseStep");
    assert_eq!(s["currentStepIndex"], 1);
    assert_eq!(s["controllerPause"], true);
    assert_eq!(s["pauseConditions"][0]["reason"], "CanaryPauseStep");
    assert!(s["pauseConditions"][0]["startTime"].is_string());
    assert_eq!(s["currentPodHash"], canary);
    assert_eq!(s["stableRS"], stable);
    assert_eq!(s["observedGeneration"], "2");
    assert_eq!(s["updatedReplicas"], 1);
    assert_eq!(s["replicas"], 6);
    assert_eq!(s["availableReplicas"], 6);
    assert_eq!(c.condition("Paused")["status"], "True");
    assert_eq!(c.condition("Completed")["status"], "False");
    assert_eq!(c.selector_of("checkout-canary"), canary);
    assert_eq!(c.selector_of("checkout-stable"), stable);
    assert_eq!(
        c.rs_by_image(V2)["metadata"]["annotations"]["rollout.argoproj.io/revision"],
        "2"
    );
    assert!(
        c.event_messages("RolloutUpdated")
            .contains(&"Rollout updated to revision 2".to_string())
    );
    assert_eq!(
        c.event_messages("RolloutNotCompleted"),
        [format!(
            "Rollout not completed, started update to revision 2 ({canary})"
        )]
    );
    assert_eq!(
        c.event_messages("RolloutStepCompleted"),
        ["Rollout step 1/5 completed (setWeight: 20)"]
    );
    assert!(
        c.event_messages("TrafficWeightUpdated")
            .contains(&"Traffic weight updated from 0 to 20".to_string())
    );
    assert_eq!(
        c.event_messages("RolloutPaused"),
        ["Rollout is paused (CanaryPauseStep)"]
    );
    assert_eq!(
        c.event_messages("SwitchService"),
        [
            format!("Switched selector for service 'checkout-stable' from '' to '{stable}'"),
            format!("Switched selector for service 'checkout-canary' from '' to '{stable}'"),
            format!(
                "Switched selector for service 'checkout-canary' from '{stable}' to '{canary}'"
            ),
        ]
    );
}

#[test]
fn promote_resumes_and_the_timed_pause_resumes_by_itself() {
    let c = at_first_pause();
    c.patch_status(json!({"status": {"pauseConditions": null}}));
    c.advance(10);
    let s = c.status();
    assert_eq!(s["currentStepIndex"], 3);
    assert_eq!(s["pauseConditions"][0]["reason"], "CanaryPauseStep");
    assert_eq!(c.replicas(V2), 3);
    assert_eq!(c.vs_weights(), (50, 50));
    // The user cleared the pause: the controller sees no pause end of its own.
    assert!(c.event_messages("RolloutResumed").is_empty());
    assert!(
        c.event_messages("RolloutStepCompleted")
            .contains(&"Rollout step 2/5 completed (pause)".to_string())
    );
    // The pause began when the canary's pods became ready, about 5 s ago.
    c.advance(290);
    assert_eq!(c.status()["currentStepIndex"], 3);
    c.advance(20);
    let s = c.status();
    let canary = c.hash(V2);
    assert_eq!(s["phase"], "Healthy", "{s}");
    assert_eq!(s["stableRS"], canary);
    assert_eq!(s["currentStepIndex"], 5);
    assert_eq!(s["controllerPause"], Value::Null);
    assert!(
        c.event_messages("RolloutStepCompleted")
            .contains(&"Rollout step 4/5 completed (pause: 5m0s)".to_string())
    );
    assert_eq!(c.event_messages("RolloutResumed"), ["Rollout is resumed"]);
    assert_eq!(c.vs_weights(), (100, 0));
    assert_eq!(s["canary"]["weights"]["canary"]["podTemplateHash"], canary);
    assert_eq!(s["canary"]["weights"]["stable"]["podTemplateHash"], canary);
    assert_eq!(c.selector_of("checkout-stable"), canary);
    assert_eq!(
        c.event_messages("RolloutCompleted"),
        [
            format!(
                "Rollout completed update to revision 1 ({}): Initial deploy",
                c.hash(V1)
            ),
            format!(
                "Rollout completed update to revision 2 ({canary}): Completed all 5 canary steps"
            ),
        ]
    );
    // The old stable keeps its pods for scaleDownDelaySeconds.
    let old = c.rs_by_image(V1);
    assert_eq!(old["spec"]["replicas"], 5);
    assert!(old["metadata"]["annotations"]["scale-down-deadline"].is_string());
    c.advance(31);
    assert_eq!(c.replicas(V1), 0);
    assert_eq!(c.status()["replicas"], 5);
}

#[test]
fn promote_full_skips_to_the_end() {
    let c = at_first_pause();
    c.patch_status(json!({"status": {"promoteFull": true}}));
    c.advance(10);
    let s = c.status();
    let canary = c.hash(V2);
    assert_eq!(s["phase"], "Healthy", "{s}");
    assert_eq!(s["stableRS"], canary);
    assert_eq!(s["currentStepIndex"], 5);
    assert_eq!(s["promoteFull"], Value::Null);
    assert_eq!(c.replicas(V2), 5);
    assert_eq!(c.vs_weights(), (100, 0));
    assert!(c.event_messages("RolloutCompleted").contains(&format!(
        "Rollout completed update to revision 2 ({canary}): Full promotion requested"
    )));
}

#[test]
fn abort_then_retry_starts_the_steps_over() {
    let c = at_first_pause();
    c.patch_status(json!({"status": {"abort": true}}));
    let s = c.status();
    assert_eq!(s["phase"], "Degraded");
    assert_eq!(
        s["message"],
        "RolloutAborted: Rollout aborted update to revision 2"
    );
    assert_eq!(s["currentStepIndex"], 0);
    assert_eq!(s["pauseConditions"], Value::Null);
    assert_eq!(s["controllerPause"], Value::Null);
    assert_eq!(c.vs_weights(), (100, 0));
    assert_eq!(
        c.event_messages("RolloutAborted"),
        ["Rollout aborted update to revision 2"]
    );
    assert!(c.event_messages("RolloutResumed").is_empty());
    c.advance(31);
    assert_eq!(c.replicas(V2), 0);
    c.patch_status(json!({"status": {"abort": false}}));
    c.advance(10);
    let s = c.status();
    // The controller's patch leaves the user's `abort: false` in place.
    assert_eq!(s["abort"], false);
    assert_eq!(s["abortedAt"], Value::Null);
    assert_eq!(s["phase"], "Paused", "{s}");
    assert_eq!(s["currentStepIndex"], 1);
    assert_eq!(c.replicas(V2), 1);
    assert_eq!(c.vs_weights(), (80, 20));
    assert_eq!(
        c.event_messages("RolloutRetry"),
        ["Retrying Rollout after abort"]
    );
}

#[test]
fn undo_reuses_the_old_replica_set_as_a_new_revision() {
    let c = at_first_pause();
    c.patch_status(json!({"status": {"promoteFull": true}}));
    c.advance(40);
    let v1 = c.rs_by_image(V1);
    assert_eq!(v1["spec"]["replicas"], 0);
    // kubectl argo rollouts undo: a JSON patch with the old template, hash label removed.
    let mut old_template = v1["spec"]["template"].clone();
    old_template["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("rollouts-pod-template-hash");
    let body = json!([{"op": "replace", "path": "/spec/template", "value": old_template}]);
    c.store
        .patch(
            rollouts(),
            NS,
            NAME,
            PatchKind::Json,
            body.to_string().as_bytes(),
            WriteScope::Main,
            false,
        )
        .unwrap();
    c.advance(10);
    let rs = c.rs_by_image(V1);
    assert_eq!(workload::name_of(&rs), workload::name_of(&v1));
    assert_eq!(
        rs["metadata"]["annotations"]["rollout.argoproj.io/revision"],
        "3"
    );
    assert_eq!(
        c.rollout()["metadata"]["annotations"]["rollout.argoproj.io/revision"],
        "3"
    );
    let s = c.status();
    assert_eq!(s["currentPodHash"], c.hash(V1));
    assert_eq!(s["stableRS"], c.hash(V2));
    assert_eq!(s["currentStepIndex"], 1);
    assert_eq!(c.replicas(V1), 1);
    assert_eq!(c.vs_weights(), (80, 20));
    assert_eq!(
        c.store
            .list(replicasets(), Some(NS), &Default::default())
            .unwrap()
            .items
            .len(),
        2
    );
}

#[test]
fn a_new_image_mid_rollout_supersedes_the_canary() {
    let c = at_first_pause();
    c.set_image(V3);
    c.advance(10);
    let s = c.status();
    let v3 = c.hash(V3);
    assert_eq!(s["currentPodHash"], v3);
    assert_eq!(s["stableRS"], c.hash(V1));
    assert_eq!(s["currentStepIndex"], 1);
    assert_eq!(s["phase"], "Paused");
    assert_eq!(c.replicas(V3), 1);
    assert_eq!(c.replicas(V2), 0);
    assert_eq!(c.replicas(V1), 5);
    assert_eq!(c.vs_weights(), (80, 20));
    assert_eq!(c.selector_of("checkout-canary"), v3);
    assert_eq!(
        c.rs_by_image(V3)["metadata"]["annotations"]["rollout.argoproj.io/revision"],
        "3"
    );
}

#[test]
fn a_manual_pause_holds_and_promote_resumes() {
    let c = Cluster::deployed(istio_canary(standard_steps()));
    c.patch_spec(json!({"spec": {"paused": true}}));
    c.set_image(V2);
    c.advance(10);
    let s = c.status();
    assert_eq!(s["phase"], "Paused");
    assert_eq!(s["message"], "manually paused");
    assert_eq!(s["observedGeneration"], "3");
    assert_eq!(c.replicas(V2), 0);
    assert_eq!(c.condition("Paused")["status"], "True");
    assert_eq!(c.condition("Progressing")["reason"], "RolloutPaused");
    c.patch_spec(json!({"spec": {"paused": false}}));
    c.advance(10);
    let s = c.status();
    assert_eq!(s["message"], "CanaryPauseStep");
    assert_eq!(c.replicas(V2), 1);
    assert_eq!(c.condition("Paused")["status"], "True");
}

#[test]
fn a_header_route_step_adds_then_removes_the_managed_route() {
    let steps = json!([
        {"setWeight": 10},
        {"setHeaderRoute": {"name": "beta", "match": [{"headerName": "X-Canary", "headerValue": {"exact": "yes"}}]}},
        {"pause": {}},
        {"setHeaderRoute": {"name": "beta"}},
        {"pause": {}},
    ]);
    let c = Cluster::deployed(istio_canary(steps));
    c.set_image(V2);
    c.advance(10);
    assert_eq!(c.status()["currentStepIndex"], 2);
    let vs = c.store.get(virtual_services(), NS, NAME).unwrap();
    assert_eq!(
        vs["spec"]["http"][0],
        json!({"name": "beta", "match": [{"headers": {"X-Canary": {"exact": "yes"}}}],
               "route": [{"destination": {"host": "checkout-canary"}, "weight": 100}]})
    );
    assert_eq!(vs["spec"]["http"][1]["name"], "primary");
    c.patch_status(json!({"status": {"pauseConditions": null}}));
    c.advance(10);
    assert_eq!(c.status()["currentStepIndex"], 4);
    let vs = c.store.get(virtual_services(), NS, NAME).unwrap();
    assert_eq!(vs["spec"]["http"].as_array().unwrap().len(), 1);
    assert_eq!(c.vs_weights(), (90, 10));
}

#[test]
fn gateway_api_http_routes_get_the_weights() {
    let c = Cluster::new();
    c.create(
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": NAME, "namespace": NS},
        "spec": {"parentRefs": [{"name": "gateway"}], "rules": [{"backendRefs": [
            {"name": "checkout-stable", "port": 80, "weight": 100},
            {"name": "checkout-canary", "port": 80, "weight": 0}]}]}}),
    );
    c.create(rollout(json!({"canary": {
        "canaryService": "checkout-canary", "stableService": "checkout-stable",
        "trafficRouting": {"plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": NAME, "namespace": NS}}},
        "steps": [{"setWeight": 40}, {"pause": {}}]}})));
    c.advance(10);
    c.set_image(V2);
    c.advance(10);
    let route = c.store.get(http_routes(), NS, NAME).unwrap();
    let refs = &route["spec"]["rules"][0]["backendRefs"];
    assert_eq!(refs[0]["weight"], 60);
    assert_eq!(refs[1]["weight"], 40);
    assert_eq!(c.status()["canary"]["weights"]["canary"]["weight"], 40);
    assert_eq!(c.replicas(V2), 2);
}

#[test]
fn a_basic_canary_sizes_replica_sets_by_weight() {
    let c = Cluster::deployed(json!({"canary": {"steps": [{"setWeight": 40}, {"pause": {}}]}}));
    c.set_image(V2);
    c.advance(30);
    let s = c.status();
    assert_eq!(s["currentStepIndex"], 1, "{s}");
    assert_eq!(c.replicas(V2), 2);
    assert_eq!(c.replicas(V1), 3);
    assert_eq!(s["canary"], json!({}));
    c.patch_status(json!({"status": {"pauseConditions": null}}));
    c.advance(60);
    let s = c.status();
    assert_eq!(s["phase"], "Healthy", "{s}");
    assert_eq!(c.replicas(V2), 5);
    assert_eq!(c.replicas(V1), 0);
}

#[test]
fn restart_recreates_the_pods_then_records_restarted_at() {
    let c = Cluster::deployed(istio_canary(standard_steps()));
    c.advance(5);
    let before: Vec<String> = c
        .store
        .list(pods(), Some(NS), &Default::default())
        .unwrap()
        .items
        .iter()
        .map(|p| workload::name_of(p).to_string())
        .collect();
    let at = analysis_now(&c);
    c.patch_spec(json!({"spec": {"restartAt": at}}));
    assert_eq!(c.status()["message"], "rollout is restarting");
    c.advance(60);
    let s = c.status();
    assert_eq!(s["restartedAt"], at);
    assert_eq!(s["phase"], "Healthy");
    let after = c
        .store
        .list(pods(), Some(NS), &Default::default())
        .unwrap()
        .items;
    assert_eq!(after.len(), 5);
    assert!(
        after
            .iter()
            .all(|p| !before.contains(&workload::name_of(p).to_string()))
    );
}

fn analysis_now(c: &Cluster) -> String {
    timestamp(c.store.clock().now())
}

#[test]
fn a_missing_service_makes_the_spec_invalid() {
    let c = Cluster::new();
    let mut ro = rollout(istio_canary(standard_steps()));
    ro["spec"]["strategy"]["canary"]["canaryService"] = json!("nowhere");
    c.create(ro);
    c.advance(1);
    let s = c.status();
    assert_eq!(s["phase"], "Degraded");
    assert_eq!(
        s["message"],
        "InvalidSpec: The Rollout \"checkout\" is invalid: spec.strategy.canary.canaryService: Invalid value: \"nowhere\": service \"nowhere\" not found"
    );
    assert_eq!(c.condition("InvalidSpec")["reason"], "InvalidSpec");
}

#[test]
fn a_canary_that_never_becomes_ready_exceeds_its_progress_deadline() {
    let c = Cluster::deployed(istio_canary(standard_steps()));
    c.behaviour.add_rule(crate::behaviour::VersionRule {
        image: V2.into(),
        from: chrono::DateTime::<Utc>::MIN_UTC,
        profile: crate::behaviour::VersionProfile {
            crash: true,
            ..Default::default()
        },
    });
    c.set_image(V2);
    c.advance(590);
    assert_eq!(c.status()["phase"], "Progressing");
    c.advance(20);
    let s = c.status();
    let name = workload::name_of(&c.rs_by_image(V2)).to_string();
    assert_eq!(s["phase"], "Degraded", "{s}");
    assert_eq!(
        s["message"],
        format!("ProgressDeadlineExceeded: ReplicaSet \"{name}\" has timed out progressing.")
    );
    assert_eq!(c.vs_weights(), (100, 0));
    assert_eq!(s["abort"], Value::Null);
}

#[test]
fn an_invalid_weight_is_reported_with_its_field() {
    let c = Cluster::new();
    c.create(rollout(istio_canary(json!([{"setWeight": 120}]))));
    c.advance(1);
    assert_eq!(
        c.status()["message"],
        "InvalidSpec: The Rollout \"checkout\" is invalid: spec.strategy.steps[0].setWeight: Invalid value: 120: SetWeight needs to be between 0 and 100"
    );
}
