//! What the workload controllers (Deployments, Argo Rollouts, Flagger) share:
//! pod-template hashes, owner references, and the ReplicaSets they own.

use crate::api_error::ApiError;
use crate::resources::{self, ResourceDef};
use crate::store::{Store, WriteScope};
use serde_json::{Value, json};
use std::hash::Hasher;
use std::sync::Arc;

/// The hash label Argo Rollouts puts on its ReplicaSets, pods and Service selectors.
pub const ARGO_HASH_LABEL: &str = "rollouts-pod-template-hash";
pub const ARGO_REVISION: &str = "rollout.argoproj.io/revision";
/// The Deployment controller's.
pub const DEPLOYMENT_HASH_LABEL: &str = "pod-template-hash";
pub const DEPLOYMENT_REVISION: &str = "deployment.kubernetes.io/revision";

/// How an owner labels and numbers its ReplicaSets.
#[derive(Debug, Clone, Copy)]
pub struct RsStyle {
    pub hash_label: &'static str,
    pub revision_annotation: &'static str,
}

pub const ARGO: RsStyle = RsStyle {
    hash_label: ARGO_HASH_LABEL,
    revision_annotation: ARGO_REVISION,
};
pub const DEPLOYMENT: RsStyle = RsStyle {
    hash_label: DEPLOYMENT_HASH_LABEL,
    revision_annotation: DEPLOYMENT_REVISION,
};

pub fn replicasets() -> &'static ResourceDef {
    resources::lookup("apps", "v1", "replicasets").expect("served")
}

pub fn pods() -> &'static ResourceDef {
    resources::lookup("", "v1", "pods").expect("served")
}

/// A stable, short hash of a pod template, in the alphabet Kubernetes uses
/// for `pod-template-hash` labels (no vowels, so it never spells words).
pub fn template_hash(template: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut h = std::hash::DefaultHasher::new();
    h.write(template.to_string().as_bytes());
    let mut n = h.finish();
    (0..10)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// The template without the hash label an owner added, for comparing templates.
pub fn template_without_hash(template: &Value, style: RsStyle) -> Value {
    let mut t = template.clone();
    if let Some(labels) = t["metadata"]["labels"].as_object_mut() {
        labels.remove(style.hash_label);
    }
    t
}

/// The controller owner reference pointing at `owner`.
pub fn owner_reference(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

pub fn is_owned_by(obj: &Value, owner: &Value) -> bool {
    let uid = &owner["metadata"]["uid"];
    obj["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| refs.iter().any(|r| &r["uid"] == uid))
}

pub fn name_of(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or("")
}

pub fn namespace_of(obj: &Value) -> &str {
    obj["metadata"]["namespace"].as_str().unwrap_or("")
}

/// The revision number an owner wrote on a ReplicaSet (0 when absent).
pub fn revision_of(rs: &Value, style: RsStyle) -> u64 {
    rs["metadata"]["annotations"][style.revision_annotation]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

pub fn hash_of(rs: &Value, style: RsStyle) -> &str {
    rs["metadata"]["labels"][style.hash_label]
        .as_str()
        .unwrap_or("")
}

/// The first container's image of a pod template or pod spec holder.
pub fn image_of(template: &Value) -> &str {
    template["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or("")
}

/// ReplicaSets owned by `owner`, oldest revision first.
pub fn owned_replica_sets(store: &Store, owner: &Value, style: RsStyle) -> Vec<Arc<Value>> {
    let uid = owner["metadata"]["uid"].as_str().unwrap_or("");
    let mut list = store.owned_by(replicasets(), uid);
    list.sort_by_key(|rs| revision_of(rs, style));
    list
}

/// Replica counts of a ReplicaSet's status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RsCounts {
    pub desired: i64,
    pub replicas: i64,
    pub ready: i64,
    pub available: i64,
}

pub fn counts(rs: &Value) -> RsCounts {
    let n = |v: &Value| v.as_i64().unwrap_or(0);
    RsCounts {
        desired: rs["spec"]["replicas"].as_i64().unwrap_or(1),
        replicas: n(&rs["status"]["replicas"]),
        ready: n(&rs["status"]["readyReplicas"]),
        available: n(&rs["status"]["availableReplicas"]),
    }
}

/// Find the ReplicaSet of `owner` for `template`, or create it with
/// `replicas` (0 for a canary that scales up later). Its revision annotation
/// is set to `revision`.
pub fn ensure_replica_set(
    store: &Store,
    owner: &Value,
    template: &Value,
    style: RsStyle,
    revision: u64,
    replicas: i64,
) -> Result<Arc<Value>, ApiError> {
    let clean = template_without_hash(template, style);
    let hash = template_hash(&clean);
    let ns = namespace_of(owner);
    let existing = owned_replica_sets(store, owner, style)
        .into_iter()
        .find(|rs| hash_of(rs, style) == hash);
    if let Some(rs) = existing {
        if revision_of(&rs, style) == revision {
            return Ok(rs);
        }
        return store.modify(replicasets(), ns, name_of(&rs), |rs| {
            rs["metadata"]["annotations"][style.revision_annotation] = json!(revision.to_string());
        });
    }
    let mut tmpl = clean;
    tmpl["metadata"]["labels"][style.hash_label] = json!(hash);
    let mut selector = owner["spec"]["selector"].clone();
    if !selector.is_object() {
        selector = json!({"matchLabels": {}});
    }
    selector["matchLabels"][style.hash_label] = json!(hash);
    let rs = json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": format!("{}-{hash}", name_of(owner)),
            "namespace": ns,
            "labels": tmpl["metadata"]["labels"],
            "annotations": {style.revision_annotation: revision.to_string()},
            "ownerReferences": [owner_reference(owner)],
        },
        "spec": {"replicas": replicas, "selector": selector, "template": tmpl},
        "status": {"replicas": 0, "observedGeneration": 1},
    });
    store.create(replicasets(), ns, rs, WriteScope::Whole, false)
}

/// Scale a ReplicaSet (no change, no write).
pub fn set_replicas(store: &Store, rs: &Arc<Value>, replicas: i64) -> Result<Arc<Value>, ApiError> {
    if rs["spec"]["replicas"].as_i64() == Some(replicas) {
        return Ok(rs.clone());
    }
    store.modify(replicasets(), namespace_of(rs), name_of(rs), |r| {
        r["spec"]["replicas"] = json!(replicas);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    #[test]
    fn replica_sets_are_found_again_by_template() {
        let store = Store::new(Arc::new(Clock::new(0.0)));
        crate::seed::insert(
            &store,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        )
        .unwrap();
        let owner = crate::seed::insert(
            &store,
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
                   "spec": {"selector": {"matchLabels": {"app": "web"}}}}),
        )
        .unwrap();
        let tmpl = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "web:1"}]}});
        let a = ensure_replica_set(&store, &owner, &tmpl, DEPLOYMENT, 1, 0).unwrap();
        let b = ensure_replica_set(&store, &owner, &tmpl, DEPLOYMENT, 2, 0).unwrap();
        assert_eq!(name_of(&a), name_of(&b));
        assert_eq!(revision_of(&b, DEPLOYMENT), 2);
        assert_eq!(
            a["spec"]["selector"]["matchLabels"]["pod-template-hash"],
            hash_of(&a, DEPLOYMENT)
        );
        assert_eq!(owned_replica_sets(&store, &owner, DEPLOYMENT).len(), 1);
        assert_eq!(image_of(&a["spec"]["template"]), "web:1");
    }
}
