//! Metrics and databases: which metrics source serves the context, what
//! each release measured, what each database read, and the releases
//! rebuilt with what their databases say.

use super::{Effect, Outcome};
use crate::app::state::{MetricsSource, State};
use crate::metrics::bake::BakeTarget;
use crate::metrics::profiles::MetricsTarget;
use crate::model::Attention;
use crate::model::bake::BakeState;
use crate::model::flag::Flag;
use crate::model::metrics::ReleaseMetrics;
use crate::model::migration::{self, DatabaseReading};
use crate::model::restore::{Repository, way_back};
use crate::model::{Release, ReleaseKey, in_listing_order};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::Arc;

pub(super) fn metrics_source(
    state: &mut State,
    epoch: u64,
    source: Result<MetricsSource, String>,
) -> Outcome {
    let Some(member) = state.member_mut(epoch) else {
        return Outcome::default();
    };
    (member.metrics_source, member.metrics_problem) = match source {
        Ok(s) => (Some(s), None),
        Err(why) => (None, Some(why)),
    };
    let cluster = member.alias.clone();
    state.metrics.retain(|key, _| key.cluster != cluster);
    let mut out = Outcome::redraw();
    out.effects.extend(metrics_targets(state));
    out
}

pub(super) fn database(
    state: &mut State,
    name: String,
    result: Result<DatabaseReading, String>,
    at: DateTime<Utc>,
) -> Outcome {
    let db = state.databases.entry(name).or_default();
    match result {
        Ok(reading) => {
            db.reading = Some(reading);
            db.error = None;
            db.failing_since = None;
        }
        Err(error) => {
            db.failing_since = db.failing_since.or(Some(at));
            db.error = Some(error);
        }
    }
    rebuild_releases(state);
    Outcome::redraw()
}

pub(super) fn unleash(
    state: &mut State,
    epoch: u64,
    source: String,
    result: Result<Vec<Flag>, String>,
    at: DateTime<Utc>,
) -> Outcome {
    let Some(member) = state.member_mut(epoch) else {
        return Outcome::default();
    };
    let (name, feed) = member.unleash.get_or_insert_default();
    *name = source;
    feed.read(result, at);
    rebuild_releases(state);
    Outcome::redraw()
}

pub(super) fn backups(
    state: &mut State,
    name: String,
    result: Result<Repository, String>,
    at: DateTime<Utc>,
) -> Outcome {
    let db = state.databases.entry(name).or_default();
    db.backups.get_or_insert_default().record(result, at);
    rebuild_releases(state);
    Outcome::redraw()
}

pub(super) fn freshness(
    state: &mut State,
    name: String,
    result: Result<DateTime<Utc>, String>,
    at: DateTime<Utc>,
) -> Outcome {
    let Some(freshness) = state
        .databases
        .get_mut(&name)
        .and_then(|db| db.freshness.as_mut())
    else {
        return Outcome::default();
    };
    freshness.record(result, at);
    rebuild_releases(state);
    Outcome::redraw()
}

pub(super) fn metrics(state: &mut State, key: ReleaseKey, mut metrics: ReleaseMetrics) -> Outcome {
    if !state.metrics_targets.iter().any(|t| t.key == key) {
        return Outcome::default();
    }
    metrics.carry_failure_from(state.metrics.get(&key));
    state.metrics.insert(key, metrics);
    Outcome::redraw()
}

pub(super) fn bake_figures(
    state: &mut State,
    key: ReleaseKey,
    figures: crate::model::bake::BakeFigures,
) -> Outcome {
    if !state.bake_targets.iter().any(|t| t.key == key) {
        return Outcome::default();
    }
    state.bakes.insert(key.clone(), figures);
    // A breach is an attention of the release: the list, the board and
    // the wave view see it as any other.
    let touched = HashSet::from([key]);
    refresh_releases(state, &touched);
    crate::app::board::observe(state, &touched);
    let mut out = Outcome::redraw();
    out.effects.extend(metrics_targets(state));
    out
}

/// Every release as the cluster makes it, with what its database says.
pub fn rebuild_releases(state: &mut State) {
    let releases: Vec<Arc<Release>> = state
        .members()
        .flat_map(|m| m.cluster.releases())
        .cloned()
        .collect();
    state.releases = releases
        .iter()
        .map(|release| settled(state, release))
        .collect();
    in_listing_order(&mut state.releases);
}

/// The releases whose objects changed (`touched`) taken afresh from the
/// cluster; the others are kept as they are.
pub(super) fn refresh_releases(state: &mut State, touched: &HashSet<ReleaseKey>) {
    if touched.is_empty() {
        return;
    }
    state.releases.retain(|r| !touched.contains(&r.key));
    let fresh: Vec<Arc<Release>> = touched
        .iter()
        .filter_map(|key| state.member_of(&key.cluster)?.cluster.get(key).cloned())
        .collect();
    for release in &fresh {
        let release = settled(state, release);
        state.releases.push(release);
    }
    in_listing_order(&mut state.releases);
}

/// The release with what its database and its context's Unleash say; the
/// cluster's own, shared, when it has neither (most of a big cluster).
fn settled(state: &State, release: &Arc<Release>) -> Arc<Release> {
    let unleash_flags = state
        .member_of(&release.key.cluster)
        .and_then(|m| m.unleash.as_ref())
        .map(|(_, feed)| feed.linked(&release.flag_names))
        .unwrap_or_default();
    let link = migration::database_link(release, &state.database_links);
    let breach = state.bake_of(release).and_then(|bake| match bake.state {
        BakeState::Breached(b) => Some(Attention::SloBreached(b.describe())),
        _ => None,
    });
    if link.is_none() && release.migration.is_none() && unleash_flags.is_empty() && breach.is_none()
    {
        return Arc::clone(release);
    }
    let mut release = Release::clone(release);
    release.attention.extend(breach);
    if !unleash_flags.is_empty() {
        release.flags.extend(unleash_flags);
        release
            .flags
            .sort_by(|a, b| (&a.key, &a.source).cmp(&(&b.key, &b.source)));
    }
    if link.is_none() && release.migration.is_none() {
        return Arc::new(release);
    }
    if let Some((_, m)) = &link {
        migration::link_migration(&mut release, *m);
    }
    let view = link
        .as_ref()
        .map(|(name, _)| (name.as_str(), database_view(state, name)));
    migration::settle(&mut release, view);
    restore_alarms(state, &mut release);
    Arc::new(release)
}

/// The alarms of the way back past the release's contract: its
/// database's backups, when read, and Velero's of its namespace.
fn restore_alarms(state: &State, release: &mut Release) {
    let Some(m) = &release.migration else {
        return;
    };
    let mut alarms = crate::app::restore::database_backups(state, release)
        .map(|backups| way_back::alarms(backups, m, state.now))
        .unwrap_or_default();
    if let Some(velero) = crate::app::restore::velero(state, release) {
        alarms.extend(velero.alarms);
    }
    if let Some(freshness) = crate::app::restore::freshness(state, release) {
        alarms.extend(freshness.alarms(state.now));
    }
    release
        .attention
        .extend(alarms.into_iter().map(Attention::Restore));
}

fn database_view<'a>(state: &'a State, name: &str) -> migration::DatabaseView<'a> {
    match state.databases.get(name) {
        None => migration::DatabaseView::NotConfigured,
        Some(db) => match (&db.error, db.failing_since, &db.reading) {
            (Some(error), Some(since), _) => migration::DatabaseView::Failed { error, since },
            (_, _, Some(reading)) => migration::DatabaseView::Read(reading),
            _ => migration::DatabaseView::Unread,
        },
    }
}

/// The releases to measure (those with a baseline and a canary) and the
/// bakes to read. An effect only when a set changed, so the task is not
/// restarted at every event; both when both changed (a canary that
/// finishes leaves the one set and joins the other in the same update).
pub(super) fn metrics_targets(state: &mut State) -> Vec<Effect> {
    // Each context's releases measured with its own source's profile.
    let profiles: Vec<(String, _)> = state
        .members()
        .filter_map(|m| Some((m.alias.clone(), m.metrics_source.as_ref()?.profile)))
        .collect();
    if profiles.is_empty() {
        return Vec::new();
    }
    let mut effects = Vec::new();
    let mut targets = Vec::new();
    state.metrics_skipped.clear();
    for release in &state.releases {
        let Some((_, profile)) = profiles.iter().find(|(c, _)| *c == release.key.cluster) else {
            continue;
        };
        match crate::metrics::profiles::target(release, *profile) {
            Ok(t) => targets.push(t),
            Err(why) => {
                state.metrics_skipped.insert(release.key.clone(), why);
            }
        }
    }
    let bakes = bake_targets(state);
    if bakes != state.bake_targets {
        // Figures are kept while their release stays finished as they
        // found it: a window that ended is judged on its last figures.
        let releases = &state.releases;
        state.bakes.retain(|key, f| {
            releases
                .iter()
                .any(|r| &r.key == key && r.completion.as_ref() == Some(&f.completion))
        });
        state.bake_targets = bakes.clone();
        effects.push(Effect::BakeTargets(bakes));
    }
    if targets == state.metrics_targets {
        return effects;
    }
    // A new canary is a new comparison: the old numbers are of other versions.
    state.metrics.retain(|key, _| {
        let same =
            |ts: &[MetricsTarget]| ts.iter().find(|t| &t.key == key).map(|t| t.sides.clone());
        same(&targets) == same(&state.metrics_targets)
    });
    state.metrics_targets = targets.clone();
    effects.push(Effect::MeasureTargets(targets));
    effects
}

/// The finished releases whose bake window is open, or has ended without
/// figures read after its end: each is read once more, then no longer.
fn bake_targets(state: &State) -> Vec<BakeTarget> {
    let mut out = Vec::new();
    for release in &state.releases {
        let (Some(completion), Some(bake)) = (&release.completion, state.bake_of(release)) else {
            continue;
        };
        let end = completion.at + chrono::Duration::seconds(bake.duration_seconds);
        let read_after_end = bake.measured_at.is_some_and(|at| at >= end);
        if !read_after_end {
            let duration = chrono::Duration::seconds(bake.duration_seconds);
            out.push(BakeTarget::of(release, completion, duration));
        }
    }
    out
}
