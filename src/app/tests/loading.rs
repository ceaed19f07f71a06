//! Lists under way: how far each has come, on the header while they stream
//! in, and a list of releases that does not pass for complete before its
//! kinds have all arrived.

use super::{checkout, connected, objects, press, press_code, room, rows, t, type_text};
use crate::app::health::{Loading, Progress};
use crate::app::keymap::Keymap;
use crate::app::state::State;
use crate::app::update::{Msg, update};
use crate::cluster::kinds::WatchedKind;
use crate::cluster::watch::SourceUpdate;
use chrono::{DateTime, Utc};
use crossterm::event::KeyCode;

fn source(epoch: u64, update: SourceUpdate) -> Msg {
    Msg::Source {
        epoch,
        updates: vec![update],
    }
}

fn listing(
    source: &str,
    kind: WatchedKind,
    loaded: usize,
    total: Option<usize>,
    at: DateTime<Utc>,
) -> SourceUpdate {
    SourceUpdate::Listing {
        source: source.into(),
        kind,
        loaded,
        total,
        at,
    }
}

fn listed(source: &str, kind: WatchedKind, at: DateTime<Utc>) -> SourceUpdate {
    SourceUpdate::Objects {
        source: source.into(),
        kind,
        objects: Vec::new(),
        at,
    }
}

/// Feed these updates, one message each; whether the last one redrew.
fn feed(state: &mut State, updates: Vec<SourceUpdate>) -> bool {
    let mut redraw = false;
    for u in updates {
        redraw = update(state, source(state.epoch, u)).redraw;
    }
    redraw
}

/// Connected at t(0), nothing listed yet.
fn fresh() -> State {
    let mut state = State::new(t(0), false, Keymap::default());
    connected(&mut state);
    state
}

/// The connection badge and what follows it on the top row, 160 columns
/// wide.
fn badge(state: &State) -> String {
    let top = rows(state, 160).swap_remove(0);
    let at = top.find(['◌', '●', '✖']).expect("a badge");
    top[at..].trim_end().to_string()
}

/// The list's title row, 120 columns wide.
fn title(state: &State) -> String {
    rows(state, 120).swap_remove(1)
}

fn release_kinds_listed(state: &mut State) {
    for (source, kind) in [
        ("rollouts", WatchedKind::Rollout),
        ("canaries", WatchedKind::Canary),
        ("deployments", WatchedKind::Deployment),
    ] {
        feed(state, vec![listed(source, kind, t(1))]);
    }
}

#[test]
fn each_kind_says_how_far_its_lists_have_come_until_its_objects_arrive() {
    let mut state = fresh();
    release_kinds_listed(&mut state);
    assert_eq!(badge(&state), "● live");
    feed(
        &mut state,
        vec![
            listing("pods/argo", WatchedKind::Pod, 30_000, Some(150_000), t(2)),
            listing("pods/deploy", WatchedKind::Pod, 18_000, Some(50_000), t(2)),
            listing(
                "replicasets/argo",
                WatchedKind::ReplicaSet,
                2_000,
                Some(4_000),
                t(2),
            ),
        ],
    );
    assert_eq!(
        state.home.sources.loading(),
        [
            Loading {
                kind: WatchedKind::ReplicaSet,
                progress: Progress {
                    loaded: 2_000,
                    total: Some(4_000)
                }
            },
            Loading {
                kind: WatchedKind::Pod,
                progress: Progress {
                    loaded: 48_000,
                    total: Some(200_000)
                }
            },
        ],
        "the pods of Argo and of Deployments added up"
    );
    assert_eq!(
        badge(&state),
        "◌ loading replicasets 2,000/4,000 · pods 48,000/200,000"
    );
    feed(
        &mut state,
        vec![listed("pods/argo", WatchedKind::Pod, t(3))],
    );
    assert_eq!(
        badge(&state),
        "◌ loading replicasets 2,000/4,000 · pods 18,000/50,000"
    );
    feed(
        &mut state,
        vec![
            listed("pods/deploy", WatchedKind::Pod, t(4)),
            listed("replicasets/argo", WatchedKind::ReplicaSet, t(4)),
        ],
    );
    assert_eq!(state.home.sources.loading(), []);
    assert_eq!(badge(&state), "● live");
}

#[test]
fn without_a_total_only_the_count_so_far_shows() {
    let mut state = fresh();
    release_kinds_listed(&mut state);
    feed(
        &mut state,
        vec![
            listing("pods/argo", WatchedKind::Pod, 30_000, Some(150_000), t(2)),
            listing("pods/deploy", WatchedKind::Pod, 18_000, None, t(2)),
            listing("jobs", WatchedKind::Job, 0, None, t(2)),
        ],
    );
    assert_eq!(badge(&state), "◌ loading pods 48,000 so far · jobs");
}

#[test]
fn the_events_of_the_release_opened_do_not_flash_on_the_header() {
    let mut state = room(false);
    let redraw = feed(
        &mut state,
        vec![listing("events", WatchedKind::Event, 0, Some(3), t(2))],
    );
    assert!(!redraw, "nothing on screen changed");
    assert_eq!(state.home.sources.loading(), []);
}

#[test]
fn a_count_redraws_only_when_it_changes_what_is_shown() {
    let mut state = fresh();
    let pods = |loaded| listing("pods/argo", WatchedKind::Pod, loaded, Some(9_000), t(2));
    assert!(feed(&mut state, vec![pods(500)]));
    assert!(!feed(&mut state, vec![pods(500)]), "the same count again");
    assert!(feed(&mut state, vec![pods(1_000)]));
}

#[test]
fn a_new_connection_forgets_the_lists_under_way() {
    let mut state = room(false);
    feed(
        &mut state,
        vec![listing(
            "pods/argo",
            WatchedKind::Pod,
            500,
            Some(9_000),
            t(2),
        )],
    );
    press(&mut state, ':');
    type_text(&mut state, "ns payments");
    press_code(&mut state, KeyCode::Enter);
    assert_eq!(state.epoch, 1);
    assert_eq!(state.home.sources.loading(), []);
    update(
        &mut state,
        source(
            0,
            listing("pods/argo", WatchedKind::Pod, 1_000, Some(9_000), t(3)),
        ),
    );
    assert_eq!(state.home.sources.loading(), [], "epoch 0 is gone");
}

#[test]
fn a_list_begun_again_after_an_error_does_not_end_the_outage() {
    let mut state = room(false);
    feed(
        &mut state,
        vec![SourceUpdate::Health {
            source: "rollouts".into(),
            error: Some("503 Service Unavailable".into()),
            at: t(2),
        }],
    );
    feed(
        &mut state,
        vec![listing("rollouts", WatchedKind::Rollout, 0, None, t(3))],
    );
    update(&mut state, Msg::Tick(t(6)));
    assert!(
        badge(&state).starts_with("◌ reconnecting (503 Service Unavailable)"),
        "{}",
        badge(&state)
    );
}

#[test]
fn the_releases_are_not_counted_as_all_until_their_kinds_have_listed() {
    let mut state = fresh();
    assert!(title(&state).contains(" Releases (0 so far, loading) "));
    assert!(rows(&state, 120)[2].contains("Loading releases: none has arrived yet."));
    update(&mut state, objects(checkout(false, false), t(1)));
    assert!(
        title(&state).contains(" Releases (1 so far, loading) "),
        "canaries and deployments are still to come: {}",
        title(&state)
    );
    feed(
        &mut state,
        vec![
            listed("canaries", WatchedKind::Canary, t(2)),
            listing("deployments", WatchedKind::Deployment, 2_000, None, t(2)),
        ],
    );
    assert!(title(&state).contains(" Releases (1 so far, loading) "));
    feed(
        &mut state,
        vec![listed("deployments", WatchedKind::Deployment, t(3))],
    );
    assert!(
        title(&state).contains(" Releases (1) "),
        "{}",
        title(&state)
    );
    feed(
        &mut state,
        vec![listing("rollouts", WatchedKind::Rollout, 0, Some(1), t(4))],
    );
    assert!(
        title(&state).contains(" Releases (1 so far, loading) "),
        "listed again: {}",
        title(&state)
    );
}

#[test]
fn a_kind_not_installed_is_not_waited_for() {
    let mut state = fresh();
    state.home.scope.missing_kinds = vec!["Canary".into()];
    update(&mut state, objects(checkout(false, false), t(1)));
    feed(
        &mut state,
        vec![listed("deployments", WatchedKind::Deployment, t(2))],
    );
    assert!(
        title(&state).contains(" Releases (1) "),
        "{}",
        title(&state)
    );
}

#[test]
fn on_a_narrow_screen_the_header_names_the_first_kind_being_listed() {
    let mut state = fresh();
    feed(
        &mut state,
        vec![
            listing("rollouts", WatchedKind::Rollout, 2_000, Some(10_000), t(2)),
            listing(
                "replicasets/argo",
                WatchedKind::ReplicaSet,
                4_000,
                None,
                t(2),
            ),
            listing("pods/argo", WatchedKind::Pod, 48_000, Some(200_000), t(2)),
        ],
    );
    let top = rows(&state, 80).swap_remove(0);
    assert_eq!(
        top.trim_end(),
        "ctx prod │ ns shop │ ◌ loading rollouts 2,000/10,000 and 2 more"
    );
}
