//! `?`: every binding from the keymap, with whether it works here and, if
//! not, why.

use super::centred;
use super::theme::Theme;
use crate::app::State;
use crate::app::keymap::Command;
use crate::app::state::View;
use crate::app::update::unavailable;
use crate::model::Action;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Cell, Clear, Row, Table};

/// Why `command` does nothing here, or None when it is active.
pub fn inactive_reason(state: &State, command: Command) -> Option<String> {
    let in_detail = matches!(state.view, View::Detail(_));
    match command {
        Command::Open if in_detail => Some("already open".into()),
        Command::Open if state.selected.is_none() => Some("no release selected".into()),
        Command::Sort | Command::Filter if in_detail => Some("in the list only".into()),
        Command::Confirm | Command::Cancel => Some("in a confirmation only".into()),
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

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let target = state
        .target()
        .map_or("no release selected".to_string(), |r| {
            format!("{} {}", r.key.kind.word(), r.key.name)
        });
    let rows: Vec<Row<'_>> = Command::ALL
        .iter()
        .map(|&c| {
            let (status, style) = match inactive_reason(state, c) {
                None => ("active".to_string(), theme.fg(theme.ok)),
                Some(why) => (format!("off: {why}"), theme.muted()),
            };
            Row::new(vec![
                Cell::from(Span::styled(state.keymap.label(c), theme.heading())),
                Cell::from(c.description()),
                Cell::from(Span::styled(status, style)),
            ])
        })
        .collect();
    let height = u16::try_from(rows.len())
        .unwrap_or(u16::MAX)
        .saturating_add(3);
    let popup = centred(area, area.width.saturating_sub(2).max(40), height);
    let table = Table::new(
        rows,
        [
            Constraint::Length(9),
            Constraint::Fill(3),
            Constraint::Fill(2),
        ],
    )
    .header(Row::new(["KEY", "WHAT IT DOES", "HERE"]).style(theme.heading()))
    .block(Block::bordered().title(Span::styled(
        format!(" Keys · acting on {target} · any key closes "),
        theme.heading(),
    )));
    frame.render_widget(Clear, popup);
    frame.render_widget(table, popup);
}
