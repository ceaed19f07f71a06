use super::checks::custom_value;
use super::routing::routes_of;
use super::spec::Analysis;
use super::*;
use crate::behaviour::{VersionProfile, VersionRule};
use crate::clock::Clock;
use crate::controllers::Runtime;
use crate::controllers::deployment::DeploymentController;
use crate::controllers::replicaset::ReplicaSetController;
use crate::controllers::workload::{DEPLOYMENT, template_hash};
use crate::store::ChangeType;
use crate::time::{self, GO_UNITS, PROMETHEUS_UNITS};
use crate::traffic::WindowStats;
use chrono::Duration;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const NS: &str = "test";
/// 0.5% errors, p99 200 ms.
const HEALTHY: WindowStats = WindowStats {
    requests: 1000.0,
    errors: 5.0,
    p50_ms: 40.0,
    p95_ms: 120.0,
    p99_ms: 200.0,
};
/// 5% errors.
const BAD: WindowStats = WindowStats {
    errors: 50.0,
    ..HEALTHY
};

/// Traffic per pod-template-hash, and what every other hash sees.
#[derive(Default)]
struct FakeMetrics {
    by_hash: Mutex<HashMap<String, WindowStats>>,
    otherwise: Mutex<Option<WindowStats>>,
}

impl MeasurementSource for FakeMetrics {
    fn window(&self, _: &str, hash: &str, _: Duration) -> Option<WindowStats> {
        let by_hash = self.by_hash.lock().unwrap();
        by_hash
            .get(hash)
            .copied()
            .or(*self.otherwise.lock().unwrap())
    }
}

fn analysis() -> Value {
    json!({
        "interval": "1m",
        "threshold": 2,
        "maxWeight": 30,
        "stepWeight": 10,
        "metrics": [
            {"name": "request-success-rate", "thresholdRange": {"min": 99}, "interval": "1m"},
            {"name": "request-duration", "thresholdRange": {"max": 500}, "interval": "30s"},
        ],
    })
}

fn canary(spec: Value) -> Value {
    let mut cd = json!({
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": "podinfo", "namespace": NS},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "service": {"port": 9898},
        },
    });
    for (k, v) in spec.as_object().unwrap() {
        cd["spec"][k] = v.clone();
    }
    cd
}

fn target() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "podinfo", "namespace": NS},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "podinfo"}},
            "template": {
                "metadata": {"labels": {"app": "podinfo"}},
                "spec": {"containers": [{"name": "podinfod", "image": "ghcr.io/stefanprodan/podinfo:6.0.0"}]},
            },
        },
    })
}

struct Sim {
    rt: Arc<Runtime>,
    store: Arc<Store>,
    behaviour: Arc<Behaviour>,
    metrics: Arc<FakeMetrics>,
}

impl Sim {
    /// A target Deployment and its Canary (`spec` merged into the
    /// canary's spec), settled at the start of a frozen clock.
    fn new(spec: Value, traffic: Option<WindowStats>) -> Sim {
        Self::with_behaviour(spec, traffic, Behaviour::default())
    }

    fn with_behaviour(spec: Value, traffic: Option<WindowStats>, behaviour: Behaviour) -> Sim {
        let store = Arc::new(Store::new(Arc::new(Clock::new(0.0))));
        crate::seed::insert(&store, target()).unwrap();
        crate::seed::insert(&store, canary(spec)).unwrap();
        let metrics = Arc::new(FakeMetrics::default());
        *metrics.otherwise.lock().unwrap() = traffic;
        let behaviour = Arc::new(behaviour);
        let rt = Runtime::new(
            store.clone(),
            behaviour.clone(),
            metrics.clone(),
            vec![
                Arc::new(FlaggerController),
                Arc::new(DeploymentController),
                Arc::new(ReplicaSetController),
            ],
        );
        rt.settle();
        Sim {
            rt,
            store,
            behaviour,
            metrics,
        }
    }

    /// One analysis interval.
    fn tick(&self) {
        self.rt.advance(Duration::seconds(60));
    }

    fn canary(&self) -> Arc<Value> {
        self.store.get(canaries(), NS, "podinfo").unwrap()
    }

    fn status(&self) -> Value {
        self.canary()["status"].clone()
    }

    fn phase(&self) -> String {
        self.status()["phase"].as_str().unwrap_or("").to_string()
    }

    fn deployment(&self, name: &str) -> Arc<Value> {
        self.store.get(deployments(), NS, name).unwrap()
    }

    /// (primary, canary) weights in the VirtualService.
    fn weights(&self) -> (i64, i64) {
        let vs = self.store.get(virtual_services(), NS, "podinfo").unwrap();
        routes_of(&vs, "podinfo").unwrap()
    }

    /// (type, message, count) of the Canary's events.
    fn events(&self) -> Vec<(String, String, i64)> {
        let res = resources::lookup("", "v1", "events").unwrap();
        let list = self.store.list(res, Some(NS), &Default::default()).unwrap();
        list.items
            .iter()
            .filter(|e| e["involvedObject"]["kind"] == "Canary")
            .map(|e| {
                assert_eq!(e["reason"], "Synced");
                assert_eq!(e["source"]["component"], "flagger");
                (
                    e["type"].as_str().unwrap().to_string(),
                    e["message"].as_str().unwrap().to_string(),
                    e["count"].as_i64().unwrap(),
                )
            })
            .collect()
    }

    fn event_count(&self, kind: &str, message: &str) -> i64 {
        self.events()
            .iter()
            .find(|(t, m, _)| t == kind && m == message)
            .map_or(0, |(_, _, n)| *n)
    }

    fn assert_event(&self, kind: &str, message: &str) {
        assert!(
            self.event_count(kind, message) > 0,
            "no {kind} event {message:?} in {:#?}",
            self.events()
        );
    }

    /// A new revision, as `kubectl apply` of the manifest with a new image.
    fn release(&self, tag: &str) {
        self.change_target(tag, Some(2));
    }

    /// A new image alone, as `kubectl set image`: the target stays at
    /// the zero replicas Flagger left it with.
    fn set_image(&self, tag: &str) {
        self.change_target(tag, None);
    }

    fn change_target(&self, tag: &str, replicas: Option<i64>) {
        self.store
            .modify(deployments(), NS, "podinfo", |d| {
                if let Some(n) = replicas {
                    d["spec"]["replicas"] = json!(n);
                }
                d["spec"]["template"]["spec"]["containers"][0]["image"] =
                    json!(format!("ghcr.io/stefanprodan/podinfo:{tag}"));
            })
            .unwrap();
        self.rt.settle();
    }

    /// The pod-template-hash of the target's newest ReplicaSet.
    fn canary_hash(&self) -> String {
        let target = self.deployment("podinfo");
        let sets = workload::owned_replica_sets(&self.store, &target, DEPLOYMENT);
        workload::hash_of(sets.last().unwrap(), DEPLOYMENT).to_string()
    }

    fn image(&self, name: &str) -> String {
        workload::image_of(&self.deployment(name)["spec"]["template"]).to_string()
    }

    fn replicas(&self, name: &str) -> i64 {
        self.deployment(name)["spec"]["replicas"].as_i64().unwrap()
    }

    fn condition(&self) -> Value {
        let conditions = self.status()["conditions"].as_array().unwrap().clone();
        assert_eq!(conditions.len(), 1, "exactly one condition");
        conditions[0].clone()
    }

    fn assert_condition(&self, status: &str, reason: &str, message: &str) {
        let c = self.condition();
        assert_eq!(c["type"], "Promoted");
        assert_eq!(c["status"], status);
        assert_eq!(c["reason"], reason);
        assert_eq!(c["message"], message);
        assert!(c["lastUpdateTime"].is_string() && c["lastTransitionTime"].is_string());
    }
}

fn service(sim: &Sim, name: &str) -> Arc<Value> {
    sim.store.get(services(), NS, name).unwrap()
}

#[test]
fn initialization_creates_the_primary_and_scales_the_target_to_zero() {
    let sim = Sim::new(json!({"analysis": analysis()}), Some(HEALTHY));
    assert_eq!(sim.phase(), INITIALIZING);
    sim.assert_condition(
        "Unknown",
        INITIALIZING,
        "New Deployment detected, starting initialization.",
    );
    sim.assert_event(
        "Warning",
        "podinfo-primary.test not ready: waiting for rollout to finish: observed deployment generation less than desired generation",
    );
    assert_eq!(
        sim.replicas("podinfo"),
        2,
        "the target serves until the primary is ready"
    );

    sim.tick();
    let status = sim.status();
    assert_eq!(status["phase"], INITIALIZED);
    let hash = template_hash(&sim.deployment("podinfo")["spec"]["template"]);
    assert_eq!(status["lastAppliedSpec"], hash.as_str());
    assert_eq!(status["lastPromotedSpec"], hash.as_str());
    assert_eq!(status["canaryWeight"], 0);
    assert_eq!(status["failedChecks"], 0);
    assert_eq!(status["iterations"], 0);
    assert!(status["lastTransitionTime"].is_string());
    sim.assert_condition("True", INITIALIZED, "Deployment initialization completed.");
    sim.assert_event("Normal", "all the metrics providers are available!");
    sim.assert_event("Normal", "Initialization done! podinfo.test");

    let primary = sim.deployment("podinfo-primary");
    assert_eq!(primary["spec"]["replicas"], 2);
    assert_eq!(
        primary["spec"]["selector"]["matchLabels"],
        json!({"app": "podinfo-primary"})
    );
    assert_eq!(
        primary["spec"]["template"]["metadata"]["labels"]["app"],
        "podinfo-primary"
    );
    assert!(primary["spec"]["template"]["metadata"]["annotations"][FLAGGER_ID].is_string());
    assert_eq!(primary["metadata"]["ownerReferences"][0]["kind"], "Canary");
    assert_eq!(primary["status"]["availableReplicas"], 2);
    assert_eq!(sim.image("podinfo-primary"), sim.image("podinfo"));

    assert_eq!(sim.replicas("podinfo"), 0);
    let pods = sim
        .store
        .list(workload::pods(), Some(NS), &Default::default())
        .unwrap()
        .items;
    assert!(
        pods.iter()
            .all(|p| p["metadata"]["labels"]["app"] == "podinfo-primary")
    );
    assert_eq!(pods.len(), 2);

    assert_eq!(
        service(&sim, "podinfo")["spec"]["selector"],
        json!({"app": "podinfo-primary"})
    );
    assert_eq!(
        service(&sim, "podinfo-primary")["spec"]["selector"],
        json!({"app": "podinfo-primary"})
    );
    assert_eq!(
        service(&sim, "podinfo-canary")["spec"]["selector"],
        json!({"app": "podinfo"})
    );
    assert_eq!(
        service(&sim, "podinfo-canary")["spec"]["ports"][0]["port"],
        9898
    );
    assert_eq!(sim.weights(), (100, 0));

    // Nothing changes while the target stays as it is.
    sim.tick();
    assert_eq!(sim.phase(), INITIALIZED);
    assert_eq!(
        sim.event_count("Normal", "Initialization done! podinfo.test"),
        1
    );
}

#[test]
fn a_healthy_canary_advances_waits_for_the_gate_and_is_promoted() {
    let mut spec = analysis();
    spec["webhooks"] = json!([{"name": "promotion gate", "type": "confirm-promotion",
                               "url": "http://flagger-loadtester.test/gate/check"}]);
    let sim = Sim::new(json!({"analysis": spec}), Some(HEALTHY));
    sim.tick();
    let promoted = sim.status()["lastPromotedSpec"].clone();
    sim.release("6.0.1");
    let new_hash = template_hash(&sim.deployment("podinfo")["spec"]["template"]);

    sim.tick();
    assert_eq!(sim.phase(), PROGRESSING);
    assert_eq!(sim.status()["lastAppliedSpec"], new_hash.as_str());
    assert_eq!(sim.status()["lastPromotedSpec"], promoted);
    assert_eq!(sim.replicas("podinfo"), 2);
    sim.assert_condition(
        "Unknown",
        PROGRESSING,
        "New revision detected, progressing canary analysis.",
    );
    sim.assert_event("Normal", "New revision detected! Scaling up podinfo.test");

    sim.tick();
    sim.assert_event("Normal", "Starting canary analysis for podinfo.test");
    sim.assert_event("Normal", "Advance podinfo.test canary weight 10");
    assert_eq!(sim.status()["canaryWeight"], 10);
    assert_eq!(sim.weights(), (90, 10));

    // Only a tick moves the weight.
    sim.rt.advance(Duration::seconds(30));
    assert_eq!(sim.weights(), (90, 10));
    sim.rt.advance(Duration::seconds(30));
    assert_eq!(sim.weights(), (80, 20));
    sim.tick();
    assert_eq!(sim.weights(), (70, 30));
    assert_eq!(sim.status()["canaryWeight"], 30);
    sim.assert_event("Normal", "Advance podinfo.test canary weight 30");

    // At maxWeight with the gate closed: WaitingPromotion, traffic stays.
    sim.tick();
    sim.tick();
    assert_eq!(sim.phase(), WAITING_PROMOTION);
    assert_eq!(sim.weights(), (70, 30));
    assert_eq!(
        sim.status()["canaryWeight"],
        0,
        "Flagger clears the weight in status"
    );
    assert_eq!(sim.status()["iterations"], -1);
    assert_eq!(sim.status()["failedChecks"], 0);
    sim.assert_condition("Unknown", WAITING_PROMOTION, "Waiting for approval.");
    assert_eq!(
        sim.event_count(
            "Warning",
            "Halt podinfo.test advancement waiting for promotion approval promotion gate"
        ),
        1
    );

    sim.behaviour.open_gate(NS, "podinfo");
    sim.tick();
    assert_eq!(sim.phase(), PROMOTING);
    sim.assert_event("Normal", "Confirm-promotion check promotion gate passed");
    sim.assert_event(
        "Normal",
        "Copying podinfo.test template spec to podinfo-primary.test",
    );
    assert_eq!(
        sim.image("podinfo-primary"),
        "ghcr.io/stefanprodan/podinfo:6.0.1"
    );
    assert_eq!(sim.weights(), (70, 30));

    sim.tick();
    assert_eq!(sim.phase(), FINALISING);
    sim.assert_event("Normal", "Routing all traffic to primary");
    assert_eq!(sim.weights(), (100, 0));

    sim.tick();
    let status = sim.status();
    assert_eq!(status["phase"], SUCCEEDED);
    assert_eq!(status["lastPromotedSpec"], new_hash.as_str());
    assert_eq!(status["lastAppliedSpec"], new_hash.as_str());
    assert_eq!(status["canaryWeight"], 0);
    assert_eq!(status["iterations"], 0);
    sim.assert_condition(
        "True",
        SUCCEEDED,
        "Canary analysis completed successfully, promotion finished.",
    );
    sim.assert_event("Normal", "Promotion completed! Scaling down podinfo.test");
    assert_eq!(sim.replicas("podinfo"), 0);
    // No check ever halted the healthy canary.
    assert!(
        sim.events()
            .iter()
            .all(|(_, m, _)| !m.starts_with("Halt podinfo.test advancement ")
                || m.contains("waiting for promotion approval"))
    );
    assert_eq!(sim.status()["failedChecks"], 0);
}

#[test]
fn a_bad_canary_accrues_failed_checks_and_is_rolled_back() {
    let sim = Sim::new(json!({"analysis": analysis()}), Some(HEALTHY));
    sim.tick();
    sim.release("6.0.1");
    sim.tick();
    // Only the canary's pods are measured; the primary stays healthy.
    sim.metrics
        .by_hash
        .lock()
        .unwrap()
        .insert(sim.canary_hash(), BAD);

    sim.tick();
    assert_eq!(sim.weights(), (90, 10));
    assert_eq!(sim.status()["failedChecks"], 0);

    sim.tick();
    assert_eq!(sim.status()["failedChecks"], 1);
    assert_eq!(sim.weights(), (90, 10));
    assert_eq!(
        sim.event_count(
            "Warning",
            "Halt podinfo.test advancement success rate 95.00% < 99%"
        ),
        1
    );

    sim.tick();
    assert_eq!(sim.status()["failedChecks"], 2);
    assert_eq!(sim.phase(), PROGRESSING);

    sim.tick();
    let status = sim.status();
    assert_eq!(status["phase"], FAILED);
    assert_eq!(status["canaryWeight"], 0);
    assert_eq!(
        status["failedChecks"], 0,
        "Flagger resets the count on rollback"
    );
    assert_ne!(status["lastAppliedSpec"], status["lastPromotedSpec"]);
    sim.assert_condition(
        "False",
        FAILED,
        "Canary analysis failed, Deployment scaled to zero.",
    );
    sim.assert_event(
        "Warning",
        "Rolling back podinfo.test failed checks threshold reached 2",
    );
    sim.assert_event("Warning", "Canary failed! Scaling down podinfo.test");
    assert_eq!(sim.weights(), (100, 0));
    assert_eq!(sim.replicas("podinfo"), 0);
    assert_eq!(
        sim.image("podinfo-primary"),
        "ghcr.io/stefanprodan/podinfo:6.0.0"
    );

    // A failed canary stays failed until the next revision.
    sim.tick();
    assert_eq!(sim.phase(), FAILED);
    assert_eq!(sim.replicas("podinfo"), 0);
}

#[test]
fn halts_name_the_failing_check() {
    let slow = WindowStats {
        p99_ms: 1200.0,
        ..HEALTHY
    };
    let sim = Sim::new(json!({"analysis": analysis()}), Some(slow));
    sim.tick();
    sim.release("6.0.1");
    sim.tick();
    sim.tick();
    sim.tick();
    sim.assert_event(
        "Warning",
        "Halt podinfo.test advancement request duration 1.2s > 500ms",
    );

    let quiet = Sim::new(json!({"analysis": analysis()}), None);
    quiet.tick();
    quiet.release("6.0.1");
    quiet.tick();
    quiet.tick();
    quiet.tick();
    quiet.assert_event(
        "Warning",
        "Halt advancement no values found for istio metric request-success-rate probably podinfo.test is not receiving traffic: running query failed: no values found",
    );
    assert_eq!(quiet.status()["failedChecks"], 1);
}

#[test]
fn step_weights_follow_the_ladder_then_promote() {
    let spec = json!({
        "interval": "1m",
        "stepWeights": [5, 25, 50],
        "metrics": [{"name": "request-success-rate", "thresholdRange": {"min": 99}}],
    });
    let sim = Sim::new(json!({"analysis": spec}), Some(HEALTHY));
    sim.tick();
    sim.release("6.0.1");
    sim.tick();
    let mut seen = Vec::new();
    for _ in 0..3 {
        sim.tick();
        seen.push(sim.weights().1);
    }
    assert_eq!(seen, [5, 25, 50]);
    assert_eq!(sim.status()["canaryWeight"], 50);
    sim.tick();
    assert_eq!(sim.phase(), PROMOTING);
    assert_eq!(sim.status()["canaryWeight"], 50);
    sim.tick();
    assert_eq!(sim.phase(), FINALISING);
    sim.tick();
    assert_eq!(sim.phase(), SUCCEEDED);
    assert_eq!(
        sim.image("podinfo-primary"),
        "ghcr.io/stefanprodan/podinfo:6.0.1"
    );
}

#[test]
fn suspend_freezes_the_canary_where_it_is() {
    let sim = Sim::new(json!({"analysis": analysis()}), Some(HEALTHY));
    sim.tick();
    sim.release("6.0.1");
    sim.tick();
    sim.tick();
    sim.tick();
    assert_eq!(sim.weights(), (80, 20));
    let set_suspend = |on: bool| {
        sim.store
            .modify(canaries(), NS, "podinfo", |c| {
                c["spec"]["suspend"] = json!(on)
            })
            .unwrap();
    };
    set_suspend(true);
    for _ in 0..3 {
        sim.tick();
    }
    assert_eq!(sim.weights(), (80, 20));
    assert_eq!(sim.status()["canaryWeight"], 20);
    assert_eq!(sim.phase(), PROGRESSING);
    assert_eq!(
        sim.event_count("Normal", "skipping canary run as object is suspended"),
        3
    );
    set_suspend(false);
    sim.tick();
    assert_eq!(sim.weights(), (70, 30));
}

#[test]
fn skip_analysis_promotes_at_once() {
    let sim = Sim::new(
        json!({"analysis": analysis(), "skipAnalysis": true}),
        Some(HEALTHY),
    );
    assert_eq!(sim.phase(), INITIALIZED, "no wait for the primary");
    sim.tick();
    sim.release("6.0.1");
    sim.tick();
    assert_eq!(sim.phase(), PROGRESSING);
    sim.tick();
    let status = sim.status();
    assert_eq!(status["phase"], SUCCEEDED);
    assert_eq!(status["lastPromotedSpec"], status["lastAppliedSpec"]);
    sim.assert_event(
        "Normal",
        "Copying podinfo.test template spec to podinfo-primary.test",
    );
    sim.assert_event(
        "Normal",
        "Promotion completed! Canary analysis was skipped for podinfo.test",
    );
    assert_eq!(
        sim.image("podinfo-primary"),
        "ghcr.io/stefanprodan/podinfo:6.0.1"
    );
    assert_eq!(sim.replicas("podinfo"), 0);
    assert_eq!(sim.weights(), (100, 0));
}

#[test]
fn blue_green_counts_iterations_then_switches_and_promotes() {
    let spec = json!({
        "interval": "1m",
        "iterations": 2,
        "metrics": [{"name": "request-success-rate", "thresholdRange": {"min": 99}}],
    });
    let sim = Sim::new(json!({"analysis": spec}), Some(HEALTHY));
    sim.tick();
    sim.release("6.0.1");
    sim.tick();
    sim.tick();
    sim.assert_event("Normal", "Advance podinfo.test canary iteration 1/2");
    sim.tick();
    assert_eq!(sim.status()["iterations"], 2);
    assert_eq!(sim.weights(), (100, 0));
    sim.tick();
    sim.assert_event("Normal", "Routing all traffic to canary");
    assert_eq!(sim.weights(), (0, 100));
    sim.tick();
    assert_eq!(sim.phase(), PROMOTING);
    sim.tick();
    assert_eq!(sim.weights(), (100, 0));
    sim.tick();
    assert_eq!(sim.phase(), SUCCEEDED);
}

#[test]
fn a_canary_that_never_becomes_ready_fails_at_the_progress_deadline() {
    let behaviour = Behaviour::default();
    behaviour.add_rule(VersionRule {
        image: "podinfo:bad".into(),
        from: DateTime::<Utc>::MIN_UTC,
        profile: VersionProfile {
            crash: true,
            ..Default::default()
        },
    });
    let sim = Sim::with_behaviour(
        json!({"analysis": analysis(), "progressDeadlineSeconds": 90}),
        Some(HEALTHY),
        behaviour,
    );
    sim.tick();
    // Scaled up by Flagger (to one replica, the target having none),
    // so the deadline runs from the scale-up.
    sim.set_image("bad");
    sim.tick();
    assert_eq!(sim.phase(), PROGRESSING);
    assert_eq!(sim.replicas("podinfo"), 1);
    sim.tick();
    let waiting = "canary deployment podinfo.test not ready: waiting for rollout to finish: 0 of 1 (readyThreshold 100%) updated replicas are available";
    assert_eq!(sim.event_count("Warning", waiting), 1);
    assert_eq!(sim.phase(), PROGRESSING);
    sim.tick();
    assert_eq!(sim.event_count("Warning", waiting), 2);
    assert_eq!(sim.phase(), FAILED);
    sim.assert_event("Warning", "Canary failed! Scaling down podinfo.test");
    assert_eq!(sim.replicas("podinfo"), 0);
    assert_eq!(sim.weights(), (100, 0));
}

#[test]
fn a_change_to_the_target_reaches_its_canary() {
    let sim = Sim::new(json!({"analysis": analysis()}), Some(HEALTHY));
    let change = Change {
        rv: 1,
        event: ChangeType::Modified,
        res: deployments(),
        namespace: NS.into(),
        object: sim.deployment("podinfo"),
        old: None,
    };
    let affected = FlaggerController.affected(&change, &sim.store);
    assert_eq!(affected, [(NS.to_string(), "podinfo".to_string())]);
    let owned = Change {
        object: sim.deployment("podinfo-primary"),
        ..change
    };
    assert_eq!(
        FlaggerController.affected(&owned, &sim.store),
        [(NS.to_string(), "podinfo".to_string())]
    );
}

#[test]
fn analysis_defaults_and_steps() {
    let a = json!({"spec": {"analysis": {"interval": "5s", "stepWeights": [1, 2, 10, 80]}}});
    let a = Analysis::of(&a);
    assert_eq!(a.interval(), Duration::seconds(10));
    assert_eq!(a.threshold(), 1);
    assert_eq!(a.max_weight(), 80);
    assert_eq!(a.next_step_weight(0), 1);
    assert_eq!(a.next_step_weight(2), 8);
    assert_eq!(a.next_step_weight(10), 70);
    let b = json!({"spec": {"analysis": {"interval": "bogus", "stepWeight": 15}}});
    let b = Analysis::of(&b);
    assert_eq!(b.interval(), Duration::seconds(60));
    assert_eq!(b.max_weight(), 100);
    assert_eq!(b.next_step_weight(90), 15);
}

#[test]
fn durations_read_and_print_as_go_does() {
    assert_eq!(time::parse("1m30s", GO_UNITS), Some(Duration::seconds(90)));
    assert_eq!(time::parse("1.5h", GO_UNITS), Some(Duration::minutes(90)));
    assert_eq!(time::parse("1d", GO_UNITS), None);
    assert_eq!(time::parse("1d", PROMETHEUS_UNITS), Some(Duration::days(1)));
    assert_eq!(time::format_go(0), "0s");
    assert_eq!(time::format_go(500), "500ms");
    assert_eq!(time::format_go(1200), "1.2s");
    assert_eq!(time::format_go(90_050), "1m30.05s");
    assert_eq!(time::format_go(3_600_000), "1h0m0s");
}

#[test]
fn custom_metrics_are_judged_by_name() {
    assert_eq!(custom_value("error-rate", &BAD), Some(0.05));
    assert_eq!(custom_value("p99-latency", &HEALTHY), Some(200.0));
    assert_eq!(custom_value("success-percentage", &BAD), Some(95.0));
    assert_eq!(custom_value("queue-depth", &HEALTHY), None);
    assert_eq!(custom_value("error-rate", &WindowStats::default()), None);
}
