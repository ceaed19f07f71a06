//! Just enough of the Kubernetes protobuf encoding to read the requests that
//! kubectl's typed clients send as protobuf: SelfSubjectAccessReview
//! (`kubectl auth can-i`) and SelfSubjectReview (`kubectl auth whoami`)
//! here, the objects of `kubectl create deployment` and its kin in
//! `pbobject`. Answers go back as JSON, which those clients also accept.

use super::api_error::ApiError;
use serde_json::{Map, Value, json};

/// Every protobuf-encoded Kubernetes object starts with these bytes.
const MAGIC: &[u8] = b"k8s\0";

pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// One field's value on the wire.
pub(super) enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

pub(super) fn bad(what: &str) -> ApiError {
    ApiError::bad_request(format!("the protobuf request body is malformed: {what}"))
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, ApiError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos).ok_or_else(|| bad("truncated varint"))?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(bad("varint too long"))
}

/// The top-level fields of one message, by field number.
pub(super) fn fields(buf: &[u8]) -> Result<Vec<(u64, Field<'_>)>, ApiError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let field = match key & 7 {
            0 => Field::Varint(varint(buf, &mut pos)?),
            1 | 5 => {
                pos += if key & 7 == 1 { 8 } else { 4 };
                Field::Fixed
            }
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).map_err(|_| bad("length"))?;
                let end = pos
                    .checked_add(len)
                    .filter(|e| *e <= buf.len())
                    .ok_or_else(|| bad("truncated field"))?;
                let bytes = &buf[pos..end];
                pos = end;
                Field::Bytes(bytes)
            }
            _ => return Err(bad("unsupported wire type")),
        };
        out.push((key >> 3, field));
    }
    if pos > buf.len() {
        return Err(bad("truncated fixed-width field"));
    }
    Ok(out)
}

fn submessage(buf: &[u8], number: u64) -> Result<Option<&[u8]>, ApiError> {
    Ok(fields(buf)?.into_iter().find_map(|(n, f)| match f {
        Field::Bytes(b) if n == number => Some(b),
        _ => None,
    }))
}

/// String fields of a message, named by field number.
fn strings(buf: &[u8], names: &[(u64, &str)]) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::new();
    for (n, f) in fields(buf)? {
        if let (Some((_, name)), Field::Bytes(b)) = (names.iter().find(|(num, _)| *num == n), f) {
            out.insert((*name).to_string(), json!(String::from_utf8_lossy(b)));
        }
    }
    Ok(out)
}

pub fn is_protobuf(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim() == CONTENT_TYPE)
}

/// An object in its envelope (`runtime.Unknown`): its apiVersion, its kind
/// and the encoded object.
pub(super) struct Envelope<'a> {
    pub api_version: String,
    pub kind: String,
    pub raw: &'a [u8],
}

pub(super) fn envelope(body: &[u8]) -> Result<Envelope<'_>, ApiError> {
    let body = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("missing the k8s magic prefix"))?;
    let mut out = Envelope {
        api_version: String::new(),
        kind: String::new(),
        raw: &[],
    };
    for (n, f) in fields(body)? {
        match (n, f) {
            (1, Field::Bytes(type_meta)) => {
                let mut tm = strings(type_meta, &[(1, "apiVersion"), (2, "kind")])?;
                let mut take = |key: &str| match tm.remove(key) {
                    Some(Value::String(s)) => s,
                    _ => String::new(),
                };
                out.api_version = take("apiVersion");
                out.kind = take("kind");
            }
            (2, Field::Bytes(b)) => out.raw = b,
            _ => {}
        }
    }
    Ok(out)
}

/// Decode a protobuf SelfSubjectAccessReview or SelfSubjectReview into its JSON form.
pub fn decode_review(body: &[u8]) -> Result<Value, ApiError> {
    let Envelope {
        api_version,
        kind,
        raw,
    } = envelope(body)?;
    let mut obj = json!({"apiVersion": api_version, "kind": kind, "spec": {}});
    if kind == "SelfSubjectAccessReview"
        && let Some(spec) = submessage(raw, 2)?
    {
        if let Some(attrs) = submessage(spec, 1)? {
            obj["spec"]["resourceAttributes"] = Value::Object(strings(
                attrs,
                &[
                    (1, "namespace"),
                    (2, "verb"),
                    (3, "group"),
                    (4, "version"),
                    (5, "resource"),
                    (6, "subresource"),
                    (7, "name"),
                ],
            )?);
        }
        if let Some(attrs) = submessage(spec, 2)? {
            obj["spec"]["nonResourceAttributes"] =
                Value::Object(strings(attrs, &[(1, "path"), (2, "verb")])?);
        }
    }
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![((n << 3) | 2) as u8, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn decodes_a_can_i_review() {
        let attrs = [
            field(1, b"shop"),
            field(2, b"patch"),
            field(3, b"argoproj.io"),
            field(5, b"rollouts"),
        ]
        .concat();
        let raw = field(2, &field(1, &attrs));
        let type_meta = [
            field(1, b"authorization.k8s.io/v1"),
            field(2, b"SelfSubjectAccessReview"),
        ]
        .concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta), field(2, &raw)].concat();
        let v = decode_review(&body).unwrap();
        assert_eq!(v["kind"], "SelfSubjectAccessReview");
        assert_eq!(v["spec"]["resourceAttributes"]["verb"], "patch");
        assert_eq!(v["spec"]["resourceAttributes"]["resource"], "rollouts");
        assert_eq!(v["spec"]["resourceAttributes"]["namespace"], "shop");
    }

    #[test]
    fn garbage_is_a_bad_request_not_a_panic() {
        assert_eq!(decode_review(b"nope").unwrap_err().code, 400);
        assert_eq!(decode_review(b"k8s\0\x0a\xff").unwrap_err().code, 400);
        assert_eq!(decode_review(b"k8s\0\x0a\x05ab").unwrap_err().code, 400);
    }
}
