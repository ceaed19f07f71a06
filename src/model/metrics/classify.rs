//! One metric's range samples of both sides judged, in the manner of
//! Kayenta's NetflixACAJudge, with the reason written out.

use super::Held;
use super::mann_whitney::{MAX_PAIRS, Shift, rank_test, shift};
use super::unit::{Direction, Unit, percent};
use serde::Serialize;
use std::fmt;

/// How one metric is judged. Kayenta's defaults: confidence 98%, tolerance
/// 25%, allowed increase and decrease 1.0 (any significant change counts).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricJudgeConfig {
    /// The metric as people say it: `p95 latency`.
    pub label: String,
    pub unit: Unit,
    pub direction: Direction,
    /// A critical metric that is not Pass fails the whole verdict.
    pub critical: bool,
    pub confidence: f64,
    /// A shift counts only when its confidence interval clears this fraction
    /// of the estimated shift on the far side of zero (Kayenta's tolerance).
    pub tolerance: f64,
    /// High needs mean(canary) / mean(baseline) at least this.
    pub allowed_increase: f64,
    /// Low needs the ratio at most this.
    pub allowed_decrease: f64,
    /// Fewer samples than this on either side is NoData: a handful of points
    /// cannot show a difference.
    pub min_samples: usize,
    /// For traffic-like metrics (request rate): samples that are all 0 on
    /// both sides mean nothing was served, not that nothing changed.
    pub all_zero_is_no_data: bool,
}

impl MetricJudgeConfig {
    /// A non-critical metric with Kayenta's defaults and at least 5 samples a side.
    pub fn new(label: impl Into<String>, unit: Unit, direction: Direction) -> Self {
        MetricJudgeConfig {
            label: label.into(),
            unit,
            direction,
            critical: false,
            confidence: 0.98,
            tolerance: 0.25,
            allowed_increase: 1.0,
            allowed_decrease: 1.0,
            min_samples: 5,
            all_zero_is_no_data: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MetricClass {
    Pass,
    /// The canary is significantly higher, in a direction that counts.
    High,
    Low,
    NoData,
    /// The samples could not be compared (too many, or infinite values).
    Error,
}

impl MetricClass {
    pub fn word(self) -> &'static str {
        match self {
            MetricClass::Pass => "Pass",
            MetricClass::High => "High",
            MetricClass::Low => "Low",
            MetricClass::NoData => "NoData",
            MetricClass::Error => "Error",
        }
    }
}

impl fmt::Display for MetricClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// One metric's judgement: the class, why, and the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricJudgement {
    pub label: String,
    pub critical: bool,
    pub class: MetricClass,
    /// Written out: `p95 latency +34%: baseline 120 ms, canary 161 ms, 60
    /// samples each, significant at 98%`.
    pub reason: String,
    pub p_value: Option<f64>,
    /// mean(canary) / mean(baseline); None when either mean is 0.
    pub ratio: Option<f64>,
    pub shift: Option<Shift>,
    pub baseline_mean: Option<f64>,
    pub canary_mean: Option<f64>,
    /// Samples after NaN removal.
    pub n_baseline: usize,
    pub n_canary: usize,
    /// Set when this is the previous refresh's class, held over one
    /// refresh that fell a sample short (see [`classify_after`]).
    pub held: Option<Held>,
}

impl MetricJudgement {
    /// A judgement made without comparing samples (nothing measured).
    pub fn without_samples(
        label: &str,
        critical: bool,
        class: MetricClass,
        reason: String,
    ) -> MetricJudgement {
        MetricJudgement {
            label: label.to_string(),
            critical,
            class,
            reason,
            p_value: None,
            ratio: None,
            shift: None,
            baseline_mean: None,
            canary_mean: None,
            n_baseline: 0,
            n_canary: 0,
            held: None,
        }
    }
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn without_nan(values: &[f64]) -> Vec<f64> {
    values.iter().copied().filter(|v| !v.is_nan()).collect()
}

fn sample_counts(n_baseline: usize, n_canary: usize) -> String {
    if n_baseline == n_canary {
        format!("{n_baseline} samples each")
    } else {
        format!("{n_baseline} baseline and {n_canary} canary samples")
    }
}

/// Classify one metric from its range samples on both sides, as Kayenta's
/// Mann–Whitney classifier does: NaN removed first; High when the shift's
/// confidence interval lies above zero by more than the tolerance, the
/// mean ratio reaches the allowed increase (skipped when a mean is 0) and
/// the direction counts increases; Low the mirror image. Unlike Kayenta,
/// High and Low also need the test's p-value below 1 − confidence: R's
/// interval falls back to the extreme differences for tiny samples, which
/// would call insignificant results significant.
pub fn classify(baseline: &[f64], canary: &[f64], cfg: &MetricJudgeConfig) -> MetricJudgement {
    let baseline = without_nan(baseline);
    let canary = without_nan(canary);
    let (n_baseline, n_canary) = (baseline.len(), canary.len());
    let (baseline_mean, canary_mean) = (mean(&baseline), mean(&canary));
    let ratio = match (baseline_mean, canary_mean) {
        (Some(b), Some(c)) if b != 0.0 && c != 0.0 => Some(c / b),
        _ => None,
    };
    let judgement = |class, reason, p_value, shift| MetricJudgement {
        label: cfg.label.clone(),
        critical: cfg.critical,
        class,
        reason,
        p_value,
        ratio,
        shift,
        baseline_mean,
        canary_mean,
        n_baseline,
        n_canary,
        held: None,
    };
    let label = &cfg.label;

    if n_baseline < cfg.min_samples.max(1) || n_canary < cfg.min_samples.max(1) {
        let counts = format!("baseline {n_baseline}, canary {n_canary}");
        let reason = if n_baseline == 0 || n_canary == 0 {
            format!("{label}: no data ({counts} samples)")
        } else {
            format!(
                "{label}: too few samples to compare ({counts}; at least {} needed)",
                cfg.min_samples
            )
        };
        return judgement(MetricClass::NoData, reason, None, None);
    }
    if cfg.all_zero_is_no_data && baseline.iter().chain(&canary).all(|&v| v == 0.0) {
        let reason = format!(
            "{label}: no traffic (every sample is 0, {})",
            sample_counts(n_baseline, n_canary)
        );
        return judgement(MetricClass::NoData, reason, None, None);
    }
    let error = |why: String| {
        judgement(
            MetricClass::Error,
            format!("{label}: cannot compare: {why}"),
            None,
            None,
        )
    };
    if let Some(side) = [("baseline", &baseline), ("canary", &canary)]
        .iter()
        .find_map(|(side, v)| v.iter().any(|x| x.is_infinite()).then_some(side))
    {
        return error(format!("infinite values among the {side} samples"));
    }
    if n_baseline * n_canary > MAX_PAIRS {
        return error(format!(
            "{} is more than the judge compares; use a coarser step",
            sample_counts(n_baseline, n_canary)
        ));
    }
    let test = match rank_test(&canary, &baseline) {
        Ok(test) => test,
        Err(why) => return error(why),
    };
    let shift = shift(&baseline, &canary, cfg.confidence, test.null);
    let bound = cfg.tolerance * shift.estimate.abs();
    let significant = test.p_value < 1.0 - cfg.confidence;
    let higher = significant && shift.low > bound;
    let lower = significant && shift.high < -bound;
    let high =
        higher && cfg.direction.flags_increase() && ratio.is_none_or(|r| r >= cfg.allowed_increase);
    let low =
        lower && cfg.direction.flags_decrease() && ratio.is_none_or(|r| r <= cfg.allowed_decrease);

    let unit = cfg.unit;
    let change = match ratio {
        Some(r) => {
            let pct = (r - 1.0) * 100.0;
            if pct.abs() >= 10.0 {
                format!(" {pct:+.0}%")
            } else {
                format!(" {pct:+.1}%")
            }
        }
        None => String::new(),
    };
    let facts = format!(
        "{label}{change}: baseline {}, canary {}, {}",
        unit.format(baseline_mean.unwrap_or(f64::NAN)),
        unit.format(canary_mean.unwrap_or(f64::NAN)),
        sample_counts(n_baseline, n_canary)
    );
    let level = percent(cfg.confidence);
    let (class, finding) = if high || low {
        let class = if high {
            MetricClass::High
        } else {
            MetricClass::Low
        };
        (class, format!("significant at {level}"))
    } else if higher && cfg.direction.flags_increase() {
        (
            MetricClass::Pass,
            format!(
                "significant at {level} but within the allowed increase (×{})",
                cfg.allowed_increase
            ),
        )
    } else if lower && cfg.direction.flags_decrease() {
        (
            MetricClass::Pass,
            format!(
                "significant at {level} but within the allowed decrease (×{})",
                cfg.allowed_decrease
            ),
        )
    } else if higher || lower {
        let way = if higher { "higher" } else { "lower" };
        (
            MetricClass::Pass,
            format!("significantly {way} at {level}, which is no harm for this metric"),
        )
    } else {
        (
            MetricClass::Pass,
            format!(
                "no significant difference at {level} (p = {})",
                format_p_value(test.p_value)
            ),
        )
    };
    judgement(
        class,
        format!("{facts}, {finding}"),
        Some(test.p_value),
        Some(shift),
    )
}

fn format_p_value(p: f64) -> String {
    if p < 0.001 {
        format!("{p:.1e}")
    } else {
        format!("{p:.3}")
    }
}
