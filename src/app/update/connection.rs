//! The cluster connection and its watches: connecting, connected, failed,
//! the watched objects as they change, and a new scope asked for.

use super::access::access_checks;
use super::measures::{metrics_targets, refresh_releases};
use super::{Effect, Outcome, ScopeChange};
use crate::app::health::{Loading, Progress};
use crate::app::state::{ConnectionState, Scope, State, View};
use crate::cluster::kinds::WatchedKind;
use crate::cluster::watch::SourceUpdate;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

pub(super) fn connecting(state: &mut State, context: String, namespace: Option<String>) -> Outcome {
    state.scope.aim(context, namespace);
    Outcome::redraw()
}

pub(super) fn connected(state: &mut State, scope: Scope) -> Outcome {
    state.connection = ConnectionState::Connected;
    state.scope = scope;
    let mut out = Outcome::redraw();
    out.effects.extend(access_checks(state));
    out
}

pub(super) fn failed(state: &mut State, error: String, at: DateTime<Utc>) -> Outcome {
    let since = match &state.connection {
        ConnectionState::Failed { since, .. } => *since,
        _ => at,
    };
    state.connection = ConnectionState::Failed { error, since };
    Outcome::redraw()
}

/// What the watches reported: every update recorded, then the releases
/// rebuilt once if any objects changed. Counts of lists under way alone
/// redraw only when what the screen says of them changes.
pub(super) fn sources(state: &mut State, updates: Vec<SourceUpdate>) -> Outcome {
    let mut objects_changed = false;
    let mut touched = HashSet::new();
    let loading_before = loading_shown(state);
    let mut news = false;
    for update in updates {
        news |= !matches!(update, SourceUpdate::Listing { .. });
        match update {
            SourceUpdate::Objects {
                source,
                kind,
                objects,
                at,
            } => {
                touched.extend(state.cluster.set(&source, kind, objects));
                state.sources.listed(&source, kind, at);
                objects_changed = true;
            }
            SourceUpdate::Pods { source, pods, at } => {
                touched.extend(state.cluster.set_pods(&source, pods));
                state.sources.listed(&source, WatchedKind::Pod, at);
                objects_changed = true;
            }
            SourceUpdate::PodChanges {
                source,
                applied,
                deleted,
                at,
            } => {
                touched.extend(state.cluster.change_pods(&source, applied, &deleted));
                state.sources.listed(&source, WatchedKind::Pod, at);
                objects_changed = true;
            }
            SourceUpdate::Listing {
                source,
                kind,
                loaded,
                total,
                at,
            } => state
                .sources
                .listing(&source, kind, Progress { loaded, total }, at),
            SourceUpdate::Health { source, error, at } => match error {
                Some(e) => state.sources.failed(&source, e, at),
                None => state.sources.healthy(&source, at),
            },
        }
    }
    let mut out = Outcome {
        redraw: news || loading_shown(state) != loading_before,
        ..Outcome::default()
    };
    if objects_changed {
        refresh_releases(state, &touched);
        crate::app::board::observe(state, &touched);
        super::keys::keep_selection(state);
        out.effects.extend(access_checks(state));
        out.effects.extend(metrics_targets(state));
    }
    out
}

/// What the screen says of the lists under way.
fn loading_shown(state: &State) -> (Vec<Loading>, bool) {
    (
        state.sources.loading(),
        state.sources.releases_loading(&state.scope.missing_kinds),
    )
}

pub(super) fn reconnect(state: &mut State, change: ScopeChange) -> Outcome {
    state.epoch += 1;
    state.connection = ConnectionState::Connecting { since: state.now };
    // The namespace asked for is shown at once; a new context's default
    // namespace comes with `Msg::Connecting`.
    if let ScopeChange::Namespace(ns) = &change {
        state.scope.namespace = ns.clone();
    }
    state.cluster.clear();
    state.releases.clear();
    state.sources.clear();
    state.access.clear();
    state.waiting = None;
    state.metrics_source = None;
    state.metrics_problem = None;
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
