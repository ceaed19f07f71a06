//! Baseline against canary: the statistics that judge a release's metrics.
//! Pure: samples and current values come in as arguments, judgements go out.
//!
//! The layers, each usable on its own:
//!
//! - [`mann_whitney_u`]: the two-sided Mann–Whitney U test, as SciPy's
//!   `mannwhitneyu(x, y, alternative="two-sided")` computes it (exact
//!   distribution for small samples without ties, otherwise the normal
//!   approximation with tie and continuity corrections).
//! - [`classify`]: one metric's range samples of both sides into a
//!   [`MetricClass`] (Pass, High, Low, NoData, Error) in the manner of
//!   Kayenta's NetflixACAJudge, with the reason written out. The metric's
//!   name, unit, direction and thresholds come in a [`MetricJudgeConfig`].
//! - [`classify_after`]: the same, given the previous refresh's judgement:
//!   a class is held over one refresh whose samples fall one short.
//! - [`Gate::evaluate`]: an SLO gate on current values (absolute maximum,
//!   relative ratio, relative delta) into Pass, Fail or NoData.
//! - [`verdict`]: the metric judgements and gate results into an
//!   [`OverallVerdict`] (Pass, Marginal, Fail, NoData) with Kayenta's
//!   scoring and the reasons.
//!
//! No data, zero traffic or NaN never yields a Pass at any layer.

use serde::Serialize;
use std::fmt;

mod comparison;
mod hold;
pub use comparison::*;
pub use hold::*;

/// SciPy's statistic and two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MannWhitney {
    /// U of the first sample: how often one of its values exceeds one of the
    /// second's, ties counting a half.
    pub u1: f64,
    pub p_value: f64,
}

/// The two-sided Mann–Whitney U test of `x` against `y`. Errors on an empty
/// sample or a NaN (remove NaN first: its rank means nothing).
pub fn mann_whitney_u(x: &[f64], y: &[f64]) -> Result<MannWhitney, String> {
    rank_test(x, y).map(|t| MannWhitney {
        u1: t.u1,
        p_value: t.p_value,
    })
}

/// How the null distribution of U was taken.
#[derive(Debug, Clone, Copy)]
enum NullDistribution {
    /// Exact counts, for samples without ties when one has at most 8 values.
    Exact,
    /// Normal, with this (tie-corrected) standard deviation of U.
    Normal { sigma: f64 },
}

struct RankTest {
    u1: f64,
    p_value: f64,
    null: NullDistribution,
}

/// SciPy (≥ 1.11) uses the exact distribution unless both samples have more
/// than this many values, or there are ties.
const EXACT_MAX_SMALLER: usize = 8;

fn rank_test(x: &[f64], y: &[f64]) -> Result<RankTest, String> {
    if x.is_empty() || y.is_empty() {
        return Err(format!(
            "the test needs values on both sides ({} and {})",
            x.len(),
            y.len()
        ));
    }
    if x.iter().chain(y).any(|v| v.is_nan()) {
        return Err("NaN among the samples".into());
    }
    let (n1, n2) = (x.len(), y.len());
    let (rank_sum_x, tie_term) = ranks(x, y);
    let u1 = rank_sum_x - (n1 * (n1 + 1)) as f64 / 2.0;
    let pairs = (n1 * n2) as f64;
    let u = u1.max(pairs - u1);
    let exact = (n1 <= EXACT_MAX_SMALLER || n2 <= EXACT_MAX_SMALLER) && tie_term == 0.0;
    // Without ties U is a whole number, so the cast loses nothing.
    let exact_p = exact
        .then(|| exact_cdf(n1, n2, (pairs - u) as usize))
        .flatten();
    let (p_value, null) = match exact_p {
        Some(cdf) => (2.0 * cdf, NullDistribution::Exact),
        None => {
            let n = (n1 + n2) as f64;
            let sigma = (pairs / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
            // Continuity correction; a zero sigma (all values equal) gives
            // z = -inf and so p = 1, as in SciPy.
            let z = (u - pairs / 2.0 - 0.5) / sigma;
            (
                libm::erfc(z / std::f64::consts::SQRT_2),
                NullDistribution::Normal { sigma },
            )
        }
    };
    Ok(RankTest {
        u1,
        p_value: p_value.clamp(0.0, 1.0),
        null,
    })
}

/// The sum of the average ranks of `x` in `x ∪ y`, and Σ(t³ − t) over the
/// groups of t tied values.
fn ranks(x: &[f64], y: &[f64]) -> (f64, f64) {
    let mut all: Vec<(f64, bool)> = x
        .iter()
        .map(|&v| (v, true))
        .chain(y.iter().map(|&v| (v, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum_x, mut tie_term) = (0.0, 0.0);
    let mut start = 0;
    while start < all.len() {
        let end = start + all[start..].partition_point(|v| v.0 == all[start].0);
        let t = (end - start) as f64;
        // Ranks start at 1: the group holds ranks start+1 ..= end.
        let average_rank = (start + 1 + end) as f64 / 2.0;
        rank_sum_x += average_rank * all[start..end].iter().filter(|v| v.1).count() as f64;
        tie_term += t * t * t - t;
        start = end;
    }
    (rank_sum_x, tie_term)
}

/// How many arrangements of samples of `n1` and `n2` values give U = 0, 1,
/// …, `max_u` when there are no ties: the coefficients of the Gaussian
/// binomial ∏ᵢ (1 − q^(large+i)) / (1 − qⁱ), i = 1..=small, built one
/// factor at a time so every intermediate is a polynomial. None when the
/// counts outgrow i128 (the smaller sample at 8 values and the larger
/// beyond about 10⁵), where the normal approximation is as good.
fn null_counts(n1: usize, n2: usize, max_u: usize) -> Option<Vec<i128>> {
    let (small, large) = (n1.min(n2), n1.max(n2));
    let mut counts = vec![0i128; max_u + 1];
    counts[0] = 1;
    for i in 1..=small {
        let shift = large + i;
        // Downwards, so counts[u - shift] is still the old coefficient.
        for u in (shift..=max_u).rev() {
            counts[u] = counts[u].checked_sub(counts[u - shift])?;
        }
        for u in i..=max_u {
            counts[u] = counts[u].checked_add(counts[u - i])?;
        }
    }
    Some(counts)
}

/// C(n1 + n2, n1): every arrangement.
fn arrangements(n1: usize, n2: usize) -> Option<i128> {
    let (small, n) = (n1.min(n2) as i128, (n1 + n2) as i128);
    (1..=small).try_fold(1i128, |acc, i| Some(acc.checked_mul(n - small + i)? / i))
}

/// P(U ≤ k) under the null hypothesis, exactly.
fn exact_cdf(n1: usize, n2: usize, k: usize) -> Option<f64> {
    let total = arrangements(n1, n2)?;
    let below: i128 = null_counts(n1, n2, k)?.iter().sum();
    Some(below as f64 / total as f64)
}

/// The standard normal quantile, by bisection on erfc: the judge needs only
/// a few per refresh, and bisection needs no table of coefficients.
fn normal_quantile(p: f64) -> f64 {
    let (mut low, mut high) = (-40.0_f64, 40.0_f64);
    for _ in 0..200 {
        let mid = (low + high) / 2.0;
        if 0.5 * libm::erfc(-mid / std::f64::consts::SQRT_2) < p {
            low = mid;
        } else {
            high = mid;
        }
    }
    (low + high) / 2.0
}

/// The Hodges–Lehmann estimate of how far the canary is shifted from the
/// baseline (the median of all differences canary − baseline) and its
/// confidence interval (order statistics of those differences), as R's
/// `wilcox.test(conf.int = TRUE)`, which Kayenta ports, computes them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Shift {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

/// The judge compares every baseline sample with every canary sample; past
/// this many pairs it refuses rather than stall a refresh.
const MAX_PAIRS: usize = 4_000_000;

fn shift(baseline: &[f64], canary: &[f64], confidence: f64, null: NullDistribution) -> Shift {
    let mut differences: Vec<f64> = canary
        .iter()
        .flat_map(|c| baseline.iter().map(move |b| c - b))
        .collect();
    differences.sort_by(f64::total_cmp);
    let pairs = differences.len();
    let alpha = 1.0 - confidence;
    // The 1-based rank k of the lower bound; the upper is the k-th from the top.
    let k = match null {
        NullDistribution::Exact => {
            // The smallest k with P(U ≤ k) ≥ α/2, as R's qwilcox.
            let counts = null_counts(baseline.len(), canary.len(), pairs / 2)
                .expect("exact counts were computed for the test");
            let total = arrangements(baseline.len(), canary.len())
                .expect("exact counts were computed for the test") as f64;
            let mut below = 0i128;
            counts
                .iter()
                .position(|&c| {
                    below += c;
                    below as f64 / total >= alpha / 2.0
                })
                .unwrap_or(pairs / 2)
        }
        NullDistribution::Normal { sigma } => {
            (pairs as f64 / 2.0 + normal_quantile(alpha / 2.0) * sigma).floor() as usize
        }
    }
    .clamp(1, pairs);
    let middle = pairs / 2;
    let estimate = if pairs % 2 == 1 {
        differences[middle]
    } else {
        (differences[middle - 1] + differences[middle]) / 2.0
    };
    Shift {
        estimate,
        low: differences[k - 1],
        high: differences[pairs - k],
    }
}

/// Which change of a metric is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    /// Higher is worse (latency, errors).
    Increase,
    /// Lower is worse (success rate, conversions).
    Decrease,
    Either,
}

impl Direction {
    fn flags_increase(self) -> bool {
        matches!(self, Direction::Increase | Direction::Either)
    }

    fn flags_decrease(self) -> bool {
        matches!(self, Direction::Decrease | Direction::Either)
    }
}

/// How a metric's values are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Unit {
    /// A fraction (0.005), shown as a percentage (0.5%).
    Ratio,
    /// Shown in ms below a second.
    Seconds,
    /// Istio reports latency in ms.
    Milliseconds,
    /// A rate, shown as n/s.
    PerSecond,
    Plain,
}

impl Unit {
    /// A value with three significant digits and its unit: `120 ms`, `0.5%`.
    pub fn format(self, value: f64) -> String {
        if !value.is_finite() {
            return format!("{value}");
        }
        match self {
            Unit::Ratio => format!("{}%", significant(value * 100.0)),
            Unit::Seconds if value.abs() >= 1.0 => format!("{} s", significant(value)),
            Unit::Seconds => format!("{} ms", significant(value * 1000.0)),
            Unit::Milliseconds => Unit::Seconds.format(value / 1000.0),
            Unit::PerSecond => format!("{}/s", significant(value)),
            Unit::Plain => significant(value),
        }
    }

    /// A difference between two values: a ratio's in percentage points.
    pub fn format_delta(self, delta: f64) -> String {
        match self {
            Unit::Ratio => format!("{} pp", significant(delta * 100.0)),
            _ => self.format(delta),
        }
    }
}

/// Three significant digits, without an exponent or trailing zeros.
fn significant(value: f64) -> String {
    if value == 0.0 {
        return "0".into();
    }
    let decimals = (2 - value.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A percentage of a fraction for prose: 0.98 → `98%`, 0.995 → `99.5%`.
fn percent(fraction: f64) -> String {
    format!("{}%", significant(fraction * 100.0))
}

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
        let (limit, limit_text) = match self {
            Gate::AbsoluteMax { max, .. } => (*max, unit.format(*max)),
            Gate::RelativeRatio { max_ratio, .. } => {
                let Some(baseline) = present(baseline) else {
                    return no_baseline();
                };
                let limit = baseline * max_ratio;
                let text = format!(
                    "baseline {} × {max_ratio} = {}",
                    unit.format(baseline),
                    unit.format(limit)
                );
                (limit, text)
            }
            Gate::RelativeDelta { max_delta, .. } => {
                let Some(baseline) = present(baseline) else {
                    return no_baseline();
                };
                let limit = baseline + max_delta;
                let text = format!(
                    "baseline {} + {} = {}",
                    unit.format(baseline),
                    unit.format_delta(*max_delta),
                    unit.format(limit)
                );
                (limit, text)
            }
        };
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
}

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

#[cfg(test)]
mod tests;
