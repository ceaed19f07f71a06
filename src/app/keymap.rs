//! Keys are data: every binding has a command and a description, the `?`
//! help is generated from them, and the config file can rebind any of them.

use crate::model::Action;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Command {
    Open,
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Filter,
    CommandLine,
    Help,
    Quit,
    Sort,
    PauseResume,
    Promote,
    PromoteFull,
    Abort,
    Retry,
    Undo,
    Restart,
    Confirm,
    Cancel,
}

impl Command {
    pub const ALL: [Command; 22] = [
        Command::Open,
        Command::Back,
        Command::Up,
        Command::Down,
        Command::PageUp,
        Command::PageDown,
        Command::Top,
        Command::Bottom,
        Command::Filter,
        Command::CommandLine,
        Command::Help,
        Command::Quit,
        Command::Sort,
        Command::PauseResume,
        Command::Promote,
        Command::PromoteFull,
        Command::Abort,
        Command::Retry,
        Command::Undo,
        Command::Restart,
        Command::Confirm,
        Command::Cancel,
    ];

    /// The name used in the config file's `[keys]` table.
    pub fn name(self) -> &'static str {
        match self {
            Command::Open => "open",
            Command::Back => "back",
            Command::Up => "up",
            Command::Down => "down",
            Command::PageUp => "page-up",
            Command::PageDown => "page-down",
            Command::Top => "top",
            Command::Bottom => "bottom",
            Command::Filter => "filter",
            Command::CommandLine => "command",
            Command::Help => "help",
            Command::Quit => "quit",
            Command::Sort => "sort",
            Command::PauseResume => "pause",
            Command::Promote => "promote",
            Command::PromoteFull => "promote-full",
            Command::Abort => "abort",
            Command::Retry => "retry",
            Command::Undo => "undo",
            Command::Restart => "restart",
            Command::Confirm => "confirm",
            Command::Cancel => "cancel",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Command::Open => "open the selected release",
            Command::Back => "back to the list, close a dialog, clear the filter",
            Command::Up => "move up",
            Command::Down => "move down",
            Command::PageUp => "page up",
            Command::PageDown => "page down",
            Command::Top => "first row",
            Command::Bottom => "last row",
            Command::Filter => "filter by name, namespace, kind, phase or image",
            Command::CommandLine => "command: ns NAME, ns all, ctx NAME, quit",
            Command::Help => "this help",
            Command::Quit => "quit",
            Command::Sort => "sort: attention, name, age, phase, kind",
            Command::PauseResume => "pause or resume (Argo spec.paused, Flagger spec.suspend)",
            Command::Promote => "promote: end the pause or skip the current step",
            Command::PromoteFull => "promote-full: skip all remaining steps and analysis",
            Command::Abort => "abort: traffic back to stable, canary scaled down",
            Command::Retry => "retry an aborted rollout",
            Command::Undo => "undo: roll back to an earlier revision's template",
            Command::Restart => "restart every pod of the release",
            Command::Confirm => "confirm a dialog",
            Command::Cancel => "cancel a dialog",
        }
    }

    /// The cluster action a command asks for, if it is one.
    pub fn action(self) -> Option<Action> {
        Some(match self {
            Command::PauseResume => Action::Pause,
            Command::Promote => Action::Promote,
            Command::PromoteFull => Action::PromoteFull,
            Command::Abort => Action::Abort,
            Command::Retry => Action::Retry,
            Command::Undo => Action::Undo(None),
            Command::Restart => Action::Restart,
            _ => return None,
        })
    }
}

/// A key with its modifiers (Shift folded into the character).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Chord {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Chord {
    pub fn from_event(e: &KeyEvent) -> Chord {
        Chord {
            code: e.code,
            ctrl: e.modifiers.contains(KeyModifiers::CONTROL),
            alt: e.modifiers.contains(KeyModifiers::ALT),
        }
    }

    pub fn plain(c: char) -> Chord {
        Chord {
            code: KeyCode::Char(c),
            ctrl: false,
            alt: false,
        }
    }

    /// `P`, `ctrl-r`, `enter`, `esc`, `up`, `pgdn`, `/`, `space`.
    pub fn parse(text: &str) -> Result<Chord, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower
                .strip_prefix("ctrl-")
                .or_else(|| lower.strip_prefix("c-"))
            {
                ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-") {
                alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "tab" => KeyCode::Tab,
            "backspace" => KeyCode::Backspace,
            "space" => KeyCode::Char(' '),
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
                    _ => return Err(format!("unknown key {text:?}")),
                }
            }
        };
        Ok(Chord { code, ctrl, alt })
    }

    pub fn label(&self) -> String {
        let key = match self.code {
            KeyCode::Enter => "Enter".to_string(),
            KeyCode::Esc => "Esc".to_string(),
            KeyCode::Up => "↑".to_string(),
            KeyCode::Down => "↓".to_string(),
            KeyCode::Left => "←".to_string(),
            KeyCode::Right => "→".to_string(),
            KeyCode::PageUp => "PgUp".to_string(),
            KeyCode::PageDown => "PgDn".to_string(),
            KeyCode::Home => "Home".to_string(),
            KeyCode::End => "End".to_string(),
            KeyCode::Tab => "Tab".to_string(),
            KeyCode::Backspace => "Backspace".to_string(),
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            other => format!("{other:?}"),
        };
        let mut out = String::new();
        if self.ctrl {
            out.push_str("Ctrl-");
        }
        if self.alt {
            out.push_str("Alt-");
        }
        out + &key
    }
}

#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: BTreeMap<Command, Vec<Chord>>,
}

impl Default for Keymap {
    fn default() -> Self {
        let c = Chord::plain;
        let k = |code| Chord {
            code,
            ctrl: false,
            alt: false,
        };
        let defaults: Vec<(Command, Vec<Chord>)> = vec![
            (Command::Open, vec![k(KeyCode::Enter)]),
            (Command::Back, vec![k(KeyCode::Esc)]),
            (Command::Up, vec![c('k'), k(KeyCode::Up)]),
            (Command::Down, vec![c('j'), k(KeyCode::Down)]),
            (Command::PageUp, vec![k(KeyCode::PageUp)]),
            (Command::PageDown, vec![k(KeyCode::PageDown)]),
            (Command::Top, vec![c('g'), k(KeyCode::Home)]),
            (Command::Bottom, vec![c('G'), k(KeyCode::End)]),
            (Command::Filter, vec![c('/')]),
            (Command::CommandLine, vec![c(':')]),
            (Command::Help, vec![c('?')]),
            (Command::Quit, vec![c('q')]),
            (Command::Sort, vec![c('s')]),
            (Command::PauseResume, vec![c('p')]),
            (Command::Promote, vec![c('P')]),
            (Command::PromoteFull, vec![c('F')]),
            (Command::Abort, vec![c('A')]),
            (Command::Retry, vec![c('R')]),
            (Command::Undo, vec![c('U')]),
            (
                Command::Restart,
                vec![Chord {
                    code: KeyCode::Char('r'),
                    ctrl: true,
                    alt: false,
                }],
            ),
            (Command::Confirm, vec![c('y')]),
            (Command::Cancel, vec![c('n')]),
        ];
        Keymap {
            bindings: defaults.into_iter().collect(),
        }
    }
}

impl Keymap {
    /// The defaults with `overrides` (command name → keys) applied; unknown
    /// commands or keys are reported, not fatal.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> (Keymap, Vec<String>) {
        let mut keymap = Keymap::default();
        let mut problems = Vec::new();
        for (name, keys) in overrides {
            let Some(command) = Command::ALL.into_iter().find(|c| c.name() == name) else {
                problems.push(format!("config: unknown command {name:?} in [keys]"));
                continue;
            };
            let mut chords = Vec::new();
            for key in keys {
                match Chord::parse(key) {
                    Ok(chord) => chords.push(chord),
                    Err(e) => problems.push(format!("config: {name}: {e}")),
                }
            }
            if !chords.is_empty() {
                keymap.bindings.insert(command, chords);
            }
        }
        (keymap, problems)
    }

    /// The command for a key in the normal (non-dialog) mode. Ctrl-C always
    /// quits, whatever the bindings say.
    pub fn command(&self, chord: &Chord) -> Option<Command> {
        if chord.ctrl && chord.code == KeyCode::Char('c') {
            return Some(Command::Quit);
        }
        self.bindings
            .iter()
            .filter(|(c, _)| !matches!(c, Command::Confirm | Command::Cancel))
            .find(|(_, chords)| chords.contains(chord))
            .map(|(c, _)| *c)
    }

    pub fn is(&self, chord: &Chord, command: Command) -> bool {
        self.bindings
            .get(&command)
            .is_some_and(|c| c.contains(chord))
    }

    pub fn keys(&self, command: Command) -> &[Chord] {
        self.bindings
            .get(&command)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// "P" or "j/↓": every key bound to `command`.
    pub fn label(&self, command: Command) -> String {
        self.keys(command)
            .iter()
            .map(Chord::label)
            .collect::<Vec<_>>()
            .join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys() {
        assert_eq!(Chord::parse("P").unwrap(), Chord::plain('P'));
        assert_eq!(
            Chord::parse("ctrl-r").unwrap(),
            Chord {
                code: KeyCode::Char('r'),
                ctrl: true,
                alt: false
            }
        );
        assert_eq!(Chord::parse("Enter").unwrap().code, KeyCode::Enter);
        assert!(Chord::parse("hyper-x").is_err());
        assert_eq!(Chord::parse("ctrl-r").unwrap().label(), "Ctrl-r");
    }

    #[test]
    fn defaults_and_overrides() {
        let km = Keymap::default();
        assert_eq!(km.command(&Chord::plain('P')), Some(Command::Promote));
        assert_eq!(
            km.command(&Chord::plain('y')),
            None,
            "confirm is only for dialogs"
        );
        let overrides = BTreeMap::from([
            ("promote".to_string(), vec!["ctrl-p".to_string()]),
            ("launch".to_string(), vec!["x".to_string()]),
            ("abort".to_string(), vec!["nonsense-key".to_string()]),
        ]);
        let (km, problems) = Keymap::with_overrides(&overrides);
        assert_eq!(
            km.command(&Chord::parse("ctrl-p").unwrap()),
            Some(Command::Promote)
        );
        assert_eq!(km.command(&Chord::plain('P')), None);
        assert_eq!(
            km.command(&Chord::plain('A')),
            Some(Command::Abort),
            "bad key keeps default"
        );
        assert_eq!(problems.len(), 2);
    }
}
