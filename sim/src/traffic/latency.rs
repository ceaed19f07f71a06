//! Latency as a log-normal distribution fitted to a profile's median and
//! 95th percentile, turned into expected histogram bucket counts; and the
//! estimate Prometheus's `histogram_quantile` makes back from buckets.

/// Upper bounds of `http_request_duration_seconds`: the Prometheus client's
/// default buckets, in seconds (the `+Inf` bucket is the count).
pub const SECONDS_BOUNDS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Upper bounds of `istio_request_duration_milliseconds` (the `+Inf` bucket is the count).
pub const MILLIS_BOUNDS: [f64; 19] = [
    1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0,
    60000.0, 300000.0, 600000.0, 1800000.0, 3600000.0,
];

/// The standard normal quantile at 0.95: how many σ the p95 lies above the median.
const Z_95: f64 = 1.644_853_626_951_472_2;

/// A log-normal latency distribution, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Mean of ln(ms).
    mu: f64,
    /// Standard deviation of ln(ms); 0 puts every request at the median.
    sigma: f64,
}

impl Latency {
    /// The distribution whose median is `p50_ms` and 95th percentile `p95_ms`
    /// (a p95 below the median is read as no spread).
    pub fn fit(p50_ms: f64, p95_ms: f64) -> Self {
        let p50 = if p50_ms.is_finite() {
            p50_ms.max(1e-3)
        } else {
            1e-3
        };
        let p95 = if p95_ms.is_finite() {
            p95_ms.max(p50)
        } else {
            p50
        };
        let mu = p50.ln();
        Latency {
            mu,
            sigma: (p95.ln() - mu) / Z_95,
        }
    }

    /// Fraction of requests that take at most `ms`.
    pub fn cdf(&self, ms: f64) -> f64 {
        if ms <= 0.0 {
            return 0.0;
        }
        if self.sigma <= 0.0 {
            return if ms.ln() >= self.mu { 1.0 } else { 0.0 };
        }
        normal_cdf((ms.ln() - self.mu) / self.sigma)
    }

    pub fn mean_ms(&self) -> f64 {
        (self.mu + self.sigma * self.sigma / 2.0).exp()
    }

    /// Fractions of requests at or below each bound (a histogram's `le` buckets, per request).
    pub fn shape(&self) -> Shape {
        Shape {
            seconds: SECONDS_BOUNDS.map(|s| self.cdf(s * 1000.0)),
            millis: MILLIS_BOUNDS.map(|ms| self.cdf(ms)),
            mean_ms: self.mean_ms(),
        }
    }
}

/// What one request adds, in expectation, to each latency histogram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub seconds: [f64; SECONDS_BOUNDS.len()],
    pub millis: [f64; MILLIS_BOUNDS.len()],
    pub mean_ms: f64,
}

/// Φ(z), through the complementary error function.
fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// erfc with a fractional error below 1.2e-7 everywhere (the Chebyshev fit
/// of Numerical Recipes, §6.2): far finer than any bucket boundary needs.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The `q` quantile of a classic histogram, computed as Prometheus's
/// `histogram_quantile` does: linear interpolation inside the bucket where
/// the rank falls, 0 as the lower edge of the first bucket, and the highest
/// finite bound when the rank falls into `+Inf`. `cumulative[i]` counts the
/// observations at or below `bounds[i]`; `total` is the `+Inf` bucket.
/// None without observations.
pub fn histogram_quantile(q: f64, bounds: &[f64], cumulative: &[f64], total: f64) -> Option<f64> {
    if total <= 0.0 || bounds.is_empty() || bounds.len() != cumulative.len() {
        return None;
    }
    let rank = q.clamp(0.0, 1.0) * total;
    let Some(b) = cumulative.iter().position(|&c| c >= rank) else {
        return bounds.last().copied();
    };
    let (start, below) = if b == 0 {
        (0.0, 0.0)
    } else {
        (bounds[b - 1], cumulative[b - 1])
    };
    let count = cumulative[b] - below;
    if count <= 0.0 {
        return Some(bounds[b]);
    }
    Some(start + (bounds[b] - start) * (rank - below) / count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_reproduces_the_median_and_the_95th_percentile() {
        let l = Latency::fit(40.0, 120.0);
        assert!((l.cdf(40.0) - 0.5).abs() < 1e-6);
        assert!((l.cdf(120.0) - 0.95).abs() < 1e-6);
        assert!(l.cdf(1.0) < l.cdf(10.0) && l.cdf(1e6) > 0.999_999);
        assert!(
            l.mean_ms() > 40.0,
            "a right-skewed mean lies above the median"
        );
    }

    #[test]
    fn no_spread_puts_everything_at_the_median() {
        let l = Latency::fit(50.0, 10.0);
        assert_eq!(l.cdf(49.0), 0.0);
        assert_eq!(l.cdf(50.0), 1.0);
        assert!((l.mean_ms() - 50.0).abs() < 1e-9);
    }

    #[test]
    fn histogram_quantile_interpolates_like_prometheus() {
        // 100 observations: 10 ≤ 0.1, 60 ≤ 0.25, 90 ≤ 0.5, all ≤ 1.
        let bounds = [0.1, 0.25, 0.5, 1.0];
        let cumulative = [10.0, 60.0, 90.0, 100.0];
        assert_eq!(
            histogram_quantile(0.05, &bounds, &cumulative, 100.0),
            Some(0.05)
        );
        let p50 = histogram_quantile(0.5, &bounds, &cumulative, 100.0).unwrap();
        assert!((p50 - (0.1 + 0.15 * 40.0 / 50.0)).abs() < 1e-12);
        // The rank in +Inf: the highest finite bound.
        assert_eq!(
            histogram_quantile(0.99, &bounds, &[10.0, 60.0, 90.0, 95.0], 100.0),
            Some(1.0)
        );
        assert_eq!(histogram_quantile(0.5, &bounds, &[0.0; 4], 0.0), None);
    }

    #[test]
    fn bucket_estimates_land_in_the_bucket_of_the_true_quantile() {
        let l = Latency::fit(90.0, 420.0);
        let shape = l.shape();
        let bounds_ms = SECONDS_BOUNDS.map(|s| s * 1000.0);
        let p95 = histogram_quantile(0.95, &bounds_ms, &shape.seconds, 1.0).unwrap();
        assert!((250.0..=500.0).contains(&p95), "{p95}");
        let p50 = histogram_quantile(0.5, &MILLIS_BOUNDS, &shape.millis, 1.0).unwrap();
        assert!((50.0..=100.0).contains(&p50), "{p50}");
    }
}
