//! The cluster connection and its watches: connecting, connected, failed,
//! the watched objects as they change, and a new scope asked for.

use super::access::access_checks;
use super::measures::{metrics_targets, rebuild_releases, refresh_releases};
use super::{Effect, Outcome, ScopeChange};
use crate::app::health::{Loading, Progress};
use crate::app::member::Member;
use crate::app::state::{ConnectionState, Scope, State, View};
use crate::cluster::kinds::WatchedKind;
use crate::cluster::velero::SOURCES as VELERO_SOURCES;
use crate::cluster::watch::SourceUpdate;
use crate::model::restore::velero::VeleroState;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// The context whose connection is `epoch`'s: every message below is
/// for a current one (see `update::step`).
fn member(state: &mut State, epoch: u64) -> &mut Member {
    state
        .member_mut(epoch)
        .expect("a message of a current connection")
}

pub(super) fn connecting(
    state: &mut State,
    epoch: u64,
    context: String,
    namespace: Option<String>,
) -> Outcome {
    member(state, epoch).scope.aim(context, namespace);
    Outcome::redraw()
}

pub(super) fn connected(state: &mut State, epoch: u64, scope: Scope) -> Outcome {
    let member = member(state, epoch);
    member.connection = ConnectionState::Connected;
    member.scope = scope;
    let mut out = Outcome::redraw();
    out.effects.extend(access_checks(state));
    out
}

pub(super) fn failed(state: &mut State, epoch: u64, error: String, at: DateTime<Utc>) -> Outcome {
    let member = member(state, epoch);
    let since = match &member.connection {
        ConnectionState::Failed { since, .. } => *since,
        _ => at,
    };
    member.connection = ConnectionState::Failed { error, since };
    Outcome::redraw()
}

/// What the watches of one context reported: every update recorded, then
/// the releases rebuilt once if any objects changed. Counts of lists
/// under way alone redraw only when what the screen says of them changes.
pub(super) fn sources(state: &mut State, epoch: u64, updates: Vec<SourceUpdate>) -> Outcome {
    let mut objects_changed = false;
    let mut touched = HashSet::new();
    let loading_before = loading_shown(state);
    let mut news = false;
    let member = member(state, epoch);
    let (cluster, watches) = (&mut member.cluster, &mut member.sources);
    let mut velero_changed = false;
    for update in updates {
        news |= !matches!(update, SourceUpdate::Listing { .. });
        if let Some(plural) = update.source().strip_prefix(VELERO_SOURCES) {
            let plural = plural.to_string();
            velero_changed |= velero(&mut member.velero, &plural, update);
            continue;
        }
        // What a set of objects changed: the releases it touched, and the
        // source that is now listed.
        let listed = match update {
            SourceUpdate::Objects {
                source,
                kind,
                objects,
                at,
            } => Some((cluster.set(&source, kind, objects), source, kind, at)),
            SourceUpdate::Pods { source, pods, at } => Some((
                cluster.set_pods(&source, pods),
                source,
                WatchedKind::Pod,
                at,
            )),
            SourceUpdate::PodChanges {
                source,
                applied,
                deleted,
                at,
            } => Some((
                cluster.change_pods(&source, applied, &deleted),
                source,
                WatchedKind::Pod,
                at,
            )),
            SourceUpdate::Listing {
                source,
                kind,
                loaded,
                total,
                at,
            } => {
                watches.listing(&source, kind, Progress { loaded, total }, at);
                None
            }
            SourceUpdate::Health { source, error, at } => {
                match error {
                    Some(e) => watches.failed(&source, e, at),
                    None => watches.healthy(&source, at),
                }
                None
            }
        };
        if let Some((keys, source, kind, at)) = listed {
            touched.extend(keys);
            watches.listed(&source, kind, at);
            objects_changed = true;
        }
    }
    let mut out = Outcome {
        redraw: news || loading_shown(state) != loading_before,
        ..Outcome::default()
    };
    if velero_changed {
        rebuild_releases(state);
    }
    if objects_changed {
        refresh_releases(state, &touched);
        crate::app::board::observe(state, &touched);
        super::keys::keep_selection(state);
        out.effects.extend(access_checks(state));
        out.effects.extend(metrics_targets(state));
    }
    out
}

/// Record an update of a Velero watch (of `plural`); whether it changed
/// what the releases' way back says.
fn velero(velero: &mut VeleroState, plural: &str, update: SourceUpdate) -> bool {
    match update {
        SourceUpdate::Objects {
            kind, objects, at, ..
        } => {
            crate::cluster::velero::set(&mut velero.velero, kind, &objects);
            velero.listed(at);
        }
        SourceUpdate::Health { error, at, .. } => velero.health(plural, error, at),
        SourceUpdate::Listing { .. }
        | SourceUpdate::Pods { .. }
        | SourceUpdate::PodChanges { .. } => {
            return false;
        }
    }
    true
}

/// What the screen says of the lists under way.
fn loading_shown(state: &State) -> Vec<(Vec<Loading>, bool)> {
    state
        .members()
        .map(|m| {
            (
                m.sources.loading(),
                m.sources.releases_loading(&m.scope.missing_kinds),
            )
        })
        .collect()
}

pub(super) fn reconnect(state: &mut State, change: ScopeChange) -> Outcome {
    state.epoch += 1;
    state.home.epoch = state.epoch;
    state.home.connection = ConnectionState::Connecting { since: state.now };
    // The namespace asked for is shown at once; a new context's default
    // namespace comes with `Msg::Connecting`.
    if let ScopeChange::Namespace(ns) = &change {
        state.home.scope.namespace = ns.clone();
    }
    state.home.cluster.clear();
    state.releases.clear();
    state.home.sources.clear();
    state.access.clear();
    state.waiting = None;
    state.home.metrics_source = None;
    state.home.metrics_problem = None;
    state.metrics_targets.clear();
    state.metrics_skipped.clear();
    state.metrics.clear();
    state.view = View::List;
    state.selected = None;
    state.selection_chosen = false;
    Outcome::redraw().with(Effect::Reconnect {
        epoch: state.epoch,
        change,
    })
}
