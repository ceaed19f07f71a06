//! The comparison table: one row per metric with both sides' current
//! values, the difference, the trends and the class. When the panel is
//! narrow the extras drop first: the baseline's trend, the canary's, then
//! Δ% and Δ.

use super::MISSING;
use crate::model::metrics::{Comparison, MetricClass};
use crate::ui::theme::Theme;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// The bars of a sparkline, lowest first.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The headers of the two trend columns, baseline first.
const TREND_HEADERS: [&str; 2] = ["baseline trend", "canary trend"];

/// A trend narrower than this says too little; it drops instead.
const TREND_MIN: usize = 6;

/// A table cell: its text and style; numbers are right-aligned.
struct Cell {
    text: String,
    style: Style,
    right: bool,
}

impl Cell {
    fn left(text: impl Into<String>, style: Style) -> Cell {
        Cell {
            text: text.into(),
            style,
            right: false,
        }
    }

    fn right(text: impl Into<String>, style: Style) -> Cell {
        Cell {
            text: text.into(),
            style,
            right: true,
        }
    }

    fn width(&self) -> usize {
        self.text.chars().count()
    }
}

/// The cells every layout has room for, or may: metric, baseline, canary,
/// Δ, Δ%, class.
type TextCells = [Cell; 6];

/// The optional columns shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Columns {
    delta: bool,
    percent: bool,
    /// 2: both trends, 1: the canary's, 0: none.
    trends: usize,
}

/// From the fullest table down, in the order the extras drop.
const LAYOUTS: [Columns; 5] = [
    Columns {
        delta: true,
        percent: true,
        trends: 2,
    },
    Columns {
        delta: true,
        percent: true,
        trends: 1,
    },
    Columns {
        delta: true,
        percent: true,
        trends: 0,
    },
    Columns {
        delta: true,
        percent: false,
        trends: 0,
    },
    Columns {
        delta: false,
        percent: false,
        trends: 0,
    },
];

/// The layout chosen for a width, and how wide the sparklines are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fit {
    columns: Columns,
    trend: usize,
}

/// The table in at most `width` columns (when even the smallest layout is
/// wider, the lines wrap).
pub(super) fn table(comparisons: &[Comparison], width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let header = header_cells(theme);
    let rows: Vec<TextCells> = comparisons.iter().map(|c| value_cells(c, theme)).collect();
    let widths = column_widths(&header, &rows);
    let samples = comparisons
        .iter()
        .map(|c| c.baseline.samples.len().max(c.canary.samples.len()))
        .max()
        .unwrap_or(0);
    let fit = fit(&widths, samples, width);
    let trend_headers = TREND_HEADERS.map(|h| Cell::left(h, theme.muted()));
    let mut out = vec![assemble(header, trend_headers, fit, &widths)];
    for (c, cells) in comparisons.iter().zip(rows) {
        let trends = trend_cells(c, fit.trend, theme);
        out.push(assemble(cells, trends, fit, &widths));
    }
    out
}

fn header_cells(theme: &Theme) -> TextCells {
    let h = |text: &str, right| Cell {
        text: text.into(),
        style: theme.muted(),
        right,
    };
    [
        h("metric", false),
        h("baseline", true),
        h("canary", true),
        h("Δ", true),
        h("Δ%", true),
        h("class", false),
    ]
}

fn value_cells(c: &Comparison, theme: &Theme) -> TextCells {
    let value = |v: Option<f64>| v.map_or(MISSING.to_string(), |v| c.unit.format(v));
    let delta = c
        .difference()
        .map_or(MISSING.to_string(), |d| signed(d, c.unit.format_delta(d)));
    let percent = c.percent().map_or(MISSING.to_string(), signed_percent);
    [
        Cell::left(c.label.clone(), Style::default()),
        Cell::right(value(c.baseline.current), Style::default()),
        Cell::right(value(c.canary.current), Style::default()),
        Cell::right(delta, Style::default()),
        Cell::right(percent, Style::default()),
        class_cell(c, theme),
    ]
}

/// The class word, marked when held from the previous refresh; `—` for a
/// metric shown but not judged.
fn class_cell(c: &Comparison, theme: &Theme) -> Cell {
    match (c.class(), &c.error) {
        (Some(class), _) if c.held().is_some() => Cell::left(
            format!("{} (held)", class.word()),
            theme.metric_class(class),
        ),
        (Some(class), _) => Cell::left(class.word(), theme.metric_class(class)),
        (None, Some(_)) => Cell::left(
            MetricClass::Error.word(),
            theme.metric_class(MetricClass::Error),
        ),
        (None, None) => Cell::left(MISSING, theme.muted()),
    }
}

/// A difference with its sign: `+4.6 pp`, `-12 ms`.
fn signed(value: f64, text: String) -> String {
    if value > 0.0 {
        format!("+{text}")
    } else {
        text
    }
}

/// `+940%`, `+3.5%`, `-0.4%`, `0%`.
fn signed_percent(p: f64) -> String {
    if p == 0.0 {
        "0%".into()
    } else if p.abs() >= 10.0 {
        format!("{p:+.0}%")
    } else {
        format!("{p:+.1}%")
    }
}

fn column_widths(header: &TextCells, rows: &[TextCells]) -> [usize; 6] {
    let mut widths = header.each_ref().map(Cell::width);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    widths
}

/// The fullest layout that fits `width`, with its trends as wide as the
/// samples allow (one bar per sample at most).
fn fit(widths: &[usize; 6], samples: usize, width: usize) -> Fit {
    for columns in LAYOUTS {
        let room = width.checked_sub(text_width(widths, columns));
        match (columns.trends, room) {
            (_, None) => {}
            (0, Some(_)) => return Fit { columns, trend: 0 },
            (n, Some(room)) => {
                if let Some(trend) = trend_width(&TREND_HEADERS[2 - n..], samples, room) {
                    return Fit { columns, trend };
                }
            }
        }
    }
    Fit {
        columns: LAYOUTS[LAYOUTS.len() - 1],
        trend: 0,
    }
}

/// The width of the text columns a layout shows, with the gaps between them.
fn text_width(widths: &[usize; 6], columns: Columns) -> usize {
    let shown = [true, true, true, columns.delta, columns.percent, true];
    let total: usize = widths
        .iter()
        .zip(shown)
        .filter(|(_, s)| *s)
        .map(|(w, _)| w)
        .sum();
    let count = shown.iter().filter(|s| **s).count();
    total + count - 1
}

/// The widest sparkline, up to one bar per sample, for which the trend
/// columns (each at least as wide as its header, each after a gap) fit
/// into `room`.
fn trend_width(headers: &[&str], samples: usize, room: usize) -> Option<usize> {
    if samples == 0 {
        return None;
    }
    let needed = |bars: usize| -> usize {
        headers
            .iter()
            .map(|h| h.chars().count().max(bars) + 1)
            .sum()
    };
    (TREND_MIN.min(samples)..=samples)
        .rev()
        .find(|&bars| needed(bars) <= room)
}

/// The trend cells of a metric, baseline first, on one scale.
fn trend_cells(c: &Comparison, bars: usize, theme: &Theme) -> [Cell; 2] {
    let [baseline, canary] = sparklines([&c.baseline.samples, &c.canary.samples], bars);
    [
        Cell::left(baseline, theme.fg(theme.stable)),
        Cell::left(canary, theme.fg(theme.canary)),
    ]
}

/// One line of the table: the shown cells padded to their columns.
fn assemble(cells: TextCells, trends: [Cell; 2], fit: Fit, widths: &[usize; 6]) -> Line<'static> {
    let [metric, baseline, canary, delta, percent, class] = cells;
    let [baseline_trend, canary_trend] = trends;
    let trend_column = |header: &str| header.chars().count().max(fit.trend);
    let columns = fit.columns;
    let mut shown = vec![
        (metric, widths[0]),
        (baseline, widths[1]),
        (canary, widths[2]),
    ];
    if columns.delta {
        shown.push((delta, widths[3]));
    }
    if columns.percent {
        shown.push((percent, widths[4]));
    }
    if columns.trends == 2 {
        shown.push((baseline_trend, trend_column(TREND_HEADERS[0])));
    }
    if columns.trends >= 1 {
        shown.push((canary_trend, trend_column(TREND_HEADERS[1])));
    }
    shown.push((class, widths[5]));
    let last = shown.len() - 1;
    let spans = shown.into_iter().enumerate().map(|(i, (cell, width))| {
        let gap = if i == last { "" } else { " " };
        let text = match (cell.right, i == last) {
            (true, _) => format!("{:>width$}{gap}", cell.text),
            // Nothing to align after the last cell: no trailing blanks.
            (false, true) => cell.text,
            (false, false) => format!("{:<width$}{gap}", cell.text),
        };
        Span::styled(text, cell.style)
    });
    Line::from(spans.collect::<Vec<_>>())
}

/// Both sides' samples as sparklines of at most `bars` bars, on the same
/// scale (zero to the highest bar of either side) so that they compare.
/// A side without samples is `—`; a bar without a value is blank.
fn sparklines(sides: [&[f64]; 2], bars: usize) -> [String; 2] {
    let buckets = sides.map(|samples| resample(samples, bars));
    let top = buckets
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    buckets.map(|values| {
        if values.is_empty() {
            return MISSING.to_string();
        }
        values.iter().map(|&v| bar(v, top)).collect()
    })
}

/// The samples in at most `bars` buckets, each the mean of its finite
/// samples (NaN when it has none).
fn resample(samples: &[f64], bars: usize) -> Vec<f64> {
    let n = samples.len();
    let width = bars.min(n);
    (0..width)
        .map(|i| {
            let bucket = &samples[i * n / width..(i + 1) * n / width];
            let finite: Vec<f64> = bucket.iter().copied().filter(|v| v.is_finite()).collect();
            if finite.is_empty() {
                f64::NAN
            } else {
                finite.iter().sum::<f64>() / finite.len() as f64
            }
        })
        .collect()
}

fn bar(value: f64, top: f64) -> char {
    if !value.is_finite() {
        return ' ';
    }
    if top <= 0.0 {
        return BARS[0];
    }
    let level = (value.max(0.0) / top * (BARS.len() - 1) as f64).round() as usize;
    BARS[level.min(BARS.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widths() -> [usize; 6] {
        // "request rate", "baseline", "canary", "+4.62 pp", "+963%", "class"
        [12, 8, 6, 8, 5, 5]
    }

    #[test]
    fn extras_drop_in_order_as_the_room_shrinks() {
        let shown = |width| {
            let f = fit(&widths(), 21, width);
            (f.columns.trends, f.columns.percent, f.columns.delta)
        };
        assert_eq!(shown(120), (2, true, true));
        assert_eq!(shown(78), (2, true, true));
        assert_eq!(shown(70), (1, true, true));
        assert_eq!(shown(52), (0, true, true));
        assert_eq!(shown(46), (0, false, true));
        assert_eq!(shown(40), (0, false, false));
        assert_eq!(shown(3), (0, false, false), "never more than nothing");
    }

    #[test]
    fn trends_take_one_bar_per_sample_at_most() {
        assert_eq!(fit(&widths(), 21, 200).trend, 21);
        let narrow = fit(&widths(), 21, 78);
        assert!(
            (TREND_MIN..21).contains(&narrow.trend),
            "{narrow:?}: squeezed, not dropped"
        );
        assert_eq!(
            fit(&widths(), 0, 200).columns.trends,
            0,
            "no samples, no trend"
        );
    }

    #[test]
    fn sparklines_share_one_scale() {
        let [baseline, canary] = sparklines([&[1.0, 1.0, 1.0], &[1.0, 4.0, 8.0]], 10);
        assert_eq!(baseline, "▂▂▂");
        assert_eq!(canary, "▂▅█");
        let [empty, gap] = sparklines([&[], &[2.0, f64::NAN, 2.0]], 10);
        assert_eq!(empty, MISSING);
        assert_eq!(gap, "█ █");
    }

    #[test]
    fn resampling_averages_buckets() {
        assert_eq!(resample(&[1.0, 3.0, 5.0, 7.0], 2), vec![2.0, 6.0]);
        assert_eq!(resample(&[1.0, 2.0], 5), vec![1.0, 2.0]);
        assert!(resample(&[], 5).is_empty());
    }

    #[test]
    fn a_held_class_says_so() {
        use crate::model::metrics::{Held, MetricJudgement, SideValue, Unit};
        let mut judgement =
            MetricJudgement::without_samples("p95", false, MetricClass::High, "p95 up".into());
        let comparison = |judgement: &MetricJudgement| Comparison {
            metric: "p95_latency".into(),
            label: "p95".into(),
            unit: Unit::Milliseconds,
            baseline: SideValue::default(),
            canary: SideValue::default(),
            judgement: Some(judgement.clone()),
            error: None,
        };
        let theme = Theme::load("mono").unwrap();
        assert_eq!(class_cell(&comparison(&judgement), &theme).text, "High");
        judgement.held = Some(Held {
            samples_short: 1,
            fresh_reason: "p95: too few samples".into(),
        });
        assert_eq!(
            class_cell(&comparison(&judgement), &theme).text,
            "High (held)"
        );
    }

    #[test]
    fn differences_carry_their_sign() {
        assert_eq!(signed(0.5, "0.5".into()), "+0.5");
        assert_eq!(signed(-0.5, "-0.5".into()), "-0.5");
        assert_eq!(signed_percent(940.4), "+940%");
        assert_eq!(signed_percent(-0.44), "-0.4%");
        assert_eq!(signed_percent(0.0), "0%");
    }
}
