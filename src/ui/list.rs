//! The list: one row per release, attention first.

use super::theme::Theme;
use super::{age, short_image, verdict_mark};
use crate::app::State;
use crate::model::metrics::Verdict;
use crate::model::{Release, Strategy};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
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

/// The step column: Argo's N/M, Flagger's weight against its maximum.
fn step_text(r: &Release) -> String {
    if let Some(s) = r.step_text() {
        return s;
    }
    if let Some(f) = &r.flagger {
        return format!("{}/{}%", f.weight, f.max_weight);
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

/// Below this width the list keeps what a decision needs (attention, name,
/// phase, step, weight, verdict and both versions) and leaves the kind,
/// strategy and age to the detail: at 80 columns all eleven would squeeze
/// the versions out.
const COMPACT_BELOW: u16 = 100;

/// The columns the compact list leaves out: KIND, STRATEGY and AGE.
const COMPACT_DROPS: [usize; 3] = [2, 3, 10];

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
    let mut weight = r.weights.text();
    if r.weights.drift().is_some() {
        weight.push('≠');
    }
    let verdict = state.verdict_of(&r.key);
    let verdict_style = verdict.map_or(theme.muted(), |v| theme.verdict(v));
    let cells = [
        marker,
        Cell::from(name),
        Cell::from(r.key.kind.short()),
        Cell::from(strategy_word(r)),
        Cell::from(Span::styled(phase, theme.health(r.health))),
        Cell::from(step_text(r)),
        Cell::from(weight),
        Cell::from(Span::styled(verdict_text(verdict, compact), verdict_style)),
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
    let title = format!(
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
            "ATTN", "NAME", "KIND", "STRATEGY", "PHASE", "STEP", "WEIGHT", "VERDICT", "CANARY",
            "STABLE", "AGE",
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
        Constraint::Length(16),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(if compact { 7 } else { 10 }),
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
