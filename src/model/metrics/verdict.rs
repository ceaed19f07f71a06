//! The metric judgements and gate results into the release's overall
//! verdict, with Kayenta's scoring.

use super::unit::significant;
use super::{GateOutcome, GateResult, MetricClass, MetricJudgement};
use serde::Serialize;
use std::fmt;

/// The release's overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    Pass,
    Marginal,
    Fail,
    NoData,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "Pass",
            Verdict::Marginal => "Marginal",
            Verdict::Fail => "Fail",
            Verdict::NoData => "NoData",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Score limits: Spinnaker's suggested pass 95 and marginal 75.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScoreThresholds {
    pub pass: f64,
    pub marginal: f64,
}

impl Default for ScoreThresholds {
    fn default() -> Self {
        ScoreThresholds {
            pass: 95.0,
            marginal: 75.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OverallVerdict {
    pub verdict: Verdict,
    /// Pass / (Pass + High + Low) × 100, two decimals; None when no metric
    /// could be classified.
    pub score: Option<f64>,
    /// A summary line first, then what made the verdict what it is.
    pub reasons: Vec<String>,
}

/// Kayenta's scoring: a failed gate, or a critical metric that is not Pass,
/// fails the release; when at least half of the metrics have no data (or
/// could not be compared) there is no verdict; a gate without data also
/// withholds one. Otherwise the score decides Pass, Marginal or Fail.
/// Measured failures come before missing data, so a canary that is clearly
/// broken fails even while another metric is unavailable.
pub fn verdict(
    metrics: &[MetricJudgement],
    gates: &[GateResult],
    thresholds: &ScoreThresholds,
) -> OverallVerdict {
    let count = |class: MetricClass| metrics.iter().filter(|m| m.class == class).count();
    let passing = count(MetricClass::Pass);
    let countable = passing + count(MetricClass::High) + count(MetricClass::Low);
    let lacking = count(MetricClass::NoData) + count(MetricClass::Error);
    let score = (countable > 0)
        .then(|| (passing as f64 * 100.0 / countable as f64 * 100.0).round() / 100.0);
    let gates_passing = gates
        .iter()
        .filter(|g| g.outcome == GateOutcome::Pass)
        .count();
    let mut summary = match score {
        Some(score) => format!(
            "score {}: {passing} of {} metrics pass",
            significant(score),
            metrics.len()
        ),
        None => format!("no score: none of {} metrics classified", metrics.len()),
    };
    if lacking > 0 {
        summary.push_str(&format!(", {lacking} without data"));
    }
    if !gates.is_empty() {
        summary.push_str(&format!("; {gates_passing} of {} gates pass", gates.len()));
    }
    let finish = |verdict, details: Vec<String>| OverallVerdict {
        verdict,
        score,
        reasons: std::iter::once(summary.clone()).chain(details).collect(),
    };
    let gate_reasons = |outcome: GateOutcome| {
        gates
            .iter()
            .filter(move |g| g.outcome == outcome)
            .map(|g| format!("gate failed: {}", g.reason))
    };
    let metric_reasons = |classes: &[MetricClass], critical_only: bool| {
        metrics
            .iter()
            .filter(|m| classes.contains(&m.class) && (m.critical || !critical_only))
            .map(|m| {
                let critical = if m.critical { "critical " } else { "" };
                format!("{critical}{}: {}", m.class, m.reason)
            })
            .collect::<Vec<_>>()
    };
    let shifted = [MetricClass::High, MetricClass::Low];
    let missing = [MetricClass::NoData, MetricClass::Error];

    let failed_gates: Vec<String> = gate_reasons(GateOutcome::Fail).collect();
    let critical_shifts = metric_reasons(&shifted, true);
    if !failed_gates.is_empty() || !critical_shifts.is_empty() {
        let others = metrics
            .iter()
            .filter(|m| shifted.contains(&m.class) && !m.critical)
            .map(|m| format!("{}: {}", m.class, m.reason));
        let details = failed_gates
            .into_iter()
            .chain(critical_shifts)
            .chain(others)
            .collect();
        return finish(Verdict::Fail, details);
    }
    if metrics.is_empty() && gates.is_empty() {
        return finish(
            Verdict::NoData,
            vec!["no metrics and no gates to judge".into()],
        );
    }
    if lacking > 0 && lacking * 2 >= metrics.len() {
        return finish(Verdict::NoData, metric_reasons(&missing, false));
    }
    let critical_missing = metric_reasons(&missing, true);
    if !critical_missing.is_empty() {
        return finish(Verdict::Fail, critical_missing);
    }
    let gates_without_data: Vec<String> = gates
        .iter()
        .filter(|g| g.outcome == GateOutcome::NoData)
        .map(|g| format!("gate without data: {}", g.reason))
        .collect();
    if !gates_without_data.is_empty() {
        return finish(Verdict::NoData, gates_without_data);
    }
    let details = metric_reasons(
        &[
            MetricClass::High,
            MetricClass::Low,
            MetricClass::NoData,
            MetricClass::Error,
        ],
        false,
    );
    let verdict = match score {
        // Only gates, and every one passed.
        None => Verdict::Pass,
        Some(s) if s >= thresholds.pass => Verdict::Pass,
        Some(s) if s >= thresholds.marginal => Verdict::Marginal,
        Some(_) => Verdict::Fail,
    };
    finish(verdict, details)
}
