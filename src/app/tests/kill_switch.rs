//! The kill switch: `K` turns a linked feature flag off (or serves another
//! variant), behind the same confirmation, permission and stale-view
//! guards as every action, and writes the flag, not the release.

use super::*;
use crate::model::action::FlagTarget;
use crate::model::flag::FlagMove;
use crate::test_support::fixture::{ARGO_CANARY, FEATURE_FLAGS, Fixture};

fn room_with_flags() -> State {
    room_on(&[ARGO_CANARY, FEATURE_FLAGS])
}

fn flag_of(state: &State) -> FlagTarget {
    confirm(state)
        .plan
        .flag
        .clone()
        .expect("the kill switch writes a flag")
}

/// The FeatureFlags as the watch delivers them after `edit` of checkout's.
fn flags_edited(edit: serde_json::Value, at: DateTime<Utc>) -> Msg {
    let mut fixture = Fixture::load(&[FEATURE_FLAGS]);
    fixture.merge("FeatureFlag", "checkout-flags", edit);
    let objects = fixture
        .objects()
        .of(WatchedKind::FeatureFlag)
        .cloned()
        .collect();
    Msg::Source {
        epoch: 0,
        updates: vec![SourceUpdate::Objects {
            source: WatchedKind::FeatureFlag.plural().into(),
            kind: WatchedKind::FeatureFlag,
            objects,
            at,
        }],
    }
}

#[test]
fn k_offers_off_or_another_variant_and_sends_a_merge_patch_of_that_flag_alone() {
    let mut state = room_with_flags();
    assert!(press(&mut state, 'K').is_empty(), "asks first");
    let flag = flag_of(&state);
    assert_eq!(
        (flag.feature_flag(), flag.key.as_str()),
        (Some(("shop", "checkout-flags")), "new-checkout-flow")
    );
    assert_eq!(flag.change, FlagMove::Off);
    assert_eq!(
        confirm(&state).plan.requests[0].body,
        json!({"spec": {"flagSpec": {"flags": {"new-checkout-flow": {"state": "DISABLED"}}}}})
    );

    press_code(&mut state, KeyCode::Down);
    assert_eq!(
        flag_of(&state).change,
        FlagMove::DefaultVariant("on".into())
    );
    assert_eq!(
        confirm(&state).plan.requests[0].body,
        json!({"spec": {"flagSpec": {"flags": {"new-checkout-flow": {"defaultVariant": "on"}}}}})
    );
    press_code(&mut state, KeyCode::Down);
    assert_eq!(flag_of(&state).change, FlagMove::Off, "round again");

    let effects = press(&mut state, 'y');
    // The kill switch is also an alert.
    let [Effect::Act(request), Effect::Alert(_)] = effects.as_slice() else {
        panic!("sent: {effects:?}");
    };
    assert_eq!(request.plan.action, Action::KillSwitch(Some(0)));
    assert_eq!(
        request.key.name, "checkout",
        "the Event goes on the release"
    );
    assert_eq!(
        request.plan.flag.as_ref().map(|f| f.change.clone()),
        Some(FlagMove::Off)
    );
}

#[test]
fn a_flag_changed_while_deciding_refuses_the_kill_switch() {
    let mut state = room_with_flags();
    press(&mut state, 'K');
    let changed = json!({"metadata": {"resourceVersion": "48301"}, "spec": {"flagSpec": {"flags": {
        "new-checkout-flow": {"targeting": {"fractional": [["on", 50], ["off", 50]]}}
    }}}});
    update(&mut state, flags_edited(changed, t(2)));
    let effects = press(&mut state, 'y');
    assert!(
        matches!(effects.as_slice(), [Effect::AuditRefusal { .. }]),
        "refused and audited, not sent: {effects:?}"
    );
    let text = last_result(&state);
    assert!(
        text.contains("refused")
            && text.contains("new-checkout-flow")
            && text.contains("48300 → 48301"),
        "{text}"
    );
}

#[test]
fn another_flag_of_the_same_resource_changing_does_not_refuse_it() {
    let mut state = room_with_flags();
    press(&mut state, 'K');
    let other = json!({"metadata": {"resourceVersion": "48302"}, "spec": {"flagSpec": {"flags": {
        "unrelated": {"state": "ENABLED"}
    }}}});
    update(&mut state, flags_edited(other, t(2)));
    assert!(matches!(
        press(&mut state, 'y').as_slice(),
        [Effect::Act(_), Effect::Alert(_)]
    ));
}

#[test]
fn without_permission_on_the_flag_it_is_refused_before_it_opens() {
    let mut state = room_with_flags();
    let denied = crate::app::access::flag_access_keys(state.target().expect("checkout"));
    assert_eq!(denied.len(), 1);
    assert_eq!(
        (denied[0].group, denied[0].resource, denied[0].name.as_str()),
        ("core.openfeature.dev", "featureflags", "checkout-flags")
    );
    for key in denied {
        let result = Ok((false, "RBAC: no rule allows it".to_string()));
        update(
            &mut state,
            Msg::Access {
                key,
                result,
                at: t(2),
            },
        );
    }
    assert!(press(&mut state, 'K').is_empty());
    assert!(state.overlay.is_none());
    let text = last_result(&state);
    assert!(
        text.contains("forbidden") && text.contains("featureflags"),
        "{text}"
    );
}

#[test]
fn read_only_never_opens_the_kill_switch() {
    let mut state = room_with_flags();
    state.read_only = true;
    assert!(press(&mut state, 'K').is_empty());
    assert!(state.overlay.is_none());
    assert!(
        last_result(&state).starts_with("read-only"),
        "{}",
        last_result(&state)
    );
}

#[test]
fn a_release_without_flags_says_how_to_link_one() {
    let mut state = room_on(&[ARGO_CANARY]);
    assert!(press(&mut state, 'K').is_empty());
    let text = last_result(&state);
    assert!(text.contains("cutover.dev/flags"), "{text}");
}
