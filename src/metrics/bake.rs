//! Fetching a bake's figures: the previous version's over the window before
//! the completion (an instant query at the completion time: its pods are
//! gone, Prometheus's history is the only baseline left) and the new
//! version's over the bake period so far (a range query whose step comes
//! from `for`, so a fresh process finds the same breach start). Both by
//! pod-template hash, one query per SLO metric grouped by version.

use super::judge::{MetricQuery, MetricsSettings, promql_duration};
use super::profiles::{MetricsTarget, Profile, RedMetric, Sides, app_of};
use super::prometheus::{Prometheus, QueryError, QueryResult};
use super::source::{Backend, TrafficWindowSource, promql, query_grid, red_value};
use crate::model::bake::{BakeFigures, Completion, SloFigures};
use crate::model::{Kind, Release, ReleaseKey};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// What a bake's figures are read for: a release that finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BakeTarget {
    pub key: ReleaseKey,
    pub completion: Completion,
    /// The release's bake duration (its annotation's, or the context's).
    pub duration: chrono::Duration,
    /// The series of both versions, told apart by pod-template hash.
    pub series: MetricsTarget,
}

impl BakeTarget {
    /// The bake target of a finished release, by its pod-template hashes.
    pub fn of(release: &Release, completion: &Completion, duration: chrono::Duration) -> Self {
        let label = if release.key.kind == Kind::Rollout {
            "rollouts_pod_template_hash"
        } else {
            "pod_template_hash"
        };
        // A Flagger release now runs as `<target>-primary`.
        let app = match &release.flagger {
            Some(f) => f.primary.clone(),
            None => app_of(release).to_string(),
        };
        BakeTarget {
            key: release.key.clone(),
            completion: completion.clone(),
            duration,
            series: MetricsTarget {
                key: release.key.clone(),
                app,
                baseline_app: None,
                profile: Profile::Generic,
                sides: Sides {
                    label: label.into(),
                    baseline: completion.previous_hash.clone(),
                    canary: completion.hash.clone(),
                },
                preview: false,
            },
        }
    }

    /// The end of the window.
    fn end(&self) -> DateTime<Utc> {
        self.completion.at + self.duration
    }
}

/// Between two samples of the bake period: a fifth of `for`, at least a
/// second, so a breach lasting `for` spans several samples.
pub fn bake_step(hold_for: chrono::Duration) -> Duration {
    (hold_for.to_std().unwrap_or_default() / 5).max(Duration::from_secs(1))
}

/// Read a bake's figures at `at`.
pub async fn measure_bake(
    backend: &Backend,
    settings: &MetricsSettings,
    target: &BakeTarget,
    at: DateTime<Utc>,
) -> BakeFigures {
    let mut errors = Vec::new();
    let mut slos = Vec::new();
    for gate in &settings.bake.slos {
        let Some(def) = settings.metrics.iter().find(|m| m.id == gate.metric()) else {
            errors.push(format!("SLO on {}: no such metric", gate.metric()));
            continue;
        };
        let read = match backend {
            Backend::Prometheus(p) => from_prometheus(p, settings, target, &def.query, at).await,
            Backend::InProcess(source) => match def.query {
                MetricQuery::Red(metric) => {
                    Ok(in_process(source.as_ref(), settings, target, metric))
                }
                MetricQuery::Custom(_) => Err("custom metrics need Prometheus".to_string()),
            },
        };
        let (before, samples) = read.unwrap_or_else(|e| {
            let e = format!("{}: {e}", def.label);
            if !errors.contains(&e) {
                errors.push(e);
            }
            (None, Vec::new())
        });
        slos.push(SloFigures {
            metric: def.id.clone(),
            label: def.label.clone(),
            unit: def.unit,
            before,
            samples,
        });
    }
    BakeFigures {
        source: backend.describe(),
        measured_at: at,
        completion: target.completion.clone(),
        slos,
        errors,
    }
}

type Read = (Option<f64>, Vec<(DateTime<Utc>, f64)>);

async fn from_prometheus(
    prometheus: &Prometheus,
    settings: &MetricsSettings,
    target: &BakeTarget,
    query: &MetricQuery,
    at: DateTime<Utc>,
) -> Result<Read, String> {
    let series = &target.series;
    let text = |range: &str| promql(series, query, range);
    let side = |answer: Result<QueryResult, QueryError>, version: &str| {
        let answer = answer.map_err(|e| e.to_string())?;
        Ok::<_, String>(
            answer
                .series
                .into_iter()
                .find(|s| {
                    s.labels
                        .get(&series.sides.label)
                        .is_some_and(|v| v == version)
                })
                .map(|s| s.samples)
                .unwrap_or_default(),
        )
    };
    let before = prometheus
        .query(
            &text(&promql_duration(settings.window)),
            target.completion.at,
        )
        .await;
    let before = side(before, &series.sides.baseline)?
        .last()
        .map(|(_, v)| *v);
    let step = bake_step(settings.bake.hold_for);
    let until = at.min(target.end());
    let grid = query_grid(
        until,
        (until - target.completion.at).to_std().unwrap_or_default(),
        step,
    );
    if grid.end < target.completion.at {
        return Ok((before, Vec::new()));
    }
    let samples = prometheus
        .query_range(
            &text(&promql_duration(settings.rate_interval)),
            grid.start,
            grid.end,
            step,
        )
        .await;
    Ok((before, side(samples, &series.sides.canary)?))
}

/// The demo's figures, counted in this process, on the source's own clock
/// (the simulator's may run faster than the wall's, and the objects'
/// timestamps count in it).
fn in_process(
    source: &dyn TrafficWindowSource,
    settings: &MetricsSettings,
    target: &BakeTarget,
    metric: RedMetric,
) -> Read {
    let at = source.now();
    let ns = &target.key.namespace;
    let sides = &target.series.sides;
    let ago = |t: DateTime<Utc>| (at - t).to_std().unwrap_or_default();
    let value = |version: &str, span: Duration, t: DateTime<Utc>| {
        let w = source.window(ns, version, span, ago(t))?;
        Some(red_value(metric, &w, span)).filter(|v| v.is_finite())
    };
    let before = value(&sides.baseline, settings.window, target.completion.at);
    let step = chrono::Duration::from_std(bake_step(settings.bake.hold_for))
        .unwrap_or(chrono::Duration::seconds(1));
    let until = at.min(target.end());
    let mut samples = Vec::new();
    let mut t = target.completion.at;
    while t <= until {
        if let Some(v) = value(&sides.canary, settings.rate_interval, t) {
            samples.push((t, v));
        }
        t += step;
    }
    (before, samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_step_is_a_fifth_of_for() {
        assert_eq!(
            bake_step(chrono::Duration::minutes(5)),
            Duration::from_secs(60)
        );
        assert_eq!(
            bake_step(chrono::Duration::seconds(10)),
            Duration::from_secs(2)
        );
        assert_eq!(
            bake_step(chrono::Duration::seconds(2)),
            Duration::from_secs(1)
        );
    }
}
