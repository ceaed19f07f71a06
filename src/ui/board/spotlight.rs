//! The spotlight: one release in full, for reading from across the room:
//! what it is, its phase, how far its steps have come and how long a timed
//! pause has left, its weights, cutover's verdict and why, its migration
//! and whether a rollback is safe; then its latest Events as room allows.

use super::super::detail::metrics::{not_measured, verdict};
use super::super::detail::migration::{rollback_text, strip};
use super::super::detail::{PodRows, Timeline, timeline, tree};
use super::super::list::cut_line;
use super::super::theme::Theme;
use super::super::{age_text, schema_rollback, short_image};
use crate::app::State;
use crate::app::board::{Board, releases_loading, stale_cluster};
use crate::model::migration::has_migration;
use crate::model::traffic::Weight;
use crate::model::{Release, Strategy};
use crate::time::seconds_since;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

/// The most Events the spotlight shows.
const TIMELINE_ROWS: usize = 8;

/// The widest the progress bar gets.
const BAR_CELLS: usize = 40;

/// `position` is the spotlight's place among `of` releases in flight.
pub(super) fn draw(
    frame: &mut Frame<'_>,
    area: Rect,
    state: &State,
    board: &Board,
    release: Option<&Release>,
    (position, of): (Option<usize>, usize),
    theme: &Theme,
) {
    let cycle = match (board.settings.cycle, board.paused) {
        (None, _) => String::new(),
        (Some(_), true) => " · cycle paused".into(),
        (Some(_), false) if of > 1 => " · cycling".into(),
        (Some(_), false) => String::new(),
    };
    let place = position.map_or(String::new(), |p| format!(" {} of {of}", p + 1));
    let title = format!(" Spotlight{place}{cycle} ");
    let block = theme
        .glyphs
        .block()
        .title(Span::styled(title, theme.heading()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = match release {
        Some(r) => lines(r, state, board, inner, theme),
        None => quiet(state, theme),
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// Nothing in flight: say so, and how many are at rest.
fn quiet(state: &State, theme: &Theme) -> Vec<Line<'static>> {
    let text = match (state.releases.len(), releases_loading(state)) {
        (0, true) => "Loading releases: none has arrived yet.".to_string(),
        (0, false) => "No releases in this scope.".to_string(),
        (n, _) => format!("✔ All quiet: {n} releases healthy and at rest."),
    };
    vec![
        Line::from(""),
        Line::from(Span::styled(
            text,
            theme.fg(theme.ok).add_modifier(Modifier::BOLD),
        )),
    ]
}

/// The release's lines in the room of `area`, the Events filling the rest.
fn lines(
    r: &Release,
    state: &State,
    board: &Board,
    area: Rect,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let width = usize::from(area.width);
    let mut title = Vec::new();
    if state.is_fleet() {
        // Which cluster, as big as the confirmation says it.
        let cluster = format!(" {} ", r.key.cluster.to_uppercase());
        title.extend([Span::styled(cluster, theme.badge()), Span::raw(" ")]);
    }
    title.extend([
        Span::styled(
            format!("{} {}/{}", r.key.kind.word(), r.key.namespace, r.key.name),
            theme.heading(),
        ),
        Span::styled(format!(" · {}", r.strategy.word()), theme.muted()),
    ]);
    let mut out = vec![Line::from(title)];
    if let Some(since) = stale_cluster(state, board, &r.key.cluster).filter(|_| state.is_fleet()) {
        out.push(Line::from(Span::styled(
            format!(
                "✖ {} is down: this is its data of {} ({} ago)",
                r.key.cluster,
                since.format("%H:%M:%S"),
                age_text(seconds_since(since, state.now))
            ),
            theme.attention(),
        )));
    }
    out.push(phase(r, theme));
    out.extend(r.attention.iter().map(|a| {
        Line::from(Span::styled(
            format!("! {}", a.describe()),
            theme.attention(),
        ))
    }));
    out.extend(progress(r, state, width, theme));
    out.extend(weights(r, theme));
    out.push(cut_line(verdict_line(r, state, theme), area.width, theme));
    if has_migration(r) {
        out.push(strip(r.migration.as_ref(), theme));
        if let Some(safety) = schema_rollback(r) {
            out.push(Line::from(Span::styled(
                rollback_text(&safety),
                theme.rollback(&safety),
            )));
        }
    }
    out.push(images(r, theme));
    let used: usize = out
        .iter()
        .map(|l| l.width().div_ceil(width.max(1)).max(1))
        .sum();
    let left = usize::from(area.height).saturating_sub(used);
    // A blank row, the title and at least one Event, or none of them.
    if left >= 3 {
        // The latest Events as many as fit, oldest first (the newest at
        // the bottom, where the next one is added), then the revisions
        // and their pods counted by state, as far as the room goes: a big
        // screen shows them all.
        let events = TIMELINE_ROWS.min(left - 2);
        let mut more = vec![Line::from("")];
        more.extend(timeline(r, state, theme, Timeline::Tail(events)));
        more.push(Line::from(""));
        more.extend(tree(r, state, theme, PodRows::Counted));
        out.extend(more.into_iter().take(left));
    }
    out
}

/// `॥ Paused · CanaryPauseStep`, the phase as big as a line can make it.
fn phase(r: &Release, theme: &Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(
        format!("{} {}", r.health.symbol(), r.phase),
        theme.health(r.health).add_modifier(Modifier::BOLD),
    )];
    if !r.message.is_empty() {
        spans.push(Span::styled(format!(" · {}", r.message), theme.muted()));
    }
    Line::from(spans)
}

/// How far the release has come, as a bar: Argo's steps, Flagger's weight
/// against its maximum, or the updated replicas; then a timed pause's
/// countdown or the decision waited for.
fn progress(r: &Release, state: &State, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let (label, done, total) = if let Some((n, total)) = r.step() {
        let text = r.step_text().unwrap_or_default();
        (format!("step {text}"), n, total)
    } else if let Some(f) = r.flagger.as_ref().filter(|f| f.max_weight.is_some()) {
        let w = |o| Weight::read(o).text();
        let label = format!("weight {}% of {}%", w(f.weight), w(f.max_weight));
        let count = |o: Option<u32>| o.and_then(|v| usize::try_from(v).ok());
        (label, count(f.weight), count(f.max_weight).unwrap_or(0))
    } else {
        let count = |o: Option<i64>| o.and_then(|v| usize::try_from(v).ok());
        let (updated, desired) = (count(r.replicas.updated), count(r.replicas.desired));
        let text = |o: Option<usize>| o.map_or("?".into(), |v| v.to_string());
        let label = format!("updated {}/{}", text(updated), text(desired));
        (label, updated, desired.unwrap_or(0))
    };
    let mut spans = vec![Span::styled(format!("{label} "), theme.heading())];
    if total > 0 {
        let cells = width
            .saturating_sub(label.chars().count() + 2)
            .min(BAR_CELLS);
        let filled = done.map_or(0, |d| (d.min(total) * cells) / total);
        spans.push(Span::styled("█".repeat(filled), theme.fg(theme.accent)));
        spans.push(Span::styled("░".repeat(cells - filled), theme.muted()));
    }
    let mut out = vec![Line::from(spans)];
    if let Some(p) = &r.pause {
        let (text, style) = match p.remaining(state.now) {
            Some(left) => (
                format!("⏱ {left}s left of the pause ({})", p.reason),
                theme.fg(theme.warn).add_modifier(Modifier::BOLD),
            ),
            None if p.needs_decision => (
                format!("◷ waiting for a decision ({})", p.reason),
                theme.attention(),
            ),
            None => (format!("॥ paused ({})", p.reason), theme.fg(theme.warn)),
        };
        out.push(Line::from(Span::styled(text, style)));
    }
    out
}

/// `weight desired 20% · applied 20%`, and the router's when it drifts.
fn weights(r: &Release, theme: &Theme) -> Option<Line<'static>> {
    let w = &r.weights;
    if w.desired == Weight::Absent && w.applied == Weight::Absent {
        return None;
    }
    let pct = |w: Weight| match w {
        Weight::Known(v) => format!("{v}%"),
        other => other.text(),
    };
    let sides: Vec<String> = [("desired", w.desired), ("applied", w.applied)]
        .into_iter()
        .filter(|(_, weight)| *weight != Weight::Absent)
        .map(|(side, weight)| format!("{side} {}", pct(weight)))
        .collect();
    let mut spans = vec![
        Span::styled("weight ", theme.heading()),
        Span::raw(sides.join(" · ")),
    ];
    if let Some((_, router)) = w.drift() {
        spans.push(Span::styled(
            format!(" ≠ router {router}%"),
            theme.attention(),
        ));
    }
    Some(Line::from(spans))
}

/// `✖ Verdict: Fail (score 50) — error rate 4.1% vs 0.2%`: the verdict
/// and its first reason, or why the release is not measured.
fn verdict_line(r: &Release, state: &State, theme: &Theme) -> Line<'static> {
    let Some(m) = state.metrics.get(&r.key) else {
        return Line::from(Span::styled(
            not_measured(state, &r.key, theme.glyphs),
            theme.muted(),
        ));
    };
    let mut line = verdict(m, theme);
    if let Some(reason) = m.verdict.reasons.first() {
        line.push_span(Span::raw(format!(" — {reason}")));
    }
    line
}

/// `canary checkout:1.5.0 · stable checkout:1.4.2`.
fn images(r: &Release, theme: &Theme) -> Line<'static> {
    let canary = r
        .canary_image()
        .filter(|_| !r.fully_promoted() || r.strategy == Strategy::Progressive);
    let mut spans = Vec::new();
    if let Some(image) = canary {
        spans.push(Span::styled("canary ", theme.muted()));
        spans.push(Span::styled(
            short_image(image).to_string(),
            theme.fg(theme.canary),
        ));
        spans.push(Span::styled(" · ", theme.muted()));
    }
    spans.push(Span::styled("stable ", theme.muted()));
    spans.push(Span::styled(
        r.stable_image().map_or("-", short_image).to_string(),
        theme.fg(theme.stable),
    ));
    Line::from(spans)
}
