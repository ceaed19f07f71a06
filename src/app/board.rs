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
use std::collections::{HashMap, HashSet};
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
    /// The release the cycle or the arrows put in the spotlight. It stays
    /// there for its period even once it lands, so the room sees how it
    /// ended; with no cycle, the first in flight takes its place then.
    pub chosen: Option<ReleaseKey>,
    /// When the spotlight last moved: the cycle moves it on a period later.
    pub moved_at: DateTime<Utc>,
    /// The rows of the releases in flight that need no attention, as
    /// placed: each keeps its row while in flight, and one taking off
    /// takes the first row left free (`None`), so that releases landing
    /// and taking off do not move the others.
    pub slots: Vec<Option<ReleaseKey>>,
    pub outcomes: Outcomes,
}

impl Board {
    pub fn new(settings: BoardSettings, now: DateTime<Utc>) -> Board {
        Board {
            settings,
            paused: false,
            chosen: None,
            moved_at: now,
            slots: Vec::new(),
            outcomes: Outcomes::default(),
        }
    }
}

/// When the cycle moves the spotlight next, if it runs and there is
/// somewhere to move it: another release in flight, or away from one that
/// landed.
pub fn next_move(state: &State, board: &Board) -> Option<DateTime<Utc>> {
    let period = board.settings.cycle.filter(|_| !board.paused)?;
    let rows = in_flight_releases(state);
    let shown = spotlight(state, board, &rows);
    let landed = shown.is_some_and(|r| !in_flight(r));
    let others = rows
        .iter()
        .filter(|r| shown.is_none_or(|s| s.key != r.key))
        .count();
    (landed || others > 0).then(|| board.moved_at + period)
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

/// The release in the spotlight: the one chosen (see [`Board::chosen`]),
/// else the first of `rows` (see [`in_flight_releases`]).
pub fn spotlight<'a>(state: &'a State, board: &Board, rows: &[&'a Release]) -> Option<&'a Release> {
    let chosen = board.chosen.as_ref().and_then(|key| {
        rows.iter()
            .find(|r| &r.key == key)
            .copied()
            .or_else(|| board.settings.cycle.and(state.release(key)))
    });
    chosen.or_else(|| rows.first().copied())
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
    let shown = match &board.chosen {
        // The first in flight is shown.
        None => 0,
        Some(chosen) => match keys.iter().position(|key| key == chosen) {
            Some(p) => isize::try_from(p).unwrap_or(0),
            // From a release that landed: on to the first in flight, or
            // back to the last.
            None if by > 0 => -1,
            None => 0,
        },
    };
    let len = isize::try_from(keys.len()).unwrap_or(isize::MAX);
    let next = (shown + by).rem_euclid(len);
    board.chosen = keys.get(usize::try_from(next).unwrap_or(0)).cloned();
}

/// The cycle's period is over: the spotlight moves on. With nothing to
/// move to, the period starts again, so a second release arriving later
/// gets its turn a whole period after it came. True when it moved.
pub fn cycle_if_due(state: &mut State) -> bool {
    let Some(board) = state.board.as_ref() else {
        return false;
    };
    let now = state.now;
    match next_move(state, board) {
        Some(at) if now >= at => {
            step(state, 1);
            true
        }
        Some(_) => false,
        None => {
            if let Some(board) = state.board.as_mut() {
                board.moved_at = now;
            }
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
    keep_spotlight(state);
    place_in_flight(state);
}

/// Free the rows of releases landed (or now needing attention), and give
/// those newly in flight the first rows free.
fn place_in_flight(state: &mut State) {
    // In the list's order, unsorted: this runs at every change, and a big
    // cluster's first lists are thousands of changes.
    let calm: Vec<ReleaseKey> = state
        .releases
        .iter()
        .filter(|r| in_flight(r) && !r.needs_attention())
        .map(|r| r.key.clone())
        .collect();
    let Some(board) = state.board.as_mut() else {
        return;
    };
    let flying: HashSet<&ReleaseKey> = calm.iter().collect();
    for slot in &mut board.slots {
        if slot.as_ref().is_some_and(|k| !flying.contains(k)) {
            *slot = None;
        }
    }
    let placed: HashSet<ReleaseKey> = board.slots.iter().flatten().cloned().collect();
    // One pass over the rows however many take off at once (a big
    // cluster's first list puts thousands in flight).
    let mut free = 0;
    for key in calm.into_iter().filter(|k| !placed.contains(k)) {
        while free < board.slots.len() && board.slots[free].is_some() {
            free += 1;
        }
        match board.slots.get_mut(free) {
            Some(slot) => *slot = Some(key),
            None => board.slots.push(Some(key)),
        }
    }
    while board.slots.last().is_some_and(Option::is_none) {
        board.slots.pop();
    }
}

/// The rows of the list of releases in flight beside the spotlight
/// (`spot`, not among them): those needing attention first, in the list's
/// order, then the others in their rows (`None`: a row left free).
pub fn listed<'a>(
    state: &'a State,
    board: &Board,
    spot: Option<&Release>,
) -> Vec<Option<&'a Release>> {
    let shown = |r: &&Release| spot.is_none_or(|s| s.key != r.key);
    let rows = in_flight_releases(state);
    let (urgent, calm): (Vec<&Release>, Vec<&Release>) =
        rows.into_iter().partition(|r| r.needs_attention());
    let mut out: Vec<Option<&Release>> = urgent.into_iter().filter(shown).map(Some).collect();
    let placed: HashSet<&ReleaseKey> = board.slots.iter().flatten().collect();
    let by_key: HashMap<&ReleaseKey, &Release> = calm.iter().map(|r| (&r.key, *r)).collect();
    for slot in &board.slots {
        match slot.as_ref().and_then(|k| by_key.get(k)) {
            Some(r) if shown(r) => out.push(Some(*r)),
            Some(_) => {}
            None => out.push(None),
        }
    }
    // Not placed yet (the board has not seen them change): after the rest.
    out.extend(
        calm.iter()
            .filter(|r| !placed.contains(&r.key) && shown(r))
            .map(|r| Some(*r)),
    );
    while out.last().is_some_and(Option::is_none) {
        out.pop();
    }
    out
}

/// The spotlight stays on its release (see [`Board::chosen`]). When none
/// is chosen, or it is gone (or landed, with no cycle), the first in
/// flight is chosen in its place, for a whole period: were it left to
/// whichever release is first at each change, a busy cluster would swap
/// the spotlight every second.
fn keep_spotlight(state: &mut State) {
    let Some(board) = state.board.as_ref() else {
        return;
    };
    let cycling = board.settings.cycle.is_some();
    let kept = |r: &Release| in_flight(r) || cycling;
    if let Some(key) = &board.chosen
        && state.release(key).is_some_and(kept)
    {
        return;
    }
    let first = in_flight_releases(state).first().map(|r| r.key.clone());
    let now = state.now;
    let Some(board) = state.board.as_mut() else {
        return;
    };
    if board.chosen.is_some() || first.is_some() {
        board.moved_at = now;
    }
    board.chosen = first;
}
