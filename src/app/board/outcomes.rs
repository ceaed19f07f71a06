//! How releases ended: completed, promoted, aborted or rolled back. Read
//! from the Events still in the cluster and from the transitions the board
//! saw while it ran, the two merged when they tell of the same ending; kept
//! in memory, the newest [`KEPT`], so a board that ran all day shows the day.

use crate::model::{EventKind, Health, Kind, Release, ReleaseKey, TimelineEntry};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::{HashMap, VecDeque};

/// The outcomes kept: a busy day's.
pub const KEPT: usize = 500;

/// An Event and a transition this far apart, of the same release and
/// kind, are the same ending.
const SAME_ENDING: TimeDelta = TimeDelta::minutes(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeKind {
    /// Argo's `RolloutCompleted`, a Deployment rolled out.
    Completed,
    /// Flagger's promotion, or a full promotion from a control room.
    Promoted,
    Aborted,
    /// Flagger's rollback after failed checks, or an undo.
    RolledBack,
}

impl OutcomeKind {
    pub fn word(self) -> &'static str {
        match self {
            OutcomeKind::Completed => "completed",
            OutcomeKind::Promoted => "promoted",
            OutcomeKind::Aborted => "aborted",
            OutcomeKind::RolledBack => "rolled back",
        }
    }

    /// A good ending, or one a human must look into.
    pub fn succeeded(self) -> bool {
        matches!(self, OutcomeKind::Completed | OutcomeKind::Promoted)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseOutcome {
    pub key: ReleaseKey,
    pub kind: OutcomeKind,
    pub at: DateTime<Utc>,
    /// From the start of the rollout to its end, when known.
    pub took: Option<TimeDelta>,
}

/// What the board last saw of a release.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Track {
    Idle,
    InFlight {
        /// When it left rest; None when it was in flight when first seen.
        since: Option<DateTime<Utc>>,
        /// The abort or Flagger failure already told.
        ended_badly: bool,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Outcomes {
    /// Newest first.
    entries: VecDeque<ReleaseOutcome>,
    tracks: HashMap<ReleaseKey, Track>,
    /// Per release, the newest Event time already read for outcomes.
    events_read_until: HashMap<ReleaseKey, DateTime<Utc>>,
}

impl Outcomes {
    /// Newest first.
    pub fn entries(&self) -> impl Iterator<Item = &ReleaseOutcome> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Release `key` as it is at `now` (None: gone): its new Events, and
    /// how it moved since it was last seen.
    pub fn observe(&mut self, key: &ReleaseKey, release: Option<&Release>, now: DateTime<Utc>) {
        let Some(r) = release else {
            self.tracks.remove(key);
            self.events_read_until.remove(key);
            return;
        };
        self.read_events(r);
        self.follow(r, now);
    }

    /// The outcomes the release's Events tell that were not read yet.
    fn read_events(&mut self, r: &Release) {
        let read_until = self.events_read_until.get(&r.key).copied();
        // The timeline is newest first.
        for (i, entry) in r.timeline.iter().enumerate() {
            let Some(at) = entry.at else { continue };
            if read_until.is_some_and(|until| at <= until) {
                continue;
            }
            if let Some(kind) = event_outcome(r.key.kind, entry) {
                let took = rollout_start(r.key.kind, &r.timeline[i + 1..])
                    .filter(|start| *start < at)
                    .map(|start| at - start);
                self.add(ReleaseOutcome {
                    key: r.key.clone(),
                    kind,
                    at,
                    took,
                });
            }
        }
        if let Some(newest) = r.timeline.iter().filter_map(|e| e.at).max() {
            self.events_read_until.insert(r.key.clone(), newest);
        }
    }

    /// The release's move since it was last seen: leaving rest, coming to
    /// rest (completed or promoted), or an abort or a failure.
    fn follow(&mut self, r: &Release, now: DateTime<Utc>) {
        let flying = super::in_flight(r);
        let bad = ended_badly(r);
        let before = self.tracks.get(&r.key).copied();
        let after = match (before, flying) {
            (_, false) => Track::Idle,
            // First seen in flight: since when is not known.
            (None, true) => Track::InFlight {
                since: None,
                ended_badly: bad.is_some(),
            },
            (Some(Track::Idle), true) => Track::InFlight {
                since: Some(now),
                ended_badly: false,
            },
            (Some(Track::InFlight { since, .. }), true) => Track::InFlight {
                since,
                ended_badly: bad.is_some(),
            },
        };
        let took = |since: Option<DateTime<Utc>>| since.map(|s| now - s);
        let ended = match (before, after) {
            (Some(Track::InFlight { since, .. }), Track::Idle) => {
                let kind = if r.key.kind == Kind::Canary {
                    OutcomeKind::Promoted
                } else {
                    OutcomeKind::Completed
                };
                Some((kind, took(since)))
            }
            (
                Some(
                    Track::Idle
                    | Track::InFlight {
                        ended_badly: false, ..
                    },
                ),
                Track::InFlight { since, .. },
            ) => bad.map(|kind| (kind, took(since))),
            _ => None,
        };
        if let Some((kind, took)) = ended {
            self.add(ReleaseOutcome {
                key: r.key.clone(),
                kind,
                at: now,
                took,
            });
        }
        self.tracks.insert(r.key.clone(), after);
    }

    /// Add `outcome`, unless it is one already known (then only what it
    /// adds is kept), newest first; the oldest go past [`KEPT`].
    fn add(&mut self, outcome: ReleaseOutcome) {
        let same = self.entries.iter_mut().find(|o| {
            o.key == outcome.key
                && o.kind == outcome.kind
                && (o.at - outcome.at).abs() <= SAME_ENDING
        });
        if let Some(known) = same {
            known.took = known.took.or(outcome.took);
            return;
        }
        // Endings at the same instant (one release in each cluster of a
        // fleet) in the order of their keys, whichever was seen first.
        let at = self
            .entries
            .iter()
            .position(|o| o.at < outcome.at || (o.at == outcome.at && o.key > outcome.key))
            .unwrap_or(self.entries.len());
        self.entries.insert(at, outcome);
        self.entries.truncate(KEPT);
    }
}

/// How a release in flight has ended badly, if it has: an Argo abort, a
/// Flagger canary failed (and rolled back).
fn ended_badly(r: &Release) -> Option<OutcomeKind> {
    if r.aborted {
        return Some(OutcomeKind::Aborted);
    }
    let failed = r.flagger.as_ref().is_some_and(|f| f.phase == "Failed");
    (failed && r.health == Health::Degraded).then_some(OutcomeKind::RolledBack)
}

/// The ending an Event tells of, if any: Argo's own reasons, Flagger's
/// messages (it records every event as `Synced`), and the actions a
/// control room records.
pub fn event_outcome(kind: Kind, e: &TimelineEntry) -> Option<OutcomeKind> {
    if e.kind == EventKind::Action {
        return None;
    }
    let flagger = |prefix: &str| kind == Kind::Canary && e.message.starts_with(prefix);
    match e.reason.as_str() {
        "RolloutCompleted" => Some(OutcomeKind::Completed),
        "RolloutAborted" | "CutoverAbort" => Some(OutcomeKind::Aborted),
        "CutoverPromoteFull" => Some(OutcomeKind::Promoted),
        "CutoverUndo" => Some(OutcomeKind::RolledBack),
        _ if flagger("Promotion completed!") => Some(OutcomeKind::Promoted),
        _ if flagger("Canary failed!") || flagger("Rolling back") => Some(OutcomeKind::RolledBack),
        _ => None,
    }
}

/// When the rollout that ended began, by the Events before its end
/// (`earlier`, newest first): the oldest since the ending before it.
fn rollout_start(kind: Kind, earlier: &[TimelineEntry]) -> Option<DateTime<Utc>> {
    earlier
        .iter()
        .take_while(|e| event_outcome(kind, e).is_none())
        .filter_map(|e| e.at)
        .min()
}
