use super::mann_whitney::{arrangements, normal_quantile, null_counts};
use super::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixtures {
    scipy: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    x: Vec<f64>,
    y: Vec<f64>,
    u1: f64,
    p_value: f64,
}

#[test]
fn mann_whitney_agrees_with_scipy() {
    let fixtures: Fixtures =
        serde_json::from_str(include_str!("../../../tests/fixtures/mann_whitney.json"))
            .expect("the fixture file parses");
    assert!(fixtures.cases.len() >= 12, "{} cases", fixtures.cases.len());
    for case in &fixtures.cases {
        let got = mann_whitney_u(&case.x, &case.y).expect(&case.name);
        assert_eq!(
            got.u1, case.u1,
            "{}: U (SciPy {})",
            case.name, fixtures.scipy
        );
        let error = (got.p_value - case.p_value).abs() / case.p_value;
        assert!(
            error <= 1e-9,
            "{}: p {} against SciPy {}'s {}",
            case.name,
            got.p_value,
            fixtures.scipy,
            case.p_value
        );
    }
}

#[test]
fn mann_whitney_refuses_empty_samples_and_nan() {
    assert!(mann_whitney_u(&[], &[1.0]).is_err());
    assert!(mann_whitney_u(&[1.0], &[]).is_err());
    assert!(mann_whitney_u(&[1.0, f64::NAN], &[2.0]).is_err());
}

#[test]
fn exact_counts_cover_every_arrangement_symmetrically() {
    for (n1, n2) in [(1, 1), (3, 5), (8, 8), (8, 40), (2, 300)] {
        let counts = null_counts(n1, n2, n1 * n2).expect("small sizes fit");
        assert_eq!(
            counts.iter().sum::<i128>(),
            arrangements(n1, n2).unwrap(),
            "{n1}×{n2}"
        );
        let reversed: Vec<i128> = counts.iter().rev().copied().collect();
        assert_eq!(counts, reversed, "{n1}×{n2}: U and n1·n2 − U are alike");
    }
}

#[test]
fn normal_quantile_inverts_the_normal_distribution() {
    assert!((normal_quantile(0.01) + 2.326_347_874_040_841).abs() < 1e-12);
    assert!(normal_quantile(0.5).abs() < 1e-12);
}

/// `n` values around `centre`, evenly spread over ±`spread`, mean exactly
/// `centre`, in an order that interleaves low and high.
fn around(centre: f64, spread: f64, n: usize, stride: usize) -> Vec<f64> {
    let half = (n - 1) as f64 / 2.0;
    (0..n)
        .map(|i| centre + ((i * stride) % n) as f64 / half * spread - spread)
        .collect()
}

fn p95() -> MetricJudgeConfig {
    MetricJudgeConfig::new("p95 latency", Unit::Seconds, Direction::Increase)
}

#[test]
fn a_slower_canary_is_high_with_the_numbers_written_out() {
    let baseline = around(0.120, 0.004, 60, 7);
    let canary = around(0.161, 0.005, 60, 11);
    let j = classify(&baseline, &canary, &p95());
    assert_eq!(j.class, MetricClass::High, "{}", j.reason);
    assert_eq!(
        j.reason,
        "p95 latency +34%: baseline 120 ms, canary 161 ms, 60 samples each, significant at 98%"
    );
    assert_eq!((j.n_baseline, j.n_canary), (60, 60));
    assert!(j.p_value.unwrap() < 1e-10);
    assert!((j.ratio.unwrap() - 161.0 / 120.0).abs() < 1e-12);
    let shift = j.shift.unwrap();
    assert!(shift.low > 0.03 && shift.estimate > shift.low && shift.high > shift.estimate);
}

#[test]
fn the_direction_and_the_allowed_increase_decide_what_counts() {
    let baseline = around(0.120, 0.004, 60, 7);
    let canary = around(0.161, 0.005, 60, 11);
    let lower_is_worse = MetricJudgeConfig {
        direction: Direction::Decrease,
        ..p95()
    };
    let j = classify(&baseline, &canary, &lower_is_worse);
    assert_eq!(j.class, MetricClass::Pass);
    assert!(
        j.reason
            .ends_with("significantly higher at 98%, which is no harm for this metric")
    );

    let generous = MetricJudgeConfig {
        allowed_increase: 1.5,
        ..p95()
    };
    let j = classify(&baseline, &canary, &generous);
    assert_eq!(j.class, MetricClass::Pass);
    assert!(
        j.reason.contains("within the allowed increase (×1.5)"),
        "{}",
        j.reason
    );

    let either = MetricJudgeConfig {
        direction: Direction::Either,
        ..p95()
    };
    let j = classify(&canary, &baseline, &either);
    assert_eq!(j.class, MetricClass::Low, "{}", j.reason);
    assert!(
        j.reason
            .starts_with("p95 latency -25%: baseline 161 ms, canary 120 ms")
    );
}

#[test]
fn alike_samples_pass_with_the_p_value() {
    let baseline = around(0.120, 0.004, 60, 7);
    let canary = around(0.120, 0.004, 60, 11);
    let j = classify(&baseline, &canary, &p95());
    assert_eq!(j.class, MetricClass::Pass);
    assert!(
        j.reason.starts_with("p95 latency +0.0%: baseline 120 ms, canary 120 ms, 60 samples each, no significant difference at 98% (p = "),
        "{}",
        j.reason
    );
}

#[test]
fn tiny_samples_are_not_called_significant() {
    // Three against three, wholly apart: the smallest possible p is 0.1.
    let cfg = MetricJudgeConfig {
        min_samples: 1,
        ..p95()
    };
    let j = classify(&[0.1, 0.11, 0.12], &[0.2, 0.21, 0.22], &cfg);
    assert_eq!(j.class, MetricClass::Pass, "{}", j.reason);
    assert_eq!(j.p_value, Some(0.1));
}

#[test]
fn no_data_never_passes() {
    let full = around(0.120, 0.004, 60, 7);
    let nan = vec![f64::NAN; 60];
    for (baseline, canary) in [
        (&full[..], &[][..]),
        (&[][..], &full[..]),
        (&full[..], &nan[..]),
        (&nan[..], &nan[..]),
        (&full[..], &full[..3]),
    ] {
        let j = classify(baseline, canary, &p95());
        assert_eq!(j.class, MetricClass::NoData, "{}", j.reason);
        assert_eq!(j.p_value, None);
    }
    let j = classify(&full, &[], &p95());
    assert_eq!(
        j.reason,
        "p95 latency: no data (baseline 60, canary 0 samples)"
    );
    let j = classify(&full, &full[..3], &p95());
    assert_eq!(
        j.reason,
        "p95 latency: too few samples to compare (baseline 60, canary 3; at least 5 needed)"
    );
}

#[test]
fn zero_traffic_never_passes() {
    // A request rate of 0 on both sides is no traffic, not "no change".
    let rate = MetricJudgeConfig {
        all_zero_is_no_data: true,
        ..MetricJudgeConfig::new("request rate", Unit::PerSecond, Direction::Decrease)
    };
    let j = classify(&[0.0; 20], &[0.0; 20], &rate);
    assert_eq!(j.class, MetricClass::NoData);
    assert_eq!(
        j.reason,
        "request rate: no traffic (every sample is 0, 20 samples each)"
    );
    // Without traffic PromQL's error ratio is 0/0 = NaN at every step.
    let errors = MetricJudgeConfig::new("error ratio", Unit::Ratio, Direction::Increase);
    let j = classify(&[f64::NAN; 20], &[f64::NAN; 20], &errors);
    assert_eq!(j.class, MetricClass::NoData);
    let gate =
        Gate::defaults()[0].evaluate("error ratio", Unit::Ratio, Some(f64::NAN), Some(f64::NAN));
    assert_eq!(gate.outcome, GateOutcome::NoData);
}

#[test]
fn a_zero_baseline_skips_the_effect_size() {
    // Kayenta's mean ratio is undefined with a zero mean; the test alone decides.
    let errors = MetricJudgeConfig::new("error ratio", Unit::Ratio, Direction::Increase);
    let canary = around(0.05, 0.01, 30, 7);
    let j = classify(&[0.0; 30], &canary, &errors);
    assert_eq!(j.ratio, None);
    assert_eq!(j.class, MetricClass::High, "{}", j.reason);
    assert_eq!(
        j.reason,
        "error ratio: baseline 0%, canary 5%, 30 samples each, significant at 98%"
    );
}

#[test]
fn infinite_values_are_an_error_not_a_pass() {
    let mut canary = around(0.120, 0.004, 10, 3);
    canary[4] = f64::INFINITY;
    let j = classify(&around(0.120, 0.004, 10, 7), &canary, &p95());
    assert_eq!(j.class, MetricClass::Error);
    assert_eq!(
        j.reason,
        "p95 latency: cannot compare: infinite values among the canary samples"
    );
}

#[test]
fn values_are_shown_in_their_units() {
    assert_eq!(Unit::Seconds.format(0.1204), "120 ms");
    assert_eq!(Unit::Seconds.format(1.25), "1.25 s");
    assert_eq!(Unit::Seconds.format(0.00085), "0.85 ms");
    assert_eq!(Unit::Milliseconds.format(161.0), "161 ms");
    assert_eq!(Unit::Ratio.format(0.005), "0.5%");
    assert_eq!(Unit::Ratio.format(0.0523), "5.23%");
    assert_eq!(Unit::Ratio.format_delta(0.005), "0.5 pp");
    assert_eq!(Unit::PerSecond.format(12.345), "12.3/s");
    assert_eq!(Unit::Plain.format(f64::NAN), "NaN");
}

#[test]
fn gates_compare_current_values() {
    let [error_gate, p95_gate] = <[Gate; 2]>::try_from(Gate::defaults()).unwrap();
    let r = error_gate.evaluate("error ratio", Unit::Ratio, Some(0.005), Some(0.052));
    assert_eq!(r.outcome, GateOutcome::Fail);
    assert_eq!(
        r.reason,
        "error ratio 5.2% is above baseline 0.5% + 0.5 pp = 1%"
    );
    let r = error_gate.evaluate("error ratio", Unit::Ratio, Some(0.005), Some(0.009));
    assert_eq!(r.outcome, GateOutcome::Pass);
    assert_eq!(
        r.reason,
        "error ratio 0.9% is within baseline 0.5% + 0.5 pp = 1%"
    );

    let r = p95_gate.evaluate("p95 latency", Unit::Seconds, Some(0.120), Some(0.161));
    assert_eq!(r.outcome, GateOutcome::Fail);
    assert_eq!(
        r.reason,
        "p95 latency 161 ms is above baseline 120 ms × 1.2 = 144 ms"
    );
    let r = p95_gate.evaluate("p95 latency", Unit::Seconds, Some(0.120), Some(0.140));
    assert_eq!(r.outcome, GateOutcome::Pass);

    assert_eq!(
        serde_json::to_value(&p95_gate).unwrap(),
        serde_json::json!({"kind": "relativeRatio", "metric": "p95_latency", "maxRatio": 1.2})
    );

    let p99 = Gate::AbsoluteMax {
        metric: "p99_latency".into(),
        max: 0.5,
    };
    assert_eq!(p99.metric(), "p99_latency");
    let r = p99.evaluate("p99 latency", Unit::Seconds, None, Some(0.7));
    assert_eq!(r.outcome, GateOutcome::Fail);
    assert_eq!(r.reason, "p99 latency 700 ms is above 500 ms");
    assert_eq!(
        p99.evaluate("p99 latency", Unit::Seconds, None, Some(0.4))
            .outcome,
        GateOutcome::Pass
    );
}

#[test]
fn gates_without_values_have_no_data() {
    for gate in Gate::defaults() {
        for (baseline, canary) in [
            (Some(0.1), None),
            (None, Some(0.1)),
            (Some(0.1), Some(f64::NAN)),
            (Some(f64::NAN), Some(0.1)),
        ] {
            let r = gate.evaluate("m", Unit::Plain, baseline, canary);
            assert_eq!(
                r.outcome,
                GateOutcome::NoData,
                "{gate:?} {baseline:?} {canary:?}"
            );
        }
    }
    let r = Gate::defaults()[1].evaluate("p95 latency", Unit::Seconds, None, Some(0.1));
    assert_eq!(r.reason, "p95 latency: no baseline value to compare with");
}

fn judged(label: &str, class: MetricClass, critical: bool) -> MetricJudgement {
    MetricJudgement::without_samples(label, critical, class, format!("{label} reason"))
}

fn gate(outcome: GateOutcome) -> GateResult {
    GateResult {
        gate: Gate::defaults()[0].clone(),
        outcome,
        reason: "error ratio gate".into(),
    }
}

fn five(classes: [MetricClass; 5]) -> Vec<MetricJudgement> {
    classes
        .iter()
        .enumerate()
        .map(|(i, &c)| judged(&format!("m{i}"), c, false))
        .collect()
}

use MetricClass::{Error as E, High as H, Low as L, NoData as N, Pass as P};

#[test]
fn the_score_decides_pass_marginal_and_fail() {
    let t = ScoreThresholds::default();
    let v = verdict(&five([P, P, P, P, P]), &[gate(GateOutcome::Pass)], &t);
    assert_eq!((v.verdict, v.score), (Verdict::Pass, Some(100.0)));
    assert_eq!(
        v.reasons,
        ["score 100: 5 of 5 metrics pass; 1 of 1 gates pass"]
    );

    let v = verdict(&five([P, P, P, P, H]), &[], &t);
    assert_eq!((v.verdict, v.score), (Verdict::Marginal, Some(80.0)));
    assert_eq!(
        v.reasons,
        ["score 80: 4 of 5 metrics pass", "High: m4 reason"]
    );

    let v = verdict(&five([P, P, P, L, H]), &[], &t);
    assert_eq!((v.verdict, v.score), (Verdict::Fail, Some(60.0)));

    // Kayenta leaves NoData and Error out of the score.
    let v = verdict(&five([P, P, P, N, E]), &[], &t);
    assert_eq!((v.verdict, v.score), (Verdict::Pass, Some(100.0)));
    assert_eq!(
        v.reasons,
        [
            "score 100: 3 of 5 metrics pass, 2 without data",
            "NoData: m3 reason",
            "Error: m4 reason"
        ]
    );
}

#[test]
fn a_failed_gate_or_critical_metric_fails_the_release() {
    let t = ScoreThresholds::default();
    let v = verdict(&five([P, P, P, P, P]), &[gate(GateOutcome::Fail)], &t);
    assert_eq!(v.verdict, Verdict::Fail);
    assert_eq!(v.reasons[1], "gate failed: error ratio gate");

    let mut metrics = five([P, P, P, P, P]);
    metrics.extend((0..20).map(|i| judged(&format!("p{i}"), P, false)));
    metrics.push(judged("p95 latency", H, true));
    let v = verdict(&metrics, &[], &t);
    assert_eq!(v.verdict, Verdict::Fail);
    assert_eq!(v.reasons[1], "critical High: p95 latency reason");

    // Measured failures outrank missing data.
    let v = verdict(&five([N, N, N, N, H]), &[gate(GateOutcome::Fail)], &t);
    assert_eq!(v.verdict, Verdict::Fail);

    let mut metrics = five([P, P, P, P, P]);
    metrics.push(judged("error ratio", N, true));
    let v = verdict(&metrics, &[], &t);
    assert_eq!(v.verdict, Verdict::Fail);
    assert_eq!(v.reasons[1], "critical NoData: error ratio reason");
}

#[test]
fn missing_data_is_never_a_pass() {
    let t = ScoreThresholds::default();
    let v = verdict(&[], &[], &t);
    assert_eq!(v.verdict, Verdict::NoData);

    let v = verdict(&five([N, N, N, N, N]), &[gate(GateOutcome::NoData)], &t);
    assert_eq!((v.verdict, v.score), (Verdict::NoData, None));
    assert_eq!(
        v.reasons[0],
        "no score: none of 5 metrics classified, 5 without data; 0 of 1 gates pass"
    );

    let v = verdict(&five([P, P, N, E, N]), &[], &t);
    assert_eq!(v.verdict, Verdict::NoData);

    // Half is enough, as Kayenta's NODATA_THRESHOLD of 50%.
    let v = verdict(&five([P, P, N, N, P])[1..], &[], &t);
    assert_eq!(v.verdict, Verdict::NoData);

    let v = verdict(&five([P, P, P, P, P]), &[gate(GateOutcome::NoData)], &t);
    assert_eq!(v.verdict, Verdict::NoData);
    assert_eq!(v.reasons[1], "gate without data: error ratio gate");
}
