//! The top bar (where, who, how fresh) and the bottom line (the last
//! result, the filter or command being typed, or key hints).

use super::theme::Theme;
use crate::app::State;
use crate::app::keymap::Command;
use crate::app::state::{Connection, Overlay};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// The connection badge: live, or disconnected with the data's age.
pub fn freshness(state: &State) -> (String, bool) {
    let seconds = |t: chrono::DateTime<chrono::Utc>| (state.now - t).num_seconds().max(0);
    match &state.connection {
        Connection::Connecting { since } => (format!("◌ connecting {}s", seconds(*since)), false),
        Connection::Failed { error, since } => (
            format!("✖ cannot connect ({}s): {error}", seconds(*since)),
            false,
        ),
        Connection::Connected => match state.disconnected_since() {
            Some((since, _)) => {
                let as_of = state.last_data.unwrap_or(since).min(since);
                (
                    format!(
                        "✖ disconnected {}s, data as of {} ({}s old)",
                        seconds(since),
                        as_of.format("%H:%M:%S"),
                        seconds(as_of)
                    ),
                    false,
                )
            }
            None => ("● live".to_string(), true),
        },
    }
}

pub fn top(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let mut spans = vec![Span::styled(" cutover ", theme.heading())];
    if state.simulated {
        spans.push(Span::styled(" SIMULATED ", theme.badge()));
        spans.push(Span::raw(" "));
    }
    if state.read_only {
        spans.push(Span::styled(" READ-ONLY ", theme.badge()));
        spans.push(Span::raw(" "));
    }
    let scope = &state.scope;
    spans.push(Span::raw(format!(
        "ctx {} │ ns {} │ user {} │ ",
        if scope.context.is_empty() {
            "-"
        } else {
            &scope.context
        },
        scope.namespace.as_deref().unwrap_or("all"),
        scope.user.as_deref().unwrap_or("?"),
    )));
    let (badge, live) = freshness(state);
    let style = if live {
        theme.fg(theme.ok)
    } else {
        theme.attention()
    };
    spans.push(Span::styled(badge, style));
    if !scope.missing_kinds.is_empty() {
        spans.push(Span::styled(
            format!(" │ not installed: {}", scope.missing_kinds.join(", ")),
            theme.muted(),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub fn bottom(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let line = if let Some(Overlay::Command(text)) = &state.overlay {
        Line::from(vec![
            Span::styled(":", theme.heading()),
            Span::raw(text.clone()),
            Span::raw("▏"),
        ])
    } else if state.filter_editing {
        Line::from(vec![
            Span::styled("/", theme.heading()),
            Span::raw(state.filter.clone()),
            Span::raw("▏"),
            Span::styled("  Enter keep · Esc clear", theme.muted()),
        ])
    } else if let Some(result) = &state.last_result {
        let style = if result.ok {
            theme.fg(theme.ok)
        } else {
            theme.attention()
        };
        let mark = if result.ok { "✔" } else { "✖" };
        Line::from(vec![
            Span::styled(
                format!("{} {mark} ", result.at.format("%H:%M:%S")),
                theme.muted(),
            ),
            Span::styled(result.text.clone(), style),
        ])
    } else if let Some(w) = state.warnings.first() {
        Line::from(Span::styled(
            format!("⚠ {w}"),
            theme.fg(theme.warn).add_modifier(Modifier::BOLD),
        ))
    } else {
        let k = |c| state.keymap.label(c);
        let mut hints = format!(
            "{} help  {} filter  {} command  {} open  {} back  {} quit",
            k(Command::Help),
            k(Command::Filter),
            k(Command::CommandLine),
            k(Command::Open),
            k(Command::Back),
            k(Command::Quit)
        );
        if !state.filter.is_empty() {
            hints = format!("filter /{}  ·  {hints}", state.filter);
        }
        Line::from(Span::styled(hints, theme.muted()))
    };
    frame.render_widget(Paragraph::new(line), area);
}
