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

/// Measure and judge one release now.
pub async fn measure(
    backend: &Backend,
    settings: &MetricsSettings,
    target: &Target,
    at: DateTime<Utc>,
) -> ReleaseMetrics {
    let measured = match backend {
        Backend::Prometheus(p) => measure_prometheus(p, settings, target, at).await,
        Backend::Local(l) => measure_local(l.as_ref(), settings, target, at),
    };
    judge(settings, target, measured)
}

async fn measure_prometheus(
    prometheus: &Prometheus,
    settings: &MetricsSettings,
    target: &Target,
    at: DateTime<Utc>,
) -> Measured {
    let window = promql_duration(settings.window);
    let interval = promql_duration(settings.rate_interval);
    let start = at - chrono::Duration::from_std(settings.window).unwrap_or_default();
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
                prometheus.query(&current, at),
                prometheus.query_range(&samples, start, at, settings.step),
            );
            (current, samples)
        }
    };
    let requests_query = super::profiles::red_query(target, RedMetric::Requests, &window);
    let requests = prometheus.query(&requests_query, at);
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
        at,
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
    let side = |version: &str, metric: RedMetric| SideValue {
        current: local
            .window(ns, version, settings.window, Duration::ZERO)
            .map(|w| red_value(metric, &w, settings.window)),
        samples: (0..=steps)
            .rev()
            .filter_map(|i| {
                let w = local.window(ns, version, settings.rate_interval, settings.step * i)?;
                Some(red_value(metric, &w, settings.rate_interval))
            })
            .collect(),
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
            loop {
                let current = rx.borrow_and_update().clone();
                let at = Utc::now();
                let backend = &backend;
                let settings = &settings;
                let mut results = futures::stream::iter(current)
                    .map(|t| async move {
                        let m = measure(backend, settings, &t, at).await;
                        (t.key, m)
                    })
                    .buffer_unordered(RELEASES_AT_ONCE);
                while let Some((key, m)) = results.next().await {
                    sink(key, m);
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
