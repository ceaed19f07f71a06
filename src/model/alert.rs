//! Alerts: the conditions that need a human, and when one is told. One
//! alert per (context, release, condition): `firing` when the condition
//! begins, `resolved` once when it clears, nothing while it holds but an
//! optional reminder. No I/O and no clock reads: the time is an argument.

use super::release::{Kind, ReleaseKey};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// What an alert is about. A new kind is one variant here and one arm
/// where conditions are derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// cutover's canary verdict is Fail.
    CanaryFail,
    /// The release is Degraded: aborted, failed or unhealthy.
    ReleaseFailed,
    /// An SLO breached during the bake window after the release.
    SloBreached,
    /// Code and schema out of step, or a rollback the schema no longer
    /// supports while the release is not healthy.
    MigrationAlarm,
    /// A context's data older than the configured limit.
    DataStale,
    /// A kill switch sent, or the rollback interlock overridden, from here.
    KillSwitch,
}

impl Condition {
    pub const ALL: [Condition; 6] = [
        Condition::CanaryFail,
        Condition::ReleaseFailed,
        Condition::SloBreached,
        Condition::MigrationAlarm,
        Condition::DataStale,
        Condition::KillSwitch,
    ];

    /// The word in bodies, placeholders and logs.
    pub fn word(self) -> &'static str {
        match self {
            Condition::CanaryFail => "canary-fail",
            Condition::ReleaseFailed => "release-failed",
            Condition::SloBreached => "slo-breached",
            Condition::MigrationAlarm => "migration-alarm",
            Condition::DataStale => "data-stale",
            Condition::KillSwitch => "kill-switch",
        }
    }

    /// Said in a title: "canary verdict Fail".
    pub fn phrase(self) -> &'static str {
        match self {
            Condition::CanaryFail => "canary verdict Fail",
            Condition::ReleaseFailed => "release failed",
            Condition::SloBreached => "SLO breached",
            Condition::MigrationAlarm => "migration alarm",
            Condition::DataStale => "data stale",
            Condition::KillSwitch => "kill switch used",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Firing,
    Resolved,
}

impl AlertState {
    pub fn word(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// The release an alert is about, as every context names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AlertRelease {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
}

impl From<&ReleaseKey> for AlertRelease {
    fn from(key: &ReleaseKey) -> Self {
        AlertRelease {
            kind: key.kind,
            namespace: key.namespace.clone(),
            name: key.name.clone(),
        }
    }
}

/// What tells one alert from another.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AlertKey {
    /// The kubeconfig context.
    pub context: String,
    /// None for a context-wide condition (its data stale).
    pub release: Option<AlertRelease>,
    pub condition: Condition,
}

/// One number behind an alert: the canary's error ratio beside the
/// baseline's, the data's age.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    pub name: String,
    pub value: Option<f64>,
    /// What it is compared with, where there is something.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
}

/// A condition that holds now, with what is known of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Holding {
    #[serde(flatten)]
    pub key: AlertKey,
    /// In plain words: "RolloutAborted: metric error_ratio failed".
    pub summary: String,
    pub figures: Vec<Figure>,
}

/// One alert to send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    #[serde(flatten)]
    pub key: AlertKey,
    pub state: AlertState,
    pub summary: String,
    pub figures: Vec<Figure>,
    /// When the condition began (as first seen here).
    pub since: DateTime<Utc>,
    /// When this alert was made.
    pub at: DateTime<Utc>,
    /// A reminder of a condition still holding.
    pub reminder: bool,
}

impl Alert {
    /// A one-off alert of something done, not a state: nothing clears it.
    pub fn notice(holding: Holding, at: DateTime<Utc>) -> Alert {
        Alert {
            key: holding.key,
            state: AlertState::Firing,
            summary: holding.summary,
            figures: holding.figures,
            since: at,
            at,
            reminder: false,
        }
    }

    /// "cutover: canary verdict Fail: checkout" or "cutover resolved: …".
    pub fn title(&self) -> String {
        let what = match &self.key.release {
            Some(r) => r.name.as_str(),
            None => self.key.context.as_str(),
        };
        let state = match (self.state, self.reminder) {
            (AlertState::Resolved, _) => " resolved",
            (AlertState::Firing, true) => " still",
            (AlertState::Firing, false) => "",
        };
        format!("cutover{state}: {}: {what}", self.key.condition.phrase())
    }

    /// "prod shop/checkout (Rollout): …": where, and the summary.
    pub fn body(&self) -> String {
        let place = match &self.key.release {
            Some(r) => format!(
                "{} {}/{} ({})",
                self.key.context,
                r.namespace,
                r.name,
                r.kind.word()
            ),
            None => self.key.context.clone(),
        };
        format!("{place}: {}", self.summary)
    }
}

/// The alerts sent and holding, and when each was last told.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    active: BTreeMap<AlertKey, Active>,
}

#[derive(Debug, Clone)]
struct Active {
    since: DateTime<Utc>,
    last_sent: DateTime<Utc>,
    summary: String,
    figures: Vec<Figure>,
}

impl Tracker {
    /// The conditions holding at `now`: an alert for each that began, each
    /// that cleared, and each due a reminder (`remind_every` of its
    /// context; None: never).
    pub fn observe(
        &mut self,
        now: DateTime<Utc>,
        holding: Vec<Holding>,
        remind_every: impl Fn(&str) -> Option<TimeDelta>,
    ) -> Vec<Alert> {
        let mut alerts = Vec::new();
        let mut still: BTreeMap<AlertKey, Active> = BTreeMap::new();
        for h in holding {
            let told = |since, reminder| Alert {
                key: h.key.clone(),
                state: AlertState::Firing,
                summary: h.summary.clone(),
                figures: h.figures.clone(),
                since,
                at: now,
                reminder,
            };
            let mut active = match self.active.remove(&h.key) {
                Some(active) => active,
                None => {
                    alerts.push(told(now, false));
                    Active {
                        since: now,
                        last_sent: now,
                        summary: String::new(),
                        figures: Vec::new(),
                    }
                }
            };
            let due = remind_every(&h.key.context).map(|every| active.last_sent + every);
            if due.is_some_and(|due| due <= now) {
                active.last_sent = now;
                alerts.push(told(active.since, true));
            }
            active.summary = h.summary;
            active.figures = h.figures;
            still.insert(h.key, active);
        }
        // What no longer holds has cleared: told once, with what was last
        // known of it.
        for (key, gone) in std::mem::replace(&mut self.active, still) {
            alerts.push(Alert {
                key,
                state: AlertState::Resolved,
                summary: gone.summary,
                figures: gone.figures,
                since: gone.since,
                at: now,
                reminder: false,
            });
        }
        alerts
    }

    /// The next reminder due, if any.
    pub fn next_reminder(
        &self,
        remind_every: impl Fn(&str) -> Option<TimeDelta>,
    ) -> Option<DateTime<Utc>> {
        self.active
            .iter()
            .filter_map(|(key, a)| Some(a.last_sent + remind_every(&key.context)?))
            .min()
    }

    /// Forget the alerts `keep` refuses, with no alert of their end.
    pub fn retain(&mut self, keep: impl Fn(&AlertKey) -> bool) {
        self.active.retain(|key, _| keep(key));
    }

    /// The conditions holding, as last observed.
    pub fn holding(&self) -> impl Iterator<Item = (&AlertKey, DateTime<Utc>)> {
        self.active.iter().map(|(k, a)| (k, a.since))
    }
}

/// A canary's Fail in `prod-eu`, for tests of what is sent.
#[cfg(test)]
pub(crate) fn example(state: AlertState) -> Alert {
    use chrono::TimeZone;
    let since = Utc.with_ymd_and_hms(2026, 11, 23, 14, 2, 11).unwrap();
    Alert {
        key: AlertKey {
            context: "prod-eu".into(),
            release: Some(AlertRelease {
                kind: Kind::Rollout,
                namespace: "shop".into(),
                name: "checkout".into(),
            }),
            condition: Condition::CanaryFail,
        },
        state,
        summary: "Fail: error ratio 3.1% against 0.2% <gate>".into(),
        figures: vec![Figure {
            name: "error_ratio".into(),
            value: Some(0.031),
            baseline: Some(0.002),
        }],
        since,
        at: since + TimeDelta::minutes(3),
        reminder: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap() + TimeDelta::minutes(minutes)
    }

    fn holding(name: &str, condition: Condition, summary: &str) -> Holding {
        Holding {
            key: AlertKey {
                context: "prod".into(),
                release: Some(AlertRelease {
                    kind: Kind::Rollout,
                    namespace: "shop".into(),
                    name: name.into(),
                }),
                condition,
            },
            summary: summary.into(),
            figures: vec![],
        }
    }

    fn never(_: &str) -> Option<TimeDelta> {
        None
    }

    fn states(alerts: &[Alert]) -> Vec<(String, &'static str, bool)> {
        alerts
            .iter()
            .map(|a| {
                let name = a.key.release.as_ref().map_or("", |r| r.name.as_str());
                (name.to_string(), a.state.word(), a.reminder)
            })
            .collect()
    }

    #[test]
    fn an_alert_fires_once_when_it_begins_and_resolves_once_when_it_clears() {
        let mut tracker = Tracker::default();
        let fail = || vec![holding("checkout", Condition::CanaryFail, "Fail")];
        let fired = tracker.observe(t(0), fail(), never);
        assert_eq!(states(&fired), [("checkout".into(), "firing", false)]);
        assert_eq!(fired[0].since, t(0));
        for minute in 1..30 {
            assert!(tracker.observe(t(minute), fail(), never).is_empty());
        }
        let cleared = tracker.observe(t(30), vec![], never);
        assert_eq!(states(&cleared), [("checkout".into(), "resolved", false)]);
        assert_eq!((cleared[0].since, cleared[0].at), (t(0), t(30)));
        assert_eq!(cleared[0].summary, "Fail");
        assert!(tracker.observe(t(31), vec![], never).is_empty());
    }

    #[test]
    fn each_release_and_condition_is_its_own_alert() {
        let mut tracker = Tracker::default();
        let both = vec![
            holding("checkout", Condition::CanaryFail, "Fail"),
            holding("checkout", Condition::ReleaseFailed, "Degraded"),
            holding("cart", Condition::CanaryFail, "Fail"),
        ];
        assert_eq!(tracker.observe(t(0), both, never).len(), 3);
        let one_left = vec![holding("cart", Condition::CanaryFail, "Fail")];
        let cleared = tracker.observe(t(1), one_left, never);
        assert_eq!(cleared.len(), 2);
        assert!(cleared.iter().all(|a| a.state == AlertState::Resolved));
        assert_eq!(tracker.holding().count(), 1);
    }

    #[test]
    fn a_changing_summary_is_no_new_alert_and_the_last_one_resolves() {
        let mut tracker = Tracker::default();
        tracker.observe(t(0), vec![holding("a", Condition::DataStale, "2m")], never);
        let later = vec![holding("a", Condition::DataStale, "9m")];
        assert!(tracker.observe(t(7), later, never).is_empty());
        let cleared = tracker.observe(t(8), vec![], never);
        assert_eq!(cleared[0].summary, "9m");
    }

    #[test]
    fn a_reminder_comes_every_interval_while_the_condition_holds() {
        let mut tracker = Tracker::default();
        let hourly = |_: &str| Some(TimeDelta::hours(1));
        let fail = || vec![holding("checkout", Condition::CanaryFail, "Fail")];
        assert_eq!(tracker.observe(t(0), fail(), hourly).len(), 1);
        assert_eq!(tracker.next_reminder(hourly), Some(t(60)));
        assert!(tracker.observe(t(59), fail(), hourly).is_empty());
        let reminded = tracker.observe(t(61), fail(), hourly);
        assert_eq!(states(&reminded), [("checkout".into(), "firing", true)]);
        assert_eq!(reminded[0].since, t(0));
        assert_eq!(tracker.next_reminder(hourly), Some(t(121)));
        assert!(tracker.observe(t(62), fail(), hourly).is_empty());
        assert_eq!(tracker.next_reminder(never), None);
    }

    #[test]
    fn titles_and_bodies_say_what_where_and_whether_it_cleared() {
        let mut tracker = Tracker::default();
        let fired = tracker.observe(
            t(0),
            vec![holding("checkout", Condition::CanaryFail, "error ratio 3%")],
            never,
        );
        assert_eq!(fired[0].title(), "cutover: canary verdict Fail: checkout");
        assert_eq!(
            fired[0].body(),
            "prod shop/checkout (Rollout): error ratio 3%"
        );
        let cleared = tracker.observe(t(1), vec![], never);
        assert_eq!(
            cleared[0].title(),
            "cutover resolved: canary verdict Fail: checkout"
        );
    }
}
