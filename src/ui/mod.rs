//! Drawing: pure functions of the state. Views never fetch and never
//! mutate; they only write into the frame.

pub mod bars;
pub mod confirm;
pub mod detail;
pub mod help;
pub mod list;
pub mod theme;

use crate::app::State;
use crate::app::state::{Overlay, View};
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use theme::Theme;

pub fn draw(frame: &mut Frame<'_>, state: &State, theme: &Theme) {
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    bars::top(frame, top, state, theme);
    match &state.view {
        View::List => list::draw(frame, body, state, theme),
        View::Detail(key) => detail::draw(frame, body, state, key, theme),
    }
    bars::bottom(frame, bottom, state, theme);
    match &state.overlay {
        Some(Overlay::Help) => help::draw(frame, body, state, theme),
        Some(Overlay::Confirm(c)) => confirm::draw(frame, body, state, c, theme),
        Some(Overlay::Command(_)) | None => {}
    }
}

/// "42s", "5m", "3h", "12d": the age of `t` at `now`.
pub fn age(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(t) = t else { return "-".into() };
    let s = (now - t).num_seconds().max(0);
    match s {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
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
