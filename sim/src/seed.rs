//! The objects a simulated cluster starts with: a built-in set (namespace
//! `shop` with a canary Rollout `checkout` half-way through its steps and a
//! Deployment `frontend`), or a user's seed file.

use super::controllers::workload::{owner_reference, template_hash as pod_template_hash};
use super::resources;
use super::store::Store;
use color_eyre::eyre::{Result, WrapErr, eyre};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

/// Load every object of a YAML or JSON file (several documents, a `List`
/// as `kubectl get -o yaml` writes it, or a typed list such as `PodList`
/// as the API answers it). Objects are restored, not created: a snapshot
/// of a real cluster keeps its uids, generations and statuses.
pub fn load_file(store: &Store, path: &Path) -> Result<()> {
    let text = std::fs::read_to_string(path)
        .wrap_err_with(|| format!("reading the seed file {}", path.display()))?;
    let mut objects = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let v = Value::deserialize(doc)
            .wrap_err_with(|| format!("parsing the seed file {}", path.display()))?;
        objects.extend(objects_of(v));
    }
    // Namespaces first, so that namespaced objects find theirs.
    objects.sort_by_key(|o| o["kind"] != "Namespace");
    for obj in objects {
        insert(store, obj).wrap_err_with(|| format!("in the seed file {}", path.display()))?;
    }
    Ok(())
}

/// The objects of one document: itself, or a list's items. The API leaves
/// kind and apiVersion out of a typed list's items; they are the list's.
fn objects_of(mut doc: Value) -> Vec<Value> {
    let list_kind = doc["kind"].as_str().and_then(|k| k.strip_suffix("List"));
    let item_kind = match list_kind {
        Some(kind) if doc["items"].is_array() => kind.to_string(),
        _ if doc.is_null() => return Vec::new(),
        _ => return vec![doc],
    };
    let api_version = doc["apiVersion"].clone();
    let Value::Array(items) = doc["items"].take() else {
        return Vec::new();
    };
    items
        .into_iter()
        .map(|mut item| {
            if !item_kind.is_empty()
                && let Some(o) = item.as_object_mut()
            {
                o.entry("kind").or_insert_with(|| json!(item_kind));
                o.entry("apiVersion").or_insert_with(|| api_version.clone());
            }
            item
        })
        .collect()
}

/// Store one object as it is, status included: a restore, so uid,
/// generation and creationTimestamp are kept when given (see [`Store::restore`]).
pub fn insert(store: &Store, obj: Value) -> Result<Arc<Value>> {
    let api = obj["apiVersion"].as_str().unwrap_or("").to_string();
    let kind = obj["kind"].as_str().unwrap_or("").to_string();
    let res = resources::by_kind(&api, &kind)
        .ok_or_else(|| eyre!("the simulated cluster does not serve {kind} in {api:?}"))?;
    let ns = obj["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_string();
    let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
    if res.namespaced
        && store
            .get(
                resources::by_kind("v1", "Namespace").expect("served"),
                "",
                &ns,
            )
            .is_err()
    {
        insert(store, namespace(&ns))?;
    }
    store
        .restore(res, &ns, obj)
        .map_err(|e| eyre!("seeding {kind} {ns}/{name}: {e}"))
}

fn namespace(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    })
}

fn owner_reference_list(owner: &Value) -> Value {
    json!([owner_reference(owner)])
}

fn pod_template(app: &str, image: &str) -> Value {
    json!({
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": [{
            "name": app,
            "image": image,
            "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
        }]},
    })
}

/// How a ReplicaSet of a workload is labelled: Argo Rollouts and Deployments
/// use different hash labels and revision annotations.
struct RsStyle {
    hash_label: &'static str,
    revision_annotation: &'static str,
}

const ARGO: RsStyle = RsStyle {
    hash_label: "rollouts-pod-template-hash",
    revision_annotation: "rollout.argoproj.io/revision",
};
const DEPLOYMENT: RsStyle = RsStyle {
    hash_label: "pod-template-hash",
    revision_annotation: "deployment.kubernetes.io/revision",
};

/// A ReplicaSet of `owner` at `revision`, with `ready` running pods.
fn replica_set_with_pods(
    store: &Store,
    owner: &Value,
    style: &RsStyle,
    template: &Value,
    revision: u32,
    ready: u32,
) -> Result<String> {
    let hash = pod_template_hash(template);
    let owner_name = owner["metadata"]["name"].as_str().unwrap_or("");
    let ns = owner["metadata"]["namespace"].as_str().unwrap_or("default");
    let rs_name = format!("{owner_name}-{hash}");
    let mut tmpl = template.clone();
    tmpl["metadata"]["labels"][style.hash_label] = json!(hash);
    let labels = tmpl["metadata"]["labels"].clone();
    let rs = insert(
        store,
        json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": rs_name,
                "namespace": ns,
                "labels": labels,
                "annotations": {style.revision_annotation: revision.to_string()},
                "ownerReferences": owner_reference_list(owner),
            },
            "spec": {"replicas": ready, "selector": {"matchLabels": labels}, "template": tmpl},
            "status": {
                "replicas": ready, "readyReplicas": ready, "availableReplicas": ready,
                "fullyLabeledReplicas": ready, "observedGeneration": 1,
            },
        }),
    )?;
    for i in 0..ready {
        let suffix: String = pod_template_hash(&json!([rs_name, i]))
            .chars()
            .take(5)
            .collect();
        let started = rs["metadata"]["creationTimestamp"].clone();
        insert(
            store,
            json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": format!("{rs_name}-{suffix}"),
                    "namespace": ns,
                    "labels": labels,
                    "ownerReferences": owner_reference_list(&rs),
                },
                "spec": tmpl["spec"],
                "status": {
                    "phase": "Running",
                    "podIP": format!("10.0.{revision}.{}", 10 + i),
                    "startTime": started,
                    "conditions": [
                        {"type": "Ready", "status": "True", "lastTransitionTime": started},
                        {"type": "ContainersReady", "status": "True", "lastTransitionTime": started},
                    ],
                    "containerStatuses": [{
                        "name": tmpl["spec"]["containers"][0]["name"],
                        "image": tmpl["spec"]["containers"][0]["image"],
                        "ready": true, "started": true, "restartCount": 0,
                        "state": {"running": {"startedAt": started}},
                    }],
                },
            }),
        )?;
    }
    Ok(hash)
}

fn service(ns: &str, name: &str, selector: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": "http", "protocol": "TCP", "name": "http"}]},
    })
}

/// The built-in starting state: namespaces, a canary part-way through, a steady Deployment.
pub fn load_default(store: &Store) -> Result<()> {
    for ns in ["default", "kube-system", "shop"] {
        insert(store, namespace(ns))?;
    }
    let stable_tmpl = pod_template("checkout", "registry.example/shop/checkout:1.4.2");
    let canary_tmpl = pod_template("checkout", "registry.example/shop/checkout:1.5.0");
    let steps = json!([
        {"setWeight": 20}, {"pause": {}}, {"setWeight": 50}, {"pause": {"duration": "5m"}}, {"setWeight": 100},
    ]);
    let rollout = insert(
        store,
        json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "metadata": {"name": "checkout", "namespace": "shop", "labels": {"app": "checkout"}},
            "spec": {
                "replicas": 5,
                "revisionHistoryLimit": 3,
                "selector": {"matchLabels": {"app": "checkout"}},
                "template": canary_tmpl,
                "strategy": {"canary": {
                    "canaryService": "checkout-canary",
                    "stableService": "checkout-stable",
                    "trafficRouting": {"istio": {"virtualService": {"name": "checkout", "routes": ["primary"]}}},
                    "steps": steps,
                }},
            },
        }),
    )?;
    let stable = replica_set_with_pods(store, &rollout, &ARGO, &stable_tmpl, 1, 4)?;
    let canary = replica_set_with_pods(store, &rollout, &ARGO, &canary_tmpl, 2, 1)?;
    insert(
        store,
        service(
            "shop",
            "checkout-stable",
            json!({"app": "checkout", "rollouts-pod-template-hash": stable}),
        ),
    )?;
    insert(
        store,
        service(
            "shop",
            "checkout-canary",
            json!({"app": "checkout", "rollouts-pod-template-hash": canary}),
        ),
    )?;
    insert(
        store,
        json!({
            "apiVersion": "networking.istio.io/v1beta1",
            "kind": "VirtualService",
            "metadata": {"name": "checkout", "namespace": "shop"},
            "spec": {"hosts": ["checkout"], "http": [{"name": "primary", "route": [
                {"destination": {"host": "checkout-stable"}, "weight": 80},
                {"destination": {"host": "checkout-canary"}, "weight": 20},
            ]}]},
        }),
    )?;
    let now = store.clock().now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let generation = rollout["metadata"]["generation"].clone();
    store
        .modify(resources::by_kind("argoproj.io/v1alpha1", "Rollout").expect("served"), "shop", "checkout", |r| {
            r["status"] = json!({
                "phase": "Paused",
                "message": "CanaryPauseStep",
                "observedGeneration": generation.to_string(),
                "currentStepIndex": 1,
                "currentStepHash": pod_template_hash(&steps),
                "currentPodHash": canary,
                "stableRS": stable,
                "controllerPause": true,
                "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": now}],
                "replicas": 5, "updatedReplicas": 1, "readyReplicas": 5, "availableReplicas": 5, "HPAReplicas": 5,
                "selector": format!("app=checkout"),
                "canary": {"weights": {
                    "canary": {"weight": 20, "serviceName": "checkout-canary", "podTemplateHash": canary},
                    "stable": {"weight": 80, "serviceName": "checkout-stable", "podTemplateHash": stable},
                }},
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "AvailableReason", "message": "Rollout has minimum availability", "lastUpdateTime": now, "lastTransitionTime": now},
                    {"type": "Paused", "status": "True", "reason": "RolloutPaused", "message": "Rollout is paused", "lastUpdateTime": now, "lastTransitionTime": now},
                    {"type": "Progressing", "status": "Unknown", "reason": "RolloutPaused", "message": "Rollout is paused", "lastUpdateTime": now, "lastTransitionTime": now},
                ],
            });
        })
        .map_err(|e| eyre!("seeding the checkout status: {e}"))?;

    let frontend_tmpl = pod_template("frontend", "registry.example/shop/frontend:2.8.0");
    let deployment = insert(
        store,
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "frontend", "namespace": "shop", "labels": {"app": "frontend"},
                          "annotations": {"deployment.kubernetes.io/revision": "1"}},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "frontend"}},
                "template": frontend_tmpl,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            },
        }),
    )?;
    let frontend_hash =
        replica_set_with_pods(store, &deployment, &DEPLOYMENT, &frontend_tmpl, 1, 3)?;
    insert(
        store,
        service("shop", "frontend", json!({"app": "frontend"})),
    )?;
    store
        .modify(resources::by_kind("apps/v1", "Deployment").expect("served"), "shop", "frontend", |d| {
            d["status"] = json!({
                "observedGeneration": 1,
                "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability.", "lastUpdateTime": now, "lastTransitionTime": now},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": format!("ReplicaSet \"frontend-{frontend_hash}\" has successfully progressed."), "lastUpdateTime": now, "lastTransitionTime": now},
                ],
            });
        })
        .map_err(|e| eyre!("seeding the frontend status: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::store::ListOptions;
    use std::sync::Arc;

    #[test]
    fn default_seed_has_a_paused_canary_with_its_replicasets_and_pods() {
        let store = Store::new(Arc::new(Clock::new(0.0)));
        load_default(&store).unwrap();
        let ro = resources::lookup("argoproj.io", "v1alpha1", "rollouts").unwrap();
        let r = store.get(ro, "shop", "checkout").unwrap();
        assert_eq!(r["status"]["phase"], "Paused");
        assert_eq!(r["status"]["observedGeneration"], "1");
        let rs = resources::lookup("apps", "v1", "replicasets").unwrap();
        let list = store
            .list(rs, Some("shop"), &ListOptions::default())
            .unwrap();
        assert_eq!(list.items.len(), 3);
        let pods = resources::lookup("", "v1", "pods").unwrap();
        assert_eq!(
            store
                .list(pods, Some("shop"), &ListOptions::default())
                .unwrap()
                .items
                .len(),
            8
        );
    }

    #[test]
    fn seed_files_may_hold_several_documents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed.yaml");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: team}\ndata: {k: v}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n",
        )
        .unwrap();
        let store = Store::new(Arc::new(Clock::new(0.0)));
        load_file(&store, &path).unwrap();
        let cm = resources::lookup("", "v1", "configmaps").unwrap();
        assert_eq!(store.get(cm, "team", "a").unwrap()["data"]["k"], "v");
        std::fs::write(&path, "apiVersion: v9\nkind: Widget\nmetadata: {name: a}\n").unwrap();
        assert!(load_file(&Store::new(Arc::new(Clock::new(0.0))), &path).is_err());
    }

    #[test]
    fn a_snapshot_keeps_its_owner_references() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.yaml");
        // As `kubectl get ro,rs -o yaml` writes it, then as the API answers a pod list.
        std::fs::write(
            &path,
            r#"apiVersion: v1
kind: List
items:
- apiVersion: argoproj.io/v1alpha1
  kind: Rollout
  metadata: {name: web, namespace: team, uid: ro-uid, generation: 7, creationTimestamp: "2024-01-02T03:04:05Z", resourceVersion: "4711"}
  spec: {replicas: 1}
  status: {observedGeneration: "7", phase: Healthy}
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata:
    name: web-abc
    namespace: team
    uid: rs-uid
    generation: 3
    ownerReferences: [{apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: web, uid: ro-uid, controller: true}]
  status: {replicas: 1}
---
apiVersion: v1
kind: PodList
items:
- metadata:
    name: web-abc-x
    namespace: team
    ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-abc, uid: rs-uid, controller: true}]
  status: {phase: Running}
"#,
        )
        .unwrap();
        let store = Store::new(Arc::new(Clock::new(0.0)));
        load_file(&store, &path).unwrap();
        let ro = resources::lookup("argoproj.io", "v1alpha1", "rollouts").unwrap();
        let rs = resources::lookup("apps", "v1", "replicasets").unwrap();
        let pods = resources::lookup("", "v1", "pods").unwrap();
        let rollout = store.get(ro, "team", "web").unwrap();
        assert_eq!(rollout["metadata"]["uid"], "ro-uid");
        assert_eq!(rollout["metadata"]["generation"], 7);
        assert_eq!(rollout["status"]["phase"], "Healthy");
        let owned = store.owned_by(rs, "ro-uid");
        assert_eq!(owned.len(), 1);
        assert_eq!(owned[0]["metadata"]["generation"], 3);
        let pod = &store.owned_by(pods, "rs-uid")[0];
        assert_eq!(
            (pod["kind"].as_str(), pod["apiVersion"].as_str()),
            (Some("Pod"), Some("v1"))
        );
        assert_eq!(pod["status"]["phase"], "Running");
    }

    #[test]
    fn template_hashes_are_stable_and_distinct() {
        let a = pod_template_hash(&json!({"image": "a"}));
        assert_eq!(a, pod_template_hash(&json!({"image": "a"})));
        assert_ne!(a, pod_template_hash(&json!({"image": "b"})));
        assert_eq!(a.len(), 10);
    }
}
