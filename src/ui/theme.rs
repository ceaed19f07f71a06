//! Semantic colours: views ask for "bad" or "canary", never for red. The
//! themes live in `themes/*.toml`, embedded at build time.

use super::glyphs::Glyphs;
use crate::model::metrics::{GateOutcome, MetricClass, Verdict};
use crate::model::migration::{PhaseState, RollbackSafety};
use crate::model::{Health, Role};
use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::str::FromStr;

const BUILT_IN: [(&str, &str); 2] = [
    ("default", include_str!("../../themes/default.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
];

#[derive(Debug, Deserialize)]
struct ThemeFile {
    name: String,
    colors: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
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
    /// Unicode or ASCII: chosen for the terminal, not by the theme file.
    pub glyphs: Glyphs,
}

impl Theme {
    pub fn names() -> Vec<&'static str> {
        BUILT_IN.iter().map(|(n, _)| *n).collect()
    }

    /// A built-in theme by name, or a theme file.
    pub fn load(name_or_path: &str) -> Result<Theme, String> {
        let text = match BUILT_IN.iter().find(|(n, _)| *n == name_or_path) {
            Some((_, text)) => (*text).to_string(),
            None => std::fs::read_to_string(name_or_path).map_err(|e| {
                format!(
                    "theme {name_or_path:?}: not built in ({}) and not a readable file: {e}",
                    Theme::names().join(", ")
                )
            })?,
        };
        Theme::parse(&text).map_err(|e| format!("theme {name_or_path:?}: {e}"))
    }

    pub fn parse(text: &str) -> Result<Theme, String> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let color = |slot: &str| -> Result<Color, String> {
            let value = file
                .colors
                .get(slot)
                .ok_or(format!("missing colour {slot:?}"))?;
            Color::from_str(value).map_err(|_| format!("{slot}: unknown colour {value:?}"))
        };
        Ok(Theme {
            name: file.name.clone(),
            ok: color("ok")?,
            warn: color("warn")?,
            bad: color("bad")?,
            info: color("info")?,
            muted: color("muted")?,
            accent: color("accent")?,
            canary: color("canary")?,
            stable: color("stable")?,
            preview: color("preview")?,
            title: color("title")?,
            badge: color("badge")?,
            glyphs: Glyphs::default(),
        })
    }

    /// The built-in theme, or `mono` when `NO_COLOR` is set.
    pub fn for_environment(no_color: bool) -> Theme {
        let name = if no_color { "mono" } else { "default" };
        Theme::load(name).unwrap_or_else(|e| panic!("built-in theme {name} is broken: {e}"))
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

    /// The board's banner when its data is stale: to be seen from across
    /// the room, with or without colour.
    pub fn stale_banner(&self) -> Style {
        self.fg(self.bad)
            .add_modifier(Modifier::BOLD | Modifier::REVERSED)
    }

    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    pub fn attention(&self) -> Style {
        self.fg(self.bad).add_modifier(Modifier::BOLD)
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
mod tests {
    use super::*;

    #[test]
    fn built_in_themes_load() {
        for name in Theme::names() {
            Theme::load(name).unwrap();
        }
        assert_eq!(Theme::for_environment(true).name, "mono");
    }

    #[test]
    fn bad_theme_says_why() {
        let err = Theme::parse("name = \"x\"\n[colors]\nok = \"chartreuse-ish\"").unwrap_err();
        assert!(err.contains("ok: unknown colour"), "{err}");
        assert!(
            Theme::load("/nonexistent/theme.toml")
                .unwrap_err()
                .contains("not built in")
        );
    }
}
