//! The three PATCH flavours a kube-apiserver accepts, applied to untyped JSON objects.
//!
//! The simulated API server stores objects as `serde_json::Value`, so strategic merge
//! patch cannot consult Go struct tags the way the real server does. Instead the list
//! merge keys are looked up by field name, which is unambiguous for the kinds the
//! simulator serves (Pod, Deployment, ReplicaSet, Job, Service, ConfigMap, Namespace,
//! Event and the pod templates inside them).

use std::fmt;

use serde_json::{Map, Value};

type Object = Map<String, Value>;

/// The patch flavour, selected by the request's `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// RFC 7386 JSON merge patch.
    Merge,
    /// RFC 6902 JSON patch.
    Json,
    /// Kubernetes strategic merge patch.
    Strategic,
}

impl PatchKind {
    /// Maps a `Content-Type` header to a patch kind.
    ///
    /// Server-side apply (`application/apply-patch+yaml`) and anything else unknown
    /// yield `None` so the caller can answer 415 Unsupported Media Type.
    pub fn from_content_type(ct: &str) -> Option<PatchKind> {
        let media_type = ct.split(';').next().unwrap_or_default().trim();
        match media_type.to_ascii_lowercase().as_str() {
            "application/merge-patch+json" => Some(PatchKind::Merge),
            "application/json-patch+json" => Some(PatchKind::Json),
            "application/strategic-merge-patch+json" => Some(PatchKind::Strategic),
            _ => None,
        }
    }
}

/// A patch that could not be decoded or applied; the message is meant for the client.
#[derive(Debug)]
pub struct PatchError(pub String);

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PatchError {}

fn err<T>(message: impl Into<String>) -> Result<T, PatchError> {
    Err(PatchError(message.into()))
}

/// Applies `patch_body` to a copy of `target` and returns the patched copy.
///
/// The target is never modified, so a failed patch leaves the stored object untouched.
pub fn apply_patch(
    kind: PatchKind,
    target: &Value,
    patch_body: &[u8],
) -> Result<Value, PatchError> {
    let patch: Value = serde_json::from_slice(patch_body)
        .map_err(|e| PatchError(format!("patch body is not valid JSON: {e}")))?;
    match kind {
        PatchKind::Merge => merge_patch(target, &patch),
        PatchKind::Json => json_patch(target, patch),
        PatchKind::Strategic => strategic_merge_patch(target, &patch),
    }
}

fn merge_patch(target: &Value, patch: &Value) -> Result<Value, PatchError> {
    if !patch.is_object() {
        return err("merge patch body must be a JSON object");
    }
    let mut doc = target.clone();
    json_patch::merge(&mut doc, patch);
    Ok(doc)
}

fn json_patch(target: &Value, patch: Value) -> Result<Value, PatchError> {
    let patch: json_patch::Patch = serde_json::from_value(patch)
        .map_err(|e| PatchError(format!("invalid JSON patch: {e}")))?;
    let mut doc = target.clone();
    json_patch::patch(&mut doc, &patch).map_err(|e| PatchError(format!("JSON patch {e}")))?;
    Ok(doc)
}

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";

fn strategic_merge_patch(target: &Value, patch: &Value) -> Result<Value, PatchError> {
    let Value::Object(patch) = patch else {
        return err("strategic merge patch body must be a JSON object");
    };
    let original = match target {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    // A top-level `$patch: delete` empties the object; the object itself must remain.
    Ok(Value::Object(
        merge_map(original, patch)?.unwrap_or_default(),
    ))
}

/// How a list field is combined with the patch's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListStrategy {
    /// The patch list replaces the original.
    Replace,
    /// Items are objects merged by the value of this key.
    MergeByKey(&'static str),
    /// A list of primitives merged as an ordered set.
    Union,
}

/// The strategy for the list stored under `field`, mirroring the `patchStrategy` and
/// `patchMergeKey` struct tags of the corresponding Kubernetes API types.
fn list_strategy(field: &str, original: &[Value], patch: &[Value]) -> ListStrategy {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates" => ListStrategy::MergeByKey("name"),
        "volumeMounts" => ListStrategy::MergeByKey("mountPath"),
        "volumeDevices" => ListStrategy::MergeByKey("devicePath"),
        "conditions" => ListStrategy::MergeByKey("type"),
        "ownerReferences" => ListStrategy::MergeByKey("uid"),
        "hostAliases" => ListStrategy::MergeByKey("ip"),
        "topologySpreadConstraints" => ListStrategy::MergeByKey("topologyKey"),
        "finalizers" => ListStrategy::Union,
        // Container ports merge on `containerPort`, Service ports on `port`.
        "ports" => {
            let has_container_port = original
                .iter()
                .chain(patch)
                .any(|item| item.get("containerPort").is_some());
            if has_container_port {
                ListStrategy::MergeByKey("containerPort")
            } else {
                ListStrategy::MergeByKey("port")
            }
        }
        _ => ListStrategy::Replace,
    }
}

/// Merges `patch` into `original`; `None` means the patch deleted the map.
fn merge_map(mut original: Object, patch: &Object) -> Result<Option<Object>, PatchError> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        match directive.as_str() {
            Some("replace") => original = Map::new(),
            Some("delete") => return Ok(None),
            _ => {
                return err(format!(
                    "unknown {DIRECTIVE} directive on a map: {directive}"
                ));
            }
        }
    }

    // Deletions refer to the live list, so they run before the patch's own list is merged.
    for (key, values) in patch {
        let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) else {
            continue;
        };
        let Value::Array(values) = values else {
            return err(format!("{key} must be a list"));
        };
        if let Some(Value::Array(items)) = original.get_mut(field) {
            items.retain(|item| !values.contains(item));
        }
    }

    for (key, patch_value) in patch {
        if key.starts_with('$') {
            continue;
        }
        let current = original
            .get_mut(key)
            .map(Value::take)
            .unwrap_or(Value::Null);
        match merge_value(key, current, patch_value)? {
            Some(merged) => {
                original.insert(key.clone(), merged);
            }
            // `retain` rather than `remove` keeps key order stable with `preserve_order`.
            None => original.retain(|k, _| k != key),
        }
    }

    for (key, order) in patch {
        let Some(field) = key.strip_prefix(SET_ELEMENT_ORDER) else {
            continue;
        };
        let Value::Array(order) = order else {
            return err(format!("{key} must be a list"));
        };
        if let Some(Value::Array(items)) = original.get_mut(field) {
            let strategy = list_strategy(field, items, order);
            *items = reorder(std::mem::take(items), order, strategy);
        }
    }

    if let Some(retain) = patch.get(RETAIN_KEYS) {
        let Some(retain) = retain.as_array() else {
            return err(format!("{RETAIN_KEYS} must be a list of strings"));
        };
        let mut keep = Vec::with_capacity(retain.len());
        for key in retain {
            let Some(key) = key.as_str() else {
                return err(format!("{RETAIN_KEYS} must be a list of strings"));
            };
            keep.push(key);
        }
        original.retain(|k, _| keep.contains(&k.as_str()));
    }

    Ok(Some(original))
}

/// Merges one field; `None` means the field is to be removed.
fn merge_value(field: &str, original: Value, patch: &Value) -> Result<Option<Value>, PatchError> {
    match patch {
        Value::Null => Ok(None),
        Value::Object(patch) => {
            let original = match original {
                Value::Object(map) => map,
                _ => Map::new(),
            };
            Ok(merge_map(original, patch)?.map(Value::Object))
        }
        Value::Array(patch) => {
            let original = match original {
                Value::Array(items) => items,
                _ => Vec::new(),
            };
            Ok(Some(Value::Array(merge_list(field, original, patch)?)))
        }
        scalar => Ok(Some(scalar.clone())),
    }
}

/// Resolves directives in a value that has nothing to merge with.
fn strip_directives(value: &Value) -> Result<Option<Value>, PatchError> {
    merge_value("", Value::Null, value)
}

fn is_replace_marker(item: &Value) -> bool {
    item.get(DIRECTIVE).and_then(Value::as_str) == Some("replace")
}

fn merge_list(
    field: &str,
    original: Vec<Value>,
    patch: &[Value],
) -> Result<Vec<Value>, PatchError> {
    if patch.iter().any(is_replace_marker) {
        return replacement_list(patch);
    }
    match list_strategy(field, &original, patch) {
        ListStrategy::Replace => replacement_list(patch),
        ListStrategy::MergeByKey(key) => merge_keyed_list(field, key, original, patch),
        ListStrategy::Union => {
            let mut merged = original;
            for item in patch {
                if !merged.contains(item) {
                    merged.push(item.clone());
                }
            }
            Ok(merged)
        }
    }
}

/// The patch's items as the new list, without `$patch: replace` markers or directives.
fn replacement_list(patch: &[Value]) -> Result<Vec<Value>, PatchError> {
    let mut items = Vec::with_capacity(patch.len());
    for item in patch.iter().filter(|item| !is_replace_marker(item)) {
        items.extend(strip_directives(item)?);
    }
    Ok(items)
}

fn merge_keyed_list(
    field: &str,
    key: &str,
    mut merged: Vec<Value>,
    patch: &[Value],
) -> Result<Vec<Value>, PatchError> {
    for item in patch {
        let Value::Object(item) = item else {
            return err(format!("items of {field} must be objects, got {item}"));
        };
        let Some(wanted) = item.get(key) else {
            return err(format!("item of {field} is missing its merge key {key:?}"));
        };
        if let Some(directive) = item.get(DIRECTIVE) {
            if directive.as_str() != Some("delete") {
                return err(format!(
                    "unknown {DIRECTIVE} directive in {field}: {directive}"
                ));
            }
            merged.retain(|existing| existing.get(key) != Some(wanted));
            continue;
        }
        match merged
            .iter_mut()
            .find(|existing| existing.get(key) == Some(wanted))
        {
            Some(existing) => {
                let base = match existing.take() {
                    Value::Object(map) => map,
                    _ => Map::new(),
                };
                *existing = Value::Object(merge_map(base, item)?.unwrap_or_default());
            }
            None => merged.push(Value::Object(
                merge_map(Map::new(), item)?.unwrap_or_default(),
            )),
        }
    }
    Ok(merged)
}

/// Puts the items named in `order` first, in that order; the rest follow as they were.
fn reorder(items: Vec<Value>, order: &[Value], strategy: ListStrategy) -> Vec<Value> {
    let same = |item: &Value, entry: &Value| match strategy {
        ListStrategy::MergeByKey(key) => match (item.get(key), entry.get(key)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        ListStrategy::Union | ListStrategy::Replace => item == entry,
    };
    let mut remaining: Vec<Option<Value>> = items.into_iter().map(Some).collect();
    let mut ordered = Vec::with_capacity(remaining.len());
    for entry in order {
        for slot in &mut remaining {
            if slot.as_ref().is_some_and(|item| same(item, entry)) {
                ordered.extend(slot.take());
            }
        }
    }
    ordered.extend(remaining.into_iter().flatten());
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apply(kind: PatchKind, target: &Value, patch: Value) -> Result<Value, PatchError> {
        apply_patch(kind, target, patch.to_string().as_bytes())
    }

    fn strategic(target: &Value, patch: Value) -> Value {
        apply(PatchKind::Strategic, target, patch).expect("strategic patch applies")
    }

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web",
                "namespace": "default",
                "finalizers": ["a", "b", "c"],
            },
            "spec": {
                "replicas": 2,
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                },
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": "app:1",
                                "env": [
                                    {"name": "A", "value": "1"},
                                    {"name": "B", "value": "2"},
                                ],
                                "args": ["--x", "--y"],
                            },
                            {"name": "sidecar", "image": "proxy:1"},
                        ],
                        "tolerations": [{"key": "k1", "operator": "Exists"}],
                    },
                },
            },
        })
    }

    #[test]
    fn content_types() {
        assert_eq!(
            PatchKind::from_content_type("application/merge-patch+json"),
            Some(PatchKind::Merge)
        );
        assert_eq!(
            PatchKind::from_content_type("application/json-patch+json; charset=utf-8"),
            Some(PatchKind::Json)
        );
        assert_eq!(
            PatchKind::from_content_type("application/strategic-merge-patch+json"),
            Some(PatchKind::Strategic)
        );
        assert_eq!(
            PatchKind::from_content_type("application/apply-patch+yaml"),
            None
        );
        assert_eq!(PatchKind::from_content_type("application/json"), None);
    }

    #[test]
    fn merge_patch_nulls_delete_keys() {
        let target = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "data": {"k": "v"}});
        let out = apply(
            PatchKind::Merge,
            &target,
            json!({"metadata": {"labels": {"a": null, "c": "3"}}, "data": null}),
        )
        .unwrap();
        assert_eq!(out, json!({"metadata": {"labels": {"b": "2", "c": "3"}}}));
    }

    #[test]
    fn merge_patch_rejects_non_object_body() {
        assert!(apply(PatchKind::Merge, &json!({}), json!([1])).is_err());
        assert!(apply_patch(PatchKind::Merge, &json!({}), b"not json").is_err());
    }

    #[test]
    fn json_patch_replaces_template() {
        let template = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}});
        let out = apply(
            PatchKind::Json,
            &deployment(),
            json!([{"op": "replace", "path": "/spec/template", "value": template}]),
        )
        .unwrap();
        assert_eq!(out["spec"]["template"], template);
        assert_eq!(out["spec"]["replicas"], json!(2));
    }

    #[test]
    fn json_patch_failed_test_is_an_error() {
        let target = deployment();
        let e = apply(
            PatchKind::Json,
            &target,
            json!([
                {"op": "replace", "path": "/spec/replicas", "value": 5},
                {"op": "test", "path": "/spec/replicas", "value": 3},
            ]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("/spec/replicas"), "{e}");
        assert_eq!(target["spec"]["replicas"], json!(2));

        let missing = apply(
            PatchKind::Json,
            &target,
            json!([{"op": "remove", "path": "/spec/nope/x"}]),
        );
        assert!(missing.is_err());
        assert!(apply(PatchKind::Json, &target, json!({"op": "add"})).is_err());
    }

    #[test]
    fn strategic_pause() {
        let out = strategic(&deployment(), json!({"spec": {"paused": true}}));
        assert_eq!(out["spec"]["paused"], json!(true));
        assert_eq!(out["spec"]["replicas"], json!(2));
        assert_eq!(out["spec"]["template"], deployment()["spec"]["template"]);
    }

    #[test]
    fn strategic_rollout_restart() {
        let out = strategic(
            &deployment(),
            json!({"spec": {"template": {"metadata": {"annotations": {
                "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"
            }}}}}),
        );
        let metadata = &out["spec"]["template"]["metadata"];
        assert_eq!(
            metadata["annotations"]["kubectl.kubernetes.io/restartedAt"],
            json!("2026-01-01T00:00:00Z")
        );
        assert_eq!(metadata["labels"], json!({"app": "web"}));
    }

    #[test]
    fn strategic_container_image_by_name() {
        let out = strategic(
            &deployment(),
            json!({"spec": {"template": {"spec": {"containers": [
                {"name": "app", "image": "app:2"}
            ]}}}}),
        );
        let containers = out["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap();
        assert_eq!(containers.len(), 2);
        assert_eq!(containers[0]["name"], json!("app"));
        assert_eq!(containers[0]["image"], json!("app:2"));
        assert_eq!(containers[0]["env"].as_array().unwrap().len(), 2);
        assert_eq!(
            containers[1],
            json!({"name": "sidecar", "image": "proxy:1"})
        );
    }

    #[test]
    fn strategic_new_container_is_appended() {
        let out = strategic(
            &deployment(),
            json!({"spec": {"template": {"spec": {"containers": [
                {"name": "extra", "image": "extra:1"}
            ]}}}}),
        );
        let names: Vec<_> = out["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].clone())
            .collect();
        assert_eq!(names, [json!("app"), json!("sidecar"), json!("extra")]);
    }

    #[test]
    fn strategic_env_item_delete() {
        let out = strategic(
            &deployment(),
            json!({"spec": {"template": {"spec": {"containers": [
                {"name": "app", "env": [{"name": "A", "$patch": "delete"}, {"name": "C", "value": "3"}]}
            ]}}}}),
        );
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][0]["env"],
            json!([{"name": "B", "value": "2"}, {"name": "C", "value": "3"}])
        );
    }

    #[test]
    fn strategic_set_element_order() {
        let out = strategic(
            &deployment(),
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
                "containers": [{"name": "app", "image": "app:3"}],
            }}}}),
        );
        let spec = &out["spec"]["template"]["spec"];
        assert_eq!(spec["containers"][0]["name"], json!("sidecar"));
        assert_eq!(spec["containers"][1]["name"], json!("app"));
        assert_eq!(spec["containers"][1]["image"], json!("app:3"));
        assert!(spec.get("$setElementOrder/containers").is_none());
    }

    #[test]
    fn strategic_retain_keys() {
        let out = strategic(
            &deployment(),
            json!({"spec": {"strategy": {
                "$retainKeys": ["type"],
                "type": "Recreate",
                "rollingUpdate": null,
            }}}),
        );
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    }

    #[test]
    fn strategic_delete_from_primitive_list() {
        let out = strategic(
            &deployment(),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "c"]));

        let out = strategic(
            &deployment(),
            json!({"metadata": {"finalizers": ["c", "d"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b", "c", "d"]));
    }

    #[test]
    fn strategic_service_ports_merge_by_port() {
        let service = json!({
            "kind": "Service",
            "spec": {"ports": [
                {"name": "http", "port": 80, "targetPort": 8080},
                {"name": "https", "port": 443, "targetPort": 8443},
            ]},
        });
        let out = strategic(
            &service,
            json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}, {"port": 9000}]}}),
        );
        assert_eq!(
            out["spec"]["ports"],
            json!([
                {"name": "http", "port": 80, "targetPort": 9090},
                {"name": "https", "port": 443, "targetPort": 8443},
                {"port": 9000},
            ])
        );
    }

    #[test]
    fn strategic_container_ports_merge_by_container_port() {
        let pod = json!({"spec": {"containers": [{"name": "app", "ports": [
            {"containerPort": 80, "protocol": "TCP"}
        ]}]}});
        let out = strategic(
            &pod,
            json!({"spec": {"containers": [{"name": "app", "ports": [
                {"containerPort": 80, "name": "http"}
            ]}]}}),
        );
        assert_eq!(
            out["spec"]["containers"][0]["ports"],
            json!([{"containerPort": 80, "protocol": "TCP", "name": "http"}])
        );
    }

    #[test]
    fn strategic_list_without_merge_key_is_replaced() {
        let out = strategic(
            &deployment(),
            json!({"spec": {"template": {"spec": {
                "tolerations": [{"key": "k2", "operator": "Exists"}],
                "containers": [{"name": "app", "args": ["--z"]}],
            }}}}),
        );
        let spec = &out["spec"]["template"]["spec"];
        assert_eq!(
            spec["tolerations"],
            json!([{"key": "k2", "operator": "Exists"}])
        );
        assert_eq!(spec["containers"][0]["args"], json!(["--z"]));
    }

    #[test]
    fn strategic_replace_directives() {
        let out = strategic(
            &deployment(),
            json!({"spec": {
                "strategy": {"$patch": "replace", "type": "Recreate"},
                "template": {"spec": {"containers": [
                    {"$patch": "replace"},
                    {"name": "only", "image": "only:1"},
                ]}},
            }}),
        );
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "only", "image": "only:1"}])
        );
    }

    #[test]
    fn strategic_delete_map_and_null() {
        let out = strategic(
            &deployment(),
            json!({"spec": {"strategy": {"$patch": "delete"}, "replicas": null}}),
        );
        assert!(out["spec"].get("strategy").is_none());
        assert!(out["spec"].get("replicas").is_none());
    }

    #[test]
    fn strategic_missing_field_gets_stripped_patch() {
        let out = strategic(
            &json!({"kind": "ConfigMap"}),
            json!({"data": {"a": "1", "b": null}, "metadata": {
                "$setElementOrder/finalizers": ["x"],
                "finalizers": ["x"],
                "ownerReferences": [{"uid": "u1", "$patch": "delete"}, {"uid": "u2", "name": "o"}],
            }}),
        );
        assert_eq!(
            out,
            json!({
                "kind": "ConfigMap",
                "data": {"a": "1"},
                "metadata": {"finalizers": ["x"], "ownerReferences": [{"uid": "u2", "name": "o"}]},
            })
        );
    }

    #[test]
    fn strategic_bad_inputs_do_not_panic() {
        let target = deployment();
        for patch in [
            json!([1, 2]),
            json!("x"),
            json!({"spec": {"template": {"spec": {"containers": ["app"]}}}}),
            json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
            json!({"spec": {"$patch": "bogus"}}),
            json!({"spec": {"$retainKeys": "replicas"}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}),
            json!({"spec": {"$setElementOrder/containers": {}}}),
        ] {
            assert!(
                apply(PatchKind::Strategic, &target, patch.clone()).is_err(),
                "{patch}"
            );
        }
        for target in [json!(null), json!(3), json!(["a"])] {
            let out = strategic(&target, json!({"spec": {"paused": true}}));
            assert_eq!(out, json!({"spec": {"paused": true}}));
        }
        let out = strategic(
            &target,
            json!({"spec": {"template": 7, "replicas": {"a": 1}}}),
        );
        assert_eq!(out["spec"]["template"], json!(7));
        assert_eq!(out["spec"]["replicas"], json!({"a": 1}));
    }
}
