//! A theme file: `[colors]` with every colour slot, the `[selection]` and
//! `[stale_banner]` styles, and the kind of background it is made for.

use super::{BackgroundKind, Theme};
use crate::ui::glyphs::Glyphs;
use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::str::FromStr;

/// The colour slots of `[colors]`, each required.
pub const COLOUR_SLOTS: [&str; 13] = [
    "text",
    "background",
    "ok",
    "warn",
    "bad",
    "info",
    "muted",
    "accent",
    "canary",
    "stable",
    "preview",
    "title",
    "badge",
];

/// The modifiers a style may name.
const MODIFIERS: [(&str, Modifier); 5] = [
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underlined", Modifier::UNDERLINED),
    ("reversed", Modifier::REVERSED),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    kind: BackgroundKind,
    colors: BTreeMap<String, String>,
    selection: StyleEntry,
    stale_banner: StyleEntry,
}

/// A style slot: colours (the theme's text and background when left out)
/// and modifiers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleEntry {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    modifiers: Vec<String>,
}

/// The theme in `text`, or what is wrong with it, naming the slot.
pub(super) fn parse(text: &str) -> Result<Theme, String> {
    let file: ThemeFile = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
    if let Some(unknown) = file
        .colors
        .keys()
        .find(|k| !COLOUR_SLOTS.contains(&k.as_str()))
    {
        let hint = match crate::spelling::nearest(unknown, COLOUR_SLOTS) {
            Some(near) => format!("did you mean {near:?}?"),
            None => format!("the slots are {}", COLOUR_SLOTS.join(", ")),
        };
        return Err(format!(
            "unknown colour slot {unknown:?} in [colors]: {hint}"
        ));
    }
    let slot = |name: &str| -> Result<Color, String> {
        let value = file
            .colors
            .get(name)
            .ok_or(format!("missing colour {name:?} in [colors]"))?;
        colour(name, value)
    };
    Ok(Theme {
        name: file.name.clone(),
        kind: file.kind,
        text: slot("text")?,
        background: slot("background")?,
        ok: slot("ok")?,
        warn: slot("warn")?,
        bad: slot("bad")?,
        info: slot("info")?,
        muted: slot("muted")?,
        accent: slot("accent")?,
        canary: slot("canary")?,
        stable: slot("stable")?,
        preview: slot("preview")?,
        title: slot("title")?,
        badge: slot("badge")?,
        selection: style("selection", &file.selection)?,
        stale_banner: style("stale_banner", &file.stale_banner)?,
        glyphs: Glyphs::default(),
    })
}

/// TOML's complaint on one line, with its place: a warning on the status
/// line has no room for the quoted source.
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim();
    match e.span() {
        Some(span) => {
            let (line, column) = crate::config::position(text, span.start);
            format!("line {line}, column {column}: {message}")
        }
        None => message.to_string(),
    }
}

fn colour(slot: &str, value: &str) -> Result<Color, String> {
    Color::from_str(value).map_err(|_| {
        format!(
            "{slot}: unknown colour {value:?} (a name such as red or lightblue, \
             an index 0-255, \"#rrggbb\" or \"reset\")"
        )
    })
}

fn style(slot: &str, entry: &StyleEntry) -> Result<Style, String> {
    let mut style = Style::default();
    if let Some(fg) = &entry.fg {
        style = style.fg(colour(&format!("{slot}.fg"), fg)?);
    }
    if let Some(bg) = &entry.bg {
        style = style.bg(colour(&format!("{slot}.bg"), bg)?);
    }
    for name in &entry.modifiers {
        let (_, modifier) = MODIFIERS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                let known: Vec<&str> = MODIFIERS.iter().map(|(n, _)| *n).collect();
                format!(
                    "{slot}.modifiers: unknown modifier {name:?} (one of {})",
                    known.join(", ")
                )
            })?;
        style = style.add_modifier(*modifier);
    }
    Ok(style)
}
