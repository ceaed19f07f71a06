//! The OpenAPI documents kubectl reads before it writes: `/openapi/v3` (an
//! index of one document per group-version) and `/openapi/v2` (all in one).
//!
//! kubectl ≥ 1.27 looks in the v3 document of the object's group-version for
//! a PATCH operation with the object's `x-kubernetes-group-version-kind` that
//! takes `fieldValidation`; finding it, it leaves validation to the server
//! (see `validation`); only for a `kind: List` manifest does it validate on
//! its side, against `/openapi/v2` read as protobuf (see `openapi_proto`).
//! The schemas are deliberately shallow: `apiVersion`,
//! `kind`, `metadata` and the body's top-level fields, each preserving
//! unknown fields below.
//!
//! Strategic merge patch is not listed among the PATCH bodies although the
//! server takes it: kubectl computes such a patch from the documents'
//! merge keys when they claim it, and these schemas do not describe them;
//! without the claim it computes from its compiled-in types, which is right.

use super::api_error::ApiError;
use super::resources::{RESOURCES, ResourceDef};
use super::{openapi_proto, validation};
use serde_json::{Map, Value, json};

/// Which OpenAPI the document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    V2,
    V3,
}

impl Flavour {
    fn reference(self, name: &str) -> Value {
        match self {
            Flavour::V2 => json!({"$ref": format!("#/definitions/{name}")}),
            Flavour::V3 => json!({"$ref": format!("#/components/schemas/{name}")}),
        }
    }
}

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
const SCALE: &str = "io.k8s.api.autoscaling.v1.Scale";

/// The patch bodies the server takes, less strategic merge (see above).
const PATCH_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
];

/// Top-level body fields of kinds that are not `spec` and `status`.
const BODIES: &[(&str, &[&str])] = &[
    ("ConfigMap", &["data", "binaryData", "immutable"]),
    ("SelfSubjectReview", &["status"]),
    (
        "Event",
        &[
            "action",
            "count",
            "deprecatedCount",
            "deprecatedFirstTimestamp",
            "deprecatedLastTimestamp",
            "deprecatedSource",
            "eventTime",
            "firstTimestamp",
            "involvedObject",
            "lastTimestamp",
            "message",
            "note",
            "reason",
            "regarding",
            "related",
            "reportingComponent",
            "reportingController",
            "reportingInstance",
            "series",
            "source",
            "type",
        ],
    ),
];

/// Query parameters of each action, as the real server documents them.
fn query_parameters(action: &str) -> &'static [&'static str] {
    match action {
        "list" => &[
            "allowWatchBookmarks",
            "continue",
            "fieldSelector",
            "labelSelector",
            "limit",
            "resourceVersion",
            "sendInitialEvents",
            "timeoutSeconds",
            "watch",
        ],
        "post" | "put" => &["dryRun", "fieldManager", "fieldValidation"],
        "patch" => &["dryRun", "fieldManager", "fieldValidation", "force"],
        "delete" | "deletecollection" => &["dryRun", "gracePeriodSeconds", "propagationPolicy"],
        _ => &[],
    }
}

/// `io.k8s.api.apps.v1.Deployment` for built-in kinds, the group reversed
/// (`io.argoproj.v1alpha1.Rollout`) for custom resources, as real servers name them.
fn schema_name(res: &ResourceDef, kind: &str) -> String {
    if validation::is_built_in(res) {
        let group = match res.group {
            "" => "core",
            g => g.strip_suffix(".k8s.io").unwrap_or(g),
        };
        format!("io.k8s.api.{group}.{}.{kind}", res.version)
    } else {
        let reversed: Vec<&str> = res.group.split('.').rev().collect();
        format!("{}.{}.{kind}", reversed.join("."), res.version)
    }
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "version": version, "kind": kind})
}

fn loose_object(description: &str) -> Value {
    json!({"type": "object", "description": description, "x-kubernetes-preserve-unknown-fields": true})
}

fn kind_schema(res: &ResourceDef, flavour: Flavour) -> Value {
    let fields = BODIES
        .iter()
        .find(|(kind, _)| *kind == res.kind)
        .map_or(&["spec", "status"][..], |(_, f)| f);
    let mut properties = Map::new();
    properties.insert("apiVersion".into(), json!({"type": "string"}));
    properties.insert("kind".into(), json!({"type": "string"}));
    properties.insert("metadata".into(), flavour.reference(OBJECT_META));
    for field in fields {
        properties.insert(
            (*field).to_string(),
            json!({"description": format!("{}.{field}: not described here; any value is kept", res.kind), "x-kubernetes-preserve-unknown-fields": true}),
        );
    }
    json!({
        "type": "object",
        "description": format!("{} ({})", res.kind, res.api_version()),
        "properties": properties,
        "x-kubernetes-group-version-kind": [gvk(res.group, res.version, res.kind)],
    })
}

fn list_schema(res: &ResourceDef, flavour: Flavour) -> Value {
    let kind = format!("{}List", res.kind);
    json!({
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": flavour.reference(LIST_META),
            "items": {"type": "array", "items": flavour.reference(&schema_name(res, res.kind))},
        },
        "x-kubernetes-group-version-kind": [gvk(res.group, res.version, &kind)],
    })
}

/// The schemas the paths of `resources` refer to.
fn schemas(resources: &[&ResourceDef], flavour: Flavour) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert(
        OBJECT_META.into(),
        loose_object("ObjectMeta: the metadata every object has"),
    );
    out.insert(
        LIST_META.into(),
        loose_object("ListMeta: the metadata of a list"),
    );
    out.insert(
        PATCH.into(),
        json!({"type": "object", "description": "the body of a PATCH request"}),
    );
    out.insert(
        STATUS.into(),
        loose_object("Status: the outcome of a request that returns no object"),
    );
    for res in resources {
        out.insert(schema_name(res, res.kind), kind_schema(res, flavour));
        if !res.virtual_create {
            out.insert(
                schema_name(res, &format!("{}List", res.kind)),
                list_schema(res, flavour),
            );
        }
        if res.scale {
            out.insert(
                SCALE.into(),
                json!({
                    "type": "object",
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": flavour.reference(OBJECT_META),
                        "spec": {"type": "object", "properties": {"replicas": {"type": "integer", "format": "int32"}}},
                        "status": {"type": "object", "properties": {"replicas": {"type": "integer", "format": "int32"}, "selector": {"type": "string"}}},
                    },
                    "x-kubernetes-group-version-kind": [gvk("autoscaling", "v1", "Scale")],
                }),
            );
        }
    }
    out
}

fn parameter(name: &str, location: &str, flavour: Flavour) -> Value {
    let ty = match name {
        "limit" | "timeoutSeconds" | "gracePeriodSeconds" => "integer",
        "allowWatchBookmarks" | "watch" | "sendInitialEvents" | "force" => "boolean",
        _ => "string",
    };
    let mut p = json!({"name": name, "in": location, "uniqueItems": true});
    if location == "path" {
        p["required"] = json!(true);
    }
    match flavour {
        Flavour::V2 => p["type"] = json!(ty),
        Flavour::V3 => p["schema"] = json!({"type": ty, "uniqueItems": true}),
    }
    p
}

/// One operation on one path.
struct Op {
    method: &'static str,
    action: &'static str,
    /// The group, version and kind the operation is about.
    gvk: (&'static str, &'static str, &'static str),
    /// The schema of the request body (none for reads and deletes).
    body: Option<(String, &'static [&'static str])>,
    response: String,
}

/// A v3 `content`: the schema under each media type.
fn content(types: &[&str], schema: Value) -> Value {
    let map: Map<String, Value> = types
        .iter()
        .map(|t| ((*t).to_string(), json!({"schema": schema})))
        .collect();
    Value::Object(map)
}

impl Op {
    fn render(&self, flavour: Flavour) -> Value {
        let (group, version, kind) = self.gvk;
        let mut parameters: Vec<Value> = query_parameters(self.action)
            .iter()
            .map(|p| parameter(p, "query", flavour))
            .collect();
        // Answers are JSON whatever the client accepts.
        let json_types = ["application/json"];
        let mut op = json!({
            "operationId": format!("{}{kind}", self.action),
            "x-kubernetes-action": self.action,
            "x-kubernetes-group-version-kind": gvk(group, version, kind),
        });
        match flavour {
            Flavour::V2 => {
                if let Some((schema, types)) = &self.body {
                    parameters.push(json!({"name": "body", "in": "body", "required": true, "schema": flavour.reference(schema)}));
                    op["consumes"] = json!(types);
                }
                op["produces"] = json!(json_types);
                op["responses"] = json!({"200": {"description": "OK", "schema": flavour.reference(&self.response)}, "401": {"description": "Unauthorized"}});
            }
            Flavour::V3 => {
                if let Some((schema, types)) = &self.body {
                    let body = content(types, flavour.reference(schema));
                    op["requestBody"] = json!({"content": body, "required": true});
                }
                let answer = content(&json_types, flavour.reference(&self.response));
                op["responses"] = json!({"200": {"description": "OK", "content": answer}, "401": {"description": "Unauthorized"}});
            }
        }
        op["parameters"] = Value::Array(parameters);
        op
    }
}

/// The paths of one resource, each with its operations.
fn resource_paths(res: &ResourceDef, flavour: Flavour) -> Map<String, Value> {
    let kind_ref = schema_name(res, res.kind);
    let list_ref = schema_name(res, &format!("{}List", res.kind));
    let object_gvk = (res.group, res.version, res.kind);
    let served = |verb: &str| res.verbs.contains(&verb);
    let prefix = match res.namespaced {
        true => format!(
            "{}/namespaces/{{namespace}}/{}",
            res.group_version_path(),
            res.plural
        ),
        false => format!("{}/{}", res.group_version_path(), res.plural),
    };
    let scope = if res.namespaced {
        &["namespace"][..]
    } else {
        &[]
    };
    let mut paths = Map::new();
    let mut add = |path: String, path_params: &[&str], ops: Vec<Op>| {
        if ops.is_empty() {
            return;
        }
        let mut item = Map::new();
        for op in &ops {
            item.insert(op.method.to_string(), op.render(flavour));
        }
        let mut params: Vec<Value> = path_params
            .iter()
            .map(|p| parameter(p, "path", flavour))
            .collect();
        params.push(parameter("pretty", "query", flavour));
        item.insert("parameters".into(), Value::Array(params));
        paths.insert(path, Value::Object(item));
    };
    let op = |method, action, body: Option<&str>, types, response: &str| Op {
        method,
        action,
        gvk: object_gvk,
        body: body.map(|b| (b.to_string(), types)),
        response: response.to_string(),
    };
    let json_body: &'static [&'static str] = &["application/json"];
    let mut collection = Vec::new();
    if served("list") {
        collection.push(op("get", "list", None, json_body, &list_ref));
    }
    if served("create") {
        collection.push(op("post", "post", Some(&kind_ref), json_body, &kind_ref));
    }
    if served("deletecollection") {
        collection.push(op("delete", "deletecollection", None, json_body, STATUS));
    }
    add(prefix.clone(), scope, collection);
    if res.namespaced && served("list") {
        let all = format!("{}/{}", res.group_version_path(), res.plural);
        add(
            all,
            &[],
            vec![op("get", "list", None, json_body, &list_ref)],
        );
    }
    if res.virtual_create {
        return paths;
    }
    let item_params: Vec<&str> = ["name"].into_iter().chain(scope.iter().copied()).collect();
    let read_write = |gvk: (&'static str, &'static str, &'static str), schema: &str| {
        [
            op("get", "get", None, json_body, schema),
            op("put", "put", Some(schema), json_body, schema),
            op("patch", "patch", Some(PATCH), PATCH_TYPES, schema),
        ]
        .into_iter()
        .map(|o| Op { gvk, ..o })
        .collect::<Vec<_>>()
    };
    let mut item = read_write(object_gvk, &kind_ref);
    item.push(op("delete", "delete", None, json_body, &kind_ref));
    add(format!("{prefix}/{{name}}"), &item_params, item);
    if res.status {
        add(
            format!("{prefix}/{{name}}/status"),
            &item_params,
            read_write(object_gvk, &kind_ref),
        );
    }
    if res.scale {
        add(
            format!("{prefix}/{{name}}/scale"),
            &item_params,
            read_write(("autoscaling", "v1", "Scale"), SCALE),
        );
    }
    paths
}

fn info() -> Value {
    json!({"title": "Kubernetes", "version": super::server::VERSION})
}

/// `api/v1` or `apis/<group>/<version>`: the key of a group-version in the v3 index.
fn v3_key(res: &ResourceDef) -> String {
    res.group_version_path().trim_start_matches('/').to_string()
}

/// The v3 document of one group-version (`api/v1`, `apis/apps/v1`), if served.
pub fn v3_document(key: &str) -> Option<Value> {
    let resources: Vec<&ResourceDef> = RESOURCES.iter().filter(|r| v3_key(r) == key).collect();
    if resources.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    for res in &resources {
        paths.extend(resource_paths(res, Flavour::V3));
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": info(),
        "paths": paths,
        "components": {"schemas": schemas(&resources, Flavour::V3)},
    }))
}

/// `/openapi/v3`: where each group-version's document is. The hash changes
/// when the document does, so clients may cache by URL.
pub fn v3_index() -> Value {
    let mut paths = Map::new();
    for res in RESOURCES {
        let key = v3_key(res);
        if paths.contains_key(&key) {
            continue;
        }
        let doc = v3_document(&key).unwrap_or_default();
        let url = format!("/openapi/v3/{key}?hash={}", fingerprint(&doc.to_string()));
        paths.insert(key, json!({"serverRelativeURL": url}));
    }
    json!({"paths": paths})
}

/// `/openapi/v2`: every path and definition in one Swagger 2.0 document.
pub fn v2_document() -> Value {
    let resources: Vec<&ResourceDef> = RESOURCES.iter().collect();
    let mut paths = Map::new();
    for res in &resources {
        paths.extend(resource_paths(res, Flavour::V2));
    }
    json!({
        "swagger": "2.0",
        "info": info(),
        "paths": paths,
        "definitions": schemas(&resources, Flavour::V2),
    })
}

/// The document at `path` (`/openapi/v2`, `/openapi/v3`,
/// `/openapi/v3/apis/apps/v1`) as (content type, body), `None` when the path
/// is not an OpenAPI one. `/openapi/v2` is protobuf when asked for (kubectl
/// does), the rest JSON; a client that accepts neither gets a 406.
pub fn document(path: &str, accept: &str) -> Result<Option<(&'static str, Vec<u8>)>, ApiError> {
    let path = path.trim_end_matches('/');
    let doc = match path {
        "/openapi/v2" => v2_document(),
        "/openapi/v3" => v3_index(),
        _ => match path.strip_prefix("/openapi/v3/") {
            Some(key) => v3_document(key).ok_or_else(ApiError::path_not_found)?,
            None => return Ok(None),
        },
    };
    let mut offered = vec![JSON];
    if path == "/openapi/v2" {
        offered.extend([openapi_proto::ACCEPT, openapi_proto::CONTENT_TYPE]);
    }
    match accepted(accept, &offered) {
        Some(JSON) => Ok(Some((JSON, doc.to_string().into_bytes()))),
        Some(_) => Ok(Some((
            openapi_proto::CONTENT_TYPE,
            openapi_proto::encode(&doc),
        ))),
        None => Err(ApiError::not_acceptable(format!(
            "only the following media types are accepted: {}",
            offered.join(", ")
        ))),
    }
}

const JSON: &str = "application/json";

/// The first of the client's `Accept` types that is offered; a wildcard or
/// no `Accept` takes JSON.
fn accepted(accept: &str, offered: &[&'static str]) -> Option<&'static str> {
    if accept.trim().is_empty() {
        return Some(JSON);
    }
    accept
        .split(',')
        .find_map(|t| match t.split(';').next().unwrap_or("").trim() {
            "*/*" | "application/*" => Some(JSON),
            t => offered.iter().find(|o| **o == t).copied(),
        })
}

/// FNV-1a, in hex: stable for a given document, which is all a cache key needs.
fn fingerprint(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016X}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What kubectl's query-parameter check looks for.
    fn patch_takes(doc: &Value, group: &str, version: &str, kind: &str, param: &str) -> bool {
        doc["paths"].as_object().unwrap().values().any(|item| {
            let op = &item["patch"];
            op["x-kubernetes-group-version-kind"] == gvk(group, version, kind)
                && op["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["name"] == param)
        })
    }

    #[test]
    fn v2_comes_as_protobuf_when_asked_and_everything_as_json_otherwise() {
        let (ty, _) = document("/openapi/v2", openapi_proto::ACCEPT)
            .unwrap()
            .unwrap();
        assert_eq!(ty, openapi_proto::CONTENT_TYPE);
        let (ty, body) = document("/openapi/v2", "application/json, */*")
            .unwrap()
            .unwrap();
        assert_eq!(ty, JSON);
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap()["swagger"],
            "2.0"
        );
        let (ty, _) = document("/openapi/v3/api/v1", "").unwrap().unwrap();
        assert_eq!(ty, JSON);
        let refused = document("/openapi/v3", openapi_proto::ACCEPT).unwrap_err();
        assert_eq!(refused.code, 406);
        assert_eq!(
            document("/openapi/v3/apis/example.com/v1", "")
                .unwrap_err()
                .code,
            404
        );
        assert!(document("/apis/apps/v1", "").unwrap().is_none());
    }

    #[test]
    fn the_index_points_at_every_group_version() {
        let index = v3_index();
        let paths = index["paths"].as_object().unwrap();
        for key in [
            "api/v1",
            "apis/apps/v1",
            "apis/argoproj.io/v1alpha1",
            "apis/flagger.app/v1beta1",
        ] {
            let url = paths[key]["serverRelativeURL"].as_str().unwrap();
            assert!(
                url.starts_with(&format!("/openapi/v3/{key}?hash=")),
                "{url}"
            );
        }
        assert!(v3_document("apis/example.com/v1").is_none());
    }

    #[test]
    fn patch_operations_take_field_validation_for_every_kind() {
        let apps = v3_document("apis/apps/v1").unwrap();
        let argo = v3_document("apis/argoproj.io/v1alpha1").unwrap();
        for (doc, group, version, kind) in [
            (&apps, "apps", "v1", "Deployment"),
            (&apps, "autoscaling", "v1", "Scale"),
            (&argo, "argoproj.io", "v1alpha1", "Rollout"),
            (&argo, "argoproj.io", "v1alpha1", "AnalysisRun"),
        ] {
            assert!(
                patch_takes(doc, group, version, kind, "fieldValidation"),
                "{kind}"
            );
        }
        let core = v3_document("api/v1").unwrap();
        assert!(patch_takes(&core, "", "v1", "Namespace", "fieldValidation"));
        let patch = &core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"];
        let bodies = patch["requestBody"]["content"].as_object().unwrap();
        assert!(bodies.contains_key("application/merge-patch+json"));
        assert!(!bodies.contains_key("application/strategic-merge-patch+json"));
    }

    #[test]
    fn schemas_are_named_and_tagged_as_on_a_real_server() {
        let apps = v3_document("apis/apps/v1").unwrap();
        let schemas = &apps["components"]["schemas"];
        let deployment = &schemas["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            deployment["x-kubernetes-group-version-kind"][0],
            gvk("apps", "v1", "Deployment")
        );
        assert_eq!(
            deployment["properties"]["spec"]["x-kubernetes-preserve-unknown-fields"],
            true
        );
        assert!(schemas["io.k8s.api.apps.v1.DeploymentList"].is_object());
        let argo = v3_document("apis/argoproj.io/v1alpha1").unwrap();
        assert!(argo["components"]["schemas"]["io.argoproj.v1alpha1.Rollout"].is_object());
        let events = v3_document("apis/events.k8s.io/v1").unwrap();
        let event = &events["components"]["schemas"]["io.k8s.api.events.v1.Event"];
        assert!(event["properties"]["regarding"].is_object());
        let v2 = v2_document();
        assert_eq!(v2["swagger"], "2.0");
        let rollout =
            &v2["paths"]["/apis/argoproj.io/v1alpha1/namespaces/{namespace}/rollouts/{name}"];
        assert_eq!(rollout["patch"]["consumes"], json!(PATCH_TYPES));
        assert!(v2["definitions"]["io.k8s.api.core.v1.Pod"].is_object());
    }
}
