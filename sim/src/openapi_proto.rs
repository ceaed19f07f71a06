//! The `/openapi/v2` document in the protobuf form kubectl asks for
//! (gnostic's `openapi.v2.Document`), written from its JSON form. Only what
//! `openapi` puts in the document is translated: paths with their
//! operations, parameters and responses, and definitions with `$ref`,
//! `type`, `format`, `description`, `required`, `items`, `properties` and
//! vendor extensions (`x-…`, carried as YAML text, of which JSON is a part).

use serde_json::{Map, Value};

/// What clients ask for.
pub const ACCEPT: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
/// What the answer is labelled, as a real server labels it (Go's media type
/// parser refuses the `@` of the other form).
pub const CONTENT_TYPE: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// One protobuf message being written.
#[derive(Default)]
struct Message(Vec<u8>);

impl Message {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn bytes(&mut self, field: u64, b: &[u8]) -> &mut Self {
        self.varint((field << 3) | 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }

    /// proto3 leaves empty strings and false out.
    fn string(&mut self, field: u64, v: &Value) -> &mut Self {
        match v.as_str() {
            Some(s) if !s.is_empty() => self.bytes(field, s.as_bytes()),
            _ => self,
        }
    }

    fn strings(&mut self, field: u64, v: &Value) -> &mut Self {
        for s in v.as_array().into_iter().flatten() {
            self.string(field, s);
        }
        self
    }

    fn boolean(&mut self, field: u64, v: &Value) -> &mut Self {
        if v.as_bool() == Some(true) {
            self.varint(field << 3);
            self.varint(1);
        }
        self
    }

    fn message(&mut self, field: u64, m: Message) -> &mut Self {
        self.bytes(field, &m.0)
    }

    fn take(&mut self) -> Message {
        std::mem::take(self)
    }
}

/// `Named…`: a map entry as a (name, value) message.
fn named(name: &str, value: Message) -> Message {
    let mut m = Message::default();
    m.string(1, &Value::String(name.to_string()))
        .message(2, value);
    m
}

/// `x-…` keys as `NamedAny` (name, `Any{yaml}`) in `field`.
fn vendor_extensions(m: &mut Message, field: u64, object: &Map<String, Value>) {
    for (key, value) in object.iter().filter(|(k, _)| k.starts_with("x-")) {
        let any = Message::default()
            .string(2, &Value::String(value.to_string()))
            .take();
        m.message(field, named(key, any));
    }
}

fn schema(v: &Value) -> Message {
    let mut m = Message::default();
    m.string(1, &v["$ref"])
        .string(2, &v["format"])
        .string(4, &v["description"])
        .boolean(16, &v["uniqueItems"])
        .strings(19, &v["required"]);
    if v["type"].is_string() {
        let ty = Message::default().string(1, &v["type"]).take();
        m.message(22, ty);
    }
    if v["items"].is_object() {
        let items = Message::default().message(1, schema(&v["items"])).take();
        m.message(23, items);
    }
    if let Some(props) = v["properties"].as_object() {
        let mut properties = Message::default();
        for (name, s) in props {
            properties.message(1, named(name, schema(s)));
        }
        m.message(25, properties);
    }
    if let Some(object) = v.as_object() {
        vendor_extensions(&mut m, 31, object);
    }
    m
}

/// A `ParametersItem`: a body parameter, or a query or path one.
fn parameter(p: &Value) -> Message {
    let mut param = Message::default();
    if p["in"] == "body" {
        let body = Message::default()
            .string(2, &p["name"])
            .string(3, &p["in"])
            .boolean(4, &p["required"])
            .message(5, schema(&p["schema"]))
            .take();
        param.message(1, body);
    } else {
        let path = p["in"] == "path";
        let sub = Message::default()
            .boolean(1, &p["required"])
            .string(2, &p["in"])
            .string(4, &p["name"])
            .string(if path { 5 } else { 6 }, &p["type"])
            .boolean(if path { 19 } else { 20 }, &p["uniqueItems"])
            .take();
        let non_body = Message::default()
            .message(if path { 4 } else { 3 }, sub)
            .take();
        param.message(2, non_body);
    }
    Message::default().message(1, param).take()
}

fn operation(op: &Value) -> Message {
    let mut m = Message::default();
    m.string(5, &op["operationId"])
        .strings(6, &op["produces"])
        .strings(7, &op["consumes"]);
    for p in op["parameters"].as_array().into_iter().flatten() {
        m.message(8, parameter(p));
    }
    let mut responses = Message::default();
    for (code, r) in op["responses"].as_object().into_iter().flatten() {
        let mut response = Message::default();
        response.string(1, &r["description"]);
        if r["schema"].is_object() {
            let item = Message::default().message(1, schema(&r["schema"])).take();
            response.message(2, item);
        }
        let value = Message::default().message(1, response).take();
        responses.message(1, named(code, value));
    }
    m.message(9, responses);
    if let Some(object) = op.as_object() {
        vendor_extensions(&mut m, 13, object);
    }
    m
}

/// Operation fields of `PathItem`, by method.
const METHODS: &[(&str, u64)] = &[
    ("get", 2),
    ("put", 3),
    ("post", 4),
    ("delete", 5),
    ("patch", 8),
];

/// Encode a Swagger 2.0 document.
pub fn encode(doc: &Value) -> Vec<u8> {
    let info = Message::default()
        .string(1, &doc["info"]["title"])
        .string(2, &doc["info"]["version"])
        .take();
    let mut paths = Message::default();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        let mut path_item = Message::default();
        for (method, field) in METHODS {
            if item[method].is_object() {
                path_item.message(*field, operation(&item[method]));
            }
        }
        for p in item["parameters"].as_array().into_iter().flatten() {
            path_item.message(9, parameter(p));
        }
        paths.message(2, named(path, path_item));
    }
    let mut definitions = Message::default();
    for (name, s) in doc["definitions"].as_object().into_iter().flatten() {
        definitions.message(1, named(name, schema(s)));
    }
    let mut m = Message::default();
    m.string(1, &doc["swagger"])
        .message(2, info)
        .message(8, paths)
        .message(9, definitions);
    m.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protobuf::{Field, fields};
    use serde_json::json;

    fn bytes_of(buf: &[u8], number: u64) -> Vec<&[u8]> {
        fields(buf)
            .unwrap()
            .into_iter()
            .filter_map(|(n, f)| match f {
                Field::Bytes(b) if n == number => Some(b),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn definitions_carry_their_group_version_kind_as_yaml() {
        let doc = json!({
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": "v1"},
            "paths": {},
            "definitions": {"io.k8s.api.apps.v1.Deployment": {
                "type": "object",
                "properties": {"spec": {"description": "d"}},
                "x-kubernetes-group-version-kind": [{"group": "apps", "kind": "Deployment", "version": "v1"}],
            }},
        });
        let out = encode(&doc);
        assert_eq!(bytes_of(&out, 1), [b"2.0"]);
        let definitions = bytes_of(&out, 9)[0];
        let named = bytes_of(definitions, 1)[0];
        assert_eq!(bytes_of(named, 1), [b"io.k8s.api.apps.v1.Deployment"]);
        let schema = bytes_of(named, 2)[0];
        assert_eq!(bytes_of(bytes_of(schema, 22)[0], 1), [b"object"]);
        let extension = bytes_of(schema, 31)[0];
        assert_eq!(bytes_of(extension, 1), [b"x-kubernetes-group-version-kind"]);
        let yaml = bytes_of(bytes_of(extension, 2)[0], 2)[0];
        let parsed: Value = serde_yaml::from_slice(yaml).unwrap();
        assert_eq!(parsed[0]["kind"], "Deployment");
    }
}
