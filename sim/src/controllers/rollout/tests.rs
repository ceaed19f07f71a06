//! The rollout controller against the ReplicaSet controller and the
//! AnalysisRun controller on a frozen clock, driven by the exact patches
//! `kubectl argo rollouts` sends.

use super::traffic::{http_routes, services, virtual_services};
use super::*;
use crate::behaviour::Behaviour;
use crate::clock::Clock;
use crate::controllers::Runtime;
use crate::controllers::analysis::{AnalysisRunController, analysis_runs};
use crate::controllers::replicaset::ReplicaSetController;
use crate::controllers::workload::{pods, replicasets};
use crate::patch::PatchKind;
use crate::store::{Store, Target};
use crate::traffic::{MetricsSource, WindowStats};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const NS: &str = "shop";
const NAME: &str = "checkout";
const V1: &str = "registry.example/shop/checkout:1.4.2";
const V2: &str = "registry.example/shop/checkout:1.5.0";
const V3: &str = "registry.example/shop/checkout:1.6.0";

/// Traffic statistics chosen per pod-template hash.
#[derive(Default)]
struct FakeMetrics(Mutex<HashMap<String, WindowStats>>);

impl MetricsSource for FakeMetrics {
    fn window(&self, _: &str, hash: &str, _: Duration) -> Option<WindowStats> {
        self.0.lock().unwrap().get(hash).copied()
    }
}

fn traffic(requests: f64, errors: f64) -> WindowStats {
    WindowStats {
        requests,
        errors,
        p50_ms: 40.0,
        p95_ms: 120.0,
        p99_ms: 300.0,
    }
}

struct Cluster {
    rt: Arc<Runtime>,
    store: Arc<Store>,
    metrics: Arc<FakeMetrics>,
    behaviour: Arc<Behaviour>,
}

fn events_res() -> &'static ResourceDef {
    resources::lookup("", "v1", "events").expect("served")
}

fn template(image: &str) -> Value {
    json!({"metadata": {"labels": {"app": NAME}},
           "spec": {"containers": [{"name": NAME, "image": image}]}})
}

fn service(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": name, "namespace": NS},
           "spec": {"selector": {"app": NAME}, "ports": [{"port": 80}]}})
}

fn istio_canary(steps: Value) -> Value {
    json!({"canary": {
        "canaryService": "checkout-canary",
        "stableService": "checkout-stable",
        "trafficRouting": {
            "managedRoutes": [{"name": "beta"}],
            "istio": {"virtualService": {"name": NAME, "routes": ["primary"]}},
        },
        "steps": steps,
    }})
}

fn rollout(strategy: Value) -> Value {
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
           "metadata": {"name": NAME, "namespace": NS},
           "spec": {"replicas": 5, "selector": {"matchLabels": {"app": NAME}},
                    "template": template(V1), "strategy": strategy}})
}

const ERROR_QUERY: &str = "sum(rate(http_requests_total{rollouts_pod_template_hash=\"{{args.canary-hash}}\",code=~\"5..\"}[2m])) / sum(rate(http_requests_total{rollouts_pod_template_hash=\"{{args.canary-hash}}\"}[2m]))";

fn analysis_template(metric: Value) -> Value {
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
           "metadata": {"name": "error-rate", "namespace": NS},
           "spec": {"args": [{"name": "canary-hash"}], "metrics": [metric]}})
}

fn error_metric() -> Value {
    json!({"name": "error-rate", "successCondition": "result[0] <= 0.01",
           "provider": {"prometheus": {"address": "http://prometheus:9090", "query": ERROR_QUERY}}})
}

fn analysis_step() -> Value {
    json!({"analysis": {"templates": [{"templateName": "error-rate"}],
                        "args": [{"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]}})
}

impl Cluster {
    fn new() -> Cluster {
        let store = Arc::new(Store::new(Arc::new(Clock::new(0.0))));
        let metrics = Arc::new(FakeMetrics::default());
        let behaviour = Arc::new(Behaviour::default());
        let rt = Runtime::new(
            store.clone(),
            behaviour.clone(),
            metrics.clone(),
            vec![
                Arc::new(RolloutController),
                Arc::new(AnalysisRunController),
                Arc::new(ReplicaSetController),
            ],
        );
        let c = Cluster {
            rt,
            store,
            metrics,
            behaviour,
        };
        for obj in [
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
            service("checkout-stable"),
            service("checkout-canary"),
            json!({"apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService",
                   "metadata": {"name": NAME, "namespace": NS},
                   "spec": {"hosts": [NAME], "http": [{"name": "primary", "route": [
                       {"destination": {"host": "checkout-stable"}, "weight": 100},
                       {"destination": {"host": "checkout-canary"}, "weight": 0}]}]}}),
        ] {
            c.create(obj);
        }
        c
    }

    /// A cluster with the rollout deployed and healthy at V1.
    fn deployed(strategy: Value) -> Cluster {
        let c = Cluster::new();
        c.create(rollout(strategy));
        c.advance(10);
        assert_eq!(c.status()["phase"], "Healthy", "{}", c.status());
        c
    }

    fn create(&self, obj: Value) {
        crate::seed::insert(&self.store, obj).unwrap();
    }

    fn advance(&self, seconds: i64) {
        self.rt.advance(Duration::seconds(seconds));
    }

    fn rollout(&self) -> Arc<Value> {
        self.store.get(rollouts(), NS, NAME).unwrap()
    }

    fn status(&self) -> Value {
        self.rollout()["status"].clone()
    }

    fn patch(&self, body: Value, target: Target) {
        self.store
            .patch(
                rollouts(),
                NS,
                NAME,
                PatchKind::Merge,
                body.to_string().as_bytes(),
                target,
                false,
            )
            .unwrap();
        self.rt.settle();
    }

    /// `kubectl argo rollouts` status patches go to the status subresource.
    fn patch_status(&self, body: Value) {
        self.patch(body, Target::Status);
    }

    fn patch_spec(&self, body: Value) {
        self.patch(body, Target::Main);
    }

    /// `kubectl argo rollouts set image`: a full update of the object.
    fn set_image(&self, image: &str) {
        let mut ro = Value::clone(&self.rollout());
        ro["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
        self.store
            .update(rollouts(), NS, NAME, ro, Target::Main, false)
            .unwrap();
        self.rt.settle();
    }

    fn rs_by_image(&self, image: &str) -> Arc<Value> {
        self.store
            .list(replicasets(), Some(NS), &Default::default())
            .unwrap()
            .items
            .into_iter()
            .find(|rs| workload::image_of(&rs["spec"]["template"]) == image)
            .unwrap_or_else(|| panic!("no ReplicaSet runs {image}"))
    }

    fn hash(&self, image: &str) -> String {
        hash_of(&self.rs_by_image(image), ARGO).to_string()
    }

    fn replicas(&self, image: &str) -> i64 {
        self.rs_by_image(image)["spec"]["replicas"]
            .as_i64()
            .unwrap()
    }

    /// (stable, canary) weights of the VirtualService's primary route.
    fn vs_weights(&self) -> (i64, i64) {
        let vs = self.store.get(virtual_services(), NS, NAME).unwrap();
        let route = vs["spec"]["http"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "primary")
            .unwrap()
            .clone();
        let w = |i: usize| route["route"][i]["weight"].as_i64().unwrap();
        (w(0), w(1))
    }

    fn selector_of(&self, service: &str) -> Value {
        self.store.get(services(), NS, service).unwrap()["spec"]["selector"]
            [workload::ARGO_HASH_LABEL]
            .clone()
    }

    /// Messages of the rollout's events with `reason`, oldest first.
    fn event_messages(&self, reason: &str) -> Vec<String> {
        let mut events: Vec<Arc<Value>> = self
            .store
            .list(events_res(), Some(NS), &Default::default())
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e["reason"] == reason && e["involvedObject"]["kind"] == "Rollout")
            .collect();
        let rv = |e: &Value| -> u64 {
            e["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        events.sort_by_key(|e| {
            (
                e["firstTimestamp"].as_str().unwrap_or("").to_string(),
                rv(e),
            )
        });
        events
            .iter()
            .map(|e| e["message"].as_str().unwrap().to_string())
            .collect()
    }

    fn runs(&self) -> Vec<Arc<Value>> {
        self.store
            .list(analysis_runs(), Some(NS), &Default::default())
            .unwrap()
            .items
    }

    fn condition(&self, kind: &str) -> Value {
        self.status()["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == kind)
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn set_traffic(&self, image: &str, stats: WindowStats) {
        let hash = self.hash(image);
        self.metrics.0.lock().unwrap().insert(hash, stats);
    }
}

fn standard_steps() -> Value {
    json!([{"setWeight": 20}, {"pause": {}}, {"setWeight": 50}, {"pause": {"duration": "5m"}}, {"setWeight": 100}])
}

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
            Target::Main,
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
