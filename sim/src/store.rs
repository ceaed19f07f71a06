//! The object store behind the simulated API server: objects by resource,
//! namespace and name; one resourceVersion counter for the whole store;
//! a bounded history of changes so watches can resume, and answer 410 when
//! asked for a version older than what is kept, as etcd compaction makes a
//! real server do.

mod state;
mod writes;

use super::api_error::ApiError;
use super::clock::Clock;
use super::resources::ResourceDef;
use super::selector::{FieldSelector, LabelSelector};
use base64::Engine;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast;

/// (group, plural, namespace, name); namespace is "" for cluster-scoped objects.
type ObjKey = (&'static str, &'static str, String, String);

/// What a change did to an object, as a watch event names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    Added,
    Modified,
    Deleted,
}

impl ChangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

/// One committed change, as kept in the history and fanned out to watches.
#[derive(Debug, Clone)]
pub struct Change {
    pub rv: u64,
    pub event: ChangeType,
    pub res: &'static ResourceDef,
    pub namespace: String,
    /// The object after the change; for a deletion, its last state.
    pub object: Arc<Value>,
    /// The object before the change, for modifications and deletions.
    pub old: Option<Arc<Value>>,
}

/// Which part of an object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteScope {
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
    /// How many objects the later pages hold: counted only for a list
    /// without selectors, as a real API server does.
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
        // Keys order by namespace, then name: the page goes on just after
        // the last object of the one before.
        let after = start_after.as_deref().and_then(|s| s.split_once('/'));
        let mut matching = st
            .range(res, scope, after)
            .filter(|(_, obj)| opts.matches(obj));
        let limit = opts.limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
        let page: Vec<(&ObjKey, &Arc<Value>)> = matching.by_ref().take(limit).collect();
        // As etcd's storage does, the rest is counted only for a list
        // without selectors; with one, it is unknown.
        let unfiltered = opts.labels == LabelSelector::everything()
            && opts.fields == FieldSelector::everything();
        let remaining = if unfiltered {
            matching.count()
        } else {
            usize::from(matching.next().is_some())
        };
        let continue_token = page
            .last()
            .filter(|_| remaining > 0)
            .map(|((_, _, ns, name), _)| encode_continue(list_rv, &format!("{ns}/{name}")));
        let items: Vec<Arc<Value>> = page.into_iter().map(|(_, o)| Arc::clone(o)).collect();
        Ok(ListResult {
            items,
            resource_version: list_rv,
            continue_token,
            remaining: (unfiltered && remaining > 0).then_some(remaining),
        })
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
                .range(res, None, None)
                .map(|((_, _, ns, _), obj)| {
                    Arc::new(Change {
                        rv: st.rv,
                        event: ChangeType::Added,
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

#[cfg(test)]
mod tests;
