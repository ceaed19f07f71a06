//! What the reflectors keep of each object as it arrives. A big cluster's
//! pods are most of what the watches hold, and the views read a handful of
//! their fields ([`super::workload::pod_info`]): a pod is kept as those
//! alone. Other kinds lose what is large and never read.

use super::workload::pod_info;
use crate::model::PodInfo;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{ApiResource, DynamicObject};
use kube::core::{DynamicResourceScope, Resource};
use serde::Deserialize;
use std::borrow::Cow;

/// Cut `object` to what cutover reads of it: what is large and never read.
pub fn project(object: &mut DynamicObject) {
    object.metadata.managed_fields = None;
    if let Some(annotations) = object.metadata.annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

/// A pod as cutover keeps it: its identity and owner, and what the views
/// show of it ([`PodInfo`]), read once as it arrives. A big cluster's pods
/// are most of what the watches hold; kept as JSON, each would take some
/// 6 KB of maps, kept so, about a tenth.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "DynamicObject")]
pub struct PodSummary {
    /// Name, namespace, uid, resource version and owners; no labels,
    /// annotations or managed fields.
    pub metadata: ObjectMeta,
    pub info: PodInfo,
}

impl PodSummary {
    /// Its namespace and name, which identify it among its source's pods.
    pub fn key(&self) -> (String, String) {
        let meta = &self.metadata;
        (
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
        )
    }
}

impl From<DynamicObject> for PodSummary {
    fn from(pod: DynamicObject) -> PodSummary {
        let info = pod_info(&pod);
        let mut metadata = pod.metadata;
        metadata.labels = None;
        metadata.annotations = None;
        metadata.finalizers = None;
        metadata.generate_name = None;
        metadata.managed_fields = None;
        PodSummary { metadata, info }
    }
}

/// Watched through the same API resource as any object of kind Pod.
impl Resource for PodSummary {
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
