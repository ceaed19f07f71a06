//! The bake panel of the detail: after a release finished, its window
//! (elapsed of duration), each SLO's value against its limit with the
//! previous version's figure beside the new one, and a breach with when it
//! began and how long it lasted.

use super::{field, section};
use crate::app::State;
use crate::model::Release;
use crate::model::bake::{Bake, BakeState, SloStatus, minutes_text};
use crate::ui::theme::Theme;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

const TITLE: &str = "Bake window: after the release";

/// The panel, when the release finished and its context bakes.
pub(super) fn panel(r: &Release, state: &State, theme: &Theme) -> Vec<Line<'static>> {
    let Some(bake) = state.bake_of(r) else {
        return Vec::new();
    };
    let mut out = vec![section(TITLE, theme)];
    out.push(field(
        "  State:",
        Span::styled(bake.verdict_text(), style(&bake, theme)),
        theme,
    ));
    out.push(field(
        "  Window:",
        format!(
            "{} of {} from {} (a breach counts after {})",
            minutes_text(bake.elapsed_seconds),
            minutes_text(bake.duration_seconds),
            bake.started.format("%H:%M:%S"),
            minutes_text(bake.hold_for_seconds)
        ),
        theme,
    ));
    out.push(Line::from(Span::styled(
        format!("  {:<14}{:>10}  {:>10}  limit", "SLO", "before", "after"),
        theme.muted(),
    )));
    out.extend(bake.slos.iter().map(|s| slo_row(s, theme)));
    let said = match &bake.state {
        BakeState::Breached(b) => Some((
            format!(
                "✖ breached since {}, for {}: {}",
                b.since.format("%H:%M:%S"),
                minutes_text(b.lasted_seconds),
                b.what()
            ),
            theme.attention(),
        )),
        BakeState::Cleared(b) => Some((
            format!(
                "⚠ breached from {} for {}, cleared since: {}",
                b.since.format("%H:%M:%S"),
                minutes_text(b.lasted_seconds),
                b.what()
            ),
            theme.warning(),
        )),
        BakeState::Unknown(why) => Some((format!("? {why}"), theme.muted())),
        BakeState::Baking | BakeState::Baked => None,
    };
    out.extend(said.map(|(text, style)| Line::from(Span::styled(format!("  {text}"), style))));
    out
}

fn slo_row(s: &SloStatus, theme: &Theme) -> Line<'static> {
    let value = |v: Option<f64>| v.map_or("—".to_string(), |v| s.unit.format(v));
    let (mark, style) = match s.ok {
        Some(true) => ("✔", theme.fg(theme.ok)),
        Some(false) => ("✖", theme.attention()),
        None => ("?", theme.muted()),
    };
    Line::from(vec![
        Span::styled(format!("{mark} "), style),
        Span::raw(format!(
            "{:<14}{:>10}  {:>10}  {}",
            s.label,
            value(s.before),
            value(s.after),
            s.limit_text
        )),
    ])
}

/// The state's colour: a breach as a Fail, baked as a Pass.
pub(in crate::ui) fn style(bake: &Bake, theme: &Theme) -> Style {
    use crate::model::metrics::Verdict;
    match bake.state {
        BakeState::Breached(_) => theme.verdict(Verdict::Fail),
        BakeState::Cleared(_) => theme.verdict(Verdict::Marginal),
        BakeState::Baked => theme.verdict(Verdict::Pass),
        BakeState::Baking | BakeState::Unknown(_) => theme.muted(),
    }
}
