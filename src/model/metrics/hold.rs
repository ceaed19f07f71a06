//! Hysteresis for one metric's class across refreshes. A range query's
//! sample count can dip by one as the window slides (a scrape landing just
//! outside it, a rate with one point too few at the edge); when the count
//! sits at the judge's minimum, that dip alone would turn High into NoData
//! and back at the next refresh. So a class (Pass, High, Low) is held for
//! one refresh when the fresh judgement is NoData only because a side is
//! exactly one sample short of the minimum; a second short refresh in a row
//! lets it fall. A side with no samples at all, a real drop of more than
//! one, no traffic, or an error is never held over: those are news. Going
//! from NoData to a class is immediate. A held judgement says so.

use super::{MetricClass, MetricJudgeConfig, MetricJudgement, classify};
use serde::Serialize;

/// Why a judgement is the previous refresh's rather than this one's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Held {
    /// How many samples the shorter side lacked this refresh.
    pub samples_short: usize,
    /// What this refresh alone concluded.
    pub fresh_reason: String,
}

impl Held {
    /// `held: 1 sample short`.
    pub fn summary(&self) -> String {
        let s = if self.samples_short == 1 { "" } else { "s" };
        format!("held: {} sample{s} short", self.samples_short)
    }
}

/// Classify this refresh's samples, given the previous refresh's judgement
/// of the same metric between the same two versions (None when there was
/// none, or the versions changed).
pub fn classify_after(
    previous: Option<&MetricJudgement>,
    baseline: &[f64],
    canary: &[f64],
    cfg: &MetricJudgeConfig,
) -> MetricJudgement {
    hold(
        previous,
        classify(baseline, canary, cfg),
        cfg.min_samples.max(1),
    )
}

fn hold(
    previous: Option<&MetricJudgement>,
    fresh: MetricJudgement,
    min_samples: usize,
) -> MetricJudgement {
    let fewest = fresh.n_baseline.min(fresh.n_canary);
    let one_short = fresh.class == MetricClass::NoData && fewest > 0 && fewest + 1 == min_samples;
    let holdable = |p: &&MetricJudgement| {
        p.held.is_none()
            && matches!(
                p.class,
                MetricClass::Pass | MetricClass::High | MetricClass::Low
            )
    };
    match previous.filter(holdable) {
        Some(previous) if one_short => {
            let held = Held {
                samples_short: 1,
                fresh_reason: fresh.reason,
            };
            MetricJudgement {
                reason: format!("{} ({})", previous.reason, held.summary()),
                held: Some(held),
                ..previous.clone()
            }
        }
        _ => fresh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::metrics::{Direction, Unit};

    fn cfg() -> MetricJudgeConfig {
        MetricJudgeConfig::new("p95 latency", Unit::Milliseconds, Direction::Increase)
    }

    /// `n` baseline samples near 100 and `n` canary samples near 200.
    fn worse(n: usize) -> (Vec<f64>, Vec<f64>) {
        let baseline = (0..n).map(|i| 100.0 + i as f64).collect();
        let canary = (0..n).map(|i| 200.0 + i as f64).collect();
        (baseline, canary)
    }

    fn next(previous: Option<&MetricJudgement>, n: usize) -> MetricJudgement {
        let (b, c) = worse(n);
        classify_after(previous, &b, &c, &cfg())
    }

    #[test]
    fn one_sample_short_once_keeps_the_class_and_says_so() {
        let high = next(None, 5);
        assert_eq!(high.class, MetricClass::High, "{}", high.reason);
        let held = next(Some(&high), 4);
        assert_eq!(held.class, MetricClass::High);
        assert_eq!(
            held.held.as_ref().map(Held::summary).as_deref(),
            Some("held: 1 sample short")
        );
        assert!(
            held.reason.ends_with("(held: 1 sample short)"),
            "{}",
            held.reason
        );
        assert!(
            held.held.unwrap().fresh_reason.contains("too few samples"),
            "what the refresh alone found is kept"
        );
    }

    #[test]
    fn two_short_refreshes_in_a_row_fall_to_no_data() {
        let high = next(None, 5);
        let held = next(Some(&high), 4);
        let fallen = next(Some(&held), 4);
        assert_eq!(fallen.class, MetricClass::NoData);
        assert!(fallen.held.is_none());
    }

    #[test]
    fn a_full_refresh_after_a_held_one_is_fresh_again() {
        let high = next(None, 5);
        let held = next(Some(&high), 4);
        let again = next(Some(&held), 5);
        assert_eq!(again.class, MetricClass::High);
        assert!(again.held.is_none());
    }

    #[test]
    fn no_data_to_a_class_is_immediate() {
        let none = next(None, 4);
        assert_eq!(none.class, MetricClass::NoData);
        let high = next(Some(&none), 5);
        assert_eq!((high.class, high.held.is_none()), (MetricClass::High, true));
    }

    #[test]
    fn real_losses_are_never_held() {
        let high = next(None, 6);
        assert_eq!(next(Some(&high), 3).class, MetricClass::NoData, "two short");
        let (b, _) = worse(6);
        let gone = classify_after(Some(&high), &b, &[], &cfg());
        assert_eq!(gone.class, MetricClass::NoData, "a side without samples");
        let error = MetricJudgement::without_samples("p95", false, MetricClass::Error, "e".into());
        assert_eq!(
            next(Some(&error), 4).class,
            MetricClass::NoData,
            "only classes are held"
        );
        let mut traffic = cfg();
        traffic.all_zero_is_no_data = true;
        let zeros = classify_after(Some(&high), &[0.0; 6], &[0.0; 6], &traffic);
        assert_eq!(zeros.class, MetricClass::NoData, "no traffic is news");
    }

    #[test]
    fn a_held_pass_stays_a_pass() {
        let same: Vec<f64> = (0..5).map(f64::from).collect();
        let pass = classify_after(None, &same, &same, &cfg());
        assert_eq!(pass.class, MetricClass::Pass);
        let held = classify_after(Some(&pass), &same, &same[..4], &cfg());
        assert_eq!((held.class, held.held.is_some()), (MetricClass::Pass, true));
    }
}
