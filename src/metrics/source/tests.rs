use super::*;
use crate::metrics::profiles::{Profile, target};
use crate::metrics::prometheus::PrometheusConfig;
use crate::model::Kind;
use crate::model::metrics::{MetricClass, Verdict};
use crate::test_support::fixture::{ARGO_CANARY, Fixture};

/// Fixed traffic per version, the same at every moment.
struct Steady(HashMap<String, TrafficWindow>);

impl TrafficWindowSource for Steady {
    fn describe(&self) -> String {
        "steady".into()
    }

    fn window(&self, _: &str, version: &str, span: Duration, _: Duration) -> Option<TrafficWindow> {
        let per_second = self.0.get(version)?;
        let seconds = span.as_secs_f64();
        Some(TrafficWindow {
            requests: per_second.requests * seconds,
            errors: per_second.errors * seconds,
            ..*per_second
        })
    }

    fn now(&self) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH
    }
}

fn checkout() -> MetricsTarget {
    let release = Fixture::load(&[ARGO_CANARY]).release(Kind::Rollout, "checkout");
    target(&release, Profile::Generic).unwrap()
}

fn per_second(rps: f64, error_ratio: f64, p50: f64, p95: f64) -> TrafficWindow {
    TrafficWindow {
        requests: rps,
        errors: rps * error_ratio,
        p50_ms: p50,
        p95_ms: p95,
        p99_ms: p95 * 1.5,
    }
}

fn in_process(baseline: Option<TrafficWindow>, canary: Option<TrafficWindow>) -> Backend {
    let t = checkout();
    let mut versions = HashMap::new();
    versions.extend(baseline.map(|w| (t.sides.baseline.clone(), w)));
    versions.extend(canary.map(|w| (t.sides.canary.clone(), w)));
    Backend::InProcess(Arc::new(Steady(versions)))
}

fn class_of(m: &ReleaseMetrics, id: &str) -> Option<MetricClass> {
    m.comparisons.iter().find(|c| c.metric == id)?.class()
}

#[tokio::test]
async fn a_worse_canary_fails_with_the_reasons_written_out() {
    let backend = in_process(
        Some(per_second(96.0, 0.003, 45.0, 140.0)),
        Some(per_second(24.0, 0.06, 70.0, 260.0)),
    );
    let m = measure(
        &backend,
        &MetricsSettings::default(),
        &checkout(),
        Utc::now(),
        None,
    )
    .await;
    assert_eq!(m.verdict.verdict, Verdict::Fail, "{:#?}", m.verdict);
    assert_eq!(class_of(&m, "error_ratio"), Some(MetricClass::High));
    assert_eq!(class_of(&m, "p95_latency"), Some(MetricClass::High));
    let reasons = m.verdict.reasons.join("\n");
    assert!(
        reasons.contains(
            "p95 latency +86%: baseline 140 ms, canary 260 ms, 21 samples each, significant at 98%"
        ),
        "{reasons}"
    );
    assert!(
        reasons.contains("gate failed: error ratio 6% is above baseline 0.3% + 0.5 pp = 0.8%"),
        "{reasons}"
    );
    let rate = m
        .comparisons
        .iter()
        .find(|c| c.metric == "request_rate")
        .unwrap();
    assert_eq!(
        rate.class(),
        None,
        "the traffic split sets the rate: not judged"
    );
    assert_eq!(m.canary_requests, Some(24.0 * 300.0));
    assert!(m.low_traffic.is_none());
}

#[tokio::test]
async fn an_equal_canary_passes_and_a_silent_one_never_does() {
    let same = per_second(50.0, 0.002, 40.0, 120.0);
    let settings = MetricsSettings::default();
    let m = measure(
        &in_process(Some(same), Some(same)),
        &settings,
        &checkout(),
        Utc::now(),
        None,
    )
    .await;
    assert_eq!(m.verdict.verdict, Verdict::Pass, "{:#?}", m.verdict);

    let silent = measure(
        &in_process(Some(same), None),
        &settings,
        &checkout(),
        Utc::now(),
        None,
    )
    .await;
    assert_eq!(
        silent.verdict.verdict,
        Verdict::NoData,
        "{:#?}",
        silent.verdict
    );
    assert!(silent.low_traffic.is_some());

    let trickle = per_second(0.1, 0.0, 40.0, 120.0);
    let few = measure(
        &in_process(Some(same), Some(trickle)),
        &settings,
        &checkout(),
        Utc::now(),
        None,
    )
    .await;
    assert!(
        few.low_traffic
            .as_deref()
            .is_some_and(|w| w.contains("served 30 requests")),
        "{:?}",
        few.low_traffic
    );
}

#[tokio::test]
async fn a_blue_green_preview_without_traffic_says_why() {
    use crate::test_support::fixture::ARGO_BLUE_GREEN;
    let release = Fixture::load(&[ARGO_BLUE_GREEN]).release(Kind::Rollout, "payments");
    let t = target(&release, Profile::Generic).unwrap();
    assert!(t.preview);
    let versions = HashMap::from([(
        t.sides.baseline.clone(),
        per_second(50.0, 0.001, 80.0, 220.0),
    )]);
    let backend = Backend::InProcess(Arc::new(Steady(versions)));
    let m = measure(&backend, &MetricsSettings::default(), &t, Utc::now(), None).await;
    assert_eq!(m.verdict.verdict, Verdict::NoData);
    let warning = m.low_traffic.unwrap_or_default();
    assert!(
        warning.contains("no preview requests")
            && warning.contains("no production traffic before promotion"),
        "{warning}"
    );
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

#[test]
fn refreshes_within_one_step_ask_for_the_same_samples() {
    let (window, step) = (Duration::from_secs(300), Duration::from_secs(15));
    let first = query_grid(utc("2024-05-01T12:00:31.250Z"), window, step);
    let three_seconds_later = query_grid(utc("2024-05-01T12:00:34.250Z"), window, step);
    assert_eq!(first, three_seconds_later);
    assert_eq!(first.end, utc("2024-05-01T12:00:30Z"));
    assert_eq!(first.start, utc("2024-05-01T11:55:30Z"));
    let next_step = query_grid(utc("2024-05-01T12:00:45Z"), window, step);
    assert_eq!(next_step.end - first.end, chrono::Duration::seconds(15));
    assert_eq!(next_step.start - first.start, chrono::Duration::seconds(15));
}

#[test]
fn a_window_that_is_not_whole_steps_starts_inside_it() {
    let grid = query_grid(
        utc("2024-05-01T12:00:31Z"),
        Duration::from_secs(100),
        Duration::from_secs(15),
    );
    assert_eq!(grid.end, utc("2024-05-01T12:00:30Z"));
    assert_eq!(grid.start, utc("2024-05-01T11:59:00Z"));
    let sub_second = query_grid(
        utc("2024-05-01T12:00:31.730Z"),
        Duration::from_secs(2),
        Duration::from_millis(500),
    );
    assert_eq!(sub_second.end, utc("2024-05-01T12:00:31.500Z"));
    assert_eq!(sub_second.start, utc("2024-05-01T12:00:29.500Z"));
}

#[tokio::test]
async fn a_class_is_held_over_one_short_refresh_of_the_same_versions() {
    let settings = MetricsSettings {
        window: Duration::from_secs(60),
        step: Duration::from_secs(15),
        ..MetricsSettings::default()
    };
    let backend = in_process(
        Some(per_second(96.0, 0.003, 45.0, 140.0)),
        Some(per_second(24.0, 0.06, 70.0, 260.0)),
    );
    // A 60 s window in 15 s steps: 5 samples, the judge's minimum.
    let full = measure(&backend, &settings, &checkout(), Utc::now(), None).await;
    assert_eq!(class_of(&full, "p95_latency"), Some(MetricClass::High));
    let short = MetricsSettings {
        window: Duration::from_secs(45),
        ..settings.clone()
    };
    let held = measure(&backend, &short, &checkout(), Utc::now(), Some(&full)).await;
    let p95 = held
        .comparisons
        .iter()
        .find(|c| c.metric == "p95_latency")
        .unwrap();
    let judgement = p95.judgement.as_ref().unwrap();
    assert_eq!(judgement.class, MetricClass::High);
    assert!(
        judgement.reason.ends_with("(held: 1 sample short)"),
        "{}",
        judgement.reason
    );
    assert_eq!(held.verdict.verdict, Verdict::Fail);
    let fallen = measure(&backend, &short, &checkout(), Utc::now(), Some(&held)).await;
    assert_eq!(class_of(&fallen, "p95_latency"), Some(MetricClass::NoData));

    let mut other_canary = full.clone();
    other_canary.versions.as_mut().unwrap().canary = "another".into();
    let fresh = measure(
        &backend,
        &short,
        &checkout(),
        Utc::now(),
        Some(&other_canary),
    )
    .await;
    assert_eq!(
        class_of(&fresh, "p95_latency"),
        Some(MetricClass::NoData),
        "a class is never held over to another canary"
    );
}

#[tokio::test]
async fn an_unreachable_prometheus_is_no_data_after_one_query_per_metric() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let prometheus = Prometheus::new(PrometheusConfig::new(url)).unwrap();
    let backend = Backend::Prometheus(prometheus.clone());
    let settings = MetricsSettings::default();
    let m = measure(&backend, &settings, &checkout(), Utc::now(), None).await;
    assert_eq!(m.verdict.verdict, Verdict::NoData, "{:#?}", m.verdict);
    assert!(
        m.errors[0].contains("cannot reach Prometheus"),
        "{:?}",
        m.errors
    );
    assert!(m.comparisons.iter().all(|c| c.error.is_some()));
    // An instant and a range query per metric, and the request count.
    let expected = 2 * settings.metrics.len() as u64 + 1;
    assert_eq!(prometheus.requests_sent(), expected);
}
