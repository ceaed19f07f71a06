//! The list's cells. Each is written once, into a [`CellText`]: as spans
//! for the rows on screen, or as a measure of its width for every row, so
//! the columns are sized by the text they show without drawing rows that
//! are not shown.

use crate::app::State;
use crate::model::metrics::Verdict;
use crate::model::migration::{RollbackSafety, has_migration};
use crate::model::traffic::Weight;
use crate::model::{Attention, Release, Strategy};
use crate::ui::theme::Theme;
use crate::ui::{age, phase_mark, schema_rollback, short_image, verdict_mark};
use ratatui::style::Style;
use ratatui::text::Span;
use unicode_width::UnicodeWidthStr;

/// Where a cell's text goes, one span at a time.
pub(in crate::ui) trait CellText {
    /// Starts a span in `style`: what is pushed next goes into it.
    fn begin(&mut self, style: Style);
    /// Appends `text` to the span begun last (to one in the default style
    /// when none was begun).
    fn push(&mut self, text: &str);

    /// A span of `text` alone.
    fn span(&mut self, text: &str, style: Style) {
        self.begin(style);
        self.push(text);
    }
}

/// A cell as spans, to draw.
#[derive(Debug, Default)]
pub(in crate::ui) struct Spans(pub Vec<Span<'static>>);

impl CellText for Spans {
    fn begin(&mut self, style: Style) {
        self.0.push(Span::styled(String::new(), style));
    }

    fn push(&mut self, text: &str) {
        match self.0.last_mut() {
            Some(span) => span.content.to_mut().push_str(text),
            None => self.0.push(Span::raw(text.to_string())),
        }
    }
}

/// A cell's width as its line has it (the sum of its spans'), and its
/// text, to tell a placeholder; reused from cell to cell, so measuring
/// allocates nothing.
#[derive(Debug, Default)]
pub(super) struct Measure {
    text: String,
    /// Where the span being written starts in `text`.
    span_start: usize,
    /// The width of the spans before it.
    finished: usize,
}

impl Measure {
    pub fn clear(&mut self) {
        self.text.clear();
        self.span_start = 0;
        self.finished = 0;
    }

    pub fn width(&self) -> usize {
        self.finished + self.text[self.span_start..].width()
    }

    /// The cell says nothing but "no value".
    pub fn is_placeholder(&self) -> bool {
        matches!(self.text.trim(), "" | "-" | "—")
    }
}

impl CellText for Measure {
    fn begin(&mut self, _: Style) {
        self.finished = self.width();
        self.span_start = self.text.len();
    }

    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }
}

/// What every row's cells are written with.
pub(in crate::ui) struct Context<'a> {
    pub state: &'a State,
    pub theme: &'a Theme,
    pub all_namespaces: bool,
    pub narrow: bool,
    pub compact: bool,
}

pub(super) const HEADERS: [&str; 14] = [
    "ATTN", "NAME", "KIND", "STRATEGY", "PHASE", "STEP", "WEIGHT", "VERDICT", "SCHEMA", "CANARY",
    "STABLE", "AGE", "CLUSTER", "FLAGS",
];

/// The cluster a release was read from: shown, first, only in a fleet.
pub(super) const CLUSTER: usize = 12;
/// The feature flags linked to a release: shown, after SCHEMA, only when
/// some release has one.
pub(super) const FLAGS: usize = 13;

/// Release `r`'s cell in `column` (an index of [`HEADERS`]).
pub(in crate::ui) fn cell(column: usize, r: &Release, cx: &Context<'_>, out: &mut impl CellText) {
    let theme = cx.theme;
    match column {
        0 => {
            let label = match r.attention.first() {
                Some(a) => Some(a.short()),
                None => (cx.state.verdict_of(&r.key) == Some(Verdict::Fail)).then_some("metrics"),
            };
            if let Some(label) = label {
                out.span("! ", theme.attention());
                out.push(label);
            }
        }
        1 => name(r, cx, out),
        2 => out.span(r.key.kind.short(), Style::default()),
        3 => out.span(strategy_word(r), Style::default()),
        4 => {
            out.span(r.health.symbol(), theme.health(r.health));
            out.push(" ");
            out.push(&r.phase);
            if let Some(left) = r.pause.as_ref().and_then(|p| p.remaining(cx.state.now)) {
                out.push(&format!(" {left}s"));
            }
        }
        5 => step(r, out),
        6 => {
            out.span(&r.weights.text(), Style::default());
            if r.weights.drift().is_some() {
                out.push("≠");
            }
        }
        7 => {
            let verdict = cx.state.verdict_of(&r.key);
            // A finished release has no canary verdict: its bake instead.
            match cx.state.bake_of(r).filter(|_| verdict.is_none()) {
                Some(bake) => {
                    let style = crate::ui::detail::bake::style(&bake, theme);
                    out.span(&bake.verdict_text(), style);
                }
                None => {
                    let style = verdict.map_or(theme.muted(), |v| theme.verdict(v));
                    verdict_cell(verdict, cx.compact, style, out);
                }
            }
        }
        8 => schema(r, theme, out),
        9 => out.span(
            image_text(
                r.canary_image()
                    .filter(|_| !r.fully_promoted() || r.strategy == Strategy::Progressive),
                cx.narrow,
            ),
            theme.fg(theme.canary),
        ),
        10 => out.span(
            image_text(r.stable_image(), cx.narrow),
            theme.fg(theme.stable),
        ),
        CLUSTER => out.span(&r.key.cluster, cx.theme.heading()),
        FLAGS => flags(r, cx, out),
        _ => out.span(&age(r.created, cx.state.now), Style::default()),
    }
}

/// How many flags are linked, and what stands out of them: one changed in
/// the last half hour, or one partly rolled out.
fn flags(r: &Release, cx: &Context<'_>, out: &mut impl CellText) {
    if r.flags.is_empty() {
        out.span("—", cx.theme.muted());
        return;
    }
    out.span(&r.flags.len().to_string(), Style::default());
    let changed = r.flags.iter().any(|f| f.changed_recently(cx.state.now));
    let partial = r.flags.iter().any(|f| f.partially_rolled_out());
    let mark = match (changed, partial) {
        (true, _) => Some("↻ changed"),
        (false, true) => Some("◐ partial"),
        (false, false) => None,
    };
    if let Some(mark) = mark {
        out.span(" ", Style::default());
        out.span(mark, cx.theme.fg(cx.theme.warn));
    }
}

/// The name, with its namespace in all namespaces; `?` when some of the
/// release's fields cannot be read (the detail and `status -o json` say
/// which).
fn name(r: &Release, cx: &Context<'_>, out: &mut impl CellText) {
    out.begin(Style::default());
    if cx.all_namespaces {
        out.push(&r.key.namespace);
        out.push("/");
    }
    out.push(&r.key.name);
    if !r.warnings.is_empty() {
        out.span(" ?", cx.theme.fg(cx.theme.warn));
    }
}

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
fn step(r: &Release, out: &mut impl CellText) {
    if let Some(s) = r.step_text() {
        return out.span(&s, Style::default());
    }
    if let Some(f) = &r.flagger {
        let w = |o| Weight::read(o).text();
        out.span(&w(f.weight), Style::default());
        out.push("/");
        out.push(&w(f.max_weight));
        return out.push("%");
    }
    out.span("-", Style::default());
}

/// The image as the column can hold it: `checkout:1.5.0`, or the tag
/// alone on narrow screens.
fn image_text(image: Option<&str>, narrow: bool) -> &str {
    let Some(image) = image.map(short_image) else {
        return "-";
    };
    match image.rsplit_once(':') {
        Some((_, tag)) if narrow => tag,
        _ => image,
    }
}

/// cutover's verdict: the word with its symbol, or the word alone (Marginal
/// shortened) in the compact list; `—` for a release not measured.
fn verdict_cell(verdict: Option<Verdict>, compact: bool, style: Style, out: &mut impl CellText) {
    match (verdict, compact) {
        (None, _) => out.span("—", style),
        (Some(Verdict::Marginal), true) => out.span("Marg.", style),
        (Some(v), true) => out.span(v.word(), style),
        (Some(v), false) => {
            out.span(verdict_mark(v), style);
            out.push(" ");
            out.push(v.word());
        }
    }
}

/// The schema column: the phase the migration is at with its state's mark
/// (`backfill◌`, `contract✔`), then `✖` when a rollback is unsafe for the
/// schema, `⚠` when code and schema are out of step, `?` when the migration
/// cannot be read; `—` without a migration. At most 10 characters.
pub(super) fn schema(r: &Release, theme: &Theme, out: &mut impl CellText) {
    if !has_migration(r) {
        return out.span("—", theme.muted());
    }
    if let Some(p) = r.migration.as_ref().and_then(|m| m.current()) {
        out.span(p.name.word(), theme.phase(p.state));
        out.push(phase_mark(p.state));
    }
    if let Some((mark, style)) = schema_marker(r, theme) {
        out.span(mark, style);
    }
}

/// What stands out about a release's migration: an unsafe rollback before
/// an alarm, an alarm before not knowing.
fn schema_marker(r: &Release, theme: &Theme) -> Option<(&'static str, Style)> {
    let alarm = r
        .attention
        .iter()
        .any(|a| matches!(a, Attention::MigrationOrder(_) | Attention::Restore(_)));
    match schema_rollback(r) {
        Some(RollbackSafety::Unsafe(_)) => Some(("✖", theme.attention())),
        _ if alarm => Some(("⚠", theme.attention())),
        Some(RollbackSafety::Unknown(_)) => Some(("?", theme.fg(theme.warn))),
        _ if r.migration.is_none() => Some(("?", theme.fg(theme.warn))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keymap::Keymap;
    use crate::model::Kind;
    use crate::model::migration::settle;
    use crate::test_support::fixture::{ARGO_BLUE_GREEN, EVERY_STRATEGY, Fixture};
    use crate::test_support::migration_jobs::{CONTRACT, JOBS};
    use ratatui::text::Line;

    /// The measure of a cell says what its drawn line would: its width,
    /// and whether it is a placeholder.
    fn assert_measured(spans: Spans, measure: &Measure, what: &str) {
        let line = Line::from(spans.0);
        assert_eq!(measure.width(), line.width(), "the width of {what}");
        let placeholder = matches!(line.to_string().trim(), "" | "-" | "—");
        assert_eq!(measure.is_placeholder(), placeholder, "{what}");
    }

    #[test]
    fn a_cell_is_measured_as_it_is_drawn() {
        let mut releases = Fixture::load(&[&EVERY_STRATEGY[..], &[JOBS]].concat()).releases();
        let mut odd = releases[0].clone();
        odd.warnings.push("spec.strategy cannot be read".into());
        odd.attention.push(Attention::CrashLooping("pod-1".into()));
        odd.key.name = "ünïcode-名前".into();
        releases.push(odd);
        let theme = Theme::load("mono").unwrap();
        let state = State::new(releases[0].created.unwrap(), true, Keymap::default());
        // One measure for every cell, as the list reuses it.
        let mut measure = Measure::default();
        for (all_namespaces, narrow, compact) in [
            (false, false, false),
            (true, false, false),
            (true, true, true),
        ] {
            let cx = Context {
                state: &state,
                theme: &theme,
                all_namespaces,
                narrow,
                compact,
            };
            for r in &releases {
                for (column, header) in HEADERS.iter().enumerate() {
                    let mut spans = Spans::default();
                    cell(column, r, &cx, &mut spans);
                    measure.clear();
                    cell(column, r, &cx, &mut measure);
                    let what = format!("{header} of {}", r.key);
                    assert_measured(spans, &measure, &what);
                }
            }
        }
        let verdicts = [
            Verdict::Pass,
            Verdict::Marginal,
            Verdict::Fail,
            Verdict::NoData,
        ];
        for verdict in std::iter::once(None).chain(verdicts.map(Some)) {
            for compact in [false, true] {
                let mut spans = Spans::default();
                verdict_cell(verdict, compact, theme.muted(), &mut spans);
                measure.clear();
                verdict_cell(verdict, compact, theme.muted(), &mut measure);
                assert_measured(spans, &measure, &format!("{verdict:?}"));
            }
        }
    }

    fn schema_text(r: &Release, theme: &Theme) -> String {
        let mut spans = Spans::default();
        schema(r, theme, &mut spans);
        ratatui::text::Line::from(spans.0).to_string()
    }

    /// payments from `files`, its alarms settled as the control room does.
    fn settled_schema_text(files: &[&str]) -> String {
        let theme = Theme::load("mono").unwrap();
        let mut payments = Fixture::load(files).release(Kind::Rollout, "payments");
        settle(&mut payments, None);
        schema_text(&payments, &theme)
    }

    #[test]
    fn the_schema_column_is_short_and_says_what_stands_out() {
        assert_eq!(settled_schema_text(&[ARGO_BLUE_GREEN]), "—");
        assert_eq!(settled_schema_text(&[ARGO_BLUE_GREEN, JOBS]), "backfill◌");
        let contracted = settled_schema_text(&[ARGO_BLUE_GREEN, JOBS, CONTRACT]);
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
        assert_eq!(schema_text(&payments, &theme), "?");
        let mut backfilling =
            Fixture::load(&[ARGO_BLUE_GREEN, JOBS]).release(Kind::Rollout, "payments");
        backfilling.migration_problem = Some("database payments not read yet".into());
        assert_eq!(
            schema_text(&backfilling, &theme),
            "backfill◌?",
            "unknown: never shown as safe"
        );
    }
}
