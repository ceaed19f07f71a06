//! The top bar (where, who, how fresh) and the bottom line (the last
//! result, the filter or command being typed, or key hints, after a
//! recommendation when the metrics say Fail).

use super::feeds::{self, FeedDetail};
use super::help::inactive_reason;
use super::theme::Theme;
use super::{age, age_text, thousands};
use super::{cut, cut_middle};
use crate::app::State;
use crate::app::health::{Loading, Outage};
use crate::app::keymap::KeyCommand;
use crate::app::member::Member;
use crate::app::state::{ConnectionState, Overlay, View};
use crate::model::bake::BakeState;
use crate::model::flag::suspect;
use crate::model::metrics::Verdict;
use crate::time::seconds_since;
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

/// What the connection badge says, with the instants it counts from.
enum Badge<'a> {
    Connecting {
        since: DateTime<Utc>,
    },
    Failed {
        error: &'a str,
        since: DateTime<Utc>,
    },
    /// A watch has failed for longer than a hiccup: the data is as old as
    /// the outage.
    Reconnecting(Outage<'a>),
    /// Some lists are still streaming in: the data is not all there.
    Loading(Vec<Loading>),
    Live,
}

fn badge(state: &State) -> Badge<'_> {
    member_badge(&state.home, state.now)
}

/// What one context's badge says at `now`.
fn member_badge(member: &Member, now: DateTime<Utc>) -> Badge<'_> {
    match &member.connection {
        ConnectionState::Connecting { since } => Badge::Connecting { since: *since },
        ConnectionState::Failed { error, since } => Badge::Failed {
            error,
            since: *since,
        },
        ConnectionState::Connected => match member.sources.outage(now) {
            Some(outage) => Badge::Reconnecting(outage),
            None => {
                let loading = member.sources.loading();
                if loading.is_empty() {
                    Badge::Live
                } else {
                    Badge::Loading(loading)
                }
            }
        },
    }
}

/// The instants the badges count whole seconds from: in a fleet, each
/// context's, a lost one's age included.
pub fn badge_counts_from(state: &State) -> Vec<DateTime<Utc>> {
    let fleet = state.is_fleet();
    state
        .members()
        .filter_map(|m| match member_badge(m, state.now) {
            Badge::Connecting { since } | Badge::Failed { since, .. } => Some(since),
            Badge::Reconnecting(outage) if fleet => outage.data_from,
            Badge::Reconnecting(_) | Badge::Loading(_) | Badge::Live => None,
        })
        .collect()
}

/// A fleet's badges as one text, as they are drawn.
pub(super) fn joined(badges: &[(String, Tone)]) -> String {
    let texts: Vec<&str> = badges.iter().map(|(t, _)| t.as_str()).collect();
    texts.join("  ")
}

/// A fleet's badges, one a context: `● eu  ● us  ✖ ap 2m, data as of
/// 14:02`, each with how it is drawn.
pub(super) fn fleet_badges(state: &State) -> Vec<(String, Tone)> {
    let age = |t| age_text(seconds_since(t, state.now));
    state
        .members()
        .map(|m| {
            let name = &m.alias;
            match member_badge(m, state.now) {
                Badge::Live => (format!("● {name}"), Tone::Ok),
                Badge::Loading(_) => (format!("◌ {name} loading"), Tone::Progress),
                Badge::Connecting { since } => (
                    format!("◌ {name} connecting {}", age(since)),
                    Tone::Attention,
                ),
                Badge::Failed { since, .. } => {
                    (format!("✖ {name} {}", age(since)), Tone::Attention)
                }
                Badge::Reconnecting(outage) => {
                    let text = match outage.data_from {
                        Some(t) => format!("✖ {name} {}, data as of {}", age(t), t.format("%H:%M")),
                        None => format!("✖ {name}, nothing listed yet"),
                    };
                    (text, Tone::Attention)
                }
            }
        })
        .collect()
}

/// The whole connection badge, and whether it says live.
#[cfg(test)]
pub fn freshness(state: &State) -> (String, bool) {
    let (text, tone) = badge_text(state, usize::MAX);
    (text, matches!(tone, Tone::Ok))
}

/// The connection badge naming at most `kinds` of the kinds being listed,
/// and how it is drawn.
pub(super) fn badge_text(state: &State, kinds: usize) -> (String, Tone) {
    let seconds = |t| seconds_since(t, state.now);
    match badge(state) {
        Badge::Connecting { since } => {
            (format!("◌ connecting {}s", seconds(since)), Tone::Attention)
        }
        Badge::Failed { error, since } => (
            format!("✖ cannot connect ({}s): {error}", seconds(since)),
            Tone::Attention,
        ),
        Badge::Reconnecting(outage) => (
            format!("◌ reconnecting ({}) · {}", outage.error, outage.data_text()),
            Tone::Attention,
        ),
        Badge::Loading(loading) => (loading_text(&loading, kinds), Tone::Progress),
        Badge::Live => ("● live".to_string(), Tone::Ok),
    }
}

/// `◌ loading pods 48,000/200,000 · replicasets 2,000 so far`: the first
/// `kinds` of the kinds being listed, and how many more there are.
fn loading_text(loading: &[Loading], kinds: usize) -> String {
    let each = loading.iter().take(kinds).map(|l| {
        let name = l.kind.plural();
        match (l.progress.loaded, l.progress.total) {
            (loaded, Some(total)) => format!("{name} {}/{}", thousands(loaded), thousands(total)),
            (0, None) => name.to_string(),
            (loaded, None) => format!("{name} {} so far", thousands(loaded)),
        }
    });
    let mut text = format!("◌ loading {}", each.collect::<Vec<_>>().join(" · "));
    if let Some(more) = loading.len().checked_sub(kinds).filter(|n| *n > 0) {
        text.push_str(&format!(" and {more} more"));
    }
    text
}

/// The top bar's parts. On a narrow screen they give way in a fixed order
/// (see [`TopBar::fit`]); the connection state and the read-only marker
/// go last.
struct TopBar<'a> {
    title: bool,
    simulated: bool,
    read_only: bool,
    /// The context and namespace, at most this many characters each
    /// (cut in the middle); `None` once they are dropped.
    context: Option<usize>,
    namespace: usize,
    user: Option<usize>,
    missing_kinds: bool,
    /// How much of the metrics and databases' states shows.
    feeds: FeedDetail,
    /// The connection badge, at most this many characters (cut at the end).
    badge: usize,
    /// How many of the kinds being listed the badge names.
    loading: usize,
    state: &'a State,
    theme: &'a Theme,
}

impl<'a> TopBar<'a> {
    fn new(state: &'a State, theme: &'a Theme) -> TopBar<'a> {
        TopBar {
            title: true,
            simulated: state.simulated,
            read_only: state.read_only,
            context: Some(usize::MAX),
            namespace: usize::MAX,
            user: Some(usize::MAX),
            missing_kinds: !state.home.scope.missing_kinds.is_empty(),
            feeds: FeedDetail::All,
            badge: usize::MAX,
            loading: usize::MAX,
            state,
            theme,
        }
    }

    fn spans(&self) -> Vec<Span<'static>> {
        let theme = self.theme;
        let glyphs = theme.glyphs;
        let scope = &self.state.home.scope;
        let mut spans = Vec::new();
        if self.title {
            spans.push(Span::styled(" cutover ", theme.heading()));
        }
        for (shown, word) in [
            (self.simulated, " SIMULATED "),
            (self.read_only, " READ-ONLY "),
        ] {
            if shown {
                spans.push(Span::styled(word, theme.badge()));
                spans.push(Span::raw(" "));
            }
        }
        if self.state.is_fleet() {
            // Each context's state: which one is down is what matters.
            let badges = fleet_badges(self.state);
            if self.badge == usize::MAX {
                for (i, (text, tone)) in badges.iter().enumerate() {
                    if i > 0 {
                        spans.push(Span::raw("  "));
                    }
                    spans.push(Span::styled(text.clone(), tone.style(theme)));
                }
            } else {
                spans.push(Span::styled(
                    cut(&joined(&badges), self.badge, glyphs),
                    Tone::Attention.style(theme),
                ));
            }
        } else {
            if let Some(max) = self.context {
                let context = match scope.context.as_str() {
                    "" => "-",
                    c => c,
                };
                let namespace = scope.namespace.as_deref().unwrap_or("all");
                let mut text = format!(
                    "ctx {} │ ns {} │ ",
                    cut_middle(context, max, glyphs),
                    cut_middle(namespace, self.namespace, glyphs)
                );
                if let Some(max) = self.user {
                    let user = scope.user.as_deref().unwrap_or("?");
                    text.push_str(&format!("user {} │ ", cut_middle(user, max, glyphs)));
                }
                spans.push(Span::raw(text));
            }
            let (badge, tone) = badge_text(self.state, self.loading);
            spans.push(Span::styled(
                cut(&badge, self.badge, glyphs),
                tone.style(theme),
            ));
        }
        spans.extend(feeds::spans(self.state, self.feeds, theme));
        if self.missing_kinds {
            spans.push(Span::styled(
                format!(" │ not installed: {}", scope.missing_kinds.join(", ")),
                theme.muted(),
            ));
        }
        spans
    }

    fn width(&self) -> usize {
        Line::from(self.spans()).width()
    }

    /// Give way, step by step, until the bar fits in `width`: first the
    /// context is cut in the middle, then the uninstalled kinds, the feeds
    /// that work, the title, the user, more of the context, the user
    /// altogether, all but the first of the kinds being listed, the failing
    /// feeds' times, the SIMULATED marker, the namespace, where we are
    /// altogether, the failing feeds, and last the end of the connection
    /// badge. Room left over by a step goes back to the context.
    fn fit(mut self, width: usize) -> Self {
        let steps: [fn(&mut Self, usize); 14] = [
            |bar, over| bar.shrink_context(over, 20),
            |bar, _| bar.missing_kinds = false,
            |bar, _| bar.feeds = FeedDetail::Failing,
            |bar, _| bar.title = false,
            |bar, over| bar.user = bar.user.map(|max| shrunk(bar.user_len(), max, over, 12)),
            |bar, over| bar.shrink_context(over, 10),
            |bar, _| bar.user = None,
            |bar, _| bar.loading = 1,
            |bar, _| bar.feeds = FeedDetail::FailingShort,
            |bar, _| bar.simulated = false,
            |bar, over| {
                bar.namespace = shrunk(bar.namespace_len(), bar.namespace, over, 8);
            },
            |bar, _| bar.context = None,
            |bar, _| bar.feeds = FeedDetail::None,
            |bar, over| bar.badge = shrunk(bar.badge_len(), bar.badge, over, 1),
        ];
        for step in steps {
            let over = self.width().saturating_sub(width);
            if over == 0 {
                break;
            }
            step(&mut self, over);
        }
        let spare = width.saturating_sub(self.width());
        self.context = self.context.map(|max| max.saturating_add(spare));
        self
    }

    /// The length of the connection badge (a fleet's: all of them).
    fn badge_len(&self) -> usize {
        if self.state.is_fleet() {
            return joined(&fleet_badges(self.state)).chars().count();
        }
        badge_text(self.state, self.loading).0.chars().count()
    }

    fn shrink_context(&mut self, over: usize, floor: usize) {
        let len = self.state.home.scope.context.chars().count();
        self.context = self.context.map(|max| shrunk(len, max, over, floor));
    }

    fn namespace_len(&self) -> usize {
        self.state
            .home
            .scope
            .namespace
            .as_deref()
            .map_or(3, |n| n.chars().count())
    }

    fn user_len(&self) -> usize {
        self.state
            .home
            .scope
            .user
            .as_deref()
            .map_or(1, |u| u.chars().count())
    }
}

/// A limit of `max` on a text of `len` characters lowered by `over`, but
/// not below `floor`.
fn shrunk(len: usize, max: usize, over: usize, floor: usize) -> usize {
    len.min(max).saturating_sub(over).max(floor)
}

pub fn top(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let bar = TopBar::new(state, theme).fit(usize::from(area.width));
    frame.render_widget(Paragraph::new(Line::from(bar.spans())), area);
}

/// How a piece of a bar is drawn.
#[derive(Debug, Clone, Copy)]
pub(super) enum Tone {
    Plain,
    Heading,
    Muted,
    Ok,
    /// Work under way.
    Progress,
    Attention,
    Warning,
    Recommendation,
}

impl Tone {
    pub(super) fn style(self, theme: &Theme) -> Style {
        match self {
            Tone::Plain => Style::default(),
            Tone::Heading => theme.heading(),
            Tone::Muted => theme.muted(),
            Tone::Ok => theme.fg(theme.ok),
            Tone::Progress => theme.fg(theme.info),
            Tone::Attention => theme.attention(),
            Tone::Warning => theme.warning(),
            Tone::Recommendation => theme.recommendation(),
        }
    }
}

/// A piece of the bottom line's text and how it is drawn.
type Piece = (String, Tone);

fn piece(text: impl Into<String>, tone: Tone) -> Piece {
    (text.into(), tone)
}

/// The bottom line at `width` columns: the command or filter being typed,
/// or the recommendation and the last result, a warning or the key hints.
fn pieces(state: &State, width: usize) -> Vec<Piece> {
    if let Some(typed) = typing(state) {
        return typed;
    }
    let mut pieces: Vec<Piece> = recommendation(state)
        .into_iter()
        .chain(config_problems(state))
        .flat_map(|r| [r, piece("  ", Tone::Plain)])
        .collect();
    let used: usize = pieces.iter().map(|(text, _)| text.width()).sum();
    pieces.extend(message(state, width.saturating_sub(used)));
    pieces
}

/// The pieces wrapped at the screen's width: a result or warning longer
/// than a row goes on over the next rows, whole.
fn wrapped(pieces: Vec<Piece>, style: impl Fn(Tone) -> Style) -> Paragraph<'static> {
    let spans: Vec<Span<'static>> = pieces
        .into_iter()
        .map(|(text, tone)| Span::styled(text, style(tone)))
        .collect();
    Paragraph::new(Line::from(spans)).wrap(Wrap { trim: false })
}

/// The rows the bottom line takes on a screen of `area`: as many as its
/// text needs (a refusal's whole reason), up to a third of the screen. The
/// text alone decides, not the theme.
pub fn bottom_rows(state: &State, area: Rect) -> u16 {
    let needed = wrapped(pieces(state, usize::from(area.width)), |_| Style::default())
        .line_count(area.width);
    u16::try_from(needed)
        .unwrap_or(u16::MAX)
        .clamp(1, (area.height / 3).max(1))
}

pub fn bottom(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let text = wrapped(pieces(state, usize::from(area.width)), |tone| {
        tone.style(theme)
    });
    let cut = text.line_count(area.width) > usize::from(area.height);
    frame.render_widget(text, area);
    // More than a third of the screen: the end is cut, and says so.
    if cut && !area.is_empty() {
        frame.buffer_mut()[(area.right() - 1, area.bottom() - 1)].set_symbol("…");
    }
}

/// The command or filter being typed, which takes the whole line.
fn typing(state: &State) -> Option<Vec<Piece>> {
    if let Some(Overlay::Command(text)) = &state.overlay {
        return Some(vec![
            piece(":", Tone::Heading),
            piece(text.clone(), Tone::Plain),
            piece("▏", Tone::Plain),
        ]);
    }
    state.filter_editing.then(|| {
        vec![
            piece("/", Tone::Heading),
            piece(state.filter.clone(), Tone::Plain),
            piece("▏", Tone::Plain),
            piece("  Enter keep · Esc clear", Tone::Muted),
        ]
    })
}

/// When an SLO of the release the keys act on is breached in its bake
/// window: the undo. When cutover's verdict on it is Fail: the
/// kill switch of a flag turned on within the verdict's window, a cheaper
/// first move, else abort; each with the key that asks for it (and why
/// that key is off, if it is). Only a hint: nothing is done without the
/// human.
fn recommendation(state: &State) -> Option<Piece> {
    let release = state.target()?;
    let how = |command| {
        let key = match state.keymap.label(command) {
            k if k.is_empty() => "no key bound".to_string(),
            k => k,
        };
        match inactive_reason(state, command) {
            None => key,
            Some(why) => format!("{key}, off here: {why}"),
        }
    };
    // After the release finished, the way back is the rollback.
    if let Some(BakeState::Breached(b)) = state.bake_of(release).map(|b| b.state) {
        let text = format!(
            "✖ SLO breached after the release: {}: undo recommended ({})",
            b.describe(),
            how(KeyCommand::Undo)
        );
        return Some(piece(text, Tone::Recommendation));
    }
    let metrics = state.metrics.get(&release.key)?;
    if metrics.verdict.verdict != Verdict::Fail {
        return None;
    }
    let text = match suspect(release, metrics) {
        Some(flag) => format!(
            "✖ metrics say Fail: flag {} is on, changed {} ago: kill switch first ({}), cheaper than abort ({})",
            flag.key,
            age(flag.changed_at, state.now),
            how(KeyCommand::KillSwitch),
            how(KeyCommand::Abort)
        ),
        None => format!(
            "✖ metrics say Fail: abort recommended ({})",
            how(KeyCommand::Abort)
        ),
    };
    Some(piece(text, Tone::Recommendation))
}

/// How many mistakes the config file has, and how to see them: they stay
/// on the line until the file is fixed.
fn config_problems(state: &State) -> Option<Piece> {
    let n = state.config_problems.problems.len();
    let plural = if n == 1 { "" } else { "s" };
    (n > 0).then(|| {
        piece(
            format!("⚠ {n} config problem{plural} (:config)"),
            Tone::Warning,
        )
    })
}

/// The last result, a warning, or the key hints that fit in `room`.
fn message(state: &State, room: usize) -> Vec<Piece> {
    if let Some(result) = &state.last_result {
        let (mark, tone) = if result.ok {
            ("✔", Tone::Ok)
        } else {
            ("✖", Tone::Attention)
        };
        return vec![
            piece(
                format!("{} {mark} ", result.at.format("%H:%M:%S")),
                Tone::Muted,
            ),
            piece(result.text.clone(), tone),
        ];
    }
    if let Some(w) = state.warnings.first() {
        return vec![piece(format!("⚠ {w}"), Tone::Warning)];
    }
    vec![piece(hints(state, room), Tone::Muted)]
}

/// The filter, if any, and the key hints: as many as fit in `room`, whole,
/// and always the first (help).
fn hints(state: &State, room: usize) -> String {
    let k = |c| state.keymap.label(c);
    let mut items = vec![
        format!("{} help", k(KeyCommand::Help)),
        format!("{} filter", k(KeyCommand::Filter)),
        format!("{} command", k(KeyCommand::CommandLine)),
        format!("{} open", k(KeyCommand::Open)),
        format!("{} back", k(KeyCommand::Back)),
        format!("{} quit", k(KeyCommand::Quit)),
    ];
    // A fleet's list and wave view lead to each other.
    if state.is_fleet() && state.view == View::List {
        let what = if state.wave_shown() { "list" } else { "wave" };
        items.insert(1, format!("{} {what}", k(KeyCommand::Wave)));
    }
    let mut text = if state.filter.is_empty() {
        String::new()
    } else {
        format!("filter /{}  ·  ", state.filter)
    };
    for (i, item) in items.iter().enumerate() {
        let gap = if i == 0 { "" } else { "  " };
        if i > 0 && text.chars().count() + gap.len() + item.chars().count() > room {
            break;
        }
        text.push_str(gap);
        text.push_str(item);
    }
    text
}
