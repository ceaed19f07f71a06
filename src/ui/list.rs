//! The list: one row per release, attention first. Only the rows in view
//! are drawn; the columns are sized by every row that matches the filter,
//! so they keep their widths as the list scrolls.

pub(super) mod cells;

use super::columns::{Column, fit, fits};
use super::theme::Theme;
use super::{cut, thousands};
use crate::app::State;
use crate::model::Release;
use cells::{CLUSTER, Context, FLAGS, HEADERS, Measure, Spans, cell};
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

/// The columns shown (indices of [`HEADERS`]): in a fleet, CLUSTER first;
/// where some release has feature flags, FLAGS after SCHEMA.
fn shown_columns(compact: bool, fleet: bool, flags: bool) -> Vec<usize> {
    let cluster = fleet.then_some(CLUSTER);
    let rest = (0..CLUSTER)
        .filter(|c| !compact || !COMPACT_DROPS.contains(c))
        .flat_map(|c| std::iter::once(c).chain((c == SCHEMA && flags).then_some(FLAGS)));
    cluster.into_iter().chain(rest).collect()
}

/// The column FLAGS follows.
const SCHEMA: usize = 8;

/// The cells between columns.
const GAP: u16 = 1;

// The columns that may be cut: the images first, the name last. The rest
// are short words that keep their width.
const NAME: usize = 1;
const VERDICT: usize = 7;
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
        // "2 ↻ changed"
        FLAGS => 11,
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

/// The extent over `rows` of each column in `columns` that `which` picks
/// (`None` for the others): each cell measured, none drawn.
fn extents(
    rows: &[&Release],
    columns: &[usize],
    cx: &Context<'_>,
    which: impl Fn(usize) -> bool,
) -> Vec<Option<Extent>> {
    let mut extents: Vec<Option<Extent>> = columns
        .iter()
        .map(|&c| {
            which(c).then_some(Extent {
                widest: 0,
                placeholders: true,
            })
        })
        .collect();
    let mut measure = Measure::default();
    for r in rows {
        for (extent, &column) in extents.iter_mut().zip(columns) {
            let Some(extent) = extent else { continue };
            measure.clear();
            cell(column, r, cx, &mut measure);
            extent.widest = extent.widest.max(measure.width());
            extent.placeholders &= measure.is_placeholder();
        }
    }
    extents
}

fn flexible(column: usize) -> bool {
    column == NAME || IMAGES.contains(&column)
}

/// Measured at every draw: as wide as its values, which no width fits
/// beforehand (the flexible columns, and the cluster's short names).
fn measured_always(column: usize) -> bool {
    flexible(column) || column == CLUSTER
}

/// How `column` is fitted, by its cells' extent (`None`: not measured).
fn fitted(column: usize, extent: Option<Extent>, compact: bool) -> Column {
    let Some(extent) = extent else {
        return Column::unmeasured(fixed_width(column, compact));
    };
    let widest = extent.widest.max(HEADERS[column].len());
    let natural = u16::try_from(widest).unwrap_or(u16::MAX);
    match column {
        NAME => Column::flexible(natural, false, 1, 8),
        // Never cut: which cluster a row is in is what a fleet's actions hang on.
        CLUSTER => Column::fixed(natural, natural, false),
        c if IMAGES.contains(&c) => Column::flexible(natural, extent.placeholders, 0, 8),
        // A bake's words (`baking 12m/30m ✔`) are longer than a verdict's.
        VERDICT => Column::fixed(
            fixed_width(VERDICT, compact).max(natural),
            natural,
            extent.placeholders,
        ),
        c => Column::fixed(fixed_width(c, compact), natural, extent.placeholders),
    }
}

/// The width of each column shown (`None`: dropped) in `room` cells: the
/// name is the last to give up width, columns of placeholders go first.
/// The fixed columns' cells are measured only when the preferred widths
/// do not fit: until then they keep their widths whatever they hold.
fn widths(rows: &[&Release], columns: &[usize], cx: &Context<'_>, room: u16) -> Vec<Option<u16>> {
    let baking = rows
        .iter()
        .any(|r| r.completion.is_some() && cx.state.bake_of(r).is_some());
    let mut measured = extents(rows, columns, cx, |c| {
        measured_always(c) || (baking && c == VERDICT)
    });
    let fit_all = |measured: &[Option<Extent>]| -> Vec<Column> {
        columns
            .iter()
            .zip(measured)
            .map(|(&c, &e)| fitted(c, e, cx.compact))
            .collect()
    };
    if !fits(&fit_all(&measured), room, GAP) {
        let fixed = extents(rows, columns, cx, |c| !measured_always(c));
        for (extent, fixed) in measured.iter_mut().zip(fixed) {
            *extent = extent.or(fixed);
        }
    }
    fit(&fit_all(&measured), room, GAP)
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
pub(super) fn cut_line(line: Line<'static>, width: u16, theme: &Theme) -> Line<'static> {
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
    let attention = visible.iter().filter(|r| state.needs_attention(r)).count();
    // While the releases' own kinds are still listed, no count is final.
    let loading = state
        .members()
        .any(|m| m.sources.releases_loading(&m.scope.missing_kinds));
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
    // While a watch fails, the rows are as old as the outage (a fleet's
    // header says it of each cluster).
    if let Some(outage) = state
        .home
        .sources
        .outage(state.now)
        .filter(|_| !state.is_fleet())
    {
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
    let cx = Context {
        state,
        theme,
        all_namespaces: state.many_namespaces(),
        narrow: area.width < 130,
        compact: area.width < COMPACT_BELOW,
    };
    let flags = visible.iter().any(|r| !r.flags.is_empty());
    let columns = shown_columns(cx.compact, state.is_fleet(), flags);
    // Inside the border, beside the highlight's mark.
    let room = area.width.saturating_sub(3);
    let widths = widths(&visible, &columns, &cx, room);
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
        .column_spacing(GAP)
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
    use crate::test_support::fixture::{ARGO_CANARY, EVERY_STRATEGY, Fixture};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::buffer::Buffer;
    use std::sync::Arc;

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
                Arc::new(r)
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
    fn fixed_columns_are_measured_only_where_their_widths_depend_on_it() {
        let releases = Fixture::load(&EVERY_STRATEGY).releases();
        let rows: Vec<&Release> = releases.iter().collect();
        let theme = Theme::load("mono").unwrap();
        let state = State::new(releases[0].created.unwrap(), true, Keymap::default());
        for compact in [false, true] {
            let cx = Context {
                state: &state,
                theme: &theme,
                all_namespaces: true,
                narrow: compact,
                compact,
            };
            let columns = shown_columns(compact, false, true);
            let all: Vec<Column> = columns
                .iter()
                .zip(extents(&rows, &columns, &cx, |_| true))
                .map(|(&c, e)| fitted(c, e, compact))
                .collect();
            for room in 40..200 {
                assert_eq!(
                    widths(&rows, &columns, &cx, room),
                    fit(&all, room, GAP),
                    "{room} cells"
                );
            }
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
