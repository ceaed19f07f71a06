//! The list: one row per release, attention first.

use super::columns::{Column, fit};
use super::theme::Theme;
use super::{age, cut, phase_mark, schema_rollback, short_image, thousands, verdict_mark};
use crate::app::State;
use crate::model::metrics::Verdict;
use crate::model::migration::{RollbackSafety, has_migration};
use crate::model::traffic::Weight;
use crate::model::{Attention, Release, Strategy};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

fn strategy_word(r: &Release) -> &'static str {
    match r.strategy {
        Strategy::Canary => "canary",
        Strategy::BlueGreen => "bluegreen",
        Strategy::Progressive => "flagger",
        Strategy::RollingUpdate => "rolling",
        Strategy::Recreate => "recreate",
    }
}

/// The step column: Argo's N/M, Flagger's weight against its maximum
/// (`?` for one that cannot be read).
fn step_text(r: &Release) -> String {
    if let Some(s) = r.step_text() {
        return s;
    }
    if let Some(f) = &r.flagger {
        let w = |o| Weight::read(o).text();
        return format!("{}/{}%", w(f.weight), w(f.max_weight));
    }
    "-".into()
}

/// The image as the column can hold it: `checkout:1.5.0`, or the tag
/// alone on narrow screens.
fn image_text(image: Option<&str>, narrow: bool) -> String {
    let Some(image) = image.map(short_image) else {
        return "-".into();
    };
    match image.rsplit_once(':') {
        Some((_, tag)) if narrow => tag.to_string(),
        _ => image.to_string(),
    }
}

/// cutover's verdict: the word with its symbol, or the word alone (Marginal
/// shortened) in the compact list; `—` for a release not measured.
fn verdict_text(verdict: Option<Verdict>, compact: bool) -> String {
    match (verdict, compact) {
        (None, _) => "—".into(),
        (Some(Verdict::Marginal), true) => "Marg.".into(),
        (Some(v), true) => v.word().into(),
        (Some(v), false) => format!("{} {}", verdict_mark(v), v.word()),
    }
}

/// The schema column: the phase the migration is at with its state's mark
/// (`backfill◌`, `contract✔`), then `✖` when a rollback is unsafe for the
/// schema, `⚠` when code and schema are out of step, `?` when the migration
/// cannot be read; `—` without a migration. At most 10 characters.
fn schema_spans(r: &Release, theme: &Theme) -> Vec<Span<'static>> {
    if !has_migration(r) {
        return vec![Span::styled("—", theme.muted())];
    }
    let mut spans = Vec::new();
    if let Some(p) = r.migration.as_ref().and_then(|m| m.current()) {
        spans.push(Span::styled(
            format!("{}{}", p.name.word(), phase_mark(p.state)),
            theme.phase(p.state),
        ));
    }
    if let Some((mark, style)) = schema_marker(r, theme) {
        spans.push(Span::styled(mark, style));
    }
    spans
}

/// What stands out about a release's migration: an unsafe rollback before
/// an alarm, an alarm before not knowing.
fn schema_marker(r: &Release, theme: &Theme) -> Option<(&'static str, Style)> {
    let alarm = r
        .attention
        .iter()
        .any(|a| matches!(a, Attention::MigrationOrder(_)));
    match schema_rollback(r) {
        Some(RollbackSafety::Unsafe(_)) => Some(("✖", theme.attention())),
        _ if alarm => Some(("⚠", theme.attention())),
        Some(RollbackSafety::Unknown(_)) => Some(("?", theme.fg(theme.warn))),
        _ if r.migration.is_none() => Some(("?", theme.fg(theme.warn))),
        _ => None,
    }
}

/// Below this width the list keeps what a decision needs (attention, name,
/// phase, weight, verdict, schema and both versions) and leaves the kind,
/// strategy, step and age to the detail: at 80 columns all twelve would
/// squeeze the versions out.
pub(super) const COMPACT_BELOW: u16 = 120;

/// The columns the compact list leaves out: KIND, STRATEGY, STEP and AGE.
const COMPACT_DROPS: [usize; 4] = [2, 3, 5, 11];

fn columns<T>(all: impl IntoIterator<Item = T>, compact: bool) -> Vec<T> {
    all.into_iter()
        .enumerate()
        .filter(|(i, _)| !compact || !COMPACT_DROPS.contains(i))
        .map(|(_, c)| c)
        .collect()
}

/// A release's cells, one per column shown.
fn row(
    r: &Release,
    state: &State,
    theme: &Theme,
    all_namespaces: bool,
    narrow: bool,
    compact: bool,
) -> Vec<Line<'static>> {
    let attention = r.attention.first();
    let marker = match attention {
        Some(a) => Line::from(Span::styled(format!("! {}", a.short()), theme.attention())),
        None => Line::default(),
    };
    let mut phase = format!("{} {}", r.health.symbol(), r.phase);
    if let Some(p) = &r.pause
        && let Some(left) = p.remaining(state.now)
    {
        phase.push_str(&format!(" {left}s"));
    }
    let name = if all_namespaces {
        format!("{}/{}", r.key.namespace, r.key.name)
    } else {
        r.key.name.clone()
    };
    // `?`: some of the release's fields cannot be read (the detail and
    // `status -o json` say which).
    let name = match r.warnings.is_empty() {
        true => Line::from(name),
        false => Line::from(vec![
            Span::raw(name),
            Span::styled(" ?", theme.fg(theme.warn)),
        ]),
    };
    let mut weight = r.weights.text();
    if r.weights.drift().is_some() {
        weight.push('≠');
    }
    let verdict = state.verdict_of(&r.key);
    let verdict_style = verdict.map_or(theme.muted(), |v| theme.verdict(v));
    let cells = [
        marker,
        name,
        Line::from(r.key.kind.short()),
        Line::from(strategy_word(r)),
        Line::from(Span::styled(phase, theme.health(r.health))),
        Line::from(step_text(r)),
        Line::from(weight),
        Line::from(Span::styled(verdict_text(verdict, compact), verdict_style)),
        Line::from(schema_spans(r, theme)),
        Line::from(Span::styled(
            image_text(
                r.canary_image()
                    .filter(|_| !r.fully_promoted() || r.strategy == Strategy::Progressive),
                narrow,
            ),
            theme.fg(theme.canary),
        )),
        Line::from(Span::styled(
            image_text(r.stable_image(), narrow),
            theme.fg(theme.stable),
        )),
        Line::from(age(r.created, state.now)),
    ];
    columns(cells, compact)
}

const HEADERS: [&str; 12] = [
    "ATTN", "NAME", "KIND", "STRATEGY", "PHASE", "STEP", "WEIGHT", "VERDICT", "SCHEMA", "CANARY",
    "STABLE", "AGE",
];

// The columns that may be cut: the images first, the name last. The rest
// are short words that keep their width.
const NAME: usize = 1;
const IMAGES: [usize; 2] = [9, 10];

/// Columns of fixed width: their widths when there is room.
fn fixed_width(column: usize, compact: bool) -> u16 {
    match column {
        0 => 11,
        2 => 6,
        3 => 9,
        // "॥ Paused 150s" and "◌ Progressing" fit the compact width.
        4 if compact => 13,
        4 => 16,
        5 | 6 => 7,
        7 if compact => 7,
        7 => 10,
        8 => 10,
        // AGE
        _ => 4,
    }
}

/// A cell that says nothing but "no value".
fn placeholder(cell: &Line<'_>) -> bool {
    matches!(cell.to_string().trim(), "" | "-" | "—")
}

/// The width of each column shown (`None`: dropped) in `room` cells: the
/// name is the last to give up width, columns of placeholders go first.
fn widths(
    headers: &[(usize, &str)],
    rows: &[Vec<Line<'_>>],
    room: u16,
    compact: bool,
) -> Vec<Option<u16>> {
    let fitted: Vec<Column> = headers
        .iter()
        .enumerate()
        .map(|(i, &(column, header))| {
            let cells = rows.iter().map(|r| &r[i]);
            let widest = cells.clone().map(Line::width).max().unwrap_or(0);
            let natural = u16::try_from(widest.max(header.len())).unwrap_or(u16::MAX);
            let placeholders = cells.clone().all(placeholder);
            match column {
                NAME => Column::flexible(natural, false, 1, 8),
                c if IMAGES.contains(&c) => Column::flexible(natural, placeholders, 0, 8),
                c => Column::fixed(fixed_width(c, compact), natural, placeholders),
            }
        })
        .collect();
    fit(&fitted, room, 1)
}

/// `line` cut to `width` cells, the cut marked.
fn cut_line(line: Line<'static>, width: u16, theme: &Theme) -> Line<'static> {
    if line.width() <= usize::from(width) {
        return line;
    }
    let style = line.spans.first().map(|s| s.style).unwrap_or_default();
    Line::from(Span::styled(
        cut(&line.to_string(), usize::from(width), theme.glyphs),
        style,
    ))
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let visible = state.visible();
    let all_namespaces = state.scope.namespace.is_none();
    let attention = visible.iter().filter(|r| r.needs_attention()).count();
    // While the releases' own kinds are still listed, no count is final.
    let loading = state.sources.releases_loading(&state.scope.missing_kinds);
    let mut title = format!(
        " Releases ({}{}{}) · {} need attention · sort: {} ",
        thousands(visible.len()),
        if state.filter.is_empty() {
            String::new()
        } else {
            format!(" of {}", thousands(state.releases.len()))
        },
        if loading { " so far, loading" } else { "" },
        attention,
        state.sort.word()
    );
    // While a watch fails, the rows are as old as the outage.
    if let Some(outage) = state.sources.outage(state.now) {
        title.push_str(&format!("· {} ", outage.data_text()));
    }
    let block = theme
        .glyphs
        .block()
        .title(Span::styled(title, theme.heading()));
    if visible.is_empty() {
        let text = if state.releases.is_empty() && loading {
            "Loading releases: none has arrived yet."
        } else if state.releases.is_empty() {
            "No releases yet: no Rollouts, Canaries or Deployments seen in this scope."
        } else {
            "No release matches the filter (Esc clears it)."
        };
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(text, theme.muted()))).block(block),
            area,
        );
        return;
    }
    let narrow = area.width < 130;
    let compact = area.width < COMPACT_BELOW;
    let headers = columns(HEADERS.into_iter().enumerate(), compact);
    let cells: Vec<Vec<Line<'static>>> = visible
        .iter()
        .map(|r| row(r, state, theme, all_namespaces, narrow, compact))
        .collect();
    // Inside the border, beside the highlight's mark.
    let room = area.width.saturating_sub(3);
    let widths = widths(&headers, &cells, room, compact);
    let shown = |i: &usize| widths[*i].is_some();
    let header = Row::new(
        (0..headers.len())
            .filter(shown)
            .map(|i| headers[i].1)
            .collect::<Vec<_>>(),
    )
    .style(theme.heading().add_modifier(Modifier::UNDERLINED));
    let rows: Vec<Row<'_>> = cells
        .into_iter()
        .map(|cells| {
            Row::new(
                cells
                    .into_iter()
                    .zip(&widths)
                    .filter_map(|(cell, w)| w.map(|w| Cell::from(cut_line(cell, w, theme)))),
            )
        })
        .collect();
    let table = Table::new(
        rows,
        widths.iter().flatten().map(|&w| Constraint::Length(w)),
    )
    .header(header)
    .block(block)
    .column_spacing(1)
    .row_highlight_style(theme.selected())
    .highlight_symbol("▶");
    let selected = state
        .selected
        .as_ref()
        .and_then(|k| visible.iter().position(|r| &r.key == k));
    let mut table_state = TableState::default().with_selected(selected);
    frame.render_stateful_widget(table, area, &mut table_state);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;
    use crate::model::migration::settle;
    use crate::test_support::fixture::{ARGO_BLUE_GREEN, Fixture};
    use crate::test_support::migration_jobs::{CONTRACT, JOBS};

    /// payments from `files`, its alarms settled as the control room does.
    fn schema_text(files: &[&str]) -> String {
        let theme = Theme::load("mono").unwrap();
        let mut payments = Fixture::load(files).release(Kind::Rollout, "payments");
        settle(&mut payments, None);
        Line::from(schema_spans(&payments, &theme)).to_string()
    }

    #[test]
    fn the_schema_column_is_short_and_says_what_stands_out() {
        assert_eq!(schema_text(&[ARGO_BLUE_GREEN]), "—");
        assert_eq!(schema_text(&[ARGO_BLUE_GREEN, JOBS]), "backfill◌");
        let contracted = schema_text(&[ARGO_BLUE_GREEN, JOBS, CONTRACT]);
        assert_eq!(contracted, "contract✔✖", "an unsafe rollback");
        assert!(contracted.chars().count() <= 10);
    }

    #[test]
    fn the_schema_column_does_not_guess() {
        let theme = Theme::load("mono").unwrap();
        let mut payments = Fixture::load(&[ARGO_BLUE_GREEN]).release(Kind::Rollout, "payments");
        payments.annotations.insert(
            crate::model::migration::DATABASE_ANNOTATION.into(),
            "payments".into(),
        );
        settle(
            &mut payments,
            Some(("payments", crate::model::migration::DatabaseView::Unread)),
        );
        assert_eq!(Line::from(schema_spans(&payments, &theme)).to_string(), "?");
        let mut backfilling =
            Fixture::load(&[ARGO_BLUE_GREEN, JOBS]).release(Kind::Rollout, "payments");
        backfilling.migration_problem = Some("database payments not read yet".into());
        assert_eq!(
            Line::from(schema_spans(&backfilling, &theme)).to_string(),
            "backfill◌?",
            "unknown: never shown as safe"
        );
    }
}
