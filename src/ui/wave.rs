//! The wave view: a row per release name, a cell per cluster, each cell
//! the release's short state there (`✔ promoted`, `॥ step 3/6`, `—` when
//! the cluster has no such release). A lost cluster's cells say how old
//! they are. The cursor is one cell: Enter opens that cluster's release.

use super::list::{rows_in_view, window};
use super::theme::Theme;
use super::{age_text, cut, thousands};
use crate::app::State;
use crate::app::wave::{self, Column, WaveRow};
use crate::time::seconds_since;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

/// The cells between columns.
const GAP: u16 = 2;
/// No cluster's column is wider: a longer phase is cut.
const MAX_CELL: usize = 24;

/// What one cluster's column says of itself in the header row.
fn header(alias: &str, column: Column, state: &State) -> String {
    match column {
        Column::Live => format!("● {alias}"),
        Column::Stale { since } => {
            format!("✖ {alias} {}", age_text(seconds_since(since, state.now)))
        }
        Column::Unknown => format!("◌ {alias}"),
    }
}

/// One cell's text and style: the release's short state, or what its
/// absence means; a lost cluster's with the age of its data.
fn cell(
    row: &WaveRow<'_>,
    at: usize,
    column: Column,
    state: &State,
    theme: &Theme,
) -> Span<'static> {
    let (text, style) = match (row.cells[at], column) {
        (Some(r), _) => {
            let style = if state.needs_attention(r) {
                theme.attention()
            } else {
                theme.health(r.health)
            };
            (wave::cell_text(r), style)
        }
        (None, Column::Unknown) => ("?".to_string(), theme.muted()),
        (None, _) => ("—".to_string(), theme.muted()),
    };
    match column {
        Column::Stale { since } => Span::styled(
            format!("{text} · {}", age_text(seconds_since(since, state.now))),
            theme.muted(),
        ),
        _ => Span::styled(text, style),
    }
}

/// A row's name: with its namespace where several are shown.
fn name(row: &WaveRow<'_>, state: &State) -> String {
    if state.many_namespaces() {
        format!("{}/{}", row.namespace, row.name)
    } else {
        row.name.to_string()
    }
}

/// The clusters' columns shown in `room` cells: as many as fit from the
/// first, or, when the cursor's is beyond them, the ones ending at it.
fn shown_clusters(widths: &[u16], room: u16, cursor: usize) -> std::ops::Range<usize> {
    let fits_from = |start: usize| {
        let mut used = 0u16;
        let mut end = start;
        for w in &widths[start..] {
            let next = used.saturating_add(*w).saturating_add(GAP);
            if next > room && end > start {
                break;
            }
            used = next;
            end += 1;
        }
        end
    };
    let mut start = 0;
    while fits_from(start) <= cursor && start < cursor {
        start += 1;
    }
    start..fits_from(start)
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let rows = wave::rows(state);
    let members: Vec<_> = state.members().collect();
    let columns: Vec<Column> = members.iter().map(|m| wave::column(m, state.now)).collect();
    let attention = rows.iter().filter(|r| r.attention).count();
    let mut title = format!(
        " Wave · {} releases across {} clusters · {attention} need attention ",
        thousands(rows.len()),
        members.len()
    );
    let block_of = |title: String| {
        theme
            .glyphs
            .block()
            .title(Span::styled(title, theme.heading()))
    };
    let Some(cursor) = state.wave.as_ref().filter(|_| !rows.is_empty()) else {
        let text = if state.releases.is_empty() {
            "No releases yet: no Rollouts, Canaries or Deployments seen in these clusters."
        } else {
            "No release matches the filter (Esc clears it)."
        };
        let text = Paragraph::new(Line::from(Span::styled(text, theme.muted())));
        frame.render_widget(text.block(block_of(title)), area);
        return;
    };
    let (at_row, at_column) = wave::position(state, &rows, cursor);
    // Inside the border, beside the cursor's mark.
    let room = area.width.saturating_sub(3);
    let names: Vec<String> = rows.iter().map(|r| name(r, state)).collect();
    let name_width = names
        .iter()
        .map(|n| n.chars().count())
        .chain(["NAME".len()])
        .max()
        .unwrap_or(0)
        .min(usize::from(room / 3).max(12));
    let headers: Vec<String> = members
        .iter()
        .zip(&columns)
        .map(|(m, c)| header(&m.alias, *c, state))
        .collect();
    let widths: Vec<u16> = (0..members.len())
        .map(|i| {
            let widest = rows
                .iter()
                .map(|r| cell(r, i, columns[i], state, theme).width())
                .chain([headers[i].chars().count()])
                .max()
                .unwrap_or(0)
                .min(MAX_CELL);
            u16::try_from(widest).unwrap_or(u16::MAX)
        })
        .collect();
    let name_room = u16::try_from(name_width).unwrap_or(u16::MAX);
    let clusters = shown_clusters(&widths, room.saturating_sub(name_room), at_column);
    if clusters.len() < members.len() {
        title.push_str(&format!(
            "· clusters {}-{} of {} (h/l) ",
            clusters.start + 1,
            clusters.end,
            members.len()
        ));
    }
    let header_row = Row::new(
        std::iter::once(Cell::from("NAME")).chain(clusters.clone().map(|i| {
            let style = match columns[i] {
                Column::Live => theme.heading(),
                Column::Stale { .. } | Column::Unknown => theme.attention(),
            };
            Cell::from(Span::styled(headers[i].clone(), style))
        })),
    )
    .style(theme.heading().add_modifier(Modifier::UNDERLINED));
    let in_view = window(rows.len(), Some(at_row), rows_in_view(area).max(1));
    let table_rows = rows[in_view.clone()].iter().enumerate().map(|(i, row)| {
        let here = in_view.start + i == at_row;
        let name_style = if row.attention {
            theme.attention()
        } else {
            Style::default()
        };
        let name_cell = Cell::from(Span::styled(
            cut(&names[in_view.start + i], name_width, theme.glyphs),
            name_style,
        ));
        Row::new(std::iter::once(name_cell).chain(clusters.clone().map(|c| {
            let span = cell(row, c, columns[c], state, theme);
            let text = cut(&span.content, usize::from(widths[c]), theme.glyphs);
            let style = if here && c == at_column {
                theme.selected()
            } else {
                span.style
            };
            Cell::from(Span::styled(text, style))
        })))
    });
    let constraints = std::iter::once(Constraint::Length(name_room))
        .chain(clusters.clone().map(|c| Constraint::Length(widths[c])));
    let table = Table::new(table_rows, constraints)
        .header(header_row)
        .block(block_of(title))
        .column_spacing(GAP)
        .highlight_symbol("▶");
    let mut table_state = TableState::default().with_selected(Some(at_row - in_view.start));
    frame.render_stateful_widget(table, area, &mut table_state);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursors_cluster_is_always_shown() {
        let widths = [10, 10, 10, 10, 10];
        assert_eq!(shown_clusters(&widths, 100, 0), 0..5, "all fit");
        assert_eq!(shown_clusters(&widths, 36, 0), 0..3);
        assert_eq!(shown_clusters(&widths, 36, 2), 0..3);
        assert_eq!(shown_clusters(&widths, 36, 4), 2..5);
        assert_eq!(shown_clusters(&widths, 5, 3), 3..4, "one, however narrow");
    }
}
