//! Semantic colours: views ask for "bad" or "canary", never for red. The
//! themes live in `themes/*.toml`, embedded at build time.

mod file;
mod library;

pub use file::COLOUR_SLOTS;
pub use library::{ThemeError, ThemeLibrary, ThemeSettings, Themes};

use super::glyphs::Glyphs;
use crate::model::metrics::{GateOutcome, MetricClass, Verdict};
use crate::model::migration::{PhaseState, RollbackSafety};
use crate::model::{Health, Role};
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// The background a theme is made for; where it keeps the terminal's own
/// (`reset`), the terminal's is assumed to be of this kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackgroundKind {
    Dark,
    Light,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub kind: BackgroundKind,
    /// Ordinary text and the screen's background; `reset` keeps the
    /// terminal's own.
    pub text: Color,
    pub background: Color,
    pub ok: Color,
    pub warn: Color,
    pub bad: Color,
    pub info: Color,
    pub muted: Color,
    pub accent: Color,
    pub canary: Color,
    pub stable: Color,
    pub preview: Color,
    pub title: Color,
    pub badge: Color,
    /// The list's cursor row.
    pub selection: Style,
    /// Over data older than its threshold: loud, seen from across a room.
    pub stale_banner: Style,
    /// Unicode or ASCII: chosen for the terminal, not by the theme file.
    pub glyphs: Glyphs,
}

impl Theme {
    /// The built-in themes' names.
    pub fn names() -> Vec<&'static str> {
        library::BUILT_IN.iter().map(|(n, _)| *n).collect()
    }

    /// The built-in theme `name`.
    pub fn built_in(name: &str) -> Option<Theme> {
        let (_, text) = library::BUILT_IN.iter().find(|(n, _)| *n == name)?;
        let theme = Theme::parse(text);
        Some(theme.unwrap_or_else(|e| panic!("built-in theme {name} is broken: {e}")))
    }

    /// A built-in theme, one of the user's by name, or a theme file.
    pub fn load(setting: &str) -> Result<Theme, String> {
        ThemeLibrary::installed()
            .load(setting)
            .map_err(|e| e.to_string())
    }

    /// The theme in a theme file's text, or what is wrong with it.
    pub fn parse(text: &str) -> Result<Theme, String> {
        file::parse(text)
    }

    /// The built-in theme, or `mono` when `NO_COLOR` is set.
    pub fn for_environment(no_color: bool) -> Theme {
        let name = if no_color { "mono" } else { "default" };
        Theme::built_in(name).expect("a built-in theme")
    }

    /// Gives every cell left in the terminal's colours the theme's text and
    /// background: the last step of drawing, so that no widget, overlay or
    /// cleared area shows the terminal's own colours under a theme that
    /// paints its own.
    pub fn paint_ground(&self, buffer: &mut Buffer) {
        if self.text == Color::Reset && self.background == Color::Reset {
            return;
        }
        for cell in &mut buffer.content {
            if cell.fg == Color::Reset {
                cell.fg = self.text;
            }
            if cell.bg == Color::Reset {
                cell.bg = self.background;
            }
        }
    }

    pub fn fg(&self, color: Color) -> Style {
        Style::default().fg(color)
    }

    pub fn health(&self, h: Health) -> Style {
        let c = match h {
            Health::Healthy => self.ok,
            Health::Progressing => self.info,
            Health::Paused => self.warn,
            Health::Degraded => self.bad,
            Health::Unknown => self.muted,
        };
        let style = self.fg(c);
        if h == Health::Degraded {
            style.add_modifier(Modifier::BOLD)
        } else {
            style
        }
    }

    pub fn role(&self, r: Role) -> Style {
        self.fg(match r {
            Role::Stable | Role::Active => self.stable,
            Role::Canary => self.canary,
            Role::Preview => self.preview,
            Role::Old => self.muted,
        })
    }

    /// cutover's verdict on a release: a Fail as loud as a degraded release.
    pub fn verdict(&self, v: Verdict) -> Style {
        match v {
            Verdict::Pass => self.fg(self.ok),
            Verdict::Marginal => self.fg(self.warn),
            Verdict::Fail => self.attention(),
            Verdict::NoData => self.muted(),
        }
    }

    /// One metric's class: a significant shift is bad, no data is quiet.
    pub fn metric_class(&self, c: MetricClass) -> Style {
        match c {
            MetricClass::Pass => self.fg(self.ok),
            MetricClass::High | MetricClass::Low => self.attention(),
            MetricClass::NoData | MetricClass::Error => self.muted(),
        }
    }

    pub fn gate(&self, o: GateOutcome) -> Style {
        match o {
            GateOutcome::Pass => self.fg(self.ok),
            GateOutcome::Fail => self.attention(),
            GateOutcome::NoData => self.muted(),
        }
    }

    /// A migration phase: done is good, running is progress, failed is an
    /// error, pending is quiet.
    pub fn phase(&self, s: PhaseState) -> Style {
        match s {
            PhaseState::Done => self.fg(self.ok),
            PhaseState::Running => self.fg(self.info),
            PhaseState::Failed => self.attention(),
            PhaseState::Pending => self.muted(),
        }
    }

    /// Whether a rollback is safe for the schema: unsafe is as loud as an
    /// error, unknown a warning, never as calm as safe.
    pub fn rollback(&self, s: &RollbackSafety) -> Style {
        match s {
            RollbackSafety::Safe => self.fg(self.ok),
            RollbackSafety::Unsafe(_) => self.attention(),
            RollbackSafety::Unknown(_) => self.fg(self.warn),
        }
    }

    /// A recommendation next to the key hints: reverse video, so that it
    /// stands out without colour too.
    pub fn recommendation(&self) -> Style {
        self.attention().add_modifier(Modifier::REVERSED)
    }

    /// The list's cursor row.
    pub fn selected(&self) -> Style {
        self.selection
    }

    /// The banner over data older than its threshold.
    pub fn stale_banner(&self) -> Style {
        self.stale_banner
    }

    pub fn attention(&self) -> Style {
        self.fg(self.bad).add_modifier(Modifier::BOLD)
    }

    /// A warning that must be read: the warn colour, bold.
    pub fn warning(&self) -> Style {
        self.fg(self.warn).add_modifier(Modifier::BOLD)
    }

    /// A mark that points at something: the current step, an action taken
    /// from here.
    pub fn marker(&self) -> Style {
        self.fg(self.accent).add_modifier(Modifier::BOLD)
    }

    pub fn heading(&self) -> Style {
        self.fg(self.title).add_modifier(Modifier::BOLD)
    }

    pub fn muted(&self) -> Style {
        self.fg(self.muted)
    }

    pub fn badge(&self) -> Style {
        self.fg(self.badge)
            .add_modifier(Modifier::BOLD | Modifier::REVERSED)
    }
}

#[cfg(test)]
mod tests;
