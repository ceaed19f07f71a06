//! How the cluster's watches stand: what each source last reported, as
//! the update step records it, and the outage the screen shows instead of
//! `live`, derived from it at the time of the last message.

use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;

/// A watch failing for longer than this is an outage. Shorter is a hiccup
/// kube's watcher gets over by itself (a relist after 410 Gone, one
/// refused request), which the header does not flash for.
pub const FAILING_AFTER: TimeDelta = TimeDelta::seconds(3);

/// The state of one watch.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceHealth {
    /// The last error, while the watch fails.
    pub error: Option<String>,
    /// When the current state (healthy or failing) began.
    pub since: DateTime<Utc>,
    /// The watch has listed its objects at least once: until then, a
    /// failing watch has no data on screen.
    pub listed: bool,
}

/// The watches of the connection, by source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Watches(BTreeMap<String, SourceHealth>);

/// Watches failing for longer than [`FAILING_AFTER`].
#[derive(Debug, Clone, PartialEq)]
pub struct Outage<'a> {
    /// The error of the watch failing the longest.
    pub error: &'a str,
    /// Until when the data on screen is known to match the cluster: an
    /// open watch hears of every change, so up to the moment it failed.
    /// The oldest among the failing watches that had listed; None when
    /// none of them had.
    pub data_from: Option<DateTime<Utc>>,
}

impl Outage<'_> {
    /// `data from 14:02:11`: how old the data on screen is.
    pub fn data_text(&self) -> String {
        match self.data_from {
            Some(t) => format!("data from {}", t.format("%H:%M:%S")),
            None => "nothing listed yet".into(),
        }
    }
}

impl Watches {
    /// A source delivered its objects: it works, and has data.
    pub fn listed(&mut self, source: &str, at: DateTime<Utc>) {
        self.healthy(source, at);
        if let Some(s) = self.0.get_mut(source) {
            s.listed = true;
        }
    }

    /// A source answers again; a healthy one stays healthy since before.
    pub fn healthy(&mut self, source: &str, at: DateTime<Utc>) {
        let entry = self.entry(source, at);
        if entry.error.is_some() {
            entry.error = None;
            entry.since = at;
        }
    }

    /// A source failed; a failing one keeps the start of its failure.
    pub fn failed(&mut self, source: &str, error: String, at: DateTime<Utc>) {
        let entry = self.entry(source, at);
        if entry.error.is_none() {
            entry.since = at;
        }
        entry.error = Some(error);
    }

    fn entry(&mut self, source: &str, at: DateTime<Utc>) -> &mut SourceHealth {
        self.0
            .entry(source.to_string())
            .or_insert_with(|| SourceHealth {
                error: None,
                since: at,
                listed: false,
            })
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// The sources failing at `now` for longer than a hiccup.
    fn failing(&self, now: DateTime<Utc>) -> impl Iterator<Item = (&SourceHealth, &str)> {
        self.0.values().filter_map(move |s| {
            let error = s.error.as_deref()?;
            (now - s.since >= FAILING_AFTER).then_some((s, error))
        })
    }

    /// The outage at `now`, if any watch has failed for longer than a
    /// hiccup: then the cluster is not live.
    pub fn outage(&self, now: DateTime<Utc>) -> Option<Outage<'_>> {
        let (_, error) = self.failing(now).min_by_key(|(s, _)| s.since)?;
        let data_from = self
            .failing(now)
            .filter(|(s, _)| s.listed)
            .map(|(s, _)| s.since)
            .min();
        Some(Outage { error, data_from })
    }

    /// When a watch failing now, not yet for long, becomes an outage.
    pub fn outage_begins_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.0
            .values()
            .filter(|s| s.error.is_some())
            .map(|s| s.since + FAILING_AFTER)
            .filter(|at| *at > now)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keymap::Keymap;
    use crate::app::state::{Scope, State};
    use crate::app::update::{Msg, update};
    use crate::cluster::kinds::WatchedKind;
    use crate::cluster::watch::SourceUpdate;
    use crate::ui::bars::freshness;
    use chrono::TimeZone;

    fn t(millis: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 14, 2, 11).unwrap() + TimeDelta::milliseconds(millis)
    }

    fn source(update: SourceUpdate) -> Msg {
        Msg::Source {
            epoch: 0,
            updates: vec![update],
        }
    }

    fn listed(name: &str, at: DateTime<Utc>) -> Msg {
        source(SourceUpdate::Objects {
            source: name.into(),
            kind: WatchedKind::Deployment,
            objects: Vec::new(),
            at,
        })
    }

    fn health(name: &str, error: Option<&str>, at: DateTime<Utc>) -> Msg {
        source(SourceUpdate::Health {
            source: name.into(),
            error: error.map(str::to_string),
            at,
        })
    }

    /// Connected at t(0), with deployments and rollouts listed.
    fn connected() -> State {
        connected_with(&["deployments", "rollouts"])
    }

    /// Connected at t(0), with these sources listed at t(100).
    fn connected_with(sources: &[&str]) -> State {
        let mut state = State::new(t(0), false, Keymap::default());
        update(
            &mut state,
            Msg::Connected {
                epoch: 0,
                scope: Scope::default(),
                at: t(0),
            },
        );
        for name in sources {
            update(&mut state, listed(name, t(100)));
        }
        state
    }

    fn badge(state: &State) -> String {
        freshness(state).0
    }

    const BUSY: &str = "503 Service Unavailable";

    #[test]
    fn a_watch_failing_for_three_seconds_is_not_live() {
        let mut state = connected();
        assert_eq!(badge(&state), "● live");
        update(&mut state, health("deployments", Some(BUSY), t(1000)));
        assert_eq!(badge(&state), "● live", "a hiccup is not an outage yet");
        assert_eq!(
            state.sources.outage_begins_at(state.now),
            Some(t(4000)),
            "the screen is redrawn when it becomes one"
        );
        update(&mut state, health("deployments", Some(BUSY), t(2500)));
        update(&mut state, Msg::Tick(t(4000)));
        assert_eq!(
            badge(&state),
            "◌ reconnecting (503 Service Unavailable) · data from 14:02:12"
        );
        assert!(!freshness(&state).1);
        assert_eq!(state.sources.outage_begins_at(state.now), None);
    }

    #[test]
    fn a_success_ends_the_outage_and_a_new_failure_starts_anew() {
        let mut state = connected();
        update(&mut state, health("deployments", Some(BUSY), t(1000)));
        update(&mut state, Msg::Tick(t(9000)));
        assert!(badge(&state).starts_with("◌ reconnecting"));
        update(&mut state, health("deployments", None, t(9500)));
        assert_eq!(badge(&state), "● live");
        update(&mut state, health("deployments", Some(BUSY), t(10_000)));
        update(&mut state, Msg::Tick(t(12_000)));
        assert_eq!(badge(&state), "● live", "2 s into the new failure");
        update(&mut state, listed("deployments", t(12_500)));
        update(&mut state, Msg::Tick(t(20_000)));
        assert_eq!(badge(&state), "● live", "a list is a success too");
    }

    #[test]
    fn one_failing_kind_of_two_is_not_live() {
        let mut state = connected();
        update(
            &mut state,
            health("rollouts", Some("403 Forbidden"), t(1000)),
        );
        update(&mut state, listed("deployments", t(5000)));
        assert_eq!(
            badge(&state),
            "◌ reconnecting (403 Forbidden) · data from 14:02:12"
        );
    }

    #[test]
    fn the_longest_failure_names_the_error_and_the_oldest_data() {
        let mut state = connected();
        update(&mut state, health("pods/argo", Some("410 Gone"), t(500)));
        update(&mut state, health("rollouts", Some(BUSY), t(2000)));
        update(&mut state, health("deployments", Some(BUSY), t(3000)));
        update(&mut state, Msg::Tick(t(7000)));
        let outage = state.sources.outage(state.now).expect("an outage");
        assert_eq!(outage.error, "410 Gone", "pods/argo fails the longest");
        assert_eq!(
            outage.data_from,
            Some(t(2000)),
            "pods/argo never listed: the rollouts' data is the oldest"
        );
    }

    #[test]
    fn a_watch_that_never_listed_has_no_data_to_date() {
        let mut state = connected_with(&[]);
        update(&mut state, health("deployments", Some(BUSY), t(100)));
        update(&mut state, Msg::Tick(t(3100)));
        assert_eq!(
            badge(&state),
            "◌ reconnecting (503 Service Unavailable) · nothing listed yet"
        );
    }
}
