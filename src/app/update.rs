//! The one place state changes: `update(state, msg)` is synchronous and
//! pure (time arrives in messages), and returns the effects to run.

use super::access::{Permission, access_checks, permission, record_answer};
use super::keymap::{Chord, Command};
use super::state::{
    Confirm, Connection, LastResult, MetricsSource, OVERRIDE_PHRASE, Overlay, Scope, State,
    TerminalLoss, View, WaitingAction,
};
use crate::cluster::fingerprint::object_fingerprint;
use crate::cluster::kinds::watched_kind;
use crate::cluster::rbac::AccessKey;
use crate::cluster::watch::SourceUpdate;
use crate::metrics::profiles::Target;
use crate::model::action::{self, Action, ActionOutcome, ActionRequest};
use crate::model::metrics::ReleaseMetrics;
use crate::model::migration;
use crate::model::migration::DatabaseReading;
use crate::model::{EventKind, Release, ReleaseKey, TimelineEntry};
use chrono::{DateTime, Utc};
use crossterm::event::KeyCode;

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
    Source {
        epoch: u64,
        update: SourceUpdate,
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
    /// One release measured.
    Metrics {
        epoch: u64,
        key: ReleaseKey,
        metrics: Box<ReleaseMetrics>,
        at: DateTime<Utc>,
    },
    Resize {
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
    /// When the message's news was read.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Msg::Tick(at)
            | Msg::Key { at, .. }
            | Msg::Connecting { at, .. }
            | Msg::Connected { at, .. }
            | Msg::ConnectFailed { at, .. }
            | Msg::Source {
                update: SourceUpdate::Objects { at, .. } | SourceUpdate::Health { at, .. },
                ..
            }
            | Msg::Access { at, .. }
            | Msg::ActionDone { at, .. }
            | Msg::MetricsSource { at, .. }
            | Msg::Database { at, .. }
            | Msg::Metrics { at, .. }
            | Msg::Resize { at }
            | Msg::TerminalLost { at, .. } => *at,
        }
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
    MeasureTargets(Vec<Target>),
    /// An action refused before sending: audited and recorded as an Event.
    AuditRefusal {
        request: Box<ActionRequest>,
        reason: String,
    },
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
    fn redraw() -> Outcome {
        Outcome {
            effects: Vec::new(),
            redraw: true,
        }
    }

    fn with(mut self, effect: Effect) -> Outcome {
        self.effects.push(effect);
        self
    }
}

pub fn update(state: &mut State, msg: Msg) -> Outcome {
    // Whatever the message does, it does at the time it was read: a key
    // after a quiet hour acts now, not at the last watch event.
    state.now = msg.at();
    match msg {
        Msg::Key { chord, .. } => key(state, chord),
        // Ticks come only when the screen must be drawn at a new time; a
        // new size shows more or less.
        Msg::Tick(_) | Msg::Resize { .. } => Outcome::redraw(),
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
        } if epoch == state.epoch => {
            state.scope.aim(context, namespace);
            Outcome::redraw()
        }
        Msg::Connected { epoch, scope, .. } if epoch == state.epoch => {
            state.connection = Connection::Connected;
            state.scope = scope;
            let mut out = Outcome::redraw();
            out.effects.extend(access_checks(state));
            out
        }
        Msg::ConnectFailed { epoch, error, at } if epoch == state.epoch => {
            let since = match &state.connection {
                Connection::Failed { since, .. } => *since,
                _ => at,
            };
            state.connection = Connection::Failed { error, since };
            Outcome::redraw()
        }
        Msg::Source { epoch, update } if epoch == state.epoch => source(state, update),
        Msg::MetricsSource { epoch, source, .. } if epoch == state.epoch => {
            (state.metrics_source, state.metrics_problem) = match source {
                Ok(s) => (Some(s), None),
                Err(why) => (None, Some(why)),
            };
            state.metrics.clear();
            let mut out = Outcome::redraw();
            out.effects.extend(metrics_targets(state));
            out
        }
        Msg::Database { name, result, at } => {
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
        Msg::Metrics {
            epoch,
            key,
            metrics,
            ..
        } if epoch == state.epoch => {
            if !state.metrics_targets.iter().any(|t| t.key == key) {
                return Outcome::default();
            }
            let mut metrics = *metrics;
            metrics.carry_failure_from(state.metrics.get(&key));
            state.metrics.insert(key, metrics);
            Outcome::redraw()
        }
        Msg::Connecting { .. }
        | Msg::Connected { .. }
        | Msg::ConnectFailed { .. }
        | Msg::Source { .. }
        | Msg::MetricsSource { .. }
        | Msg::Metrics { .. } => Outcome::default(),
        Msg::Access { key, result, at } => {
            record_answer(state, key, result, at);
            match state.waiting.take() {
                Some(waiting) => resume(state, waiting),
                None => Outcome::redraw(),
            }
        }
        Msg::ActionDone { id, outcome, at } => {
            let Some((key, action)) = state.in_flight.remove(&id) else {
                return Outcome::default();
            };
            let ok = matches!(outcome, ActionOutcome::Done(_));
            let text = format!("{} {}: {}", action.word(), key.name, outcome.text());
            record_local(state, &key, action, &outcome.text(), ok);
            state.last_result = Some(LastResult { at, text, ok });
            Outcome::redraw()
        }
    }
}

fn record_local(state: &mut State, key: &ReleaseKey, action: Action, message: &str, ok: bool) {
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

fn source(state: &mut State, update: SourceUpdate) -> Outcome {
    match update {
        SourceUpdate::Objects {
            source,
            kind,
            objects,
            at,
        } => {
            state.objects.set(&source, kind, objects);
            state.sources.listed(&source, at);
            rebuild_releases(state);
            keep_selection(state);
            let mut out = Outcome::redraw();
            out.effects.extend(access_checks(state));
            out.effects.extend(metrics_targets(state));
            out
        }
        SourceUpdate::Health { source, error, at } => {
            match error {
                Some(e) => state.sources.failed(&source, e, at),
                None => state.sources.healthy(&source, at),
            }
            Outcome::redraw()
        }
    }
}

/// The releases from the watched objects, with what their databases say.
pub fn rebuild_releases(state: &mut State) {
    let mut releases = crate::cluster::releases(&state.objects);
    for release in &mut releases {
        let name = migration::link_database(release, &state.database_links);
        let view = name.as_deref().map(|n| (n, database_view(state, n)));
        migration::settle(release, view);
    }
    state.releases = releases;
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

/// The releases to measure: those with a baseline and a canary. An effect
/// only when the set changed, so the task is not restarted at every event.
fn metrics_targets(state: &mut State) -> Option<Effect> {
    let profile = state.metrics_source.as_ref()?.profile;
    let mut targets = Vec::new();
    state.metrics_skipped.clear();
    for release in &state.releases {
        match crate::metrics::profiles::target(release, profile) {
            Ok(t) => targets.push(t),
            Err(why) => {
                state.metrics_skipped.insert(release.key.clone(), why);
            }
        }
    }
    if targets == state.metrics_targets {
        return None;
    }
    // A new canary is a new comparison: the old numbers are of other versions.
    state.metrics.retain(|key, _| {
        let same = |ts: &[Target]| ts.iter().find(|t| &t.key == key).map(|t| t.sides.clone());
        same(&targets) == same(&state.metrics_targets)
    });
    state.metrics_targets = targets.clone();
    Some(Effect::MeasureTargets(targets))
}

/// Keep a selection when rows come and go: the first row until the user
/// has chosen one, and the first row again if theirs disappears.
fn keep_selection(state: &mut State) {
    let visible = state.visible();
    let still_there = state
        .selected
        .as_ref()
        .is_some_and(|k| visible.iter().any(|r| &r.key == k));
    if !still_there || !state.selection_chosen {
        state.selected = visible.first().map(|r| r.key.clone());
    }
}

/// Why `action` cannot be offered on `release` now, or None when it can.
pub fn unavailable(state: &State, release: &Release, action: Action) -> Option<String> {
    if state.read_only {
        return Some("read-only".into());
    }
    let plan = match action::plan(release, action, state.now) {
        Ok(plan) => plan,
        Err(reason) => return Some(reason),
    };
    match permission(state, &release.key, &plan) {
        Permission::Granted => None,
        Permission::Refused(reason) => Some(reason),
        Permission::Awaiting => Some(CHECKING.into()),
    }
}

/// What a press waits for while its permission is being asked.
const CHECKING: &str = "checking permission…";

/// `p` pauses a running release and resumes a paused one.
fn resolve(release: &Release, action: Action) -> Action {
    match action {
        Action::Pause if release.spec_paused => Action::Resume,
        other => other,
    }
}

fn say(state: &mut State, text: String, ok: bool) -> Outcome {
    state.last_result = Some(LastResult {
        at: state.now,
        text,
        ok,
    });
    Outcome::redraw()
}

fn key(state: &mut State, chord: Chord) -> Outcome {
    // Ctrl-Z suspends in every mode, as in a shell.
    if chord.ctrl && chord.code == KeyCode::Char('z') {
        return suspend(state);
    }
    let mut out = handle_key(state, chord);
    // Whatever the key did, the release it now points at gets its reviews.
    out.effects.extend(access_checks(state));
    out
}

fn suspend(state: &mut State) -> Outcome {
    if state.job_control {
        return Outcome::default().with(Effect::Suspend);
    }
    say(
        state,
        "Ctrl-Z: cannot suspend: cutover was not started from a shell with job control, so nothing could resume it (q quits)".into(),
        false,
    )
}

fn handle_key(state: &mut State, chord: Chord) -> Outcome {
    match state.overlay.take() {
        Some(Overlay::Confirm(confirm)) => return confirm_key(state, *confirm, chord),
        Some(Overlay::Command(line)) => return command_key(state, line, chord),
        Some(Overlay::Help | Overlay::ConfigProblems) => {
            // Any key closes help and the config panel; `q` still quits.
            if state.keymap.command(&chord) == Some(Command::Quit) {
                state.quit = true;
            }
            return Outcome::redraw();
        }
        None => {}
    }
    if state.filter_editing {
        return filter_key(state, chord);
    }
    let Some(command) = state.keymap.command(&chord) else {
        return Outcome::default();
    };
    run_key_command(state, command)
}

fn move_selection(state: &mut State, delta: isize) -> Outcome {
    if let View::Detail(_) = state.view {
        let scroll = i32::from(state.detail_scroll) + i32::try_from(delta).unwrap_or(0);
        state.detail_scroll = u16::try_from(scroll.max(0)).unwrap_or(0);
        return Outcome::redraw();
    }
    let visible = state.visible();
    if visible.is_empty() {
        return Outcome::default();
    }
    let current = state
        .selected
        .as_ref()
        .and_then(|k| visible.iter().position(|r| &r.key == k))
        .unwrap_or(0);
    let last = visible.len() - 1;
    let next = current.saturating_add_signed(delta).min(last);
    state.selected = Some(visible[next].key.clone());
    state.selection_chosen = true;
    Outcome::redraw()
}

fn run_key_command(state: &mut State, command: Command) -> Outcome {
    match command {
        Command::Quit => {
            state.quit = true;
            Outcome::default()
        }
        Command::Help => {
            state.overlay = Some(Overlay::Help);
            Outcome::redraw()
        }
        Command::Up => move_selection(state, -1),
        Command::Down => move_selection(state, 1),
        Command::PageUp => move_selection(state, -10),
        Command::PageDown => move_selection(state, 10),
        Command::Top => move_selection(state, isize::MIN / 2),
        Command::Bottom => move_selection(state, isize::MAX / 2),
        Command::Sort => {
            state.sort = state.sort.next();
            Outcome::redraw()
        }
        Command::Filter => {
            state.filter_editing = true;
            Outcome::redraw()
        }
        Command::CommandLine => {
            state.overlay = Some(Overlay::Command(String::new()));
            Outcome::redraw()
        }
        Command::Open => {
            let Some(key) = state.selected.clone().filter(|_| state.view == View::List) else {
                return Outcome::default();
            };
            state.view = View::Detail(key.clone());
            state.detail_scroll = 0;
            Outcome::redraw().with(Effect::WatchEvents(Some(key)))
        }
        Command::Back => {
            if matches!(state.view, View::Detail(_)) {
                state.view = View::List;
                Outcome::redraw().with(Effect::WatchEvents(None))
            } else if !state.filter.is_empty() {
                state.filter.clear();
                keep_selection(state);
                Outcome::redraw()
            } else {
                Outcome::default()
            }
        }
        Command::Confirm | Command::Cancel => Outcome::default(),
        Command::PauseResume
        | Command::Promote
        | Command::PromoteFull
        | Command::Abort
        | Command::Retry
        | Command::Undo
        | Command::Restart => {
            let requested = command.action().unwrap_or(Action::Pause);
            open_confirm(state, requested)
        }
    }
}

fn open_confirm(state: &mut State, requested: Action) -> Outcome {
    if state.read_only {
        return say(
            state,
            format!(
                "read-only: {} is not available (this session cannot change the cluster)",
                requested.word()
            ),
            false,
        );
    }
    let Some(release) = state.target().cloned() else {
        return say(state, "no release selected".into(), false);
    };
    let action = resolve(&release, requested);
    let refused = |state: &mut State, reason: String| {
        let text = format!("{} {}: {reason}", action.word(), release.key.name);
        let mut out = say(state, text, false);
        out.effects.extend(access_checks(state));
        out
    };
    let plan = match action::plan(&release, action, state.now) {
        Ok(plan) => plan,
        Err(reason) => return refused(state, reason),
    };
    match permission(state, &release.key, &plan) {
        Permission::Granted => {}
        Permission::Refused(reason) => return refused(state, reason),
        // The first press counts: it goes ahead when the answer comes.
        Permission::Awaiting => {
            state.waiting = Some(WaitingAction {
                key: release.key.clone(),
                action: requested,
            });
            let text = format!("{} {}: {CHECKING}", action.word(), release.key.name);
            let mut out = say(state, text, true);
            out.effects.extend(access_checks(state));
            return out;
        }
    }
    let Some(object) = state.objects.find(
        watched_kind(release.key.kind),
        &release.key.namespace,
        &release.key.name,
    ) else {
        return say(
            state,
            format!("{} is no longer in the cluster", release.key.name),
            false,
        );
    };
    let undo_choices: Vec<u64> = if let Action::Undo(_) = action {
        release
            .revisions
            .iter()
            .filter_map(|r| r.number)
            .filter(|n| Some(*n) != release.current_revision && r_has_template(&release, *n))
            .collect()
    } else {
        Vec::new()
    };
    let undo_index = match (action, release.previous_revision().and_then(|r| r.number)) {
        (Action::Undo(_), Some(prev)) => undo_choices.iter().position(|n| *n == prev).unwrap_or(0),
        _ => 0,
    };
    let chosen = match action {
        Action::Undo(_) => Action::Undo(undo_choices.get(undo_index).copied()),
        other => other,
    };
    state.overlay = Some(Overlay::Confirm(Box::new(Confirm {
        key: release.key.clone(),
        plan,
        seen: object_fingerprint(release.key.kind, object),
        seen_resource_version: object.metadata.resource_version.clone().unwrap_or_default(),
        typed: String::new(),
        undo_choices,
        undo_index,
        safety: migration::rollback_check(&release, chosen),
        override_typed: None,
        warnings: migration_warnings(&release, action),
    })));
    Outcome::redraw()
}

/// An action pressed before its permission was known, now that an answer
/// came: opened or refused as a press now would be, still waiting if some
/// answer is missing, dropped if the user has moved on.
fn resume(state: &mut State, waiting: WaitingAction) -> Outcome {
    let still_here = state.target().is_some_and(|r| r.key == waiting.key)
        && state.overlay.is_none()
        && !state.filter_editing;
    if !still_here {
        let text = format!(
            "{} {}: not opened: you moved on before the permission answer came",
            waiting.action.word(),
            waiting.key.name
        );
        return say(state, text, false);
    }
    open_confirm(state, waiting.action)
}

/// What a migration in flight says against an action that does not block it.
fn migration_warnings(release: &Release, action: Action) -> Vec<String> {
    let Some(m) = &release.migration else {
        return Vec::new();
    };
    let backfilling = m
        .phase(migration::PhaseName::Backfill)
        .is_some_and(|p| p.state == migration::PhaseState::Running);
    match action {
        Action::PromoteFull | Action::Promote if backfilling => vec![format!(
            "the backfill of {} is still running: the new version may read rows it has not reached",
            m.name
        )],
        _ => Vec::new(),
    }
}

fn r_has_template(release: &Release, number: u64) -> bool {
    release
        .revision(number)
        .is_some_and(|r| r.template.is_some())
}

fn confirm_key(state: &mut State, mut confirm: Confirm, chord: Chord) -> Outcome {
    let keymap = &state.keymap;
    let cancel =
        chord.code == KeyCode::Esc || (!confirm.needs_name() && keymap.is(&chord, Command::Cancel));
    if cancel || (chord.ctrl && chord.code == KeyCode::Char('c')) {
        return say(
            state,
            format!(
                "{} {}: cancelled",
                confirm.plan.action.word(),
                confirm.key.name
            ),
            true,
        );
    }
    // Choosing the revision of an undo.
    if let Action::Undo(_) = confirm.plan.action
        && matches!(chord.code, KeyCode::Up | KeyCode::Down)
        && !confirm.undo_choices.is_empty()
    {
        let len = confirm.undo_choices.len();
        confirm.undo_index = match chord.code {
            KeyCode::Up => (confirm.undo_index + len - 1) % len,
            _ => (confirm.undo_index + 1) % len,
        };
        let target = confirm.undo_choices[confirm.undo_index];
        if let Some(release) = state.release(&confirm.key)
            && let Ok(plan) = action::plan(release, Action::Undo(Some(target)), state.now)
        {
            confirm.plan = plan;
            confirm.safety = migration::rollback_check(release, Action::Undo(Some(target)));
            confirm.override_typed = None;
        }
        state.overlay = Some(Overlay::Confirm(Box::new(confirm)));
        return Outcome::redraw();
    }
    let confirmed = if confirm.needs_name() {
        let typed = confirm
            .override_typed
            .as_mut()
            .unwrap_or(&mut confirm.typed);
        match chord.code {
            KeyCode::Backspace => {
                typed.pop();
                false
            }
            KeyCode::Char(c) if !chord.ctrl && !chord.alt => {
                typed.push(c);
                false
            }
            KeyCode::Enter if !confirm.name_matches() => false,
            // The name is right but the schema says no: ask for the
            // explicit second step.
            KeyCode::Enter if confirm.blocked_by().is_some() => match &confirm.override_typed {
                None => {
                    confirm.override_typed = Some(String::new());
                    false
                }
                Some(phrase) => phrase == OVERRIDE_PHRASE,
            },
            KeyCode::Enter => true,
            _ => false,
        }
    } else {
        keymap.is(&chord, Command::Confirm) || chord.code == KeyCode::Enter
    };
    if !confirmed {
        state.overlay = Some(Overlay::Confirm(Box::new(confirm)));
        return Outcome::redraw();
    }
    submit(state, confirm)
}

/// The stale-view and permission guards, first on what this screen knows;
/// the Mutator checks again against a fresh read just before sending.
fn submit(state: &mut State, confirm: Confirm) -> Outcome {
    let action = confirm.plan.action;
    let name = confirm.key.name.clone();
    let Some(object) = state.objects.find(
        watched_kind(confirm.key.kind),
        &confirm.key.namespace,
        &confirm.key.name,
    ) else {
        return say(
            state,
            format!("{} {name}: refused: the release is gone", action.word()),
            false,
        );
    };
    let changes = object_fingerprint(confirm.key.kind, object).changes_since(&confirm.seen);
    let id = state.next_action_id;
    state.next_action_id += 1;
    let override_of = confirm.blocked_by().map(str::to_string);
    let request = Box::new(ActionRequest {
        id,
        key: confirm.key.clone(),
        plan: confirm.plan,
        seen: confirm.seen,
        seen_resource_version: confirm.seen_resource_version,
        user: state.scope.user.clone().unwrap_or_else(|| "unknown".into()),
        context: state.scope.context.clone(),
        override_of,
    });
    // An answer that came while the human decided counts: never send what
    // the last answer denied.
    let reason = match permission(state, &confirm.key, &request.plan) {
        Permission::Refused(why) => Some(why),
        _ if !changes.is_empty() => Some(format!(
            "it changed while you were deciding: {}. Look again and retry",
            changes.join("; ")
        )),
        _ => None,
    };
    if let Some(reason) = reason {
        let text = format!("{} {name}: refused: {reason}", action.word());
        record_local(state, &confirm.key, action, &text, false);
        let mut out = say(state, text, false);
        out.effects.push(Effect::AuditRefusal { request, reason });
        return out;
    }
    state.in_flight.insert(id, (confirm.key.clone(), action));
    let text = format!("{} {name}: sending…", action.word());
    let mut out = say(state, text, true);
    out.effects.push(Effect::Act(request));
    out
}

fn filter_key(state: &mut State, chord: Chord) -> Outcome {
    match chord.code {
        KeyCode::Enter => state.filter_editing = false,
        KeyCode::Esc => {
            state.filter_editing = false;
            state.filter.clear();
        }
        KeyCode::Backspace => {
            state.filter.pop();
        }
        KeyCode::Char(c) if !chord.ctrl && !chord.alt => state.filter.push(c),
        _ => return Outcome::default(),
    }
    keep_selection(state);
    Outcome::redraw()
}

fn command_key(state: &mut State, mut line: String, chord: Chord) -> Outcome {
    match chord.code {
        KeyCode::Esc => Outcome::redraw(),
        KeyCode::Enter => run_command(state, line.trim()),
        KeyCode::Backspace => {
            line.pop();
            state.overlay = Some(Overlay::Command(line));
            Outcome::redraw()
        }
        KeyCode::Char(c) if !chord.ctrl && !chord.alt => {
            line.push(c);
            state.overlay = Some(Overlay::Command(line));
            Outcome::redraw()
        }
        _ => {
            state.overlay = Some(Overlay::Command(line));
            Outcome::default()
        }
    }
}

fn reconnect(state: &mut State, change: ScopeChange) -> Outcome {
    state.epoch += 1;
    state.connection = Connection::Connecting { since: state.now };
    // The namespace asked for is shown at once; a new context's default
    // namespace comes with `Msg::Connecting`.
    if let ScopeChange::Namespace(ns) = &change {
        state.scope.namespace = ns.clone();
    }
    state.objects.clear();
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

fn run_command(state: &mut State, line: &str) -> Outcome {
    let mut words = line.split_whitespace();
    match (words.next(), words.next()) {
        (Some("q" | "quit" | "q!"), _) => {
            state.quit = true;
            Outcome::default()
        }
        (Some("help"), _) => {
            state.overlay = Some(Overlay::Help);
            Outcome::redraw()
        }
        (Some("config"), _) => {
            state.overlay = Some(Overlay::ConfigProblems);
            Outcome::redraw()
        }
        (Some("ns" | "namespace"), Some("all" | "-A" | "*")) => {
            reconnect(state, ScopeChange::Namespace(None))
        }
        (Some("ns" | "namespace"), Some(ns)) => {
            let ns = ns.to_string();
            reconnect(state, ScopeChange::Namespace(Some(ns)))
        }
        (Some("ctx" | "context"), Some(ctx)) => {
            if !state.scope.contexts.is_empty() && !state.scope.contexts.iter().any(|c| c == ctx) {
                let known = state.scope.contexts.join(", ");
                return say(
                    state,
                    format!("no context {ctx:?} in the kubeconfig (known: {known})"),
                    false,
                );
            }
            let ctx = ctx.to_string();
            reconnect(state, ScopeChange::Context(ctx))
        }
        (Some("ns" | "namespace" | "ctx" | "context"), None) => {
            let text = format!(
                "context {} (known: {}), namespace {}",
                state.scope.context,
                state.scope.contexts.join(", "),
                state.scope.namespace.as_deref().unwrap_or("all")
            );
            say(state, text, true)
        }
        (None, _) => Outcome::redraw(),
        (Some(other), _) => say(
            state,
            format!("unknown command {other:?}: try ns NAME, ns all, ctx NAME, config, quit"),
            false,
        ),
    }
}
