//! Drawing: pure functions of the state. Views never fetch and never
//! mutate; they only write into the frame.

pub(crate) mod bars;
pub(crate) mod board;
pub(crate) mod clock;
pub(crate) mod columns;
pub(crate) mod config_problems;
pub(crate) mod confirm;
pub(crate) mod detail;
mod feeds;
pub mod glyphs;
pub(crate) mod help;
pub(crate) mod list;
pub mod theme;
pub(crate) mod wave;

use crate::app::State;
use crate::app::state::{Overlay, View};
use crate::model::metrics::{GateOutcome, Verdict};
use crate::model::migration::{PhaseState, RollbackSafety, rollback_check};
use crate::model::{Action, Release};
use crate::time::seconds_since;
use chrono::{DateTime, Utc};
use glyphs::Glyphs;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use theme::Theme;

pub fn draw(frame: &mut Frame<'_>, state: &State, theme: &Theme) {
    if let Some(board) = &state.board {
        return board::draw(frame, state, board, theme);
    }
    let [top, body, bottom] = regions(state, frame.area());
    bars::top(frame, top, state, theme);
    match &state.view {
        View::List if state.wave_shown() => wave::draw(frame, body, state, theme),
        View::List => list::draw(frame, body, state, theme),
        View::Detail(key) => detail::draw(frame, body, state, key, theme),
    }
    bars::bottom(frame, bottom, state, theme);
    match &state.overlay {
        Some(Overlay::Help) => help::draw(frame, body, state, theme),
        Some(Overlay::ConfigProblems) => config_problems::draw(frame, body, state, theme),
        Some(Overlay::Confirm(c)) => confirm::draw(frame, body, state, c, theme),
        Some(Overlay::Command(_)) | None => {}
    }
    theme.glyphs.finish(frame.buffer_mut());
    theme.paint_ground(frame.buffer_mut());
}

/// The screen's rows: the top bar, the view, the bottom line (more than
/// one row when its text needs them).
pub fn regions(state: &State, area: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(bars::bottom_rows(state, area)),
    ])
    .areas(area)
}

/// "42s", "5m", "3h", "12d": the age of `t` at `now`.
pub fn age(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    t.map_or("-".into(), |t| age_text(seconds_since(t, now)))
}

/// An age of whole seconds as [`age`] writes it.
pub fn age_text(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// `48,000`: a count with its thousands set apart.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

/// The symbol that goes with a verdict's word.
pub fn verdict_mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "✔",
        Verdict::Marginal => "◐",
        Verdict::Fail => "✖",
        Verdict::NoData => "?",
    }
}

/// The symbol that goes with a gate's outcome.
pub fn gate_mark(o: GateOutcome) -> &'static str {
    match o {
        GateOutcome::Pass => "✔",
        GateOutcome::Fail => "✖",
        GateOutcome::NoData => "?",
    }
}

/// The symbol that goes with a migration phase's state.
pub fn phase_mark(s: PhaseState) -> &'static str {
    match s {
        PhaseState::Done => "✔",
        PhaseState::Running => "◌",
        PhaseState::Failed => "✖",
        PhaseState::Pending => "○",
    }
}

/// Whether rolling `r` back is safe for its schema: an abort's return to
/// the stable revision, else an undo to the previous one. None without a
/// migration or without a revision to go back to.
pub fn schema_rollback(r: &Release) -> Option<RollbackSafety> {
    rollback_check(r, Action::Abort).or_else(|| rollback_check(r, Action::Undo(None)))
}

/// A gate's outcome as a word.
pub fn gate_word(o: GateOutcome) -> &'static str {
    match o {
        GateOutcome::Pass => "Pass",
        GateOutcome::Fail => "Fail",
        GateOutcome::NoData => "NoData",
    }
}

/// `text` broken at spaces into lines of at most `width` characters, the
/// first led by `first`, the others by `indent`. A word longer than a line
/// stays whole (the paragraph wraps it).
pub fn hanging(text: &str, width: usize, first: &str, indent: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split(' ') {
        let needed = line.chars().count() + usize::from(!empty) + word.chars().count();
        if !empty && needed > width {
            lines.push(std::mem::replace(&mut line, indent.to_string()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    lines.push(line);
    lines
}

/// An image without its registry: `shop/checkout:1.5.0` → `checkout:1.5.0`.
pub fn short_image(image: &str) -> &str {
    image.rsplit('/').next().unwrap_or(image)
}

/// A centred rectangle of at most `width`×`height` inside `area`.
pub fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// At most `max` characters, the cut marked with an ellipsis at the end.
pub(crate) fn cut(text: &str, max: usize, glyphs: Glyphs) -> String {
    let ellipsis = glyphs.ellipsis();
    let marker = ellipsis.chars().count();
    if text.chars().count() <= max {
        return text.to_string();
    }
    if max <= marker {
        return text.chars().take(max).collect();
    }
    let kept: String = text.chars().take(max - marker).collect();
    format!("{kept}{ellipsis}")
}

/// At most `max` characters, the cut in the middle, where names tend to
/// differ least (`arn:aws:eks:…:cluster/prod-eu-1`).
pub(crate) fn cut_middle(text: &str, max: usize, glyphs: Glyphs) -> String {
    let ellipsis = glyphs.ellipsis();
    let marker = ellipsis.chars().count();
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    if max <= marker {
        return text.chars().take(max).collect();
    }
    let kept = max - marker;
    let tail = kept / 2;
    let head: String = text.chars().take(kept - tail).collect();
    let end: String = text.chars().skip(count - tail).collect();
    format!("{head}{ellipsis}{end}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hanging_lines_break_at_spaces() {
        assert_eq!(
            hanging("a bb ccc dddd", 8, "  ", "    "),
            ["  a bb", "    ccc", "    dddd"]
        );
        assert_eq!(hanging("word", 2, "", "  "), ["word"], "too long: whole");
        assert_eq!(hanging("", 10, "- ", "  "), ["- "]);
    }

    #[test]
    fn thousands_are_set_apart() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(48_000), "48,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn cuts_are_marked_with_the_glyphs_ellipsis() {
        assert_eq!(cut("abcdef", 4, Glyphs::Unicode), "abc…");
        assert_eq!(cut("abcdefgh", 6, Glyphs::Ascii), "abc...");
        assert_eq!(cut("abcdef", 6, Glyphs::Ascii), "abcdef");
        assert_eq!(cut("abcdef", 2, Glyphs::Ascii), "ab");
        assert_eq!(cut_middle("abcdefghij", 5, Glyphs::Unicode), "ab…ij");
        assert_eq!(cut_middle("abcdefghij", 8, Glyphs::Ascii), "abc...ij");
        assert_eq!(cut_middle("abc", 3, Glyphs::Ascii), "abc");
    }
}
