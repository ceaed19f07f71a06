//! `?`: every binding from the keymap, with whether it works here and, if
//! not, why.

use super::theme::Theme;
use super::{centred, cut};
use crate::app::State;
use crate::app::access::unavailable;
use crate::app::keymap::KeyCommand;
use crate::app::state::View;
use crate::model::Action;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Clear, Row, Table};

/// Why `command` does nothing here, or None when it is active.
pub fn inactive_reason(state: &State, command: KeyCommand) -> Option<String> {
    let in_detail = matches!(state.view, View::Detail(_));
    let wave = state.wave_shown();
    match command {
        KeyCommand::Open if in_detail => Some("already open".into()),
        KeyCommand::Open if wave && state.target().is_none() => {
            Some("no release in this cluster".into())
        }
        KeyCommand::Open if wave => None,
        KeyCommand::Open if state.selected.is_none() => Some("no release selected".into()),
        KeyCommand::Sort | KeyCommand::Filter | KeyCommand::Wave if in_detail => {
            Some("in the list only".into())
        }
        KeyCommand::Wave if !state.is_fleet() => Some("in a fleet only".into()),
        KeyCommand::Sort if wave => Some("the wave keeps attention first".into()),
        KeyCommand::Left | KeyCommand::Right if !wave => Some("in the wave view only".into()),
        KeyCommand::Confirm | KeyCommand::Cancel => Some("in a confirmation only".into()),
        _ => {
            let requested = command.action()?;
            let Some(release) = state.target() else {
                return Some("no release selected".into());
            };
            let action = match requested {
                Action::Pause if release.spec_paused => Action::Resume,
                other => other,
            };
            unavailable(state, release, action)
        }
    }
}

/// Bindings that share a row, so that every binding fits on a 24-row
/// terminal: (the bindings, what they do).
const GROUPS: [(&[KeyCommand], &str); 5] = [
    (
        &[
            KeyCommand::Up,
            KeyCommand::Down,
            KeyCommand::PageUp,
            KeyCommand::PageDown,
        ],
        "move up / down (by a page)",
    ),
    (&[KeyCommand::Top, KeyCommand::Bottom], "first / last row"),
    (
        &[KeyCommand::Left, KeyCommand::Right],
        "cluster left / right (wave)",
    ),
    // Ctrl-Z is not a binding (it suspends in every mode, as in a shell)
    // but belongs beside quitting.
    (
        &[KeyCommand::Help, KeyCommand::Quit],
        "help / quit (Ctrl-z suspends)",
    ),
    (
        &[KeyCommand::Confirm, KeyCommand::Cancel],
        "confirm / cancel a dialog",
    ),
];

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let target = state
        .target()
        .map_or("no release selected".to_string(), |r| {
            format!("{} {}", r.key.kind.word(), r.key.name)
        });
    // A group's row stands where its first binding would.
    let entries: Vec<(String, &str, Option<String>)> = KeyCommand::ALL
        .iter()
        .filter(|&&c| !GROUPS.iter().any(|(group, _)| group[1..].contains(&c)))
        .map(|&c| match GROUPS.iter().find(|(group, _)| group[0] == c) {
            Some(&(group, what)) => (
                group
                    .iter()
                    .map(|&k| state.keymap.label(k))
                    .collect::<Vec<_>>()
                    .join(" "),
                what,
                group.iter().find_map(|&k| inactive_reason(state, k)),
            ),
            None => (
                state.keymap.label(c),
                c.description(),
                inactive_reason(state, c),
            ),
        })
        .collect();
    let key_width = entries
        .iter()
        .map(|(label, _, _)| label.chars().count())
        .max()
        .unwrap_or(0)
        .max("KEY".len());
    let statuses: Vec<String> = entries
        .iter()
        .map(|(_, _, reason)| match reason {
            None => "active".to_string(),
            Some(why) => format!("off: {why}"),
        })
        .collect();
    let height = u16::try_from(entries.len())
        .unwrap_or(u16::MAX)
        .saturating_add(3);
    // Inside the view's border, like the confirmation; when the table needs
    // the whole height, over the whole view, so that the two borders do not
    // run side by side.
    let popup = if height.saturating_add(2) > area.height {
        area
    } else {
        centred(area, area.width.saturating_sub(4).max(40), height)
    };
    // The reasons matter more than the descriptions: they get what they
    // need, up to half of the room; whatever is cut says so with `…`.
    let room = usize::from(popup.width.saturating_sub(2)).saturating_sub(key_width + 2);
    let longest = statuses
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0);
    let here_width = longest.min((room / 2).max(20)).min(room);
    let what_width = room.saturating_sub(here_width);
    let rows: Vec<Row<'_>> = entries
        .into_iter()
        .zip(statuses)
        .map(|((label, what, reason), status)| {
            let style = if reason.is_none() {
                theme.fg(theme.ok)
            } else {
                theme.muted()
            };
            Row::new(vec![
                Cell::from(Span::styled(label, theme.heading())),
                Cell::from(cut(what, what_width, theme.glyphs)),
                Cell::from(Span::styled(cut(&status, here_width, theme.glyphs), style)),
            ])
        })
        .collect();
    let width = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
    let table = Table::new(
        rows,
        [
            Constraint::Length(width(key_width)),
            Constraint::Length(width(what_width)),
            Constraint::Length(width(here_width)),
        ],
    )
    .header(Row::new(["KEY", "WHAT IT DOES", "HERE"]).style(theme.heading()))
    .block(theme.glyphs.block().title(Span::styled(
        format!(" Keys · acting on {target} · any key closes "),
        theme.heading(),
    )));
    frame.render_widget(Clear, popup);
    frame.render_widget(table, popup);
}
