//! The Mann–Whitney U test as SciPy computes it, and the Hodges–Lehmann
//! shift with its confidence interval as R's `wilcox.test` does.

use serde::Serialize;

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
pub(super) enum NullDistribution {
    /// Exact counts, for samples without ties when one has at most 8 values.
    Exact,
    /// Normal, with this (tie-corrected) standard deviation of U.
    Normal { sigma: f64 },
}

pub(super) struct RankTest {
    u1: f64,
    pub(super) p_value: f64,
    pub(super) null: NullDistribution,
}

/// SciPy (≥ 1.11) uses the exact distribution unless both samples have more
/// than this many values, or there are ties.
const EXACT_MAX_SMALLER: usize = 8;

pub(super) fn rank_test(x: &[f64], y: &[f64]) -> Result<RankTest, String> {
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
pub(super) fn null_counts(n1: usize, n2: usize, max_u: usize) -> Option<Vec<i128>> {
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
pub(super) fn arrangements(n1: usize, n2: usize) -> Option<i128> {
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
pub(super) fn normal_quantile(p: f64) -> f64 {
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
pub(super) const MAX_PAIRS: usize = 4_000_000;

pub(super) fn shift(
    baseline: &[f64],
    canary: &[f64],
    confidence: f64,
    null: NullDistribution,
) -> Shift {
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
