//! The Argo Rollouts AnalysisRun controller: takes each metric's
//! measurements on schedule and writes the run's status field by field as
//! Argo does (`analysis/analysis.go`): metric results with their counters and
//! the latest ten measurements, the run summary, the worst phase with its
//! message, and the completion events.
//!
//! No Prometheus runs in the simulator, so a metric is measured from the
//! simulated traffic ([`MeasurementSource`](crate::traffic::MeasurementSource))
//! by what it measures. The rules:
//!
//! - **What**: judged from the metric's name, then from its query
//!   (case-insensitive). `success` gives the success ratio, 1 − errors/requests;
//!   `error`, `5xx`, `5..` or `fail` the error ratio, errors/requests;
//!   `latency`, `duration`, `p50`, `p95`, `p99`, `quantile` or `histogram` a
//!   latency: the 99th percentile when `p99`/`0.99` appears, the median for
//!   `p50`/`0.5`/`median`, else the 95th; in milliseconds, or in seconds when
//!   the query divides by 1000 or uses a `_seconds` metric without `* 1000`.
//!   Anything else is read as the error ratio.
//! - **Which version**: the pod-template hash is the value of the first
//!   `{{args.X}}` in the query whose name mentions `hash`, else of an argument
//!   named like `canary-hash`, else the run's `rollouts-pod-template-hash` label.
//! - **Window**: the first `[5m]`-style range in the query, else one minute.
//! - **Value**: a one-element vector `[0.0123]` (a `scalar(...)` query gives
//!   the bare number). Without traffic Prometheus answers the empty vector
//!   `[]`, so a condition on `result[0]` makes an Error measurement; errors
//!   are retried every 10 s, and once more follow in a row than
//!   `consecutiveErrorLimit` (default 4) the metric ends in Error.
//! - **Conditions**: comparisons (`<`, `<=`, `>`, `>=`, `==`, `!=`) between
//!   `result`, `result[N]`, `len(result)` and numbers, `isNaN(…)`, `isInf(…)`,
//!   `!`, `&&`, `||` (also `and`, `or`, `not`) and parentheses. A bare
//!   `result` on a one-element vector means that element.
//!
//! The resolved query is kept in the metric result's `metadata`, as Argo
//! does, and also in each measurement's, where some readers look for it.

mod condition;
mod measurements;
mod query;

use super::events::{self, EventType};
use super::{Controller, Ctx};
use crate::resources::{self, ResourceDef};
use crate::time::{self, timestamp};
use chrono::{DateTime, Duration, Utc};
use measurements::run_metrics;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub struct AnalysisRunController;

/// Both Argo controllers record their events as this component.
pub const COMPONENT: &str = "rollouts-controller";
const MEASUREMENT_HISTORY_LIMIT: usize = 10;
const ERROR_RETRY_INTERVAL_SECONDS: i64 = 10;
const DEFAULT_CONSECUTIVE_ERROR_LIMIT: i64 = 4;
const DEFAULT_WINDOW_SECONDS: i64 = 60;
const RESOLVED_QUERY: &str = "ResolvedPrometheusQuery";
const HASH_LABEL: &str = super::workload::ARGO_HASH_LABEL;

pub fn analysis_runs() -> &'static ResourceDef {
    resources::lookup("argoproj.io", "v1alpha1", "analysisruns").expect("served")
}

pub fn analysis_templates() -> &'static ResourceDef {
    resources::lookup("argoproj.io", "v1alpha1", "analysistemplates").expect("served")
}

/// A field that is an integer or a string holding one (`intstr.IntOrString`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    Int(i64),
    Str(String),
}

impl IntOrString {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            IntOrString::Int(i) => Some(*i),
            IntOrString::Str(s) => s.trim().parse().ok(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnalysisPhase {
    Pending,
    Running,
    Successful,
    Failed,
    Error,
    Inconclusive,
}

impl AnalysisPhase {
    pub fn parse(s: &str) -> Option<AnalysisPhase> {
        serde_json::from_value(Value::String(s.to_string())).ok()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AnalysisPhase::Pending => "Pending",
            AnalysisPhase::Running => "Running",
            AnalysisPhase::Successful => "Successful",
            AnalysisPhase::Failed => "Failed",
            AnalysisPhase::Error => "Error",
            AnalysisPhase::Inconclusive => "Inconclusive",
        }
    }

    pub fn is_completed(self) -> bool {
        matches!(
            self,
            AnalysisPhase::Successful
                | AnalysisPhase::Failed
                | AnalysisPhase::Error
                | AnalysisPhase::Inconclusive
        )
    }

    /// Argo's order from best to worst, for picking a run's phase.
    fn severity(self) -> u8 {
        match self {
            AnalysisPhase::Successful => 0,
            AnalysisPhase::Running => 1,
            AnalysisPhase::Pending => 2,
            AnalysisPhase::Inconclusive => 3,
            AnalysisPhase::Error => 4,
            AnalysisPhase::Failed => 5,
        }
    }

    fn event_type(self) -> EventType {
        match self {
            AnalysisPhase::Failed | AnalysisPhase::Error => EventType::Warning,
            _ => EventType::Normal,
        }
    }
}

/// An argument of an AnalysisTemplate or AnalysisRun (or a rollout's analysis step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Argument {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct MetricSpec {
    name: String,
    interval: Option<String>,
    initial_delay: Option<String>,
    count: Option<IntOrString>,
    success_condition: String,
    failure_condition: String,
    failure_limit: Option<IntOrString>,
    inconclusive_limit: Option<IntOrString>,
    consecutive_error_limit: Option<IntOrString>,
    provider: Value,
}

impl MetricSpec {
    /// How many measurements end the metric; None runs until terminated.
    fn effective_count(&self) -> Option<i64> {
        match (&self.count, &self.interval) {
            (Some(c), _) => c.as_int(),
            (None, None) => Some(1),
            (None, Some(_)) => None,
        }
    }

    fn interval(&self) -> Option<Duration> {
        self.interval
            .as_deref()
            .and_then(|d| time::parse(d, time::ARGO_UNITS))
    }

    fn limit(field: &Option<IntOrString>, default: i64) -> i64 {
        field
            .as_ref()
            .and_then(IntOrString::as_int)
            .unwrap_or(default)
    }

    /// The provider's query (`prometheus.query`, or any provider's `query`).
    fn query(&self) -> String {
        let from = |p: &Value| p["query"].as_str().map(str::to_string);
        from(&self.provider["prometheus"])
            .or_else(|| {
                self.provider
                    .as_object()
                    .and_then(|m| m.values().find_map(from))
            })
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RunSpec {
    metrics: Vec<MetricSpec>,
    args: Vec<Argument>,
    terminate: bool,
    dry_run: Vec<MetricName>,
    measurement_retention: Vec<Retention>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct MetricName {
    metric_name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Retention {
    metric_name: String,
    limit: i64,
}

impl RunSpec {
    fn is_dry_run(&self, metric: &str) -> bool {
        self.dry_run
            .iter()
            .any(|d| d.metric_name == metric || d.metric_name == ".*")
    }

    fn history_limit(&self, metric: &str) -> usize {
        self.measurement_retention
            .iter()
            .find(|r| r.metric_name == metric || r.metric_name == ".*")
            .filter(|r| r.limit > 0)
            .map_or(MEASUREMENT_HISTORY_LIMIT, |r| r.limit as usize)
    }
}

/// For `skip_serializing_if`: Go's `omitempty` leaves zero counts out.
pub(super) fn is_zero(n: &i64) -> bool {
    *n == 0
}

pub(super) fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    pub phase: AnalysisPhase,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricResult {
    pub name: String,
    pub phase: AnalysisPhase,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub measurements: Vec<Measurement>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub count: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub successful: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failed: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub inconclusive: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub error: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub consecutive_error: i64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub dry_run: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub consecutive_success: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub count: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub successful: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failed: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub inconclusive: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub error: i64,
}

impl RunSummary {
    fn add(&mut self, phase: AnalysisPhase) {
        match phase {
            AnalysisPhase::Error => self.error += 1,
            AnalysisPhase::Failed => self.failed += 1,
            AnalysisPhase::Inconclusive => self.inconclusive += 1,
            _ => self.successful += 1,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<AnalysisPhase>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metric_results: Vec<MetricResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default)]
    pub run_summary: RunSummary,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run_summary: Option<RunSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
}

impl RunStatus {
    fn result(&self, metric: &str) -> Option<&MetricResult> {
        self.metric_results.iter().find(|r| r.name == metric)
    }

    fn result_mut(&mut self, metric: &str) -> Option<&mut MetricResult> {
        self.metric_results.iter_mut().find(|r| r.name == metric)
    }

    /// A run stops measuring once terminated or once a metric that counts
    /// has failed, errored or been inconclusive.
    fn is_terminating(&self, spec: &RunSpec) -> bool {
        spec.terminate
            || self.metric_results.iter().any(|r| {
                !r.dry_run
                    && matches!(
                        r.phase,
                        AnalysisPhase::Failed | AnalysisPhase::Error | AnalysisPhase::Inconclusive
                    )
            })
    }
}

impl Controller for AnalysisRunController {
    fn name(&self) -> &'static str {
        "analysisrun-controller"
    }

    fn primary(&self) -> &'static ResourceDef {
        analysis_runs()
    }

    fn reconcile(&self, ctx: &Ctx<'_>, namespace: &str, name: &str) -> Option<DateTime<Utc>> {
        let run = ctx.store.get(analysis_runs(), namespace, name).ok()?;
        let old: RunStatus = serde_json::from_value(run["status"].clone()).unwrap_or_default();
        if old.phase.is_some_and(AnalysisPhase::is_completed) {
            return None;
        }
        let mut status = old.clone();
        let mut events = Vec::new();
        let next = match serde_json::from_value::<RunSpec>(run["spec"].clone()) {
            Ok(spec) => run_metrics(ctx, &run, &spec, &mut status, &mut events),
            Err(e) => {
                status.phase = Some(AnalysisPhase::Error);
                status.message = format!("Analysis spec invalid: {e}");
                None
            }
        };
        if let Some(phase) = status.phase.filter(|p| p.is_completed()) {
            status.completed_at = Some(timestamp(ctx.now));
            events.push((
                phase.event_type(),
                format!("AnalysisRun{}", phase.as_str()),
                format!("Analysis Completed. Result: {}", phase.as_str()),
            ));
        }
        if status != old {
            let value = serde_json::to_value(&status).expect("serializable");
            if let Err(e) = ctx.store.modify(analysis_runs(), namespace, name, |r| {
                r["status"] = value;
            }) {
                tracing::warn!("writing the status of analysisrun {namespace}/{name}: {e}");
                return next;
            }
        }
        for (kind, reason, message) in events {
            events::record(ctx.store, ctx.now, &run, kind, &reason, &message, COMPONENT);
        }
        next
    }
}

#[cfg(test)]
mod tests;
