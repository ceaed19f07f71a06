//! `:config`: every mistake in the config file, with its line and column,
//! the cause and the fix.

use super::theme::Theme;
use super::{centred, hanging};
use crate::app::State;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let report = &state.config_problems;
    let popup_width = area.width.saturating_sub(4).max(40).min(area.width);
    let text_width = usize::from(popup_width.saturating_sub(2));
    let mut lines: Vec<Line<'static>> = Vec::new();
    if report.problems.is_empty() {
        lines.push(Line::from(Span::styled(
            "✔ no problems",
            theme.fg(theme.ok),
        )));
    }
    for problem in &report.problems {
        // `LINE:COL:` stands out; the rest wraps under it.
        let (place, rest) = match problem.split_once(": ") {
            Some((place, rest)) if place.chars().all(|c| c.is_ascii_digit() || c == ':') => {
                (format!("{place}: "), rest)
            }
            _ => (String::new(), problem.as_str()),
        };
        let indent = " ".repeat(place.chars().count().min(text_width / 2));
        for (i, row) in hanging(rest, text_width, &place, &indent)
            .into_iter()
            .enumerate()
        {
            let line = match row.strip_prefix(&place).filter(|_| i == 0) {
                Some(after) => Line::from(vec![
                    Span::styled(place.clone(), theme.heading()),
                    Span::raw(after.to_string()),
                ]),
                None => Line::from(row),
            };
            lines.push(line);
        }
    }
    let room = usize::from(area.height.saturating_sub(2));
    if lines.len() > room {
        let hidden = lines.len() + 1 - room;
        lines.truncate(room.saturating_sub(1));
        lines.push(Line::from(Span::styled(
            format!("… {hidden} more lines: `cutover config check` lists them all"),
            theme.muted(),
        )));
    }
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let popup = centred(area, popup_width, height);
    let n = report.problems.len();
    let title = format!(
        " Config {} · {n} problem{} · any key closes ",
        report.file,
        if n == 1 { "" } else { "s" }
    );
    let block = Block::bordered().title(Span::styled(title, theme.heading()));
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
