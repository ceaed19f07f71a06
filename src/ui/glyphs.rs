//! The characters the screen is drawn with: Unicode, or plain ASCII for
//! terminals that would show Unicode as garbage (a C locale, as on many
//! jump hosts, or `TERM=dumb`).
//!
//! The views write Unicode; in ASCII mode the layout-bound pieces (borders,
//! the ellipsis of a cut value) are chosen here, and whatever Unicode is
//! left in the finished frame, the views' symbols and the cluster's own
//! text alike, is replaced cell by cell with the ASCII of [`ascii_of`], so
//! no layout moves and nothing non-ASCII reaches the terminal.

use ratatui::buffer::Buffer;
use ratatui::symbols::border;
use ratatui::widgets::Block;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Glyphs {
    #[default]
    Unicode,
    Ascii,
}

/// Borders of `+`, `-` and `|`.
const ASCII_BORDER: border::Set<'static> = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

impl Glyphs {
    /// What the terminal can show, as libc would read the locale: the
    /// first of `LC_ALL`, `LC_CTYPE` and `LANG` that is set and not empty
    /// (none: the C locale) names UTF-8, and `TERM` is not `dumb`.
    pub fn for_environment(var: impl Fn(&str) -> Option<String>) -> Glyphs {
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
            .into_iter()
            .find_map(|name| var(name).filter(|v| !v.is_empty()))
            .unwrap_or_default()
            .to_ascii_lowercase();
        let utf8 = locale.contains("utf-8") || locale.contains("utf8");
        let dumb = var("TERM").is_some_and(|t| t == "dumb");
        if utf8 && !dumb {
            Glyphs::Unicode
        } else {
            Glyphs::Ascii
        }
    }

    /// What marks a cut value.
    pub fn ellipsis(self) -> &'static str {
        match self {
            Glyphs::Unicode => "…",
            Glyphs::Ascii => "...",
        }
    }

    pub fn border(self) -> border::Set<'static> {
        match self {
            Glyphs::Unicode => border::PLAIN,
            Glyphs::Ascii => ASCII_BORDER,
        }
    }

    /// `text` as these glyphs write it: in ASCII, each other character as
    /// [`ascii_of`] spells it (for lines printed rather than drawn).
    pub fn text(self, text: &str) -> String {
        match self {
            Glyphs::Unicode => text.to_string(),
            Glyphs::Ascii => text.chars().map(ascii_of).collect(),
        }
    }

    /// A bordered block drawn with these glyphs.
    pub fn block(self) -> Block<'static> {
        Block::bordered().border_set(self.border())
    }

    /// In ASCII mode, every cell of the finished frame made ASCII.
    pub fn finish(self, buffer: &mut Buffer) {
        if self == Glyphs::Unicode {
            return;
        }
        for cell in &mut buffer.content {
            let symbol = cell.symbol();
            if !symbol.is_ascii() {
                let ascii = symbol.chars().next().map_or('?', ascii_of);
                cell.set_char(ascii);
            }
        }
    }
}

/// The ASCII that stands for a character the views or the cluster write:
/// health and verdict marks as `kubectl argo rollouts` spells them in
/// ASCII ([`crate::model::Health::ascii_symbol`]), lines and corners,
/// sparkline levels as `.`, `-`, `=` and `#`, arrows, bullets; `?` for
/// anything else.
pub fn ascii_of(c: char) -> char {
    match c {
        c if c.is_ascii() => c,
        '✔' | '✓' => '+',
        '✖' | '✗' | '×' => 'x',
        '◌' | '◐' => '~',
        '॥' => '=',
        '○' => 'o',
        '●' | '•' => '*',
        '⚠' => '!',
        '≠' => '!',
        '─' | '━' | '═' | '—' | '–' | '−' | '·' => '-',
        '│' | '┃' | '║' | '▏' => '|',
        '┌' | '┐' | '└' | '┘' | '├' | '┤' | '┬' | '┴' | '┼' | '╭' | '╮' | '╰' | '╯' => {
            '+'
        }
        '▁' | '▂' => '.',
        '▃' | '▄' => '-',
        '▅' | '▆' => '=',
        '▇' | '█' => '#',
        '▶' | '→' | '»' => '>',
        '←' => '<',
        '↑' => '^',
        '↓' => 'v',
        '…' => '.',
        '≤' => '<',
        '≥' => '>',
        'Δ' => 'd',
        'α' => 'a',
        '⧉' | '□' => '#',
        '⏱' | '◷' => '@',
        _ => '?',
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Health;
    use std::collections::HashMap;

    fn glyphs_for(vars: &[(&str, &str)]) -> Glyphs {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        Glyphs::for_environment(|name| vars.get(name).map(|v| v.to_string()))
    }

    #[test]
    fn the_locale_is_read_as_libc_reads_it() {
        assert_eq!(glyphs_for(&[("LANG", "en_US.UTF-8")]), Glyphs::Unicode);
        assert_eq!(glyphs_for(&[("LANG", "C.utf8")]), Glyphs::Unicode);
        assert_eq!(glyphs_for(&[]), Glyphs::Ascii, "no locale: C");
        assert_eq!(glyphs_for(&[("LANG", "C")]), Glyphs::Ascii);
        assert_eq!(
            glyphs_for(&[("LC_ALL", "C"), ("LANG", "en_US.UTF-8")]),
            Glyphs::Ascii,
            "LC_ALL wins"
        );
        assert_eq!(
            glyphs_for(&[("LC_CTYPE", "POSIX"), ("LANG", "en_US.UTF-8")]),
            Glyphs::Ascii,
            "then LC_CTYPE"
        );
        assert_eq!(
            glyphs_for(&[("LC_ALL", ""), ("LC_CTYPE", "de_DE.UTF-8"), ("LANG", "C")]),
            Glyphs::Unicode,
            "an empty one does not count"
        );
        assert_eq!(
            glyphs_for(&[("LANG", "en_US.UTF-8"), ("TERM", "dumb")]),
            Glyphs::Ascii
        );
    }

    #[test]
    fn health_marks_read_as_the_model_spells_them_in_ascii() {
        for h in Health::ALL {
            let unicode = h.symbol().chars().next().unwrap();
            assert_eq!(ascii_of(unicode).to_string(), h.ascii_symbol(), "{h:?}");
        }
    }

    #[test]
    fn a_finished_frame_is_ascii() {
        let mut buffer = Buffer::with_lines(["┌─ ✔ a…b ─┐", "│ 日本 ▂█ │"]);
        Glyphs::Ascii.finish(&mut buffer);
        let text: Vec<String> = (0..2)
            .map(|y| {
                (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol().to_string())
                    .collect()
            })
            .collect();
        assert_eq!(text, ["+- + a.b -+", "| ? ?  .# |"]);
    }
}
