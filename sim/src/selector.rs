//! Label and field selectors for list and watch requests.
//!
//! Clients such as kubectl and controller reflectors send `labelSelector` and
//! `fieldSelector` query parameters and rely on the apiserver filtering (and
//! rejecting) them exactly like a real cluster does. The grammar, semantics
//! and error messages therefore follow k8s.io/apimachinery's `labels.Parse`,
//! `metav1.LabelSelectorAsSelector` and `fields.ParseSelector`.

mod field;
mod parser;
mod requirement;

pub use field::FieldSelector;

use parser::parse_requirements;
use requirement::{LabelOp, LabelRequirement};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt;

/// A selector that could not be parsed or uses an unsupported field.
///
/// The message mirrors the apiserver's wording so clients see familiar errors.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectorError(pub String);

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SelectorError {}

/// A parsed label selector: the conjunction of its requirements.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelSelector {
    /// Sorted by key, as apimachinery does, so equality ignores term order.
    requirements: Vec<LabelRequirement>,
    /// A `null` selector in object form selects nothing rather than everything.
    nothing: bool,
}

impl LabelSelector {
    /// Parses the `labelSelector` query value; the empty string selects everything.
    pub fn parse(s: &str) -> Result<LabelSelector, SelectorError> {
        Ok(Self::from_requirements(parse_requirements(s)?))
    }

    /// A selector that matches every object.
    pub fn everything() -> LabelSelector {
        LabelSelector {
            requirements: Vec::new(),
            nothing: false,
        }
    }

    fn from_requirements(mut requirements: Vec<LabelRequirement>) -> LabelSelector {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        LabelSelector {
            requirements,
            nothing: false,
        }
    }

    /// Whether a label map satisfies every requirement.
    pub fn matches_labels(&self, labels: &Map<String, Value>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Matches against `obj.metadata.labels`; objects without labels are
    /// treated as having an empty label set.
    pub fn matches(&self, obj: &Value) -> bool {
        match obj.pointer("/metadata/labels").and_then(Value::as_object) {
            Some(labels) => self.matches_labels(labels),
            None => self.matches_labels(&Map::new()),
        }
    }

    /// The structured form used in Kubernetes objects (`{matchLabels,
    /// matchExpressions:[{key, operator: In|NotIn|Exists|DoesNotExist, values}]}`),
    /// e.g. a Deployment's spec.selector.
    ///
    /// Follows `metav1.LabelSelectorAsSelector`: `null` selects nothing, an
    /// empty object selects everything.
    pub fn from_label_selector_object(v: &Value) -> Result<LabelSelector, SelectorError> {
        let obj = match v {
            Value::Null => {
                return Ok(LabelSelector {
                    requirements: Vec::new(),
                    nothing: true,
                });
            }
            Value::Object(obj) => obj,
            other => {
                return Err(SelectorError(format!(
                    "invalid label selector: expected an object, got {other}"
                )));
            }
        };
        let mut requirements = Vec::new();
        match obj.get("matchLabels") {
            None | Some(Value::Null) => {}
            Some(Value::Object(labels)) => {
                for (key, value) in labels {
                    let Value::String(value) = value else {
                        return Err(SelectorError(format!(
                            "invalid label selector: matchLabels.{key}: expected a string, got {value}"
                        )));
                    };
                    let r = LabelRequirement::new(
                        key.clone(),
                        LabelOp::Equals,
                        BTreeSet::from([value.clone()]),
                    )
                    .map_err(SelectorError)?;
                    requirements.push(r);
                }
            }
            Some(other) => {
                return Err(SelectorError(format!(
                    "invalid label selector: matchLabels must be an object, got {other}"
                )));
            }
        }
        match obj.get("matchExpressions") {
            None | Some(Value::Null) => {}
            Some(Value::Array(exprs)) => {
                for (i, expr) in exprs.iter().enumerate() {
                    requirements.push(expression_requirement(i, expr)?);
                }
            }
            Some(other) => {
                return Err(SelectorError(format!(
                    "invalid label selector: matchExpressions must be an array, got {other}"
                )));
            }
        }
        Ok(Self::from_requirements(requirements))
    }
}

/// Converts one `matchExpressions` entry into a requirement.
fn expression_requirement(index: usize, expr: &Value) -> Result<LabelRequirement, SelectorError> {
    let shape_err = |what: &str| {
        SelectorError(format!(
            "invalid label selector: matchExpressions[{index}]: {what}"
        ))
    };
    let key = expr
        .get("key")
        .and_then(Value::as_str)
        .ok_or_else(|| shape_err("key must be a string"))?;
    let op = match expr.get("operator").and_then(Value::as_str).unwrap_or("") {
        "In" => LabelOp::In,
        "NotIn" => LabelOp::NotIn,
        "Exists" => LabelOp::Exists,
        "DoesNotExist" => LabelOp::DoesNotExist,
        other => {
            return Err(SelectorError(format!(
                "{other:?} is not a valid label selector operator"
            )));
        }
    };
    let values = match expr.get("values") {
        None | Some(Value::Null) => BTreeSet::new(),
        Some(Value::Array(values)) => values
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<BTreeSet<String>>>()
            .ok_or_else(|| shape_err("values must be strings"))?,
        Some(_) => return Err(shape_err("values must be an array")),
    };
    LabelRequirement::new(key.to_string(), op, values).map_err(SelectorError)
}

#[cfg(test)]
mod tests;
