//! The file as toml's spanned tree. It is deserialized part by part: a
//! part that does not fit is left out and told about with its place, and
//! the rest is kept.

use super::problem::{Problem, fix, position, suggestion};
use serde::Deserialize;
use std::fmt;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

/// One step into the file: a key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// Where a value is: `metrics.gates[0].metric`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TomlPath(pub Vec<PathStep>);

impl TomlPath {
    pub fn key(&self, key: &str) -> TomlPath {
        let mut steps = self.0.clone();
        steps.push(PathStep::Key(key.to_string()));
        TomlPath(steps)
    }

    pub fn index(&self, index: usize) -> TomlPath {
        let mut steps = self.0.clone();
        steps.push(PathStep::Index(index));
        TomlPath(steps)
    }

    /// The table or array holding this value.
    pub fn parent(&self) -> TomlPath {
        TomlPath(self.0[..self.0.len().saturating_sub(1)].to_vec())
    }

    /// The last key, if the path ends in one.
    pub fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(PathStep::Key(key)) => Some(key),
            _ => None,
        }
    }
}

/// Keys as TOML writes them: bare when they can be, else quoted.
impl fmt::Display for TomlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("the top level");
        }
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Index(n) => write!(f, "[{n}]")?,
                PathStep::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !key.is_empty()
                        && key
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if bare {
                        f.write_str(key)?;
                    } else {
                        write!(f, "{key:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// How much of the file a mistake costs, and what that means for the
/// user: the config's rules, given to [`Document::deserialize`].
pub struct Leniency {
    /// The part left out when `path` holds a mistake (the path itself, or
    /// a whole entry such as one gate or one database).
    pub unit: fn(&TomlPath) -> TomlPath,
    /// What leaving out that part means: "the gate is ignored".
    pub consequence: fn(&TomlPath) -> String,
}

pub struct Document<'a> {
    text: &'a str,
    root: Spanned<DeTable<'a>>,
}

impl<'a> Document<'a> {
    /// The tree of `text`, with what could be read of lines that are not
    /// TOML. Each such line is one problem: the parser's recovery makes
    /// several errors of one slip.
    pub fn parse(text: &'a str) -> (Document<'a>, Vec<Problem>) {
        let (root, errors) = DeTable::parse_recoverable(text);
        let mut problems: Vec<Problem> = Vec::new();
        for e in errors {
            let at = e.span().map(|s| position(text, s.start));
            if at.is_some()
                && problems
                    .iter()
                    .any(|p| p.at.map(|a| a.0) == at.map(|a| a.0))
            {
                continue;
            }
            problems.push(Problem {
                at,
                problem: format!("not TOML: {}", e.message()),
                fix: "correct the syntax; what could not be read is ignored".into(),
            });
        }
        (Document { text, root }, problems)
    }

    /// A `T` from the file. Each part that does not fit `T` (an unknown
    /// key, a wrong type, a missing field) is a problem, and the
    /// [`Leniency::unit`] holding it is left out; the rest is kept. None
    /// only when a mistake cannot be placed. Also returns the parts left
    /// out.
    pub fn deserialize<T: for<'de> Deserialize<'de>>(
        &mut self,
        leniency: &Leniency,
    ) -> (Option<T>, Vec<TomlPath>, Vec<Problem>) {
        let mut removed = Vec::new();
        let mut problems = Vec::new();
        loop {
            let error = match T::deserialize(toml::de::Deserializer::from(self.root.clone())) {
                Ok(value) => return (Some(value), removed, problems),
                Err(e) => e,
            };
            let found = error
                .span()
                .and_then(|span| Some((self.innermost(&span)?, span)));
            let Some((path, span)) = found else {
                problems.push(Problem {
                    at: None,
                    problem: error.message().to_string(),
                    fix: "the whole file is ignored until this is fixed".into(),
                });
                return (None, removed, problems);
            };
            let unit = (leniency.unit)(&path);
            problems.push(Problem {
                at: Some(position(self.text, span.start)),
                ..describe(error.message(), &path, &(leniency.consequence)(&unit))
            });
            if !remove(self.root.get_mut(), &unit.0) {
                return (None, removed, problems);
            }
            removed.push(unit);
        }
    }

    /// The line and column of the value at `path`, or of the nearest
    /// enclosing one found.
    pub fn at(&self, path: &TomlPath) -> Option<(usize, usize)> {
        (1..=path.0.len())
            .rev()
            .find_map(|n| lookup(self.root.get_ref(), &path.0[..n]))
            .map(|value| position(self.text, value.span().start))
    }

    /// The line and column of the key ending `path` (where a compiler
    /// would point at an unknown name), else of its value.
    pub fn key_at(&self, path: &TomlPath) -> Option<(usize, usize)> {
        let Some(key) = path.last_key() else {
            return self.at(path);
        };
        let root = self.root.get_ref();
        let parent = path.parent();
        let table = match parent.0.is_empty() {
            true => Some(root),
            false => lookup(root, &parent.0).and_then(|v| v.get_ref().as_table()),
        };
        table
            .and_then(|t| t.iter().find(|(k, _)| k.get_ref() == key))
            .map(|(k, _)| position(self.text, k.span().start))
            .or_else(|| self.at(path))
    }

    /// The deepest key or value whose span holds `span`.
    fn innermost(&self, span: &Range<usize>) -> Option<TomlPath> {
        let holds = |s: &Range<usize>| s.start <= span.start && span.end <= s.end;
        let mut best = None;
        let root = DeValue::Table(self.root.get_ref().clone());
        deepest(&root, &mut Vec::new(), &holds, &mut best);
        best.map(TomlPath)
    }
}

/// The value at `steps` under `table`.
fn lookup<'v, 'i>(table: &'v DeTable<'i>, steps: &[PathStep]) -> Option<&'v Spanned<DeValue<'i>>> {
    let (PathStep::Key(first), rest) = steps.split_first()? else {
        return None;
    };
    let mut found = entry(table, first)?;
    for step in rest {
        found = match (step, found.get_ref()) {
            (PathStep::Key(key), DeValue::Table(t)) => entry(t, key),
            (PathStep::Index(i), DeValue::Array(a)) => a.get(*i),
            _ => None,
        }?;
    }
    Some(found)
}

fn entry<'v, 'i>(table: &'v DeTable<'i>, key: &str) -> Option<&'v Spanned<DeValue<'i>>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(_, v)| v)
}

/// Sets `best` to the longest path under `value` (at `steps`) whose key or
/// value span `holds` the mistake. Every child is visited: a table named
/// only in a header (`[[metrics.gates]]` makes `metrics`) has a span that
/// does not hold its children's.
fn deepest(
    value: &DeValue<'_>,
    steps: &mut Vec<PathStep>,
    holds: &dyn Fn(&Range<usize>) -> bool,
    best: &mut Option<Vec<PathStep>>,
) {
    let mut visit =
        |step: PathStep, key_span: Option<Range<usize>>, child: &Spanned<DeValue<'_>>| {
            steps.push(step);
            let here = holds(&child.span()) || key_span.as_ref().is_some_and(holds);
            if here && best.as_ref().is_none_or(|b| steps.len() > b.len()) {
                *best = Some(steps.clone());
            }
            deepest(child.get_ref(), steps, holds, best);
            steps.pop();
        };
    match value {
        DeValue::Table(table) => {
            for (k, v) in table.iter() {
                visit(PathStep::Key(k.get_ref().to_string()), Some(k.span()), v);
            }
        }
        DeValue::Array(array) => {
            for (i, v) in array.iter().enumerate() {
                visit(PathStep::Index(i), None, v);
            }
        }
        _ => {}
    }
}

/// Removes the value at `steps` under `table`; false when there is none.
fn remove(table: &mut DeTable<'_>, steps: &[PathStep]) -> bool {
    match steps {
        [PathStep::Key(key)] => {
            // Keys compare by their text, whatever their span.
            let found = table.iter().find(|(k, _)| k.get_ref() == key);
            let found = found.map(|(k, _)| k.clone());
            found.is_some_and(|k| table.remove(&k).is_some())
        }
        [PathStep::Key(key), rest @ ..] => table
            .iter_mut()
            .find(|(k, _)| k.get_ref() == key)
            .is_some_and(|(_, v)| remove_under(v.get_mut(), rest)),
        _ => false,
    }
}

fn remove_under(value: &mut DeValue<'_>, steps: &[PathStep]) -> bool {
    match (value, steps) {
        (DeValue::Table(table), _) => remove(table, steps),
        (DeValue::Array(array), [PathStep::Index(i)]) if *i < array.len() => {
            let kept: DeArray<'_> = std::mem::replace(array, DeArray::new())
                .into_iter()
                .enumerate()
                .filter(|(n, _)| n != i)
                .map(|(_, v)| v)
                .collect();
            *array = kept;
            true
        }
        (DeValue::Array(array), [PathStep::Index(i), rest @ ..]) => array
            .get_mut(*i)
            .is_some_and(|v| remove_under(v.get_mut(), rest)),
        _ => false,
    }
}

/// A deserializer's message as a problem at `path` and its fix. Values
/// are never quoted back: a string in the wrong place may be a secret.
fn describe(message: &str, path: &TomlPath, consequence: &str) -> Problem {
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let (problem, hint) = if message.starts_with("unknown field ") {
        let key = quoted.first().copied().unwrap_or_default();
        let known = quoted.get(1..).unwrap_or_default().to_vec();
        (
            format!("unknown key {key:?} in {}", section(&path.parent())),
            suggestion(key, known),
        )
    } else if message.starts_with("missing field ") {
        let field = quoted.first().copied().unwrap_or_default();
        (
            format!("{} has no {field:?}", section(path)),
            Some(format!("add {field}")),
        )
    } else if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, "?"));
        let found = if found.starts_with("string ") {
            "a string"
        } else {
            found
        };
        (
            format!(
                "wrong type for {path}: {found}, expected {}",
                article(expected)
            ),
            None,
        )
    } else {
        (format!("{path}: {message}"), None)
    };
    Problem {
        at: None,
        problem,
        fix: fix(hint.as_deref(), consequence),
    }
}

/// `[metrics]`, or "the top level".
fn section(path: &TomlPath) -> String {
    if path.0.is_empty() {
        path.to_string()
    } else {
        format!("[{path}]")
    }
}

/// serde's "expected" as a thing to write: "a string", "f64" → "a number".
fn article(expected: &str) -> String {
    match expected {
        "f64" | "f32" => "a number".into(),
        "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize" => {
            "a whole number".into()
        }
        "a sequence" => "a list: [\"…\"]".into(),
        "a boolean" => "true or false".into(),
        e if e.starts_with("struct ") || e == "a map" => "a table".into(),
        other => other.into(),
    }
}
