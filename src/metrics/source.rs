//! Fetching: the measurements of one release from a backend (Prometheus, or
//! traffic counted in-process), and the task that refreshes every target.
//! One query per metric per side pair, grouped by version, never per pod.

use super::judge::{Fetched, Measured, MetricQuery, MetricsSettings, judge, promql_duration};
use super::profiles::{RedMetric, Target, TemplateVars};
use super::prometheus::{Prometheus, QueryResult};
use crate::model::ReleaseKey;
use crate::model::metrics::{ReleaseMetrics, SideValue};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Request statistics of one version over a span of time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TrafficWindow {
    pub requests: f64,
    pub errors: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

/// Traffic counted in the same process (the demo's simulated cluster).
pub trait LocalTraffic: Send + Sync {
    /// What to call this source on screen.
    fn describe(&self) -> String;
    /// The traffic of the pods of `namespace` labelled with `version` over
    /// `span`, ending `ago` before now; None when no such pod served.
    fn window(
        &self,
        namespace: &str,
        version: &str,
        span: Duration,
        ago: Duration,
    ) -> Option<TrafficWindow>;
}

/// Where the numbers come from.
#[derive(Clone)]
pub enum Backend {
    Prometheus(Prometheus),
    Local(Arc<dyn LocalTraffic>),
}

impl Backend {
    pub fn describe(&self) -> String {
        match self {
            Backend::Prometheus(p) => format!("Prometheus {}", p.base_url()),
            Backend::Local(l) => l.describe(),
        }
    }

    /// A standing warning about the source (TLS verification off).
    pub fn warning(&self) -> Option<String> {
        match self {
            Backend::Prometheus(p) => p.insecure_warning().map(str::to_string),
            Backend::Local(_) => None,
        }
    }
}

/// Measure and judge one release now; `previous` is its last result, if
/// any (see [`judge`]).
pub async fn measure(
    backend: &Backend,
    settings: &MetricsSettings,
    target: &Target,
    at: DateTime<Utc>,
    previous: Option<&ReleaseMetrics>,
) -> ReleaseMetrics {
    let measured = match backend {
        Backend::Prometheus(p) => measure_prometheus(p, settings, target, at).await,
        Backend::Local(l) => measure_local(l.as_ref(), settings, target, at),
    };
    judge(settings, target, measured, previous)
}

/// The moments one refresh asks Prometheus about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryGrid {
    /// The first sample of the range query.
    pub start: DateTime<Utc>,
    /// The last sample of the range query, and the instant query's time:
    /// the current values and the samples describe the same moment.
    pub end: DateTime<Utc>,
}

/// Align a refresh at `at` to the step, as Grafana and Prometheus's own
/// graph do: `end` is `at` floored to a multiple of `step`, `start` the
/// window before it, rounded up to a multiple of `step` so no sample lies
/// outside the window. Every refresh within one step then asks for the
/// same samples, and consecutive steps share all but the ends; an
/// unaligned grid moves with each refresh and changes which scrapes each
/// sample's rate sees, so the sample count wobbles.
pub fn query_grid(at: DateTime<Utc>, window: Duration, step: Duration) -> QueryGrid {
    let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX).max(1);
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let end_ms = at.timestamp_millis().div_euclid(step_ms) * step_ms;
    let earliest = end_ms.saturating_sub(window_ms);
    let start_ms = earliest.saturating_add(step_ms - 1).div_euclid(step_ms) * step_ms;
    let moment = |ms: i64| DateTime::from_timestamp_millis(ms).unwrap_or(at);
    QueryGrid {
        start: moment(start_ms),
        end: moment(end_ms),
    }
}

async fn measure_prometheus(
    prometheus: &Prometheus,
    settings: &MetricsSettings,
    target: &Target,
    at: DateTime<Utc>,
) -> Measured {
    let window = promql_duration(settings.window);
    let interval = promql_duration(settings.rate_interval);
    let grid = query_grid(at, settings.window, settings.step);
    let query_text = |query: &MetricQuery, range: &str| match query {
        MetricQuery::Red(m) => super::profiles::red_query(target, *m, range),
        MetricQuery::Custom(template) => TemplateVars {
            namespace: &target.key.namespace,
            release: &target.key.name,
            app: &target.app,
            sides: &target.sides,
            interval: range,
        }
        .render(template),
    };
    let one_metric = |query: MetricQuery| {
        let current = query_text(&query, &window);
        let samples = query_text(&query, &interval);
        async move {
            let (current, samples) = futures::join!(
                prometheus.query(&current, grid.end),
                prometheus.query_range(&samples, grid.start, grid.end, settings.step),
            );
            (current, samples)
        }
    };
    let requests_query = super::profiles::red_query(target, RedMetric::Requests, &window);
    let requests = prometheus.query(&requests_query, grid.end);
    let (fetched, requests) = futures::join!(
        futures::future::join_all(settings.metrics.iter().map(|m| one_metric(m.query.clone()))),
        requests
    );
    let mut warnings = Vec::new();
    let mut take = |r: Result<QueryResult, super::prometheus::QueryError>| {
        r.inspect(|q| {
            for w in &q.warnings {
                if !warnings.contains(w) {
                    warnings.push(w.clone());
                }
            }
        })
        .map_err(|e| e.to_string())
    };
    let metrics = fetched
        .into_iter()
        .map(|(current, samples)| {
            let current = take(current)?;
            let samples = take(samples)?;
            Ok((
                side_of(target, &target.sides.baseline, &current, &samples),
                side_of(target, &target.sides.canary, &current, &samples),
            ))
        })
        .collect();
    let requests = take(requests).map(|current| {
        let empty = QueryResult {
            series: Vec::new(),
            warnings: Vec::new(),
        };
        (
            side_of(target, &target.sides.baseline, &current, &empty),
            side_of(target, &target.sides.canary, &current, &empty),
        )
    });
    Measured {
        source: format!("Prometheus {}", prometheus.base_url()),
        at: grid.end,
        metrics,
        requests,
        warnings,
    }
}

/// One side's values in an instant and a range result grouped by version.
fn side_of(
    target: &Target,
    version: &str,
    current: &QueryResult,
    range: &QueryResult,
) -> SideValue {
    let label = &target.sides.label;
    let series_of = |r: &QueryResult| {
        r.series
            .iter()
            .find(|s| s.labels.get(label).is_some_and(|v| v == version))
            .map(|s| s.samples.iter().map(|(_, v)| *v).collect::<Vec<f64>>())
    };
    SideValue {
        current: series_of(current).and_then(|v| v.last().copied()),
        samples: series_of(range).unwrap_or_default(),
    }
}

fn red_value(metric: RedMetric, w: &TrafficWindow, span: Duration) -> f64 {
    let served = w.requests > 0.0;
    let when_served = |v: f64| if served { v } else { f64::NAN };
    match metric {
        RedMetric::RequestRate => w.requests / span.as_secs_f64().max(1e-9),
        RedMetric::ErrorRatio => when_served(w.errors / w.requests),
        RedMetric::P50 => when_served(w.p50_ms),
        RedMetric::P95 => when_served(w.p95_ms),
        RedMetric::P99 => when_served(w.p99_ms),
        RedMetric::Requests => w.requests,
    }
}

fn measure_local(
    local: &dyn LocalTraffic,
    settings: &MetricsSettings,
    target: &Target,
    at: DateTime<Utc>,
) -> Measured {
    let ns = &target.key.namespace;
    let steps = (settings.window.as_secs_f64() / settings.step.as_secs_f64().max(1e-3)) as u32;
    let side = |version: &str, metric: RedMetric| {
        let samples: Vec<f64> = (0..=steps)
            .rev()
            .filter_map(|i| {
                let w = local.window(ns, version, settings.rate_interval, settings.step * i)?;
                Some(red_value(metric, &w, settings.rate_interval))
            })
            .collect();
        // A version younger than the window would show a diluted rate over
        // the whole window: its latest sample is the rate it serves now.
        let current = match metric {
            RedMetric::RequestRate => samples.last().copied(),
            _ => local
                .window(ns, version, settings.window, Duration::ZERO)
                .map(|w| red_value(metric, &w, settings.window)),
        };
        SideValue { current, samples }
    };
    let both = |metric: RedMetric| -> Fetched {
        Ok((
            side(&target.sides.baseline, metric),
            side(&target.sides.canary, metric),
        ))
    };
    Measured {
        source: local.describe(),
        at,
        metrics: settings
            .metrics
            .iter()
            .map(|m| match &m.query {
                MetricQuery::Red(metric) => both(*metric),
                MetricQuery::Custom(_) => Err("custom metrics need Prometheus".into()),
            })
            .collect(),
        requests: both(RedMetric::Requests),
        warnings: Vec::new(),
    }
}

/// Measured metrics of one release, from the refresh task.
pub type MetricsSink = Arc<dyn Fn(ReleaseKey, ReleaseMetrics) + Send + Sync>;

/// Refreshes the metrics of the current targets every `settings.refresh`,
/// and at once when the targets change. Stops when dropped.
pub struct MetricsTask {
    targets: watch::Sender<Vec<Target>>,
    task: JoinHandle<()>,
}

/// How many releases are measured at once (each is a handful of queries;
/// the client bounds the requests in flight as well).
const RELEASES_AT_ONCE: usize = 4;

impl MetricsTask {
    pub fn spawn(backend: Backend, settings: Arc<MetricsSettings>, sink: MetricsSink) -> Self {
        let (targets, mut rx) = watch::channel(Vec::<Target>::new());
        let task = tokio::spawn(async move {
            // Each release's last result: the judge may hold a class from it.
            let mut last: HashMap<ReleaseKey, ReleaseMetrics> = HashMap::new();
            loop {
                let current = rx.borrow_and_update().clone();
                // Releases no longer measured are forgotten with the old map.
                let mut previous = std::mem::take(&mut last);
                let jobs: Vec<_> = current
                    .into_iter()
                    .map(|t| {
                        let p = previous.remove(&t.key);
                        (t, p)
                    })
                    .collect();
                let at = Utc::now();
                let backend = &backend;
                let settings = &settings;
                let mut results = futures::stream::iter(jobs)
                    .map(|(t, previous)| async move {
                        let m = measure(backend, settings, &t, at, previous.as_ref()).await;
                        (t.key, m)
                    })
                    .buffer_unordered(RELEASES_AT_ONCE);
                while let Some((key, m)) = results.next().await {
                    sink(key.clone(), m.clone());
                    last.insert(key, m);
                }
                tokio::select! {
                    _ = tokio::time::sleep(settings.refresh) => {}
                    changed = rx.changed() => if changed.is_err() { return },
                }
            }
        });
        MetricsTask { targets, task }
    }

    /// Measure these releases from now on.
    pub fn set_targets(&self, targets: Vec<Target>) {
        self.targets.send_replace(targets);
    }
}

impl Drop for MetricsTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::tests::fixture::{ARGO_CANARY, Fixture};
    use crate::metrics::profiles::{Profile, target};
    use crate::metrics::prometheus::PrometheusConfig;
    use crate::model::Kind;
    use crate::model::metrics::{MetricClass, Verdict};

    /// Fixed traffic per version, the same at every moment.
    struct Steady(HashMap<String, TrafficWindow>);

    impl LocalTraffic for Steady {
        fn describe(&self) -> String {
            "steady".into()
        }

        fn window(
            &self,
            _: &str,
            version: &str,
            span: Duration,
            _: Duration,
        ) -> Option<TrafficWindow> {
            let per_second = self.0.get(version)?;
            let seconds = span.as_secs_f64();
            Some(TrafficWindow {
                requests: per_second.requests * seconds,
                errors: per_second.errors * seconds,
                ..*per_second
            })
        }
    }

    fn checkout() -> Target {
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

    fn local(baseline: Option<TrafficWindow>, canary: Option<TrafficWindow>) -> Backend {
        let t = checkout();
        let mut versions = HashMap::new();
        versions.extend(baseline.map(|w| (t.sides.baseline.clone(), w)));
        versions.extend(canary.map(|w| (t.sides.canary.clone(), w)));
        Backend::Local(Arc::new(Steady(versions)))
    }

    fn class_of(m: &ReleaseMetrics, id: &str) -> Option<MetricClass> {
        m.comparisons.iter().find(|c| c.metric == id)?.class()
    }

    #[tokio::test]
    async fn a_worse_canary_fails_with_the_reasons_written_out() {
        let backend = local(
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
            reasons.contains("p95 latency +86%: baseline 140 ms, canary 260 ms, 21 samples each, significant at 98%"),
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
            &local(Some(same), Some(same)),
            &settings,
            &checkout(),
            Utc::now(),
            None,
        )
        .await;
        assert_eq!(m.verdict.verdict, Verdict::Pass, "{:#?}", m.verdict);

        let silent = measure(
            &local(Some(same), None),
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
            &local(Some(same), Some(trickle)),
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
        use crate::cluster::tests::fixture::ARGO_BLUE_GREEN;
        let release = Fixture::load(&[ARGO_BLUE_GREEN]).release(Kind::Rollout, "payments");
        let t = target(&release, Profile::Generic).unwrap();
        assert!(t.preview);
        let versions = HashMap::from([(
            t.sides.baseline.clone(),
            per_second(50.0, 0.001, 80.0, 220.0),
        )]);
        let backend = Backend::Local(Arc::new(Steady(versions)));
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
        let backend = local(
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
}
