//! The Prometheus HTTP API client against a fake server on loopback (what
//! it sends, how it reads odd answers and failures) and against a real
//! Prometheus (the shapes of real answers).

mod support;

use chrono::{TimeDelta, Utc};
use cutover::metrics::prometheus::{
    BasicAuth, POST_ABOVE_BYTES, Prometheus, PrometheusConfig, QueryError, QueryResult,
};
use cutover_sim::tls::SimTls;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;
use support::fake_prometheus::{Answer, FakeServer, Framing, GeneratedMatrix};
use support::prometheus::PrometheusProcess;

fn client(url: &str) -> Prometheus {
    Prometheus::new(PrometheusConfig {
        timeout: Duration::from_secs(5),
        ..PrometheusConfig::new(url)
    })
    .expect("a valid config")
}

/// The query parameters of a target or a form body.
fn params(encoded: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(encoded.as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn garbage_is_a_decode_error() {
    let server = FakeServer::answering(200, "<html>surely not JSON</html>").await;
    let err = client(&server.url)
        .query("up", Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(err, QueryError::Decode(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("cannot read Prometheus's answer: ")
    );
}

#[tokio::test]
async fn an_error_envelope_is_kept_as_prometheus_wrote_it() {
    let server = FakeServer::answering(
        503,
        r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#,
    )
    .await;
    let err = client(&server.url)
        .query("up", Utc::now())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        QueryError::Api {
            error_type: "timeout".into(),
            error: "query timed out in expression evaluation".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "Prometheus error timeout: query timed out in expression evaluation"
    );
}

#[tokio::test]
async fn an_http_error_without_an_envelope_shows_the_status_and_body() {
    let server = FakeServer::answering(502, "Bad Gateway\n").await;
    let err = client(&server.url)
        .query("up", Utc::now())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        QueryError::Http {
            status: 502,
            body: "Bad Gateway".into()
        }
    );
    assert_eq!(err.to_string(), "Prometheus answered HTTP 502: Bad Gateway");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let server = FakeServer::start(Answer::Silence, "", Duration::ZERO, None).await;
    let prometheus = Prometheus::new(PrometheusConfig {
        timeout: Duration::from_millis(300),
        ..PrometheusConfig::new(&server.url)
    })
    .unwrap();
    let err = prometheus.query("up", Utc::now()).await.unwrap_err();
    assert!(matches!(err, QueryError::Timeout { .. }), "{err:?}");
    assert_eq!(err.to_string(), "Prometheus did not answer within 300ms");
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    let port = support::prometheus::free_port();
    let err = client(&format!("http://127.0.0.1:{port}"))
        .query("up", Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(err, QueryError::Connect(_)), "{err:?}");
}

#[tokio::test]
async fn values_are_parsed_from_strings_and_warnings_surface() {
    let vector = r#"{"status":"success","warnings":["PromQL info: metric might not be a counter"],
        "data":{"resultType":"vector","result":[
          {"metric":{"version":"canary"},"value":[1700000000.5,"NaN"]},
          {"metric":{"version":"stable"},"value":[1700000000.5,"+Inf"]},
          {"metric":{"version":"old"},"value":[1700000000.5,"-Inf"]},
          {"metric":{"version":"new"},"value":[1700000000.5,"1.5e-3"]}]}}"#;
    let server = FakeServer::answering(200, vector).await;
    let result = client(&server.url).query("x", Utc::now()).await.unwrap();
    assert_eq!(
        result.warnings,
        ["PromQL info: metric might not be a counter"]
    );
    let at = chrono::DateTime::from_timestamp_millis(1_700_000_000_500).unwrap();
    let values: Vec<(&str, f64)> = result
        .series
        .iter()
        .map(|s| {
            assert_eq!(s.samples.len(), 1);
            assert_eq!(s.samples[0].0, at);
            (s.labels["version"].as_str(), s.samples[0].1)
        })
        .collect();
    assert_eq!(values[0].0, "canary");
    assert!(values[0].1.is_nan());
    assert_eq!(
        values[1..],
        [
            ("stable", f64::INFINITY),
            ("old", f64::NEG_INFINITY),
            ("new", 0.0015)
        ]
    );

    let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[
          {"metric":{"__name__":"up","job":"sim"},"values":[[10,"1"],[25,"NaN"],[40,"0"]]}]}}"#;
    let server = FakeServer::answering(200, matrix).await;
    let result = ten_minutes(&client(&server.url), "up").await.unwrap();
    assert!(result.warnings.is_empty());
    let series = &result.series[0];
    assert_eq!(series.labels["job"], "sim");
    let seconds: Vec<i64> = series.samples.iter().map(|s| s.0.timestamp()).collect();
    assert_eq!(seconds, [10, 25, 40]);
    assert!(series.samples[1].1.is_nan());

    // A scalar or a string has no series to compare: the query is wrong,
    // which is not "no data".
    for (answered, result) in [("scalar", r#"[12,"-Inf"]"#), ("string", r#"[12,"v1"]"#)] {
        let body = format!(
            r#"{{"status":"success","data":{{"resultType":"{answered}","result":{result}}}}}"#
        );
        let server = FakeServer::answering(200, &body).await;
        let err = client(&server.url)
            .query("-1/0", Utc::now())
            .await
            .unwrap_err();
        assert_eq!(err, QueryError::ResultType { answered });
        assert!(
            err.to_string().starts_with(&format!(
                "Prometheus answered a {answered} where a vector was expected: "
            )),
            "{err}"
        );
    }

    let not_a_number = r#"{"status":"success","data":{"resultType":"vector","result":[
          {"metric":{"version":"canary"},"value":[12,"lots"]}]}}"#;
    let server = FakeServer::answering(200, not_a_number).await;
    let err = client(&server.url)
        .query("x", Utc::now())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        QueryError::Decode("sample value \"lots\" is not a number".into())
    );
}

/// A range query over the ten minutes before now, every 15 s: 41 samples.
async fn ten_minutes(prometheus: &Prometheus, query: &str) -> Result<QueryResult, QueryError> {
    let now = Utc::now();
    prometheus
        .query_range(
            query,
            now - TimeDelta::minutes(10),
            now,
            Duration::from_secs(15),
        )
        .await
}

/// A client that reads answers of at most `max_response_bytes`.
fn limited(url: &str, max_response_bytes: usize) -> Prometheus {
    Prometheus::new(PrometheusConfig {
        timeout: Duration::from_secs(30),
        max_response_bytes,
        ..PrometheusConfig::new(url)
    })
    .expect("a valid config")
}

#[tokio::test]
async fn an_answer_over_the_size_limit_is_refused_told_or_streamed() {
    const LIMIT: usize = 256 * 1024;
    let query =
        "sum by (version) (rate(http_requests_total{namespace=\"shop\",app=\"checkout\"}[5m]))";
    // Told a length above the limit, the client reads nothing (else it
    // would wait for a body that never comes); streamed without end, it
    // stops at the limit (else it would read until the timeout).
    let answers = [Answer::Announced { length: 1 << 40 }, Answer::Endless];
    for answer in answers {
        let server = FakeServer::start(answer, "", Duration::ZERO, None).await;
        let err = ten_minutes(&limited(&server.url, LIMIT), query)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Prometheus answered more than 256 KiB to `sum by (version) (rate(http_requests_total{namespace=\"shop\"…`: \
             narrow the query's selectors, or raise [metrics.prometheus] max_response_bytes"
        );
    }
    // Within the size limit, the series are counted.
    let many = GeneratedMatrix {
        series: 1_000,
        samples: 10,
        framing: Framing::ContentLength,
    };
    let server = FakeServer::start(Answer::Matrix(many), "", Duration::ZERO, None).await;
    let err = ten_minutes(&limited(&server.url, many.len()), query)
        .await
        .unwrap_err();
    assert!(
        matches!(err, QueryError::TooManySeries { limit: 100, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_answer_of_more_series_than_the_limit_is_refused() {
    let matrix = |series| {
        Answer::Matrix(GeneratedMatrix {
            series,
            samples: 3,
            framing: Framing::Chunked,
        })
    };
    let at_limit = FakeServer::start(matrix(100), "", Duration::ZERO, None).await;
    let result = ten_minutes(&client(&at_limit.url), "x").await.unwrap();
    assert_eq!(result.series.len(), 100);
    assert_eq!(result.series[99].samples.len(), 3);

    let over = FakeServer::start(matrix(101), "", Duration::ZERO, None).await;
    let err = ten_minutes(&client(&over.url), "x").await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Prometheus answered more than 100 series to `x`: "),
        "{err}"
    );
    let raised = Prometheus::new(PrometheusConfig {
        max_series: 101,
        ..PrometheusConfig::new(&over.url)
    })
    .unwrap();
    let result = ten_minutes(&raised, "x").await.unwrap();
    assert_eq!(result.series.len(), 101);
}

#[tokio::test]
async fn a_series_of_more_samples_than_the_range_holds_is_refused() {
    let answer = Answer::Matrix(GeneratedMatrix {
        series: 2,
        samples: 7,
        framing: Framing::ContentLength,
    });
    let server = FakeServer::start(answer, "", Duration::ZERO, None).await;
    let now = Utc::now();
    // One minute every 15 s: 5 samples, and one more for a realigned range.
    let err = client(&server.url)
        .query_range(
            "x",
            now - TimeDelta::minutes(1),
            now,
            Duration::from_secs(15),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        QueryError::Decode(
            "a series has more than 6 samples, more than the query asked for".into()
        )
    );
}

const EMPTY_VECTOR: &str = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;

fn answer_empty() -> Answer {
    Answer::Respond {
        status: 200,
        body: EMPTY_VECTOR.into(),
    }
}

#[tokio::test]
async fn the_path_prefix_headers_and_bearer_token_file_are_sent() {
    let server = FakeServer::start(answer_empty(), "/prometheus/", Duration::ZERO, None).await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "file-token\n").unwrap();
    let prometheus = Prometheus::new(PrometheusConfig {
        bearer_token_file: Some(token.clone()),
        headers: vec![("X-Scope-OrgID".into(), "tenant-1".into())],
        ..PrometheusConfig::new(&server.url)
    })
    .unwrap();
    let at = chrono::DateTime::from_timestamp_millis(1_700_000_000_250).unwrap();
    prometheus.query("up", at).await.unwrap();
    // A rotated token is read again.
    std::fs::write(&token, "rotated-token").unwrap();
    prometheus
        .query_range(
            "up",
            at - TimeDelta::minutes(5),
            at,
            Duration::from_secs(15),
        )
        .await
        .unwrap();

    let received = server.received();
    let (path, query) = received[0].target.split_once('?').unwrap();
    assert_eq!(
        (received[0].method.as_str(), path),
        ("GET", "/prometheus/api/v1/query")
    );
    assert_eq!(
        params(query),
        BTreeMap::from([
            ("query".into(), "up".into()),
            ("time".into(), "1700000000.250".into())
        ])
    );
    assert_eq!(received[0].headers["authorization"], "Bearer file-token");
    assert_eq!(received[0].headers["x-scope-orgid"], "tenant-1");

    let (path, query) = received[1].target.split_once('?').unwrap();
    assert_eq!(path, "/prometheus/api/v1/query_range");
    assert_eq!(
        params(query),
        BTreeMap::from([
            ("query".into(), "up".into()),
            ("start".into(), "1699999700.250".into()),
            ("end".into(), "1700000000.250".into()),
            ("step".into(), "15".into())
        ])
    );
    assert_eq!(received[1].headers["authorization"], "Bearer rotated-token");
    assert_eq!(prometheus.requests_sent(), 2);
}

#[tokio::test]
async fn a_bearer_token_from_the_environment_and_basic_auth_are_sent() {
    let server = FakeServer::start(answer_empty(), "", Duration::ZERO, None).await;
    let var = "CUTOVER_TEST_PROMETHEUS_TOKEN_7F3A";
    // SAFETY: a variable of this test alone, set before any client reads it.
    unsafe { std::env::set_var(var, "env-token") };
    let bearer = Prometheus::new(PrometheusConfig {
        bearer_token_env: Some(var.into()),
        ..PrometheusConfig::new(&server.url)
    })
    .unwrap();
    bearer.query("up", Utc::now()).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, "s3cret\n").unwrap();
    let basic = Prometheus::new(PrometheusConfig {
        basic_auth: Some(BasicAuth {
            username: "grafana".into(),
            password_file: Some(password),
            password_env: None,
        }),
        ..PrometheusConfig::new(&server.url)
    })
    .unwrap();
    basic.query("up", Utc::now()).await.unwrap();

    let received = server.received();
    assert_eq!(received[0].headers["authorization"], "Bearer env-token");
    // base64("grafana:s3cret")
    assert_eq!(
        received[1].headers["authorization"],
        "Basic Z3JhZmFuYTpzM2NyZXQ="
    );
}

#[tokio::test]
async fn a_long_query_is_posted_as_a_form() {
    let server = FakeServer::start(answer_empty(), "/prometheus", Duration::ZERO, None).await;
    let prometheus = client(&server.url);
    let long = format!(
        "sum(rate(http_requests_total{{version=~\"{}\"}}[5m]))",
        "a|".repeat(POST_ABOVE_BYTES)
    );
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    prometheus.query(&long, at).await.unwrap();

    let request = &server.received()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.target, "/prometheus/api/v1/query");
    assert_eq!(
        request.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(
        params(&request.body),
        BTreeMap::from([
            ("query".into(), long),
            ("time".into(), "1700000000.000".into())
        ])
    );
}

#[tokio::test]
async fn no_more_than_max_concurrency_requests_are_in_flight() {
    let server = FakeServer::start(answer_empty(), "", Duration::from_millis(100), None).await;
    let prometheus = Prometheus::new(PrometheusConfig {
        max_concurrency: 2,
        ..PrometheusConfig::new(&server.url)
    })
    .unwrap();
    let queries = (0..6).map(|_| prometheus.query("up", Utc::now()));
    for result in futures::future::join_all(queries).await {
        result.unwrap();
    }
    assert_eq!(server.most_at_once.load(Ordering::SeqCst), 2);
    assert_eq!(prometheus.requests_sent(), 6);
}

#[test]
fn a_bad_config_is_refused_before_any_request() {
    let with = |cfg: PrometheusConfig| Prometheus::new(cfg).unwrap_err();
    let base = || PrometheusConfig::new("http://127.0.0.1:9");
    assert!(with(PrometheusConfig::new("not a url")).starts_with("Prometheus URL not a url"));
    assert!(with(PrometheusConfig::new("ftp://127.0.0.1/")).ends_with("not http or https"));
    let missing = with(PrometheusConfig {
        bearer_token_file: Some("/nonexistent/token".into()),
        ..base()
    });
    assert!(
        missing.starts_with("bearer token: /nonexistent/token: "),
        "{missing}"
    );
    let both = with(PrometheusConfig {
        bearer_token_file: Some("/nonexistent/token".into()),
        bearer_token_env: Some("X".into()),
        ..base()
    });
    assert_eq!(
        both,
        "bearer token: set a file or an environment variable, not both"
    );
    let header = with(PrometheusConfig {
        headers: vec![("Bad Header".into(), "x".into())],
        ..base()
    });
    assert!(header.starts_with("header name \"Bad Header\""), "{header}");
}

#[test]
fn turning_tls_verification_off_is_announced() {
    let quiet = Prometheus::new(PrometheusConfig::new("https://127.0.0.1:9")).unwrap();
    assert_eq!(quiet.insecure_warning(), None);
    let insecure = Prometheus::new(PrometheusConfig {
        insecure_skip_verify: true,
        ..PrometheusConfig::new("https://127.0.0.1:9")
    })
    .unwrap();
    assert_eq!(
        insecure.insecure_warning(),
        Some(
            "TLS verification is off for Prometheus at https://127.0.0.1:9: anyone on the way can read and change the metrics"
        )
    );
}

#[tokio::test]
async fn tls_trusts_the_configured_ca_and_nothing_else_unless_told_not_to_verify() {
    let tls = SimTls::generate().expect("a throwaway CA");
    let server = FakeServer::start(answer_empty(), "", Duration::ZERO, Some(tls.acceptor)).await;
    assert!(server.url.starts_with("https://127.0.0.1:"));

    let err = client(&server.url)
        .query("up", Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(err, QueryError::Connect(_)), "{err:?}");
    // The cause is named, not only "error sending request".
    assert!(err.to_string().contains("certificate"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &tls.ca_pem).unwrap();
    let trusting = Prometheus::new(PrometheusConfig {
        ca_file: Some(ca_file),
        ..PrometheusConfig::new(&server.url)
    })
    .unwrap();
    trusting.query("up", Utc::now()).await.unwrap();

    let insecure = Prometheus::new(PrometheusConfig {
        insecure_skip_verify: true,
        ..PrometheusConfig::new(&server.url)
    })
    .unwrap();
    insecure.query("up", Utc::now()).await.unwrap();
    assert!(insecure.insecure_warning().is_some());
}

const REAL: &str = "a_real_prometheus_answers_in_the_expected_shapes";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_answers_in_the_expected_shapes() {
    let Some(server) = PrometheusProcess::start(REAL, &[]).await else {
        return;
    };
    let prometheus = client(&format!("http://{}", server.addr));
    // Whole milliseconds, as the API's timestamps are.
    let now = chrono::DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();

    let result = prometheus
        .query(
            r#"label_replace(vector(1), "version", "canary", "", "")"#,
            now,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log_text()));
    assert_eq!(result.series.len(), 1);
    assert_eq!(
        result.series[0].labels,
        BTreeMap::from([("version".into(), "canary".into())])
    );
    let (at, value) = result.series[0].samples[0];
    assert_eq!(
        (at.timestamp_millis(), value),
        (now.timestamp_millis(), 1.0)
    );

    // Prometheus's own scalar and string answers: the wrong type, not data.
    for (promql, answered) in [("time()", "scalar"), (r#""v1""#, "string")] {
        let err = prometheus.query(promql, now).await.unwrap_err();
        assert_eq!(err, QueryError::ResultType { answered }, "{promql}");
    }

    // Prometheus writes these as strings; the client reads them back.
    for (promql, check) in [
        ("vector(0/0)", f64::is_nan as fn(f64) -> bool),
        ("vector(1/0)", |v: f64| v == f64::INFINITY),
        ("vector(-1/0)", |v: f64| v == f64::NEG_INFINITY),
    ] {
        let result = prometheus.query(promql, now).await.unwrap();
        assert!(check(result.series[0].samples[0].1), "{promql}: {result:?}");
    }

    let start = now - TimeDelta::minutes(1);
    let result = prometheus
        .query_range("vector(2)", start, now, Duration::from_secs(15))
        .await
        .unwrap();
    assert_eq!(result.series.len(), 1);
    let samples = &result.series[0].samples;
    let seconds: Vec<i64> = samples
        .iter()
        .map(|s| (s.0 - start).num_seconds())
        .collect();
    assert_eq!(seconds, [0, 15, 30, 45, 60]);
    assert!(samples.iter().all(|s| s.1 == 2.0));

    let err = prometheus.query("sum(", now).await.unwrap_err();
    match &err {
        QueryError::Api { error_type, error } => {
            assert_eq!(error_type, "bad_data");
            assert!(error.contains("parse error"), "{error}");
        }
        other => panic!("expected an API error, got {other:?}"),
    }

    let long = format!("vector(1) + {}0", "0 + ".repeat(POST_ABOVE_BYTES / 4));
    let result = prometheus.query(&long, now).await.unwrap();
    assert_eq!(result.series[0].samples[0].1, 1.0);
    assert_eq!(prometheus.requests_sent(), 9);
}

/// A database's backup freshness read through a real Prometheus scraping
/// an exporter's exposition (served on loopback): Velero's time of the
/// last good backup, pgbackrest_exporter's age, and a query that finds no
/// series, which is an error, never fresh.
#[tokio::test]
async fn backup_freshness_is_read_from_a_real_prometheus() {
    use cutover::migrations::freshness::{DEFAULT_MAX_AGE, FreshnessSource, read};
    use cutover::model::restore::freshness::FreshnessValue;
    let last_good = Utc::now().timestamp() - 20 * 3600;
    let exposition = format!(
        "# TYPE velero_backup_last_successful_timestamp gauge\n\
         velero_backup_last_successful_timestamp{{schedule=\"nightly\"}} {last_good}\n\
         # TYPE pgbackrest_backup_since_last_completion_seconds gauge\n\
         pgbackrest_backup_since_last_completion_seconds{{stanza=\"main\"}} 3600\n"
    );
    let exporter = FakeServer::answering(200, &exposition).await;
    let target = exporter
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("a loopback address");
    let Some(server) = PrometheusProcess::start("backup_freshness", &[target]).await else {
        return;
    };
    let prometheus = client(&format!("http://{}", server.addr));
    let source = |query: &str, value| FreshnessSource {
        query: query.to_string(),
        value,
        max_age: DEFAULT_MAX_AGE,
    };
    let velero = source(
        r#"velero_backup_last_successful_timestamp{schedule="nightly"}"#,
        FreshnessValue::Timestamp,
    );
    let started = std::time::Instant::now();
    let newest = loop {
        match read(Some(&prometheus), &velero, Utc::now()).await {
            Ok(newest) => break newest,
            Err(e) => assert!(
                started.elapsed() < Duration::from_secs(60),
                "never scraped: {e}\n{}",
                server.log_text()
            ),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(newest.timestamp(), last_good);
    let pgbackrest = source(
        r#"pgbackrest_backup_since_last_completion_seconds{stanza="main"}"#,
        FreshnessValue::AgeSeconds,
    );
    // Whole milliseconds, as the API's sample times are.
    let at = chrono::DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
    let newest = read(Some(&prometheus), &pgbackrest, at).await.unwrap();
    assert_eq!(at - newest, TimeDelta::hours(1));
    let weekly = source(
        r#"velero_backup_last_successful_timestamp{schedule="weekly"}"#,
        FreshnessValue::Timestamp,
    );
    let e = read(Some(&prometheus), &weekly, Utc::now())
        .await
        .unwrap_err();
    assert!(e.starts_with("the query returned no series"), "{e}");
    let e = read(None, &velero, Utc::now()).await.unwrap_err();
    assert!(e.starts_with("no Prometheus to ask"), "{e}");
}
