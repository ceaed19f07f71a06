//! The board of `cutover watch`, for a screen nobody touches: which release
//! is in the spotlight and when the cycle moves it on, how stale the data
//! is, and the outcomes seen. Changed only by the update step; time comes
//! from its messages.

mod outcomes;
#[cfg(test)]
mod tests;

pub use outcomes::{OutcomeKind, Outcomes, ReleaseOutcome};

use super::member::Member;
use super::state::{ConnectionState, Overlay, State};
use super::update::Outcome;
use crate::app::keymap::{Chord, KeyCommand};
use crate::model::{Health, Release, ReleaseKey};
use chrono::{DateTime, TimeDelta, Utc};
use crossterm::event::KeyCode;
use std::collections::HashSet;
use std::sync::Arc;

/// What `cutover watch` is asked for on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardSettings {
    /// How long the spotlight stays on a release; None: until moved by hand.
    pub cycle: Option<TimeDelta>,
    /// Data older than this is said to be stale, across the screen.
    pub stale_after: TimeDelta,
}

impl Default for BoardSettings {
    fn default() -> Self {
        BoardSettings {
            cycle: Some(TimeDelta::seconds(20)),
            stale_after: TimeDelta::seconds(30),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Board {
    pub settings: BoardSettings,
    /// Space stopped the cycle.
    pub paused: bool,
    /// The release the cycle or the arrows put in the spotlight; while it
    /// is no longer in flight, the first that is takes its place.
    pub chosen: Option<ReleaseKey>,
    /// When the spotlight last moved: the cycle moves it on a period later.
    pub moved_at: DateTime<Utc>,
    pub outcomes: Outcomes,
}

impl Board {
    pub fn new(settings: BoardSettings, now: DateTime<Utc>) -> Board {
        Board {
            settings,
            paused: false,
            chosen: None,
            moved_at: now,
            outcomes: Outcomes::default(),
        }
    }

    /// When the cycle moves the spotlight next, if it runs and there is
    /// another release to move to among `candidates`.
    pub fn next_move(&self, candidates: usize) -> Option<DateTime<Utc>> {
        let period = self.settings.cycle.filter(|_| !self.paused)?;
        (candidates > 1).then(|| self.moved_at + period)
    }
}

/// A release the board gives room to: one that needs attention or is
/// anywhere but healthy and at rest. The others are only counted.
pub fn in_flight(r: &Release) -> bool {
    r.needs_attention() || r.health != Health::Healthy
}

/// The releases in flight, attention first, in the list's order.
pub fn in_flight_releases(state: &State) -> Vec<&Release> {
    let mut rows: Vec<&Release> = state
        .releases
        .iter()
        .map(Arc::as_ref)
        .filter(|r| in_flight(r))
        .collect();
    rows.sort_by_cached_key(|r| state.attention_order(r));
    rows
}

/// The release in the spotlight among `rows` (see [`in_flight_releases`]):
/// the one chosen, else the first.
pub fn spotlight<'a>(board: &Board, rows: &[&'a Release]) -> Option<&'a Release> {
    let chosen = board
        .chosen
        .as_ref()
        .and_then(|k| rows.iter().find(|r| &r.key == k));
    chosen.or(rows.first()).copied()
}

/// Since when one context's data is not known to match its cluster:
/// since the connection was lost or the first watch failed. None while
/// live.
pub fn stale_since(member: &Member) -> Option<DateTime<Utc>> {
    match &member.connection {
        ConnectionState::Connecting { since } | ConnectionState::Failed { since, .. } => {
            Some(*since)
        }
        ConnectionState::Connected => member.sources.failing_since(),
    }
}

/// A context whose data is older than the board's threshold.
#[derive(Debug, Clone, Copy)]
pub struct Stale<'a> {
    pub member: &'a Member,
    /// Since when nothing new has come from its cluster.
    pub since: DateTime<Utc>,
}

/// When each context that is not live turns (or turned) stale by the
/// board's threshold, in the order shown.
pub fn stale_at(state: &State, board: &Board) -> Vec<DateTime<Utc>> {
    state
        .members()
        .filter_map(stale_since)
        .map(|since| since + board.settings.stale_after)
        .collect()
}

/// The contexts whose data has been stale for longer than the threshold,
/// in the order shown: one cluster down marks that one alone.
pub fn stale<'a>(state: &'a State, board: &Board) -> Vec<Stale<'a>> {
    state
        .members()
        .filter_map(|member| {
            let since = stale_since(member)?;
            (state.now >= since + board.settings.stale_after).then_some(Stale { member, since })
        })
        .collect()
}

/// Since when the data of `cluster` (a release key's) has been stale, once
/// it is older than the threshold.
pub fn stale_cluster(state: &State, board: &Board, cluster: &str) -> Option<DateTime<Utc>> {
    stale(state, board)
        .into_iter()
        .find(|s| s.member.alias == cluster)
        .map(|s| s.since)
}

/// Whether the releases on screen may not be all there are yet: some
/// context is still listing its releases' kinds.
pub fn releases_loading(state: &State) -> bool {
    state
        .members()
        .any(|m| m.sources.releases_loading(&m.scope.missing_kinds))
}

/// Move the spotlight `by` releases along the ones in flight (wrapping),
/// and restart the cycle's period.
fn step(state: &mut State, by: isize) {
    let keys: Vec<ReleaseKey> = in_flight_releases(state)
        .iter()
        .map(|r| r.key.clone())
        .collect();
    let now = state.now;
    let Some(board) = state.board.as_mut() else {
        return;
    };
    board.moved_at = now;
    if keys.is_empty() {
        board.chosen = None;
        return;
    }
    let shown = board
        .chosen
        .as_ref()
        .and_then(|k| keys.iter().position(|key| key == k))
        .unwrap_or(0);
    let len = isize::try_from(keys.len()).unwrap_or(isize::MAX);
    let next = (isize::try_from(shown).unwrap_or(0) + by).rem_euclid(len);
    board.chosen = keys.get(usize::try_from(next).unwrap_or(0)).cloned();
}

/// The cycle's period is over: the spotlight moves on. With nothing to
/// move to, the period starts again, so a second release arriving later
/// gets its turn a whole period after it came. True when it moved.
pub fn cycle_if_due(state: &mut State) -> bool {
    let candidates = state.releases.iter().filter(|r| in_flight(r)).count();
    let now = state.now;
    let Some(board) = state.board.as_mut() else {
        return false;
    };
    match board.next_move(candidates) {
        Some(at) if now >= at => {
            step(state, 1);
            true
        }
        Some(_) => false,
        None => {
            board.moved_at = now;
            false
        }
    }
}

/// A key on the board: `q` quits, Space pauses the cycle, ←/→ move the
/// spotlight, `?` shows the keys; every other key does nothing.
pub fn key(state: &mut State, chord: Chord) -> Outcome {
    if state.keymap.command(&chord) == Some(KeyCommand::Quit) {
        state.quit = true;
        return Outcome::default();
    }
    if state.overlay.take().is_some() {
        // Any key closes the help.
        return Outcome::redraw();
    }
    if chord.ctrl || chord.alt {
        return Outcome::default();
    }
    match chord.code {
        KeyCode::Char(' ') => {
            let now = state.now;
            if let Some(board) = state.board.as_mut() {
                board.paused = !board.paused;
                board.moved_at = now;
            }
        }
        KeyCode::Left => step(state, -1),
        KeyCode::Right => step(state, 1),
        KeyCode::Char('?') => state.overlay = Some(Overlay::Help),
        _ => return Outcome::default(),
    }
    Outcome::redraw()
}

/// The releases whose objects changed (`touched`): the outcomes their
/// Events tell and the transitions the board sees.
pub fn observe(state: &mut State, touched: &HashSet<ReleaseKey>) {
    let Some(mut board) = state.board.take() else {
        return;
    };
    for key in touched {
        board.outcomes.observe(key, state.release(key), state.now);
    }
    state.board = Some(board);
}
