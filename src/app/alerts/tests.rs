//! Conditions derived from the state, and the effects their changes make.

use super::*;
use crate::app::keymap::Keymap;
use crate::model::alert::AlertState;
use crate::model::metrics::ReleaseMetrics;
use crate::test_support::fixture::{EVERY_STRATEGY, Fixture};
use chrono::TimeZone;
use std::sync::Arc;

fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap() + TimeDelta::seconds(seconds)
}

/// Every strategy's release, healthy, in context `prod`, connected.
fn state() -> State {
    let mut state = State::new(t(0), true, Keymap::default());
    state.home.scope.context = "prod".into();
    state.home.connection = ConnectionState::Connected;
    let releases = Fixture::load(&EVERY_STRATEGY).releases();
    state.releases = releases
        .into_iter()
        .map(|mut r| {
            r.health = Health::Healthy;
            r.attention.clear();
            Arc::new(r)
        })
        .collect();
    state
}

fn alerts(effects: Vec<Effect>) -> Vec<Alert> {
    effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::Alert(a) => Some(*a),
            _ => None,
        })
        .collect()
}

fn degrade(state: &mut State, index: usize, degraded: bool) {
    let mut r = (*state.releases[index]).clone();
    r.health = if degraded {
        Health::Degraded
    } else {
        Health::Healthy
    };
    r.phase = "Degraded".into();
    r.message = "RolloutAborted: metric error_ratio failed".into();
    state.releases[index] = Arc::new(r);
}

#[test]
fn a_degraded_release_fires_once_and_resolves_once() {
    let mut state = state();
    assert!(alerts(observe(&mut state)).is_empty());
    degrade(&mut state, 0, true);
    let fired = alerts(observe(&mut state));
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].key.condition, Condition::ReleaseFailed);
    assert_eq!(fired[0].key.context, "prod");
    assert_eq!(fired[0].state, AlertState::Firing);
    assert_eq!(
        fired[0].summary,
        "Degraded: RolloutAborted: metric error_ratio failed"
    );
    state.now = t(60);
    assert!(alerts(observe(&mut state)).is_empty());
    degrade(&mut state, 0, false);
    let cleared = alerts(observe(&mut state));
    assert_eq!(cleared.len(), 1);
    assert_eq!(cleared[0].state, AlertState::Resolved);
}

#[test]
fn a_failing_canary_verdict_is_an_alert_with_its_figures() {
    let mut state = state();
    let key = state.releases[0].key.clone();
    let mut m = ReleaseMetrics::not_compared("test", 300, 15, t(0), "x".into());
    m.verdict.verdict = Verdict::Fail;
    m.verdict.reasons = vec!["Fail: error ratio +2.9 pp".into()];
    state.metrics.insert(key.clone(), m);
    let fired = alerts(observe(&mut state));
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].key.condition, Condition::CanaryFail);
    assert_eq!(fired[0].summary, "Fail: error ratio +2.9 pp");
    assert_eq!(holding(&state).len(), 1, "status lists what holds");
    state.metrics.remove(&key);
    assert_eq!(alerts(observe(&mut state))[0].state, AlertState::Resolved);
}

/// Figures of the first release's bake, one error ratio per minute from
/// its completion at t(0) on, against a previous 0.3%.
fn bake_figures(errors: &[f64]) -> crate::model::bake::BakeFigures {
    use crate::model::bake::{BakeFigures, Completion, SloFigures};
    use crate::model::metrics::{ERROR_RATIO, Unit};
    let samples = errors
        .iter()
        .enumerate()
        .map(|(minute, e)| (t(60 * minute as i64), *e))
        .collect();
    BakeFigures {
        source: "test".into(),
        measured_at: t(60 * errors.len() as i64),
        completion: Completion {
            at: t(0),
            hash: "new".into(),
            previous_hash: "old".into(),
        },
        slos: vec![SloFigures {
            metric: ERROR_RATIO.into(),
            label: "error ratio".into(),
            unit: Unit::Ratio,
            before: Some(0.003),
            samples,
        }],
        errors: Vec::new(),
    }
}

#[test]
fn an_slo_breached_in_the_bake_fires_with_its_figures_and_resolves_when_it_clears() {
    use crate::model::bake::{BakeSettings, Completion};
    use crate::model::metrics::{ERROR_RATIO, Gate};
    let mut state = state();
    state.home.metrics_source = Some(crate::app::state::MetricsSource {
        description: "test".into(),
        profile: crate::metrics::profiles::Profile::Generic,
        warning: None,
        bake: BakeSettings {
            slos: vec![Gate::AbsoluteMax {
                metric: ERROR_RATIO.into(),
                max: 0.01,
            }],
            ..BakeSettings::default()
        },
    });
    let mut r = (*state.releases[0]).clone();
    r.completion = Some(Completion {
        at: t(0),
        hash: "new".into(),
        previous_hash: "old".into(),
    });
    let key = r.key.clone();
    state.releases[0] = Arc::new(r);
    state.bakes.insert(key.clone(), bake_figures(&[0.002; 3]));
    state.now = t(180);
    assert!(
        alerts(observe(&mut state)).is_empty(),
        "baking, every SLO held"
    );
    let mut bad = vec![0.002; 3];
    bad.extend([0.03; 7]);
    state.bakes.insert(key.clone(), bake_figures(&bad));
    state.now = t(600);
    let fired = alerts(observe(&mut state));
    assert_eq!(fired.len(), 1, "{fired:#?}");
    assert_eq!(fired[0].key.condition, Condition::SloBreached);
    assert!(
        fired[0].summary.contains("error ratio"),
        "{}",
        fired[0].summary
    );
    assert_eq!(fired[0].figures[0].value, Some(0.03));
    assert_eq!(fired[0].figures[0].baseline, Some(0.003));
    assert!(alerts(observe(&mut state)).is_empty(), "never repeated");
    let mut cleared = bad.clone();
    cleared.extend([0.002; 2]);
    state.bakes.insert(key, bake_figures(&cleared));
    state.now = t(720);
    let resolved = alerts(observe(&mut state));
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].state, AlertState::Resolved);
}

#[test]
fn a_migration_out_of_order_is_a_migration_alarm() {
    let mut state = state();
    let mut r = (*state.releases[0]).clone();
    r.attention.push(Attention::MigrationOrder(
        "contract under running v1".into(),
    ));
    state.releases[0] = Arc::new(r);
    let fired = alerts(observe(&mut state));
    assert_eq!(fired[0].key.condition, Condition::MigrationAlarm);
    assert_eq!(fired[0].summary, "contract under running v1");
}

#[test]
fn data_turns_stale_only_beyond_the_limit_and_the_wake_up_is_asked_for() {
    let mut state = state();
    state.releases.clear();
    state.home.connection = ConnectionState::Failed {
        error: "connection refused".into(),
        since: t(0),
    };
    state.now = t(30);
    assert!(alerts(observe(&mut state)).is_empty());
    assert_eq!(next_due(&state), Some(t(120)));
    state.now = t(120);
    let fired = alerts(observe(&mut state));
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].key.condition, Condition::DataStale);
    assert_eq!(fired[0].key.release, None);
    assert_eq!(
        fired[0].summary,
        "no fresh data since 14:00:00: connection refused"
    );
    state.home.connection = ConnectionState::Connected;
    state.now = t(130);
    assert_eq!(alerts(observe(&mut state))[0].state, AlertState::Resolved);
}

#[test]
fn the_context_rules_set_the_stale_limit_and_reminders() {
    let mut state = state();
    state.alerts.rules.insert(
        "prod".into(),
        Rules {
            stale_after: TimeDelta::seconds(10),
            remind_every: Some(TimeDelta::minutes(30)),
        },
    );
    state.home.connection = ConnectionState::Connecting { since: t(0) };
    state.now = t(10);
    assert_eq!(alerts(observe(&mut state)).len(), 1);
    assert_eq!(next_due(&state), Some(t(10 + 1800)));
    state.now = t(10 + 1800);
    let reminded = alerts(observe(&mut state));
    assert!(reminded[0].reminder);
}

#[test]
fn a_context_no_longer_shown_drops_its_alerts_without_resolving_them() {
    let mut state = state();
    degrade(&mut state, 0, true);
    assert_eq!(alerts(observe(&mut state)).len(), 1);
    state.home.scope.context = "staging".into();
    state.releases.clear();
    assert!(alerts(observe(&mut state)).is_empty());
}

#[test]
fn a_sink_failure_keeps_its_first_moment_until_a_success() {
    let mut alerts = Alerts::default();
    alerts.sink_result("webhook 1".into(), Err("HTTP 500".into()), t(0));
    alerts.sink_result("webhook 1".into(), Err("timed out".into()), t(5));
    let failure = &alerts.failing["webhook 1"];
    assert_eq!((failure.cause.as_str(), failure.since), ("timed out", t(0)));
    alerts.sink_result("webhook 1".into(), Ok(()), t(9));
    assert!(alerts.failing.is_empty());
}

#[test]
fn a_kill_switch_or_an_override_sent_is_a_notice_and_other_actions_are_not() {
    use crate::model::action::plan;
    let state = state();
    let r = &state.releases[0];
    let pause = plan(r, Action::Pause, t(0)).unwrap();
    let mut request = ActionRequest {
        id: 1,
        key: r.key.clone(),
        plan: pause,
        seen: r.decision_fingerprint(),
        seen_resource_version: "1".into(),
        user: "jane".into(),
        context: "prod".into(),
        override_of: None,
    };
    assert!(notice_of(&request, t(0)).is_none());
    request.override_of = Some("the contract dropped orders.total".into());
    let Some(Effect::Alert(alert)) = notice_of(&request, t(0)) else {
        panic!("an override is alerted");
    };
    assert_eq!(alert.key.condition, Condition::KillSwitch);
    assert_eq!(alert.state, AlertState::Firing);
    assert!(alert.summary.contains("overriding the rollback interlock"));
}
