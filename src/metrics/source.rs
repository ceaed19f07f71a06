//! Fetching: the measurements of one release from a backend (Prometheus, or
//! traffic counted in this process, for the demo), and the task that
//! refreshes every target.
//! One query per metric per side pair, grouped by version, never per pod.

use super::bake::{BakeTarget, measure_bake};
use super::judge::{Fetched, Measured, MetricQuery, MetricsSettings, judge, promql_duration};
use super::profiles::{MetricsTarget, RedMetric, TemplateVars};
use super::prometheus::{Prometheus, QueryError, QueryResult};
use crate::model::ReleaseKey;
use crate::model::bake::BakeFigures;
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

/// A source of per-version traffic windows counted in this process: how
/// `cutover demo` measures its simulated cluster without a Prometheus.
/// Production always measures through Prometheus ([`Backend::Prometheus`]).
///
/// The trait lives here, on the product's side, because the simulator may
/// not depend on the product (that would be a package cycle); the adapter
/// from the simulator's traffic is in the binary's demo command
/// (`src/sim_commands/demo.rs`), next to the simulator it adapts.
pub trait TrafficWindowSource: Send + Sync {
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

    /// The source's time now, in which the objects' timestamps count: a
    /// simulated cluster's clock may run faster than the wall's.
    fn now(&self) -> DateTime<Utc>;
}

/// Where the numbers come from.
#[derive(Clone)]
pub enum Backend {
    Prometheus(Prometheus),
    /// The demo's traffic, counted in this process.
    InProcess(Arc<dyn TrafficWindowSource>),
}

impl Backend {
    pub fn describe(&self) -> String {
        match self {
            Backend::Prometheus(p) => format!("Prometheus {}", p.base_url()),
            Backend::InProcess(source) => source.describe(),
        }
    }

    /// A standing warning about the source (TLS verification off).
    pub fn warning(&self) -> Option<String> {
        match self {
            Backend::Prometheus(p) => p.insecure_warning().map(str::to_string),
            Backend::InProcess(_) => None,
        }
    }
}

/// Measure and judge one release now; `previous` is its last result, if
/// any (see [`judge`]).
pub async fn measure(
    backend: &Backend,
    settings: &MetricsSettings,
    target: &MetricsTarget,
    at: DateTime<Utc>,
    previous: Option<&ReleaseMetrics>,
) -> ReleaseMetrics {
    let measured = match backend {
        Backend::Prometheus(p) => measure_prometheus(p, settings, target, at).await,
        Backend::InProcess(source) => measure_in_process(source.as_ref(), settings, target, at),
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
    target: &MetricsTarget,
    at: DateTime<Utc>,
) -> Measured {
    let window = promql_duration(settings.window);
    let interval = promql_duration(settings.rate_interval);
    let grid = query_grid(at, settings.window, settings.step);
    let query_text = |query: &MetricQuery, range: &str| promql(target, query, range);
    // Each answer is cut down to the two versions' values as it arrives.
    let current = |query: String| async move {
        let answer = prometheus.query(&query, grid.end).await;
        Kept::of(target, answer, |s| s.last().map(|(_, v)| *v))
    };
    let samples = |query: String| async move {
        let answer = prometheus
            .query_range(&query, grid.start, grid.end, settings.step)
            .await;
        Kept::of(target, answer, |s| s.iter().map(|(_, v)| *v).collect())
    };
    let one_metric = |query: MetricQuery| {
        futures::future::join(
            current(query_text(&query, &window)),
            samples(query_text(&query, &interval)),
        )
    };
    let requests_query = super::profiles::red_query(target, RedMetric::Requests, &window);
    let (fetched, requests) = futures::join!(
        futures::future::join_all(settings.metrics.iter().map(|m| one_metric(m.query.clone()))),
        current(requests_query)
    );
    let mut warnings = Vec::new();
    let side = |current: Option<Option<f64>>, samples: Option<Vec<f64>>| SideValue {
        current: current.flatten(),
        samples: samples.unwrap_or_default(),
    };
    let metrics = fetched
        .into_iter()
        .map(|(current, samples)| {
            let [current_baseline, current_canary] = Kept::sides(current, &mut warnings)?;
            let [samples_baseline, samples_canary] = Kept::sides(samples, &mut warnings)?;
            Ok((
                side(current_baseline, samples_baseline),
                side(current_canary, samples_canary),
            ))
        })
        .collect();
    let requests = Kept::sides(requests, &mut warnings)
        .map(|[baseline, canary]| (side(baseline, None), side(canary, None)));
    Measured {
        source: format!("Prometheus {}", prometheus.base_url()),
        at: grid.end,
        metrics,
        requests,
        warnings,
    }
}

/// The PromQL of `query` for `target`'s two versions over `range`.
pub(super) fn promql(target: &MetricsTarget, query: &MetricQuery, range: &str) -> String {
    match query {
        MetricQuery::Red(m) => super::profiles::red_query(target, *m, range),
        MetricQuery::Custom(template) => TemplateVars {
            namespace: &target.key.namespace,
            release: &target.key.name,
            app: &target.app,
            sides: &target.sides,
            interval: range,
        }
        .render(template),
    }
}

/// What a refresh keeps of one answer grouped by version: the values of
/// the baseline's and the canary's series (None for a version without
/// one), and the warnings. The rest of the answer is dropped on arrival,
/// so a refresh holds no more than its answers in flight.
struct Kept<T> {
    sides: [Option<T>; 2],
    warnings: Vec<String>,
}

impl<T> Kept<T> {
    fn of(
        target: &MetricsTarget,
        answer: Result<QueryResult, QueryError>,
        values: impl Fn(&[(DateTime<Utc>, f64)]) -> T,
    ) -> Result<Kept<T>, QueryError> {
        let answer = answer?;
        let label = &target.sides.label;
        let side = |version: &str| {
            answer
                .series
                .iter()
                .find(|s| s.labels.get(label).is_some_and(|v| v == version))
                .map(|s| values(&s.samples))
        };
        Ok(Kept {
            sides: [side(&target.sides.baseline), side(&target.sides.canary)],
            warnings: answer.warnings,
        })
    }

    /// The baseline's and the canary's values, or the error as text; the
    /// warnings join `warnings`, once each.
    fn sides(
        kept: Result<Kept<T>, QueryError>,
        warnings: &mut Vec<String>,
    ) -> Result<[Option<T>; 2], String> {
        let kept = kept.map_err(|e| e.to_string())?;
        for w in kept.warnings {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
        Ok(kept.sides)
    }
}

pub(super) fn red_value(metric: RedMetric, w: &TrafficWindow, span: Duration) -> f64 {
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

fn measure_in_process(
    source: &dyn TrafficWindowSource,
    settings: &MetricsSettings,
    target: &MetricsTarget,
    at: DateTime<Utc>,
) -> Measured {
    let ns = &target.key.namespace;
    let steps = (settings.window.as_secs_f64() / settings.step.as_secs_f64().max(1e-3)) as u32;
    let side = |version: &str, metric: RedMetric| {
        let samples: Vec<f64> = (0..=steps)
            .rev()
            .filter_map(|i| {
                let w = source.window(ns, version, settings.rate_interval, settings.step * i)?;
                Some(red_value(metric, &w, settings.rate_interval))
            })
            .collect();
        // A version younger than the window would show a diluted rate over
        // the whole window: its latest sample is the rate it serves now.
        let current = match metric {
            RedMetric::RequestRate => samples.last().copied(),
            _ => source
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
        source: source.describe(),
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

/// The figures of one release's bake, from the refresh task.
pub type BakeSink = Arc<dyn Fn(ReleaseKey, BakeFigures) + Send + Sync>;

/// Refreshes the metrics of the current targets (canaries, and releases
/// in their bake window) every `settings.refresh`, and at once when the
/// targets change. Stops when dropped.
pub struct MetricsTask {
    targets: watch::Sender<Vec<MetricsTarget>>,
    bakes: watch::Sender<Vec<BakeTarget>>,
    task: JoinHandle<()>,
}

/// How many releases are measured at once (each is a handful of queries;
/// the client bounds the requests in flight as well).
const RELEASES_AT_ONCE: usize = 4;

impl MetricsTask {
    pub fn spawn(backend: Backend, settings: Arc<MetricsSettings>, sink: MetricsSink) -> Self {
        Self::spawn_with_bakes(backend, settings, sink, Arc::new(|_, _| {}))
    }

    /// [`MetricsTask::spawn`], with the bakes' figures to `bake_sink`.
    pub fn spawn_with_bakes(
        backend: Backend,
        settings: Arc<MetricsSettings>,
        sink: MetricsSink,
        bake_sink: BakeSink,
    ) -> Self {
        let (targets, mut rx) = watch::channel(Vec::<MetricsTarget>::new());
        let (bakes, mut bakes_rx) = watch::channel(Vec::<BakeTarget>::new());
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
                let baking = bakes_rx.borrow_and_update().clone();
                let mut figures = futures::stream::iter(baking)
                    .map(|t| async move {
                        (t.key.clone(), measure_bake(backend, settings, &t, at).await)
                    })
                    .buffer_unordered(RELEASES_AT_ONCE);
                while let Some((key, f)) = figures.next().await {
                    bake_sink(key, f);
                }
                tokio::select! {
                    _ = tokio::time::sleep(settings.refresh) => {}
                    changed = rx.changed() => if changed.is_err() { return },
                    changed = bakes_rx.changed() => if changed.is_err() { return },
                }
            }
        });
        MetricsTask {
            targets,
            bakes,
            task,
        }
    }

    /// Measure these releases from now on.
    pub fn set_targets(&self, targets: Vec<MetricsTarget>) {
        self.targets.send_replace(targets);
    }

    /// Read these bakes' figures from now on (none: nothing polls).
    pub fn set_bakes(&self, bakes: Vec<BakeTarget>) {
        self.bakes.send_replace(bakes);
    }
}

impl Drop for MetricsTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests;
