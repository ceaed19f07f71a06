//! Actions and their confirmations: a press opens the confirmation (or is
//! refused, or waits for its permission), keys in the confirmation, and
//! the guards checked again when it is sent.

use super::access::{access_checks, record_answer};
use super::{Effect, Outcome, record_local, say};
use crate::app::access::{CHECKING, Permission, permission};
use crate::app::keymap::{Chord, KeyCommand};
use crate::app::request::{action_request, flag_changes, seen_now};
use crate::app::state::{Confirm, LastResult, OVERRIDE_PHRASE, Overlay, State, WaitingAction};
use crate::cluster::rbac::AccessKey;
use crate::model::Release;
use crate::model::action::{self, Action, ActionOutcome};
use crate::model::flag::kill_options;
use crate::model::{migration, restore};
use chrono::{DateTime, Utc};
use crossterm::event::KeyCode;

/// A review's answer, and the press that waited for it.
pub(super) fn access_answer(
    state: &mut State,
    key: AccessKey,
    result: Result<(bool, String), String>,
    at: DateTime<Utc>,
) -> Outcome {
    record_answer(state, key, result, at);
    match state.waiting.take() {
        Some(waiting) => resume(state, waiting),
        None => Outcome::redraw(),
    }
}

/// An action's result came back.
pub(super) fn done(
    state: &mut State,
    id: u64,
    outcome: ActionOutcome,
    at: DateTime<Utc>,
) -> Outcome {
    let Some((key, action)) = state.in_flight.remove(&id) else {
        return Outcome::default();
    };
    let ok = matches!(outcome, ActionOutcome::Done(_));
    let text = format!("{} {}: {}", action.word(), key.shown_name(), outcome.text());
    record_local(state, &key, action, &outcome.text(), ok);
    state.last_result = Some(LastResult { at, text, ok });
    Outcome::redraw()
}

/// `p` pauses a running release and resumes a paused one.
fn resolve(release: &Release, action: Action) -> Action {
    match action {
        Action::Pause if release.spec_paused => Action::Resume,
        other => other,
    }
}

pub(super) fn open_confirm(state: &mut State, requested: Action) -> Outcome {
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
        let text = format!("{} {}: {reason}", action.word(), release.key.shown_name());
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
            let text = format!("{} {}: {CHECKING}", action.word(), release.key.shown_name());
            let mut out = say(state, text, true);
            out.effects.extend(access_checks(state));
            return out;
        }
    }
    let Some(seen) = seen_now(state, &release.key) else {
        return say(
            state,
            format!("{} is no longer in the cluster", release.key.shown_name()),
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
    let typed_context = state
        .member_of(&release.key.cluster)
        .map(|m| m.scope.context.clone())
        .filter(|context| state.typed_contexts.contains(context));
    state.overlay = Some(Overlay::Confirm(Box::new(Confirm {
        key: release.key.clone(),
        plan,
        seen,
        typed: String::new(),
        typed_context,
        mismatch: false,
        undo_choices,
        undo_index,
        safety: migration::rollback_check(&release, chosen),
        override_typed: None,
        warnings: migration_warnings(&release, action),
        way_back: way_back(state, &release, action),
    })));
    Outcome::redraw()
}

/// For a rollback after the release's contract began, the restore it
/// needs, as its database's backups tell it.
fn way_back(state: &State, release: &Release, action: Action) -> Option<String> {
    if !matches!(action, Action::Abort | Action::Undo(_)) {
        return None;
    }
    let m = release
        .migration
        .as_ref()
        .filter(|m| restore::way_back::contract_begun(m))?;
    let backups = state
        .databases
        .get(release.database.as_deref()?)?
        .backups
        .as_ref()?;
    Some(restore::way_back::way_back(backups, m, state.now))
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
            waiting.key.shown_name()
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
        .is_some_and(|r| r.template().is_some())
}

pub(super) fn confirm_key(state: &mut State, mut confirm: Confirm, chord: Chord) -> Outcome {
    let keymap = &state.keymap;
    let cancel = chord.code == KeyCode::Esc
        || (!confirm.needs_name() && keymap.is(&chord, KeyCommand::Cancel));
    if cancel || (chord.ctrl && chord.code == KeyCode::Char('c')) {
        return say(
            state,
            format!(
                "{} {}: cancelled",
                confirm.plan.action.word(),
                confirm.key.shown_name()
            ),
            true,
        );
    }
    // Choosing the flag and what the kill switch does to it.
    if let Action::KillSwitch(Some(index)) = confirm.plan.action
        && matches!(chord.code, KeyCode::Up | KeyCode::Down)
    {
        if let Some(release) = state.release(&confirm.key) {
            let len = kill_options(release).len().max(1);
            let index = usize::from(index);
            let next = match chord.code {
                KeyCode::Up => (index + len - 1) % len,
                _ => (index + 1) % len,
            };
            let choice = Action::KillSwitch(u16::try_from(next).ok());
            if let Ok(plan) = action::plan(release, choice, state.now) {
                confirm.plan = plan;
            }
        }
        state.overlay = Some(Overlay::Confirm(Box::new(confirm)));
        return Outcome::redraw();
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
                confirm.mismatch = false;
                false
            }
            KeyCode::Char(c) if !chord.ctrl && !chord.alt => {
                typed.push(c);
                confirm.mismatch = false;
                false
            }
            KeyCode::Enter if !confirm.name_matches() => {
                confirm.mismatch = true;
                false
            }
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
        keymap.is(&chord, KeyCommand::Confirm) || chord.code == KeyCode::Enter
    };
    if !confirmed {
        // A wrong name entered: said where every result is said, since the
        // dialog's prompt has no room for it on a narrow screen.
        if confirm.mismatch && chord.code == KeyCode::Enter {
            let text = format!(
                "{} {}: nothing sent: type {}, then Enter",
                confirm.plan.action.word(),
                confirm.key.shown_name(),
                confirm.expected()
            );
            state.last_result = Some(LastResult {
                at: state.now,
                text,
                ok: false,
            });
        }
        state.overlay = Some(Overlay::Confirm(Box::new(confirm)));
        return Outcome::redraw();
    }
    submit(state, confirm)
}

/// The stale-view and permission guards, first on what this screen knows;
/// the Mutator checks again against a fresh read just before sending.
fn submit(state: &mut State, confirm: Confirm) -> Outcome {
    let action = confirm.plan.action;
    let name = confirm.key.shown_name();
    let Some(now) = seen_now(state, &confirm.key) else {
        return say(
            state,
            format!("{} {name}: refused: the release is gone", action.word()),
            false,
        );
    };
    // A kill switch is decided on its flag: the release moving on does
    // not change it.
    let changes = match &confirm.plan.flag {
        Some(flag) => flag_changes(state, &confirm.key, flag),
        None => now.fingerprint.changes_since(&confirm.seen.fingerprint),
    };
    let id = state.next_action_id;
    state.next_action_id += 1;
    let override_of = confirm.blocked_by().map(str::to_string);
    // Planned again now, on the release as it was seen (nothing changed,
    // or the request is refused below): a time it carries (a restart's)
    // is the moment of the confirming key, as `kubectl rollout restart`
    // stamps the moment it runs.
    let plan = state
        .releases
        .iter()
        .find(|r| r.key == confirm.key)
        .filter(|_| changes.is_empty() && confirm.plan.flag.is_none())
        .and_then(|r| action::plan(r, action, state.now).ok())
        .unwrap_or(confirm.plan);
    let request = Box::new(action_request(
        state,
        id,
        &confirm.key,
        plan,
        confirm.seen,
        override_of,
    ));
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
