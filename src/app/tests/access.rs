//! Permission pre-checks in the update step: answers kept while asked
//! again, and a press made before any answer.

use super::{checkout, confirm, connected, last_result, objects, press, room, t};
use crate::app::keymap::Keymap;
use crate::app::state::{ACCESS_TTL_SECONDS, Overlay, State};
use crate::app::update::{Effect, Msg, update};
use crate::cluster::rbac::AccessKey;
use crate::model::Action;

fn reviews(effects: &[Effect]) -> Vec<AccessKey> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::CheckAccess(k) => Some(k.clone()),
            _ => None,
        })
        .collect()
}

fn sent(effects: &[Effect]) -> bool {
    effects
        .iter()
        .any(|e| matches!(e, Effect::Act(_) | Effect::AuditRefusal { .. }))
}

fn answer(state: &mut State, key: AccessKey, allowed: bool, at: i64) -> Vec<Effect> {
    let reason = if allowed { "" } else { "no RBAC rule" };
    let msg = Msg::Access {
        key,
        result: Ok((allowed, reason.into())),
        at: t(at),
    };
    update(state, msg).effects
}

/// checkout listed, its reviews sent and not answered yet.
fn unanswered() -> (State, Vec<AccessKey>) {
    let mut state = State::new(t(0), false, Keymap::default());
    connected(&mut state);
    let out = update(&mut state, objects(checkout(false, false), t(1)));
    let keys = reviews(&out.effects);
    assert_eq!(keys.len(), 2, "{:?}", out.effects);
    assert!(keys.iter().all(|k| k.name == "checkout"), "{keys:?}");
    (state, keys)
}

fn status_key(keys: &[AccessKey]) -> AccessKey {
    keys.iter()
        .find(|k| k.subresource == Some("status"))
        .cloned()
        .expect("a review of rollouts/status")
}

#[test]
fn an_expired_answer_is_still_used_while_it_is_asked_again() {
    let mut state = room(false);
    let expired = 1 + ACCESS_TTL_SECONDS + 1;
    update(&mut state, Msg::Tick(t(expired)));
    let effects = press(&mut state, 'P');
    assert!(
        matches!(state.overlay, Some(Overlay::Confirm(_))),
        "the expired allowed opens at once: {}",
        last_result(&state)
    );
    let again = reviews(&effects);
    assert_eq!(again.len(), 2, "both asked again: {effects:?}");
    press(&mut state, 'n');
    assert!(
        reviews(&press(&mut state, 'P')).is_empty(),
        "not asked twice while the answer is on its way"
    );
    press(&mut state, 'n');

    // The fresh answer denies: from now on the press is refused.
    answer(&mut state, status_key(&again), false, expired);
    let effects = press(&mut state, 'P');
    assert!(state.overlay.is_none());
    assert!(!sent(&effects));
    assert!(
        last_result(&state).contains("forbidden: ana may not patch rollouts/status"),
        "{}",
        last_result(&state)
    );
}

#[test]
fn a_press_before_any_answer_opens_its_confirmation_when_allowed_arrives() {
    let (mut state, keys) = unanswered();
    let effects = press(&mut state, 'P');
    assert!(state.overlay.is_none());
    assert!(!sent(&effects));
    assert_eq!(
        last_result(&state),
        "promote checkout: checking permission…"
    );
    assert!(reviews(&effects).is_empty(), "already asked");

    // Promote from a manual pause patches the status only: the answer
    // about the main resource is not enough.
    let main = keys.iter().find(|k| k.subresource.is_none()).cloned();
    answer(&mut state, main.expect("main"), true, 2);
    assert!(state.overlay.is_none(), "still waiting for rollouts/status");

    let effects = answer(&mut state, status_key(&keys), true, 2);
    assert!(!sent(&effects), "a confirmation first, as a press would");
    assert_eq!(confirm(&state).plan.action, Action::Promote);
    let effects = press(&mut state, 'y');
    assert!(
        matches!(effects.as_slice(), [Effect::Act(r)] if r.plan.action == Action::Promote),
        "{effects:?}"
    );
}

#[test]
fn a_press_before_any_answer_is_refused_with_the_reason_when_denied_arrives() {
    let (mut state, keys) = unanswered();
    let mut effects = press(&mut state, 'P');
    effects.extend(answer(&mut state, status_key(&keys), false, 2));
    assert!(state.overlay.is_none());
    assert_eq!(
        last_result(&state),
        "promote checkout: forbidden: ana may not patch rollouts/status \"checkout\" in shop: no RBAC rule"
    );
    effects.extend(press(&mut state, 'y'));
    assert!(!sent(&effects), "nothing sent: {effects:?}");
}

#[test]
fn a_denial_that_arrives_while_deciding_refuses_the_action() {
    let mut state = room(false);
    let expired = 1 + ACCESS_TTL_SECONDS;
    update(&mut state, Msg::Tick(t(expired)));
    let again = reviews(&press(&mut state, 'P'));
    assert!(matches!(state.overlay, Some(Overlay::Confirm(_))));
    answer(&mut state, status_key(&again), false, expired);
    let effects = press(&mut state, 'y');
    assert!(
        matches!(effects.as_slice(), [Effect::AuditRefusal { .. }]),
        "refused and audited, not sent: {effects:?}"
    );
    assert!(
        last_result(&state).contains("refused: forbidden"),
        "{}",
        last_result(&state)
    );
}
