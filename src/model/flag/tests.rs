use super::*;
use serde_json::json;

fn percents(shares: Option<Vec<Share>>) -> Vec<(String, f64)> {
    shares
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s.variant, s.percent))
        .collect()
}

#[test]
fn a_fractional_split_is_read_wherever_the_rule_puts_it() {
    let plain = json!({"fractional": [{"var": "email"}, ["on", 20], ["off", 80]]});
    assert_eq!(
        percents(fractional(&plain)),
        [("on".into(), 20.0), ("off".into(), 80.0)]
    );
    // Weights are relative, and a bucket without one weighs 1.
    let nested = json!({"if": [{"==": [1, 1]}, {"fractional": [["a", 1], ["b", 3]]}, "off"]});
    assert_eq!(
        percents(fractional(&nested)),
        [("a".into(), 25.0), ("b".into(), 75.0)]
    );
    assert_eq!(
        percents(fractional(&json!({"fractional": [["a"], ["b"]]}))),
        [("a".into(), 50.0), ("b".into(), 50.0)]
    );
}

#[test]
fn a_split_that_cannot_be_read_is_none() {
    for targeting in [
        json!({}),
        json!({"in": ["a", ["a"]]}),
        json!({"fractional": [["a", -1], ["b", 2]]}),
        json!({"fractional": [["a", 0], ["b", 0]]}),
        json!({"fractional": [["a", "ten"]]}),
        json!({"fractional": "a"}),
    ] {
        assert_eq!(fractional(&targeting), None, "{targeting}");
    }
}

fn flag(state: FlagState, changed: Option<&str>) -> Flag {
    Flag {
        key: "new-checkout-flow".into(),
        source: FlagSource::FeatureFlag {
            namespace: "shop".into(),
            name: "checkout-flags".into(),
        },
        state,
        default_variant: Some("off".into()),
        variants: vec![("off".into(), "false".into()), ("on".into(), "true".into())],
        rollout: fractional(&json!({"fractional": [["on", 1], ["off", 2]]})),
        rules: false,
        changed_at: changed.map(|t| crate::time::parse_rfc3339(t).unwrap()),
        link: FlagLink::Label,
        definition: json!({}),
        resource_version: "1".into(),
    }
}

#[test]
fn recent_and_partial_are_judged_at_the_time_given() {
    let now = crate::time::parse_rfc3339("2025-03-02T10:00:00Z").unwrap();
    let on = flag(FlagState::Enabled, Some("2025-03-02T09:31:00Z"));
    assert!(on.changed_recently(now));
    assert!(
        !on.changed_recently(now + Duration::minutes(1)),
        "30 minutes on"
    );
    assert!(!flag(FlagState::Enabled, None).changed_recently(now));
    assert!(on.partially_rolled_out());
    assert!(!flag(FlagState::Disabled, None).partially_rolled_out());
    assert_eq!(on.rollout_text().as_deref(), Some("on 33.3% · off 66.7%"));
}

#[test]
fn the_kill_switch_turns_off_or_serves_another_variant() {
    let on = flag(FlagState::Enabled, None);
    assert_eq!(
        on.kill_moves(),
        [FlagMove::Off, FlagMove::DefaultVariant("on".into())]
    );
    assert!(flag(FlagState::Disabled, None).kill_moves().is_empty());
    assert!(flag(FlagState::Unknown, None).kill_moves().is_empty());
}

#[test]
fn an_annotation_names_keys_separated_by_commas() {
    let keys: Vec<&str> = named_in(" a, b ,,c ").collect();
    assert_eq!(keys, ["a", "b", "c"]);
}

fn failing(
    at: &str,
    verdict: crate::model::metrics::Verdict,
) -> crate::model::metrics::ReleaseMetrics {
    let mut m = crate::model::metrics::ReleaseMetrics::not_compared(
        "test",
        600,
        30,
        crate::time::parse_rfc3339(at).unwrap(),
        String::new(),
    );
    m.verdict.verdict = verdict;
    m
}

#[test]
fn a_flag_turned_on_within_a_failing_window_is_the_suspect() {
    use crate::model::Kind;
    use crate::model::metrics::Verdict;
    use crate::test_support::fixture::{FEATURE_FLAGS, Fixture, SHOP};
    let mut checkout = Fixture::load(&[SHOP, FEATURE_FLAGS]).release(Kind::Rollout, "checkout");
    // Opened at 09:40; the window is the ten minutes before the verdict.
    let within = failing("2025-03-02T09:45:00Z", Verdict::Fail);
    assert_eq!(
        suspect(&checkout, &within).map(|f| f.key.as_str()),
        Some("new-checkout-flow")
    );
    let after = failing("2025-03-02T09:50:01Z", Verdict::Fail);
    assert!(
        suspect(&checkout, &after).is_none(),
        "changed before the window"
    );
    for verdict in [Verdict::Pass, Verdict::Marginal, Verdict::NoData] {
        assert!(suspect(&checkout, &failing("2025-03-02T09:45:00Z", verdict)).is_none());
    }
    checkout.flags[0].state = FlagState::Disabled;
    assert!(
        suspect(&checkout, &within).is_none(),
        "an off flag is no suspect"
    );
}
