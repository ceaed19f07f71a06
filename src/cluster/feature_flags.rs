//! OpenFeature `FeatureFlag` resources → the flags linked to a release:
//! those its `cutover.dev/flags` annotation names (on the release's object
//! or its pod template), and every flag of a resource labelled with its
//! name. The resource has no status: its spec is the flag's state.

use super::fields::{self, str_at};
use super::index::Index;
use super::kinds::WatchedKind;
use crate::model::flag::{
    FLAGS_ANNOTATION, Flag, FlagLink, FlagSource, FlagState, RELEASE_LABELS, fractional, named_in,
};
use crate::model::{Kind, Release};
use chrono::{DateTime, Utc};
use kube::api::DynamicObject;
use serde_json::{Map, Value};

/// `spec.flagSpec.flags` of a FeatureFlag.
fn definitions(object: &DynamicObject) -> Option<&Map<String, Value>> {
    object
        .data
        .get("spec")?
        .get("flagSpec")?
        .get("flags")?
        .as_object()
}

/// The flag keys a FeatureFlag defines.
pub fn keys(object: &DynamicObject) -> Vec<String> {
    definitions(object)
        .map(|flags| flags.keys().cloned().collect())
        .unwrap_or_default()
}

/// The releases a FeatureFlag is labelled as belonging to.
pub fn labelled_releases(object: &DynamicObject) -> Vec<String> {
    let mut names: Vec<String> = RELEASE_LABELS
        .iter()
        .filter_map(|label| fields::label(object, label))
        .map(str::to_string)
        .collect();
    names.dedup();
    names
}

/// The newest time in the object's managedFields: when it last changed.
fn last_change(object: &DynamicObject) -> Option<DateTime<Utc>> {
    let entries = object.metadata.managed_fields.as_ref()?;
    entries
        .iter()
        .filter_map(|e| e.time.as_ref())
        .filter_map(|t| DateTime::<Utc>::from_timestamp(t.0.as_second(), 0))
        .max()
}

/// Flag `key` of `object`, as linked by `link`.
fn flag(object: &DynamicObject, key: &str, link: FlagLink) -> Option<Flag> {
    let definition = definitions(object)?.get(key)?;
    let state = match str_at(definition, "/state") {
        Some("ENABLED") => FlagState::Enabled,
        Some("DISABLED") => FlagState::Disabled,
        _ => FlagState::Unknown,
    };
    let variants = definition
        .get("variants")
        .and_then(Value::as_object)
        .map(|v| {
            v.iter()
                .map(|(name, value)| (name.clone(), value.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let targeting = definition.get("targeting").filter(|t| match t {
        Value::Null => false,
        Value::Object(m) => !m.is_empty(),
        _ => true,
    });
    let rollout = targeting.and_then(fractional);
    Some(Flag {
        key: key.to_string(),
        source: FlagSource::FeatureFlag {
            namespace: fields::namespace(object).to_string(),
            name: fields::name(object).to_string(),
        },
        state,
        default_variant: str_at(definition, "/defaultVariant").map(str::to_string),
        variants,
        rules: targeting.is_some_and(|t| !is_plain_fractional(t)),
        rollout,
        changed_at: last_change(object),
        link,
        definition: definition.clone(),
        resource_version: object.metadata.resource_version.clone().unwrap_or_default(),
    })
}

/// Targeting that is a fractional split and nothing else.
fn is_plain_fractional(targeting: &Value) -> bool {
    targeting
        .as_object()
        .is_some_and(|m| m.len() == 1 && m.contains_key("fractional"))
}

/// The flag keys the release's annotation names: on its object, its pod
/// template, and for a Flagger canary its target's pod template.
pub fn named_keys(object: &DynamicObject, release: &Release, index: &Index<'_>) -> Vec<String> {
    let mut annotations: Vec<&str> = Vec::new();
    annotations.extend(fields::annotation(object, FLAGS_ANNOTATION));
    let template = |o: &DynamicObject| {
        o.data
            .pointer("/spec/template/metadata/annotations")
            .and_then(|a| a.get(FLAGS_ANNOTATION))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let mut owned: Vec<String> = template(object).into_iter().collect();
    if release.key.kind == Kind::Canary
        && let Some(target) = release.flagger.as_ref().map(|f| f.target.as_str())
        && let Some(deployment) =
            index.find(WatchedKind::Deployment, &release.key.namespace, target)
    {
        owned.extend(fields::annotation(deployment, FLAGS_ANNOTATION).map(str::to_string));
        owned.extend(template(deployment));
    }
    annotations.extend(owned.iter().map(String::as_str));
    let mut keys: Vec<String> = annotations
        .into_iter()
        .flat_map(named_in)
        .map(str::to_string)
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Every FeatureFlag linked to `release` (its `flag_names` set): by key,
/// then by source; a flag linked both ways once, as named.
pub fn flags_of(release: &Release, index: &Index<'_>) -> Vec<Flag> {
    let namespace = &release.key.namespace;
    let mut flags: Vec<Flag> = Vec::new();
    for key in &release.flag_names {
        for resource in index.flags_keyed(namespace, key) {
            flags.extend(flag(resource, key, FlagLink::Annotation));
        }
    }
    for resource in index.flags_labelled(namespace, &release.key.name) {
        for key in keys(resource) {
            let found = flag(resource, &key, FlagLink::Label);
            if let Some(found) = found.filter(|f| !flags.iter().any(|g| g.same_as(f))) {
                flags.push(found);
            }
        }
    }
    flags.sort_by(|a, b| (&a.key, &a.source).cmp(&(&b.key, &b.source)));
    flags
}

#[cfg(test)]
mod tests;
