//! The metrics panel of the detail: what was compared and how fresh it is,
//! the source's failures and warnings, the comparison table, the gates,
//! cutover's verdict and the controller's own conclusion; or why the
//! release is not measured.

mod table;

use super::{Room, field, marked, section};
use crate::app::State;
use crate::model::metrics::{ReleaseMetrics, Verdict, controller_opinion, disagrees};
use crate::model::{Release, ReleaseKey};
use crate::ui::cut;
use crate::ui::glyphs::Glyphs;
use crate::ui::theme::Theme;
use crate::ui::{age, gate_mark, gate_word, hanging, verdict_mark};
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

const TITLE: &str = "Metrics: baseline vs canary";

/// What the panel shows for a value it does not have.
const MISSING: &str = "—";

/// Versions longer than this are cut (hashes and service names fit).
const VERSION_CHARS: usize = 24;

/// The panel in a column the size of `area`: as wide as the column and,
/// with as many of the verdict's reasons as fit, no taller than it.
pub(super) fn panel(r: &Release, state: &State, area: Rect, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = vec![section(TITLE, theme)];
    let room = Room::below_title(area);
    match state.metrics.get(&r.key) {
        Some(m) => out.extend(measured(r, m, state, room, theme)),
        None => out.push(Line::from(Span::styled(
            not_measured(state, &r.key, theme.glyphs),
            theme.muted(),
        ))),
    }
    out
}

/// Why there are no numbers for this release.
pub(in crate::ui) fn not_measured(state: &State, key: &ReleaseKey, glyphs: Glyphs) -> String {
    if let Some(why) = state.metrics_skipped.get(key) {
        return format!("not measured: {why}");
    }
    // The source of the cluster the release was read from.
    let member = state.member_of(&key.cluster).unwrap_or(&state.home);
    if let Some(problem) = &member.metrics_problem {
        return format!("no metrics: {problem}");
    }
    match &member.metrics_source {
        Some(source) => format!("measuring{} ({})", glyphs.ellipsis(), source.description),
        None => "no metrics source configured: nothing is judged here".into(),
    }
}

fn measured(
    r: &Release,
    m: &ReleaseMetrics,
    state: &State,
    room: Room,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut out = header(m, state, theme);
    out.extend(problems(m, state, room, theme));
    if !m.comparisons.is_empty() {
        out.extend(table::table(&m.comparisons, room.width, theme));
        out.push(requests(m, theme));
    }
    out.extend(gates(m, theme));
    out.push(verdict(m, theme));
    let after = controller(r, m.verdict.verdict, theme);
    let left = room
        .rows
        .saturating_sub(room.rows_of(&out) + room.rows_of(&after));
    out.extend(reasons(m, left, room, theme));
    out.extend(after);
    out
}

/// What was compared, when, over which window, from where.
fn header(m: &ReleaseMetrics, state: &State, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if let Some(v) = &m.versions {
        out.push(field(
            "versions:",
            format!(
                "{} {} → {}",
                v.label,
                cut(&v.baseline, VERSION_CHARS, theme.glyphs),
                cut(&v.canary, VERSION_CHARS, theme.glyphs)
            ),
            theme,
        ));
    }
    // A refresh whose queries failed measured nothing new for them.
    let label = if m.errors.is_empty() {
        "measured:"
    } else {
        "tried:"
    };
    out.push(field(
        label,
        format!(
            "{} ago · window {}",
            age(Some(m.measured_at), state.now),
            span(m.window_seconds)
        ),
        theme,
    ));
    out.push(field("source:", m.source.clone(), theme));
    out
}

/// The source's failure (the first error, for how long, how many more),
/// its warnings and a low-traffic warning.
fn problems(m: &ReleaseMetrics, state: &State, room: Room, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if let Some(first) = m.errors.first() {
        let mut text = match m.failing_since {
            Some(since) => format!("failing for {}: {first}", age(Some(since), state.now)),
            None => first.clone(),
        };
        if m.errors.len() > 1 {
            text.push_str(&format!(" (and {} more)", m.errors.len() - 1));
        }
        out.extend(marked("✖", &text, theme.attention(), room));
    }
    for warning in m.warnings.iter().chain(&m.low_traffic) {
        out.extend(marked("⚠", warning, theme.fg(theme.warn), room));
    }
    out
}

/// The requests behind the numbers: the sample size of the quantiles.
fn requests(m: &ReleaseMetrics, theme: &Theme) -> Line<'static> {
    let count = |n: Option<f64>| n.map_or(MISSING.to_string(), |n| format!("{n:.0}"));
    field(
        "requests:",
        format!(
            "baseline {} · canary {} in {}",
            count(m.baseline_requests),
            count(m.canary_requests),
            span(m.window_seconds)
        ),
        theme,
    )
}

/// One line per gate: `✖ gate Fail: error ratio 5.2% is above …`.
fn gates(m: &ReleaseMetrics, theme: &Theme) -> Vec<Line<'static>> {
    m.gates
        .iter()
        .map(|g| {
            Line::from(vec![
                Span::styled(
                    format!("{} gate {}: ", gate_mark(g.outcome), gate_word(g.outcome)),
                    theme.gate(g.outcome),
                ),
                Span::raw(g.reason.clone()),
            ])
        })
        .collect()
}

/// `✖ Verdict: Fail (score 60)`.
pub(in crate::ui) fn verdict(m: &ReleaseMetrics, theme: &Theme) -> Line<'static> {
    let v = &m.verdict;
    let score = v
        .score
        .map_or("no score".to_string(), |s| format!("score {}", trimmed(s)));
    Line::from(Span::styled(
        format!(
            "{} Verdict: {} ({score})",
            verdict_mark(v.verdict),
            v.verdict.word()
        ),
        theme.verdict(v.verdict).add_modifier(Modifier::BOLD),
    ))
}

/// The verdict's reasons in at most `rows` rows (the summary always),
/// leaving out failed gates: their lines are just above.
fn reasons(m: &ReleaseMetrics, rows: usize, room: Room, theme: &Theme) -> Vec<Line<'static>> {
    let gate_lines: Vec<String> = m
        .gates
        .iter()
        .map(|g| format!("gate failed: {}", g.reason))
        .collect();
    let shown: Vec<&String> = m
        .verdict
        .reasons
        .iter()
        .filter(|r| !gate_lines.contains(r))
        .collect();
    let mut out = Vec::new();
    let mut left = rows;
    for (i, reason) in shown.iter().enumerate() {
        let lines = hanging(reason, room.width, "  ", "    ");
        // Room for "… and N more" under it, unless it is the last.
        let reserve = usize::from(i + 1 < shown.len());
        if i > 0 && lines.len() + reserve > left {
            out.push(Line::from(Span::styled(
                format!("  {} and {} more", theme.glyphs.ellipsis(), shown.len() - i),
                theme.muted(),
            )));
            break;
        }
        left = left.saturating_sub(lines.len());
        out.extend(lines.into_iter().map(Line::from));
    }
    out
}

/// The controller's own conclusion, and whether it disagrees with ours.
fn controller(r: &Release, verdict: Verdict, theme: &Theme) -> Vec<Line<'static>> {
    let Some(opinion) = controller_opinion(r) else {
        return Vec::new();
    };
    let mut out = vec![Line::from(vec![
        Span::styled("controller: ", theme.muted()),
        Span::raw(format!("{}: {}", opinion.source, opinion.summary)),
    ])];
    if disagrees(verdict, &opinion) {
        out.push(Line::from(Span::styled(
            format!("  ≠ disagrees with cutover's {}", verdict.word()),
            theme.attention(),
        )));
    }
    out
}

/// A window as people say it: `5m`, `90s`, `1h`.
fn span(seconds: u64) -> String {
    match seconds {
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// A score without trailing zeros: `60`, `66.67`.
fn trimmed(score: f64) -> String {
    let text = format!("{score:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keymap::Keymap;
    use crate::app::state::MetricsSource;
    use crate::metrics::profiles::Profile;
    use crate::model::Kind;
    use chrono::DateTime;

    #[test]
    fn says_why_a_release_is_not_measured() {
        let key = ReleaseKey {
            cluster: String::new(),
            kind: Kind::Rollout,
            namespace: "shop".into(),
            name: "checkout".into(),
        };
        let mut state = State::new(DateTime::UNIX_EPOCH, false, Keymap::default());
        assert_eq!(
            not_measured(&state, &key, Glyphs::Unicode),
            "no metrics source configured: nothing is judged here"
        );
        state.home.metrics_problem = Some("no Prometheus for context prod".into());
        assert_eq!(
            not_measured(&state, &key, Glyphs::Unicode),
            "no metrics: no Prometheus for context prod"
        );
        state.home.metrics_problem = None;
        state.home.metrics_source = Some(MetricsSource {
            description: "Prometheus http://p:9090".into(),
            profile: Profile::Generic,
            warning: None,
            bake: Default::default(),
        });
        assert_eq!(
            not_measured(&state, &key, Glyphs::Unicode),
            "measuring… (Prometheus http://p:9090)"
        );
        state
            .metrics_skipped
            .insert(key.clone(), "no canary revision to compare".into());
        assert_eq!(
            not_measured(&state, &key, Glyphs::Unicode),
            "not measured: no canary revision to compare"
        );
    }

    #[test]
    fn windows_read_as_people_say_them() {
        assert_eq!(span(300), "5m");
        assert_eq!(span(90), "90s");
        assert_eq!(span(7200), "2h");
        assert_eq!(span(0), "0s");
    }

    #[test]
    fn scores_and_versions_are_short() {
        assert_eq!(trimmed(60.0), "60");
        assert_eq!(trimmed(66.666), "66.67");
        assert_eq!(cut("7c9d4b8f6c", 24, Glyphs::Unicode), "7c9d4b8f6c");
        assert_eq!(cut("abcdef", 4, Glyphs::Unicode), "abc…");
    }
}
