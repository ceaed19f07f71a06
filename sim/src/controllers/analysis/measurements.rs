//! Taking a metric's measurements: when the next one is due, judging each
//! against the metric's conditions, the limits that end a metric, and the
//! run's phase and events.

use super::query::{QueryResult, ResolvedMetric, quantity_of, read, resolve, window_of};
use super::{
    AnalysisPhase, DEFAULT_CONSECUTIVE_ERROR_LIMIT, ERROR_RETRY_INTERVAL_SECONDS, Measurement,
    MetricResult, MetricSpec, RESOLVED_QUERY, RunSpec, RunStatus, RunSummary, condition,
};
use crate::controllers::Ctx;
use crate::controllers::events::EventType;
use crate::time::{self, parse_rfc3339 as parse_timestamp, timestamp};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use std::collections::BTreeMap;

/// Judge a measurement as Argo's `EvaluateResult` does.
pub(super) fn evaluate(
    metric: &ResolvedMetric,
    result: &QueryResult,
) -> Result<AnalysisPhase, String> {
    let check = |kind: &str, expression: &str| -> Result<bool, String> {
        condition::eval(expression, result).map_err(|e| {
            if result.is_empty() {
                format!(
                    "could not evaluate {kind} \"{expression}\": metric result is nil or empty: no data returned from the metric provider"
                )
            } else {
                format!("could not evaluate {kind} \"{expression}\": {e}")
            }
        })
    };
    let (has_success, has_failure) = (
        !metric.success_condition.is_empty(),
        !metric.failure_condition.is_empty(),
    );
    let mut success = has_success && check("successCondition", &metric.success_condition)?;
    let mut failure = has_failure && check("failureCondition", &metric.failure_condition)?;
    match (has_success, has_failure) {
        (false, false) => return Ok(AnalysisPhase::Successful),
        (true, false) => failure = !success,
        (false, true) => success = !failure,
        (true, true) => {}
    }
    Ok(if failure {
        AnalysisPhase::Failed
    } else if !success {
        AnalysisPhase::Inconclusive
    } else {
        AnalysisPhase::Successful
    })
}

/// Take one measurement of `metric` from the simulated traffic.
fn measure(ctx: &Ctx<'_>, namespace: &str, metric: &ResolvedMetric) -> Measurement {
    let now = timestamp(ctx.now);
    let quantity = quantity_of(metric);
    let value = ctx
        .metrics
        .window(namespace, &metric.hash, window_of(&metric.query))
        .and_then(|stats| read(quantity, &stats));
    let result = if metric.query.trim_start().starts_with("scalar(") {
        QueryResult::Scalar(value.unwrap_or(f64::NAN))
    } else {
        QueryResult::Vector(value.into_iter().collect())
    };
    let metadata = BTreeMap::from([(RESOLVED_QUERY.to_string(), metric.query.clone())]);
    match evaluate(metric, &result) {
        Ok(phase) => Measurement {
            phase,
            message: String::new(),
            started_at: Some(now.clone()),
            finished_at: Some(now),
            value: result.value_string(),
            metadata,
        },
        Err(message) => Measurement {
            phase: AnalysisPhase::Error,
            message,
            started_at: Some(now.clone()),
            finished_at: Some(now),
            value: String::new(),
            metadata,
        },
    }
}

fn finished_at(m: &Measurement) -> Option<DateTime<Utc>> {
    m.finished_at.as_deref().and_then(parse_timestamp)
}

/// When a metric's next measurement is due, or None when it needs no more.
fn next_measurement(
    metric: &ResolvedMetric,
    status: &RunStatus,
    started: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let result = status.result(&metric.spec.name);
    if result.is_some_and(|r| r.phase.is_completed()) {
        return None;
    }
    let Some(last) = result.and_then(|r| r.measurements.last()) else {
        let delay = metric
            .spec
            .initial_delay
            .as_deref()
            .and_then(|d| time::parse(d, time::ARGO_UNITS))
            .unwrap_or_else(Duration::zero);
        return Some(started.unwrap_or(now) + delay);
    };
    let count = result.map_or(0, |r| r.count);
    if metric.spec.effective_count().is_some_and(|c| count >= c) {
        return None;
    }
    let interval = if last.phase == AnalysisPhase::Error {
        Duration::seconds(ERROR_RETRY_INTERVAL_SECONDS)
    } else {
        metric
            .spec
            .interval()
            .unwrap_or_else(|| Duration::seconds(ERROR_RETRY_INTERVAL_SECONDS))
    };
    Some(finished_at(last).unwrap_or(now) + interval)
}

fn record_measurement(result: &mut MetricResult, m: Measurement) {
    match m.phase {
        AnalysisPhase::Successful => {
            result.successful += 1;
            result.count += 1;
            result.consecutive_error = 0;
            result.consecutive_success += 1;
        }
        AnalysisPhase::Error => {
            result.error += 1;
            result.consecutive_error += 1;
            result.consecutive_success = 0;
        }
        phase => {
            if phase == AnalysisPhase::Failed {
                result.failed += 1;
            } else {
                result.inconclusive += 1;
            }
            result.count += 1;
            result.consecutive_error = 0;
            result.consecutive_success = 0;
        }
    }
    result.measurements.push(m);
}

/// Whether a metric's counters passed a limit, with Argo's reason.
fn over_limit(metric: &MetricSpec, r: &MetricResult) -> Option<(AnalysisPhase, String)> {
    let failure_limit = MetricSpec::limit(&metric.failure_limit, 0);
    let inconclusive_limit = MetricSpec::limit(&metric.inconclusive_limit, 0);
    let error_limit = MetricSpec::limit(
        &metric.consecutive_error_limit,
        DEFAULT_CONSECUTIVE_ERROR_LIMIT,
    );
    let mut verdict = None;
    if failure_limit >= 0 && r.failed > failure_limit {
        verdict = Some((
            AnalysisPhase::Failed,
            format!("failed ({}) > failureLimit ({failure_limit})", r.failed),
        ));
    }
    if inconclusive_limit >= 0 && r.inconclusive > inconclusive_limit {
        verdict = Some((
            AnalysisPhase::Inconclusive,
            format!(
                "inconclusive ({}) > inconclusiveLimit ({inconclusive_limit})",
                r.inconclusive
            ),
        ));
    }
    if error_limit >= 0 && r.consecutive_error > error_limit {
        verdict = Some((
            AnalysisPhase::Error,
            format!(
                "consecutiveErrors ({}) > consecutiveErrorLimit ({error_limit})",
                r.consecutive_error
            ),
        ));
    }
    verdict
}

/// A metric's phase from its measurements, as Argo's `assessMetricStatus`.
fn metric_phase(metric: &MetricSpec, r: &MetricResult, terminating: bool) -> AnalysisPhase {
    if r.phase.is_completed() {
        return r.phase;
    }
    if r.measurements.is_empty() {
        return if terminating {
            AnalysisPhase::Successful
        } else {
            AnalysisPhase::Pending
        };
    }
    if let Some((phase, _)) = over_limit(metric, r) {
        return phase;
    }
    if metric.effective_count().is_some_and(|c| r.count >= c) || terminating {
        return AnalysisPhase::Successful;
    }
    AnalysisPhase::Running
}

/// An event for the run to record once its status is written.
type Pending = (EventType, String, String);

/// The run's phase and message from its metrics, as Argo's `assessRunStatus`.
fn assess(
    status: &mut RunStatus,
    spec: &RunSpec,
    metrics: &[ResolvedMetric],
    terminating: bool,
    events: &mut Vec<Pending>,
) -> (AnalysisPhase, String) {
    let mut worst: Option<AnalysisPhase> = None;
    let mut message = if spec.terminate {
        "Run Terminated".to_string()
    } else {
        String::new()
    };
    let mut everything_completed = true;
    let mut summary = RunSummary::default();
    let mut dry_summary = RunSummary::default();
    for metric in metrics {
        let name = &metric.spec.name;
        let dry_run = spec.is_dry_run(name);
        if dry_run {
            dry_summary.count += 1;
        } else {
            summary.count += 1;
        }
        let Some(result) = status.result_mut(name) else {
            everything_completed = false;
            continue;
        };
        let phase = metric_phase(&metric.spec, result, terminating);
        if result.phase != phase {
            if phase.is_completed() {
                events.push((
                    phase.event_type(),
                    format!("Metric{}", phase.as_str()),
                    format!("Metric '{name}' Completed. Result: {}", phase.as_str()),
                ));
            }
            if let Some(last) = result.measurements.last() {
                result.message = last.message.clone();
            }
            result.phase = phase;
        }
        if !phase.is_completed() {
            everything_completed = false;
            continue;
        }
        let limit = over_limit(&metric.spec, result);
        let counted = limit.as_ref().map_or(phase, |(p, _)| *p);
        if dry_run {
            worst.get_or_insert(AnalysisPhase::Successful);
            if let Some((_, why)) = &limit {
                result.message = format!("Metric assessed {} due to {why}", phase.as_str());
            }
            dry_summary.add(counted);
        } else {
            if worst.is_none_or(|w| phase.severity() > w.severity()) {
                worst = Some(phase);
                if let Some((_, why)) = &limit {
                    message = format!("Metric \"{name}\" assessed {} due to {why}", phase.as_str());
                    if !result.message.is_empty() {
                        message.push_str(&format!(": \"Error Message: {}\"", result.message));
                    }
                }
            }
            summary.add(counted);
        }
    }
    status.run_summary = summary;
    status.dry_run_summary = Some(dry_summary);
    let message = message.trim().to_string();
    if terminating {
        return (worst.unwrap_or(AnalysisPhase::Successful), message);
    }
    match worst {
        Some(w) if everything_completed => (w, message),
        _ => (AnalysisPhase::Running, String::new()),
    }
}

/// Take the measurements that are due, and judge the run.
pub(super) fn run_metrics(
    ctx: &Ctx<'_>,
    run: &Value,
    spec: &RunSpec,
    status: &mut RunStatus,
    events: &mut Vec<Pending>,
) -> Option<DateTime<Utc>> {
    let namespace = run["metadata"]["namespace"].as_str().unwrap_or("");
    let metrics = match resolve(spec, run) {
        Ok(m) => m,
        Err(e) => {
            status.phase = Some(AnalysisPhase::Error);
            status.message = format!("Unable to resolve metric arguments: {e}");
            return None;
        }
    };
    let started = status.started_at.as_deref().and_then(parse_timestamp);
    if !status.is_terminating(spec) {
        for metric in &metrics {
            let due = next_measurement(metric, status, started, ctx.now);
            if due.is_none_or(|at| at > ctx.now)
                || (metric.spec.initial_delay.is_some() && started.is_none())
            {
                continue;
            }
            let m = measure(ctx, namespace, metric);
            let name = &metric.spec.name;
            if status.result(name).is_none() {
                status.metric_results.push(MetricResult {
                    name: name.clone(),
                    phase: AnalysisPhase::Running,
                    measurements: Vec::new(),
                    message: String::new(),
                    count: 0,
                    successful: 0,
                    failed: 0,
                    inconclusive: 0,
                    error: 0,
                    consecutive_error: 0,
                    dry_run: spec.is_dry_run(name),
                    metadata: BTreeMap::from([(RESOLVED_QUERY.to_string(), metric.query.clone())]),
                    consecutive_success: 0,
                });
            }
            record_measurement(status.result_mut(name).expect("just added"), m);
        }
    }
    if status.started_at.is_none() {
        status.started_at = Some(timestamp(ctx.now));
    }
    let terminating = status.is_terminating(spec);
    let (phase, message) = assess(status, spec, &metrics, terminating, events);
    if status.phase != Some(phase) {
        status.phase = Some(phase);
        status.message = message;
    }
    for result in &mut status.metric_results {
        let limit = spec.history_limit(&result.name);
        let excess = result.measurements.len().saturating_sub(limit);
        result.measurements.drain(..excess);
    }
    if phase.is_completed() {
        return None;
    }
    let started = status.started_at.as_deref().and_then(parse_timestamp);
    metrics
        .iter()
        .filter_map(|m| next_measurement(m, status, started, ctx.now))
        .min()
        .map(|at| at.max(ctx.now + Duration::seconds(1)))
}
