//! Which alert conditions hold, derived from the state after each update,
//! and the alerts their changes make. Pure: the update step calls
//! [`observe`], whose alerts become [`Effect::Alert`]s and log lines; the
//! sinks that send them live in [`sinks`].
//!
//! Conditions that already hold when the control room starts are alerted
//! once, as soon as they are seen: nothing is remembered between runs,
//! and an engineer starting cutover (or restarting it) must hear of a
//! release that failed while nobody watched. Receivers that keep a
//! history tell a repeat by its `since`.

pub mod body;
pub mod sinks;

use super::member::Member;
use super::state::{ConnectionState, State};
use super::update::Effect;
use crate::model::alert::{Alert, AlertKey, AlertRelease, Condition, Figure, Holding, Tracker};
use crate::model::bake::BakeState;
use crate::model::metrics::Verdict;
use crate::model::migration::{RollbackSafety, has_migration, rollback_check};
use crate::model::{Action, ActionRequest, Attention, Health, Release, ReleaseKey};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;

/// A context's alerting rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// Data older than this is an alert.
    pub stale_after: TimeDelta,
    /// A condition still holding is told again this often; None: never.
    pub remind_every: Option<TimeDelta>,
}

/// The default limit of `stale_after`.
pub const STALE_AFTER: TimeDelta = TimeDelta::minutes(2);

impl Default for Rules {
    fn default() -> Self {
        Rules {
            stale_after: STALE_AFTER,
            remind_every: None,
        }
    }
}

/// A sink that failed to send, for the header: since when, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkFailure {
    pub cause: String,
    pub since: DateTime<Utc>,
}

/// The alerting part of the state.
#[derive(Debug, Clone, Default)]
pub struct Alerts {
    pub tracker: Tracker,
    /// By kubeconfig context; a context not named uses the default.
    pub rules: BTreeMap<String, Rules>,
    pub default_rules: Rules,
    /// Sinks failing now, by their name (`webhook team`, `command`).
    pub failing: BTreeMap<String, SinkFailure>,
}

impl Alerts {
    pub fn rules_of(&self, context: &str) -> Rules {
        self.rules
            .get(context)
            .copied()
            .unwrap_or(self.default_rules)
    }

    /// Every context's rules from the config: those it names, and the top
    /// level's for any other.
    pub fn set_rules(&mut self, config: &crate::config::Config) {
        self.default_rules = config.alerts_for("").rules;
        for context in config.contexts.keys() {
            self.rules
                .insert(context.clone(), config.alerts_for(context).rules);
        }
    }

    /// A sink's attempt ended: a failure is kept from its first moment
    /// until a success.
    pub fn sink_result(&mut self, sink: String, result: Result<(), String>, at: DateTime<Utc>) {
        match result {
            Ok(()) => {
                self.failing.remove(&sink);
            }
            Err(cause) => {
                let since = self.failing.get(&sink).map_or(at, |f| f.since);
                self.failing.insert(sink, SinkFailure { cause, since });
            }
        }
    }
}

/// The condition an attention of the release's raises, if any: one arm
/// per kind that alerts. A bake's breach is read from the bake itself
/// ([`slo_breach`]), which carries its figures.
fn attention_condition(attention: &Attention) -> Option<(Condition, String)> {
    match attention {
        Attention::MigrationOrder(why) => Some((Condition::MigrationAlarm, why.clone())),
        _ => None,
    }
}

fn release_key(context: &str, key: &ReleaseKey, condition: Condition) -> AlertKey {
    AlertKey {
        context: context.to_string(),
        release: Some(AlertRelease::from(key)),
        condition,
    }
}

/// The canaries cutover's metrics fail: only the measured releases are
/// looked at.
fn canary_failures(state: &State, out: &mut Vec<Holding>) {
    for (key, m) in &state.metrics {
        if m.verdict.verdict != Verdict::Fail {
            continue;
        }
        let Some(member) = state.member_of(&key.cluster) else {
            continue;
        };
        let figures = m
            .comparisons
            .iter()
            .filter(|c| c.judgement.is_some())
            .map(|c| Figure {
                name: c.metric.clone(),
                value: c.canary.current,
                baseline: c.baseline.current,
            })
            .collect();
        out.push(Holding {
            key: release_key(&member.scope.context, key, Condition::CanaryFail),
            summary: m.verdict.reasons.first().cloned().unwrap_or_default(),
            figures,
        });
    }
}

/// A bake window's SLO breached now, with each SLO's figure after the
/// release against the previous version's.
fn slo_breach(state: &State, r: &Release, out: &mut Vec<Holding>) {
    let Some(bake) = state.bake_of(r) else {
        return;
    };
    let BakeState::Breached(breach) = &bake.state else {
        return;
    };
    let Some(member) = state.member_of(&r.key.cluster) else {
        return;
    };
    let figures = bake
        .slos
        .iter()
        .map(|slo| Figure {
            name: slo.metric.clone(),
            value: slo.after,
            baseline: slo.before,
        })
        .collect();
    out.push(Holding {
        key: release_key(&member.scope.context, &r.key, Condition::SloBreached),
        summary: breach.describe(),
        figures,
    });
}

/// Every condition of `r`'s own state holding now.
fn release_conditions(state: &State, r: &Release, out: &mut Vec<Holding>) {
    let mut hold = |condition, summary: String| {
        // Its context is looked up only for a condition that holds.
        if let Some(member) = state.member_of(&r.key.cluster) {
            out.push(Holding {
                key: release_key(&member.scope.context, &r.key, condition),
                summary,
                figures: Vec::new(),
            });
        }
    };
    if r.health == Health::Degraded {
        let summary = match r.message.as_str() {
            "" => r.phase.clone(),
            message => format!("{}: {message}", r.phase),
        };
        hold(Condition::ReleaseFailed, summary);
    }
    let mut migration = false;
    for (condition, summary) in r.attention.iter().filter_map(attention_condition) {
        migration |= condition == Condition::MigrationAlarm;
        hold(condition, summary);
    }
    // A way back the schema no longer supports matters while the release
    // is not healthy: that is when a rollback may be wanted.
    if !migration
        && r.health != Health::Healthy
        && has_migration(r)
        && let Some(RollbackSafety::Unsafe(why)) = rollback_check(r, Action::Undo(None))
    {
        hold(Condition::MigrationAlarm, format!("rollback unsafe: {why}"));
    }
}

/// Since when a context's data has not been known to match its cluster.
fn stale_since(member: &Member, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match &member.connection {
        ConnectionState::Connecting { since } | ConnectionState::Failed { since, .. } => {
            Some(*since)
        }
        ConnectionState::Connected => {
            let outage = member.sources.outage(now)?;
            outage.data_from.or_else(|| member.sources.failing_since())
        }
    }
}

fn stale_condition(member: &Member, rules: Rules, now: DateTime<Utc>) -> Option<Holding> {
    let since = stale_since(member, now)?;
    let age = now - since;
    if age < rules.stale_after {
        return None;
    }
    let why = match &member.connection {
        ConnectionState::Failed { error, .. } => format!(": {error}"),
        ConnectionState::Connecting { .. } => ": still connecting".into(),
        ConnectionState::Connected => member
            .sources
            .outage(now)
            .map(|o| format!(": {}", o.error))
            .unwrap_or_default(),
    };
    Some(Holding {
        key: AlertKey {
            context: member.scope.context.clone(),
            release: None,
            condition: Condition::DataStale,
        },
        summary: format!("no fresh data since {}{why}", since.format("%H:%M:%S")),
        figures: vec![Figure {
            name: "age_seconds".into(),
            value: Some(age.num_seconds() as f64),
            baseline: None,
        }],
    })
}

/// Every condition holding now, in every context shown: what `status`
/// lists and what the tracker compares.
pub fn holding(state: &State) -> Vec<Holding> {
    let mut out = Vec::new();
    for member in state.members() {
        let rules = state.alerts.rules_of(&member.scope.context);
        out.extend(stale_condition(member, rules, state.now));
    }
    canary_failures(state, &mut out);
    // Thousands of releases are read after every message: a healthy one
    // with nothing to say costs two comparisons and a lookup.
    let quiet = |r: &Release| r.health == Health::Healthy && r.attention.is_empty();
    for r in state.releases.iter() {
        if !quiet(r) {
            release_conditions(state, r, &mut out);
        }
        // Only figures read can breach (a one-shot `status` judges the
        // bake after mapping, so the release may not carry the attention).
        if state.bakes.contains_key(&r.key) {
            slo_breach(state, r, &mut out);
        }
    }
    // In one order, whatever the order of the maps read.
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// The conditions' changes since the last look: their alerts, logged.
pub fn observe(state: &mut State) -> Vec<Effect> {
    let holding = holding(state);
    let shown: Vec<String> = state.members().map(|m| m.scope.context.clone()).collect();
    let alerts = &mut state.alerts;
    // A context no longer shown (another chosen with `:ctx`) is not
    // watched: its alerts are dropped, not resolved.
    alerts.tracker.retain(|key| shown.contains(&key.context));
    let (rules, default) = (&alerts.rules, alerts.default_rules);
    let remind = |context: &str| rules.get(context).unwrap_or(&default).remind_every;
    alerts
        .tracker
        .observe(state.now, holding, remind)
        .into_iter()
        .map(sent)
        .collect()
}

/// An alert of a kill switch sent, or of the rollback interlock
/// overridden, when `request` is one.
pub fn notice_of(request: &ActionRequest, at: DateTime<Utc>) -> Option<Effect> {
    let summary = match (&request.plan.action, &request.override_of) {
        (_, Some(why)) => format!(
            "{} sent by {} overriding the rollback interlock: {why}",
            request.plan.action.word(),
            request.user
        ),
        (Action::KillSwitch(_), None) => {
            format!(
                "{} by {}: {}",
                request.plan.action.word(),
                request.user,
                request.plan.effect
            )
        }
        _ => return None,
    };
    let holding = Holding {
        key: AlertKey {
            context: request.context.clone(),
            release: Some(AlertRelease::from(&request.key)),
            condition: Condition::KillSwitch,
        },
        summary,
        figures: Vec::new(),
    };
    Some(sent(Alert::notice(holding, at)))
}

/// Every alert goes to the log, and to the sinks as an effect.
fn sent(alert: Alert) -> Effect {
    tracing::warn!(
        target: "cutover::alert",
        "alert {}{}: {} {}",
        alert.state.word(),
        if alert.reminder { " (reminder)" } else { "" },
        alert.key.condition.word(),
        alert.body()
    );
    Effect::Alert(Box::new(alert))
}

/// The next moment an alert may begin or be repeated with no message
/// arriving: data turning stale, a reminder due.
pub fn next_due(state: &State) -> Option<DateTime<Utc>> {
    let alerts = &state.alerts;
    let stale = state.members().filter_map(|m| {
        let at = stale_since(m, state.now)? + alerts.rules_of(&m.scope.context).stale_after;
        (at > state.now).then_some(at)
    });
    let remind = |context: &str| alerts.rules_of(context).remind_every;
    stale.chain(alerts.tracker.next_reminder(remind)).min()
}

#[cfg(test)]
mod tests;
