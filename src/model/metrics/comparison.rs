//! What the screen and `status -o json` show of a release's metrics: both
//! sides of every metric, the judgements, the gates, the overall verdict,
//! and what the rollout controller itself concluded.

use super::{GateResult, Held, MetricClass, MetricJudgement, OverallVerdict, Unit, Verdict};
use crate::model::Release;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One side's measurement of one metric.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SideValue {
    /// Over the whole window; None when the source has no series for this side.
    pub current: Option<f64>,
    /// One value per step across the window: the sparkline and the judge's samples.
    pub samples: Vec<f64>,
}

/// Baseline against canary for one metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    /// The stable identifier (`error_ratio`, `p95_latency`, a custom name).
    pub metric: String,
    pub label: String,
    pub unit: Unit,
    pub baseline: SideValue,
    pub canary: SideValue,
    /// None for metrics shown but not judged (the request rate, which the
    /// traffic split sets, not the code).
    pub judgement: Option<MetricJudgement>,
    /// Why this metric could not be measured this time.
    pub error: Option<String>,
}

impl Comparison {
    /// Canary minus baseline, on the current values.
    pub fn difference(&self) -> Option<f64> {
        Some(self.canary.current? - self.baseline.current?).filter(|d| d.is_finite())
    }

    /// The difference as a percentage of the baseline.
    pub fn percent(&self) -> Option<f64> {
        let baseline = self.baseline.current.filter(|b| *b != 0.0)?;
        Some(self.difference()? / baseline * 100.0).filter(|p| p.is_finite())
    }

    pub fn class(&self) -> Option<MetricClass> {
        self.judgement.as_ref().map(|j| j.class)
    }

    /// Set when the class is the previous refresh's, held over this one.
    pub fn held(&self) -> Option<&Held> {
        self.judgement.as_ref()?.held.as_ref()
    }
}

/// The two versions compared, as the metrics source labels them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComparedVersions {
    pub label: String,
    pub baseline: String,
    pub canary: String,
}

/// One release's metrics at one refresh.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseMetrics {
    /// Where the numbers come from: a Prometheus URL, or the simulator.
    pub source: String,
    pub window_seconds: u64,
    pub step_seconds: u64,
    pub measured_at: DateTime<Utc>,
    /// None when there is nothing to compare (see `verdict.reasons`).
    pub versions: Option<ComparedVersions>,
    /// Requests each side served in the window: the sample size behind
    /// the quantiles.
    pub baseline_requests: Option<f64>,
    pub canary_requests: Option<f64>,
    /// Set when the canary served too few requests for its quantiles.
    pub low_traffic: Option<String>,
    pub comparisons: Vec<Comparison>,
    pub gates: Vec<GateResult>,
    pub verdict: OverallVerdict,
    /// The source's own warnings (partial data, TLS verification off).
    pub warnings: Vec<String>,
    /// Queries that failed at this refresh, as the source reported them.
    pub errors: Vec<String>,
    /// Since when the source has been failing without a break.
    pub failing_since: Option<DateTime<Utc>>,
}

impl ReleaseMetrics {
    /// Nothing to compare, for the given reason: never a Pass.
    pub fn not_compared(
        source: &str,
        window_seconds: u64,
        step_seconds: u64,
        at: DateTime<Utc>,
        reason: String,
    ) -> ReleaseMetrics {
        ReleaseMetrics {
            source: source.to_string(),
            window_seconds,
            step_seconds,
            measured_at: at,
            versions: None,
            baseline_requests: None,
            canary_requests: None,
            low_traffic: None,
            comparisons: Vec::new(),
            gates: Vec::new(),
            verdict: OverallVerdict {
                verdict: Verdict::NoData,
                score: None,
                reasons: vec![reason],
            },
            warnings: Vec::new(),
            errors: Vec::new(),
            failing_since: None,
        }
    }

    /// Keep the start of an ongoing failure from the previous refresh.
    pub fn carry_failure_from(&mut self, previous: Option<&ReleaseMetrics>) {
        if self.errors.is_empty() {
            self.failing_since = None;
        } else {
            self.failing_since = previous
                .and_then(|p| p.failing_since)
                .or(self.failing_since)
                .or(Some(self.measured_at));
        }
    }
}

/// What the rollout controller concluded from its own analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControllerOpinion {
    /// `AnalysisRun checkout-6f646bf7b7-3` or `Flagger checks`.
    pub source: String,
    /// True when the controller counts the canary as failing.
    pub failing: bool,
    pub summary: String,
}

/// The latest AnalysisRun of an Argo rollout, or Flagger's failed checks.
pub fn controller_opinion(release: &Release) -> Option<ControllerOpinion> {
    if let Some(f) = &release.flagger {
        let failing = f.failed_checks > 0 || f.phase == "Failed";
        return Some(ControllerOpinion {
            source: "Flagger checks".into(),
            failing,
            summary: format!(
                "{}: {} of {} failed checks",
                f.phase, f.failed_checks, f.threshold
            ),
        });
    }
    let run = release.analysis.iter().max_by_key(|a| a.created)?;
    let failing = matches!(run.phase.as_str(), "Failed" | "Error" | "Inconclusive")
        || run.metrics.iter().any(|m| m.failed > 0 || m.error > 0);
    let counts = run
        .metrics
        .iter()
        .map(|m| format!("{} {}✓ {}✗", m.name, m.successful, m.failed + m.error))
        .collect::<Vec<_>>()
        .join(", ");
    let phase = if run.phase.is_empty() {
        "Pending"
    } else {
        run.phase.as_str()
    };
    Some(ControllerOpinion {
        source: format!("AnalysisRun {}", run.name),
        failing,
        summary: if counts.is_empty() {
            phase.to_string()
        } else {
            format!("{phase}: {counts}")
        },
    })
}

/// Whether cutover's verdict and the controller's disagree: one says the
/// canary fails while the other lets it through. NoData agrees with anything.
pub fn disagrees(verdict: Verdict, opinion: &ControllerOpinion) -> bool {
    match verdict {
        Verdict::Fail => !opinion.failing,
        Verdict::Pass => opinion.failing,
        Verdict::Marginal | Verdict::NoData => false,
    }
}
