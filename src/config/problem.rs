//! One mistake in the config file, told like a compiler diagnostic:
//! `FILE:LINE:COL: problem: fix`.

use std::fmt;
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Line and column (in characters), both from 1, when the mistake has
    /// a place in the file.
    pub at: Option<(usize, usize)>,
    /// What is wrong.
    pub problem: String,
    /// What to do about it, and what cutover does meanwhile.
    pub fix: String,
}

impl Problem {
    /// `FILE:LINE:COL: problem: fix`, or `FILE: problem: fix` without a
    /// place.
    pub fn render(&self, file: &Path) -> String {
        let separator = if self.at.is_some() { ":" } else { ": " };
        format!("{}{separator}{self}", file.display())
    }
}

/// `LINE:COL: problem: fix`, or `problem: fix` without a place.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((line, column)) = self.at {
            write!(f, "{line}:{column}: ")?;
        }
        write!(f, "{}: {}", self.problem, self.fix)
    }
}

/// The line and column (in characters), both from 1, of byte `offset`.
pub(crate) fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// "did you mean "x"?" when one of `known` is a slip away from `word`,
/// else the list of what is known; None when nothing is.
pub(super) fn suggestion<'a>(
    word: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let known: Vec<&str> = known.into_iter().collect();
    match crate::spelling::nearest(word, known.iter().copied()) {
        Some(near) => Some(format!("did you mean {near:?}?")),
        None if known.is_empty() => None,
        None => Some(format!("expected one of {}", known.join(", "))),
    }
}

/// A fix: what to do, if anything is known, then what cutover does
/// meanwhile.
pub(super) fn fix(hint: Option<&str>, consequence: &str) -> String {
    match hint {
        None => consequence.to_string(),
        Some(hint) if hint.ends_with('?') => {
            let mut chars = consequence.chars();
            let first = chars.next().map(|c| c.to_uppercase().to_string());
            format!("{hint} {}{}", first.unwrap_or_default(), chars.as_str())
        }
        Some(hint) => format!("{hint}; {consequence}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters_from_one() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(position(text, 0), (1, 1));
        assert_eq!(position(text, 6), (2, 1));
        assert_eq!(position(text, text.find('=').unwrap()), (1, 3));
        assert_eq!(position(text, text.rfind('=').unwrap()), (2, 4));
    }

    #[test]
    fn renders_like_a_compiler() {
        let p = Problem {
            at: Some((3, 10)),
            problem: "unknown theme \"dracula\"".into(),
            fix: "the default theme is used".into(),
        };
        assert_eq!(
            p.render(Path::new("c.toml")),
            "c.toml:3:10: unknown theme \"dracula\": the default theme is used"
        );
        let nowhere = Problem { at: None, ..p };
        assert_eq!(
            nowhere.render(Path::new("c.toml")),
            "c.toml: unknown theme \"dracula\": the default theme is used"
        );
        let hint = suggestion("error_rato", ["error_ratio", "p95_latency"]);
        assert_eq!(
            fix(hint.as_deref(), "this gate is ignored"),
            "did you mean \"error_ratio\"? This gate is ignored"
        );
        let hint = suggestion("zz", ["a", "b"]);
        assert_eq!(
            fix(hint.as_deref(), "it is ignored"),
            "expected one of a, b; it is ignored"
        );
        assert_eq!(suggestion("zz", []), None);
    }
}
