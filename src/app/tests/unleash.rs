//! Unleash beside the cluster: its flags join the releases that name them,
//! the kill switch offers them with Unleash's request, and while Unleash
//! fails no flag of it is shown off nor offered.

use super::*;
use crate::model::flag::{Flag, FlagLink, FlagState};
use crate::test_support::fixture::{ARGO_CANARY, FEATURE_FLAGS, Fixture};
use crate::unleash::{Token, UnleashFlag, UnleashSource};

fn unleash_flag(enabled: bool) -> Flag {
    let source = UnleashSource {
        url: "http://127.0.0.1:1/".parse().expect("url"),
        project: "default".into(),
        environment: "production".into(),
        token: Token::new("t"),
    };
    UnleashFlag {
        name: "new-checkout-flow".into(),
        enabled: Some(enabled),
        rollout: Some(20.0),
        changed_at: Some(t(0)),
        definition: json!({"enabled": enabled}),
    }
    .to_flag(&source, FlagLink::Annotation)
}

/// The fixture's checkout (its FeatureFlag linked by label), its
/// annotation also naming `new-checkout-flow`: what links an Unleash flag.
fn room_naming_the_flag() -> State {
    let mut state = room_on(&[ARGO_CANARY, FEATURE_FLAGS]);
    let mut fixture = Fixture::load(&[ARGO_CANARY]);
    fixture.merge(
        "Rollout",
        "checkout",
        json!({"metadata": {"annotations": {"cutover.dev/flags": "new-checkout-flow"}}}),
    );
    let objects = fixture
        .objects()
        .of(WatchedKind::Rollout)
        .cloned()
        .collect();
    update(
        &mut state,
        Msg::Source {
            epoch: 0,
            updates: vec![SourceUpdate::Objects {
                source: WatchedKind::Rollout.plural().into(),
                kind: WatchedKind::Rollout,
                objects,
                at: t(1),
            }],
        },
    );
    state
}

fn read(state: &mut State, result: Result<Vec<Flag>, String>, at: DateTime<Utc>) {
    update(
        state,
        Msg::Unleash {
            epoch: 0,
            source: "Unleash default/production".into(),
            result,
            at,
        },
    );
}

fn checkout_flags(state: &State) -> Vec<(String, FlagState)> {
    let checkout = state
        .releases
        .iter()
        .find(|r| r.key.name == "checkout")
        .expect("checkout");
    checkout
        .flags
        .iter()
        .map(|f| (f.source.describe(), f.state))
        .collect()
}

#[test]
fn an_unleash_flag_joins_the_release_that_names_it_and_the_kill_switch_offers_it() {
    let mut state = room_naming_the_flag();
    read(&mut state, Ok(vec![unleash_flag(true)]), t(1));
    assert_eq!(
        checkout_flags(&state),
        [
            (
                "FeatureFlag shop/checkout-flags".to_string(),
                FlagState::Enabled
            ),
            ("Unleash default/production".to_string(), FlagState::Enabled),
        ]
    );
    press(&mut state, 'K');
    // FeatureFlag: off, default variant "on"; then Unleash: off.
    press_code(&mut state, KeyCode::Down);
    press_code(&mut state, KeyCode::Down);
    let plan = &confirm(&state).plan;
    assert!(plan.requests.is_empty(), "no patch to the cluster");
    assert_eq!(
        plan.flag
            .as_ref()
            .and_then(|f| f.unleash_request())
            .as_deref(),
        Some(
            "POST /api/admin/projects/default/features/new-checkout-flow/environments/production/off"
        )
    );
    let effects = press(&mut state, 'y');
    assert!(
        matches!(effects.as_slice(), [Effect::Act(_), Effect::Alert(_)]),
        "sent through the Mutator, and alerted: {effects:?}"
    );
}

#[test]
fn while_unleash_fails_its_flags_are_unknown_never_off_and_not_offered() {
    let mut state = room_naming_the_flag();
    read(&mut state, Ok(vec![unleash_flag(false)]), t(1));
    read(
        &mut state,
        Err("Unleash is unreachable: cannot connect".into()),
        t(2),
    );
    assert_eq!(
        checkout_flags(&state)[1],
        ("Unleash default/production".to_string(), FlagState::Unknown)
    );
    let checkout = state
        .releases
        .iter()
        .find(|r| r.key.name == "checkout")
        .expect("checkout");
    assert!(
        crate::model::flag::kill_options(checkout)
            .iter()
            .all(|(f, _)| f.source.describe().starts_with("FeatureFlag")),
        "only the FeatureFlag is offered"
    );
    read(&mut state, Ok(vec![unleash_flag(false)]), t(3));
    assert_eq!(
        checkout_flags(&state)[1].1,
        FlagState::Disabled,
        "read again"
    );
}
