//! What the reflectors keep of each object as it arrives. A big cluster's
//! pods are most of what the watches hold, and the views read a handful of
//! their fields ([`super::workload::pod_info`]): a pod is kept as those
//! alone. Other kinds lose what is large and never read.

use super::fields::owner_uid;
use super::kinds::WatchedKind;
use super::workload::pod_info;
use crate::model::PodInfo;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{ApiResource, DynamicObject};
use kube::core::{DynamicResourceScope, Resource};
use serde::Deserialize;
use std::borrow::Cow;
use std::sync::Arc;

/// The fields of an Event a timeline reads ([`super::workload::timeline`])
/// and that file it by the object it is about.
const EVENT_FIELDS: [&str; 8] = [
    "involvedObject",
    "reason",
    "message",
    "type",
    "count",
    "firstTimestamp",
    "lastTimestamp",
    "eventTime",
];

/// What an Event keeps of the object it is about.
const INVOLVED_FIELDS: [&str; 3] = ["kind", "name", "namespace"];

/// What a ReplicaSet keeps of its spec and status: its size, its pod
/// template (a revision's images, and what an undo writes back) and its
/// counts ([`super::workload`]'s `revision`). A big cluster has a
/// ReplicaSet or more per release.
const REPLICA_SET_SPEC: [&str; 2] = ["replicas", "template"];
const REPLICA_SET_STATUS: [&str; 3] = ["replicas", "readyReplicas", "availableReplicas"];

/// Cut `object`, of `kind` (the source's: items of a list need not say
/// theirs), to what cutover reads of it: what is large and never read.
/// An Event keeps only what a timeline shows: a board watches the Events
/// of every release, and a busy cluster has many.
pub fn project(object: &mut DynamicObject, kind: WatchedKind) {
    if kind == WatchedKind::FeatureFlag {
        // When a flag last changed is the newest entry's time: the fields
        // each manager owns are never read.
        for entry in object.metadata.managed_fields.iter_mut().flatten() {
            entry.fields_v1 = None;
        }
    } else {
        object.metadata.managed_fields = None;
    }
    if let Some(annotations) = object.metadata.annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    match kind {
        WatchedKind::Event => {
            object.metadata.labels = None;
            object.metadata.annotations = None;
            keep_fields(&mut object.data, &EVENT_FIELDS);
            if let Some(involved) = object.data.get_mut("involvedObject") {
                keep_fields(involved, &INVOLVED_FIELDS);
            }
        }
        WatchedKind::ReplicaSet => {
            keep_fields(&mut object.data, &["spec", "status"]);
            if let Some(spec) = object.data.get_mut("spec") {
                keep_fields(spec, &REPLICA_SET_SPEC);
            }
            if let Some(status) = object.data.get_mut("status") {
                keep_fields(status, &REPLICA_SET_STATUS);
            }
        }
        _ => {}
    }
}

/// Drop every field of the JSON object `value` but `kept`.
fn keep_fields(value: &mut serde_json::Value, kept: &[&str]) {
    if let Some(map) = value.as_object_mut() {
        map.retain(|k, _| kept.contains(&k.as_str()));
    }
}

/// A pod as cutover keeps it: its namespace, its owner, and what the views
/// show of it ([`PodInfo`], its name included), read once as it arrives. A
/// big cluster's pods are most of what the watches hold; kept as JSON, each
/// would take some 6 KB of maps, kept so, a few hundred bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct PodSummary {
    pub namespace: String,
    /// The uid of its controller (else of its first owner): its ReplicaSet.
    pub owner: Option<String>,
    pub info: Arc<PodInfo>,
}

impl PodSummary {
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// Its namespace and name, which identify it among its source's pods.
    pub fn key(&self) -> (String, String) {
        (self.namespace.clone(), self.info.name.clone())
    }
}

impl From<DynamicObject> for PodSummary {
    fn from(pod: DynamicObject) -> PodSummary {
        PodRead::from(pod).summary
    }
}

/// A pod as its watch reads it: the summary kept, and the metadata the
/// watch itself reads (the resource version it resumes from), which is not
/// kept: a whole `ObjectMeta` per pod would outweigh the summary.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "DynamicObject")]
pub struct PodRead {
    /// Name, namespace and resource version; nothing else.
    metadata: ObjectMeta,
    pub summary: PodSummary,
}

impl From<DynamicObject> for PodRead {
    fn from(pod: DynamicObject) -> PodRead {
        let summary = PodSummary {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            owner: owner_uid(&pod.metadata).map(str::to_string),
            info: Arc::new(pod_info(&pod)),
        };
        let metadata = ObjectMeta {
            name: pod.metadata.name,
            namespace: pod.metadata.namespace,
            resource_version: pod.metadata.resource_version,
            ..ObjectMeta::default()
        };
        PodRead { metadata, summary }
    }
}

/// Watched through the same API resource as any object of kind Pod.
impl Resource for PodRead {
    type DynamicType = ApiResource;
    type Scope = DynamicResourceScope;

    fn group(dt: &ApiResource) -> Cow<'_, str> {
        DynamicObject::group(dt)
    }

    fn version(dt: &ApiResource) -> Cow<'_, str> {
        DynamicObject::version(dt)
    }

    fn kind(dt: &ApiResource) -> Cow<'_, str> {
        DynamicObject::kind(dt)
    }

    fn api_version(dt: &ApiResource) -> Cow<'_, str> {
        DynamicObject::api_version(dt)
    }

    fn plural(dt: &ApiResource) -> Cow<'_, str> {
        DynamicObject::plural(dt)
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests;
