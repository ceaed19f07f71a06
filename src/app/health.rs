//! How the cluster's watches stand: what each source last reported, as
//! the update step records it, and what the screen shows instead of
//! `live`, derived from it at the time of the last message: the lists
//! still streaming in, or an outage.

use crate::cluster::kinds::WatchedKind;
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
    /// What the source watches, once it has listed or begun to.
    pub kind: Option<WatchedKind>,
    /// While the source lists (again): how far it has come.
    pub listing: Option<Progress>,
}

/// How far a list has come: `loaded` objects, of `total` when the server
/// said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub loaded: usize,
    pub total: Option<usize>,
}

/// The objects of one kind being listed, its sources' counts added up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loading {
    pub kind: WatchedKind,
    pub progress: Progress,
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
    /// A source delivered its objects: it works, has data, and its list
    /// is over.
    pub fn listed(&mut self, source: &str, kind: WatchedKind, at: DateTime<Utc>) {
        self.healthy(source, at);
        let entry = self.entry(source, at);
        entry.listed = true;
        entry.kind = Some(kind);
        entry.listing = None;
    }

    /// A source is listing its objects, and has come this far. Its
    /// health is its own report's: a list begun after an error may fail
    /// again.
    pub fn listing(
        &mut self,
        source: &str,
        kind: WatchedKind,
        progress: Progress,
        at: DateTime<Utc>,
    ) {
        let entry = self.entry(source, at);
        entry.kind = Some(kind);
        entry.listing = Some(progress);
    }

    /// The kinds being listed, in the order of [`WatchedKind`], each with
    /// its sources' counts added up, and the total only when each of them
    /// knows its own. The events of the release on screen are left out:
    /// they list in a moment each time another release is opened.
    pub fn loading(&self) -> Vec<Loading> {
        let mut by_kind: BTreeMap<WatchedKind, Progress> = BTreeMap::new();
        for s in self.0.values() {
            let (Some(kind), Some(p)) = (s.kind, s.listing) else {
                continue;
            };
            if kind == WatchedKind::Event {
                continue;
            }
            by_kind
                .entry(kind)
                .and_modify(|sum| {
                    sum.loaded += p.loaded;
                    sum.total = sum.total.zip(p.total).map(|(a, b)| a + b);
                })
                .or_insert(p);
        }
        by_kind
            .into_iter()
            .map(|(kind, progress)| Loading { kind, progress })
            .collect()
    }

    /// Whether the releases on screen may not be all there are: a release
    /// kind installed (not among `missing_kinds`) has not been listed yet,
    /// or is being listed again.
    pub fn releases_loading(&self, missing_kinds: &[String]) -> bool {
        [
            WatchedKind::Rollout,
            WatchedKind::Canary,
            WatchedKind::Deployment,
        ]
        .into_iter()
        .filter(|k| !missing_kinds.iter().any(|m| m == k.kind()))
        .any(|kind| {
            let mut sources = self.0.values().filter(|s| s.kind == Some(kind));
            let listed = sources.clone().any(|s| s.listed);
            !listed || sources.any(|s| s.listing.is_some())
        })
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
                kind: None,
                listing: None,
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

    /// Since when a watch has been failing, the longest failing one's;
    /// None while every watch works.
    pub fn failing_since(&self) -> Option<DateTime<Utc>> {
        self.0
            .values()
            .filter(|s| s.error.is_some())
            .map(|s| s.since)
            .min()
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
            state.home.sources.outage_begins_at(state.now),
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
        assert_eq!(state.home.sources.outage_begins_at(state.now), None);
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
        let outage = state.home.sources.outage(state.now).expect("an outage");
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
