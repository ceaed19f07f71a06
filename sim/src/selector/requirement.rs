//! One label requirement (`key op values`) and the checks apimachinery
//! makes of label keys and values, with its error messages.

use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeSet;

/// Label names are limited like Kubernetes qualified names.
const QUALIFIED_NAME_MAX_LEN: usize = 63;
/// Label values share the qualified-name length limit.
const LABEL_VALUE_MAX_LEN: usize = 63;
/// Key prefixes are DNS subdomains.
const DNS_SUBDOMAIN_MAX_LEN: usize = 253;

const QUALIFIED_NAME_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', \
     and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or \
     '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric \
     characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. \
     'MyValue',  or 'my_value',  or '12345', regex used for validation is \
     '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const DNS_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case \
     alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character \
     (e.g. 'example.com', regex used for validation is \
     '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/// Operators of a single label requirement; `==` is folded into `Equals`
/// because it has identical semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LabelOp {
    Equals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// One comma-separated term of a label selector.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct LabelRequirement {
    pub(super) key: String,
    pub(super) op: LabelOp,
    /// A sorted set, so selectors that differ only in value order compare equal.
    pub(super) values: BTreeSet<String>,
}

impl LabelRequirement {
    /// Validates like apimachinery's `NewRequirement`, so invalid keys, values
    /// and operator/value combinations are rejected instead of silently
    /// matching nothing.
    pub(super) fn new(key: String, op: LabelOp, values: BTreeSet<String>) -> Result<Self, String> {
        let mut errs = Vec::new();
        if let Err(e) = validate_label_key(&key) {
            errs.push(e);
        }
        let count = values.len();
        match op {
            LabelOp::In | LabelOp::NotIn if count == 0 => errs.push(format!(
                "values: Invalid value: {:?}: for 'in', 'notin' operators, values set can't be empty",
                values
            )),
            LabelOp::Equals | LabelOp::NotEquals if count != 1 => errs.push(format!(
                "values: Invalid value: {:?}: exact-match compatibility requires one single value",
                values
            )),
            LabelOp::Exists | LabelOp::DoesNotExist if count != 0 => errs.push(format!(
                "values: Invalid value: {:?}: values set must be empty for exists and does not exist",
                values
            )),
            LabelOp::GreaterThan | LabelOp::LessThan => {
                if count != 1 {
                    errs.push(format!(
                        "values: Invalid value: {:?}: for 'Gt', 'Lt' operators, exactly one value is required",
                        values
                    ));
                }
                for (i, v) in values.iter().enumerate() {
                    if v.parse::<i64>().is_err() {
                        errs.push(format!(
                            "values[{i}]: Invalid value: {v:?}: for 'Gt', 'Lt' operators, the value must be an integer"
                        ));
                    }
                }
            }
            _ => {}
        }
        for (i, v) in values.iter().enumerate() {
            if let Err(e) = validate_label_value(v) {
                errs.push(format!("values[{i}]: Invalid value: {v:?}: {e}"));
            }
        }
        match errs.len() {
            0 => Ok(LabelRequirement { key, op, values }),
            1 => Err(errs.remove(0)),
            _ => Err(format!("[{}]", errs.join(", "))),
        }
    }

    pub(super) fn matches(&self, labels: &Map<String, Value>) -> bool {
        let actual = labels.get(&self.key).and_then(label_text);
        let in_set = || actual.as_deref().is_some_and(|v| self.values.contains(v));
        match self.op {
            LabelOp::Equals | LabelOp::In => in_set(),
            // Negative operators also select objects that lack the label.
            LabelOp::NotEquals | LabelOp::NotIn => !in_set(),
            LabelOp::Exists => actual.is_some(),
            LabelOp::DoesNotExist => actual.is_none(),
            LabelOp::GreaterThan | LabelOp::LessThan => {
                let Some(have) = actual.and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                let Some(want) = self.values.first().and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                if self.op == LabelOp::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

/// Reads a label value as text. Labels are strings in valid objects; scalar
/// non-strings are compared by their JSON text and `null` counts as absent so a
/// sloppy fixture does not make the selector panic or lie about existence.
fn label_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, the qualified-name pattern.
fn is_qualified_name_part(s: &str) -> bool {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// RFC 1123 subdomain: dot-separated lowercase alphanumeric labels with inner dashes.
fn is_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(|label| {
        let bytes = label.as_bytes();
        match (bytes.first(), bytes.last()) {
            (Some(first), Some(last)) => {
                is_lower_alnum(*first)
                    && is_lower_alnum(*last)
                    && bytes.iter().all(|b| is_lower_alnum(*b) || *b == b'-')
            }
            _ => false,
        }
    })
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// Label keys are qualified names: an optional DNS-subdomain prefix and `/`,
/// then a name part of at most 63 characters.
pub(super) fn validate_label_key(key: &str) -> Result<(), String> {
    let invalid = |detail: String| format!("key: Invalid value: {key:?}: {detail}");
    let parts: Vec<&str> = key.split('/').collect();
    let mut errs = Vec::new();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                if prefix.len() > DNS_SUBDOMAIN_MAX_LEN {
                    errs.push(format!(
                        "prefix part must be no more than {DNS_SUBDOMAIN_MAX_LEN} characters"
                    ));
                }
                if !is_dns1123_subdomain(prefix) {
                    errs.push(format!("prefix part {DNS_SUBDOMAIN_ERR}"));
                }
            }
            *name
        }
        _ => {
            return Err(invalid(format!(
                "a qualified name {QUALIFIED_NAME_ERR} with an optional DNS subdomain prefix \
                 and '/' (e.g. 'example.com/MyName')"
            )));
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > QUALIFIED_NAME_MAX_LEN {
        errs.push(format!(
            "name part must be no more than {QUALIFIED_NAME_MAX_LEN} characters"
        ));
    }
    if !is_qualified_name_part(name) {
        errs.push(format!("name part {QUALIFIED_NAME_ERR}"));
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(invalid(errs.join("; ")))
    }
}

/// Label values may be empty; otherwise they follow the qualified-name pattern.
fn validate_label_value(value: &str) -> Result<(), String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LEN {
        errs.push(format!(
            "must be no more than {LABEL_VALUE_MAX_LEN} characters"
        ));
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errs.push(LABEL_VALUE_ERR.to_string());
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}
