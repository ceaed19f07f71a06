//! The update step from fixture objects: keys in, state and effects out.

use super::keymap::{Chord, Keymap};
use super::state::{Overlay, Scope, State, View};
use super::update::{Effect, Msg, update};
use crate::cluster::kinds::WatchedKind;
use crate::cluster::watch::SourceUpdate;
use crate::model::Action;
use crate::model::metrics::ReleaseMetrics;
use chrono::{DateTime, TimeZone, Utc};
use crossterm::event::KeyCode;
use kube::api::DynamicObject;
use serde_json::json;
use std::sync::Arc;

fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
}

/// An Argo canary at step 1 of 3 (`pause: {}`), or at a timed pause.
fn checkout(paused: bool, timed: bool) -> DynamicObject {
    let pause = if timed {
        json!({"duration": "30s"})
    } else {
        json!({})
    };
    serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "checkout", "namespace": "shop", "uid": "u1", "generation": 2, "resourceVersion": "7"},
        "spec": {
            "paused": paused,
            "replicas": 2,
            "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": pause}, {"setWeight": 50}]}}
        },
        "status": {
            "observedGeneration": "2",
            "phase": "Paused",
            "message": "CanaryPauseStep",
            "currentStepIndex": 1,
            "currentPodHash": "new",
            "stableRS": "old",
            "controllerPause": true,
            "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-11-23T14:00:00Z"}]
        }
    }))
    .unwrap()
}

fn objects(object: DynamicObject, at: DateTime<Utc>) -> Msg {
    Msg::Source {
        epoch: 0,
        updates: vec![SourceUpdate::Objects {
            source: "rollouts".into(),
            kind: WatchedKind::Rollout,
            objects: vec![Arc::new(object)],
            at,
        }],
    }
}

fn connected(state: &mut State) {
    let scope = Scope {
        context: "prod".into(),
        namespace: Some("shop".into()),
        user: Some("ana".into()),
        ..Scope::default()
    };
    update(
        state,
        Msg::Connected {
            epoch: 0,
            scope,
            at: t(0),
        },
    );
}

/// Connected, with checkout listed and every access review answered `allowed`.
fn room(read_only: bool) -> State {
    let mut state = State::new(t(0), read_only, Keymap::default());
    connected(&mut state);
    let out = update(&mut state, objects(checkout(false, false), t(1)));
    for effect in out.effects {
        if let Effect::CheckAccess(key) = effect {
            update(
                &mut state,
                Msg::Access {
                    key,
                    result: Ok((true, String::new())),
                    at: t(1),
                },
            );
        }
    }
    state
}

/// A key read at the time of the last message.
fn press(state: &mut State, c: char) -> Vec<Effect> {
    press_at(state, Chord::plain(c), state.now)
}

fn press_code(state: &mut State, code: KeyCode) -> Vec<Effect> {
    let chord = Chord {
        code,
        ctrl: false,
        alt: false,
    };
    press_at(state, chord, state.now)
}

fn press_at(state: &mut State, chord: Chord, at: DateTime<Utc>) -> Vec<Effect> {
    update(state, Msg::Key { chord, at }).effects
}

/// When the screen of a 160×48 terminal next changes by itself.
fn next_change(state: &State) -> Option<DateTime<Utc>> {
    crate::ui::clock::next_change(state, ratatui::layout::Rect::new(0, 0, 160, 48))
}

/// The rows of a screen `width` columns wide and 10 high, in the mono
/// theme.
fn rows(state: &State, width: u16) -> Vec<String> {
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, 10)).unwrap();
    let theme = crate::ui::theme::Theme::load("mono").unwrap();
    terminal
        .draw(|frame| crate::ui::draw(frame, state, &theme))
        .unwrap();
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect()
        })
        .collect()
}

fn last_result(state: &State) -> String {
    state
        .last_result
        .as_ref()
        .map(|r| r.text.clone())
        .unwrap_or_default()
}

#[test]
fn read_only_never_opens_an_action() {
    let mut state = room(true);
    for c in ['p', 'P', 'F', 'A', 'R', 'U'] {
        assert!(press(&mut state, c).is_empty());
        assert!(state.overlay.is_none());
        assert!(
            last_result(&state).starts_with("read-only"),
            "{}",
            last_result(&state)
        );
    }
}

#[test]
fn access_is_reviewed_before_an_action_is_offered() {
    let mut state = State::new(t(0), false, Keymap::default());
    connected(&mut state);
    let out = update(&mut state, objects(checkout(false, false), t(1)));
    let reviews: Vec<String> = out
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::CheckAccess(k) => Some(k.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        reviews,
        [
            "patch rollouts \"checkout\" in shop",
            "patch rollouts/status \"checkout\" in shop"
        ]
    );
    press(&mut state, 'P');
    assert!(state.overlay.is_none());
    assert!(
        last_result(&state).contains("checking permission"),
        "{}",
        last_result(&state)
    );
}

#[test]
fn denied_access_says_who_may_not_do_what() {
    let mut state = State::new(t(0), false, Keymap::default());
    connected(&mut state);
    let out = update(&mut state, objects(checkout(false, false), t(1)));
    for effect in out.effects {
        if let Effect::CheckAccess(key) = effect {
            let allowed = key.subresource.is_none();
            update(
                &mut state,
                Msg::Access {
                    key,
                    result: Ok((allowed, "no RBAC rule".into())),
                    at: t(1),
                },
            );
        }
    }
    press(&mut state, 'P');
    assert_eq!(
        last_result(&state),
        "promote checkout: forbidden: ana may not patch rollouts/status \"checkout\" in shop: no RBAC rule"
    );
    press(&mut state, 'p');
    assert!(
        matches!(state.overlay, Some(Overlay::Confirm(_))),
        "pause needs only rollouts"
    );
}

#[test]
fn promote_from_a_manual_pause_clears_the_pause_condition() {
    let mut state = room(false);
    press(&mut state, 'P');
    let Some(Overlay::Confirm(confirm)) = &state.overlay else {
        panic!("no confirmation")
    };
    assert_eq!(confirm.plan.requests.len(), 1);
    assert_eq!(confirm.plan.requests[0].subresource, Some("status"));
    assert_eq!(
        confirm.plan.requests[0].body,
        json!({"status": {"pauseConditions": null}})
    );
    let effects = press(&mut state, 'y');
    let [Effect::Act(request)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(request.plan.action, Action::Promote);
    assert_eq!(
        (request.user.as_str(), request.context.as_str()),
        ("ana", "prod")
    );
    assert_eq!(request.seen_resource_version, "7");
    assert_eq!(last_result(&state), "promote checkout: sending…");
}

#[test]
fn abort_asks_for_the_name() {
    let mut state = room(false);
    press(&mut state, 'A');
    assert!(
        press(&mut state, 'y').is_empty(),
        "y is a letter of the name here"
    );
    press_code(&mut state, KeyCode::Backspace);
    for c in "checkou".chars() {
        press(&mut state, c);
    }
    assert!(
        press_code(&mut state, KeyCode::Enter).is_empty(),
        "a wrong name does nothing"
    );
    press(&mut state, 't');
    let effects = press_code(&mut state, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::Act(r)] if r.plan.action == Action::Abort));
}

#[test]
fn a_change_while_deciding_refuses_the_action() {
    let mut state = room(false);
    press(&mut state, 'P');
    update(&mut state, objects(checkout(true, false), t(2)));
    let effects = press(&mut state, 'y');
    assert!(
        matches!(effects.as_slice(), [Effect::AuditRefusal { .. }]),
        "refused and audited, not sent: {effects:?}"
    );
    assert!(last_result(&state).contains("refused: it changed while you were deciding"));
    assert!(
        last_result(&state).contains("pause changed"),
        "{}",
        last_result(&state)
    );
}

#[test]
fn escape_cancels_and_nothing_is_sent() {
    let mut state = room(false);
    press(&mut state, 'p');
    assert!(press_code(&mut state, KeyCode::Esc).is_empty());
    assert!(state.overlay.is_none());
    assert_eq!(last_result(&state), "pause checkout: cancelled");
}

#[test]
fn messages_of_an_old_connection_are_ignored() {
    let mut state = room(false);
    press(&mut state, ':');
    for c in "ns payments".chars() {
        press(&mut state, c);
    }
    let effects = press_code(&mut state, KeyCode::Enter);
    assert!(
        matches!(effects.as_slice(), [Effect::Reconnect { epoch: 1, .. }]),
        "{effects:?}"
    );
    assert!(state.releases.is_empty());
    update(&mut state, objects(checkout(false, false), t(3)));
    assert!(state.releases.is_empty(), "epoch 0 is gone");
}

#[test]
fn the_clock_ticks_only_for_countdowns_and_stale_data() {
    let mut state = room(false);
    assert_eq!(next_change(&state), None, "a manual pause has no countdown");
    update(&mut state, objects(checkout(false, true), t(2)));
    let release = state.releases[0].clone();
    assert_eq!(
        release.pause.as_ref().and_then(|p| p.remaining(t(12))),
        Some(18)
    );
    assert!(
        next_change(&state).is_some_and(|at| at > t(2) && at <= t(3)),
        "a timed pause counts down: {:?}",
        next_change(&state)
    );
    update(&mut state, objects(checkout(false, false), t(3)));
    assert_eq!(next_change(&state), None);
    update(
        &mut state,
        Msg::Source {
            epoch: 0,
            updates: vec![SourceUpdate::Health {
                source: "rollouts".into(),
                error: Some("connection refused".into()),
                at: t(4),
            }],
        },
    );
    assert_eq!(
        next_change(&state),
        Some(t(7)),
        "a watch failing for 3 s is an outage: the badge changes then"
    );
    update(&mut state, Msg::Tick(t(7)));
    assert_eq!(
        state
            .home
            .sources
            .outage(state.now)
            .and_then(|o| o.data_from),
        Some(t(4))
    );
    assert_eq!(next_change(&state), None, "`data from 14:00:04` stays");
}

#[test]
fn the_clock_ticks_for_the_ages_of_a_database_in_the_detail() {
    use crate::test_support::fixture::ARGO_BLUE_GREEN;
    use crate::test_support::migration_jobs::JOBS;
    let mut state = room_on(&[ARGO_BLUE_GREEN, JOBS]);
    let key = state.releases[0].key.clone();
    state.view = View::Detail(key.clone());
    let days_old = next_change(&state);
    assert!(
        days_old > Some(t(3600)),
        "Jobs alone show no age; pods and the pause are days old"
    );
    state.database_links = vec![crate::model::migration::DatabaseLink {
        namespace: key.namespace.clone(),
        release: None,
        database: "payments".into(),
        migration: None,
    }];
    update(
        &mut state,
        Msg::Database {
            name: "payments".into(),
            result: Err("connection refused".into()),
            at: t(2),
        },
    );
    assert_eq!(next_change(&state), Some(t(3)), "failing for … counts up");
    state.view = View::List;
    assert!(
        next_change(&state) > Some(t(3600)),
        "the list shows no database age, only the releases' in days"
    );
}

fn replica_set(hash: &str, revision: &str) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": format!("checkout-{hash}"), "namespace": "shop", "uid": format!("rs-{hash}"),
            "labels": {"rollouts-pod-template-hash": hash},
            "annotations": {"rollout.argoproj.io/revision": revision},
            "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "checkout", "uid": "u1", "controller": true}]
        },
        "spec": {"replicas": 1},
        "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}
    }))
    .unwrap()
}

fn metrics_source() -> Msg {
    Msg::MetricsSource {
        epoch: 0,
        source: Ok(super::state::MetricsSource {
            description: "Prometheus http://prometheus:9090".into(),
            profile: crate::metrics::profiles::Profile::Generic,
            warning: None,
            bake: Default::default(),
        }),
        at: t(1),
    }
}

fn failing_metrics(at: DateTime<Utc>) -> Box<crate::model::metrics::ReleaseMetrics> {
    let mut m = crate::model::metrics::ReleaseMetrics::not_compared(
        "Prometheus http://prometheus:9090",
        300,
        15,
        at,
        "measuring".into(),
    );
    m.errors = vec!["error ratio: cannot reach Prometheus".into()];
    Box::new(m)
}

#[test]
fn a_canary_is_measured_once_its_versions_are_known_and_failures_keep_their_start() {
    let mut state = room(false);
    update(&mut state, metrics_source());
    assert!(
        state.metrics_targets.is_empty(),
        "no ReplicaSets: nothing to compare"
    );
    assert!(
        state
            .metrics_skipped
            .values()
            .any(|why| why.contains("revision"))
    );

    let sets = Msg::Source {
        epoch: 0,
        updates: vec![SourceUpdate::Objects {
            source: "replicasets".into(),
            kind: WatchedKind::ReplicaSet,
            objects: vec![
                Arc::new(replica_set("old", "1")),
                Arc::new(replica_set("new", "2")),
            ],
            at: t(1),
        }],
    };
    let out = update(&mut state, sets.clone());
    let measured: Vec<_> = out
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::MeasureTargets(targets) => Some(targets.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(measured.len(), 1, "{:?}", out.effects);
    let sides = &measured[0][0].sides;
    assert_eq!(
        (sides.baseline.as_str(), sides.canary.as_str()),
        ("old", "new")
    );
    let again = update(&mut state, sets);
    assert!(
        !again
            .effects
            .iter()
            .any(|e| matches!(e, Effect::MeasureTargets(_))),
        "the same targets are not sent twice"
    );

    let key = state.releases[0].key.clone();
    for (at, epoch) in [(t(10), 0), (t(25), 0), (t(30), 7)] {
        update(
            &mut state,
            Msg::Metrics {
                epoch,
                key: key.clone(),
                metrics: failing_metrics(at),
                at,
            },
        );
    }
    let m = &state.metrics[&key];
    assert_eq!(
        m.measured_at,
        t(25),
        "a message of another connection is dropped"
    );
    assert_eq!(
        m.failing_since,
        Some(t(10)),
        "failing since the first failure"
    );
    assert_eq!(
        state.verdict_of(&key),
        Some(crate::model::metrics::Verdict::NoData)
    );
}

/// The control room on fixture files, every access review allowed.
fn room_on(files: &[&str]) -> State {
    let objects = crate::test_support::fixture::Fixture::load(files).objects();
    let mut state = State::new(t(0), false, Keymap::default());
    connected(&mut state);
    for kind in WatchedKind::ALL {
        let listed = match kind {
            WatchedKind::Pod => SourceUpdate::Pods {
                source: kind.plural().into(),
                pods: objects.pods().cloned().collect(),
                at: t(1),
            },
            _ => SourceUpdate::Objects {
                source: kind.plural().into(),
                kind,
                objects: objects.of(kind).cloned().collect(),
                at: t(1),
            },
        };
        let msg = Msg::Source {
            epoch: 0,
            updates: vec![listed],
        };
        for effect in update(&mut state, msg).effects {
            if let Effect::CheckAccess(key) = effect {
                let result = Ok((true, String::new()));
                update(
                    &mut state,
                    Msg::Access {
                        key,
                        result,
                        at: t(1),
                    },
                );
            }
        }
    }
    state
}

fn type_text(state: &mut State, text: &str) -> Vec<Effect> {
    text.chars().flat_map(|c| press(state, c)).collect()
}

fn confirm(state: &State) -> &super::state::Confirm {
    match &state.overlay {
        Some(Overlay::Confirm(c)) => c,
        other => panic!("no confirmation open: {other:?}"),
    }
}

#[test]
fn an_abort_after_the_contract_is_blocked_until_overridden_and_the_override_is_recorded() {
    use crate::test_support::fixture::ARGO_BLUE_GREEN;
    use crate::test_support::migration_jobs::{CONTRACT, JOBS};
    let mut state = room_on(&[ARGO_BLUE_GREEN, JOBS, CONTRACT]);
    assert!(press(&mut state, 'A').is_empty());
    let blocked = confirm(&state).blocked_by().expect("blocked").to_string();
    assert!(
        blocked.contains("contract of add_display_name done"),
        "{blocked}"
    );

    type_text(&mut state, "payments");
    assert!(
        press_code(&mut state, KeyCode::Enter).is_empty(),
        "the name alone is not enough"
    );
    assert_eq!(confirm(&state).override_typed.as_deref(), Some(""));
    type_text(&mut state, "I understand");
    let effects = press_code(&mut state, KeyCode::Enter);
    let request = effects
        .iter()
        .find_map(|e| match e {
            Effect::Act(r) => Some(r),
            _ => None,
        })
        .expect("sent after the override");
    assert_eq!(request.override_of.as_deref(), Some(blocked.as_str()));
}

#[test]
fn before_the_contract_an_abort_is_safe_and_a_running_backfill_warns_a_promotion() {
    use crate::test_support::fixture::ARGO_BLUE_GREEN;
    use crate::test_support::migration_jobs::JOBS;
    let mut state = room_on(&[ARGO_BLUE_GREEN, JOBS]);
    press(&mut state, 'A');
    assert_eq!(
        confirm(&state).safety,
        Some(crate::model::migration::RollbackSafety::Safe)
    );
    type_text(&mut state, "payments");
    let effects = press_code(&mut state, KeyCode::Enter);
    let sent = effects.iter().find_map(|e| match e {
        Effect::Act(r) => Some(r),
        _ => None,
    });
    assert_eq!(sent.map(|r| r.override_of.clone()), Some(None));

    press(&mut state, 'P');
    let warnings = &confirm(&state).warnings;
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("backfill of add_display_name is still running")),
        "{warnings:?}"
    );
}

#[test]
fn the_clock_ticks_for_the_age_of_metrics_in_the_detail() {
    let mut state = room(false);
    let key = state.releases[0].key.clone();
    let half_a_second_ago = t(1) - chrono::Duration::milliseconds(500);
    let measured =
        ReleaseMetrics::not_compared("test", 300, 15, half_a_second_ago, "no canary".into());
    state.metrics.insert(key.clone(), measured);
    assert_eq!(
        next_change(&state),
        None,
        "the list shows no age of metrics"
    );
    state.view = View::Detail(key);
    assert_eq!(
        next_change(&state),
        Some(half_a_second_ago + chrono::Duration::seconds(1)),
        "the detail shows how old the numbers are"
    );
}

#[test]
fn an_unreadable_database_makes_the_rollback_unknown_never_safe() {
    use crate::model::migration::{DatabaseLink, RollbackSafety};
    use crate::test_support::fixture::ARGO_BLUE_GREEN;
    use crate::test_support::migration_jobs::JOBS;
    let mut state = room_on(&[ARGO_BLUE_GREEN, JOBS]);
    state.database_links = vec![DatabaseLink {
        namespace: "shop".into(),
        release: Some("payments".into()),
        database: "payments".into(),
        migration: None,
    }];
    state
        .databases
        .insert("payments".into(), Default::default());
    update(
        &mut state,
        Msg::Database {
            name: "payments".into(),
            result: Err("database payments (127.0.0.1:5432): connection refused".into()),
            at: t(5),
        },
    );
    press(&mut state, 'A');
    match &confirm(&state).safety {
        Some(RollbackSafety::Unknown(why)) => {
            assert!(why.contains("database payments unreadable since"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        confirm(&state).blocked_by().is_none(),
        "unknown warns, it does not block"
    );
}

#[test]
fn a_restart_after_a_quiet_hour_is_stamped_with_the_time_it_is_confirmed() {
    let mut state = room(false);
    assert_eq!(state.now, t(1), "the last news is an hour old");
    let pressed = t(3600) + chrono::Duration::milliseconds(700);
    let ctrl_r = Chord::parse("ctrl-r").unwrap();
    press_at(&mut state, ctrl_r, pressed);
    assert_eq!(state.now, pressed);
    let effects = press_at(
        &mut state,
        Chord::plain('y'),
        pressed + chrono::Duration::seconds(2),
    );
    let [Effect::Act(request)] = effects.as_slice() else {
        panic!("{effects:?} {:?}", state.last_result)
    };
    assert_eq!(
        request.plan.requests[0].body,
        json!({"spec": {"restartAt": "2026-11-23T15:00:02Z"}})
    );
}

#[test]
fn ctrl_z_suspends_in_any_mode_only_where_a_shell_can_continue() {
    let ctrl_z = Chord::parse("ctrl-z").unwrap();
    let mut state = room(false);
    press(&mut state, '/');
    assert!(press_at(&mut state, ctrl_z, t(2)).is_empty());
    assert!(
        last_result(&state).contains("cannot suspend"),
        "{}",
        last_result(&state)
    );
    assert!(state.filter_editing, "the filter is still being typed");
    state.job_control = true;
    let effects = press_at(&mut state, ctrl_z, t(3));
    assert!(
        matches!(effects.as_slice(), [Effect::Suspend]),
        "{effects:?}"
    );
    assert!(state.filter_editing);
}

#[test]
fn typed_lines_are_edited_as_in_a_shell() {
    let ctrl = |c| Chord::parse(&format!("ctrl-{c}")).unwrap();
    let mut state = room(false);
    press(&mut state, '/');
    for c in "shop checkout".chars() {
        press(&mut state, c);
    }
    press_at(&mut state, ctrl('w'), t(2));
    assert_eq!(state.filter, "shop ");
    press_at(&mut state, ctrl('u'), t(3));
    assert_eq!(state.filter, "");
    assert!(state.filter_editing);
    press(&mut state, 'x');
    press_code(&mut state, KeyCode::Enter);
    press(&mut state, ':');
    for c in "ns web".chars() {
        press(&mut state, c);
    }
    press_at(&mut state, ctrl('u'), t(4));
    assert!(
        matches!(&state.overlay, Some(Overlay::Command(line)) if line.is_empty()),
        "{:?}",
        state.overlay
    );
}

mod access;
mod fleet;
mod kill_switch;
mod loading;
mod session;
mod unleash;

#[test]
fn a_canary_that_finishes_leaves_the_measured_and_joins_the_bakes_in_one_update() {
    use crate::model::bake::Completion;
    use crate::test_support::fixture::ARGO_BLUE_GREEN;
    let mut state = room_on(&[ARGO_BLUE_GREEN]);
    let completion = Completion {
        at: t(0),
        hash: "new".into(),
        previous_hash: "old".into(),
    };
    let mut r = (*state.releases[0]).clone();
    r.completion = Some(completion.clone());
    state.releases[0] = Arc::new(r.clone());
    // Measured as a canary until this update.
    let thirty_minutes = chrono::Duration::minutes(30);
    let was_canary = crate::metrics::bake::BakeTarget::of(&r, &completion, thirty_minutes);
    state.metrics_targets = vec![was_canary.series];
    let out = update(&mut state, metrics_source());
    let sent: Vec<&str> = out
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::MeasureTargets(_) => Some("measure"),
            Effect::BakeTargets(_) => Some("bake"),
            _ => None,
        })
        .collect();
    assert_eq!(sent, ["bake", "measure"], "{:?}", out.effects);
}
