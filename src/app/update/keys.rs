//! Keys: navigation, the filter, the `:` command line, and the keys that
//! open an action's confirmation.

use super::access::access_checks;
use super::actions::{confirm_key, open_confirm};
use super::connection::reconnect;
use super::{Effect, Outcome, ScopeChange, say};
use crate::app::keymap::{Chord, KeyCommand};
use crate::app::state::{Overlay, State, View};
use crate::app::wave::{self, WaveCursor};
use crate::model::action::Action;
use crossterm::event::KeyCode;

pub(super) fn key(state: &mut State, chord: Chord) -> Outcome {
    // Ctrl-Z suspends in every mode, as in a shell.
    if chord.ctrl && chord.code == KeyCode::Char('z') {
        return suspend(state);
    }
    if state.board.is_some() {
        return crate::app::board::key(state, chord);
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
            if state.keymap.command(&chord) == Some(KeyCommand::Quit) {
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
    if state.wave_shown() {
        return move_wave(state, delta, 0);
    }
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

fn run_key_command(state: &mut State, command: KeyCommand) -> Outcome {
    match command {
        KeyCommand::Quit => {
            state.quit = true;
            Outcome::default()
        }
        KeyCommand::Help => {
            state.overlay = Some(Overlay::Help);
            Outcome::redraw()
        }
        KeyCommand::Up => move_selection(state, -1),
        KeyCommand::Down => move_selection(state, 1),
        KeyCommand::PageUp => move_selection(state, -10),
        KeyCommand::PageDown => move_selection(state, 10),
        KeyCommand::Top => move_selection(state, isize::MIN / 2),
        KeyCommand::Bottom => move_selection(state, isize::MAX / 2),
        KeyCommand::Left | KeyCommand::Right if state.wave_shown() => {
            let delta = if command == KeyCommand::Left { -1 } else { 1 };
            move_wave(state, 0, delta)
        }
        KeyCommand::Left | KeyCommand::Right => Outcome::default(),
        KeyCommand::Wave => toggle_wave(state),
        KeyCommand::Sort if state.wave_shown() => say(
            state,
            "the wave view keeps the releases that need a human first; w goes back to the list, which sorts".into(),
            false,
        ),
        KeyCommand::Sort => {
            state.sort = state.sort.next(state.is_fleet());
            Outcome::redraw()
        }
        KeyCommand::Filter => {
            state.filter_editing = true;
            Outcome::redraw()
        }
        KeyCommand::CommandLine => {
            state.overlay = Some(Overlay::Command(String::new()));
            Outcome::redraw()
        }
        KeyCommand::Open => {
            if state.wave_shown() {
                return open_wave_cell(state);
            }
            let Some(key) = state.selected.clone().filter(|_| state.view == View::List) else {
                return Outcome::default();
            };
            state.view = View::Detail(key.clone());
            state.detail_scroll = 0;
            Outcome::redraw().with(Effect::WatchEvents(Some(key)))
        }
        KeyCommand::Back => {
            if matches!(state.view, View::Detail(_)) {
                state.view = View::List;
                Outcome::redraw().with(Effect::WatchEvents(None))
            } else if !state.filter.is_empty() {
                state.filter.clear();
                keep_selection(state);
                Outcome::redraw()
            } else if state.wave_shown() {
                toggle_wave(state)
            } else {
                Outcome::default()
            }
        }
        KeyCommand::Confirm | KeyCommand::Cancel => Outcome::default(),
        KeyCommand::PauseResume
        | KeyCommand::Promote
        | KeyCommand::PromoteFull
        | KeyCommand::Abort
        | KeyCommand::Retry
        | KeyCommand::Undo
        | KeyCommand::Restart
        | KeyCommand::KillSwitch => {
            let requested = command.action().unwrap_or(Action::Pause);
            open_confirm(state, requested)
        }
    }
}

/// `w`: the wave view in place of the list, at the highlighted release's
/// cell; back to the list at the cell's release, if its cluster has one.
fn toggle_wave(state: &mut State) -> Outcome {
    if let Some(cursor) = state.wave.take() {
        if let Some(r) = wave::release_at(state, &cursor) {
            state.selected = Some(r.key.clone());
            state.selection_chosen = true;
        }
        state.view = View::List;
        return Outcome::redraw();
    }
    if !state.is_fleet() {
        return say(
            state,
            "w: the wave view shows one release across several clusters; start cutover with --context a,b or --fleet NAME".into(),
            false,
        );
    }
    state.view = View::List;
    state.wave = Some(match &state.selected {
        Some(k) => WaveCursor {
            namespace: k.namespace.clone(),
            name: k.name.clone(),
            cluster: k.cluster.clone(),
        },
        None => WaveCursor::default(),
    });
    keep_wave_cursor(state);
    Outcome::redraw()
}

/// The wave's cursor moved by `rows` and `columns`, kept in range.
fn move_wave(state: &mut State, rows: isize, columns: isize) -> Outcome {
    let Some(cursor) = &state.wave else {
        return Outcome::default();
    };
    let all = wave::rows(state);
    let (row, column) = wave::position(state, &all, cursor);
    let moved = wave::cursor_at(
        state,
        &all,
        row.saturating_add_signed(rows),
        column.saturating_add_signed(columns),
    );
    if let Some(moved) = moved {
        state.wave = Some(moved);
    }
    Outcome::redraw()
}

/// Enter on a cell: its cluster's release, in the detail.
fn open_wave_cell(state: &mut State) -> Outcome {
    let Some(cursor) = state.wave.clone() else {
        return Outcome::default();
    };
    let Some(key) = wave::release_at(state, &cursor).map(|r| r.key.clone()) else {
        let text = format!(
            "cluster {} has no release {}/{}",
            cursor.cluster, cursor.namespace, cursor.name
        );
        return say(state, text, false);
    };
    state.view = View::Detail(key.clone());
    state.detail_scroll = 0;
    Outcome::redraw().with(Effect::WatchEvents(Some(key)))
}

/// Keep the wave's cursor on a row when rows come and go: the first row
/// when its own is gone.
fn keep_wave_cursor(state: &mut State) {
    let Some(cursor) = &state.wave else {
        return;
    };
    let rows = wave::rows(state);
    let (row, column) = wave::position(state, &rows, cursor);
    state.wave = Some(wave::cursor_at(state, &rows, row, column).unwrap_or_default());
}

/// Keep a selection when rows come and go: the first row until the user
/// has chosen one, and the first row again if theirs disappears.
pub(super) fn keep_selection(state: &mut State) {
    keep_wave_cursor(state);
    let visible = state.visible();
    let still_there = state
        .selected
        .as_ref()
        .is_some_and(|k| visible.iter().any(|r| &r.key == k));
    if !still_there || !state.selection_chosen {
        state.selected = visible.first().map(|r| r.key.clone());
    }
}

fn filter_key(state: &mut State, chord: Chord) -> Outcome {
    match chord.code {
        KeyCode::Enter => state.filter_editing = false,
        KeyCode::Esc => {
            state.filter_editing = false;
            state.filter.clear();
        }
        _ if edit_line(&mut state.filter, &chord) => {}
        _ => return Outcome::default(),
    }
    keep_selection(state);
    Outcome::redraw()
}

fn command_key(state: &mut State, mut line: String, chord: Chord) -> Outcome {
    match chord.code {
        KeyCode::Esc => Outcome::redraw(),
        KeyCode::Enter => run_command(state, line.trim()),
        _ => {
            let edited = edit_line(&mut line, &chord);
            state.overlay = Some(Overlay::Command(line));
            if edited {
                Outcome::redraw()
            } else {
                Outcome::default()
            }
        }
    }
}

/// A typed line's editing keys, as a shell reads them: a character,
/// Backspace, Ctrl-U (the whole line) and Ctrl-W (the last word). True
/// when `chord` was one of them.
fn edit_line(line: &mut String, chord: &Chord) -> bool {
    match chord.code {
        KeyCode::Backspace => {
            line.pop();
        }
        KeyCode::Char('u') if chord.ctrl && !chord.alt => line.clear(),
        KeyCode::Char('w') if chord.ctrl && !chord.alt => {
            let kept = line.trim_end().rfind(' ').map_or(0, |i| i + 1);
            line.truncate(kept);
        }
        KeyCode::Char(c) if !chord.ctrl && !chord.alt => line.push(c),
        _ => return false,
    }
    true
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
        (Some(word @ ("ns" | "namespace" | "ctx" | "context")), Some(_)) if state.is_fleet() => {
            let text = format!(
                "{word}: a fleet's contexts and namespaces are chosen when cutover starts; quit and start it with other --context, -n or -A flags"
            );
            say(state, text, false)
        }
        (Some("ns" | "namespace"), Some("all" | "-A" | "*")) => {
            reconnect(state, ScopeChange::Namespace(None))
        }
        (Some("ns" | "namespace"), Some(ns)) => {
            let ns = ns.to_string();
            reconnect(state, ScopeChange::Namespace(Some(ns)))
        }
        (Some("ctx" | "context"), Some(ctx)) => {
            if !state.home.scope.contexts.is_empty()
                && !state.home.scope.contexts.iter().any(|c| c == ctx)
            {
                let known = state.home.scope.contexts.join(", ");
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
                state.home.scope.context,
                state.home.scope.contexts.join(", "),
                state.home.scope.namespace.as_deref().unwrap_or("all")
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
