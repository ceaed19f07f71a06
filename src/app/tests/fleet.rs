//! A fleet in one room: each context's news lands in that context alone,
//! and what is done to a release goes to the cluster it was read from.

use super::{checkout, confirm, press, press_code, t, type_text};
use crate::app::keymap::Keymap;
use crate::app::member::Member;
use crate::app::state::{ConnectionState, Overlay, Scope, State};
use crate::app::update::{Effect, Msg, update};
use crate::cluster::kinds::WatchedKind;
use crate::cluster::watch::SourceUpdate;
use crate::model::Action;
use crate::test_support::fixture::{EVERY_STRATEGY, Fixture};
use crossterm::event::KeyCode;
use std::sync::Arc;

/// `eu` (epoch 0) and `us` (epoch 1), both connected as `ana`, both
/// listing the same checkout, every review allowed.
fn fleet() -> State {
    fleet_of(["eu", "us"])
}

/// A fleet of two contexts, `prod-<alias>`, in the order given.
fn fleet_of([first, second]: [&str; 2]) -> State {
    let mut state = State::new(t(0), false, Keymap::default());
    state.home = Member::new(first, 0, t(0));
    state.more.push(Member::new(second, 1, t(0)));
    state.epoch = 1;
    for (epoch, alias) in [(0, first), (1, second)] {
        let scope = Scope {
            context: format!("prod-{alias}"),
            namespace: Some("shop".into()),
            user: Some("ana".into()),
            ..Scope::default()
        };
        update(
            &mut state,
            Msg::Connected {
                epoch,
                scope,
                at: t(0),
            },
        );
        let out = update(&mut state, rollouts(epoch));
        allow(&mut state, out.effects);
    }
    state
}

fn rollouts(epoch: u64) -> Msg {
    Msg::Source {
        epoch,
        updates: vec![SourceUpdate::Objects {
            source: "rollouts".into(),
            kind: WatchedKind::Rollout,
            objects: vec![Arc::new(checkout(false, false))],
            at: t(1),
        }],
    }
}

fn allow(state: &mut State, effects: Vec<Effect>) {
    for effect in effects {
        if let Effect::CheckAccess(key) = effect {
            let result = Ok((true, String::new()));
            update(
                state,
                Msg::Access {
                    key,
                    result,
                    at: t(1),
                },
            );
        }
    }
}

#[test]
fn the_same_release_in_two_clusters_is_listed_twice() {
    let state = fleet();
    let clusters: Vec<&str> = state
        .visible()
        .iter()
        .map(|r| r.key.cluster.as_str())
        .collect();
    assert_eq!(clusters, ["eu", "us"]);
    assert!(state.is_fleet());
}

#[test]
fn one_cluster_failing_leaves_the_other_connected_and_listed() {
    let mut state = fleet();
    let error = "connection refused".to_string();
    update(
        &mut state,
        Msg::ConnectFailed {
            epoch: 0,
            error,
            at: t(5),
        },
    );
    assert!(matches!(
        state.home.connection,
        ConnectionState::Failed { .. }
    ));
    assert_eq!(state.more[0].connection, ConnectionState::Connected);
    assert_eq!(state.visible().len(), 2, "eu's releases stay on screen");
    // A message of no current connection changes nothing.
    update(
        &mut state,
        Msg::ConnectFailed {
            epoch: 7,
            error: "x".into(),
            at: t(6),
        },
    );
    assert_eq!(state.more[0].connection, ConnectionState::Connected);
}

#[test]
fn an_action_goes_to_the_cluster_its_release_was_read_from() {
    let mut state = fleet();
    let us = state.visible()[1].key.clone();
    state.selected = Some(us.clone());
    state.selection_chosen = true;
    let effects = press(&mut state, 'p');
    allow(&mut state, effects);
    assert!(
        matches!(&state.overlay, Some(Overlay::Confirm(c)) if c.key == us),
        "{:?}",
        state.overlay
    );
    let effects = press(&mut state, 'y');
    let [Effect::Act(request)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(request.plan.action, Action::Pause);
    assert_eq!(request.key, us);
    assert_eq!(request.context, "prod-us");
    let asked: Vec<&str> = state.access.keys().map(|k| k.cluster.as_str()).collect();
    assert!(
        asked.contains(&"us"),
        "each cluster is asked of its own: {asked:?}"
    );
}

#[test]
fn a_fleet_sorts_by_cluster_and_one_context_never_does() {
    use crate::app::state::SortKey;
    let mut sort = SortKey::Kind;
    sort = sort.next(true);
    assert_eq!(sort, SortKey::Cluster);
    assert_eq!(sort.next(true), SortKey::Attention);
    assert_eq!(SortKey::Kind.next(false), SortKey::Attention);
    let mut state = fleet_of(["us", "eu"]);
    let clusters = |state: &State| -> Vec<String> {
        state
            .visible()
            .iter()
            .map(|r| r.key.cluster.clone())
            .collect()
    };
    state.sort = SortKey::Name;
    assert_eq!(clusters(&state), ["eu", "us"]);
    // By cluster: in the order the contexts were chosen.
    state.sort = SortKey::Cluster;
    assert_eq!(clusters(&state), ["us", "eu"]);
}

#[test]
fn a_viewer_cluster_is_refused_while_an_admin_cluster_beside_it_may_act() {
    use crate::app::access::{access_keys, unavailable};
    let mut state = fleet();
    let [eu, us] = [0, 1].map(|i| state.visible()[i].key.clone());
    for key in access_keys(&us) {
        let result = Ok((false, "viewers may not patch".to_string()));
        update(
            &mut state,
            Msg::Access {
                key,
                result,
                at: t(2),
            },
        );
    }
    let release = |key| state.release(key).expect("listed").clone();
    assert_eq!(unavailable(&state, &release(&eu), Action::Pause), None);
    let refused = unavailable(&state, &release(&us), Action::Pause).expect("refused");
    assert!(
        refused.starts_with("forbidden: ana may not patch"),
        "{refused}"
    );
}

#[test]
fn a_fleet_lists_each_release_once_per_cluster_and_filters_by_cluster() {
    let base = Fixture::load(&EVERY_STRATEGY).releases();
    let mut state = State::new(base[0].created.unwrap(), true, Keymap::default());
    for cluster in ["us-east", "eu-west"] {
        for r in &base {
            let mut r = r.clone();
            r.key.cluster = cluster.into();
            state.releases.push(Arc::new(r));
        }
    }
    state.sort = crate::app::state::SortKey::Name;
    let rows: Vec<(&str, &str)> = state
        .visible()
        .iter()
        .map(|r| (r.key.name.as_str(), r.key.cluster.as_str()))
        .collect();
    assert_eq!(rows.len(), 2 * base.len());
    for pair in rows.chunks(2) {
        assert_eq!(pair[0].0, pair[1].0, "one release's rows side by side");
        assert_eq!((pair[0].1, pair[1].1), ("eu-west", "us-east"));
    }
    let first = state.visible()[0].key.clone();
    assert_eq!(state.release(&first).map(|r| &r.key), Some(&first));
    state.filter = "US-EAST".into();
    let shown = state.visible();
    assert_eq!(shown.len(), base.len());
    assert!(shown.iter().all(|r| r.key.cluster == "us-east"));
}

/// Opens the pause of checkout in `cluster`, its reviews answered.
fn open_pause(state: &mut State, cluster: &str) {
    let key = state
        .visible()
        .into_iter()
        .find(|r| r.key.cluster == cluster)
        .expect("checkout listed")
        .key
        .clone();
    state.selected = Some(key);
    state.selection_chosen = true;
    let effects = press(state, 'p');
    allow(state, effects);
    assert!(
        matches!(state.overlay, Some(Overlay::Confirm(_))),
        "{:?}",
        state.last_result
    );
}

#[test]
fn a_typed_context_sends_an_action_only_after_its_name() {
    let mut state = fleet();
    state.typed_contexts.insert("prod-us".into());
    // eu asks as before: y sends.
    open_pause(&mut state, "eu");
    assert_eq!(confirm(&state).typed_context, None);
    let effects = press(&mut state, 'y');
    assert!(
        matches!(effects.as_slice(), [Effect::Act(_)]),
        "{effects:?}"
    );

    open_pause(&mut state, "us");
    assert_eq!(confirm(&state).typed_context.as_deref(), Some("prod-us"));
    assert_eq!(confirm(&state).expected(), "prod-us");
    assert!(
        press(&mut state, 'y').is_empty(),
        "y is a letter of the name"
    );
    press_code(&mut state, KeyCode::Backspace);
    // The release's name is the same in every cluster: it is not enough.
    type_text(&mut state, "checkout");
    assert!(press_code(&mut state, KeyCode::Enter).is_empty());
    assert!(
        confirm(&state).mismatch,
        "a wrong entry sends nothing, and says so"
    );
    assert!(
        super::last_result(&state).contains("nothing sent: type prod-us"),
        "{:?}",
        state.last_result
    );
    for _ in 0.."checkout".len() {
        press_code(&mut state, KeyCode::Backspace);
    }
    assert!(!confirm(&state).mismatch);
    type_text(&mut state, "prod-us");
    let effects = press_code(&mut state, KeyCode::Enter);
    let [Effect::Act(request)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(
        (request.key.cluster.as_str(), request.context.as_str()),
        ("us", "prod-us")
    );
    assert!(state.overlay.is_none());
}

#[test]
fn the_wave_opens_the_release_of_the_cluster_under_its_cursor() {
    use crate::app::state::View;
    let mut state = fleet();
    press(&mut state, 'w');
    assert!(state.wave_shown());
    let cursor = state.wave.clone().expect("a cursor");
    assert_eq!(
        (cursor.name.as_str(), cursor.cluster.as_str()),
        ("checkout", "eu")
    );
    press(&mut state, 'l');
    press(&mut state, 'l');
    assert_eq!(
        state.wave.as_ref().map(|c| c.cluster.as_str()),
        Some("us"),
        "kept in range"
    );
    assert_eq!(state.target().map(|r| r.key.cluster.as_str()), Some("us"));
    let effects = press_code(&mut state, KeyCode::Enter);
    let View::Detail(key) = &state.view else {
        panic!("Enter opens the detail: {:?}", state.view)
    };
    assert_eq!(
        (key.name.as_str(), key.cluster.as_str()),
        ("checkout", "us")
    );
    assert!(matches!(
        effects.as_slice(),
        [Effect::WatchEvents(Some(_)), ..]
    ));
    press_code(&mut state, KeyCode::Esc);
    assert!(state.wave_shown(), "back to the wave it was opened from");
    press(&mut state, 'w');
    assert!(!state.wave_shown());
    assert_eq!(
        state.selected.as_ref().map(|k| k.cluster.as_str()),
        Some("us"),
        "the list at the cell's release"
    );
}

#[test]
fn one_context_has_no_wave_view() {
    let mut state = State::new(t(0), false, Keymap::default());
    press(&mut state, 'w');
    assert!(!state.wave_shown());
    assert!(
        state
            .last_result
            .as_ref()
            .is_some_and(|r| r.text.contains("--context a,b")),
        "{:?}",
        state.last_result
    );
}
