//! Writing objects as the API server does: create (with the identity
//! fields the server assigns), restore, update, patch, delete with
//! owner-reference cascading, and the checks each write makes.

use super::{
    ChangeType, ListOptions, ObjKey, Propagation, State, Store, WriteScope, key, meta, meta_str,
};
use crate::api_error::ApiError;
use crate::patch::{PatchKind, apply_patch};
use crate::resources::{RESOURCES, ResourceDef};
use serde_json::{Map, Value, json};
use std::sync::Arc;

pub(super) fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = json!({});
    }
    let map = obj.as_object_mut().expect("object");
    let m = map.entry("metadata").or_insert_with(|| json!({}));
    if !m.is_object() {
        *m = json!({});
    }
    m.as_object_mut().expect("metadata object")
}

/// Whether anything but metadata and status differs: what `generation` tracks.
fn spec_differs(a: &Value, b: &Value) -> bool {
    let is_spec = |k: &String| k != "metadata" && k != "status";
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return a != b;
    };
    a.keys().filter(|k| is_spec(k)).count() != b.keys().filter(|k| is_spec(k)).count()
        || a.iter()
            .filter(|(k, _)| is_spec(k))
            .any(|(k, v)| b.get(k) != Some(v))
}

fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

impl Store {
    /// Create an object, as a client's POST does: uid, creationTimestamp,
    /// generation and resourceVersion are the server's, whatever the body says.
    pub fn create(
        &self,
        res: &'static ResourceDef,
        ns: &str,
        obj: Value,
        target: WriteScope,
        dry_run: bool,
    ) -> Result<Arc<Value>, ApiError> {
        self.add(res, ns, obj, target, dry_run, Origin::Client)
    }

    /// Restore an object saved from a cluster, status included: uid,
    /// creationTimestamp and generation stay as given (so ownerReferences
    /// still point at their owners) and are assigned only when missing;
    /// resourceVersion is always the store's.
    pub fn restore(
        &self,
        res: &'static ResourceDef,
        ns: &str,
        obj: Value,
    ) -> Result<Arc<Value>, ApiError> {
        self.add(res, ns, obj, WriteScope::Whole, false, Origin::Restore)
    }

    fn add(
        &self,
        res: &'static ResourceDef,
        ns: &str,
        mut obj: Value,
        target: WriteScope,
        dry_run: bool,
        origin: Origin,
    ) -> Result<Arc<Value>, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        check_type(res, &mut obj)?;
        let mut st = self.lock();
        let m = meta_mut(&mut obj);
        let body_ns = m.get("namespace").and_then(Value::as_str).unwrap_or("");
        if res.namespaced {
            if !body_ns.is_empty() && body_ns != ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            m.insert("namespace".into(), json!(ns));
        } else {
            m.remove("namespace");
        }
        let mut name = m
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if name.is_empty() {
            match m.get("generateName").and_then(Value::as_str) {
                Some(prefix) if !prefix.is_empty() => {
                    name = format!("{prefix}{}", random_suffix());
                    m.insert("name".into(), json!(name));
                }
                _ => {
                    return Err(ApiError::invalid(
                        res.kind,
                        "",
                        "metadata.name",
                        "Required value: name or generateName is required",
                    ));
                }
            }
        }
        if !is_dns_subdomain(&name) {
            return Err(ApiError::invalid(
                res.kind,
                &name,
                "metadata.name",
                format!(
                    "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
                ),
            ));
        }
        if res.namespaced {
            let ns_res = namespace_def();
            if !st.objects.contains_key(&key(ns_res, "", ns)) {
                return Err(ApiError::namespace_not_found(ns));
            }
        }
        let k = key(res, ns, &name);
        if st.objects.contains_key(&k) {
            return Err(ApiError::already_exists(res, &name));
        }
        assign_identity(m, res, &name, origin, self.clock.now())?;
        if res.managed_fields && (origin == Origin::Client || !m.contains_key("managedFields")) {
            let created = m.get("creationTimestamp").cloned().unwrap_or(Value::Null);
            stamp_managed_fields(m, res, created);
        }
        m.remove("deletionTimestamp");
        m.remove("resourceVersion");
        if res.status
            && target != WriteScope::Whole
            && let Some(o) = obj.as_object_mut()
        {
            o.remove("status");
        }
        if dry_run {
            return Ok(Arc::new(obj));
        }
        Ok(st.commit(&self.fanout, res, k, ChangeType::Added, obj, None))
    }

    /// Replace an object (PUT). The body's resourceVersion must be current.
    pub fn update(
        &self,
        res: &'static ResourceDef,
        ns: &str,
        name: &str,
        mut obj: Value,
        target: WriteScope,
        dry_run: bool,
    ) -> Result<Arc<Value>, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        check_type(res, &mut obj)?;
        let mut st = self.lock();
        let k = key(res, ns, name);
        let current = st
            .objects
            .get(&k)
            .cloned()
            .ok_or_else(|| ApiError::not_found(res, name))?;
        match meta_str(&obj, "resourceVersion") {
            None | Some("") if target != WriteScope::Whole => {
                return Err(ApiError::invalid(
                    res.kind,
                    name,
                    "metadata.resourceVersion",
                    "Invalid value: 0x0: must be specified for an update",
                ));
            }
            Some(rv) if rv != meta_str(&current, "resourceVersion").unwrap_or("") => {
                return Err(ApiError::conflict(res, name));
            }
            _ => {}
        }
        self.write(&mut st, res, k, current, obj, target, dry_run)
    }

    /// Patch an object; the read, the patch and the write happen atomically.
    #[allow(clippy::too_many_arguments)]
    pub fn patch(
        &self,
        res: &'static ResourceDef,
        ns: &str,
        name: &str,
        kind: PatchKind,
        body: &[u8],
        target: WriteScope,
        dry_run: bool,
    ) -> Result<Arc<Value>, ApiError> {
        let mut st = self.lock();
        let k = key(res, ns, name);
        let current = st
            .objects
            .get(&k)
            .cloned()
            .ok_or_else(|| ApiError::not_found(res, name))?;
        let mut patched = apply_patch(kind, &current, body).map_err(|e| {
            ApiError::invalid(res.kind, name, "patch", format!("Invalid value: {e}"))
        })?;
        if !patched.is_object() {
            return Err(ApiError::bad_request(
                "the patched object is not a JSON object",
            ));
        }
        // A resourceVersion in the patch is a precondition, like in an update.
        let wanted = meta_str(&patched, "resourceVersion").map(str::to_string);
        if let Some(rv) = wanted
            && rv != meta_str(&current, "resourceVersion").unwrap_or("")
        {
            return Err(ApiError::conflict(res, name));
        }
        check_type(res, &mut patched)?;
        self.write(&mut st, res, k, current, patched, target, dry_run)
    }

    /// Read-modify-write for the simulator's own controllers: `change` edits
    /// the whole object (spec and status) and the result is committed if it differs.
    pub fn modify(
        &self,
        res: &'static ResourceDef,
        ns: &str,
        name: &str,
        change: impl FnOnce(&mut Value),
    ) -> Result<Arc<Value>, ApiError> {
        let mut st = self.lock();
        let k = key(res, ns, name);
        let current = st
            .objects
            .get(&k)
            .cloned()
            .ok_or_else(|| ApiError::not_found(res, name))?;
        let mut next = Value::clone(&current);
        change(&mut next);
        self.write(&mut st, res, k, current, next, WriteScope::Whole, false)
    }

    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        st: &mut State,
        res: &'static ResourceDef,
        k: ObjKey,
        current: Arc<Value>,
        mut next: Value,
        target: WriteScope,
        dry_run: bool,
    ) -> Result<Arc<Value>, ApiError> {
        let name = k.3.clone();
        if let Some(body_name) = meta_str(&next, "name")
            && body_name != name
        {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        match target {
            WriteScope::Status => {
                let status = next.as_object_mut().and_then(|o| o.remove("status"));
                next = Value::clone(&current);
                match status {
                    Some(s) => next["status"] = s,
                    None => {
                        next.as_object_mut().expect("object").remove("status");
                    }
                }
            }
            WriteScope::Main if res.status => {
                let o = next.as_object_mut().expect("object");
                match current.get("status") {
                    Some(s) => {
                        o.insert("status".into(), s.clone());
                    }
                    None => {
                        o.remove("status");
                    }
                }
            }
            _ => {}
        }
        // Identity fields are the server's, whatever the client sent.
        let empty = Map::new();
        let cur_meta = meta(&current).unwrap_or(&empty);
        let m = meta_mut(&mut next);
        for field in [
            "uid",
            "creationTimestamp",
            "namespace",
            "name",
            "deletionTimestamp",
        ] {
            match cur_meta.get(field) {
                Some(v) => m.insert(field.into(), v.clone()),
                None => m.remove(field),
            };
        }
        m.insert(
            "resourceVersion".into(),
            cur_meta
                .get("resourceVersion")
                .cloned()
                .unwrap_or(Value::Null),
        );
        if res.generation {
            let generation = cur_meta
                .get("generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let bumped = spec_differs(&current, &next);
            let m = meta_mut(&mut next);
            m.insert("generation".into(), json!(generation + i64::from(bumped)));
        } else {
            meta_mut(&mut next).remove("generation");
        }
        if next == *current {
            // No change: no new resourceVersion and no watch event, as on a real server.
            return Ok(current);
        }
        if res.managed_fields {
            let now = json!(crate::time::timestamp(self.clock.now()));
            stamp_managed_fields(meta_mut(&mut next), res, now);
        }
        if dry_run {
            return Ok(Arc::new(next));
        }
        Ok(st.commit(
            &self.fanout,
            res,
            k,
            ChangeType::Modified,
            next,
            Some(current),
        ))
    }

    /// Delete an object and, unless orphaned, everything it owns.
    pub fn delete(
        &self,
        res: &'static ResourceDef,
        ns: &str,
        name: &str,
        propagation: Propagation,
        dry_run: bool,
    ) -> Result<Arc<Value>, ApiError> {
        let mut st = self.lock();
        let k = key(res, ns, name);
        let current = st
            .objects
            .get(&k)
            .cloned()
            .ok_or_else(|| ApiError::not_found(res, name))?;
        if dry_run {
            return Ok(current);
        }
        Ok(st.remove_cascading(&self.fanout, k, propagation))
    }

    /// Delete every object of a collection that matches the selectors.
    pub fn delete_collection(
        &self,
        res: &'static ResourceDef,
        ns: Option<&str>,
        opts: &ListOptions,
        dry_run: bool,
    ) -> Result<Vec<Arc<Value>>, ApiError> {
        let all = ListOptions {
            limit: None,
            continue_token: None,
            ..opts.clone()
        };
        let items = self.list(res, ns, &all)?.items;
        if dry_run {
            return Ok(items);
        }
        let mut st = self.lock();
        let mut deleted = Vec::new();
        for obj in items {
            let k = key(
                res,
                meta_str(&obj, "namespace").unwrap_or(""),
                meta_str(&obj, "name").unwrap_or(""),
            );
            if st.objects.contains_key(&k) {
                deleted.push(st.remove_cascading(&self.fanout, k, Propagation::Background));
            }
        }
        Ok(deleted)
    }
}

/// Who brings an object into the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// A client's create: identity fields are the server's.
    Client,
    /// A restore: identity fields are kept, only missing ones are assigned.
    Restore,
}

/// The simulator's one field manager: what it writes is stamped with the
/// time of the write, as a real server stamps each manager's entry.
const FIELD_MANAGER: &str = "cutover-sim";

/// Record in `metadata.managedFields` that the object was written at
/// `time`, keeping the entries of other managers (a restored object's).
fn stamp_managed_fields(m: &mut Map<String, Value>, res: &ResourceDef, time: Value) {
    let mut entries: Vec<Value> = match m.remove("managedFields") {
        Some(Value::Array(entries)) => entries,
        _ => Vec::new(),
    };
    entries.retain(|e| e["manager"] != FIELD_MANAGER);
    entries.push(json!({
        "manager": FIELD_MANAGER,
        "operation": "Update",
        "apiVersion": res.api_version(),
        "time": time,
        "fieldsType": "FieldsV1",
        "fieldsV1": {},
    }));
    m.insert("managedFields".into(), Value::Array(entries));
}

/// Fill uid, creationTimestamp and generation: all of them for a client's
/// create, as a real API server does; for a restore only those missing
/// (absent, null or empty), after checking that those given are well-formed.
fn assign_identity(
    m: &mut Map<String, Value>,
    res: &'static ResourceDef,
    name: &str,
    origin: Origin,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ApiError> {
    let kept = |m: &Map<String, Value>, field: &str| {
        let given = m
            .get(field)
            .filter(|v| !v.is_null() && v.as_str() != Some(""));
        given.filter(|_| origin == Origin::Restore).cloned()
    };
    let invalid = |field: &str, value: &Value, why: &str| {
        ApiError::invalid(
            res.kind,
            name,
            &format!("metadata.{field}"),
            format!("Invalid value: {value}: {why}"),
        )
    };
    let uid = match kept(m, "uid") {
        Some(uid) if uid.is_string() => uid,
        Some(other) => return Err(invalid("uid", &other, "must be a string")),
        None => json!(uuid::Uuid::new_v4().to_string()),
    };
    let created = match kept(m, "creationTimestamp") {
        Some(t) if crate::time::parse_timestamp(&t).is_some() => t,
        Some(other) => {
            return Err(invalid(
                "creationTimestamp",
                &other,
                "must be an RFC 3339 time such as 2024-05-01T12:00:00Z",
            ));
        }
        None => json!(crate::time::timestamp(now)),
    };
    m.insert("uid".into(), uid);
    m.insert("creationTimestamp".into(), created);
    if res.generation {
        let generation = match kept(m, "generation") {
            Some(g) if g.as_i64().is_some_and(|g| g >= 1) => g,
            Some(other) => {
                return Err(invalid(
                    "generation",
                    &other,
                    "must be a whole number from 1",
                ));
            }
            None => json!(1),
        };
        m.insert("generation".into(), generation);
    }
    Ok(())
}

pub(super) fn namespace_def() -> &'static ResourceDef {
    RESOURCES
        .iter()
        .find(|r| r.group.is_empty() && r.plural == "namespaces")
        .expect("namespaces are served")
}

/// Fill in apiVersion and kind, and refuse a body of another kind.
fn check_type(res: &ResourceDef, obj: &mut Value) -> Result<(), ApiError> {
    let want_api = res.api_version();
    let o = obj.as_object_mut().expect("object");
    let api = o.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
    if (!api.is_empty() && api != want_api) || (!kind.is_empty() && kind != res.kind) {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api}) does not match the expected API version ({want_api}), or the kind ({kind}) is not {}",
            res.kind
        )));
    }
    o.insert("apiVersion".into(), json!(want_api));
    o.insert("kind".into(), json!(res.kind));
    Ok(())
}
