//! Field selectors (after apimachinery's `fields.ParseSelector`): terms,
//! their escapes, and matching them against an object.

use super::SelectorError;
use serde_json::Value;
use std::borrow::Cow;

/// The JSON pointer a field label reads: `metadata.name` → `/metadata/name`.
fn pointer_of(label: &str, aliases: &[(&str, &str)]) -> String {
    match aliases.iter().find(|(l, _)| *l == label) {
        Some((_, pointer)) => (*pointer).to_string(),
        None => format!("/{}", label.replace('.', "/")),
    }
}

/// One `field=value` / `field!=value` term.
#[derive(Debug, Clone, PartialEq)]
struct FieldRequirement {
    /// JSON pointer into the object.
    field: String,
    negated: bool,
    value: String,
}

/// A parsed field selector: the conjunction of its terms.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSelector {
    /// In the order of the sorted raw terms, as apimachinery does.
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses the `fieldSelector` query value; the empty string selects everything.
    ///
    /// All terms are parsed before field names are checked, so syntax errors
    /// win over "field label not supported" as they do on a real apiserver.
    pub fn parse(s: &str) -> Result<FieldSelector, SelectorError> {
        Self::parse_for(s, &[], &[])
    }

    /// Like [`FieldSelector::parse`], for a kind that also supports `extra`
    /// field labels (e.g. `involvedObject.name` on Events); `aliases` maps a
    /// label to a JSON pointer where it is not the dotted path.
    pub fn parse_for(
        s: &str,
        extra: &[&str],
        aliases: &[(&str, &str)],
    ) -> Result<FieldSelector, SelectorError> {
        let mut terms = split_terms(s);
        terms.sort_unstable();
        let mut parsed = Vec::new();
        for term in terms {
            if term.is_empty() {
                continue;
            }
            let Some((field, negated, raw_value)) = split_term(term) else {
                return Err(SelectorError(format!(
                    "invalid selector: '{s}'; can't understand '{term}'"
                )));
            };
            parsed.push((field, negated, unescape_value(raw_value)?));
        }
        let requirements = parsed
            .into_iter()
            .map(|(field, negated, value)| {
                if !matches!(field, "metadata.name" | "metadata.namespace")
                    && !extra.contains(&field)
                {
                    return Err(SelectorError(format!("field label not supported: {field}")));
                }
                let field = pointer_of(field, aliases);
                Ok(FieldRequirement {
                    field,
                    negated,
                    value,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FieldSelector { requirements })
    }

    /// A selector that matches every object.
    pub fn everything() -> FieldSelector {
        FieldSelector {
            requirements: Vec::new(),
        }
    }

    /// Whether the object satisfies every term; numbers and booleans compare
    /// as their text; a missing field (e.g. the
    /// namespace of a cluster-scoped object) reads as the empty string.
    pub fn matches(&self, obj: &Value) -> bool {
        self.requirements.iter().all(|r| {
            let actual = match obj.pointer(&r.field) {
                Some(Value::String(text)) => Cow::Borrowed(text.as_str()),
                Some(Value::Number(n)) => Cow::Owned(n.to_string()),
                Some(Value::Bool(b)) => Cow::Owned(b.to_string()),
                _ => Cow::Borrowed(""),
            };
            (actual == r.value.as_str()) != r.negated
        })
    }
}

/// Splits on commas that are not escaped with a backslash.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// Splits a term at the first operator, returning `(field, negated, raw value)`.
fn split_term(term: &str) -> Option<(&str, bool, &str)> {
    const OPERATORS: [(&str, bool); 3] = [("!=", true), ("==", false), ("=", false)];
    term.char_indices().find_map(|(i, _)| {
        let rest = &term[i..];
        OPERATORS.iter().find_map(|&(op, negated)| {
            rest.strip_prefix(op)
                .map(|value| (&term[..i], negated, value))
        })
    })
}

/// Resolves `\\`, `\,` and `\=`; any other escape, or an unescaped `,`/`=`,
/// is rejected like apimachinery's `fields.UnescapeValue`.
fn unescape_value(s: &str) -> Result<String, SelectorError> {
    let mut out = String::with_capacity(s.len());
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            match c {
                '\\' | ',' | '=' => out.push(c),
                other => {
                    return Err(SelectorError(format!(
                        "invalid field selector: invalid escape sequence: \\{other}"
                    )));
                }
            }
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            ',' | '=' => {
                return Err(SelectorError(format!(
                    "invalid field selector: unescaped character in value: {c:?}"
                )));
            }
            other => out.push(other),
        }
    }
    if escaped {
        return Err(SelectorError(
            "invalid field selector: invalid escape sequence: \\".to_string(),
        ));
    }
    Ok(out)
}
