//! The object store behind the simulated API server: objects by resource,
//! namespace and name; one resourceVersion counter for the whole store;
//! a bounded history of changes so watches can resume, and answer 410 when
//! asked for a version older than what is kept, as etcd compaction makes a
//! real server do.

use super::clock::Clock;
use super::patch::{PatchKind, apply_patch};
use super::resources::{RESOURCES, ResourceDef};
use super::selector::{FieldSelector, LabelSelector};
use super::status::ApiError;
use base64::Engine;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast;

/// (group, plural, namespace, name); namespace is "" for cluster-scoped objects.
type ObjKey = (&'static str, &'static str, String, String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One committed change, as kept in the history and fanned out to watches.
#[derive(Debug, Clone)]
pub struct Change {
    pub rv: u64,
    pub event: EventType,
    pub res: &'static ResourceDef,
    pub namespace: String,
    /// The object after the change; for a deletion, its last state.
    pub object: Arc<Value>,
    /// The object before the change, for modifications and deletions.
    pub old: Option<Arc<Value>>,
}

/// Which part of an object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The main resource: status changes are ignored where a status subresource exists.
    Main,
    /// The `/status` subresource: only status changes.
    Status,
    /// Everything at once; for the simulator's own controllers and seeds.
    Whole,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    #[default]
    Background,
    Foreground,
    Orphan,
}

#[derive(Debug, Clone)]
pub struct ListOptions {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions {
            labels: LabelSelector::everything(),
            fields: FieldSelector::everything(),
            limit: None,
            continue_token: None,
        }
    }
}

impl ListOptions {
    pub fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(obj) && self.fields.matches(obj)
    }
}

#[derive(Debug, Clone)]
pub struct ListResult {
    pub items: Vec<Arc<Value>>,
    pub resource_version: u64,
    pub continue_token: Option<String>,
    pub remaining: Option<usize>,
}

/// Where a watch begins: the events to send first, then the live feed.
#[derive(Debug)]
pub struct WatchStart {
    pub initial: Vec<Arc<Change>>,
    pub live: broadcast::Receiver<Arc<Change>>,
    /// The store's resourceVersion when the watch began.
    pub resource_version: u64,
}

pub const DEFAULT_HISTORY: usize = 10_000;
const FANOUT_CAPACITY: usize = 8_192;

struct State {
    rv: u64,
    /// Shared with the history and the watch fan-out: readers and events
    /// hold the same immutable version instead of copies.
    objects: BTreeMap<ObjKey, Arc<Value>>,
    /// Owner uid → the objects whose ownerReferences name it, so that
    /// controllers and garbage collection find dependents without a scan.
    dependents: HashMap<String, BTreeSet<ObjKey>>,
    history: VecDeque<Arc<Change>>,
    history_limit: usize,
    /// Changes at or below this version are no longer kept.
    compacted_rv: u64,
}

pub struct Store {
    state: Mutex<State>,
    fanout: broadcast::Sender<Arc<Change>>,
    clock: Arc<Clock>,
}

fn key(res: &'static ResourceDef, ns: &str, name: &str) -> ObjKey {
    let ns = if res.namespaced { ns } else { "" };
    (res.group, res.plural, ns.to_string(), name.to_string())
}

fn meta(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    meta(obj).and_then(|m| m.get(field)).and_then(Value::as_str)
}

fn owner_refs(obj: &Value) -> Option<&Value> {
    meta(obj).and_then(|m| m.get("ownerReferences"))
}

fn owner_uids(obj: &Value) -> impl Iterator<Item = &str> {
    owner_refs(obj)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r["uid"].as_str())
}

fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
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

/// Whether an object comes after `start` (a continue token's `namespace/name`),
/// compared without building the object's own `namespace/name`.
fn after((_, _, ns, name): &ObjKey, start: &str) -> bool {
    let key = ns.bytes().chain([b'/']).chain(name.bytes());
    key.cmp(start.bytes()) == std::cmp::Ordering::Greater
}

fn encode_continue(rv: u64, start: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": start});
    base64::engine::general_purpose::STANDARD.encode(token.to_string())
}

fn decode_continue(token: &str) -> Result<(u64, String), ApiError> {
    let bad = || {
        ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let rv = v["rv"].as_u64().ok_or_else(bad)?;
    let start = v["start"].as_str().ok_or_else(bad)?.to_string();
    Ok((rv, start))
}

impl Store {
    pub fn new(clock: Arc<Clock>) -> Self {
        let (fanout, _) = broadcast::channel(FANOUT_CAPACITY);
        Store {
            state: Mutex::new(State {
                rv: 1,
                objects: BTreeMap::new(),
                dependents: HashMap::new(),
                history: VecDeque::new(),
                history_limit: DEFAULT_HISTORY,
                compacted_rv: 0,
            }),
            fanout,
            clock,
        }
    }

    pub fn clock(&self) -> &Arc<Clock> {
        &self.clock
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take the whole simulated cluster down.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// How many changes are kept for resuming watches.
    pub fn set_history_limit(&self, limit: usize) {
        let mut st = self.lock();
        st.history_limit = limit.max(1);
        st.trim();
    }

    /// Forget all kept history, as an etcd compaction does: every watch or
    /// continue token from before now gets 410.
    pub fn compact(&self) {
        let mut st = self.lock();
        st.compacted_rv = st.rv;
        st.history.clear();
    }

    /// Read part of an object without copying it (for hot paths).
    pub fn read<T>(
        &self,
        res: &'static ResourceDef,
        ns: &str,
        name: &str,
        f: impl FnOnce(&Value) -> T,
    ) -> Option<T> {
        self.lock().objects.get(&key(res, ns, name)).map(|o| f(o))
    }

    pub fn get(
        &self,
        res: &'static ResourceDef,
        ns: &str,
        name: &str,
    ) -> Result<Arc<Value>, ApiError> {
        self.lock()
            .objects
            .get(&key(res, ns, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(res, name))
    }

    /// Objects of a resource whose ownerReferences name `owner_uid`.
    pub fn owned_by(&self, res: &'static ResourceDef, owner_uid: &str) -> Vec<Arc<Value>> {
        let st = self.lock();
        st.dependents
            .get(owner_uid)
            .into_iter()
            .flatten()
            .filter(|(g, p, _, _)| *g == res.group && *p == res.plural)
            .filter_map(|k| st.objects.get(k).cloned())
            .collect()
    }

    /// Objects of a resource in one namespace, or everywhere when `ns` is None.
    pub fn list(
        &self,
        res: &'static ResourceDef,
        ns: Option<&str>,
        opts: &ListOptions,
    ) -> Result<ListResult, ApiError> {
        let st = self.lock();
        // Later pages answer at the first page's version, as a real server does,
        // so a watch from the last page replays what changed in between.
        let mut list_rv = st.rv;
        let start_after = match &opts.continue_token {
            Some(token) => {
                let (rv, start) = decode_continue(token)?;
                list_rv = rv;
                if rv <= st.compacted_rv {
                    return Err(ApiError::expired(
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                    ));
                }
                Some(start)
            }
            None => None,
        };
        let scope = if res.namespaced { ns } else { None };
        let matching: Vec<(&ObjKey, &Arc<Value>)> = st
            .range(res, scope)
            .filter(|(k, _)| start_after.as_ref().is_none_or(|s| after(k, s)))
            .filter(|(_, obj)| opts.matches(obj))
            .collect();
        let take = opts
            .limit
            .filter(|l| *l > 0)
            .unwrap_or(matching.len())
            .min(matching.len());
        let remaining = matching.len() - take;
        let items: Vec<Arc<Value>> = matching[..take]
            .iter()
            .map(|(_, o)| Arc::clone(o))
            .collect();
        let continue_token = (remaining > 0).then(|| {
            let (_, _, ns, name) = matching[take - 1].0;
            encode_continue(list_rv, &format!("{ns}/{name}"))
        });
        Ok(ListResult {
            items,
            resource_version: list_rv,
            continue_token,
            remaining: (remaining > 0).then_some(remaining),
        })
    }

    /// Create an object, as a client's POST does: uid, creationTimestamp,
    /// generation and resourceVersion are the server's, whatever the body says.
    pub fn create(
        &self,
        res: &'static ResourceDef,
        ns: &str,
        obj: Value,
        target: Target,
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
        self.add(res, ns, obj, Target::Whole, false, Origin::Restore)
    }

    fn add(
        &self,
        res: &'static ResourceDef,
        ns: &str,
        mut obj: Value,
        target: Target,
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
        m.remove("deletionTimestamp");
        m.remove("resourceVersion");
        if res.status
            && target != Target::Whole
            && let Some(o) = obj.as_object_mut()
        {
            o.remove("status");
        }
        if dry_run {
            return Ok(Arc::new(obj));
        }
        Ok(st.commit(&self.fanout, res, k, EventType::Added, obj, None))
    }

    /// Replace an object (PUT). The body's resourceVersion must be current.
    pub fn update(
        &self,
        res: &'static ResourceDef,
        ns: &str,
        name: &str,
        mut obj: Value,
        target: Target,
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
            None | Some("") if target != Target::Whole => {
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
        target: Target,
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
        self.write(&mut st, res, k, current, next, Target::Whole, false)
    }

    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        st: &mut State,
        res: &'static ResourceDef,
        k: ObjKey,
        current: Arc<Value>,
        mut next: Value,
        target: Target,
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
            Target::Status => {
                let status = next.as_object_mut().and_then(|o| o.remove("status"));
                next = Value::clone(&current);
                match status {
                    Some(s) => next["status"] = s,
                    None => {
                        next.as_object_mut().expect("object").remove("status");
                    }
                }
            }
            Target::Main if res.status => {
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
        if dry_run {
            return Ok(Arc::new(next));
        }
        Ok(st.commit(
            &self.fanout,
            res,
            k,
            EventType::Modified,
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

    /// Every change from now on, for the simulator's own controllers.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.fanout.subscribe()
    }

    /// Where a watch on `res` begins. Without a version, every current object
    /// comes first as a synthetic ADDED; with one, the kept changes after it.
    pub fn watch(
        &self,
        res: &'static ResourceDef,
        from: Option<u64>,
    ) -> Result<WatchStart, ApiError> {
        let st = self.lock();
        let live = self.fanout.subscribe();
        let initial = match from {
            None => st
                .range(res, None)
                .map(|((_, _, ns, _), obj)| {
                    Arc::new(Change {
                        rv: st.rv,
                        event: EventType::Added,
                        res,
                        namespace: ns.clone(),
                        object: obj.clone(),
                        old: None,
                    })
                })
                .collect(),
            Some(rv) if rv < st.compacted_rv => {
                return Err(ApiError::expired(format!(
                    "too old resource version: {rv} ({})",
                    st.compacted_rv + 1
                )));
            }
            Some(rv) => st
                .history
                .iter()
                .filter(|c| c.rv > rv && std::ptr::eq(c.res, res))
                .cloned()
                .collect(),
        };
        Ok(WatchStart {
            initial,
            live,
            resource_version: st.rv,
        })
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
        Some(t) if super::time::parse_timestamp(&t).is_some() => t,
        Some(other) => {
            return Err(invalid(
                "creationTimestamp",
                &other,
                "must be an RFC 3339 time such as 2024-05-01T12:00:00Z",
            ));
        }
        None => json!(super::time::timestamp(now)),
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

fn namespace_def() -> &'static ResourceDef {
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

impl State {
    /// The objects of one resource, in one namespace or all, without scanning the rest.
    fn range<'a>(
        &'a self,
        res: &'static ResourceDef,
        ns: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a ObjKey, &'a Arc<Value>)> + 'a {
        let start: ObjKey = (
            res.group,
            res.plural,
            ns.unwrap_or("").to_string(),
            String::new(),
        );
        self.objects
            .range(start..)
            .take_while(move |((g, p, o_ns, _), _)| {
                *g == res.group && *p == res.plural && ns.is_none_or(|n| n == o_ns)
            })
    }

    fn trim(&mut self) {
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted_rv = old.rv;
            }
        }
    }

    /// Give the object the next resourceVersion, store it, record and fan out the change.
    fn commit(
        &mut self,
        fanout: &broadcast::Sender<Arc<Change>>,
        res: &'static ResourceDef,
        k: ObjKey,
        event: EventType,
        mut obj: Value,
        old: Option<Arc<Value>>,
    ) -> Arc<Value> {
        self.rv += 1;
        meta_mut(&mut obj).insert("resourceVersion".into(), json!(self.rv.to_string()));
        let obj = Arc::new(obj);
        let change = Arc::new(Change {
            rv: self.rv,
            event,
            res,
            namespace: k.2.clone(),
            object: obj.clone(),
            old,
        });
        let deleted = event == EventType::Deleted;
        let old_refs = change.old.as_deref().and_then(owner_refs);
        if deleted || old_refs != owner_refs(&obj) {
            for uid in change.old.as_deref().into_iter().flat_map(owner_uids) {
                if let Some(keys) = self.dependents.get_mut(uid) {
                    keys.remove(&k);
                    if keys.is_empty() {
                        self.dependents.remove(uid);
                    }
                }
            }
            if !deleted {
                for uid in owner_uids(&obj) {
                    let keys = self.dependents.entry(uid.to_string()).or_default();
                    keys.insert(k.clone());
                }
            }
        }
        if deleted {
            self.objects.remove(&k);
        } else {
            self.objects.insert(k, obj.clone());
        }
        self.history.push_back(change.clone());
        self.trim();
        // No receivers is fine: nobody is watching.
        let _ = fanout.send(change);
        obj
    }

    /// Remove an object; dependents go too (or lose the owner reference when orphaned).
    fn remove_cascading(
        &mut self,
        fanout: &broadcast::Sender<Arc<Change>>,
        k: ObjKey,
        propagation: Propagation,
    ) -> Arc<Value> {
        let Some(current) = self.objects.get(&k).cloned() else {
            return Arc::new(Value::Null);
        };
        let res = RESOURCES
            .iter()
            .find(|r| r.group == k.0 && r.plural == k.1)
            .expect("stored objects have a served resource");
        let uid = meta_str(&current, "uid").unwrap_or("").to_string();
        let deleted = self.commit(
            fanout,
            res,
            k.clone(),
            EventType::Deleted,
            Value::clone(&current),
            Some(current),
        );
        let is_namespace = std::ptr::eq(res, namespace_def());
        let mut dependents: Vec<ObjKey> = self
            .dependents
            .get(&uid)
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        if is_namespace {
            dependents.extend(self.objects.keys().filter(|dk| dk.2 == k.3).cloned());
            dependents.sort();
            dependents.dedup();
        }
        for dk in dependents {
            if propagation == Propagation::Orphan && !is_namespace {
                let Some(obj) = self.objects.get(&dk).cloned() else {
                    continue;
                };
                let mut next = Value::clone(&obj);
                if let Some(refs) = meta_mut(&mut next)
                    .get_mut("ownerReferences")
                    .and_then(Value::as_array_mut)
                {
                    refs.retain(|r| r["uid"] != json!(uid));
                }
                let dres = RESOURCES
                    .iter()
                    .find(|r| r.group == dk.0 && r.plural == dk.1)
                    .expect("served");
                self.commit(fanout, dres, dk, EventType::Modified, next, Some(obj));
            } else {
                self.remove_cascading(fanout, dk, propagation);
            }
        }
        deleted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::lookup;

    fn store() -> Store {
        let s = Store::new(Arc::new(Clock::new(0.0)));
        let ns = lookup("", "v1", "namespaces").unwrap();
        s.create(
            ns,
            "",
            json!({"metadata": {"name": "shop"}}),
            Target::Whole,
            false,
        )
        .unwrap();
        s
    }

    fn ro() -> &'static ResourceDef {
        lookup("argoproj.io", "v1alpha1", "rollouts").unwrap()
    }

    /// A merge patch of rollout `name` in shop.
    fn merge(s: &Store, name: &str, body: &str, target: Target) -> Arc<Value> {
        s.patch(
            ro(),
            "shop",
            name,
            PatchKind::Merge,
            body.as_bytes(),
            target,
            false,
        )
        .unwrap()
    }

    fn rv_of(v: &Value) -> u64 {
        v["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    #[test]
    fn create_fills_bookkeeping_and_drops_status() {
        let s = store();
        let obj = s
            .create(
                ro(),
                "shop",
                json!({"metadata": {"name": "checkout"}, "spec": {"replicas": 1}, "status": {"phase": "Healthy"}}),
                Target::Main,
                false,
            )
            .unwrap();
        assert_eq!(obj["kind"], "Rollout");
        assert_eq!(obj["apiVersion"], "argoproj.io/v1alpha1");
        assert_eq!(obj["metadata"]["generation"], 1);
        assert!(obj["metadata"]["uid"].is_string());
        assert!(obj.get("status").is_none());
        assert!(rv_of(&obj) > 1);
    }

    #[test]
    fn a_restore_keeps_what_is_given_and_assigns_only_what_is_missing() {
        let s = store();
        let given = json!({
            "metadata": {
                "name": "a", "uid": "0f4c3d4e-1111-4222-8333-944455556666", "generation": 7,
                "creationTimestamp": "2024-01-02T03:04:05Z", "resourceVersion": "999",
                "labels": {"app": "a"}, "annotations": {"note": "kept"},
            },
            "spec": {"replicas": 2},
            "status": {"phase": "Healthy", "observedGeneration": "7"},
        });
        let a = s.restore(ro(), "shop", given.clone()).unwrap();
        for field in [
            "uid",
            "generation",
            "creationTimestamp",
            "labels",
            "annotations",
        ] {
            assert_eq!(a["metadata"][field], given["metadata"][field], "{field}");
        }
        assert_eq!(a["status"], given["status"]);
        assert_ne!(
            a["metadata"]["resourceVersion"], "999",
            "resourceVersion is the store's"
        );

        let b = s
            .restore(
                ro(),
                "shop",
                json!({"metadata": {"name": "b", "uid": "", "creationTimestamp": null}}),
            )
            .unwrap();
        assert!(b["metadata"]["uid"].as_str().is_some_and(|u| u.len() == 36));
        assert_eq!(b["metadata"]["generation"], 1);
        assert_eq!(
            b["metadata"]["creationTimestamp"],
            crate::time::timestamp(s.clock().now())
        );

        let v = merge(
            &s,
            "a",
            r#"{"status":{"phase":"Degraded"}}"#,
            Target::Status,
        );
        assert_eq!(v["metadata"]["generation"], 7, "status is not spec");
        let v = merge(&s, "a", r#"{"spec":{"replicas":3}}"#, Target::Main);
        assert_eq!(v["metadata"]["generation"], 8);
        assert_eq!(v["metadata"]["uid"], given["metadata"]["uid"]);
    }

    #[test]
    fn a_client_create_gets_the_servers_identity_whatever_it_sends() {
        let s = store();
        let c = s
            .create(
                ro(),
                "shop",
                json!({"metadata": {"name": "c", "uid": "mine", "generation": 7,
                                    "creationTimestamp": "2024-01-02T03:04:05Z"}}),
                Target::Main,
                false,
            )
            .unwrap();
        assert_ne!(c["metadata"]["uid"], "mine");
        assert_eq!(c["metadata"]["generation"], 1);
        assert_ne!(c["metadata"]["creationTimestamp"], "2024-01-02T03:04:05Z");
    }

    #[test]
    fn a_restore_refuses_malformed_identity() {
        let s = store();
        for (metadata, field) in [
            (json!({"name": "a", "uid": 5}), "metadata.uid"),
            (
                json!({"name": "a", "creationTimestamp": "yesterday"}),
                "metadata.creationTimestamp",
            ),
            (json!({"name": "a", "generation": 0}), "metadata.generation"),
            (
                json!({"name": "a", "generation": "7"}),
                "metadata.generation",
            ),
        ] {
            let err = s
                .restore(ro(), "shop", json!({"metadata": metadata}))
                .unwrap_err();
            assert_eq!(err.code, 422, "{metadata}");
            assert!(err.message.contains(field), "{}", err.message);
        }
        assert_eq!(s.get(ro(), "shop", "a").unwrap_err().code, 404);
    }

    #[test]
    fn generation_moves_on_spec_changes_only_and_status_is_protected() {
        let s = store();
        s.create(
            ro(),
            "shop",
            json!({"metadata": {"name": "a"}, "spec": {"replicas": 1}}),
            Target::Main,
            false,
        )
        .unwrap();
        let v = merge(&s, "a", r#"{"status":{"abort":true}}"#, Target::Status);
        assert_eq!(v["metadata"]["generation"], 1);
        assert_eq!(v["status"]["abort"], true);
        let v = merge(
            &s,
            "a",
            r#"{"spec":{"paused":true},"status":{"abort":false}}"#,
            Target::Main,
        );
        assert_eq!(v["metadata"]["generation"], 2);
        assert_eq!(v["status"]["abort"], true, "main resource ignores status");
        let v2 = merge(
            &s,
            "a",
            r#"{"metadata":{"labels":{"x":"y"}}}"#,
            Target::Main,
        );
        assert_eq!(v2["metadata"]["generation"], 2);
        assert!(rv_of(&v2) > rv_of(&v));
    }

    #[test]
    fn a_no_op_write_keeps_the_resource_version() {
        let s = store();
        let a = s
            .create(
                ro(),
                "shop",
                json!({"metadata": {"name": "a"}, "spec": {"replicas": 1}}),
                Target::Main,
                false,
            )
            .unwrap();
        let b = merge(&s, "a", r#"{"spec":{"replicas":1}}"#, Target::Main);
        assert_eq!(a, b);
    }

    #[test]
    fn stale_update_conflicts() {
        let s = store();
        let a = s
            .create(
                ro(),
                "shop",
                json!({"metadata": {"name": "a"}, "spec": {"replicas": 1}}),
                Target::Main,
                false,
            )
            .unwrap();
        let mut b = Value::clone(&a);
        b["spec"]["replicas"] = json!(2);
        s.update(ro(), "shop", "a", b.clone(), Target::Main, false)
            .unwrap();
        let err = s
            .update(ro(), "shop", "a", b, Target::Main, false)
            .unwrap_err();
        assert_eq!(err.code, 409);
        assert_eq!(err.reason, "Conflict");
    }

    #[test]
    fn deleting_an_owner_collects_its_dependents() {
        let s = store();
        let rs = lookup("apps", "v1", "replicasets").unwrap();
        let pods = lookup("", "v1", "pods").unwrap();
        let owner = s
            .create(
                ro(),
                "shop",
                json!({"metadata": {"name": "a"}}),
                Target::Main,
                false,
            )
            .unwrap();
        let uid = owner["metadata"]["uid"].clone();
        let r = s
            .create(rs, "shop", json!({"metadata": {"name": "a-1", "ownerReferences": [{"uid": uid, "kind": "Rollout", "name": "a", "apiVersion": "argoproj.io/v1alpha1"}]}}), Target::Main, false)
            .unwrap();
        let ruid = r["metadata"]["uid"].clone();
        s.create(pods, "shop", json!({"metadata": {"name": "a-1-x", "ownerReferences": [{"uid": ruid, "kind": "ReplicaSet", "name": "a-1", "apiVersion": "apps/v1"}]}}), Target::Main, false)
            .unwrap();
        s.delete(ro(), "shop", "a", Propagation::Background, false)
            .unwrap();
        assert_eq!(s.get(rs, "shop", "a-1").unwrap_err().code, 404);
        assert_eq!(s.get(pods, "shop", "a-1-x").unwrap_err().code, 404);
    }

    #[test]
    fn owned_objects_follow_their_owner_references() {
        let s = store();
        let rs = lookup("apps", "v1", "replicasets").unwrap();
        let pods = lookup("", "v1", "pods").unwrap();
        let owner = s
            .create(
                rs,
                "shop",
                json!({"metadata": {"name": "a-1"}}),
                Target::Main,
                false,
            )
            .unwrap();
        let uid = owner["metadata"]["uid"].as_str().unwrap();
        let owned = json!({"metadata": {"name": "a-1-x", "ownerReferences": [{"uid": uid, "kind": "ReplicaSet", "name": "a-1", "apiVersion": "apps/v1"}]}});
        s.create(pods, "shop", owned, Target::Main, false).unwrap();
        assert_eq!(s.owned_by(pods, uid).len(), 1);
        assert!(
            s.owned_by(rs, uid).is_empty(),
            "only the resource asked for"
        );
        s.patch(
            pods,
            "shop",
            "a-1-x",
            PatchKind::Merge,
            br#"{"metadata":{"ownerReferences":null}}"#,
            Target::Main,
            false,
        )
        .unwrap();
        assert!(
            s.owned_by(pods, uid).is_empty(),
            "released when the reference goes"
        );
    }

    #[test]
    fn list_pages_with_continue_and_expires_after_compaction() {
        let s = store();
        for i in 0..5 {
            s.create(
                ro(),
                "shop",
                json!({"metadata": {"name": format!("r{i}")}}),
                Target::Main,
                false,
            )
            .unwrap();
        }
        let mut opts = ListOptions {
            limit: Some(2),
            ..Default::default()
        };
        let mut names = Vec::new();
        loop {
            let page = s.list(ro(), Some("shop"), &opts).unwrap();
            names.extend(
                page.items
                    .iter()
                    .map(|o| o["metadata"]["name"].as_str().unwrap().to_string()),
            );
            match page.continue_token {
                Some(t) => opts.continue_token = Some(t),
                None => break,
            }
        }
        assert_eq!(names, ["r0", "r1", "r2", "r3", "r4"]);
        let first = s
            .list(
                ro(),
                Some("shop"),
                &ListOptions {
                    limit: Some(2),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(first.remaining, Some(3));
        s.compact();
        let err = s
            .list(
                ro(),
                Some("shop"),
                &ListOptions {
                    limit: Some(2),
                    continue_token: first.continue_token,
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(err.code, 410);
    }

    #[test]
    fn watch_resumes_from_history_and_answers_410_when_compacted() {
        let s = store();
        let a = s
            .create(
                ro(),
                "shop",
                json!({"metadata": {"name": "a"}}),
                Target::Main,
                false,
            )
            .unwrap();
        merge(&s, "a", r#"{"spec":{"x":1}}"#, Target::Main);
        let start = s.watch(ro(), Some(rv_of(&a))).unwrap();
        assert_eq!(start.initial.len(), 1);
        assert_eq!(start.initial[0].event, EventType::Modified);
        s.compact();
        assert_eq!(s.watch(ro(), Some(rv_of(&a))).unwrap_err().code, 410);
        assert_eq!(s.watch(ro(), None).unwrap().initial.len(), 1);
    }

    #[test]
    fn creating_in_a_missing_namespace_is_not_found() {
        let s = store();
        let err = s
            .create(
                ro(),
                "nope",
                json!({"metadata": {"name": "a"}}),
                Target::Main,
                false,
            )
            .unwrap_err();
        assert_eq!(err.code, 404);
        assert_eq!(err.message, "namespaces \"nope\" not found");
        let err = s
            .create(
                ro(),
                "shop",
                json!({"metadata": {"name": "Bad_Name"}}),
                Target::Main,
                false,
            )
            .unwrap_err();
        assert_eq!(err.code, 422);
    }
}
