//! The Flags panel of the detail: each feature flag linked to the release,
//! where it is defined, whether it is on, what it serves by default, its
//! variants, the split when it is rolled out by percentage, what else
//! depends on it, and when it last changed.

use super::section;
use crate::app::State;
use crate::model::Release;
use crate::model::flag::{Flag, FlagLink, FlagSource, FlagState};
use crate::ui::age;
use crate::ui::theme::Theme;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

/// The panel, or nothing when no flag is linked to the release.
pub(super) fn panel(r: &Release, state: &State, theme: &Theme) -> Vec<Line<'static>> {
    let unleash = unleash_problem(r, state);
    if r.flags.is_empty() && unleash.is_none() {
        return Vec::new();
    }
    let mut out = vec![section("Flags", theme)];
    out.extend(
        unleash.map(|text| Line::from(Span::styled(format!("  {text}"), theme.fg(theme.warn)))),
    );
    for flag in &r.flags {
        out.extend(lines(flag, r, state, theme));
    }
    out
}

/// Why the context's Unleash cannot be read, and for how long, when the
/// release names flags: its flags' state is unknown until it answers.
fn unleash_problem(r: &Release, state: &State) -> Option<String> {
    if r.flag_names.is_empty() {
        return None;
    }
    let (name, feed) = state.member_of(&r.key.cluster)?.unleash.as_ref()?;
    let error = feed.error.as_ref()?;
    let since = feed
        .failing_since
        .map(|at| format!(", failing for {}", age(Some(at), state.now)))
        .unwrap_or_default();
    let last = feed
        .read_at
        .map(|at| format!(", last read {} ago", age(Some(at), state.now)))
        .unwrap_or_else(|| ", never read".into());
    Some(format!(
        "{name}: {error}{since}{last}; its flags' state is unknown"
    ))
}

fn lines(flag: &Flag, r: &Release, state: &State, theme: &Theme) -> Vec<Line<'static>> {
    let (mark, style) = match flag.state {
        FlagState::Enabled => ("●", theme.fg(theme.ok)),
        FlagState::Disabled => ("○", theme.muted()),
        FlagState::Unknown => ("?", theme.fg(theme.warn)),
    };
    let link = match flag.link {
        FlagLink::Annotation => "named by cutover.dev/flags",
        FlagLink::Label => "labelled for this release",
    };
    let mut out = vec![
        Line::from(vec![
            Span::styled(flag.key.clone(), Modifier::BOLD),
            Span::raw("  "),
            Span::styled(format!("{mark} {}", flag.state.word()), style),
        ]),
        detail(
            "source",
            format!("{} ({link})", flag.source.describe()),
            theme,
        ),
    ];
    let variants = flag
        .variants
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ");
    let unleash = matches!(flag.source, FlagSource::Unleash { .. });
    // Unleash serves on or off: a default variant is FeatureFlag's word.
    out.extend((!unleash).then(|| {
        detail(
            "default",
            format!(
                "{} · variants {}",
                flag.default_variant.as_deref().unwrap_or("none"),
                if variants.is_empty() {
                    "none"
                } else {
                    &variants
                }
            ),
            theme,
        )
    }));
    if let Some(split) = flag.rollout_text() {
        let partial = if flag.partially_rolled_out() {
            " ◐ partial"
        } else {
            ""
        };
        out.push(detail("rollout", format!("{split}{partial}"), theme));
    }
    let mut others: Vec<String> = state
        .releases
        .iter()
        .filter(|o| o.key != r.key && o.key.cluster == r.key.cluster)
        .filter(|o| o.flags.iter().any(|g| g.same_as(flag)))
        .map(|o| format!("{}/{}", o.key.kind.short(), o.key.shown_name()))
        .collect();
    if flag.rules {
        others.push("targeting rules".into());
    }
    if !others.is_empty() {
        out.push(detail("also", others.join(", "), theme));
    }
    let changed = match flag.changed_at {
        // The clock time while it is today's, the day after.
        Some(at) if state.now - at < chrono::Duration::hours(24) => {
            format!(
                "{} ago ({})",
                age(Some(at), state.now),
                at.format("%H:%M:%S")
            )
        }
        Some(at) => format!(
            "{} ago ({})",
            age(Some(at), state.now),
            at.format("%Y-%m-%d")
        ),
        None if unleash => "unknown (no event in Unleash)".into(),
        None => "unknown (no managedFields)".into(),
    };
    out.push(detail("changed", changed, theme));
    out
}

fn detail(label: &str, value: String, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("  {label:<9}"), theme.muted()),
        Span::raw(value),
    ])
}
