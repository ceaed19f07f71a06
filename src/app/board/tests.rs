use super::outcomes::event_outcome;
use super::*;
use crate::app::keymap::Keymap;
use crate::app::update::{Msg, update};
use crate::model::{Attention, EventKind, Kind, TimelineEntry};
use crate::test_support::fixture::{ARGO_CANARY, Fixture};
use chrono::TimeZone;
use std::sync::Arc;

fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap() + TimeDelta::seconds(seconds)
}

/// A release named `name` of `kind`, at `health`, with no Events.
fn release(name: &str, kind: Kind, health: Health) -> Release {
    let mut r = Fixture::load(&[ARGO_CANARY]).release(Kind::Rollout, "checkout");
    r.key.name = name.into();
    r.key.kind = kind;
    r.health = health;
    r.attention.clear();
    r.warnings.clear();
    r.timeline.clear();
    r.aborted = false;
    r
}

fn board(releases: Vec<Release>, cycle: Option<i64>) -> State {
    let mut state = State::new(t(0), true, Keymap::default());
    state.home.connection = ConnectionState::Connected;
    state.releases = releases.into_iter().map(Arc::new).collect();
    let settings = BoardSettings {
        cycle: cycle.map(TimeDelta::seconds),
        ..BoardSettings::default()
    };
    state.board = Some(Board::new(settings, t(0)));
    state
}

fn spotlit(state: &State) -> String {
    let rows = in_flight_releases(state);
    spotlight(state, state.board.as_ref().unwrap(), &rows)
        .map(|r| r.key.name.clone())
        .unwrap_or_default()
}

fn key(state: &mut State, code: KeyCode) {
    let chord = Chord {
        code,
        ctrl: false,
        alt: false,
    };
    let at = state.now;
    update(state, Msg::Key { chord, at });
}

/// Three in flight (one needing attention) and one at rest.
fn flight() -> Vec<Release> {
    let mut urgent = release("zz-urgent", Kind::Rollout, Health::Degraded);
    urgent
        .attention
        .push(Attention::Degraded("pods failing".into()));
    vec![
        release("a-rolling", Kind::Deployment, Health::Progressing),
        release("b-paused", Kind::Rollout, Health::Paused),
        release("c-idle", Kind::Rollout, Health::Healthy),
        urgent,
    ]
}

#[test]
fn the_cycle_visits_attention_first_then_the_rest_in_flight() {
    let mut state = board(flight(), Some(20));
    let rows: Vec<String> = in_flight_releases(&state)
        .iter()
        .map(|r| r.key.name.clone())
        .collect();
    assert_eq!(
        rows,
        ["zz-urgent", "a-rolling", "b-paused"],
        "idle ones only counted"
    );
    let mut seen = vec![spotlit(&state)];
    for period in 1..=3 {
        update(&mut state, Msg::Tick(t(20 * period - 1)));
        assert_eq!(spotlit(&state), seen[seen.len() - 1], "not before its time");
        update(&mut state, Msg::Tick(t(20 * period)));
        seen.push(spotlit(&state));
    }
    assert_eq!(seen, ["zz-urgent", "a-rolling", "b-paused", "zz-urgent"]);
}

#[test]
fn space_pauses_the_cycle_and_the_arrows_move_by_hand() {
    let mut state = board(flight(), Some(20));
    key(&mut state, KeyCode::Char(' '));
    assert!(state.board.as_ref().unwrap().paused);
    update(&mut state, Msg::Tick(t(100)));
    assert_eq!(spotlit(&state), "zz-urgent", "paused: stays");
    assert_eq!(next_move(&state, state.board.as_ref().unwrap()), None);
    key(&mut state, KeyCode::Right);
    assert_eq!(spotlit(&state), "a-rolling");
    key(&mut state, KeyCode::Left);
    key(&mut state, KeyCode::Left);
    assert_eq!(spotlit(&state), "b-paused", "wraps around");
    key(&mut state, KeyCode::Char(' '));
    assert_eq!(
        next_move(&state, state.board.as_ref().unwrap()),
        Some(t(120)),
        "a whole period after it resumed"
    );
    for code in [KeyCode::Char('p'), KeyCode::Char('A'), KeyCode::Enter] {
        key(&mut state, code);
    }
    assert_eq!(spotlit(&state), "b-paused", "other keys do nothing");
    assert!(state.overlay.is_none() && !state.quit);
    key(&mut state, KeyCode::Char('?'));
    assert!(state.overlay.is_some(), "the keys shown");
    key(&mut state, KeyCode::Char('x'));
    assert!(state.overlay.is_none(), "any key closes them");
    key(&mut state, KeyCode::Char('q'));
    assert!(state.quit);
}

#[test]
fn a_lone_release_keeps_the_spotlight_and_no_timer_runs() {
    let mut state = board(
        vec![release("only", Kind::Rollout, Health::Paused)],
        Some(20),
    );
    assert_eq!(next_move(&state, state.board.as_ref().unwrap()), None);
    update(&mut state, Msg::Tick(t(300)));
    assert_eq!(spotlit(&state), "only");
    // A second one comes: it gets its turn a whole period later.
    state.releases.push(Arc::new(release(
        "second",
        Kind::Rollout,
        Health::Progressing,
    )));
    update(&mut state, Msg::Tick(t(301)));
    assert_eq!(spotlit(&state), "only");
    update(&mut state, Msg::Tick(t(320)));
    assert_eq!(spotlit(&state), "second");
    let mut off = board(flight(), None);
    update(&mut off, Msg::Tick(t(1000)));
    assert_eq!(spotlit(&off), "zz-urgent", "--cycle 0: never moves");
}

/// Replace the release named `name` (or add it) and tell the board, as a
/// watch's change would, at `at`.
fn change(state: &mut State, r: Release, at: i64) {
    state.now = t(at);
    state.releases.retain(|old| old.key != r.key);
    let key = r.key.clone();
    state.releases.push(Arc::new(r));
    observe(state, &HashSet::from([key]));
}

#[test]
fn the_spotlight_stays_on_its_release_for_its_period_even_once_it_lands() {
    let mut state = board(
        vec![
            release("a-rolling", Kind::Deployment, Health::Progressing),
            release("b-paused", Kind::Rollout, Health::Paused),
        ],
        Some(20),
    );
    observe_all(&mut state);
    assert_eq!(spotlit(&state), "a-rolling");
    // A busy cluster: another release comes first in the list.
    change(
        &mut state,
        release("0-new", Kind::Deployment, Health::Progressing),
        5,
    );
    assert_eq!(spotlit(&state), "a-rolling", "not swapped by a newcomer");
    // It lands: the room sees how it ended until its period is over.
    change(
        &mut state,
        release("a-rolling", Kind::Deployment, Health::Healthy),
        8,
    );
    assert_eq!(spotlit(&state), "a-rolling");
    update(&mut state, Msg::Tick(t(19)));
    assert_eq!(spotlit(&state), "a-rolling");
    update(&mut state, Msg::Tick(t(20)));
    assert_eq!(spotlit(&state), "0-new", "then the first in flight");
    update(&mut state, Msg::Tick(t(40)));
    assert_eq!(spotlit(&state), "b-paused");
}

#[test]
fn a_release_landing_alone_leaves_the_spotlight_at_its_period_end_and_none_without_a_cycle() {
    let mut state = board(
        vec![release("a-rolling", Kind::Deployment, Health::Progressing)],
        Some(20),
    );
    observe_all(&mut state);
    change(
        &mut state,
        release("a-rolling", Kind::Deployment, Health::Healthy),
        8,
    );
    assert_eq!(spotlit(&state), "a-rolling");
    update(&mut state, Msg::Tick(t(20)));
    assert_eq!(spotlit(&state), "", "nothing in flight: the quiet board");
    let mut off = board(
        vec![
            release("a-rolling", Kind::Deployment, Health::Progressing),
            release("b-paused", Kind::Rollout, Health::Paused),
        ],
        None,
    );
    observe_all(&mut off);
    change(
        &mut off,
        release("a-rolling", Kind::Deployment, Health::Healthy),
        8,
    );
    assert_eq!(
        spotlit(&off),
        "b-paused",
        "--cycle 0: the next in flight at once"
    );
}

fn listed_names(state: &State) -> Vec<String> {
    let board = state.board.as_ref().unwrap();
    let rows = in_flight_releases(state);
    let spot = spotlight(state, board, &rows);
    listed(state, board, spot)
        .into_iter()
        .map(|r| r.map_or("-".into(), |r| r.key.name.clone()))
        .collect()
}

#[test]
fn releases_in_flight_keep_their_rows_and_one_taking_off_takes_a_row_left_free() {
    let mut urgent = release("zz-urgent", Kind::Rollout, Health::Degraded);
    urgent
        .attention
        .push(Attention::Degraded("pods failing".into()));
    let mut state = board(
        vec![
            urgent,
            release("a", Kind::Deployment, Health::Progressing),
            release("b", Kind::Deployment, Health::Progressing),
            release("c", Kind::Deployment, Health::Progressing),
        ],
        Some(20),
    );
    observe_all(&mut state);
    assert_eq!(spotlit(&state), "zz-urgent");
    assert_eq!(listed_names(&state), ["a", "b", "c"]);
    change(
        &mut state,
        release("a", Kind::Deployment, Health::Healthy),
        1,
    );
    assert_eq!(listed_names(&state), ["-", "b", "c"], "b and c stay put");
    change(
        &mut state,
        release("d", Kind::Deployment, Health::Progressing),
        2,
    );
    assert_eq!(
        listed_names(&state),
        ["d", "b", "c"],
        "d takes the row left free"
    );
    change(
        &mut state,
        release("c", Kind::Deployment, Health::Healthy),
        3,
    );
    assert_eq!(listed_names(&state), ["d", "b"], "no free row at the end");
    let mut failing = release("b", Kind::Deployment, Health::Degraded);
    failing.attention.push(Attention::Degraded("crash".into()));
    change(&mut state, failing, 4);
    assert_eq!(listed_names(&state), ["b", "d"], "attention first, always");
}

#[test]
fn the_data_is_stale_after_the_threshold_and_fresh_again_on_recovery() {
    let mut state = board(flight(), None);
    let health = |error: Option<&str>, at| Msg::Source {
        epoch: 0,
        updates: vec![crate::cluster::watch::SourceUpdate::Health {
            source: "rollouts".into(),
            error: error.map(str::to_string),
            at,
        }],
    };
    update(&mut state, health(Some("connection refused"), t(10)));
    let b = state.board.clone().unwrap();
    let since = |state: &State| stale(state, &b).first().map(|s| s.since);
    assert_eq!(since(&state), None, "not yet");
    assert_eq!(stale_at(&state, &b), [t(40)]);
    update(&mut state, Msg::Tick(t(40)));
    assert_eq!(since(&state), Some(t(10)), "stale since the failure");
    update(&mut state, health(None, t(55)));
    assert_eq!(since(&state), None, "cleared");
    state.home.connection = ConnectionState::Failed {
        error: "no route".into(),
        since: t(60),
    };
    update(&mut state, Msg::Tick(t(95)));
    assert_eq!(since(&state), Some(t(60)), "a lost connection too");
}

fn entry(at: i64, reason: &str, message: &str) -> TimelineEntry {
    TimelineEntry {
        at: Some(t(at)),
        kind: EventKind::Normal,
        reason: reason.into(),
        message: message.into(),
        count: 1,
    }
}

fn outcomes(state: &State) -> Vec<(String, OutcomeKind, DateTime<Utc>, Option<i64>)> {
    state
        .board
        .as_ref()
        .unwrap()
        .outcomes
        .entries()
        .map(|o| {
            (
                o.key.name.clone(),
                o.kind,
                o.at,
                o.took.map(|d| d.num_seconds()),
            )
        })
        .collect()
}

fn observe_all(state: &mut State) {
    let keys: HashSet<ReleaseKey> = state.releases.iter().map(|r| r.key.clone()).collect();
    observe(state, &keys);
}

#[test]
fn events_still_in_the_cluster_tell_outcomes_and_how_long_they_took() {
    let mut checkout = release("checkout", Kind::Rollout, Health::Healthy);
    // Newest first, as a timeline is.
    checkout.timeline = vec![
        entry(
            900,
            "RolloutCompleted",
            "Rollout completed update to revision 3",
        ),
        entry(700, "RolloutStepCompleted", "Rollout step 2/2 completed"),
        entry(300, "RolloutUpdated", "Rollout updated to revision 3"),
        entry(
            100,
            "RolloutAborted",
            "Rollout aborted update to revision 2",
        ),
        entry(50, "RolloutUpdated", "Rollout updated to revision 2"),
    ];
    let mut podinfo = release("podinfo", Kind::Canary, Health::Healthy);
    podinfo.timeline = vec![
        entry(
            600,
            "Synced",
            "Promotion completed! Scaling down podinfo.test",
        ),
        entry(
            400,
            "Synced",
            "New revision detected! Scaling up podinfo.test",
        ),
    ];
    let mut state = board(vec![checkout, podinfo], None);
    observe_all(&mut state);
    let found = outcomes(&state);
    assert_eq!(
        found,
        [
            ("checkout".into(), OutcomeKind::Completed, t(900), Some(600)),
            ("podinfo".into(), OutcomeKind::Promoted, t(600), Some(200)),
            ("checkout".into(), OutcomeKind::Aborted, t(100), Some(50)),
        ]
    );
    observe_all(&mut state);
    assert_eq!(outcomes(&state), found, "read once");
}

#[test]
fn transitions_seen_are_outcomes_merged_with_the_events_that_tell_them() {
    let mut state = board(
        vec![release("web", Kind::Deployment, Health::Healthy)],
        None,
    );
    observe_all(&mut state);
    state.now = t(100);
    Arc::make_mut(&mut state.releases[0]).health = Health::Progressing;
    observe_all(&mut state);
    state.now = t(400);
    Arc::make_mut(&mut state.releases[0]).health = Health::Healthy;
    observe_all(&mut state);
    assert_eq!(
        outcomes(&state),
        [("web".into(), OutcomeKind::Completed, t(400), Some(300))]
    );

    // An abort seen, then its Event read: one outcome, with the duration.
    let mut ro = release("checkout", Kind::Rollout, Health::Healthy);
    state.releases = vec![Arc::new(ro.clone())];
    observe_all(&mut state);
    state.now = t(1000);
    ro.health = Health::Progressing;
    state.releases = vec![Arc::new(ro.clone())];
    observe_all(&mut state);
    state.now = t(1300);
    ro.health = Health::Degraded;
    ro.aborted = true;
    state.releases = vec![Arc::new(ro.clone())];
    observe_all(&mut state);
    state.now = t(1310);
    ro.timeline = vec![entry(1295, "RolloutAborted", "Rollout aborted")];
    state.releases = vec![Arc::new(ro)];
    observe_all(&mut state);
    let aborted: Vec<_> = outcomes(&state)
        .into_iter()
        .filter(|o| o.0 == "checkout")
        .collect();
    assert_eq!(
        aborted,
        [("checkout".into(), OutcomeKind::Aborted, t(1300), Some(300))],
        "told once, the abort while it stays aborted too"
    );
}

#[test]
fn outcomes_are_kept_in_time_order_and_bounded() {
    let mut state = board(Vec::new(), None);
    for i in 0..(outcomes::KEPT as i64 + 50) {
        // Every release comes to rest once, in a shuffled order of times.
        let name = format!("r{i}");
        let mut r = release(&name, Kind::Deployment, Health::Progressing);
        state.now = t((i * 7919) % 100_000);
        state.releases = vec![Arc::new(r.clone())];
        observe_all(&mut state);
        r.health = Health::Healthy;
        state.releases = vec![Arc::new(r)];
        observe_all(&mut state);
    }
    let times: Vec<DateTime<Utc>> = outcomes(&state).iter().map(|o| o.2).collect();
    assert_eq!(times.len(), outcomes::KEPT);
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
}

#[test]
fn the_event_reasons_of_each_controller() {
    let e = |reason: &str, message: &str| entry(0, reason, message);
    let cases = [
        (
            Kind::Rollout,
            e("RolloutCompleted", ""),
            Some(OutcomeKind::Completed),
        ),
        (
            Kind::Rollout,
            e("RolloutAborted", ""),
            Some(OutcomeKind::Aborted),
        ),
        (
            Kind::Rollout,
            e("CutoverUndo", "undo"),
            Some(OutcomeKind::RolledBack),
        ),
        (
            Kind::Rollout,
            e("CutoverPromoteFull", ""),
            Some(OutcomeKind::Promoted),
        ),
        (Kind::Rollout, e("CutoverAbortRefused", ""), None),
        (Kind::Rollout, e("RolloutPaused", ""), None),
        (
            Kind::Canary,
            e("Synced", "Canary failed! Scaling down podinfo.test"),
            Some(OutcomeKind::RolledBack),
        ),
        (
            Kind::Canary,
            e("Synced", "Advance podinfo.test canary weight 10"),
            None,
        ),
        (Kind::Deployment, e("ScalingReplicaSet", ""), None),
    ];
    for (kind, entry, expected) in cases {
        assert_eq!(event_outcome(kind, &entry), expected, "{entry:?}");
    }
}

#[test]
fn in_a_fleet_only_the_cluster_that_is_down_turns_stale() {
    let mut state = board(flight(), None);
    state.home = Member::new("eu", 0, t(0));
    state.home.connection = ConnectionState::Connected;
    let mut us = Member::new("us", 1, t(0));
    us.connection = ConnectionState::Connected;
    state.more.push(us);
    state.epoch = 1;
    let failed = Msg::Source {
        epoch: 1,
        updates: vec![crate::cluster::watch::SourceUpdate::Health {
            source: "rollouts".into(),
            error: Some("connection refused".into()),
            at: t(10),
        }],
    };
    update(&mut state, failed);
    let b = state.board.clone().unwrap();
    assert_eq!(stale_at(&state, &b), [t(40)], "eu is live: only us counts");
    update(&mut state, Msg::Tick(t(45)));
    let stale: Vec<(&str, DateTime<Utc>)> = stale(&state, &b)
        .iter()
        .map(|s| (s.member.alias.as_str(), s.since))
        .collect();
    assert_eq!(stale, [("us", t(10))]);
    assert_eq!(stale_cluster(&state, &b, "us"), Some(t(10)));
    assert_eq!(stale_cluster(&state, &b, "eu"), None);
}
