use super::measurements::evaluate;
use super::query::{
    Percentile, Quantity, QueryResult, ResolvedMetric, format_number, quantity_of, window_of,
};
use super::*;
use crate::behaviour::Behaviour;
use crate::clock::Clock;
use crate::controllers::Runtime;
use crate::store::Store;
use crate::traffic::{MeasurementSource, WindowStats};
use chrono::Duration;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

#[test]
fn conditions_cover_the_usual_forms() {
    let one = QueryResult::Vector(vec![0.004]);
    let eval = |c: &str, r: &QueryResult| condition::eval(c, r);
    assert_eq!(eval("result[0] <= 0.01", &one), Ok(true));
    assert_eq!(eval("result[0] >= 0.95", &one), Ok(false));
    assert_eq!(eval("result < 0.01", &one), Ok(true));
    assert_eq!(eval("result[0] > -1 && result[0] != 0", &one), Ok(true));
    assert_eq!(eval("result[0] > 1 || result[0] < 1e-2", &one), Ok(true));
    assert_eq!(eval("len(result) == 0 || result[0] < 0.5", &one), Ok(true));
    assert_eq!(
        eval("!(result[0] > 0.5) and not isNaN(result[0])", &one),
        Ok(true)
    );
    assert_eq!(eval("(result[0]) < 0.5", &one), Ok(true));
    assert!(eval("result[1] < 0.5", &one).is_err());
    assert!(eval("all(result, # < 1)", &one).is_err());
    assert_eq!(eval("result >= 120", &QueryResult::Scalar(120.0)), Ok(true));
}

fn metric(success: &str, failure: &str) -> ResolvedMetric {
    ResolvedMetric {
        spec: MetricSpec::default(),
        query: String::new(),
        success_condition: success.into(),
        failure_condition: failure.into(),
        hash: String::new(),
    }
}

#[test]
fn measurements_are_judged_as_argo_judges_them() {
    let v = |x: f64| QueryResult::Vector(vec![x]);
    let only_success = metric("result[0] <= 0.01", "");
    assert_eq!(
        evaluate(&only_success, &v(0.001)),
        Ok(AnalysisPhase::Successful)
    );
    assert_eq!(evaluate(&only_success, &v(0.2)), Ok(AnalysisPhase::Failed));
    let both = metric("result[0] <= 0.01", "result[0] > 0.05");
    assert_eq!(evaluate(&both, &v(0.03)), Ok(AnalysisPhase::Inconclusive));
    assert_eq!(evaluate(&both, &v(0.06)), Ok(AnalysisPhase::Failed));
    assert_eq!(
        evaluate(&metric("", ""), &v(5.0)),
        Ok(AnalysisPhase::Successful)
    );
    assert_eq!(
        evaluate(&only_success, &QueryResult::Vector(vec![])),
        Err("could not evaluate successCondition \"result[0] <= 0.01\": metric result is nil or empty: no data returned from the metric provider".into())
    );
}

#[test]
fn what_a_metric_reads_follows_its_name_then_its_query() {
    let q = |name: &str, query: &str| {
        let mut m = metric("", "");
        m.spec.name = name.into();
        m.query = query.into();
        quantity_of(&m)
    };
    assert_eq!(
        q("success-rate", "sum(x{code!~\"5..\"})"),
        Quantity::SuccessRatio
    );
    assert_eq!(q("errors", ""), Quantity::ErrorRatio);
    assert_eq!(
        q("check", "sum(rate(x{status=~\"5..\"}[1m]))"),
        Quantity::ErrorRatio
    );
    assert_eq!(
        q(
            "latency",
            "histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket[5m])) by (le))"
        ),
        Quantity::Latency {
            percentile: Percentile::P99,
            seconds: true
        }
    );
    assert_eq!(
        q(
            "p50",
            "histogram_quantile(0.5, rate(latency_ms_bucket[1m]))"
        ),
        Quantity::Latency {
            percentile: Percentile::P50,
            seconds: false
        }
    );
    assert_eq!(
        window_of("sum(rate(x[5m])) / sum(rate(x[5m]))"),
        Duration::minutes(5)
    );
    assert_eq!(window_of("up"), Duration::minutes(1));
    assert_eq!(format_number(0.1 + 0.2), "0.30000000000000004");
    assert_eq!(format_number(1.0), "1");
}

#[derive(Default)]
struct Fixed(Mutex<Option<WindowStats>>);

impl MeasurementSource for Fixed {
    fn window(&self, _: &str, hash: &str, _: Duration) -> Option<WindowStats> {
        assert_eq!(hash, "abc123");
        *self.0.lock().unwrap()
    }
}

fn setup(stats: Option<WindowStats>) -> (Arc<Runtime>, Arc<Store>) {
    let store = Arc::new(Store::new(Arc::new(Clock::new(0.0))));
    let rt = Runtime::new(
        store.clone(),
        Arc::new(Behaviour::default()),
        Arc::new(Fixed(Mutex::new(stats))),
        vec![Arc::new(AnalysisRunController)],
    );
    (rt, store)
}

fn run(metric: Value) -> Value {
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun",
           "metadata": {"name": "checkout-abc123-2-1", "namespace": "shop",
                        "labels": {"rollouts-pod-template-hash": "abc123"}},
           "spec": {"args": [{"name": "canary-hash", "value": "abc123"}], "metrics": [metric]}})
}

const QUERY: &str = "sum(rate(http_requests_total{hash=\"{{args.canary-hash}}\",code=~\"5..\"}[2m])) / sum(rate(http_requests_total{hash=\"{{args.canary-hash}}\"}[2m]))";

fn status(store: &Store) -> Value {
    store
        .get(analysis_runs(), "shop", "checkout-abc123-2-1")
        .unwrap()["status"]
        .clone()
}

fn stats(requests: f64, errors: f64) -> WindowStats {
    WindowStats {
        requests,
        errors,
        ..Default::default()
    }
}

#[test]
fn a_counted_metric_measures_on_its_interval() {
    let (rt, store) = setup(Some(stats(200.0, 1.0)));
    crate::seed::insert(
        &store,
        run(json!({"name": "error-rate", "interval": "1m", "count": 3,
        "successCondition": "result[0] <= 0.01", "provider": {"prometheus": {"query": QUERY}}})),
    )
    .unwrap();
    rt.settle();
    let s = status(&store);
    assert_eq!(s["phase"], "Running");
    assert_eq!(s["metricResults"][0]["count"], 1);
    assert_eq!(
        s["metricResults"][0]["metadata"]["ResolvedPrometheusQuery"],
        QUERY.replace("{{args.canary-hash}}", "abc123")
    );
    rt.advance(Duration::minutes(2));
    let s = status(&store);
    assert_eq!(s["phase"], "Successful");
    assert!(s["completedAt"].is_string());
    assert_eq!(s["runSummary"], json!({"count": 1, "successful": 1}));
    assert_eq!(s["dryRunSummary"], json!({}));
    let result = &s["metricResults"][0];
    assert_eq!(result["phase"], "Successful");
    assert_eq!(result["count"], 3);
    assert_eq!(result["successful"], 3);
    assert_eq!(result["consecutiveSuccess"], 3);
    assert_eq!(result["measurements"].as_array().unwrap().len(), 3);
    assert_eq!(result["measurements"][2]["value"], "[0.005]");
    assert_eq!(result["measurements"][2]["phase"], "Successful");
}

#[test]
fn no_traffic_errors_until_the_consecutive_error_limit() {
    let (rt, store) = setup(None);
    crate::seed::insert(
        &store,
        run(json!({"name": "error-rate",
        "successCondition": "result[0] <= 0.01", "provider": {"prometheus": {"query": QUERY}}})),
    )
    .unwrap();
    rt.advance(Duration::seconds(35));
    let s = status(&store);
    assert_eq!(s["phase"], "Running");
    assert_eq!(s["metricResults"][0]["consecutiveError"], 4);
    rt.advance(Duration::seconds(10));
    let s = status(&store);
    assert_eq!(s["phase"], "Error");
    let empty = "could not evaluate successCondition \"result[0] <= 0.01\": metric result is nil or empty: no data returned from the metric provider";
    assert_eq!(
        s["message"],
        format!(
            "Metric \"error-rate\" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4): \"Error Message: {empty}\""
        )
    );
    let result = &s["metricResults"][0];
    assert_eq!(result["error"], 5);
    assert_eq!(result["count"], Value::Null);
    assert_eq!(result["measurements"][0]["phase"], "Error");
    assert_eq!(result["measurements"][0]["message"], empty);
    assert_eq!(result["measurements"][0]["value"], Value::Null);
    assert_eq!(s["runSummary"], json!({"count": 1, "error": 1}));
}

#[test]
fn terminate_stops_an_endless_metric_as_successful() {
    let (rt, store) = setup(Some(stats(200.0, 0.0)));
    crate::seed::insert(
        &store,
        run(json!({"name": "error-rate", "interval": "30s",
        "successCondition": "result[0] <= 0.01", "provider": {"prometheus": {"query": QUERY}}})),
    )
    .unwrap();
    rt.advance(Duration::minutes(10));
    let s = status(&store);
    assert_eq!(s["phase"], "Running");
    assert_eq!(s["metricResults"][0]["count"], 21);
    assert_eq!(
        s["metricResults"][0]["measurements"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    store
        .modify(analysis_runs(), "shop", "checkout-abc123-2-1", |r| {
            r["spec"]["terminate"] = json!(true)
        })
        .unwrap();
    rt.settle();
    let s = status(&store);
    assert_eq!(s["phase"], "Successful");
    assert_eq!(s["message"], "Run Terminated");
}

#[test]
fn an_initial_delay_postpones_the_first_measurement() {
    let (rt, store) = setup(Some(stats(200.0, 0.0)));
    crate::seed::insert(
        &store,
        run(json!({"name": "error-rate", "initialDelay": "1m",
        "successCondition": "result[0] <= 0.01", "provider": {"prometheus": {"query": QUERY}}})),
    )
    .unwrap();
    rt.advance(Duration::seconds(59));
    let s = status(&store);
    assert_eq!(s["phase"], "Running");
    assert_eq!(s["metricResults"], Value::Null);
    rt.advance(Duration::seconds(2));
    assert_eq!(status(&store)["phase"], "Successful");
}

#[test]
fn an_unresolved_argument_is_an_error() {
    let (rt, store) = setup(None);
    crate::seed::insert(
        &store,
        run(json!({"name": "error-rate",
        "provider": {"prometheus": {"query": "sum(x{hash=\"{{args.stable-hash}}\"})"}}})),
    )
    .unwrap();
    rt.settle();
    let s = status(&store);
    assert_eq!(s["phase"], "Error");
    assert_eq!(
        s["message"],
        "Unable to resolve metric arguments: failed to resolve {{args.stable-hash}}"
    );
}
