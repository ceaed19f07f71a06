//! How the data beside the cluster's stands: the metrics source and each
//! configured database, derived from their last answers, for the header.
//! The cluster's own watches are [`super::health`].

use super::State;
use super::member::Member;
use chrono::{DateTime, Utc};

/// The state of one feed, as the header shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedState {
    /// None configured, or the configured one cannot be used (the detail
    /// says why).
    Absent,
    /// Nothing asked of it: no release is measured, say.
    Idle,
    /// Asked, not answered yet.
    Waiting,
    /// Its last answer was good.
    Ok,
    /// Failing without a break since `since`: what is on screen is from
    /// before then.
    Failing {
        since: DateTime<Utc>,
        /// How many of the feed's reads fail, of how many, when only some
        /// do (one release's queries, say).
        partly: Option<(usize, usize)>,
    },
}

/// Each context's metrics source with its state, in the order shown: the
/// context's short name (empty when one is shown) and its state; a
/// context is left out until the runner has said which source serves it.
pub fn metrics(state: &State) -> Vec<(&str, FeedState)> {
    state
        .members()
        .filter_map(|m| Some((m.alias.as_str(), member_metrics(state, m)?)))
        .collect()
}

/// The state of `member`'s metrics source, judged on its own releases.
fn member_metrics(state: &State, member: &Member) -> Option<FeedState> {
    if member.metrics_source.is_none() {
        return member
            .metrics_problem
            .is_some()
            .then_some(FeedState::Absent);
    }
    let targets: Vec<_> = state
        .metrics_targets
        .iter()
        .filter(|t| t.key.cluster == member.alias)
        .collect();
    if targets.is_empty() {
        return Some(bakes_feed(state, member));
    }
    let measured: Vec<_> = targets
        .iter()
        .filter_map(|t| state.metrics.get(&t.key))
        .collect();
    let failing: Vec<DateTime<Utc>> = measured
        .iter()
        .filter(|m| !m.errors.is_empty())
        .map(|m| m.failing_since.unwrap_or(m.measured_at))
        .collect();
    Some(match failing.iter().min() {
        Some(&since) => FeedState::Failing {
            since,
            partly: (failing.len() < measured.len()).then_some((failing.len(), measured.len())),
        },
        None if measured.is_empty() => FeedState::Waiting,
        None => FeedState::Ok,
    })
}

/// The feed of `member`'s bakes, when it measures no canary: idle when
/// nothing bakes either.
fn bakes_feed(state: &State, member: &Member) -> FeedState {
    let baking: Vec<_> = state
        .bake_targets
        .iter()
        .filter(|t| t.key.cluster == member.alias)
        .collect();
    if baking.is_empty() {
        return FeedState::Idle;
    }
    let read: Vec<_> = baking
        .iter()
        .filter_map(|t| state.bakes.get(&t.key))
        .collect();
    let failing: Vec<_> = read.iter().filter(|f| !f.errors.is_empty()).collect();
    match failing.iter().map(|f| f.measured_at).min() {
        Some(since) => FeedState::Failing {
            since,
            partly: (failing.len() < read.len()).then_some((failing.len(), read.len())),
        },
        None if read.is_empty() => FeedState::Waiting,
        None => FeedState::Ok,
    }
}

/// Every configured database by name, with its state.
pub fn databases(state: &State) -> Vec<(&str, FeedState)> {
    state
        .databases
        .iter()
        .map(|(name, db)| {
            let feed = match (db.failing_since, &db.reading) {
                (Some(since), _) => FeedState::Failing {
                    since,
                    partly: None,
                },
                (None, Some(_)) => FeedState::Ok,
                (None, None) => FeedState::Waiting,
            };
            (name.as_str(), feed)
        })
        .collect()
}
