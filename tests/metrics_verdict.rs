//! The metrics verdict end to end: `cutover sim serve` serves the traffic,
//! a real Prometheus scrapes it, and `cutover status -o json --prometheus`
//! measures and judges each release. Failures of the source (stopped,
//! silent, answering garbage) come from a fake server, and so does the
//! query count.

mod support;

use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use support::ServeProcess;
use support::fake_prometheus::{Answer, FakeServer, Framing, GeneratedMatrix};
use support::prometheus::{PrometheusProcess, free_port, http_get};

/// Windows short enough for a Prometheus that started seconds ago.
const SHORT_WINDOWS: &str = r#"
[metrics]
window = "30s"
step = "2s"
rate_interval = "10s"
min_canary_requests = 10
"#;

/// A business metric judged beside the RED ones: the share of successful
/// requests, where lower is worse.
const SUCCESS_RATIO: &str = r#"
[[metrics.custom]]
name = "success_ratio"
label = "success ratio"
query = 'sum by ({{version_label}}) (rate(http_requests_total{namespace="{{namespace}}",app="{{app}}",code="200",{{version_selector}}}[{{interval}}])) / sum by ({{version_label}}) (rate(http_requests_total{namespace="{{namespace}}",app="{{app}}",{{version_selector}}}[{{interval}}]))'
direction = "lower-is-worse"
unit = "ratio"
"#;

fn write_config(sim: &ServeProcess, text: &str) -> std::path::PathBuf {
    let path = sim.dir.path().join("config.toml");
    std::fs::write(&path, text).expect("write the config");
    path
}

/// `cutover status -o json` of the whole namespace, or of one release.
fn status(sim: &ServeProcess, config: &Path, prometheus: &str, name: Option<&str>) -> Value {
    let config = config.to_str().expect("a UTF-8 path");
    let flags = ["--config", config, "--context", "sim-admin", "--read-only"];
    sim.status_json(
        &[&flags[..], &["--prometheus", prometheus]].concat(),
        name.as_slice(),
    )
}

fn metrics_of<'a>(report: &'a Value, name: &str) -> &'a Value {
    let release = report["releases"]
        .as_array()
        .and_then(|all| all.iter().find(|r| r["name"] == name))
        .unwrap_or_else(|| panic!("{name} in {report:#}"));
    &release["metrics"]
}

/// When cutover measured checkout in `report`.
fn measured_at(report: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    let at = metrics_of(report, "checkout")["measuredAt"].as_str();
    chrono::DateTime::parse_from_rfc3339(at.unwrap_or_default())
        .unwrap_or_else(|_| panic!("measuredAt in {report:#}"))
}

fn comparison<'a>(metrics: &'a Value, id: &str) -> &'a Value {
    metrics["comparisons"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["metric"] == id))
        .unwrap_or_else(|| panic!("{id} in {metrics:#}"))
}

/// Status reports every two seconds until `done` holds for one, or `timeout`.
fn poll(
    timeout: Duration,
    mut read: impl FnMut() -> Value,
    mut done: impl FnMut(&Value) -> bool,
) -> Result<Value, Value> {
    let started = Instant::now();
    loop {
        let report = read();
        if done(&report) {
            return Ok(report);
        }
        if started.elapsed() > timeout {
            return Err(report);
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// The bad-canary scenario with text replaced, as a scenario file.
fn bad_canary_with(dir: &Path, name: &str, edits: &[(&str, &str)]) -> String {
    let mut text = include_str!("../sim/src/scenarios/bad-canary.yaml").to_string();
    for (from, to) in edits {
        assert!(text.contains(from), "the scenario has {from:?}");
        text = text.replace(from, to);
    }
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).expect("write the scenario");
    path.display().to_string()
}

fn serve_with_metrics(scenario: &str) -> (ServeProcess, SocketAddr) {
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let sim = ServeProcess::start_with(&[
        "--scenario",
        scenario,
        "--metrics-addr",
        &metrics.to_string(),
    ]);
    (sim, metrics)
}

/// One number of a PromQL result, by the value of its `by` label.
async fn promql(prometheus: SocketAddr, query: &str, at: &str, by: &str, value: &str) -> f64 {
    let encoded: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("query", query)
        .append_pair("time", at)
        .finish();
    let (status, body) = http_get(prometheus, &format!("/api/v1/query?{encoded}"))
        .await
        .expect("query Prometheus");
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    answer["data"]["result"]
        .as_array()
        .and_then(|r| r.iter().find(|s| s["metric"][by] == value))
        .and_then(|s| s["value"][1].as_str())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{by}={value} in {answer:#}"))
}

fn assert_within_one_percent(shown: &Value, direct: f64, what: &str) {
    let shown = shown.as_f64().unwrap_or_else(|| panic!("{what}: {shown}"));
    assert!(
        (shown - direct).abs() <= direct.abs() * 0.01,
        "{what}: shown {shown}, PromQL {direct}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bad_canary_fails_on_errors_and_p95_with_the_numbers_promql_gives() {
    const TEST: &str = "the_bad_canary_fails_on_errors_and_p95";
    // A long pause before the analysis, so that the canary keeps serving
    // through every refresh read here.
    let scenarios = tempfile::tempdir().unwrap();
    let scenario = bad_canary_with(
        scenarios.path(),
        "bad-canary-paused",
        &[("pause: {duration: 1m}", "pause: {duration: 10m}")],
    );
    let (sim, metrics_addr) = serve_with_metrics(&scenario);
    let Some(prometheus) = PrometheusProcess::start(TEST, &[metrics_addr]).await else {
        return;
    };
    let config = write_config(&sim, &format!("{SHORT_WINDOWS}{SUCCESS_RATIO}"));
    let url = format!("http://{}", prometheus.addr);
    let both_high = |m: &Value| {
        ["error_ratio", "p95_latency"]
            .iter()
            .all(|id| comparison(m, id)["verdict"] == "high")
    };
    let report = tokio::task::block_in_place(|| {
        poll(
            Duration::from_secs(60),
            || status(&sim, &config, &url, Some("checkout")),
            |r| {
                let m = metrics_of(r, "checkout");
                m["verdict"] == "fail" && both_high(m)
            },
        )
    })
    .unwrap_or_else(|last| panic!("no Fail with both metrics High in time: {last:#}"));
    // The refreshes that follow, each at a later step of the grid, stay
    // High: a steady bad canary never flickers to NoData. Each status is a
    // process of its own, so this is the aligned grid's doing alone: no
    // class is held over from an earlier refresh.
    let mut steps = std::collections::BTreeSet::new();
    tokio::task::block_in_place(|| {
        poll(
            Duration::from_secs(60),
            || status(&sim, &config, &url, Some("checkout")),
            |r| {
                let m = metrics_of(r, "checkout");
                assert!(both_high(m), "High, then: {m:#}");
                let at = chrono::DateTime::parse_from_rfc3339(m["measuredAt"].as_str().unwrap())
                    .unwrap()
                    .timestamp_millis();
                assert_eq!(at % 2000, 0, "measured at a multiple of the 2 s step: {at}");
                steps.insert(at);
                steps.len() >= 5
            },
        )
    })
    .unwrap_or_else(|last| panic!("five refreshes at distinct steps in time: {last:#}"));
    let metrics = metrics_of(&report, "checkout");
    let error_ratio = comparison(metrics, "error_ratio");
    let p95 = comparison(metrics, "p95_latency");
    let success = comparison(metrics, "success_ratio");
    assert_eq!(success["verdict"], "low", "{success:#}");
    assert!(success["canary"].as_f64() < Some(0.95), "{success:#}");
    let reasons = metrics["reasons"].to_string();
    assert!(reasons.contains("significant at 98%"), "{reasons}");
    assert!(reasons.contains("gate failed: error ratio"), "{reasons}");

    // The same PromQL, written out here, at the instant cutover measured.
    let at = chrono::DateTime::parse_from_rfc3339(metrics["measuredAt"].as_str().unwrap())
        .unwrap()
        .timestamp_millis() as f64
        / 1000.0;
    let at = format!("{at:.3}");
    let label = "rollouts_pod_template_hash";
    let selector = r#"namespace="shop",app="checkout""#;
    let ratio = format!(
        r#"sum by ({label}) (rate(http_requests_total{{{selector},code=~"5.."}}[30s])) / sum by ({label}) (rate(http_requests_total{{{selector}}}[30s]))"#
    );
    let p95_query = format!(
        "histogram_quantile(0.95, sum by ({label}, le) (rate(http_request_duration_seconds_bucket{{{selector}}}[30s]))) * 1000"
    );
    for side in ["baseline", "canary"] {
        let hash = metrics["versions"][side].as_str().expect("versions");
        let direct = promql(prometheus.addr, &ratio, &at, label, hash).await;
        assert_within_one_percent(&error_ratio[side], direct, &format!("{side} error ratio"));
        let direct = promql(prometheus.addr, &p95_query, &at, label, hash).await;
        assert_within_one_percent(&p95[side], direct, &format!("{side} p95"));
    }
    let canary_ratio = error_ratio["canary"].as_f64().unwrap();
    assert!(
        (0.055..0.065).contains(&canary_ratio),
        "the scenario's canary answers 6% errors: {canary_ratio}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_healthy_checkout_canary_passes_and_keeps_passing() {
    const TEST: &str = "the_healthy_checkout_canary_passes";
    let (sim, metrics_addr) = serve_with_metrics("default");
    let Some(prometheus) = PrometheusProcess::start(TEST, &[metrics_addr]).await else {
        return;
    };
    let config = write_config(&sim, SHORT_WINDOWS);
    let url = format!("http://{}", prometheus.addr);
    let judged = |r: &Value| {
        let m = metrics_of(r, "checkout");
        m["verdict"] != "noData" && m["comparisons"][1]["canarySamples"].as_u64() >= Some(10)
    };
    tokio::task::block_in_place(|| {
        let first = poll(
            Duration::from_secs(60),
            || status(&sim, &config, &url, Some("checkout")),
            judged,
        )
        .unwrap_or_else(|last| panic!("never judged: {last:#}"));
        assert_eq!(
            metrics_of(&first, "checkout")["verdict"],
            "pass",
            "{first:#}"
        );
        // Three later measurements, each a step (2s) of data past the one before.
        let mut measured = measured_at(&first);
        for _ in 0..3 {
            let again = poll(
                Duration::from_secs(60),
                || status(&sim, &config, &url, Some("checkout")),
                |r| measured_at(r) >= measured + chrono::Duration::seconds(2),
            )
            .unwrap_or_else(|last| panic!("no later measurement: {last:#}"));
            measured = measured_at(&again);
            let m = metrics_of(&again, "checkout");
            assert_eq!(m["verdict"], "pass", "{m:#}");
            assert_eq!(m["gates"].as_array().map(Vec::len), Some(2));
        }
    });
}

/// An empty answer to every query: no data, but a well-formed one.
fn empty_answer() -> Answer {
    Answer::Respond {
        status: 200,
        body: r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#.into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_queries_per_refresh_do_not_grow_with_the_pods() {
    let scenarios = tempfile::tempdir().unwrap();
    let mut counts = Vec::new();
    for replicas in [2, 200] {
        let scenario = bad_canary_with(
            scenarios.path(),
            &format!("bad-canary-{replicas}"),
            &[("replicas: 5", &format!("replicas: {replicas}"))],
        );
        let sim = ServeProcess::start_with(&["--scenario", &scenario]);
        let config = write_config(&sim, SHORT_WINDOWS);
        let server = FakeServer::start(empty_answer(), "", Duration::ZERO, None).await;
        let report = tokio::task::block_in_place(|| {
            poll(
                Duration::from_secs(60),
                || status(&sim, &config, &server.url, Some("checkout")),
                |r| !metrics_of(r, "checkout")["versions"].is_null(),
            )
        })
        .unwrap_or_else(|last| panic!("checkout never got a canary: {last:#}"));
        let pods: u64 = report["releases"][0]["revisions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["desired"].as_u64())
            .sum();
        assert!(
            pods >= replicas as u64,
            "{pods} pods for {replicas} replicas"
        );
        let before = server.received().len();
        status(&sim, &config, &server.url, Some("checkout"));
        let received = server.received();
        let sent = &received[before..];
        counts.push(sent.len());
        assert_one_moment(sent);
    }
    assert_eq!(
        counts[0], counts[1],
        "2 pods: {}, 200 pods: {}",
        counts[0], counts[1]
    );
    assert_eq!(
        counts[0], 11,
        "5 metrics × (instant + range) + the request count"
    );
}

/// The queries of one refresh describe one moment, on the step's grid: the
/// instant queries' `time` is the range queries' `end`, a multiple of the
/// 2 s step, and `start` is the 30 s window before it.
fn assert_one_moment(sent: &[support::fake_prometheus::Received]) {
    let params =
        |r: &support::fake_prometheus::Received| -> std::collections::HashMap<String, String> {
            let query = match r.method.as_str() {
                "POST" => r.body.as_str(),
                _ => r.target.split_once('?').map_or("", |(_, q)| q),
            };
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        };
    let seconds = |p: &std::collections::HashMap<String, String>, name: &str| -> f64 {
        p.get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {p:?}"))
    };
    let all: Vec<_> = sent.iter().map(params).collect();
    let moment = seconds(
        &all[0],
        if all[0].contains_key("time") {
            "time"
        } else {
            "end"
        },
    );
    assert_eq!(moment % 2.0, 0.0, "{moment} on the 2 s grid");
    for p in &all {
        if p.contains_key("time") {
            assert_eq!(seconds(p, "time"), moment, "{p:?}");
        } else {
            assert_eq!(seconds(p, "end"), moment, "{p:?}");
            assert_eq!(seconds(p, "start"), moment - 30.0, "{p:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_silent_or_garbled_source_is_never_a_pass() {
    let sim = ServeProcess::start_with(&["--scenario", "default"]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let stopped = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let silent = FakeServer::start(Answer::Silence, "", Duration::ZERO, None).await;
    let garbage = FakeServer::answering(200, "<html>not Prometheus</html>").await;
    let config = write_config(
        &sim,
        &format!("{SHORT_WINDOWS}\n[metrics.prometheus]\ntimeout = \"1s\"\n"),
    );
    let cases = [
        (stopped.as_str(), "cannot reach Prometheus"),
        (silent.url.as_str(), "did not answer within 1s"),
        (garbage.url.as_str(), "cannot read Prometheus's answer"),
    ];
    tokio::task::block_in_place(|| {
        let measured = poll(
            Duration::from_secs(60),
            || status(&sim, &config, cases[0].0, None),
            |r| !metrics_of(r, "checkout")["versions"].is_null(),
        );
        measured.unwrap_or_else(|last| panic!("checkout never got a canary: {last:#}"));
        for (url, error) in cases {
            let report = status(&sim, &config, url, None);
            for release in report["releases"].as_array().unwrap() {
                let m = &release["metrics"];
                assert_ne!(m["verdict"], "pass", "{url}: {m:#}");
                assert_ne!(m["verdict"], "marginal", "{url}: {m:#}");
            }
            let checkout = metrics_of(&report, "checkout");
            assert_eq!(checkout["verdict"], "noData", "{url}: {checkout:#}");
            let errors = checkout["errors"].to_string();
            assert!(errors.contains(error), "{url}: {errors}");
        }
    });
}

/// The measured hostile answer: 60,000 series, about 38 MB, to every query.
const HUGE_MATRIX: GeneratedMatrix = GeneratedMatrix {
    series: 60_000,
    samples: 27,
    framing: Framing::Chunked,
};

/// The stated limit: what one status may hold at its peak, whatever
/// Prometheus answers.
const STATUS_PEAK_LIMIT: u64 = 150 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_answer_to_every_query_is_refused_in_bounded_memory() {
    assert!(HUGE_MATRIX.len() > 38_000_000, "{}", HUGE_MATRIX.len());
    let sim = ServeProcess::start_with(&["--scenario", "default"]);
    let config = write_config(&sim, SHORT_WINDOWS);
    let empty = FakeServer::start(empty_answer(), "", Duration::ZERO, None).await;
    let huge = FakeServer::start(Answer::Matrix(HUGE_MATRIX), "", Duration::ZERO, None).await;
    tokio::task::block_in_place(|| {
        poll(
            Duration::from_secs(60),
            || status(&sim, &config, &empty.url, Some("checkout")),
            |r| !metrics_of(r, "checkout")["versions"].is_null(),
        )
        .unwrap_or_else(|last| panic!("checkout never got a canary: {last:#}"));
        let config = config.to_str().expect("a UTF-8 path");
        let flags = ["--config", config, "--context", "sim-admin", "--read-only"];
        let mut command = sim.status_command(
            &[&flags[..], &["--prometheus", &huge.url]].concat(),
            &["checkout"],
        );
        let (out, peak) = support::output_with_peak_memory(&mut command);
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        eprintln!("cutover status peaked at {:.1} MiB", mib(peak));
        assert!(out.status.success(), "{}", support::stderr_of(&out));
        let report: Value = serde_json::from_slice(&out.stdout).expect("status prints JSON");
        let checkout = metrics_of(&report, "checkout");
        assert_eq!(checkout["verdict"], "noData", "{checkout:#}");
        let errors = checkout["errors"].to_string();
        assert!(
            errors.contains("more than 16 MiB") && errors.contains("max_response_bytes"),
            "{errors}"
        );
        assert!(
            peak < STATUS_PEAK_LIMIT,
            "cutover status peaked at {:.1} MiB, above the stated {:.0} MiB",
            mib(peak),
            mib(STATUS_PEAK_LIMIT)
        );
    });
}
