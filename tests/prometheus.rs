//! A real Prometheus scrapes the simulated traffic, and the PromQL the
//! metric profiles use (per-version error ratio, histogram p95, Istio's
//! series) measures what each version was configured to do.

mod support;

use cutover_sim::behaviour::{AppTraffic, Behaviour, VersionProfile, VersionRule};
use cutover_sim::clock::Clock;
use cutover_sim::seed::insert;
use cutover_sim::store::Store;
use cutover_sim::traffic::{Traffic, serve_metrics, spawn_ticker};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use support::prometheus::{PrometheusProcess, http_get};

const TEST: &str = "prometheus_measures_each_version_as_configured";

/// Scrapes (one a second) in the 1m window before the rates are read.
const SAMPLES: f64 = 17.0;

/// An instant query; the result as label value of `by` → sample value.
async fn query(prometheus: SocketAddr, promql: &str, by: &str) -> BTreeMap<String, f64> {
    let encoded: String = form_urlencoded::byte_serialize(promql.as_bytes()).collect();
    let (status, body) = http_get(prometheus, &format!("/api/v1/query?query={encoded}"))
        .await
        .expect("query Prometheus");
    assert_eq!(status, 200, "{promql}: {body}");
    let v: Value = serde_json::from_str(&body).expect("a JSON answer");
    assert_eq!(v["status"], "success", "{body}");
    v["data"]["result"]
        .as_array()
        .expect("a vector")
        .iter()
        .map(|r| {
            let label = r["metric"][by].as_str().unwrap_or("").to_string();
            let value = r["value"][1]
                .as_str()
                .unwrap_or("NaN")
                .parse()
                .unwrap_or(f64::NAN);
            (label, value)
        })
        .collect()
}

fn owner_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"], "kind": owner["kind"],
        "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
        "controller": true,
    })
}

/// A ReplicaSet of the Rollout with `ready` Ready pods of `hash`.
fn version(store: &Store, rollout: &Value, hash: &str, image: &str, ready: usize) {
    let labels = json!({"app": "checkout", "rollouts-pod-template-hash": hash});
    let rs = insert(
        store,
        json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": format!("checkout-{hash}"), "namespace": "shop", "labels": labels,
                         "ownerReferences": [owner_ref(rollout)]},
            "spec": {"replicas": ready, "selector": {"matchLabels": labels}},
        }),
    )
    .expect("insert a ReplicaSet");
    for i in 0..ready {
        insert(
            store,
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("checkout-{hash}-{i}"), "namespace": "shop", "labels": labels,
                             "ownerReferences": [owner_ref(&rs)]},
                "spec": {"containers": [{"name": "checkout", "image": image}]},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
            }),
        )
        .expect("insert a pod");
    }
}

fn rule(behaviour: &Behaviour, image: &str, error_ratio: f64, p50_ms: f64, p95_ms: f64) {
    behaviour.add_rule(VersionRule {
        image: image.into(),
        from: chrono::DateTime::<chrono::Utc>::MIN_UTC,
        profile: VersionProfile {
            error_ratio,
            p50_ms,
            p95_ms,
            ..Default::default()
        },
    });
}

fn within(value: f64, expected: f64, relative: f64) -> bool {
    (value - expected).abs() <= expected * relative
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_measures_each_version_as_configured() {
    if support::require_program("prometheus", TEST).is_none() {
        return;
    }
    // Ten simulated seconds per real second: counters grow ten times faster
    // than Prometheus's clock, which changes no ratio and no quantile.
    let store = Arc::new(Store::new(Arc::new(Clock::new(10.0))));
    let behaviour = Arc::new(Behaviour::default());
    behaviour.add_app(AppTraffic {
        namespace: "shop".into(),
        app: "checkout".into(),
        rps: 100.0,
    });
    rule(&behaviour, "checkout:1.0", 0.005, 80.0, 200.0);
    rule(&behaviour, "checkout:2.0", 0.05, 150.0, 450.0);
    let rollout = insert(
        &store,
        json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "checkout", "namespace": "shop"},
            "spec": {"strategy": {"canary": {
                "canaryService": "checkout-canary", "stableService": "checkout-stable",
                "trafficRouting": {"istio": {"virtualService": {"name": "checkout"}}},
            }}},
            "status": {"stableRS": "stable1", "canary": {"weights": {
                "canary": {"podTemplateHash": "canary1", "weight": 20},
                "stable": {"podTemplateHash": "stable1", "weight": 80},
            }}},
        }),
    )
    .expect("insert the Rollout");
    version(&store, &rollout, "stable1", "reg/checkout:1.0", 4);
    version(&store, &rollout, "canary1", "reg/checkout:2.0", 1);

    let traffic = Arc::new(Traffic::new(store.clone(), behaviour));
    let ticker = spawn_ticker(traffic.clone());
    let (metrics_addr, server) = serve_metrics(traffic, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("serve metrics");

    let prometheus = PrometheusProcess::start(TEST, &[metrics_addr])
        .await
        .expect("prometheus is on PATH");
    let addr = prometheus.addr;
    // Enough scrapes for a 1m rate of about twenty samples: wait until
    // Prometheus holds them.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let samples = query(addr, "min(count_over_time(up[1m]))", "").await;
        if samples.values().all(|n| *n >= SAMPLES) && !samples.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Prometheus never held {SAMPLES} scrapes: {samples:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let by_hash = "rollouts_pod_template_hash";
    let rates = query(
        addr,
        &format!("sum by ({by_hash}) (rate(http_requests_total[1m]))"),
        by_hash,
    )
    .await;
    let errors = query(
        addr,
        &format!(
            "sum by ({by_hash}) (rate(http_requests_total{{code=\"500\"}}[1m])) / sum by ({by_hash}) (rate(http_requests_total[1m]))"
        ),
        by_hash,
    )
    .await;
    let p95 = query(
        addr,
        &format!(
            "histogram_quantile(0.95, sum by (le, {by_hash}) (rate(http_request_duration_seconds_bucket[1m])))"
        ),
        by_hash,
    )
    .await;
    let istio_errors = query(
        addr,
        "sum by (destination_service_name) (rate(istio_requests_total{reporter=\"destination\",destination_workload_namespace=\"shop\",response_code=~\"5.*\"}[1m])) / sum by (destination_service_name) (rate(istio_requests_total{reporter=\"destination\",destination_workload_namespace=\"shop\"}[1m]))",
        "destination_service_name",
    )
    .await;
    let istio_p95 = query(
        addr,
        "histogram_quantile(0.95, sum by (le, destination_service_name) (rate(istio_request_duration_milliseconds_bucket{reporter=\"destination\"}[1m])))",
        "destination_service_name",
    )
    .await;
    eprintln!(
        "request rates {rates:?}\nerror ratios {errors:?}\np95 s {p95:?}\nistio error ratios {istio_errors:?}\nistio p95 ms {istio_p95:?}"
    );

    let ratio = rates["stable1"] / rates["canary1"];
    assert!(
        within(ratio, 4.0, 0.1),
        "80/20 weights give 4:1, got {ratio}"
    );
    assert!(within(errors["stable1"], 0.005, 0.2), "{errors:?}");
    assert!(within(errors["canary1"], 0.05, 0.2), "{errors:?}");
    // Configured p95s of 200 and 450 ms lie in the buckets (0.1, 0.25] and (0.25, 0.5].
    assert!((0.1..=0.25).contains(&p95["stable1"]), "{p95:?}");
    assert!((0.25..=0.5).contains(&p95["canary1"]), "{p95:?}");
    assert!(
        within(istio_errors["checkout-stable"], 0.005, 0.2),
        "{istio_errors:?}"
    );
    assert!(
        within(istio_errors["checkout-canary"], 0.05, 0.2),
        "{istio_errors:?}"
    );
    assert!(
        (100.0..=250.0).contains(&istio_p95["checkout-stable"]),
        "{istio_p95:?}"
    );
    assert!(
        (250.0..=500.0).contains(&istio_p95["checkout-canary"]),
        "{istio_p95:?}"
    );

    ticker.abort();
    server.abort();
    drop(prometheus);
}
