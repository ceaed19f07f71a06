//! The one place state changes: `update(state, msg)` is synchronous and
//! pure (time arrives in messages), and returns the effects to run.
//!
//! The messages are handled by concern: the cluster connection and its
//! watches (`connection`), metrics and databases (`measures`), actions and
//! their confirmations (`actions`) and the permission reviews they need
//! (`access`), keys, navigation and the `:` command
//! line (`keys`).

mod access;
mod actions;
mod connection;
mod keys;
mod measures;

pub use measures::rebuild_releases;

use super::keymap::Chord;
use super::state::{LastResult, MetricsSource, Scope, State, TerminalLoss};
use crate::cluster::rbac::AccessKey;
use crate::cluster::watch::SourceUpdate;
use crate::metrics::profiles::MetricsTarget;
use crate::model::action::{Action, ActionOutcome, ActionRequest};
use crate::model::metrics::ReleaseMetrics;
use crate::model::migration::DatabaseReading;
use crate::model::{EventKind, ReleaseKey, TimelineEntry};
use chrono::{DateTime, Utc};

/// Every message carries the instant its news was read: the update step
/// never reads the clock.
#[derive(Debug, Clone)]
pub enum Msg {
    Key {
        chord: Chord,
        at: DateTime<Utc>,
    },
    /// The moment the text on screen changes by itself (an age, a
    /// countdown) has come, or the job was continued after a stop.
    Tick(DateTime<Utc>),
    /// A connection is being made, to this context and namespace
    /// (`None`: all), as asked and as the kubeconfig completes it.
    Connecting {
        epoch: u64,
        context: String,
        namespace: Option<String>,
        at: DateTime<Utc>,
    },
    Connected {
        epoch: u64,
        scope: Scope,
        at: DateTime<Utc>,
    },
    ConnectFailed {
        epoch: u64,
        error: String,
        at: DateTime<Utc>,
    },
    /// What the watches reported, in order: one update, or a burst the
    /// main loop took together so the releases are rebuilt once.
    Source {
        epoch: u64,
        updates: Vec<SourceUpdate>,
    },
    Access {
        key: AccessKey,
        result: Result<(bool, String), String>,
        at: DateTime<Utc>,
    },
    ActionDone {
        id: u64,
        outcome: ActionOutcome,
        at: DateTime<Utc>,
    },
    /// Which metrics source serves the connection's context, or why none.
    MetricsSource {
        epoch: u64,
        source: Result<MetricsSource, String>,
        at: DateTime<Utc>,
    },
    /// One database read, or why not.
    Database {
        name: String,
        result: Result<DatabaseReading, String>,
        at: DateTime<Utc>,
    },
    /// The context's Unleash read (the flags, or why not), with its name
    /// ("Unleash default/production").
    Unleash {
        epoch: u64,
        source: String,
        result: Result<Vec<crate::model::flag::Flag>, String>,
        at: DateTime<Utc>,
    },
    /// One database's backup repository read, or why not.
    Backups {
        name: String,
        result: Result<crate::model::restore::Repository, String>,
        at: DateTime<Utc>,
    },
    /// When one database's newest backup was, as Prometheus says, or why
    /// it could not be read.
    Freshness {
        name: String,
        result: Result<DateTime<Utc>, String>,
        at: DateTime<Utc>,
    },
    /// One release measured.
    Metrics {
        epoch: u64,
        key: ReleaseKey,
        metrics: Box<ReleaseMetrics>,
        at: DateTime<Utc>,
    },
    /// One finished release's bake figures read.
    BakeFigures {
        epoch: u64,
        key: ReleaseKey,
        figures: Box<crate::model::bake::BakeFigures>,
        at: DateTime<Utc>,
    },
    Resize {
        at: DateTime<Utc>,
    },
    /// An alert sink's attempt ended: sent, or why not (the sink named
    /// as the header says it, never by its URL).
    AlertSink {
        sink: String,
        result: Result<(), String>,
        at: DateTime<Utc>,
    },
    /// The terminal is gone (hung up, or its keys can no longer be read):
    /// nothing can be shown or typed any more.
    TerminalLost {
        loss: TerminalLoss,
        at: DateTime<Utc>,
    },
}

impl Msg {
    /// When the message's news was read (a burst: its newest), if it
    /// carries any.
    pub fn at(&self) -> Option<DateTime<Utc>> {
        let at = match self {
            Msg::Source { updates, .. } => return updates.iter().map(SourceUpdate::at).max(),
            Msg::Tick(at)
            | Msg::Key { at, .. }
            | Msg::Connecting { at, .. }
            | Msg::Connected { at, .. }
            | Msg::ConnectFailed { at, .. }
            | Msg::Access { at, .. }
            | Msg::ActionDone { at, .. }
            | Msg::MetricsSource { at, .. }
            | Msg::Database { at, .. }
            | Msg::Unleash { at, .. }
            | Msg::Backups { at, .. }
            | Msg::Freshness { at, .. }
            | Msg::Metrics { at, .. }
            | Msg::BakeFigures { at, .. }
            | Msg::Resize { at }
            | Msg::AlertSink { at, .. }
            | Msg::TerminalLost { at, .. } => *at,
        };
        Some(at)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScopeChange {
    Namespace(Option<String>),
    Context(String),
}

#[derive(Debug, Clone)]
pub enum Effect {
    /// Drop the current connection and connect with this scope change; the
    /// new connection's messages carry `epoch`.
    Reconnect {
        epoch: u64,
        change: ScopeChange,
    },
    /// Watch the Events of this release only (or none).
    WatchEvents(Option<ReleaseKey>),
    CheckAccess(AccessKey),
    Act(Box<ActionRequest>),
    /// Measure these releases from now on.
    MeasureTargets(Vec<MetricsTarget>),
    /// Read these bakes' figures from now on.
    BakeTargets(Vec<crate::metrics::bake::BakeTarget>),
    /// An action refused before sending: audited and recorded as an Event.
    AuditRefusal {
        request: Box<ActionRequest>,
        reason: String,
    },
    /// Send an alert to the sinks of its context.
    Alert(Box<crate::model::alert::Alert>),
    /// Give the terminal back to the shell and stop, as Ctrl-Z does in a
    /// shell; the screen is redrawn whole when the job is continued.
    Suspend,
}

/// What an update did: the effects to run, and whether the screen changed.
#[derive(Debug, Default)]
pub struct Outcome {
    pub effects: Vec<Effect>,
    pub redraw: bool,
}

impl Outcome {
    pub(super) fn redraw() -> Outcome {
        Outcome {
            effects: Vec::new(),
            redraw: true,
        }
    }

    pub(super) fn with(mut self, effect: Effect) -> Outcome {
        self.effects.push(effect);
        self
    }
}

pub fn update(state: &mut State, msg: Msg) -> Outcome {
    // Whatever the message does, it does at the time it was read: a key
    // after a quiet hour acts now, not at the last watch event.
    if let Some(at) = msg.at() {
        state.now = at;
    }
    // A key changes no condition (an action it sends is told apart).
    let conditions_may_change = !matches!(msg, Msg::Key { .. } | Msg::Resize { .. });
    let mut out = step(state, msg);
    let notices: Vec<Effect> = out
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::Act(request) => crate::app::alerts::notice_of(request, state.now),
            _ => None,
        })
        .collect();
    out.effects.extend(notices);
    if conditions_may_change {
        out.effects.extend(crate::app::alerts::observe(state));
    }
    // The board's cycle moves with time, which every message carries.
    out.redraw |= crate::app::board::cycle_if_due(state);
    out
}

fn step(state: &mut State, msg: Msg) -> Outcome {
    match msg {
        Msg::Key { chord, .. } => keys::key(state, chord),
        // Ticks come only when the screen must be drawn at a new time; a
        // new size shows more or less.
        Msg::Tick(_) | Msg::Resize { .. } => Outcome::redraw(),
        Msg::AlertSink { sink, result, at } => {
            state.alerts.sink_result(sink, result, at);
            Outcome::redraw()
        }
        Msg::TerminalLost { loss, .. } => {
            state.terminal_lost = Some(loss);
            state.quit = true;
            Outcome::default()
        }
        Msg::Connecting {
            epoch,
            context,
            namespace,
            ..
        } if state.knows(epoch) => connection::connecting(state, epoch, context, namespace),
        Msg::Connected { epoch, scope, .. } if state.knows(epoch) => {
            connection::connected(state, epoch, scope)
        }
        Msg::ConnectFailed { epoch, error, at } if state.knows(epoch) => {
            connection::failed(state, epoch, error, at)
        }
        Msg::Source { epoch, updates } if state.knows(epoch) => {
            connection::sources(state, epoch, updates)
        }
        Msg::MetricsSource { epoch, source, .. } if state.knows(epoch) => {
            measures::metrics_source(state, epoch, source)
        }
        Msg::Database { name, result, at } => measures::database(state, name, result, at),
        Msg::Unleash {
            epoch,
            source,
            result,
            at,
        } => measures::unleash(state, epoch, source, result, at),
        Msg::Backups { name, result, at } => measures::backups(state, name, result, at),
        Msg::Freshness { name, result, at } => measures::freshness(state, name, result, at),
        Msg::Metrics {
            epoch,
            key,
            metrics,
            ..
        } if state.knows(epoch) => measures::metrics(state, key, *metrics),
        Msg::BakeFigures {
            epoch,
            key,
            figures,
            ..
        } if state.knows(epoch) => measures::bake_figures(state, key, *figures),
        Msg::Connecting { .. }
        | Msg::Connected { .. }
        | Msg::ConnectFailed { .. }
        | Msg::Source { .. }
        | Msg::MetricsSource { .. }
        | Msg::Metrics { .. }
        | Msg::BakeFigures { .. } => Outcome::default(),
        Msg::Access { key, result, at } => actions::access_answer(state, key, result, at),
        Msg::ActionDone { id, outcome, at } => actions::done(state, id, outcome, at),
    }
}

pub(super) fn record_local(
    state: &mut State,
    key: &ReleaseKey,
    action: Action,
    message: &str,
    ok: bool,
) {
    let entry = TimelineEntry {
        at: Some(state.now),
        kind: EventKind::Action,
        reason: format!(
            "{} ({})",
            action.word(),
            if ok { "cutover" } else { "cutover, not done" }
        ),
        message: message.to_string(),
        count: 1,
    };
    state
        .local_timeline
        .entry(key.clone())
        .or_default()
        .push(entry);
}

pub(super) fn say(state: &mut State, text: String, ok: bool) -> Outcome {
    state.last_result = Some(LastResult {
        at: state.now,
        text,
        ok,
    });
    Outcome::redraw()
}
