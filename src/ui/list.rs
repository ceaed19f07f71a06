//! The list: one row per release, attention first.

use super::theme::Theme;
use super::{age, phase_mark, schema_rollback, short_image, verdict_mark};
use crate::app::State;
use crate::model::metrics::Verdict;
use crate::model::migration::{RollbackSafety, has_migration};
use crate::model::traffic::Weight;
use crate::model::{Attention, Release, Strategy};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};

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
fn schema_cell(r: &Release, theme: &Theme) -> Cell<'static> {
    Cell::from(Line::from(schema_spans(r, theme)))
}

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

fn row<'a>(
    r: &'a Release,
    state: &State,
    theme: &Theme,
    all_namespaces: bool,
    narrow: bool,
    compact: bool,
) -> Row<'a> {
    let attention = r.attention.first();
    let marker = match attention {
        Some(a) => Cell::from(Span::styled(format!("! {}", a.short()), theme.attention())),
        None => Cell::from(""),
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
        true => Cell::from(name),
        false => Cell::from(Line::from(vec![
            Span::raw(name),
            Span::styled(" ?", theme.fg(theme.warn)),
        ])),
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
        Cell::from(r.key.kind.short()),
        Cell::from(strategy_word(r)),
        Cell::from(Span::styled(phase, theme.health(r.health))),
        Cell::from(step_text(r)),
        Cell::from(weight),
        Cell::from(Span::styled(verdict_text(verdict, compact), verdict_style)),
        schema_cell(r, theme),
        Cell::from(Span::styled(
            image_text(
                r.canary_image()
                    .filter(|_| !r.fully_promoted() || r.strategy == Strategy::Progressive),
                narrow,
            ),
            theme.fg(theme.canary),
        )),
        Cell::from(Span::styled(
            image_text(r.stable_image(), narrow),
            theme.fg(theme.stable),
        )),
        Cell::from(age(r.created, state.now)),
    ];
    Row::new(columns(cells, compact))
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let visible = state.visible();
    let all_namespaces = state.scope.namespace.is_none();
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
    let block = Block::bordered().title(Span::styled(title, theme.heading()));
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
    let narrow = area.width < 130;
    let compact = area.width < COMPACT_BELOW;
    let header = Row::new(columns(
        [
            "ATTN", "NAME", "KIND", "STRATEGY", "PHASE", "STEP", "WEIGHT", "VERDICT", "SCHEMA",
            "CANARY", "STABLE", "AGE",
        ],
        compact,
    ))
    .style(theme.heading().add_modifier(Modifier::UNDERLINED));
    let rows: Vec<Row<'_>> = visible
        .iter()
        .map(|r| row(r, state, theme, all_namespaces, narrow, compact))
        .collect();
    let widths = [
        Constraint::Length(11),
        Constraint::Min(10),
        Constraint::Length(6),
        Constraint::Length(9),
        // "॥ Paused 150s" and "◌ Progressing" fit the compact width.
        Constraint::Length(if compact { 13 } else { 16 }),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(if compact { 7 } else { 10 }),
        Constraint::Length(10),
        Constraint::Fill(1),
        Constraint::Fill(1),
        Constraint::Length(4),
    ];
    let table = Table::new(rows, columns(widths, compact))
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
    use crate::cluster::tests::fixture::{ARGO_BLUE_GREEN, Fixture};
    use crate::cluster::tests::migration_jobs::{CONTRACT, JOBS};
    use crate::model::Kind;
    use crate::model::migration::settle;

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
