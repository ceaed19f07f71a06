//! Reading fields of untyped Kubernetes objects without panicking: a
//! malformed object yields empty values, never a crash.

use chrono::{DateTime, Utc};
use kube::api::DynamicObject;
use serde_json::Value;
use std::collections::BTreeMap;

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
    o.metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
        .or_else(|| o.metadata.owner_references.as_ref()?.first())
        .map(|r| r.uid.as_str())
}

pub fn images(template: &Value) -> Vec<String> {
    array_at(template, "/spec/containers")
        .iter()
        .filter_map(|c| c.get("image")?.as_str().map(str::to_string))
        .collect()
}
