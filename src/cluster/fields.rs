//! Reading fields of untyped Kubernetes objects without panicking: a
//! malformed object yields empty values, never a crash. Fields the control
//! room decides on are read through [`Fields`], which also says, in plain
//! sentences, which values it could not use.

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::DynamicObject;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// What mapping one release found malformed: plain sentences, each once,
/// in the order met.
#[derive(Debug, Default)]
pub struct Warnings(RefCell<Vec<String>>);

impl Warnings {
    pub fn note(&self, sentence: String) {
        let mut found = self.0.borrow_mut();
        if !found.contains(&sentence) {
            found.push(sentence);
        }
    }

    pub fn into_sentences(self) -> Vec<String> {
        self.0.into_inner()
    }
}

/// A field as read: not written, a usable value, or written but unusable
/// (of the wrong type or out of range, and noted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read<T> {
    Absent,
    Valid(T),
    Malformed,
}

impl<T> Read<T> {
    /// The value, `default` where it is not written, None where it is
    /// malformed.
    pub fn or(self, default: T) -> Option<T> {
        match self {
            Read::Absent => Some(default),
            Read::Valid(v) => Some(v),
            Read::Malformed => None,
        }
    }

    pub fn valid(self) -> Option<T> {
        match self {
            Read::Valid(v) => Some(v),
            Read::Absent | Read::Malformed => None,
        }
    }
}

impl Read<i64> {
    /// As a `u32`, for a number already checked to fit one.
    fn narrow(self) -> Read<u32> {
        match self {
            Read::Valid(n) => u32::try_from(n).map_or(Read::Malformed, Read::Valid),
            Read::Absent => Read::Absent,
            Read::Malformed => Read::Malformed,
        }
    }
}

/// The path of a JSON pointer as kubectl writes fields:
/// `/spec/steps/1/setWeight` is `spec.steps[1].setWeight`.
fn path(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

/// A value as a sentence quotes it, cut short when long.
fn shown(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() <= 40 {
        return text;
    }
    format!("{}…", text.chars().take(39).collect::<String>())
}

/// Typed reads of one object's fields, by JSON pointers from its root,
/// that note every value of the wrong type or out of range: such a value
/// is never used.
#[derive(Clone, Copy)]
pub struct Fields<'a> {
    data: &'a Value,
    /// Names the object in the sentences (`VirtualService/search`) when it
    /// is not the release's own; empty for the release's own.
    subject: &'a str,
    warnings: &'a Warnings,
}

impl<'a> Fields<'a> {
    pub fn new(data: &'a Value, subject: &'a str, warnings: &'a Warnings) -> Fields<'a> {
        Fields {
            data,
            subject,
            warnings,
        }
    }

    /// A written field (`null` counts as not written).
    pub fn get(&self, pointer: &str) -> Option<&'a Value> {
        self.data.pointer(pointer).filter(|v| !v.is_null())
    }

    /// Notes that the field at `pointer` is unusable, and why: "spec.replicas
    /// is -2: replica counts cannot be negative".
    pub fn note(&self, pointer: &str, why: &str) {
        let value = self.get(pointer).map_or("missing".into(), shown);
        let subject = match self.subject {
            "" => String::new(),
            object => format!("{object} "),
        };
        self.warnings
            .note(format!("{subject}{} is {value}{why}", path(pointer)));
    }

    fn typed<T>(
        &self,
        pointer: &str,
        expected: &str,
        cast: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Read<T> {
        match self.get(pointer) {
            None => Read::Absent,
            Some(v) => match cast(v) {
                Some(t) => Read::Valid(t),
                None => {
                    self.note(pointer, &format!(": expected {expected}"));
                    Read::Malformed
                }
            },
        }
    }

    pub fn str(&self, pointer: &str) -> Option<&'a str> {
        self.typed(pointer, "a string", Value::as_str).valid()
    }

    /// A string that should be one of `known` words, which `writer`
    /// writes; any other is noted (and still returned, for the screen to
    /// show as the controller's own word).
    pub fn word(&self, pointer: &str, known: &[&str], writer: &str) -> Option<&'a str> {
        let word = self.str(pointer)?;
        if !word.is_empty() && !known.contains(&word) {
            let (last, rest) = known.split_last().unwrap_or((&"", &[]));
            let listed = match rest {
                [] => last.to_string(),
                _ => format!("{} or {last}", rest.join(", ")),
            };
            self.note(pointer, &format!(": {writer} writes {listed}"));
        }
        Some(word)
    }

    pub fn boolean(&self, pointer: &str) -> Read<bool> {
        self.typed(pointer, "true or false", Value::as_bool)
    }

    /// A boolean, false when not written (or malformed, and noted).
    pub fn flag(&self, pointer: &str) -> bool {
        self.boolean(pointer).valid().unwrap_or(false)
    }

    pub fn integer(&self, pointer: &str) -> Read<i64> {
        self.typed(pointer, "a whole number", Value::as_i64)
    }

    /// A whole number that `fits`; otherwise noted with `why` (", but …"
    /// or ": …").
    pub fn within(&self, pointer: &str, fits: impl Fn(i64) -> bool, why: &str) -> Read<i64> {
        match self.integer(pointer) {
            Read::Valid(n) if !fits(n) => {
                self.note(pointer, why);
                Read::Malformed
            }
            read => read,
        }
    }

    /// A replica count: never negative.
    pub fn count(&self, pointer: &str) -> Read<i64> {
        self.within(pointer, |n| n >= 0, ": replica counts cannot be negative")
    }

    /// A traffic weight, from 0 to `max` (100 unless a router says
    /// otherwise).
    pub fn weight(&self, pointer: &str, max: u32) -> Read<u32> {
        let read = self.within(
            pointer,
            |n| (0..=i64::from(max)).contains(&n),
            &format!(": weights are 0–{max}"),
        );
        read.narrow()
    }

    /// A whole number of zero or more (a count of checks, seconds).
    pub fn natural(&self, pointer: &str) -> Read<u32> {
        self.within(
            pointer,
            |n| u32::try_from(n).is_ok(),
            ": expected zero or more",
        )
        .narrow()
    }
}

pub fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// A field written as a string or a number (`observedGeneration` is a
/// string in Argo's status, a number in objects restored from YAML), as text.
pub fn text_at(v: &Value, pointer: &str) -> Option<String> {
    match v.pointer(pointer)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn i64_at(v: &Value, pointer: &str) -> Option<i64> {
    let f = v.pointer(pointer)?;
    f.as_i64()
        .or_else(|| f.as_str().and_then(|s| s.parse().ok()))
}

pub fn u32_at(v: &Value, pointer: &str) -> Option<u32> {
    i64_at(v, pointer).and_then(|n| u32::try_from(n).ok())
}

pub fn bool_at(v: &Value, pointer: &str) -> bool {
    v.pointer(pointer).and_then(Value::as_bool).unwrap_or(false)
}

pub fn time_at(v: &Value, pointer: &str) -> Option<DateTime<Utc>> {
    str_at(v, pointer).and_then(crate::time::parse_rfc3339)
}

pub fn array_at<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

pub fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

pub fn name(o: &DynamicObject) -> &str {
    o.metadata.name.as_deref().unwrap_or_default()
}

pub fn namespace(o: &DynamicObject) -> &str {
    o.metadata.namespace.as_deref().unwrap_or_default()
}

pub fn uid(o: &DynamicObject) -> &str {
    o.metadata.uid.as_deref().unwrap_or_default()
}

pub fn label<'a>(o: &'a DynamicObject, key: &str) -> Option<&'a str> {
    o.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

pub fn annotation<'a>(o: &'a DynamicObject, key: &str) -> Option<&'a str> {
    o.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

pub fn created(o: &DynamicObject) -> Option<DateTime<Utc>> {
    let t = &o.metadata.creation_timestamp.as_ref()?.0;
    DateTime::from_timestamp(
        t.as_second(),
        u32::try_from(t.subsec_nanosecond()).unwrap_or(0),
    )
}

/// The uid of the controlling owner (else the first owner), if any. Only
/// the uid counts: owners written as `extensions/v1beta1` by older clusters
/// are the same objects as their `apps/v1` selves.
pub fn controller_uid(o: &DynamicObject) -> Option<&str> {
    owner_uid(&o.metadata)
}

/// The uid of the controller among the owners, else of the first owner.
pub fn owner_uid(meta: &ObjectMeta) -> Option<&str> {
    let owners = meta.owner_references.as_ref()?;
    owners
        .iter()
        .find(|r| r.controller == Some(true))
        .or_else(|| owners.first())
        .map(|r| r.uid.as_str())
}

pub fn images(template: &Value) -> Vec<String> {
    array_at(template, "/spec/containers")
        .iter()
        .filter_map(|c| c.get("image")?.as_str().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_read_as_kubectl_writes_fields() {
        assert_eq!(
            path("/spec/strategy/canary/steps/1/setWeight"),
            "spec.strategy.canary.steps[1].setWeight"
        );
        assert_eq!(
            path("/spec/trafficRouting/plugins/argoproj-labs~1gatewayAPI"),
            "spec.trafficRouting.plugins.argoproj-labs/gatewayAPI"
        );
    }

    #[test]
    fn a_malformed_value_is_noted_once_and_never_used() {
        let data = json!({
            "spec": {"replicas": "3", "paused": "yes", "weight": 100},
            "status": {"replicas": -1, "phase": "Weird", "note": [1, 2, 3]},
        });
        let warnings = Warnings::default();
        let fields = Fields::new(&data, "", &warnings);
        assert_eq!(fields.count("/spec/replicas"), Read::Malformed);
        assert_eq!(fields.count("/spec/replicas").or(1), None);
        assert_eq!(fields.count("/status/ready").or(0), Some(0), "unwritten");
        assert_eq!(fields.count("/status/replicas"), Read::Malformed);
        assert!(!fields.flag("/spec/paused"));
        assert_eq!(fields.weight("/spec/weight", 100), Read::Valid(100));
        assert_eq!(fields.weight("/spec/weight", 50), Read::Malformed);
        assert_eq!(
            fields.word("/status/phase", &["A", "B", "C"], "the controller"),
            Some("Weird"),
            "kept as the controller's word"
        );
        assert_eq!(fields.str("/status/note"), None);
        let other = Fields::new(&data, "Deployment/web-primary", &warnings);
        assert_eq!(other.count("/status/replicas").or(0), None);
        assert_eq!(
            warnings.into_sentences(),
            [
                "spec.replicas is \"3\": expected a whole number",
                "status.replicas is -1: replica counts cannot be negative",
                "spec.paused is \"yes\": expected true or false",
                "spec.weight is 100: weights are 0–50",
                "status.phase is \"Weird\": the controller writes A, B or C",
                "status.note is [1,2,3]: expected a string",
                "Deployment/web-primary status.replicas is -1: replica counts cannot be negative",
            ]
        );
    }
}
