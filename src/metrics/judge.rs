//! From measured values to a release's [`ReleaseMetrics`]: which metrics
//! are compared, how each is judged, the gates, and the overall verdict.
//! Pure: the numbers arrive already fetched.

use super::profiles::{MetricsTarget, RedMetric};
use crate::model::metrics::{
    self, ComparedVersions, Comparison, Direction, Gate, MetricJudgeConfig, ReleaseMetrics,
    ScoreThresholds, SideValue, Unit,
};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Where a metric's numbers come from.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricQuery {
    Red(RedMetric),
    /// PromQL with the placeholders of [`super::profiles::TemplateVars`],
    /// grouped by the version label.
    Custom(String),
}

/// One compared metric.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDef {
    /// The identifier gates refer to: `error_ratio`, `p95_latency` …
    pub id: String,
    pub query: MetricQuery,
    /// How the judge treats it; None for metrics shown but not judged.
    pub judge: Option<MetricJudgeConfig>,
    pub unit: Unit,
    pub label: String,
}

impl MetricDef {
    fn red(metric: RedMetric, id: &str, unit: Unit, judge: Option<MetricJudgeConfig>) -> Self {
        MetricDef {
            id: id.to_string(),
            query: MetricQuery::Red(metric),
            judge,
            unit,
            label: metric.name().to_string(),
        }
    }

    /// Request rate (shown), error ratio (critical), p50, p95 (allowed
    /// increase ×1.2, as the p95 gate), p99.
    pub fn red_defaults(confidence: f64) -> Vec<MetricDef> {
        let judged = |label: &str, unit, critical, allowed_increase| {
            let mut cfg = MetricJudgeConfig::new(label, unit, Direction::Increase);
            cfg.critical = critical;
            cfg.confidence = confidence;
            cfg.allowed_increase = allowed_increase;
            Some(cfg)
        };
        vec![
            MetricDef::red(
                RedMetric::RequestRate,
                "request_rate",
                Unit::PerSecond,
                None,
            ),
            MetricDef::red(
                RedMetric::ErrorRatio,
                metrics::ERROR_RATIO,
                Unit::Ratio,
                judged("error ratio", Unit::Ratio, true, 1.0),
            ),
            MetricDef::red(
                RedMetric::P50,
                "p50_latency",
                Unit::Milliseconds,
                judged("p50 latency", Unit::Milliseconds, false, 1.0),
            ),
            MetricDef::red(
                RedMetric::P95,
                metrics::P95_LATENCY,
                Unit::Milliseconds,
                judged("p95 latency", Unit::Milliseconds, false, 1.2),
            ),
            MetricDef::red(
                RedMetric::P99,
                "p99_latency",
                Unit::Milliseconds,
                judged("p99 latency", Unit::Milliseconds, false, 1.0),
            ),
        ]
    }
}

/// The identifiers of the built-in metrics, which gates may name beside
/// the custom ones.
pub fn red_metric_ids() -> Vec<String> {
    MetricDef::red_defaults(0.98)
        .into_iter()
        .map(|def| def.id)
        .collect()
}

/// How a release's metrics are measured and judged.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsSettings {
    /// The span each current value covers, and the range the samples span.
    pub window: Duration,
    /// Between two samples of a range query.
    pub step: Duration,
    /// The `rate()` range of each sample.
    pub rate_interval: Duration,
    /// Between two refreshes.
    pub refresh: Duration,
    pub metrics: Vec<MetricDef>,
    pub gates: Vec<Gate>,
    pub thresholds: ScoreThresholds,
    /// Below this many canary requests in the window, quantiles mean little.
    pub min_canary_requests: f64,
    /// The bake window after a release finishes, and its SLOs.
    pub bake: crate::model::bake::BakeSettings,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            window: Duration::from_secs(300),
            step: Duration::from_secs(15),
            rate_interval: Duration::from_secs(60),
            refresh: Duration::from_secs(15),
            metrics: MetricDef::red_defaults(0.98),
            gates: Gate::defaults(),
            thresholds: ScoreThresholds::default(),
            min_canary_requests: 100.0,
            bake: Default::default(),
        }
    }
}

/// A duration as PromQL writes it, in whole seconds (at least one).
pub fn promql_duration(d: Duration) -> String {
    format!("{}s", d.as_secs().max(1))
}

/// What one refresh fetched for one metric.
pub type Fetched = Result<(SideValue, SideValue), String>;

/// Everything one refresh fetched for one release.
pub struct Measured {
    pub source: String,
    pub at: DateTime<Utc>,
    /// One per [`MetricsSettings::metrics`], in order.
    pub metrics: Vec<Fetched>,
    pub requests: Fetched,
    pub warnings: Vec<String>,
}

/// The comparisons, gates and verdict of one release. `previous` is the
/// release's last result, whose classes may be held over a refresh that
/// falls a sample short (see [`metrics::classify_after`]); it counts only
/// while the same two versions are compared.
pub fn judge(
    settings: &MetricsSettings,
    target: &MetricsTarget,
    measured: Measured,
    previous: Option<&ReleaseMetrics>,
) -> ReleaseMetrics {
    let versions = ComparedVersions {
        label: target.sides.label.clone(),
        baseline: target.sides.baseline.clone(),
        canary: target.sides.canary.clone(),
    };
    let previous_judgement = |metric: &str| {
        previous
            .filter(|p| p.versions.as_ref() == Some(&versions))?
            .comparisons
            .iter()
            .find(|c| c.metric == metric)?
            .judgement
            .as_ref()
    };
    let mut errors = Vec::new();
    let mut note_error = |label: &str, e: &str| {
        let line = format!("{label}: {e}");
        if !errors.contains(&line) {
            errors.push(line);
        }
    };
    let comparisons: Vec<Comparison> = settings
        .metrics
        .iter()
        .zip(measured.metrics)
        .map(|(def, fetched)| {
            let (baseline, canary, error) = match fetched {
                Ok((b, c)) => (b, c, None),
                Err(e) => {
                    note_error(&def.label, &e);
                    (SideValue::default(), SideValue::default(), Some(e))
                }
            };
            let judgement = def.judge.as_ref().map(|cfg| match &error {
                Some(e) => error_judgement(cfg, e),
                None => metrics::classify_after(
                    previous_judgement(&def.id),
                    &baseline.samples,
                    &canary.samples,
                    cfg,
                ),
            });
            Comparison {
                metric: def.id.clone(),
                label: def.label.clone(),
                unit: def.unit,
                baseline,
                canary,
                judgement,
                error,
            }
        })
        .collect();
    let (baseline_requests, canary_requests) = match measured.requests {
        Ok((b, c)) => (b.current, c.current),
        Err(e) => {
            note_error("requests", &e);
            (None, None)
        }
    };
    let side = if target.preview { "preview" } else { "canary" };
    let low_traffic = match canary_requests {
        Some(n) if n < settings.min_canary_requests => Some(format!(
            "low traffic: the {side} served {n:.0} requests in {}, fewer than {:.0}: its quantiles mean little",
            promql_duration(settings.window),
            settings.min_canary_requests
        )),
        None if errors.is_empty() => Some(format!("low traffic: no {side} requests in the window")),
        _ => None,
    }
    .map(|warning| {
        if target.preview {
            format!("{warning} (a blue-green preview gets no production traffic before promotion)")
        } else {
            warning
        }
    });
    let gates: Vec<_> = settings
        .gates
        .iter()
        .map(|gate| {
            let found = comparisons.iter().find(|c| c.metric == gate.metric());
            match found {
                Some(c) => gate.evaluate(&c.label, c.unit, c.baseline.current, c.canary.current),
                None => gate.evaluate(gate.metric(), Unit::Plain, None, None),
            }
        })
        .collect();
    let judgements: Vec<_> = comparisons
        .iter()
        .filter_map(|c| c.judgement.clone())
        .collect();
    let verdict = metrics::verdict(&judgements, &gates, &settings.thresholds);
    ReleaseMetrics {
        source: measured.source,
        window_seconds: settings.window.as_secs(),
        step_seconds: settings.step.as_secs(),
        measured_at: measured.at,
        versions: Some(versions),
        baseline_requests,
        canary_requests,
        low_traffic,
        comparisons,
        gates,
        verdict,
        warnings: measured.warnings,
        errors,
        failing_since: None,
    }
}

fn error_judgement(cfg: &MetricJudgeConfig, error: &str) -> metrics::MetricJudgement {
    metrics::MetricJudgement::without_samples(
        &cfg.label,
        cfg.critical,
        metrics::MetricClass::Error,
        format!("{}: not measured: {error}", cfg.label),
    )
}
