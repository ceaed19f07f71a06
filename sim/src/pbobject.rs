//! Objects that kubectl's generators send as protobuf (`kubectl create
//! deployment|job|service|configmap|namespace`), read into the JSON the
//! server stores. The table below holds the fields of the Kubernetes
//! messages those commands fill (numbers from the API's `generated.proto`).
//!
//! Go writes every non-pointer field, zero or not; JSON would omit the zero
//! ones, so they are dropped here, except where the Go field is a pointer
//! (`OptInt`, `OptBool`: sent only when set, so a zero means zero). A field
//! missing from the table is skipped when it holds its zero value and
//! refused otherwise, naming the field, rather than silently lost.

use super::api_error::ApiError;
use super::protobuf::{Field, bad, envelope, fields};
use super::resources::ResourceDef;
use base64::Engine;
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Copy)]
enum Ty {
    Str,
    Int,
    /// A Go pointer: present means set, even to zero.
    OptInt,
    Bool,
    OptBool,
    Msg(&'static str),
    Strs,
    Msgs(&'static str),
    StrMap,
    BytesMap,
    /// map<string, Quantity>
    QtyMap,
    Time,
    IntOrStr,
    /// Read and dropped (`status`, which the server sets itself).
    Skip,
}

use Ty::*;

/// Message name → (field number, JSON name, type).
type Message = (&'static str, &'static [(u64, &'static str, Ty)]);

#[rustfmt::skip]
const MESSAGES: &[Message] = &[
    ("Deployment", &[
        (1, "metadata", Msg("ObjectMeta")), (2, "spec", Msg("DeploymentSpec")), (3, "status", Skip),
    ]),
    ("Job", &[(1, "metadata", Msg("ObjectMeta")), (2, "spec", Msg("JobSpec")), (3, "status", Skip)]),
    ("Service", &[
        (1, "metadata", Msg("ObjectMeta")), (2, "spec", Msg("ServiceSpec")), (3, "status", Skip),
    ]),
    ("Namespace", &[
        (1, "metadata", Msg("ObjectMeta")), (2, "spec", Msg("NamespaceSpec")), (3, "status", Skip),
    ]),
    ("ConfigMap", &[
        (1, "metadata", Msg("ObjectMeta")), (2, "data", StrMap), (3, "binaryData", BytesMap),
        (4, "immutable", OptBool),
    ]),
    ("ObjectMeta", &[
        (1, "name", Str), (2, "generateName", Str), (3, "namespace", Str), (5, "uid", Str),
        (6, "resourceVersion", Str), (7, "generation", Int), (8, "creationTimestamp", Time),
        (11, "labels", StrMap), (12, "annotations", StrMap), (14, "finalizers", Strs),
    ]),
    ("LabelSelector", &[
        (1, "matchLabels", StrMap), (2, "matchExpressions", Msgs("LabelSelectorRequirement")),
    ]),
    ("LabelSelectorRequirement", &[(1, "key", Str), (2, "operator", Str), (3, "values", Strs)]),
    ("DeploymentSpec", &[
        (1, "replicas", OptInt), (2, "selector", Msg("LabelSelector")),
        (3, "template", Msg("PodTemplateSpec")), (4, "strategy", Msg("DeploymentStrategy")),
        (5, "minReadySeconds", Int), (6, "revisionHistoryLimit", OptInt), (7, "paused", Bool),
        (9, "progressDeadlineSeconds", OptInt),
    ]),
    ("DeploymentStrategy", &[(1, "type", Str), (2, "rollingUpdate", Msg("RollingUpdateDeployment"))]),
    ("RollingUpdateDeployment", &[(1, "maxUnavailable", IntOrStr), (2, "maxSurge", IntOrStr)]),
    ("JobSpec", &[
        (1, "parallelism", OptInt), (2, "completions", OptInt), (3, "activeDeadlineSeconds", OptInt),
        (4, "selector", Msg("LabelSelector")), (5, "manualSelector", OptBool),
        (6, "template", Msg("PodTemplateSpec")), (7, "backoffLimit", OptInt),
        (8, "ttlSecondsAfterFinished", OptInt), (9, "completionMode", Str), (10, "suspend", OptBool),
        (12, "backoffLimitPerIndex", OptInt), (13, "maxFailedIndexes", OptInt),
        (14, "podReplacementPolicy", Str), (15, "managedBy", Str),
    ]),
    ("PodTemplateSpec", &[(1, "metadata", Msg("ObjectMeta")), (2, "spec", Msg("PodSpec"))]),
    ("PodSpec", &[
        (2, "containers", Msgs("Container")), (3, "restartPolicy", Str),
        (4, "terminationGracePeriodSeconds", OptInt), (5, "activeDeadlineSeconds", OptInt),
        (6, "dnsPolicy", Str), (7, "nodeSelector", StrMap), (8, "serviceAccountName", Str),
        (9, "serviceAccount", Str), (10, "nodeName", Str), (11, "hostNetwork", Bool),
        (12, "hostPID", Bool), (13, "hostIPC", Bool), (16, "hostname", Str), (17, "subdomain", Str),
        (19, "schedulerName", Str), (20, "initContainers", Msgs("Container")),
        (21, "automountServiceAccountToken", OptBool), (24, "priorityClassName", Str),
        (25, "priority", OptInt), (29, "runtimeClassName", Str), (30, "enableServiceLinks", OptBool),
        (31, "preemptionPolicy", Str), (35, "setHostnameAsFQDN", OptBool), (37, "hostUsers", OptBool),
    ]),
    ("Container", &[
        (1, "name", Str), (2, "image", Str), (3, "command", Strs), (4, "args", Strs),
        (5, "workingDir", Str), (6, "ports", Msgs("ContainerPort")), (7, "env", Msgs("EnvVar")),
        (8, "resources", Msg("ResourceRequirements")), (13, "terminationMessagePath", Str),
        (14, "imagePullPolicy", Str), (16, "stdin", Bool), (17, "stdinOnce", Bool), (18, "tty", Bool),
        (20, "terminationMessagePolicy", Str), (24, "restartPolicy", Str),
    ]),
    ("ContainerPort", &[
        (1, "name", Str), (2, "hostPort", Int), (3, "containerPort", Int), (4, "protocol", Str),
        (5, "hostIP", Str),
    ]),
    ("EnvVar", &[(1, "name", Str), (2, "value", Str)]),
    ("ResourceRequirements", &[(1, "limits", QtyMap), (2, "requests", QtyMap)]),
    ("NamespaceSpec", &[(1, "finalizers", Strs)]),
    ("ServiceSpec", &[
        (1, "ports", Msgs("ServicePort")), (2, "selector", StrMap), (3, "clusterIP", Str),
        (4, "type", Str), (5, "externalIPs", Strs), (7, "sessionAffinity", Str),
        (8, "loadBalancerIP", Str), (9, "loadBalancerSourceRanges", Strs), (10, "externalName", Str),
        (11, "externalTrafficPolicy", Str), (12, "healthCheckNodePort", Int),
        (13, "publishNotReadyAddresses", Bool), (17, "ipFamilyPolicy", Str), (18, "clusterIPs", Strs),
        (19, "ipFamilies", Strs), (20, "allocateLoadBalancerNodePorts", OptBool),
        (21, "loadBalancerClass", Str), (22, "internalTrafficPolicy", Str),
        (23, "trafficDistribution", Str),
    ]),
    ("ServicePort", &[
        (1, "name", Str), (2, "protocol", Str), (3, "port", Int), (4, "targetPort", IntOrStr),
        (5, "nodePort", Int), (6, "appProtocol", Str),
    ]),
];

/// The kinds whose protobuf form is read, as a sentence.
const READ_KINDS: &str = "Deployment, Job, Service, ConfigMap and Namespace";

fn unsupported(kind: &str, detail: &str) -> ApiError {
    ApiError::unsupported_body(format!(
        "this server reads protobuf only for {READ_KINDS}, and {detail}: send the {kind} as JSON instead (kubectl apply -f FILE or kubectl create -f FILE; a generator's object can be written with --dry-run=client -o yaml first)"
    ))
}

/// Decode a protobuf object sent to `res` into its JSON form.
pub fn decode(res: &ResourceDef, body: &[u8]) -> Result<Value, ApiError> {
    let env = envelope(body)?;
    if env.kind != res.kind || !res.has_api_version(&env.api_version) {
        return Err(ApiError::bad_request(format!(
            "the body is a {} {}, not a {}",
            env.api_version,
            env.kind,
            res.api_version()
        )));
    }
    if !MESSAGES.iter().any(|(name, _)| *name == res.kind) {
        return Err(unsupported(res.kind, &format!("not for {}", res.kind)));
    }
    let mut obj = message(res.kind, res.kind, env.raw)?;
    obj["apiVersion"] = json!(env.api_version);
    obj["kind"] = json!(env.kind);
    Ok(obj)
}

fn text(b: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(b).into_owned())
}

/// A zero value on the wire: what Go writes for a field it has no value for.
fn is_zero(field: &Field<'_>) -> bool {
    matches!(field, Field::Varint(0)) || matches!(field, Field::Bytes(b) if b.is_empty())
}

/// One more item of a repeated field.
fn push(out: &mut Map<String, Value>, key: &str, item: Value) {
    if let Value::Array(items) = out.entry(key).or_insert_with(|| json!([])) {
        items.push(item);
    }
}

/// The `key` (1) and `value` (2) of a map entry.
fn entry(buf: &[u8]) -> Result<(String, &[u8]), ApiError> {
    let mut key = String::new();
    let mut value: &[u8] = &[];
    for (n, f) in fields(buf)? {
        match (n, f) {
            (1, Field::Bytes(b)) => key = String::from_utf8_lossy(b).into_owned(),
            (2, Field::Bytes(b)) => value = b,
            _ => {}
        }
    }
    Ok((key, value))
}

fn message(kind: &str, name: &str, buf: &[u8]) -> Result<Value, ApiError> {
    let defs = MESSAGES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, d)| *d)
        .ok_or_else(|| unsupported(kind, &format!("not for the message {name}")))?;
    let mut out = Map::new();
    for (number, field) in fields(buf)? {
        let Some((_, json_name, ty)) = defs.iter().find(|(n, _, _)| *n == number) else {
            if is_zero(&field) {
                continue;
            }
            return Err(unsupported(
                kind,
                &format!("not for field {number} of {name}, which this {kind} sets"),
            ));
        };
        let key = *json_name;
        let value = match (*ty, field) {
            (Skip, _) => None,
            (Str, Field::Bytes(b)) => (!b.is_empty()).then(|| text(b)),
            (Int, Field::Varint(v)) => (v != 0).then(|| json!(v as i64)),
            (OptInt, Field::Varint(v)) => Some(json!(v as i64)),
            (Bool, Field::Varint(v)) => (v != 0).then_some(Value::Bool(true)),
            (OptBool, Field::Varint(v)) => Some(Value::Bool(v != 0)),
            (Msg(m), Field::Bytes(b)) => Some(message(kind, m, b)?),
            (Time, Field::Bytes(b)) => time(b)?,
            (IntOrStr, Field::Bytes(b)) => int_or_string(b)?,
            (Strs, Field::Bytes(b)) => {
                push(&mut out, key, text(b));
                None
            }
            (Msgs(m), Field::Bytes(b)) => {
                push(&mut out, key, message(kind, m, b)?);
                None
            }
            (StrMap | BytesMap | QtyMap, Field::Bytes(b)) => {
                let (k, v) = entry(b)?;
                let v = match ty {
                    StrMap => text(v),
                    BytesMap => json!(base64::engine::general_purpose::STANDARD.encode(v)),
                    _ => quantity(v)?,
                };
                if let Value::Object(m) = out.entry(key).or_insert_with(|| json!({})) {
                    m.insert(k, v);
                }
                None
            }
            _ => {
                return Err(bad(&format!(
                    "field {number} of {name} has the wrong wire type"
                )));
            }
        };
        if let Some(v) = value {
            out.insert(key.to_string(), v);
        }
    }
    Ok(Value::Object(out))
}

/// `resource.Quantity`, a message holding its string.
fn quantity(buf: &[u8]) -> Result<Value, ApiError> {
    let mut out = json!("0");
    for (n, f) in fields(buf)? {
        if let (1, Field::Bytes(b)) = (n, f) {
            out = text(b);
        }
    }
    Ok(out)
}

/// `metav1.Time` (seconds, nanos); the zero time is no time.
fn time(buf: &[u8]) -> Result<Option<Value>, ApiError> {
    let (mut seconds, mut nanos) = (0i64, 0u32);
    for (n, f) in fields(buf)? {
        match (n, f) {
            (1, Field::Varint(v)) => seconds = v as i64,
            (2, Field::Varint(v)) => nanos = v as u32,
            _ => {}
        }
    }
    if seconds == 0 && nanos == 0 {
        return Ok(None);
    }
    let t =
        chrono::DateTime::from_timestamp(seconds, nanos).ok_or_else(|| bad("time out of range"))?;
    Ok(Some(json!(
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )))
}

/// `intstr.IntOrString` (type: 0 int, 1 string; intVal; strVal); an unset one is none.
fn int_or_string(buf: &[u8]) -> Result<Option<Value>, ApiError> {
    let (mut is_string, mut int, mut string) = (false, 0i64, String::new());
    for (n, f) in fields(buf)? {
        match (n, f) {
            (1, Field::Varint(v)) => is_string = v == 1,
            (2, Field::Varint(v)) => int = v as i64,
            (3, Field::Bytes(b)) => string = String::from_utf8_lossy(b).into_owned(),
            _ => {}
        }
    }
    Ok(match is_string {
        true => Some(json!(string)),
        false => (int != 0).then(|| json!(int)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::lookup;

    /// What `kubectl create deployment x --image=nginx -n shop` sends (kubectl 1.32).
    const CREATE_DEPLOYMENT: &str = "6b 38 73 00 0a 15 0a 07 61 70 70 73 2f 76 31 12 0a 44 65 70 6c 6f 79 6d 65 6e 74 12 a7 01 0a 1f 0a 01 78 12 00 1a 04 73 68 6f 70 22 00 2a 00 32 00 38 00 42 00 5a 08 0a 03 61 70 70 12 01 78 12 76 08 01 12 0a 0a 08 0a 03 61 70 70 12 01 78 1a 5e 0a 1a 0a 00 12 00 1a 00 22 00 2a 00 32 00 38 00 42 00 5a 08 0a 03 61 70 70 12 01 78 12 40 12 22 0a 05 6e 67 69 6e 78 12 05 6e 67 69 6e 78 2a 00 42 00 6a 00 72 00 80 01 00 88 01 00 90 01 00 a2 01 00 1a 00 32 00 42 00 4a 00 52 00 58 00 60 00 68 00 82 01 00 8a 01 00 9a 01 00 c2 01 00 22 02 0a 00 28 00 38 00 1a 0c 08 00 10 00 18 00 20 00 28 00 38 00 1a 00 22 00";

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    #[test]
    fn reads_what_kubectl_create_deployment_sends() {
        let res = lookup("apps", "v1", "deployments").unwrap();
        let obj = decode(res, &hex(CREATE_DEPLOYMENT)).unwrap();
        assert_eq!(
            obj,
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "x", "namespace": "shop", "labels": {"app": "x"}},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": "x"}},
                    "template": {
                        "metadata": {"labels": {"app": "x"}},
                        "spec": {"containers": [{"name": "nginx", "image": "nginx", "resources": {}}]},
                    },
                    "strategy": {},
                },
            })
        );
    }

    fn field(n: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(n << 3) | 2, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    /// A Deployment `x` whose spec is `spec`, in its envelope.
    fn deployment(spec: &[u8]) -> Vec<u8> {
        let type_meta = [field(1, b"apps/v1"), field(2, b"Deployment")].concat();
        let raw = [field(1, &field(1, b"x")), field(2, spec)].concat();
        [b"k8s\0".to_vec(), field(1, &type_meta), field(2, &raw)].concat()
    }

    #[test]
    fn a_set_field_outside_the_table_is_refused_by_number() {
        let res = lookup("apps", "v1", "deployments").unwrap();
        // DeploymentSpec field 8 (the long-gone rollbackTo): zero is no value.
        let zero = decode(res, &deployment(&[0x08, 0x00, 0x42, 0x00])).unwrap();
        assert_eq!(
            zero["spec"],
            json!({"replicas": 0}),
            "a pointer keeps its zero"
        );
        let e = decode(res, &deployment(&[0x42, 0x02, 0x08, 0x01])).unwrap_err();
        assert_eq!(e.code, 415);
        assert!(
            e.message.contains("field 8 of DeploymentSpec"),
            "{}",
            e.message
        );
        let wrong = decode(res, &deployment(&[0x0a, 0x00])).unwrap_err();
        assert_eq!(wrong.code, 400, "{}", wrong.message);
    }

    #[test]
    fn kinds_outside_the_table_get_a_415_that_says_what_to_do() {
        let res = lookup("", "v1", "pods").unwrap();
        let body = [
            b"k8s\0".as_slice(),
            &[
                0x0a, 0x09, 0x0a, 0x02, b'v', b'1', 0x12, 0x03, b'P', b'o', b'd',
            ],
        ]
        .concat();
        let e = decode(res, &body).unwrap_err();
        assert_eq!(e.code, 415);
        assert!(e.message.contains("send the Pod as JSON"), "{}", e.message);
    }
}
