//! The top bar (where, who, how fresh) and the bottom line (the last
//! result, the filter or command being typed, or key hints, after a
//! recommendation when the metrics say Fail).

use super::help::inactive_reason;
use super::theme::Theme;
use crate::app::State;
use crate::app::health::Outage;
use crate::app::keymap::Command;
use crate::app::state::{Connection, Overlay};
use crate::model::metrics::Verdict;
use crate::time::seconds_since;
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// What the connection badge says, with the instants it counts from.
enum Badge<'a> {
    Connecting {
        since: DateTime<Utc>,
    },
    Failed {
        error: &'a str,
        since: DateTime<Utc>,
    },
    /// A watch has failed for longer than a hiccup: the data is as old as
    /// the outage.
    Reconnecting(Outage<'a>),
    Live,
}

fn badge(state: &State) -> Badge<'_> {
    match &state.connection {
        Connection::Connecting { since } => Badge::Connecting { since: *since },
        Connection::Failed { error, since } => Badge::Failed {
            error,
            since: *since,
        },
        Connection::Connected => match state.sources.outage(state.now) {
            Some(outage) => Badge::Reconnecting(outage),
            None => Badge::Live,
        },
    }
}

/// The instants the badge counts whole seconds from.
pub fn badge_counts_from(state: &State) -> Vec<DateTime<Utc>> {
    match badge(state) {
        Badge::Connecting { since } | Badge::Failed { since, .. } => vec![since],
        Badge::Reconnecting(_) | Badge::Live => Vec::new(),
    }
}

/// The connection badge: live, or reconnecting with the data's time.
pub fn freshness(state: &State) -> (String, bool) {
    let seconds = |t| seconds_since(t, state.now);
    match badge(state) {
        Badge::Connecting { since } => (format!("◌ connecting {}s", seconds(since)), false),
        Badge::Failed { error, since } => (
            format!("✖ cannot connect ({}s): {error}", seconds(since)),
            false,
        ),
        Badge::Reconnecting(outage) => (
            format!("◌ reconnecting ({}) · {}", outage.error, outage.data_text()),
            false,
        ),
        Badge::Live => ("● live".to_string(), true),
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
    let line = typing(state, theme).unwrap_or_else(|| {
        let mut spans: Vec<Span<'static>> = recommendation(state, theme)
            .into_iter()
            .chain(config_problems(state, theme))
            .flat_map(|r| [r, Span::raw("  ")])
            .collect();
        let used: usize = spans.iter().map(Span::width).sum();
        let room = usize::from(area.width).saturating_sub(used);
        spans.extend(message(state, room, theme).spans);
        Line::from(spans)
    });
    frame.render_widget(Paragraph::new(line), area);
}

/// The command or filter being typed, which takes the whole line.
fn typing(state: &State, theme: &Theme) -> Option<Line<'static>> {
    if let Some(Overlay::Command(text)) = &state.overlay {
        return Some(Line::from(vec![
            Span::styled(":", theme.heading()),
            Span::raw(text.clone()),
            Span::raw("▏"),
        ]));
    }
    state.filter_editing.then(|| {
        Line::from(vec![
            Span::styled("/", theme.heading()),
            Span::raw(state.filter.clone()),
            Span::raw("▏"),
            Span::styled("  Enter keep · Esc clear", theme.muted()),
        ])
    })
}

/// When cutover's verdict on the release the keys act on is Fail: abort,
/// with the key that asks for it (and why that key is off, if it is).
/// Only a hint: nothing is done without the human.
fn recommendation(state: &State, theme: &Theme) -> Option<Span<'static>> {
    let release = state.target()?;
    if state.verdict_of(&release.key) != Some(Verdict::Fail) {
        return None;
    }
    let key = match state.keymap.label(Command::Abort) {
        k if k.is_empty() => "no key bound".to_string(),
        k => k,
    };
    let how = match inactive_reason(state, Command::Abort) {
        None => key,
        Some(why) => format!("{key}, off here: {why}"),
    };
    Some(Span::styled(
        format!("✖ metrics say Fail: abort recommended ({how})"),
        theme.recommendation(),
    ))
}

/// How many mistakes the config file has, and how to see them: they stay
/// on the line until the file is fixed.
fn config_problems(state: &State, theme: &Theme) -> Option<Span<'static>> {
    let n = state.config_problems.problems.len();
    let plural = if n == 1 { "" } else { "s" };
    (n > 0).then(|| {
        Span::styled(
            format!("⚠ {n} config problem{plural} (:config)"),
            theme.fg(theme.warn).add_modifier(Modifier::BOLD),
        )
    })
}

/// The last result, a warning, or the key hints that fit in `room`.
fn message(state: &State, room: usize, theme: &Theme) -> Line<'static> {
    if let Some(result) = &state.last_result {
        let style = if result.ok {
            theme.fg(theme.ok)
        } else {
            theme.attention()
        };
        let mark = if result.ok { "✔" } else { "✖" };
        return Line::from(vec![
            Span::styled(
                format!("{} {mark} ", result.at.format("%H:%M:%S")),
                theme.muted(),
            ),
            Span::styled(result.text.clone(), style),
        ]);
    }
    if let Some(w) = state.warnings.first() {
        return Line::from(Span::styled(
            format!("⚠ {w}"),
            theme.fg(theme.warn).add_modifier(Modifier::BOLD),
        ));
    }
    Line::from(Span::styled(hints(state, room), theme.muted()))
}

/// The filter, if any, and the key hints: as many as fit in `room`, whole,
/// and always the first (help).
fn hints(state: &State, room: usize) -> String {
    let k = |c| state.keymap.label(c);
    let items = [
        format!("{} help", k(Command::Help)),
        format!("{} filter", k(Command::Filter)),
        format!("{} command", k(Command::CommandLine)),
        format!("{} open", k(Command::Open)),
        format!("{} back", k(Command::Back)),
        format!("{} quit", k(Command::Quit)),
    ];
    let mut text = if state.filter.is_empty() {
        String::new()
    } else {
        format!("filter /{}  ·  ", state.filter)
    };
    for (i, item) in items.iter().enumerate() {
        let gap = if i == 0 { "" } else { "  " };
        if i > 0 && text.chars().count() + gap.len() + item.chars().count() > room {
            break;
        }
        text.push_str(gap);
        text.push_str(item);
    }
    text
}
