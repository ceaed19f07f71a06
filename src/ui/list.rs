//! The list: one row per release, attention first. Only the rows in view
//! are drawn; the columns are sized by every row that matches the filter,
//! so they keep their widths as the list scrolls.

mod cells;

use super::columns::{Column, fit};
use super::cut;
use super::theme::Theme;
use crate::app::State;
use crate::model::Release;
use cells::{Context, HEADERS, Measure, Spans, cell};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};
use std::ops::Range;

/// Below this width the list keeps what a decision needs (attention, name,
/// phase, weight, verdict, schema and both versions) and leaves the kind,
/// strategy, step and age to the detail: at 80 columns all twelve would
/// squeeze the versions out.
pub(super) const COMPACT_BELOW: u16 = 120;

/// The columns the compact list leaves out: KIND, STRATEGY, STEP and AGE.
const COMPACT_DROPS: [usize; 4] = [2, 3, 5, 11];

/// The columns shown (indices of [`HEADERS`]).
fn shown_columns(compact: bool) -> Vec<usize> {
    (0..HEADERS.len())
        .filter(|c| !compact || !COMPACT_DROPS.contains(c))
        .collect()
}

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

/// What sizing a column needs of its cells: the widest, and whether all
/// say nothing but "no value".
#[derive(Debug, Clone, Copy)]
struct Extent {
    widest: usize,
    placeholders: bool,
}

/// The extent of each column in `columns` over `rows`: each cell measured,
/// none drawn.
fn extents(rows: &[&Release], columns: &[usize], cx: &Context<'_>) -> Vec<Extent> {
    let mut extents = vec![
        Extent {
            widest: 0,
            placeholders: true,
        };
        columns.len()
    ];
    let mut measure = Measure::default();
    for r in rows {
        for (extent, &column) in extents.iter_mut().zip(columns) {
            measure.clear();
            cell(column, r, cx, &mut measure);
            extent.widest = extent.widest.max(measure.width());
            extent.placeholders &= measure.is_placeholder();
        }
    }
    extents
}

/// The width of each column shown (`None`: dropped) in `room` cells: the
/// name is the last to give up width, columns of placeholders go first.
fn widths(columns: &[usize], extents: &[Extent], room: u16, compact: bool) -> Vec<Option<u16>> {
    let fitted: Vec<Column> = columns
        .iter()
        .zip(extents)
        .map(|(&column, extent)| {
            let widest = extent.widest.max(HEADERS[column].len());
            let natural = u16::try_from(widest).unwrap_or(u16::MAX);
            match column {
                NAME => Column::flexible(natural, false, 1, 8),
                c if IMAGES.contains(&c) => Column::flexible(natural, extent.placeholders, 0, 8),
                c => Column::fixed(fixed_width(c, compact), natural, extent.placeholders),
            }
        })
        .collect();
    fit(&fitted, room, 1)
}

/// How many rows the list in `area` shows: inside the border, under the
/// header row.
pub(super) fn rows_in_view(area: Rect) -> usize {
    usize::from(area.height).saturating_sub(3)
}

/// The rows a table `height` rows high shows: from the first, scrolled
/// just enough to keep the selected one in view, as ratatui's table does.
pub(super) fn window(len: usize, selected: Option<usize>, height: usize) -> Range<usize> {
    let start = selected.map_or(0, |s| (s + 1).saturating_sub(height));
    start.min(len)..(start + height).min(len)
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
    let attention = visible.iter().filter(|r| r.needs_attention()).count();
    let mut title = format!(
        " Releases ({}{}) · {} need attention · sort: {} ",
        visible.len(),
        if state.filter.is_empty() {
            String::new()
        } else {
            format!(" of {}", state.releases.len())
        },
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
        let text = if state.releases.is_empty() {
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
    let cx = Context {
        state,
        theme,
        all_namespaces: state.scope.namespace.is_none(),
        narrow: area.width < 130,
        compact: area.width < COMPACT_BELOW,
    };
    let columns = shown_columns(cx.compact);
    // Inside the border, beside the highlight's mark.
    let room = area.width.saturating_sub(3);
    let widths = widths(
        &columns,
        &extents(&visible, &columns, &cx),
        room,
        cx.compact,
    );
    let shown: Vec<(usize, u16)> = columns
        .iter()
        .zip(&widths)
        .filter_map(|(&c, w)| w.map(|w| (c, w)))
        .collect();
    let header = Row::new(shown.iter().map(|&(c, _)| HEADERS[c]))
        .style(theme.heading().add_modifier(Modifier::UNDERLINED));
    let selected = state
        .selected
        .as_ref()
        .and_then(|k| visible.iter().position(|r| &r.key == k));
    // At least the selected row, even where none fits: the table keeps
    // the room of the highlight's mark only while a row is selected.
    let in_view = window(visible.len(), selected, rows_in_view(area).max(1));
    let rows = visible[in_view.clone()].iter().map(|r| {
        Row::new(shown.iter().map(|&(c, w)| {
            let mut spans = Spans::default();
            cell(c, r, &cx, &mut spans);
            Cell::from(cut_line(Line::from(spans.0), w, theme))
        }))
    });
    let table = Table::new(rows, shown.iter().map(|&(_, w)| Constraint::Length(w)))
        .header(header)
        .block(block)
        .column_spacing(1)
        .row_highlight_style(theme.selected())
        .highlight_symbol("▶");
    let mut table_state = TableState::default().with_selected(selected.map(|s| s - in_view.start));
    frame.render_stateful_widget(table, area, &mut table_state);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keymap::Keymap;
    use crate::app::state::SortKey;
    use crate::model::Kind;
    use crate::test_support::fixture::{ARGO_CANARY, Fixture};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::buffer::Buffer;

    /// The list of releases named `names`, by name, the `selected`th chosen.
    fn listing(names: &[String], selected: usize) -> State {
        let template = Fixture::load(&[ARGO_CANARY]).release(Kind::Rollout, "checkout");
        let now = template.created.expect("created");
        let mut state = State::new(now, true, Keymap::default());
        state.sort = SortKey::Name;
        state.releases = names
            .iter()
            .map(|name| {
                let mut r = template.clone();
                r.key.name = name.clone();
                r
            })
            .collect();
        state.selected = Some(state.visible()[selected].key.clone());
        state
    }

    fn lines(buffer: &Buffer) -> Vec<String> {
        let width = usize::from(buffer.area.width);
        let symbols: Vec<&str> = buffer.content.iter().map(|c| c.symbol()).collect();
        symbols.chunks(width).map(|row| row.concat()).collect()
    }

    fn drawn(state: &State, width: u16, height: u16) -> Vec<String> {
        let theme = Theme::load("mono").unwrap();
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|frame| draw(frame, frame.area(), state, &theme))
            .unwrap();
        lines(terminal.backend().buffer())
    }

    #[test]
    fn the_columns_keep_their_widths_as_the_list_scrolls() {
        let long = "zz-a-release-with-a-much-longer-name".to_string();
        let mut names: Vec<String> = (0..40).map(|i| format!("r{i:02}")).collect();
        let short = drawn(&listing(&names, 0), 160, 12);
        names.push(long.clone());
        let top = drawn(&listing(&names, 0), 160, 12);
        let bottom = drawn(&listing(&names, 40), 160, 12);
        assert!(
            !top.concat().contains(&long),
            "the long name is out of view"
        );
        assert!(bottom.concat().contains(&long), "and in view at the bottom");
        assert_eq!(top[1], bottom[1], "the header stays put");
        assert_ne!(
            top[1], short[1],
            "sized by the rows out of view: the long name widens its column"
        );
        // The rows between the header and the bottom border.
        let rows = 2..top.len() - 1;
        for (at_top, at_bottom) in top[rows.clone()].iter().zip(&bottom[rows]) {
            let column = |line: &str| {
                let at = line.find("canary").expect("the strategy column");
                line[..at].chars().count()
            };
            assert_eq!(column(at_top), column(at_bottom));
        }
    }

    #[test]
    fn the_window_is_what_ratatuis_table_shows() {
        for len in [1, 5, 30] {
            for height in [1, 3, 10] {
                for selected in std::iter::once(None).chain((0..len).map(Some)) {
                    let rows = (0..len).map(|i| Row::new([format!("row{i:02}")]));
                    let table = Table::new(rows, [Constraint::Length(6)]);
                    let area = Rect::new(0, 0, 6, u16::try_from(height).unwrap());
                    let mut buffer = Buffer::empty(area);
                    let mut table_state = TableState::default().with_selected(selected);
                    ratatui::widgets::StatefulWidget::render(
                        table,
                        area,
                        &mut buffer,
                        &mut table_state,
                    );
                    let shown: Vec<usize> = lines(&buffer)
                        .iter()
                        .filter_map(|l| l.trim().strip_prefix("row")?.parse().ok())
                        .collect();
                    let expected: Vec<usize> = window(len, selected, height).collect();
                    assert_eq!(shown, expected, "{len} rows, {height} high, {selected:?}");
                }
            }
        }
    }
}
