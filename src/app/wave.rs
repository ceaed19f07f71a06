//! The wave view of a fleet: a row per release name (namespace/name), a
//! cell per cluster, so "checkout: eu promoted, us at step 3/7" reads at a
//! glance. Pure: the rows are grouped from the state, the cells' words are
//! the list's.

use super::State;
use super::member::Member;
use super::state::ConnectionState;
use crate::model::{Health, Release};
use chrono::{DateTime, Utc};
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The cell the wave's keys act on: a release name and a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WaveCursor {
    pub namespace: String,
    pub name: String,
    /// The column: the cluster's short name.
    pub cluster: String,
}

/// One release name across the fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct WaveRow<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    /// One per context shown, in order: its release of this name, if any.
    pub cells: Vec<Option<&'a Release>>,
    /// Some cell needs a human.
    pub attention: bool,
}

/// How far a cluster's column can be believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// Every watch open and listed: an empty cell means no such release.
    Live,
    /// Its connection is lost: the data is as of `since`.
    Stale { since: DateTime<Utc> },
    /// Not listed yet: an empty cell says nothing.
    Unknown,
}

/// How far `member`'s releases can be believed at `now`.
pub fn column(member: &Member, now: DateTime<Utc>) -> Column {
    let listing = member.sources.releases_loading(&member.scope.missing_kinds);
    match &member.connection {
        ConnectionState::Connected => match member.sources.outage(now) {
            Some(outage) => outage
                .data_from
                .map_or(Column::Unknown, |since| Column::Stale { since }),
            None if listing => Column::Unknown,
            None => Column::Live,
        },
        // What was listed before the connection failed stays on screen.
        ConnectionState::Failed { since, .. } | ConnectionState::Connecting { since }
            if !listing =>
        {
            Column::Stale { since: *since }
        }
        ConnectionState::Failed { .. } | ConnectionState::Connecting { .. } => Column::Unknown,
    }
}

/// Of several releases of one name in one cluster (a Rollout and a
/// Deployment both called checkout), the one the cell shows: the one that
/// needs a human, else the first kind.
fn preference(state: &State, r: &Release) -> (Reverse<bool>, crate::model::Kind) {
    (Reverse(state.needs_attention(r)), r.key.kind)
}

/// One release name's cells while grouping, and whether any of its
/// releases matches the filter.
type Group<'a> = (Vec<Option<&'a Release>>, bool);

/// The wave's rows: every release name with a release that matches the
/// filter (its other clusters' cells kept, so a filter never shows a
/// release as missing), the ones needing a human first, worst health
/// first, the others by namespace and name.
pub fn rows(state: &State) -> Vec<WaveRow<'_>> {
    let clusters: Vec<&str> = state.members().map(|m| m.alias.as_str()).collect();
    let needle = state.filter.to_lowercase();
    let mut groups: BTreeMap<(&str, &str), Group<'_>> = BTreeMap::new();
    for r in state.releases.iter().map(Arc::as_ref) {
        let Some(at) = clusters.iter().position(|c| *c == r.key.cluster) else {
            continue;
        };
        let (cells, matched) = groups
            .entry((r.key.namespace.as_str(), r.key.name.as_str()))
            .or_insert_with(|| (vec![None; clusters.len()], false));
        *matched |= needle.is_empty() || State::matches_filter(r, &needle);
        let cell = &mut cells[at];
        if cell.is_none_or(|shown| preference(state, r) < preference(state, shown)) {
            *cell = Some(r);
        }
    }
    let mut rows: Vec<WaveRow<'_>> = groups
        .into_iter()
        .filter(|(_, (_, matched))| *matched)
        .map(|((namespace, name), (cells, _))| WaveRow {
            namespace,
            name,
            attention: cells.iter().flatten().any(|r| state.needs_attention(r)),
            cells,
        })
        .collect();
    rows.sort_by_cached_key(|row| {
        let worst: Option<Health> = row.cells.iter().flatten().map(|r| r.health).min();
        (
            Reverse(row.attention),
            row.attention.then_some(worst),
            row.namespace,
            row.name,
        )
    });
    rows
}

/// The release the cursor's cell shows, if its cluster has one.
pub fn release_at<'a>(state: &'a State, cursor: &WaveCursor) -> Option<&'a Release> {
    state
        .releases
        .iter()
        .map(Arc::as_ref)
        .filter(|r| {
            r.key.cluster == cursor.cluster
                && r.key.namespace == cursor.namespace
                && r.key.name == cursor.name
        })
        .min_by_key(|r| preference(state, r))
}

/// The row and column of the cursor among `rows` (the first row, or the
/// first column, when its own is gone).
pub fn position(state: &State, rows: &[WaveRow<'_>], cursor: &WaveCursor) -> (usize, usize) {
    let row = rows
        .iter()
        .position(|r| r.namespace == cursor.namespace && r.name == cursor.name)
        .unwrap_or(0);
    let column = state
        .members()
        .position(|m| m.alias == cursor.cluster)
        .unwrap_or(0);
    (row, column)
}

/// The cursor on row `row` and column `column` of `rows`, each kept in
/// range; None when there is no row.
pub fn cursor_at(
    state: &State,
    rows: &[WaveRow<'_>],
    row: usize,
    column: usize,
) -> Option<WaveCursor> {
    let r = rows.get(row.min(rows.len().checked_sub(1)?))?;
    let last = state.members().count().saturating_sub(1);
    let cluster = state.members().nth(column.min(last))?.alias.clone();
    Some(WaveCursor {
        namespace: r.namespace.to_string(),
        name: r.name.to_string(),
        cluster,
    })
}

/// A release's short state as the list reads it: `॥ step 2/6` while a
/// canary is at a step, `✔ promoted` once the new revision is stable,
/// else the symbol and the controller's word for its phase (`✖ Failed`,
/// `॥ Paused`, `◌ Progressing`).
pub fn cell_text(r: &Release) -> String {
    let word = match (r.health, r.step_text()) {
        (Health::Degraded | Health::Unknown, _) => r.phase.clone(),
        (_, Some(step)) if !r.fully_promoted() => format!("step {step}"),
        (Health::Healthy, _) if r.fully_promoted() => "promoted".to_string(),
        _ => r.phase.clone(),
    };
    format!("{} {word}", r.health.symbol())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keymap::Keymap;
    use crate::model::{Attention, Kind};
    use crate::test_support::fixture::{EVERY_STRATEGY, Fixture};

    /// A fleet of eu, us and ap with these releases (cluster, name,
    /// health, attention), each a copy of a fixture release.
    fn fleet(rows: &[(&str, &str, Health, bool)]) -> State {
        let template = Fixture::load(&EVERY_STRATEGY).releases()[0].clone();
        let mut state = State::new(template.created.unwrap(), true, Keymap::default());
        state.home = Member::new("eu", 0, state.now);
        state.more.push(Member::new("us", 1, state.now));
        state.more.push(Member::new("ap", 2, state.now));
        state.releases = rows
            .iter()
            .map(|&(cluster, name, health, attention)| {
                let mut r = template.clone();
                r.key.cluster = cluster.into();
                r.key.kind = Kind::Rollout;
                r.key.namespace = "shop".into();
                r.key.name = name.into();
                r.health = health;
                r.attention.clear();
                r.warnings.clear();
                if attention {
                    r.attention.push(Attention::Degraded("pods failing".into()));
                }
                Arc::new(r)
            })
            .collect();
        state
    }

    fn names<'a>(rows: &[WaveRow<'a>]) -> Vec<&'a str> {
        rows.iter().map(|r| r.name).collect()
    }

    fn cells<'a>(row: &WaveRow<'a>) -> Vec<Option<&'a str>> {
        row.cells
            .iter()
            .map(|c| c.map(|r| r.key.cluster.as_str()))
            .collect()
    }

    #[test]
    fn a_row_per_name_a_cell_per_cluster_attention_first() {
        let state = fleet(&[
            ("eu", "cart", Health::Healthy, false),
            ("us", "checkout", Health::Paused, false),
            ("eu", "checkout", Health::Healthy, false),
            ("ap", "search", Health::Degraded, true),
            ("us", "payments", Health::Paused, true),
            ("us", "search", Health::Healthy, false),
        ]);
        let rows = rows(&state);
        assert_eq!(names(&rows), ["search", "payments", "cart", "checkout"]);
        assert_eq!(cells(&rows[0]), [None, Some("us"), Some("ap")]);
        assert!(rows[0].attention && rows[1].attention && !rows[2].attention);
        assert_eq!(cells(&rows[3]), [Some("eu"), Some("us"), None]);
    }

    #[test]
    fn the_filter_keeps_a_matching_names_other_clusters() {
        let mut state = fleet(&[
            ("eu", "checkout", Health::Healthy, false),
            ("us", "checkout", Health::Paused, false),
            ("us", "cart", Health::Healthy, false),
        ]);
        state.filter = "US".into();
        let rows = rows(&state);
        assert_eq!(names(&rows), ["cart", "checkout"]);
        assert_eq!(cells(&rows[1]), [Some("eu"), Some("us"), None]);
        state.filter = "cart".into();
        assert_eq!(names(&super::rows(&state)), ["cart"]);
    }

    #[test]
    fn the_cursor_stays_in_range_and_finds_its_release() {
        let state = fleet(&[
            ("eu", "checkout", Health::Healthy, false),
            ("us", "checkout", Health::Paused, false),
        ]);
        let rows = rows(&state);
        let cursor = cursor_at(&state, &rows, 5, 9).expect("a row");
        assert_eq!(
            (cursor.name.as_str(), cursor.cluster.as_str()),
            ("checkout", "ap")
        );
        assert_eq!(position(&state, &rows, &cursor), (0, 2));
        assert!(release_at(&state, &cursor).is_none(), "ap has no checkout");
        let us = WaveCursor {
            cluster: "us".into(),
            ..cursor
        };
        let release = release_at(&state, &us).expect("us has one");
        assert_eq!(release.health, Health::Paused);
        assert_eq!(cursor_at(&state, &[], 0, 0), None);
    }

    #[test]
    fn cells_read_as_the_list_does() {
        let mut r = Fixture::load(&EVERY_STRATEGY).releases()[0].clone();
        r.steps = vec![crate::model::Step::SetWeight(Some(10)); 6];
        r.current_step = crate::model::StepIndex::At(2);
        r.current_hash = Some("new".into());
        r.stable_hash = Some("old".into());
        r.health = Health::Paused;
        assert_eq!(cell_text(&r), "॥ step 2/6", "Argo's N/M, as the list says");
        r.stable_hash = Some("new".into());
        r.health = Health::Healthy;
        assert_eq!(cell_text(&r), "✔ promoted");
        r.health = Health::Degraded;
        r.phase = "Degraded".into();
        assert_eq!(cell_text(&r), "✖ Degraded");
    }
}
