//! The rollout controller against the ReplicaSet controller and the
//! AnalysisRun controller on a frozen clock, driven by the exact patches
//! `kubectl argo rollouts` sends.

mod analysis_steps;
mod blue_green;
mod canary;

use super::traffic::{services, virtual_services};
use super::*;
use crate::behaviour::Behaviour;
use crate::clock::Clock;
use crate::controllers::Runtime;
use crate::controllers::analysis::{AnalysisRunController, analysis_runs};
use crate::controllers::replicaset::ReplicaSetController;
use crate::controllers::workload::replicasets;
use crate::patch::PatchKind;
use crate::store::{Store, WriteScope};
use crate::traffic::{MeasurementSource, WindowStats};
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

impl MeasurementSource for FakeMetrics {
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

    fn patch(&self, body: Value, target: WriteScope) {
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
        self.patch(body, WriteScope::Status);
    }

    fn patch_spec(&self, body: Value) {
        self.patch(body, WriteScope::Main);
    }

    /// `kubectl argo rollouts set image`: a full update of the object.
    fn set_image(&self, image: &str) {
        let mut ro = Value::clone(&self.rollout());
        ro["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
        self.store
            .update(rollouts(), NS, NAME, ro, WriteScope::Main, false)
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
