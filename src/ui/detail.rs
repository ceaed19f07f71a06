//! The detail of one release: a header like `kubectl argo rollouts get`,
//! the step strip with the pause countdown, traffic, the revision tree,
//! analysis runs, the bake window, the metrics, the migration, the flags,
//! and the timeline.

pub(super) mod bake;
mod flags;
pub(super) mod metrics;
pub(super) mod migration;

use super::theme::Theme;
use super::{age, hanging, short_image};
use crate::app::State;
use crate::model::traffic::Weight;
use crate::model::{EventKind, Health, PodInfo, Release, ReleaseKey, Revision};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

/// How many timeline entries (the newest) the detail keeps on screen.
const TIMELINE_ROWS: usize = 14;

fn field<'a>(label: &str, value: impl Into<Span<'a>>, theme: &Theme) -> Line<'a> {
    Line::from(vec![
        // 16: the longest label, "  ActualWeight:", still gets a space.
        Span::styled(format!("{label:<16}"), theme.muted()),
        value.into(),
    ])
}

fn section(title: &str, theme: &Theme) -> Line<'static> {
    Line::from(Span::styled(format!("── {title} "), theme.heading()))
}

/// The room a panel has: its width, and the rows below its title.
#[derive(Debug, Clone, Copy)]
struct Room {
    width: usize,
    rows: usize,
}

impl Room {
    /// A panel in a column the size of `area`, under its one-row title.
    fn below_title(area: Rect) -> Room {
        Room {
            width: usize::from(area.width),
            rows: usize::from(area.height).saturating_sub(1),
        }
    }

    /// The rows `lines` take once wrapped (about: words are not split).
    fn rows_of<'a>(&self, lines: impl IntoIterator<Item = &'a Line<'a>>) -> usize {
        let width = self.width.max(1);
        lines
            .into_iter()
            .map(|l| l.width().div_ceil(width).max(1))
            .sum()
    }
}

/// `text` after `mark`, its wrapped lines indented under the text.
fn marked(mark: &str, text: &str, style: Style, room: Room) -> Vec<Line<'static>> {
    indented(text, &format!("{mark} "), style, room)
}

/// `text` after `first`, broken at spaces to the room's width, the lines
/// after the first indented by two.
fn indented(text: &str, first: &str, style: Style, room: Room) -> Vec<Line<'static>> {
    hanging(text, room.width, first, "  ")
        .into_iter()
        .map(|l| Line::from(Span::styled(l, style)))
        .collect()
}

fn header(r: &Release, state: &State, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = vec![
        field("Name:", r.key.name.clone(), theme),
        field("Namespace:", r.key.namespace.clone(), theme),
        field(
            "Kind:",
            format!("{} ({})", r.key.kind.word(), r.strategy.word()),
            theme,
        ),
        field(
            "Status:",
            Span::styled(
                format!("{} {}", r.health.symbol(), r.phase),
                theme.health(r.health),
            ),
            theme,
        ),
    ];
    if !r.message.is_empty() {
        out.push(field("Message:", r.message.clone(), theme));
    }
    if !r.warnings.is_empty() {
        out.push(field(
            "Warnings:",
            Span::styled("fields that cannot be read, shown as ?", theme.muted()),
            theme,
        ));
    }
    for w in &r.warnings {
        out.push(Line::from(Span::styled(
            format!("? {w}"),
            theme.fg(theme.warn),
        )));
    }
    if let Some(step) = r.step_text() {
        out.push(field("  Step:", step, theme));
    }
    for (label, weight) in [
        ("  SetWeight:", r.weights.desired),
        ("  ActualWeight:", r.weights.applied),
    ] {
        if weight != Weight::Absent {
            out.push(field(label, weight.text(), theme));
        }
    }
    if let Some(p) = &r.pause {
        let mut text = p.reason.clone();
        if let Some(left) = p.remaining(state.now) {
            text.push_str(&format!(" — resumes in {left}s"));
        } else if p.needs_decision {
            text.push_str(" — waiting for a decision");
        }
        if let Some(since) = p.since {
            text.push_str(&format!(" (since {})", age(Some(since), state.now)));
        }
        out.push(field(
            "Paused:",
            Span::styled(text, theme.fg(theme.warn)),
            theme,
        ));
    }
    for (i, image) in r.running_images().iter().enumerate() {
        let style = image
            .roles
            .first()
            .map(|role| theme.role(*role))
            .unwrap_or_default();
        let label = if i == 0 { "Images:" } else { "" };
        out.push(field(label, Span::styled(image.text(), style), theme));
    }
    // As `kubectl argo rollouts get` prints them.
    let rp = &r.replicas;
    out.push(field("Replicas:", "", theme));
    for (label, count) in [
        ("  Desired:", rp.desired),
        ("  Current:", rp.current),
        ("  Updated:", rp.updated),
        ("  Ready:", rp.ready),
        ("  Available:", rp.available),
    ] {
        let count = count.map_or("?".into(), |c| c.to_string());
        out.push(field(label, count, theme));
    }
    for a in &r.attention {
        out.push(Line::from(Span::styled(
            format!("! {}", a.describe()),
            theme.attention(),
        )));
    }
    out
}

fn steps(r: &Release, state: &State, theme: &Theme) -> Vec<Line<'static>> {
    if r.steps.is_empty() {
        return Vec::new();
    }
    let mut out = vec![section("Steps", theme)];
    // Argo reads a missing currentStepIndex as the first step; one that
    // cannot be read marks no step as done or current.
    let current = r.current_step.argo();
    for (i, step) in r.steps.iter().enumerate() {
        let (mark, style) = match current.map(|c| i.cmp(&c)) {
            None => ("?", theme.fg(theme.warn)),
            Some(std::cmp::Ordering::Less) => ("✔", theme.fg(theme.ok)),
            Some(std::cmp::Ordering::Equal) if r.aborted => ("✖", theme.attention()),
            Some(std::cmp::Ordering::Equal) => ("▶", theme.marker()),
            Some(std::cmp::Ordering::Greater) => ("○", theme.muted()),
        };
        let mut text = format!("{mark} {:>2}. {}", i + 1, step.label());
        if current == Some(i)
            && let Some(p) = &r.pause
        {
            match p.remaining(state.now) {
                Some(left) => text.push_str(&format!("  ⏱ {left}s left")),
                None if p.needs_decision => text.push_str("  ◷ waiting for promote"),
                None => {}
            }
        }
        out.push(Line::from(Span::styled(text, style)));
    }
    match current {
        Some(c) if c >= r.steps.len() => out.push(Line::from(Span::styled(
            "  all steps complete",
            theme.muted(),
        ))),
        Some(_) => {}
        None => out.push(Line::from(Span::styled(
            "  current step unknown",
            theme.fg(theme.warn),
        ))),
    }
    out
}

fn traffic(r: &Release, theme: &Theme) -> Vec<Line<'static>> {
    let w = &r.weights;
    if w.applied == Weight::Absent && w.router.is_none() && w.header_routes.is_empty() {
        return Vec::new();
    }
    let mut out = vec![section("Traffic", theme)];
    let pct = |w: Weight| match w {
        Weight::Known(v) => format!("{v}%"),
        other => other.text(),
    };
    out.push(field("desired:", pct(w.desired), theme));
    out.push(field("applied:", pct(w.applied), theme));
    match &w.router {
        Some(router) => out.push(field(
            "router:",
            format!(
                "{} canary {}% · stable {}%",
                router.object, router.canary, router.stable
            ),
            theme,
        )),
        None => out.push(field(
            "router:",
            Span::styled("no router weights read", theme.muted()),
            theme,
        )),
    }
    if let Some((applied, router)) = w.drift() {
        out.push(Line::from(Span::styled(
            format!("! drift: the controller says {applied}%, the router carries {router}%"),
            theme.attention(),
        )));
    }
    for h in &w.header_routes {
        out.push(field(
            "header route:",
            format!("{}: {} → canary", h.name, h.matches),
            theme,
        ));
    }
    if let Some(bg) = &r.blue_green {
        let hash = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
        out.push(field(
            "active:",
            format!("{} → {}", bg.active_service, hash(&bg.active_hash)),
            theme,
        ));
        if let Some(p) = &bg.preview_service {
            out.push(field(
                "preview:",
                format!("{p} → {}", hash(&bg.preview_hash)),
                theme,
            ));
        }
        if !bg.auto_promotion {
            out.push(field(
                "promotion:",
                "manual (autoPromotionEnabled: false)",
                theme,
            ));
        }
    }
    if let Some(f) = &r.flagger {
        let w = |o| pct(Weight::read(o));
        out.push(field(
            "canary weight:",
            format!("{} of max {}", w(f.weight), w(f.max_weight)),
            theme,
        ));
        let step = match (&f.step_weight, f.step_weights.is_empty()) {
            (_, false) => format!(
                "[{}]",
                f.step_weights
                    .iter()
                    .map(|s| Weight::read(*s).text())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (Some(s), true) => format!("+{s}% every {}", f.interval),
            (None, true) => "-".into(),
        };
        out.push(field("steps:", step, theme));
        let checks = format!(
            "{} of {} (rollback at {})",
            f.failed_checks, f.threshold, f.threshold
        );
        let style = if f.failed_checks > 0 {
            theme.attention()
        } else {
            Style::default()
        };
        out.push(field("failed checks:", Span::styled(checks, style), theme));
        out.push(field("iterations:", f.iterations.to_string(), theme));
        if f.suspended {
            out.push(field(
                "suspended:",
                Span::styled("yes (spec.suspend)", theme.fg(theme.warn)),
                theme,
            ));
        }
        if f.skip_analysis {
            out.push(field(
                "skipAnalysis:",
                Span::styled("yes: analysis is skipped", theme.fg(theme.warn)),
                theme,
            ));
        }
    }
    out
}

/// How the revision tree shows pods: a row each, or per revision a row of
/// how many are in each state (a team board: pods come and go every
/// second while a release rolls, and their names say nothing from afar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PodRows {
    Each,
    Counted,
}

pub(super) fn tree(r: &Release, state: &State, theme: &Theme, pods: PodRows) -> Vec<Line<'static>> {
    let mut out = vec![section("Revisions", theme)];
    if r.revisions.is_empty() {
        out.push(Line::from(Span::styled(
            "no ReplicaSets seen",
            theme.muted(),
        )));
    }
    for rev in &r.revisions {
        let number = rev.number.map_or("?".into(), |n| n.to_string());
        out.push(Line::from(Span::styled(
            format!("# revision:{number}"),
            theme.heading(),
        )));
        let roles = rev.role_words();
        let health = rev.health();
        let health = format!("{} {}", health.symbol(), health.word());
        let mut info = roles.join(",");
        if let Some(at) = rev.scale_down_at {
            let left = crate::time::seconds_until(at, state.now);
            info.push_str(&format!(" delay:{left}s"));
        }
        let style = rev
            .roles
            .first()
            .map(|r| theme.role(*r))
            .unwrap_or_else(|| theme.muted());
        out.push(Line::from(vec![
            Span::raw("├─⧉ "),
            Span::styled(rev.replica_set.clone(), style),
            Span::raw(format!(
                "  {health}  {}/{} ready  {}  ",
                rev.ready,
                rev.desired,
                rev.images
                    .iter()
                    .map(|i| short_image(i))
                    .collect::<Vec<_>>()
                    .join(",")
            )),
            Span::styled(info, style.add_modifier(Modifier::BOLD)),
        ]));
        if pods == PodRows::Counted {
            out.extend(pod_counts(rev, theme));
            continue;
        }
        for pod in &rev.pods {
            let (mark, pstyle) = pod_mark(pod, theme);
            let restarts = if pod.restarts > 0 {
                format!(" restarts:{}", pod.restarts)
            } else {
                String::new()
            };
            out.push(Line::from(vec![
                Span::raw("│  └─□ "),
                Span::raw(pod.name.clone()),
                Span::styled(format!("  {mark} {}", pod.status), pstyle),
                Span::raw(format!(
                    "  ready:{}/{}{restarts}  {}",
                    pod.ready_containers,
                    pod.containers,
                    age(pod.created, state.now)
                )),
            ]));
        }
    }
    out
}

/// A pod's mark and its style, by whether it is ready and its status.
fn pod_mark(pod: &PodInfo, theme: &Theme) -> (&'static str, Style) {
    match (pod.ready, pod.status.as_str()) {
        (true, _) => ("✔", theme.fg(theme.ok)),
        (false, "CrashLoopBackOff" | "Error" | "Failed") => ("✖", theme.attention()),
        (false, "Terminating") => ("•", theme.muted()),
        (false, _) => ("◌", theme.fg(theme.info)),
    }
}

/// `│  └─□ 10 ✔ Running · 10 ◌ ContainerCreating`: a revision's pods by
/// state, in the order the states first appear among them (by name).
fn pod_counts(rev: &Revision, theme: &Theme) -> Option<Line<'static>> {
    let mut counts: Vec<(&'static str, Style, &str, usize)> = Vec::new();
    for pod in &rev.pods {
        let (mark, style) = pod_mark(pod, theme);
        match counts
            .iter_mut()
            .find(|(m, _, status, _)| *m == mark && *status == pod.status)
        {
            Some(count) => count.3 += 1,
            None => counts.push((mark, style, &pod.status, 1)),
        }
    }
    if counts.is_empty() {
        return None;
    }
    let mut spans = vec![Span::raw("│  └─□ ")];
    for (i, (mark, style, status, n)) in counts.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme.muted()));
        }
        spans.push(Span::styled(format!("{n} {mark} {status}"), style));
    }
    Some(Line::from(spans))
}

fn analysis(r: &Release, theme: &Theme) -> Vec<Line<'static>> {
    if r.analysis.is_empty() {
        return Vec::new();
    }
    let mut out = vec![section("Analysis runs", theme)];
    for run in &r.analysis {
        let health = match run.phase.as_str() {
            "Successful" => Health::Healthy,
            "Failed" | "Error" => Health::Degraded,
            "Inconclusive" => Health::Paused,
            _ => Health::Progressing,
        };
        let mark = match run.phase.as_str() {
            "Inconclusive" => "?",
            "Error" => "⚠",
            _ => health.symbol(),
        };
        let scope = match (run.run_type.as_str(), run.step_index) {
            ("Step", Some(i)) => format!("step {}", i + 1),
            (t, _) => t.to_string(),
        };
        out.push(Line::from(vec![
            Span::raw("α "),
            Span::raw(run.name.clone()),
            Span::styled(format!("  {mark} {}", run.phase), theme.health(health)),
            Span::styled(format!("  {scope}"), theme.muted()),
        ]));
        if !run.message.is_empty() {
            out.push(Line::from(Span::styled(
                format!("    {}", run.message),
                theme.muted(),
            )));
        }
        for m in &run.metrics {
            let values: Vec<String> = m
                .measurements
                .iter()
                .rev()
                .take(5)
                .map(|x| {
                    let mark = match x.phase.as_str() {
                        "Successful" => "✔",
                        "Failed" => "✖",
                        "Inconclusive" => "?",
                        "Error" => "⚠",
                        _ => "◌",
                    };
                    format!("{mark}{}", x.value.as_deref().unwrap_or("-"))
                })
                .collect();
            out.push(Line::from(format!(
                "    {} {}: ✔{} ✖{} ?{} ⚠{}  last: {}",
                m.name,
                m.phase,
                m.successful,
                m.failed,
                m.inconclusive,
                m.error,
                values.join(" ")
            )));
            let conditions: Vec<String> = [
                m.success_condition.as_ref().map(|c| format!("pass if {c}")),
                m.failure_condition.as_ref().map(|c| format!("fail if {c}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !conditions.is_empty() {
                out.push(Line::from(Span::styled(
                    format!("      {}", conditions.join(" · ")),
                    theme.muted(),
                )));
            }
        }
    }
    out
}

/// The order of a timeline: newest first (the detail, as `kubectl argo
/// rollouts get` lists them), or its newest `n` oldest first, as a log's
/// tail (the board: a new Event is a line added below, not every line
/// moved down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timeline {
    NewestFirst,
    Tail(usize),
}

pub(super) fn timeline(
    r: &Release,
    state: &State,
    theme: &Theme,
    order: Timeline,
) -> Vec<Line<'static>> {
    let mut out = vec![section("Timeline", theme)];
    let mut entries = state.timeline_of(r);
    if entries.is_empty() {
        out.push(Line::from(Span::styled("no events yet", theme.muted())));
    }
    let kept = match order {
        Timeline::NewestFirst => TIMELINE_ROWS,
        Timeline::Tail(n) => n,
    };
    entries.truncate(kept);
    if let Timeline::Tail(_) = order {
        entries.reverse();
    }
    for e in entries {
        let (mark, style) = match e.kind {
            EventKind::Normal => (" ", Style::default()),
            EventKind::Warning => ("⚠", theme.fg(theme.warn)),
            EventKind::Action => ("»", theme.marker()),
        };
        let at =
            e.at.map_or("--:--:--".into(), |t| t.format("%H:%M:%S").to_string());
        let count = if e.count > 1 {
            format!(" (×{})", e.count)
        } else {
            String::new()
        };
        out.push(Line::from(vec![
            Span::styled(format!("{at} {mark} "), theme.muted()),
            Span::styled(e.reason.clone(), style.add_modifier(Modifier::BOLD)),
            Span::raw(format!(" {}{count}", e.message)),
        ]));
    }
    out
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, key: &ReleaseKey, theme: &Theme) {
    let title = format!(" {} {} ", key.kind.word(), key);
    let block = theme
        .glyphs
        .block()
        .title(Span::styled(title, theme.heading()));
    let Some(r) = state.release(key) else {
        let text = format!(
            "{} is not in the cluster any more (deleted, or out of scope). Esc goes back.",
            key.name
        );
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    };
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (left_area, right_area) = columns(inner);
    let mut left = header(r, state, theme);
    left.extend(steps(r, state, theme));
    left.extend(traffic(r, theme));
    left.extend(tree(r, state, theme, PodRows::Each));
    let mut right = analysis(r, theme);
    right.extend(bake::panel(r, state, theme));
    let panel_area = right_area.unwrap_or(left_area);
    right.extend(metrics::panel(r, state, panel_area, theme));
    right.extend(migration::panel(r, state, panel_area, theme));
    right.extend(flags::panel(r, state, theme));
    right.extend(timeline(r, state, theme, Timeline::NewestFirst));
    let scroll = (state.detail_scroll, 0);
    let paragraph = |lines| {
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll(scroll)
    };
    match right_area {
        Some(right_area) => {
            frame.render_widget(paragraph(left), left_area);
            frame.render_widget(paragraph(right), right_area);
        }
        None => {
            left.extend(right);
            frame.render_widget(paragraph(left), left_area);
        }
    }
}

/// Side by side from 120 columns on; otherwise one column (and no right).
fn columns(inner: Rect) -> (Rect, Option<Rect>) {
    if inner.width < 120 {
        return (inner, None);
    }
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .spacing(2)
            .areas(inner);
    (left, Some(right))
}
