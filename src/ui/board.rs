//! The board of `cutover watch`, for a screen on the wall: a header with
//! where, when and how fresh; a banner across the screen while the data is
//! stale; the spotlight on one release; a row for every other release in
//! flight; the outcomes; and a footer counting the healthy, idle releases.
//! It fills any screen from 80×24 up.

mod rows;
mod spotlight;

use super::bars::{Tone, badge_text, fleet_badges, joined};
use super::theme::Theme;
use super::{age_text, centred, cut, cut_middle, feeds, thousands};
use crate::app::State;
use crate::app::board::{
    Board, Stale, in_flight, in_flight_releases, listed, releases_loading, spotlight, stale,
};
use crate::time::seconds_since;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

/// The list of releases in flight grows and shrinks by this many rows, on
/// a screen whose lists have at least `ROOM_FOR_STEPS` rows.
const LIST_STEP: usize = 5;
const ROOM_FOR_STEPS: u16 = 30;

/// From this width the spotlight and the lists stand side by side.
pub(super) const SIDE_BY_SIDE: u16 = 160;

/// The parts of the screen, top to bottom (the lists beside the spotlight
/// on a wide screen).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Areas {
    pub header: Rect,
    pub banner: Rect,
    pub spotlight: Rect,
    pub in_flight: Rect,
    pub outcomes: Rect,
    pub footer: Rect,
}

/// Where each part goes on a screen of `area`, with `others` releases in
/// flight beside the spotlight and the banner up or not.
pub(crate) fn areas(area: Rect, others: usize, banner: bool) -> Areas {
    let banner_rows = match (banner, area.height) {
        (false, _) => 0,
        (true, h) if h >= 40 => 3,
        (true, _) => 1,
    };
    let [header, banner, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner_rows),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let (spotlight, lists) = if area.width >= SIDE_BY_SIDE {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(body);
        (left, right)
    } else {
        let spot = body.height.saturating_mul(11) / 20;
        let [top, bottom] =
            Layout::vertical([Constraint::Length(spot), Constraint::Min(0)]).areas(body);
        (top, bottom)
    };
    // The rows of the releases in flight, inside their border, and at
    // least one to say there are none; where there is room, by five at a
    // time, so that one release arriving or landing does not move the
    // outcomes below.
    let step = if lists.height >= ROOM_FOR_STEPS {
        LIST_STEP
    } else {
        1
    };
    let list_rows = u16::try_from(others.max(1).next_multiple_of(step))
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let [in_flight, outcomes] = Layout::vertical([
        Constraint::Length(list_rows.min(lists.height.saturating_mul(3) / 5)),
        Constraint::Min(0),
    ])
    .areas(lists);
    Areas {
        header,
        banner,
        spotlight,
        in_flight,
        outcomes,
        footer,
    }
}

pub fn draw(frame: &mut Frame<'_>, state: &State, board: &Board, theme: &Theme) {
    let rows = in_flight_releases(state);
    let spot = spotlight(state, board, &rows);
    let others = listed(state, board, spot);
    let stale = stale(state, board);
    let parts = areas(frame.area(), others.len(), !stale.is_empty());
    let header = if state.is_fleet() {
        fleet_header(state, parts.header, theme)
    } else {
        header(state, parts.header, theme)
    };
    frame.render_widget(Paragraph::new(header), parts.header);
    if !stale.is_empty() {
        banner(frame, parts.banner, state, &stale, theme);
    }
    let position = spot.and_then(|s| rows.iter().position(|r| r.key == s.key));
    spotlight::draw(
        frame,
        parts.spotlight,
        state,
        board,
        spot,
        (position, rows.len()),
        theme,
    );
    rows::in_flight(frame, parts.in_flight, state, board, &others, theme);
    rows::outcomes(frame, parts.outcomes, state, board, theme);
    frame.render_widget(
        Paragraph::new(footer(state, board, parts.footer.width, theme)),
        parts.footer,
    );
    if state.overlay.is_some() {
        help(frame, frame.area(), theme);
    }
    theme.glyphs.finish(frame.buffer_mut());
}

/// ` cutover watch │ ctx prod │ ns shop │ 21:30 UTC │ ● live │ ● metrics`:
/// the context is cut first when the row is short.
fn header(state: &State, area: Rect, theme: &Theme) -> Line<'static> {
    let scope = &state.home.scope;
    let namespace = scope
        .namespace
        .as_deref()
        .map_or("all namespaces".to_string(), |n| format!("ns {n}"));
    let (badge, tone) = badge_text(state, 1);
    let mut tail = vec![
        Span::raw(format!(" │ {namespace} │ ")),
        Span::styled(state.now.format("%H:%M UTC").to_string(), theme.heading()),
        Span::raw(" │ "),
        Span::styled(badge, tone.style(theme)),
    ];
    tail.extend(feeds::spans(state, feeds::FeedDetail::Failing, theme));
    let title = Span::styled(" cutover watch ", theme.badge());
    let used = title.width() + Line::from(tail.clone()).width() + " ctx ".len();
    let room = usize::from(area.width).saturating_sub(used).max(8);
    let context = match scope.context.as_str() {
        "" => "-",
        c => c,
    };
    let mut spans = vec![
        title,
        Span::raw(format!(" ctx {}", cut_middle(context, room, theme.glyphs))),
    ];
    spans.extend(tail);
    Line::from(spans)
}

/// ` cutover watch │ ● eu  ✖ us 2m, data as of 14:02 │ ns shop │ 21:30
/// UTC │ ● metrics`: each cluster's state, cut at the end when the row
/// is short.
fn fleet_header(state: &State, area: Rect, theme: &Theme) -> Line<'static> {
    let namespace = match (&state.home.scope.namespace, state.many_namespaces()) {
        (Some(n), false) => format!("ns {n}"),
        (None, _) => "all namespaces".to_string(),
        (Some(_), true) => "each cluster's namespace".to_string(),
    };
    let mut tail = vec![
        Span::raw(format!(" │ {namespace} │ ")),
        Span::styled(state.now.format("%H:%M UTC").to_string(), theme.heading()),
    ];
    tail.extend(feeds::spans(state, feeds::FeedDetail::Failing, theme));
    let title = Span::styled(" cutover watch ", theme.badge());
    let badges = fleet_badges(state);
    let room = usize::from(area.width)
        .saturating_sub(title.width() + Line::from(tail.clone()).width() + 1);
    let mut spans = vec![title, Span::raw(" ")];
    if joined(&badges).chars().count() <= room {
        for (i, (text, tone)) in badges.into_iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw("  "));
            }
            spans.push(Span::styled(text, tone.style(theme)));
        }
    } else {
        spans.push(Span::styled(
            cut(&joined(&badges), room.max(8), theme.glyphs),
            Tone::Attention.style(theme),
        ));
    }
    spans.extend(tail);
    Line::from(spans)
}

/// Across the whole width, in reverse video: since when the data is not
/// known to be the cluster's, and why; in a fleet, of each cluster that
/// is down, by name. Three rows on a big screen.
fn banner(frame: &mut Frame<'_>, area: Rect, state: &State, stale: &[Stale<'_>], theme: &Theme) {
    let style = theme.stale_banner();
    let since_text = |s: &Stale<'_>| {
        format!(
            "since {} ({} ago)",
            s.since.format("%H:%M:%S"),
            age_text(seconds_since(s.since, state.now)),
        )
    };
    let width = usize::from(area.width);
    let fits = |text: &str, more: &str| text.chars().count() + more.chars().count() <= width;
    let mut text = String::from("⚠ STALE DATA: nothing new from ");
    if state.is_fleet() {
        let each: Vec<String> = stale
            .iter()
            .map(|s| format!("{} {}", s.member.alias, since_text(s)))
            .collect();
        text.push_str(&each.join(", "));
        let others = " · the other clusters are live";
        if stale.len() < state.members().count() && fits(&text, others) {
            text.push_str(others);
        }
    } else {
        if let Some(s) = stale.first() {
            text.push_str(&format!("the cluster {}", since_text(s)));
        }
        // Why, where it fits: the header says it too.
        let (why, _) = badge_text(state, 1);
        let why = format!(" · {why}");
        if fits(&text, &why) {
            text.push_str(&why);
        }
    }
    let mut lines = vec![Line::from(""); usize::from(area.height)];
    let middle = lines.len() / 2;
    if let Some(line) = lines.get_mut(middle) {
        *line = Line::from(text);
    }
    let paragraph = Paragraph::new(lines).style(style).centered();
    frame.render_widget(paragraph, area);
}

/// `✔ 12 healthy, idle · 3 in flight · cycle every 20s · Space pause ·
/// ←/→ move · ? keys · q quit`, the key hints as many as fit in `width`.
fn footer(state: &State, board: &Board, width: u16, theme: &Theme) -> Line<'static> {
    let healthy = state.releases.iter().filter(|r| !in_flight(r)).count();
    let flying = state.releases.len() - healthy;
    let (cycle, tone) = match (board.settings.cycle, board.paused) {
        (None, _) => ("cycle off".to_string(), Tone::Muted),
        (Some(_), true) => ("⏸ CYCLE PAUSED (Space resumes)".to_string(), Tone::Warning),
        (Some(period), false) => (
            format!("cycle every {}", age_text(period.num_seconds())),
            Tone::Muted,
        ),
    };
    let healthy_style = if healthy > 0 {
        Tone::Ok.style(theme).add_modifier(Modifier::BOLD)
    } else {
        theme.muted()
    };
    // While the releases' own kinds are still listed, no count is final.
    let so_far = if releases_loading(state) {
        " so far"
    } else {
        ""
    };
    let mut line = Line::from(vec![
        Span::styled(
            format!(" ✔ {} healthy, idle{so_far}", thousands(healthy)),
            healthy_style,
        ),
        // As wide as the whole count, up to three digits, so that what
        // follows stays put as releases take off and land, without a wide
        // gap before a small count in a large fleet.
        Span::raw(format!(
            " · {:>width$} in flight · ",
            thousands(flying),
            width = thousands(state.releases.len()).len().min(3)
        )),
        Span::styled(cycle, tone.style(theme)),
    ]);
    for hint in ["Space pause", "←/→ move", "? keys", "q quit"] {
        let hint = Span::styled(format!(" · {hint}"), theme.muted());
        if line.width() + hint.width() > usize::from(width) {
            break;
        }
        line.push_span(hint);
    }
    line
}

/// The board's keys, over the board.
fn help(frame: &mut Frame<'_>, area: Rect, theme: &Theme) {
    let lines = [
        ("Space", "pause or resume the cycle of the spotlight"),
        ("← →", "the previous or next release in the spotlight"),
        ("?", "these keys (any key closes them)"),
        ("q", "quit"),
    ];
    let mut text: Vec<Line<'static>> = lines
        .iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(format!(" {key:<7}"), theme.heading()),
                Span::raw(what.to_string()),
            ])
        })
        .collect();
    text.push(Line::from(""));
    text.push(Line::from(Span::styled(
        " Read-only: no key here changes the cluster.",
        theme.muted(),
    )));
    let height = u16::try_from(text.len()).unwrap_or(u16::MAX) + 2;
    let box_area = centred(area, 60, height);
    let block = theme
        .glyphs
        .block()
        .title(Span::styled(" Board keys ", theme.heading()));
    frame.render_widget(Clear, box_area);
    frame.render_widget(Paragraph::new(text).block(block), box_area);
}
