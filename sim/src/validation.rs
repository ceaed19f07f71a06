//! Server-side field validation (`?fieldValidation=Strict|Warn|Ignore`), as
//! kubectl ≥ 1.27 asks for it instead of validating on its side.
//!
//! Built-in kinds are checked against their k8s-openapi types: the body goes
//! through the typed struct and back, and any key that did not survive is a
//! field the type does not have. Custom resources are not checked: the
//! simulator keeps no schema for them, so their fields are preserved as a CRD
//! with `x-kubernetes-preserve-unknown-fields` would.

use super::api_error::ApiError;
use super::patch::PatchKind;
use super::resources::ResourceDef;
use k8s_openapi::api::{apps, batch, core, events};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

/// What the client asked the server to do with unknown or duplicate fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

impl FieldValidation {
    /// The query parameter's value. Absent means Ignore here: a real server
    /// warns by default, but the simulator checks only when asked.
    pub fn from_query(value: Option<&str>) -> Result<Self, ApiError> {
        match value {
            None | Some("") | Some("Ignore") => Ok(FieldValidation::Ignore),
            Some("Warn") => Ok(FieldValidation::Warn),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation parameter unsupported: {other:?}: must be one of Ignore, Warn or Strict"
            ))),
        }
    }
}

/// Sends a body through a typed struct and back.
type RoundTrip = fn(Value) -> Result<Value, serde_json::Error>;

fn round_trip<T: DeserializeOwned + Serialize>(body: Value) -> Result<Value, serde_json::Error> {
    serde_json::to_value(serde_json::from_value::<T>(body)?)
}

/// The built-in kinds the simulator serves, with their typed form.
const BUILT_IN: &[(&str, &str, RoundTrip)] = &[
    ("v1", "Namespace", round_trip::<core::v1::Namespace>),
    ("v1", "Pod", round_trip::<core::v1::Pod>),
    ("v1", "Service", round_trip::<core::v1::Service>),
    ("v1", "Event", round_trip::<core::v1::Event>),
    ("v1", "ConfigMap", round_trip::<core::v1::ConfigMap>),
    ("apps/v1", "Deployment", round_trip::<apps::v1::Deployment>),
    ("apps/v1", "ReplicaSet", round_trip::<apps::v1::ReplicaSet>),
    ("batch/v1", "Job", round_trip::<batch::v1::Job>),
    ("events.k8s.io/v1", "Event", round_trip::<events::v1::Event>),
];

fn typed(res: &ResourceDef) -> Option<RoundTrip> {
    BUILT_IN
        .iter()
        .find(|(api_version, kind, _)| *kind == res.kind && res.has_api_version(api_version))
        .map(|(_, _, f)| *f)
}

/// Whether the kind is one of Kubernetes' own (as opposed to a custom resource).
pub fn is_built_in(res: &ResourceDef) -> bool {
    typed(res).is_some() || res.virtual_create
}

/// Check an object, or a merge or strategic-merge patch of one, written to
/// `res`. Strict turns unknown fields into a 400; Warn returns them as
/// warnings for the `Warning` header. A value of the wrong type is a 400
/// either way, as it is on a real server.
pub fn check(
    res: &ResourceDef,
    mode: FieldValidation,
    body: &Value,
) -> Result<Vec<String>, ApiError> {
    let Some(round_trip) = typed(res).filter(|_| mode != FieldValidation::Ignore) else {
        return Ok(Vec::new());
    };
    let mut sent = without_directives(body);
    if let Value::Object(top) = &mut sent {
        // Routing has already matched them to the URL; the typed check would
        // only repeat that.
        top.remove("apiVersion");
        top.remove("kind");
    }
    let cannot_handle = |why: String| {
        ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: {why}",
            kind = res.kind,
            version = res.version
        ))
    };
    let kept = round_trip(sent.clone()).map_err(|e| cannot_handle(e.to_string()))?;
    let mut unknown = Vec::new();
    lost_fields(&sent, &kept, "", &mut unknown);
    let unknown: Vec<String> = unknown
        .into_iter()
        .map(|path| format!("unknown field \"{path}\""))
        .collect();
    match mode {
        FieldValidation::Strict if !unknown.is_empty() => Err(cannot_handle(format!(
            "strict decoding error: {}",
            unknown.join(", ")
        ))),
        _ => Ok(unknown),
    }
}

/// Check a PATCH body. JSON patches (lists of operations) are not checked;
/// a body that is not JSON is left for the patch step to report.
pub fn check_patch(
    res: &ResourceDef,
    mode: FieldValidation,
    kind: PatchKind,
    body: &[u8],
) -> Result<Vec<String>, ApiError> {
    if mode == FieldValidation::Ignore || kind == PatchKind::Json {
        return Ok(Vec::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(patch) => check(res, mode, &patch),
        Err(_) => Ok(Vec::new()),
    }
}

/// Maps of quantities, and single quantities, in the kinds checked.
const QUANTITY_MAPS: &[&str] = &["limits", "requests", "overhead", "allocatedResources"];
const QUANTITIES: &[&str] = &["sizeLimit", "divisor"];

/// The body as its typed struct reads it: without nulls (a patch's
/// deletions) and `$`-keys (strategic merge directives), which are not
/// fields, and with quantities written as numbers (`cpu: 1`, which the API
/// takes) as strings, the only form k8s-openapi reads.
fn without_directives(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, v)| !v.is_null() && !k.starts_with('$'))
                .map(|(k, v)| {
                    let v = match v {
                        Value::Number(n) if QUANTITIES.contains(&k.as_str()) => {
                            Value::String(n.to_string())
                        }
                        Value::Object(m) if QUANTITY_MAPS.contains(&k.as_str()) => Value::Object(
                            m.iter()
                                .map(|(k, v)| match v {
                                    Value::Number(n) => (k.clone(), Value::String(n.to_string())),
                                    other => (k.clone(), other.clone()),
                                })
                                .collect(),
                        ),
                        other => without_directives(other),
                    };
                    (k.clone(), v)
                })
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_directives).collect()),
        other => other.clone(),
    }
}

/// Paths (`spec.template.spec.containers[0].imagePullPolice`) of keys in
/// `sent` that are missing from `kept`.
fn lost_fields(sent: &Value, kept: &Value, path: &str, out: &mut Vec<String>) {
    match (sent, kept) {
        (Value::Object(sent), Value::Object(kept)) => {
            for (key, value) in sent {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match kept.get(key) {
                    Some(k) => lost_fields(value, k, &here, out),
                    None => out.push(here),
                }
            }
        }
        (Value::Array(sent), Value::Array(kept)) => {
            for (i, (s, k)) in sent.iter().zip(kept).enumerate() {
                lost_fields(s, k, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::lookup;
    use serde_json::json;

    fn passes_strict(res: &ResourceDef, body: &Value) -> bool {
        check(res, FieldValidation::Strict, body).is_ok_and(|w| w.is_empty())
    }

    fn deployments() -> &'static ResourceDef {
        lookup("apps", "v1", "deployments").unwrap()
    }

    fn deployment(container: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}, "creationTimestamp": null},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [container]},
                },
            },
            "status": {},
        })
    }

    #[test]
    fn a_valid_deployment_passes_strict() {
        let body = deployment(json!({
            "name": "web", "image": "nginx", "ports": [{"containerPort": 80}],
            "resources": {"limits": {"cpu": 1, "memory": "1Gi"}, "requests": {"cpu": 0.5}},
        }));
        assert!(passes_strict(deployments(), &body));
    }

    #[test]
    fn unknown_fields_are_named_by_path() {
        let mut body = deployment(json!({"name": "web", "image": "nginx", "imagePullPolice": "x"}));
        body["spec"]["replica"] = json!(3);
        let e = check(deployments(), FieldValidation::Strict, &body).unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(
            e.message,
            "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.replica\", unknown field \"spec.template.spec.containers[0].imagePullPolice\""
        );
        let warnings = check(deployments(), FieldValidation::Warn, &body).unwrap();
        assert_eq!(warnings.len(), 2);
        assert!(
            check(deployments(), FieldValidation::Ignore, &body)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn patches_with_deletions_and_directives_pass() {
        let patch = json!({
            "metadata": {"annotations": {"a": null}},
            "spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "web"}],
                "containers": [{"name": "web", "image": "nginx:2"}],
            }}},
        });
        assert!(passes_strict(deployments(), &patch));
    }

    #[test]
    fn wrong_types_are_bad_requests_and_custom_resources_pass() {
        let mut body = deployment(json!({"name": "web", "image": "nginx"}));
        body["spec"]["replicas"] = json!("two");
        assert_eq!(
            check(deployments(), FieldValidation::Warn, &body)
                .unwrap_err()
                .code,
            400
        );
        let rollouts = lookup("argoproj.io", "v1alpha1", "rollouts").unwrap();
        assert!(passes_strict(rollouts, &json!({"spec": {"anything": 1}})));
        assert!(is_built_in(deployments()) && !is_built_in(rollouts));
    }

    #[test]
    fn the_parameter_is_parsed_like_the_apiserver() {
        assert_eq!(
            FieldValidation::from_query(Some("Strict")).unwrap(),
            FieldValidation::Strict
        );
        assert_eq!(
            FieldValidation::from_query(None).unwrap(),
            FieldValidation::Ignore
        );
        assert_eq!(
            FieldValidation::from_query(Some("strict"))
                .unwrap_err()
                .code,
            400
        );
    }
}
