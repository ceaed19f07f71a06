//! Keys are data: every binding has a command and a description, the `?`
//! help is generated from them, and the config file can rebind any of them.

use crate::model::Action;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum KeyCommand {
    Open,
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Left,
    Right,
    Wave,
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
    KillSwitch,
    Confirm,
    Cancel,
}

impl KeyCommand {
    pub const ALL: [KeyCommand; 26] = [
        KeyCommand::Open,
        KeyCommand::Back,
        KeyCommand::Up,
        KeyCommand::Down,
        KeyCommand::PageUp,
        KeyCommand::PageDown,
        KeyCommand::Top,
        KeyCommand::Bottom,
        KeyCommand::Left,
        KeyCommand::Right,
        KeyCommand::Wave,
        KeyCommand::Filter,
        KeyCommand::CommandLine,
        KeyCommand::Help,
        KeyCommand::Quit,
        KeyCommand::Sort,
        KeyCommand::PauseResume,
        KeyCommand::Promote,
        KeyCommand::PromoteFull,
        KeyCommand::Abort,
        KeyCommand::Retry,
        KeyCommand::Undo,
        KeyCommand::Restart,
        KeyCommand::KillSwitch,
        KeyCommand::Confirm,
        KeyCommand::Cancel,
    ];

    /// The name used in the config file's `[keys]` table.
    pub fn name(self) -> &'static str {
        match self {
            KeyCommand::Open => "open",
            KeyCommand::Back => "back",
            KeyCommand::Up => "up",
            KeyCommand::Down => "down",
            KeyCommand::PageUp => "page-up",
            KeyCommand::PageDown => "page-down",
            KeyCommand::Top => "top",
            KeyCommand::Bottom => "bottom",
            KeyCommand::Left => "left",
            KeyCommand::Right => "right",
            KeyCommand::Wave => "wave",
            KeyCommand::Filter => "filter",
            KeyCommand::CommandLine => "command",
            KeyCommand::Help => "help",
            KeyCommand::Quit => "quit",
            KeyCommand::Sort => "sort",
            KeyCommand::PauseResume => "pause",
            KeyCommand::Promote => "promote",
            KeyCommand::PromoteFull => "promote-full",
            KeyCommand::Abort => "abort",
            KeyCommand::Retry => "retry",
            KeyCommand::Undo => "undo",
            KeyCommand::Restart => "restart",
            KeyCommand::KillSwitch => "kill-switch",
            KeyCommand::Confirm => "confirm",
            KeyCommand::Cancel => "cancel",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            KeyCommand::Open => "open the selected release",
            KeyCommand::Back => "back to the list, close a dialog, clear the filter",
            KeyCommand::Up => "move up",
            KeyCommand::Down => "move down",
            KeyCommand::PageUp => "page up",
            KeyCommand::PageDown => "page down",
            KeyCommand::Top => "first row",
            KeyCommand::Bottom => "last row",
            KeyCommand::Left => "the cluster to the left (wave)",
            KeyCommand::Right => "the cluster to the right (wave)",
            KeyCommand::Wave => "wave: a release in each cluster",
            KeyCommand::Filter => "filter by name, namespace, kind, phase or image",
            KeyCommand::CommandLine => "command: ns NAME, ns all, ctx NAME, config, quit",
            KeyCommand::Help => "this help",
            KeyCommand::Quit => "quit",
            KeyCommand::Sort => "sort: attention, name, age, phase, kind",
            KeyCommand::PauseResume => "pause or resume (Argo spec.paused, Flagger spec.suspend)",
            KeyCommand::Promote => "promote: end the pause or skip the current step",
            KeyCommand::PromoteFull => "promote-full: skip all remaining steps and analysis",
            KeyCommand::Abort => "abort: traffic back to stable, canary scaled down",
            KeyCommand::Retry => "retry an aborted rollout",
            KeyCommand::Undo => "undo: roll back to an earlier revision's template",
            KeyCommand::Restart => "restart every pod of the release",
            KeyCommand::KillSwitch => {
                "kill switch: turn a linked feature flag off, or serve another variant"
            }
            KeyCommand::Confirm => "confirm a dialog",
            KeyCommand::Cancel => "cancel a dialog",
        }
    }

    pub fn named(name: &str) -> Option<KeyCommand> {
        KeyCommand::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Commands of one mode share keys' meaning: the dialog's (confirm,
    /// cancel) are apart from the others'.
    fn in_dialog(self) -> bool {
        matches!(self, KeyCommand::Confirm | KeyCommand::Cancel)
    }

    /// The cluster action a command asks for, if it is one.
    pub fn action(self) -> Option<Action> {
        Some(match self {
            KeyCommand::PauseResume => Action::Pause,
            KeyCommand::Promote => Action::Promote,
            KeyCommand::PromoteFull => Action::PromoteFull,
            KeyCommand::Abort => Action::Abort,
            KeyCommand::Retry => Action::Retry,
            KeyCommand::Undo => Action::Undo(None),
            KeyCommand::Restart => Action::Restart,
            KeyCommand::KillSwitch => Action::KillSwitch(None),
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
    bindings: BTreeMap<KeyCommand, Vec<Chord>>,
}

impl Default for Keymap {
    fn default() -> Self {
        let c = Chord::plain;
        let k = |code| Chord {
            code,
            ctrl: false,
            alt: false,
        };
        let defaults: Vec<(KeyCommand, Vec<Chord>)> = vec![
            (KeyCommand::Open, vec![k(KeyCode::Enter)]),
            (KeyCommand::Back, vec![k(KeyCode::Esc)]),
            (KeyCommand::Up, vec![c('k'), k(KeyCode::Up)]),
            (KeyCommand::Down, vec![c('j'), k(KeyCode::Down)]),
            (KeyCommand::PageUp, vec![k(KeyCode::PageUp)]),
            (KeyCommand::PageDown, vec![k(KeyCode::PageDown)]),
            (KeyCommand::Top, vec![c('g'), k(KeyCode::Home)]),
            (KeyCommand::Bottom, vec![c('G'), k(KeyCode::End)]),
            (KeyCommand::Left, vec![c('h'), k(KeyCode::Left)]),
            (KeyCommand::Right, vec![c('l'), k(KeyCode::Right)]),
            (KeyCommand::Wave, vec![c('w')]),
            (KeyCommand::Filter, vec![c('/')]),
            (KeyCommand::CommandLine, vec![c(':')]),
            (KeyCommand::Help, vec![c('?')]),
            (KeyCommand::Quit, vec![c('q')]),
            (KeyCommand::Sort, vec![c('s')]),
            (KeyCommand::PauseResume, vec![c('p')]),
            (KeyCommand::Promote, vec![c('P')]),
            (KeyCommand::PromoteFull, vec![c('F')]),
            (KeyCommand::Abort, vec![c('A')]),
            (KeyCommand::Retry, vec![c('R')]),
            (KeyCommand::Undo, vec![c('U')]),
            (
                KeyCommand::Restart,
                vec![Chord {
                    code: KeyCode::Char('r'),
                    ctrl: true,
                    alt: false,
                }],
            ),
            (KeyCommand::KillSwitch, vec![c('K')]),
            (KeyCommand::Confirm, vec![c('y')]),
            (KeyCommand::Cancel, vec![c('n')]),
        ];
        Keymap {
            bindings: defaults.into_iter().collect(),
        }
    }
}

/// What is wrong with one `[keys]` entry of the config file: the command
/// as written, which of its keys (None: the entry as a whole), the problem
/// and what to do about it.
#[derive(Debug, Clone, PartialEq)]
pub struct BindingProblem {
    pub command: String,
    pub key: Option<usize>,
    pub problem: String,
    pub fix: String,
}

/// Why `chord` can never reach `command`, and what to write instead.
fn untypable(chord: Chord, command: KeyCommand) -> Option<(String, String)> {
    let label = chord.label();
    let same_as = |key: &str| {
        Some((
            format!("{label} cannot be told apart from {key}: the terminal sends the same byte"),
            format!(
                "write {:?} if you mean {key}, or choose another key",
                key.to_lowercase()
            ),
        ))
    };
    if chord.ctrl && !chord.alt {
        match chord.code {
            KeyCode::Char('c') if command != KeyCommand::Quit => {
                return Some((
                    "Ctrl-c always quits (in a dialog, cancels)".into(),
                    format!("choose another key for {}", command.name()),
                ));
            }
            KeyCode::Char('z') => {
                return Some((
                    "Ctrl-z always suspends cutover, as in a shell".into(),
                    format!("choose another key for {}", command.name()),
                ));
            }
            KeyCode::Char('m') => return same_as("Enter"),
            KeyCode::Char('i') => return same_as("Tab"),
            KeyCode::Char('[') => return same_as("Esc"),
            KeyCode::Char(c) if !c.is_ascii_lowercase() && c != ' ' => {
                return Some((
                    format!("terminals send no key of their own for {label}"),
                    "with ctrl, use a letter: ctrl-x".into(),
                ));
            }
            _ => {}
        }
    }
    let why = match (command, chord.code) {
        (KeyCommand::Confirm, KeyCode::Esc) if !chord.ctrl && !chord.alt => {
            "Esc always cancels a dialog"
        }
        (KeyCommand::Cancel, KeyCode::Enter) if !chord.ctrl && !chord.alt => {
            "Enter always confirms a dialog"
        }
        _ => return None,
    };
    Some((
        why.to_string(),
        format!("choose another key for {}", command.name()),
    ))
}

/// What to write instead of a key name that does not parse.
fn key_name_fix(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    match lower
        .strip_prefix("shift-")
        .filter(|r| r.chars().count() == 1)
    {
        Some(letter) => format!(
            "write {:?}: Shift is the capital letter",
            letter.to_uppercase()
        ),
        None => "write a character (\"P\"), ctrl-x, alt-x, or one of enter, esc, tab, space, \
                 backspace, up, down, left, right, home, end, pgup, pgdn"
            .into(),
    }
}

impl Keymap {
    /// The defaults with `overrides` (command name → keys) applied, and
    /// what is wrong with them. Nothing wrong is silently accepted: an
    /// unknown command or a key that cannot be typed is left out; a key
    /// given to two commands goes to the one holding it by default (the
    /// built-in binding wins), or, when both were configured, to neither.
    /// A command left without a key keeps its built-in ones, so no key is
    /// ever bound twice and `?` shows exactly the keys that work.
    pub fn with_overrides(
        overrides: &BTreeMap<String, Vec<String>>,
    ) -> (Keymap, Vec<BindingProblem>) {
        let defaults = Keymap::default();
        let mut problems = Vec::new();
        let problem = |command: &str, key, problem, fix| BindingProblem {
            command: command.to_string(),
            key,
            problem,
            fix,
        };
        // Each configured command's usable keys, with where each was written.
        let mut configured: BTreeMap<KeyCommand, Vec<(Chord, usize)>> = BTreeMap::new();
        for (name, keys) in overrides {
            let Some(command) = KeyCommand::named(name) else {
                let names = KeyCommand::ALL.map(KeyCommand::name);
                let fix = match crate::spelling::nearest(name, names) {
                    Some(near) => format!("did you mean {near:?}? This entry is ignored"),
                    None => format!(
                        "the commands are {}; this entry is ignored",
                        names.join(", ")
                    ),
                };
                problems.push(problem(
                    name,
                    None,
                    format!("unknown command {name:?}"),
                    fix,
                ));
                continue;
            };
            if keys.is_empty() {
                problems.push(problem(
                    name,
                    None,
                    format!("no keys for {name}"),
                    format!(
                        "a command cannot be unbound; it keeps its built-in key {}",
                        defaults.label(command)
                    ),
                ));
            }
            let mut usable: Vec<(Chord, usize)> = Vec::new();
            for (i, text) in keys.iter().enumerate() {
                match Chord::parse(text) {
                    Err(_) => problems.push(problem(
                        name,
                        Some(i),
                        format!("unknown key {text:?} for {name}"),
                        key_name_fix(text),
                    )),
                    Ok(chord) => match untypable(chord, command) {
                        Some((why, fix)) => problems.push(problem(name, Some(i), why, fix)),
                        // The same key twice is harmless: kept once.
                        None if usable.iter().any(|(c, _)| *c == chord) => {}
                        None => usable.push((chord, i)),
                    },
                }
            }
            if !usable.is_empty() {
                configured.insert(command, usable);
            }
        }
        loop {
            let keymap = defaults.overlaid(&configured);
            let Some((chord, holders)) = keymap.first_conflict() else {
                return (keymap, problems);
            };
            let by_default: Vec<KeyCommand> = holders
                .iter()
                .copied()
                .filter(|c| !configured.contains_key(c))
                .collect();
            let overriding: Vec<KeyCommand> = holders
                .iter()
                .copied()
                .filter(|c| configured.contains_key(c))
                .collect();
            for command in overriding {
                let Some(list) = configured.get_mut(&command) else {
                    continue;
                };
                let Some(at) = list.iter().position(|(c, _)| *c == chord) else {
                    continue;
                };
                let (_, index) = list.remove(at);
                let name = command.name();
                let label = chord.label();
                let others: Vec<&str> = holders
                    .iter()
                    .filter(|c| **c != command)
                    .map(|c| c.name())
                    .collect();
                let (what, mut fix) = match by_default.first() {
                    Some(owner) => (
                        format!("{label} for {name} is already {}'s key", owner.name()),
                        format!(
                            "{} keeps it (the built-in binding wins); give {name} another key",
                            owner.name()
                        ),
                    ),
                    None => (
                        format!(
                            "{label} is bound to both {name} and {}",
                            others.join(" and ")
                        ),
                        "neither gets it; keep it on one of them".to_string(),
                    ),
                };
                if list.is_empty() {
                    configured.remove(&command);
                    fix.push_str(&format!(
                        " ({name} keeps its built-in key {})",
                        defaults.label(command)
                    ));
                }
                problems.push(problem(name, Some(index), what, fix));
            }
        }
    }

    /// These bindings with each configured command's keys replacing its
    /// built-in ones.
    fn overlaid(&self, configured: &BTreeMap<KeyCommand, Vec<(Chord, usize)>>) -> Keymap {
        let mut bindings = self.bindings.clone();
        for (command, keys) in configured {
            bindings.insert(*command, keys.iter().map(|(c, _)| *c).collect());
        }
        Keymap { bindings }
    }

    /// A key bound to more than one command of the same mode, and those
    /// commands.
    fn first_conflict(&self) -> Option<(Chord, Vec<KeyCommand>)> {
        self.bindings.iter().find_map(|(command, chords)| {
            chords.iter().find_map(|chord| {
                let holders: Vec<KeyCommand> = self
                    .bindings
                    .iter()
                    .filter(|(c, keys)| {
                        c.in_dialog() == command.in_dialog() && keys.contains(chord)
                    })
                    .map(|(c, _)| *c)
                    .collect();
                (holders.len() > 1).then_some((*chord, holders))
            })
        })
    }

    /// The command for a key in the normal (non-dialog) mode. Ctrl-C always
    /// quits, whatever the bindings say.
    pub fn command(&self, chord: &Chord) -> Option<KeyCommand> {
        if chord.ctrl && chord.code == KeyCode::Char('c') {
            return Some(KeyCommand::Quit);
        }
        self.bindings
            .iter()
            .filter(|(c, _)| !matches!(c, KeyCommand::Confirm | KeyCommand::Cancel))
            .find(|(_, chords)| chords.contains(chord))
            .map(|(c, _)| *c)
    }

    pub fn is(&self, chord: &Chord, command: KeyCommand) -> bool {
        self.bindings
            .get(&command)
            .is_some_and(|c| c.contains(chord))
    }

    pub fn keys(&self, command: KeyCommand) -> &[Chord] {
        self.bindings
            .get(&command)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// "P" or "j/↓": every key bound to `command`.
    pub fn label(&self, command: KeyCommand) -> String {
        self.keys(command)
            .iter()
            .map(Chord::label)
            .collect::<Vec<_>>()
            .join("/")
    }
}

#[cfg(test)]
mod tests;
