use super::*;
use chrono::TimeZone;

fn t(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 5, 4, 0, 0).unwrap() + Duration::minutes(minute)
}

fn completion() -> Completion {
    Completion {
        at: t(0),
        hash: "new".into(),
        previous_hash: "old".into(),
    }
}

fn settings() -> BakeSettings {
    BakeSettings {
        duration: Duration::minutes(30),
        hold_for: Duration::minutes(5),
        slos: default_slos(),
    }
}

/// Figures with error ratios one per minute from the completion on, and
/// p95 latencies steady at 130 ms against a previous 140 ms.
fn figures(errors: &[f64], at: i64) -> BakeFigures {
    let samples = |values: Vec<f64>| {
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| (t(i as i64), v))
            .collect()
    };
    BakeFigures {
        source: "test".into(),
        measured_at: t(at),
        completion: completion(),
        slos: vec![
            SloFigures {
                metric: ERROR_RATIO.into(),
                label: "error ratio".into(),
                unit: Unit::Ratio,
                before: Some(0.003),
                samples: samples(errors.to_vec()),
            },
            SloFigures {
                metric: P95_LATENCY.into(),
                label: "p95 latency".into(),
                unit: Unit::Milliseconds,
                before: Some(140.0),
                samples: samples(vec![130.0; errors.len()]),
            },
        ],
        errors: Vec::new(),
    }
}

fn judged(errors: &[f64], at: i64) -> Bake {
    judged_on(&figures(errors, at), at)
}

/// The bake at minute `at` on figures `f`.
fn judged_on(f: &BakeFigures, at: i64) -> Bake {
    judge(
        &completion(),
        Duration::minutes(30),
        &settings(),
        Some(f),
        t(at),
    )
    .unwrap()
}

#[test]
fn a_good_release_bakes_then_is_baked() {
    let bake = judged(&[0.002; 13], 12);
    assert_eq!(bake.state, BakeState::Baking);
    assert_eq!(bake.verdict_text(), "baking 12m/30m ✔");
    let p95 = &bake.slos[1];
    assert_eq!((p95.before, p95.after), (Some(140.0), Some(130.0)));
    assert_eq!(p95.limit.map(|l| l.round()), Some(168.0));
    assert_eq!(p95.limit_text, "previous 140 ms × 1.2 = 168 ms");
    let done = judged(&[0.002; 31], 31);
    assert_eq!(done.state, BakeState::Baked);
    assert_eq!(done.verdict_text(), "baked ✔");
    assert_eq!(
        done.elapsed_seconds,
        30 * 60,
        "the elapsed time stops at the end"
    );
}

#[test]
fn a_violation_counts_once_it_has_lasted_for() {
    let mut errors = vec![0.002; 10];
    errors.extend([0.03; 4]);
    let short = judged(&errors, 13);
    assert_eq!(short.state, BakeState::Baking, "4 minutes is below `for`");
    assert_eq!(short.verdict_text(), "baking 13m/30m ⚠");
    errors.extend([0.03; 3]);
    let bake = judged(&errors, 16);
    let BakeState::Breached(b) = &bake.state else {
        panic!("{bake:#?}");
    };
    assert_eq!(
        (b.since, b.lasted_seconds, b.ongoing),
        (t(10), 6 * 60, true)
    );
    assert_eq!((b.value, b.limit), (0.03, 0.01));
    assert_eq!(bake.verdict_text(), "SLO breached");
    assert_eq!(
        b.describe(),
        "error ratio 3% above its limit 1% since 04:10:00 (6m)"
    );
}

#[test]
fn a_breach_that_ended_is_cleared_and_never_baked() {
    let mut errors = vec![0.002; 5];
    errors.extend([0.05; 6]);
    errors.extend([0.002; 21]);
    let bake = judged(&errors, 31);
    let BakeState::Cleared(b) = &bake.state else {
        panic!("{bake:#?}");
    };
    assert_eq!((b.since, b.lasted_seconds, b.value), (t(5), 5 * 60, 0.05));
}

#[test]
fn no_data_is_never_good() {
    let none = judge(
        &completion(),
        Duration::minutes(30),
        &settings(),
        None,
        t(3),
    )
    .unwrap();
    assert_eq!(none.state, BakeState::Unknown("not measured yet".into()));
    let mut f = figures(&[], 40);
    for s in &mut f.slos {
        s.before = None;
    }
    let old = judged_on(&f, 40);
    let BakeState::Unknown(why) = &old.state else {
        panic!("{old:#?}");
    };
    assert!(why.contains("older than Prometheus keeps"), "{why}");
    let mut f = figures(&[0.002; 5], 4);
    f.slos[1].before = None;
    let no_baseline = judged_on(&f, 4);
    let BakeState::Unknown(why) = &no_baseline.state else {
        panic!("{no_baseline:#?}");
    };
    assert!(why.contains("previous version"), "{why}");
}

#[test]
fn figures_of_another_completion_do_not_count() {
    let mut f = figures(&[0.002; 5], 4);
    f.completion.hash = "older".into();
    let bake = judged_on(&f, 4);
    assert_eq!(bake.state, BakeState::Unknown("not measured yet".into()));
}

#[test]
fn zero_turns_it_off_and_the_annotation_overrides_the_duration() {
    assert!(judge(&completion(), Duration::zero(), &settings(), None, t(1)).is_none());
    let mut annotations = std::collections::BTreeMap::new();
    assert_eq!(
        settings().duration_for(&annotations),
        Ok(Duration::minutes(30))
    );
    annotations.insert(BAKE_ANNOTATION.to_string(), "45m".to_string());
    assert_eq!(
        settings().duration_for(&annotations),
        Ok(Duration::minutes(45))
    );
    annotations.insert(BAKE_ANNOTATION.to_string(), "0s".to_string());
    assert_eq!(settings().duration_for(&annotations), Ok(Duration::zero()));
    annotations.insert(BAKE_ANNOTATION.to_string(), "soon".to_string());
    assert!(
        settings()
            .duration_for(&annotations)
            .unwrap_err()
            .contains("cutover.dev/bake")
    );
}

#[test]
fn a_bake_that_ended_a_day_ago_is_history_and_not_judged() {
    let f = figures(&[0.002; 30], 31);
    let day_after_end = 30 + BAKE_KEPT_AFTER_END.num_minutes();
    let kept = judge(
        &completion(),
        Duration::minutes(30),
        &settings(),
        Some(&f),
        t(day_after_end - 1),
    );
    assert_eq!(kept.map(|b| b.state), Some(BakeState::Baked));
    let history = judge(
        &completion(),
        Duration::minutes(30),
        &settings(),
        Some(&f),
        t(day_after_end),
    );
    assert_eq!(history, None);
}
