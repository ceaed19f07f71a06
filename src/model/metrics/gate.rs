//! SLO gates on the current values of a metric.

use super::unit::Unit;
use serde::Serialize;

/// Keys of the metrics the default gates name.
pub const ERROR_RATIO: &str = "error_ratio";
pub const P95_LATENCY: &str = "p95_latency";

/// An SLO gate on the current values of one metric (named by its key).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum Gate {
    /// canary ≤ max.
    AbsoluteMax { metric: String, max: f64 },
    /// canary ≤ baseline × max_ratio.
    RelativeRatio { metric: String, max_ratio: f64 },
    /// canary ≤ baseline + max_delta.
    RelativeDelta { metric: String, max_delta: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum GateOutcome {
    Pass,
    Fail,
    NoData,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GateResult {
    pub gate: Gate,
    pub outcome: GateOutcome,
    /// `error ratio 5.2% is above baseline 0.5% + 0.5 pp = 1%`.
    pub reason: String,
}

impl Gate {
    /// The seeds' gates: error ratio at most baseline + 0.5 percentage
    /// points, p95 latency at most baseline × 1.2.
    pub fn defaults() -> Vec<Gate> {
        vec![
            Gate::RelativeDelta {
                metric: ERROR_RATIO.into(),
                max_delta: 0.005,
            },
            Gate::RelativeRatio {
                metric: P95_LATENCY.into(),
                max_ratio: 1.2,
            },
        ]
    }

    pub fn metric(&self) -> &str {
        match self {
            Gate::AbsoluteMax { metric, .. }
            | Gate::RelativeRatio { metric, .. }
            | Gate::RelativeDelta { metric, .. } => metric,
        }
    }

    /// The most the value may be, given the baseline's: None when the gate
    /// is relative and the baseline is missing or NaN.
    pub fn limit(&self, baseline: Option<f64>) -> Option<f64> {
        let baseline = baseline.filter(|v| !v.is_nan());
        match self {
            Gate::AbsoluteMax { max, .. } => Some(*max),
            Gate::RelativeRatio { max_ratio, .. } => Some(baseline? * max_ratio),
            Gate::RelativeDelta { max_delta, .. } => Some(baseline? + max_delta),
        }
    }

    /// Evaluate on the current values; `label` and `unit` only shape the
    /// reason. A missing or NaN value needed by the gate is NoData.
    pub fn evaluate(
        &self,
        label: &str,
        unit: Unit,
        baseline: Option<f64>,
        canary: Option<f64>,
    ) -> GateResult {
        let present = |v: Option<f64>| v.filter(|v| !v.is_nan());
        let result = |outcome, reason| GateResult {
            gate: self.clone(),
            outcome,
            reason,
        };
        let Some(canary) = present(canary) else {
            return result(
                GateOutcome::NoData,
                format!("{label}: no canary value to check"),
            );
        };
        let no_baseline = || {
            result(
                GateOutcome::NoData,
                format!("{label}: no baseline value to compare with"),
            )
        };
        let Some(limit) = self.limit(baseline) else {
            return no_baseline();
        };
        let limit_text = self.limit_text(unit, baseline, limit, "baseline");
        let value = unit.format(canary);
        if canary <= limit {
            result(
                GateOutcome::Pass,
                format!("{label} {value} is within {limit_text}"),
            )
        } else {
            result(
                GateOutcome::Fail,
                format!("{label} {value} is above {limit_text}"),
            )
        }
    }

    /// How the limit is reached: `1%`, or `baseline 120 ms × 1.2 = 144 ms`
    /// (with `baseline` named as the caller calls it).
    pub fn limit_text(&self, unit: Unit, baseline: Option<f64>, limit: f64, name: &str) -> String {
        let base = || unit.format(baseline.unwrap_or(f64::NAN));
        match self {
            Gate::AbsoluteMax { .. } => unit.format(limit),
            Gate::RelativeRatio { max_ratio, .. } => {
                format!("{name} {} × {max_ratio} = {}", base(), unit.format(limit))
            }
            Gate::RelativeDelta { max_delta, .. } => format!(
                "{name} {} + {} = {}",
                base(),
                unit.format_delta(*max_delta),
                unit.format(limit)
            ),
        }
    }
}
