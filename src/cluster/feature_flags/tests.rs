use crate::model::Kind;
use crate::model::flag::{FlagLink, FlagSource, FlagState, Share};
use crate::test_support::fixture::{FEATURE_FLAGS, Fixture, SHOP, at};
use serde_json::json;

fn shop_with_flags() -> Fixture {
    let mut fixture = Fixture::load(&[SHOP, FEATURE_FLAGS]);
    fixture.merge(
        "Rollout",
        "payments",
        json!({"spec": {"template": {"metadata": {"annotations": {
            "cutover.dev/flags": "display-name-writes, missing-flag"
        }}}}}),
    );
    fixture
}

#[test]
fn a_labelled_resource_gives_the_release_all_its_flags() {
    let checkout = shop_with_flags().release(Kind::Rollout, "checkout");
    let [flag] = checkout.flags.as_slice() else {
        panic!("one flag: {:?}", checkout.flags);
    };
    assert_eq!(flag.key, "new-checkout-flow");
    assert_eq!(
        flag.source,
        FlagSource::FeatureFlag {
            namespace: "shop".into(),
            name: "checkout-flags".into()
        }
    );
    assert_eq!(flag.link, FlagLink::Label);
    assert_eq!(flag.state, FlagState::Enabled);
    assert_eq!(flag.default_variant.as_deref(), Some("off"));
    assert_eq!(
        flag.variants,
        [("off".into(), "false".into()), ("on".into(), "true".into())]
    );
    assert_eq!(
        flag.rollout,
        Some(vec![
            Share {
                variant: "on".into(),
                percent: 20.0
            },
            Share {
                variant: "off".into(),
                percent: 80.0
            },
        ])
    );
    assert!(!flag.rules, "a plain fractional split");
    assert!(flag.partially_rolled_out());
    assert_eq!(
        flag.changed_at,
        Some(at("2025-03-02T09:40:00Z")),
        "the newest entry"
    );
    assert_eq!(flag.resource_version, "48300");
}

#[test]
fn an_annotation_names_flags_by_key_and_unknown_keys_are_left_out() {
    let payments = shop_with_flags().release(Kind::Rollout, "payments");
    let keys: Vec<(&str, FlagLink)> = payments
        .flags
        .iter()
        .map(|f| (f.key.as_str(), f.link))
        .collect();
    assert_eq!(keys, [("display-name-writes", FlagLink::Annotation)]);
    let flag = &payments.flags[0];
    assert!(flag.rules, "targeting on attributes");
    assert_eq!(flag.rollout, None);
    assert!(!flag.partially_rolled_out());
}

#[test]
fn a_canary_is_linked_by_the_release_label_and_a_flag_off_stays_off() {
    let search = shop_with_flags().release(Kind::Canary, "search");
    let [flag] = search.flags.as_slice() else {
        panic!("one flag: {:?}", search.flags);
    };
    assert_eq!(flag.key, "ranking-v2");
    assert_eq!(flag.state, FlagState::Disabled);
    assert_eq!(flag.changed_at, None, "no managedFields: no time");
    assert!(flag.kill_moves().is_empty(), "nothing to turn off");
}

#[test]
fn a_flag_linked_both_ways_is_listed_once() {
    let mut fixture = shop_with_flags();
    fixture.merge(
        "Rollout",
        "checkout",
        json!({"metadata": {"annotations": {"cutover.dev/flags": "new-checkout-flow"}}}),
    );
    let checkout = fixture.release(Kind::Rollout, "checkout");
    let links: Vec<FlagLink> = checkout.flags.iter().map(|f| f.link).collect();
    assert_eq!(links, [FlagLink::Annotation]);
}

#[test]
fn releases_without_links_have_no_flags() {
    let releases = shop_with_flags().releases();
    let without: Vec<&str> = releases
        .iter()
        .filter(|r| r.flags.is_empty())
        .map(|r| r.key.name.as_str())
        .collect();
    assert!(without.contains(&"frontend") && without.contains(&"cart"));
}
