//! The confirmation: the target, the revision, what will happen, the exact
//! requests, and for hard-to-undo actions the name to type (the context's,
//! in a context whose config says `confirm = "typed"`).

use super::centred;
use super::theme::Theme;
use crate::app::State;
use crate::app::keymap::KeyCommand;
use crate::app::state::{Confirm, OVERRIDE_PHRASE};
use crate::model::Action;
use crate::model::action::FlagTarget;
use crate::model::flag::{FlagSource, kill_options};
use crate::model::migration::RollbackSafety;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

/// Where the action goes. In a fleet, the cluster it was shown from,
/// marked, with its context and server: the one the requests reach.
fn where_line(state: &State, c: &Confirm, theme: &Theme) -> Line<'static> {
    let label = |s: &str| Span::styled(format!("{s:<10}"), theme.muted());
    let Some(member) = state.member_of(&c.key.cluster).filter(|_| state.is_fleet()) else {
        return Line::from(vec![
            label("Context:"),
            Span::raw(state.home.scope.context.clone()),
        ]);
    };
    Line::from(vec![
        label("Cluster:"),
        Span::styled(format!(" {} ", member.alias.to_uppercase()), theme.badge()),
        Span::styled(
            format!(
                " context {} · server {} · only this cluster is changed",
                member.scope.context, member.scope.cluster_url
            ),
            theme.heading(),
        ),
    ])
}

/// What the kill switch may do, the chosen one marked: each linked flag
/// that is on, turned off or serving another variant.
fn kill_switch_choices(state: &State, c: &Confirm, theme: &Theme) -> Vec<Line<'static>> {
    let (Action::KillSwitch(Some(chosen)), Some(release)) = (c.plan.action, state.release(&c.key))
    else {
        return Vec::new();
    };
    let mut lines = vec![Line::from(Span::styled(
        "Switch (↑/↓ to choose):",
        theme.muted(),
    ))];
    for (i, (flag, change)) in kill_options(release).into_iter().enumerate() {
        let text = format!(
            "  {} ({}): {}",
            flag.key,
            flag.source.describe(),
            change.describe(&flag.source)
        );
        let style = if i == usize::from(chosen) {
            theme.selected()
        } else {
            Default::default()
        };
        lines.push(Line::from(Span::styled(text, style)));
    }
    lines
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, c: &Confirm, theme: &Theme) {
    let action = c.plan.action;
    let label = |s: &str| Span::styled(format!("{s:<10}"), theme.muted());
    let mut lines = vec![
        Line::from(vec![
            label("Target:"),
            Span::styled(
                format!(
                    "{} {} in namespace {}{}",
                    c.key.kind.word(),
                    c.key.name,
                    c.key.namespace,
                    match c.key.cluster.as_str() {
                        "" => String::new(),
                        cluster => format!(" of cluster {cluster}"),
                    }
                ),
                theme.heading(),
            ),
        ]),
        where_line(state, c, theme),
        match &c.plan.flag {
            Some(flag) => Line::from(vec![
                label("Flag:"),
                Span::styled(flag.describe(), theme.heading()),
                // Unleash has no resourceVersion.
                Span::raw(if flag.resource_version.is_empty() {
                    String::new()
                } else {
                    format!(" (resourceVersion {})", flag.resource_version)
                }),
            ]),
            None => Line::from(vec![label("Revision:"), Span::raw(c.plan.revision.clone())]),
        },
        Line::from(vec![label("Effect:"), Span::raw(c.plan.effect.clone())]),
    ];
    lines.extend(kill_switch_choices(state, c, theme));
    if let Action::Undo(_) = action
        && !c.undo_choices.is_empty()
    {
        lines.push(Line::from(Span::styled(
            "Roll back to (↑/↓ to choose):",
            theme.muted(),
        )));
        for (i, n) in c.undo_choices.iter().enumerate() {
            let images = state
                .release(&c.key)
                .and_then(|r| r.revision(*n))
                .map(|r| r.images.join(", "))
                .unwrap_or_default();
            let text = format!("  revision {n}  {images}");
            let style = if i == c.undo_index {
                theme.selected()
            } else {
                Default::default()
            };
            lines.push(Line::from(Span::styled(text, style)));
        }
    }
    if let Some(context) = &c.typed_context {
        lines.push(Line::from(vec![
            label("Confirm:"),
            Span::styled(
                format!(
                    "context {context} asks for its name typed (confirm = \"typed\"): type the context's name, not the release's"
                ),
                theme.attention(),
            ),
        ]));
    }
    lines.extend(schema_lines(c, theme));
    lines.push(Line::from(Span::styled("Requests:", theme.muted())));
    let width = area.width.saturating_sub(4).min(110);
    // Long bodies (a whole pod template) are cut here; the audit has them.
    let body_limit = usize::from(width).saturating_mul(2).max(40);
    for r in &c.plan.requests {
        let target = match (&c.plan.flag, r.subresource) {
            (Some(flag), _) => match &flag.source {
                FlagSource::FeatureFlag { name, .. } => format!("featureflags/{name}"),
                // Unleash gets no patch: its request is shown below.
                FlagSource::Unleash { .. } => flag.key.clone(),
            },
            (None, Some(s)) => format!("{}/{s}", c.key.name),
            (None, None) => c.key.name.clone(),
        };
        let mut body = r.body.to_string();
        if body.chars().count() > body_limit {
            body = body.chars().take(body_limit).collect::<String>() + theme.glyphs.ellipsis();
        }
        lines.push(Line::from(format!(
            "  PATCH {target} ({}) {body}",
            r.kind.content_type().trim_start_matches("application/"),
        )));
    }
    if let Some(request) = c.plan.flag.as_ref().and_then(FlagTarget::unleash_request) {
        lines.push(Line::from(format!("  {request}")));
    }
    lines.push(Line::from(""));
    let prompt = if let Some(phrase) = &c.override_typed {
        let mark = if phrase == OVERRIDE_PHRASE {
            "✔"
        } else {
            theme.glyphs.ellipsis()
        };
        Line::from(vec![
            Span::styled(
                format!("Type \"{OVERRIDE_PHRASE}\" and press Enter to override: "),
                theme.attention(),
            ),
            Span::styled(format!("{phrase}▏"), Modifier::BOLD),
            Span::raw(format!(" {mark}   Esc cancels")),
        ])
    } else if c.needs_name() {
        let mark = if c.name_matches() {
            "✔".to_string()
        } else if c.mismatch {
            "✖".to_string()
        } else {
            theme.glyphs.ellipsis().to_string()
        };
        Line::from(vec![
            Span::styled(
                format!(
                    "Type {} and press Enter to {}: ",
                    c.expected(),
                    action.word()
                ),
                theme.attention(),
            ),
            Span::styled(format!("{}▏", c.typed), Modifier::BOLD),
            Span::raw(format!(" {mark}   Esc cancels")),
        ])
    } else {
        Line::from(Span::styled(
            format!(
                "{} or Enter to {}, {} or Esc to cancel",
                state.keymap.label(KeyCommand::Confirm),
                action.word(),
                state.keymap.label(KeyCommand::Cancel)
            ),
            theme.attention(),
        ))
    };
    let title = format!(" {} {}? ", action.word(), c.key.shown_name());
    let block = theme
        .glyphs
        .block()
        .title(Span::styled(title, theme.attention()));
    let body = Paragraph::new(lines).wrap(Wrap { trim: false });
    // The wrapped body, the prompt row and the borders; the prompt keeps
    // its row even when the body must be cut on a small screen.
    let height = body.line_count(width.saturating_sub(2)) + 3;
    let popup = centred(area, width, u16::try_from(height).unwrap_or(u16::MAX));
    let inner = block.inner(popup);
    let [body_area, prompt_area] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
    frame.render_widget(Clear, popup);
    frame.render_widget(block, popup);
    frame.render_widget(body, body_area);
    frame.render_widget(Paragraph::new(prompt), prompt_area);
}

/// The rollback interlock in plain words: blocked, unknown or safe, and
/// the warnings that do not block.
fn schema_lines(c: &Confirm, theme: &Theme) -> Vec<Line<'static>> {
    let label = Span::styled(format!("{:<10}", "Schema:"), theme.muted());
    let mut lines = Vec::new();
    match &c.safety {
        Some(RollbackSafety::Unsafe(reason)) => {
            lines.push(Line::from(vec![
                label,
                Span::styled(format!("BLOCKED: {reason}"), theme.attention()),
            ]));
            lines.push(Line::from(Span::styled(
                format!(
                    "          The revision this returns to needs the old schema. Overriding takes the name, then \"{OVERRIDE_PHRASE}\", and is audited as an override."
                ),
                theme.attention(),
            )));
        }
        Some(RollbackSafety::Unknown(reason)) => lines.push(Line::from(vec![
            label,
            Span::styled(
                format!("rollback safety UNKNOWN: {reason}. Go ahead only if you know the schema still supports that revision."),
                theme.health(crate::model::Health::Paused),
            ),
        ])),
        Some(RollbackSafety::Safe) => lines.push(Line::from(vec![
            label,
            Span::raw("the schema still supports the revision this returns to"),
        ])),
        None => {}
    }
    if let Some(way_back) = &c.way_back {
        lines.push(Line::from(vec![
            Span::styled(format!("{:<10}", "Restore:"), theme.muted()),
            Span::styled(way_back.clone(), theme.attention()),
        ]));
    }
    for w in &c.warnings {
        lines.push(Line::from(vec![
            Span::styled(format!("{:<10}", "Warning:"), theme.muted()),
            Span::styled(w.clone(), theme.attention()),
        ]));
    }
    lines
}
