//! The board's lists: a compact row for every other release in flight,
//! with the list's own cells, attention first; and the outcomes, newest
//! first, with their time and how long the rollout took.

use super::super::age_text;
use super::super::list::cells::{Context, Spans, cell};
use super::super::list::cut_line;
use super::super::theme::Theme;
use crate::app::State;
use crate::app::board::{Board, OutcomeKind, ReleaseOutcome, stale_cluster};
use crate::model::Release;
use crate::time::seconds_since;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

/// The list's columns the rows show (see the list's `HEADERS`): ATTN,
/// NAME, PHASE, STEP, WEIGHT, VERDICT, SCHEMA, with their widths; the
/// name takes the rest.
const COLUMNS: [(usize, u16); 7] = [(0, 11), (1, 0), (4, 14), (5, 5), (6, 7), (7, 8), (8, 10)];

/// In a fleet, the cluster a release is in, and how old its data is when
/// the cluster is down: `us ✖ 2m`.
pub(super) fn cluster_mark(
    cluster: &str,
    state: &State,
    board: &Board,
    theme: &Theme,
) -> Vec<Span<'static>> {
    let mut spans = vec![Span::styled(cluster.to_string(), theme.heading())];
    if let Some(since) = stale_cluster(state, board, cluster) {
        let age = age_text(seconds_since(since, state.now));
        spans.push(Span::styled(format!(" ✖ {age}"), theme.attention()));
    }
    spans
}

pub(super) fn in_flight(
    frame: &mut Frame<'_>,
    area: Rect,
    state: &State,
    board: &Board,
    others: &[Option<&Release>],
    theme: &Theme,
) {
    let count = others.iter().flatten().count();
    let title = format!(" Also in flight ({count}) ");
    let block = theme
        .glyphs
        .block()
        .title(Span::styled(title, theme.heading()));
    if others.is_empty() {
        let text = Span::styled("nothing else in flight", theme.muted());
        frame.render_widget(Paragraph::new(Line::from(text)).block(block), area);
        return;
    }
    let cx = Context {
        state,
        theme,
        all_namespaces: state.many_namespaces(),
        narrow: true,
        compact: true,
    };
    let shown = usize::from(area.height.saturating_sub(2));
    let more = others.len().saturating_sub(shown);
    // The last row says how many more there are, when they do not fit.
    let rows_drawn = if more > 0 {
        shown.saturating_sub(1)
    } else {
        shown
    };
    let drawn = &others[..rows_drawn.min(others.len())];
    // In a fleet, each row's cluster first, as wide as the widest drawn.
    let clusters: Vec<Option<Line<'static>>> = drawn
        .iter()
        .map(|r| {
            let r = r.filter(|_| state.is_fleet())?;
            Some(Line::from(cluster_mark(
                &r.key.cluster,
                state,
                board,
                theme,
            )))
        })
        .collect();
    let cluster_width = clusters.iter().flatten().map(Line::width).max();
    let cluster_width = cluster_width.map(|w| u16::try_from(w).unwrap_or(u16::MAX));
    let fixed: u16 =
        COLUMNS.iter().map(|(_, w)| w + 1).sum::<u16>() + cluster_width.map_or(0, |w| w + 1);
    let name_width = area.width.saturating_sub(fixed + 2).max(8);
    let mut widths: Vec<u16> = cluster_width.into_iter().collect();
    widths.extend(
        COLUMNS
            .iter()
            .map(|&(_, w)| if w == 0 { name_width } else { w }),
    );
    let mut rows: Vec<Row<'static>> = drawn
        .iter()
        .zip(clusters)
        .map(|(r, cluster)| match r {
            Some(r) => {
                let cluster = cluster.map(Cell::from);
                let cells = COLUMNS.iter().zip(&widths[widths.len() - COLUMNS.len()..]);
                Row::new(cluster.into_iter().chain(cells.map(|(&(column, _), &w)| {
                    let mut spans = Spans::default();
                    cell(column, r, &cx, &mut spans);
                    Cell::from(cut_line(Line::from(spans.0), w, theme))
                })))
            }
            // A row left free by a release that landed (a default row is
            // no row at all: zero high).
            None => Row::default().height(1),
        })
        .collect();
    if more > 0 {
        let hidden = others[rows_drawn.min(others.len())..]
            .iter()
            .flatten()
            .count();
        let text = format!("… and {hidden} more");
        let blanks = widths.len() - COLUMNS.len() + 1;
        let cells = std::iter::repeat_n(Cell::from(""), blanks)
            .chain([Cell::from(Span::styled(text, theme.muted()))]);
        rows.push(Row::new(cells));
    }
    let table = Table::new(rows, widths.iter().map(|&w| Constraint::Length(w)))
        .block(block)
        .column_spacing(1);
    frame.render_widget(table, area);
}

/// The outcomes, newest first, a run of the same kind in the same minute
/// and cluster as one row: its newest, and how many. A busy cluster lands
/// a release every few seconds; a row each would move the whole feed down
/// a line each time, where a run changes one row.
fn same_minute_runs<'a>(
    entries: impl Iterator<Item = &'a ReleaseOutcome>,
) -> impl Iterator<Item = (&'a ReleaseOutcome, usize)> {
    let minute = |o: &ReleaseOutcome| o.at.timestamp().div_euclid(60);
    let mut runs: Vec<(&ReleaseOutcome, usize)> = Vec::new();
    for o in entries {
        match runs.last_mut() {
            Some((newest, count))
                if newest.kind == o.kind
                    && newest.key.cluster == o.key.cluster
                    && minute(newest) == minute(o) =>
            {
                *count += 1;
            }
            _ => runs.push((o, 1)),
        }
    }
    runs.into_iter()
}

pub(super) fn outcomes(
    frame: &mut Frame<'_>,
    area: Rect,
    state: &State,
    board: &Board,
    theme: &Theme,
) {
    let kept = board.outcomes.len();
    let title = format!(" Outcomes ({kept}) ");
    let block = theme
        .glyphs
        .block()
        .title(Span::styled(title, theme.heading()));
    let rows = usize::from(area.height.saturating_sub(2));
    // In a fleet, each outcome's cluster, in a column as wide as the widest name.
    let cluster_width = state.members().map(|m| m.alias.chars().count()).max();
    let cluster_width = cluster_width.filter(|_| state.is_fleet());
    let mut lines: Vec<Line<'static>> = same_minute_runs(board.outcomes.entries())
        .take(rows)
        .map(|(o, count)| {
            let (mark, style) = match o.kind {
                OutcomeKind::Completed | OutcomeKind::Promoted => ("✔", theme.fg(theme.ok)),
                OutcomeKind::Aborted => ("✖", theme.attention()),
                OutcomeKind::RolledBack => ("↩", theme.attention()),
            };
            let took = o.took.map_or(String::new(), |t| {
                format!("  took {}", age_text(t.num_seconds()))
            });
            let name = if state.many_namespaces() {
                format!("{}/{}", o.key.namespace, o.key.name)
            } else {
                o.key.name.clone()
            };
            let mut spans = vec![
                Span::styled(format!("{} ", o.at.format("%H:%M")), theme.muted()),
                Span::styled(
                    format!("{mark} {:<11}", o.kind.word()),
                    style.add_modifier(Modifier::BOLD),
                ),
            ];
            if count > 1 {
                spans.push(Span::styled(format!(" ×{count}, newest"), style));
            }
            if let Some(width) = cluster_width {
                spans.push(Span::styled(
                    format!(" {:<width$}", o.key.cluster),
                    theme.heading(),
                ));
            }
            spans.push(Span::raw(format!(" {} {name}", o.key.kind.short())));
            spans.push(Span::styled(took, theme.muted()));
            Line::from(spans)
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::from(Span::styled(
            "none yet: releases that complete, are promoted, aborted or rolled back show here",
            theme.muted(),
        )));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, ReleaseKey};
    use chrono::{DateTime, TimeZone, Utc};

    fn outcome(name: &str, kind: OutcomeKind, at: DateTime<Utc>) -> ReleaseOutcome {
        ReleaseOutcome {
            key: ReleaseKey {
                cluster: String::new(),
                kind: Kind::Deployment,
                namespace: "shop".into(),
                name: name.into(),
            },
            kind,
            at,
            took: None,
        }
    }

    #[test]
    fn a_run_of_one_kind_in_one_minute_is_one_row_with_its_newest() {
        let at = |m, s| Utc.with_ymd_and_hms(2026, 12, 5, 2, m, s).unwrap();
        let newest_first = [
            outcome("e", OutcomeKind::Completed, at(16, 5)),
            outcome("d", OutcomeKind::Completed, at(15, 50)),
            outcome("c", OutcomeKind::Completed, at(15, 20)),
            outcome("b", OutcomeKind::Aborted, at(15, 10)),
            outcome("a", OutcomeKind::Completed, at(15, 1)),
        ];
        let rows: Vec<(&str, usize)> = same_minute_runs(newest_first.iter())
            .map(|(o, n)| (o.key.name.as_str(), n))
            .collect();
        assert_eq!(rows, [("e", 1), ("d", 2), ("b", 1), ("a", 1)]);
    }
}
