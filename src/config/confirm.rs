//! `[contexts.NAME] confirm`: how an action on that context's releases is
//! confirmed.

use serde::Deserialize;

/// How an action is confirmed in one context.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum ConfirmStyle {
    /// `y` or Enter (the name typed only for what is hard to undo).
    #[default]
    YesNo,
    /// Every action asks for the context's name, typed: production.
    Typed,
}

const STYLES: [(ConfirmStyle, &str); 2] = [
    (ConfirmStyle::YesNo, "yes-no"),
    (ConfirmStyle::Typed, "typed"),
];

impl TryFrom<String> for ConfirmStyle {
    type Error = String;

    fn try_from(text: String) -> Result<ConfirmStyle, String> {
        crate::words::parse_word(&STYLES, "confirm", &text)
    }
}
