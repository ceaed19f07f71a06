//! What the reflectors keep of each object as it arrives. A big cluster's
//! pods are most of what a watch holds, and the views read a handful of
//! their fields ([`super::workload::pod_info`]): a pod is cut to those,
//! about a tenth of it. Other kinds lose what is large and never read.

use super::kinds::WatchedKind;
use super::workload::{ARGO, DEPLOYMENT};
use kube::api::DynamicObject;
use serde_json::{Map, Value, json};

/// Cut `object` of `kind` to what cutover reads of it.
pub fn project(kind: WatchedKind, object: &mut DynamicObject) {
    object.metadata.managed_fields = None;
    if let Some(annotations) = object.metadata.annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    if kind == WatchedKind::Pod {
        project_pod(object);
    }
}

/// A pod as [`super::workload::pod_info`] and the owner index read it:
/// name, owner, hash labels, deletion, phase, Ready, and per container its
/// readiness, restarts and waiting reason.
fn project_pod(pod: &mut DynamicObject) {
    let meta = &mut pod.metadata;
    meta.annotations = None;
    meta.finalizers = None;
    meta.generate_name = None;
    if let Some(labels) = meta.labels.as_mut() {
        labels.retain(|k, _| k == ARGO.hash_label || k == DEPLOYMENT.hash_label);
    }
    let status = pod.data.get("status");
    let field = |name: &str| status.and_then(|s| s.get(name));
    let ready_condition: Vec<Value> = field("conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
        .map(|c| json!({"type": "Ready", "status": c.get("status")}))
        .collect();
    let containers: Vec<Value> = field("containerStatuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(container_status)
        .collect();
    let mut kept = Map::new();
    if let Some(phase) = field("phase") {
        kept.insert("phase".into(), phase.clone());
    }
    kept.insert("conditions".into(), Value::Array(ready_condition));
    kept.insert("containerStatuses".into(), Value::Array(containers));
    // Only how many containers the spec has counts.
    let declared = pod
        .data
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    pod.data = json!({
        "spec": {"containers": vec![json!({}); declared]},
        "status": kept,
    });
}

fn container_status(s: &Value) -> Value {
    let mut kept = Map::new();
    for key in ["ready", "restartCount"] {
        if let Some(v) = s.get(key) {
            kept.insert(key.into(), v.clone());
        }
    }
    if let Some(reason) = s.pointer("/state/waiting/reason") {
        kept.insert("state".into(), json!({"waiting": {"reason": reason}}));
    }
    Value::Object(kept)
}

#[cfg(test)]
mod tests;
