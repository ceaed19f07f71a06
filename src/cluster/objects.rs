//! The latest objects of every source, as the reflectors hold them, and
//! the lookups the release mappings make, kept current as objects change
//! rather than rebuilt for every change: a big cluster's 40,000 pods are
//! indexed once, then one pod at a time.

use super::feature_flags;
use super::fields::{self, str_at};
use super::kinds::WatchedKind;
use super::projection::PodSummary;
use kube::api::DynamicObject;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// A kind may come from several sources (ReplicaSets of Argo and of
/// Deployments); each source's set is replaced whole when it changes.
#[derive(Debug, Clone, Default)]
pub struct Objects {
    sources: BTreeMap<String, (WatchedKind, Vec<Arc<DynamicObject>>)>,
    /// Each source's pods by namespace and name.
    pod_sources: BTreeMap<String, HashMap<(String, String), Arc<PodSummary>>>,
    /// Pods by the uid of their ReplicaSet.
    pods_by_owner: HashMap<String, Vec<Arc<PodSummary>>>,
    by_name: Lookup<(WatchedKind, String, String)>,
    by_owner: Lookup<(WatchedKind, String)>,
    /// Events by the namespace, kind and name of the object they are about.
    events_about: Lookup<(String, String, String)>,
    /// Flagger canaries by the Deployments they manage (target and primary).
    canaries_managing: Lookup<(String, String)>,
    /// FeatureFlags by namespace and each flag key they define.
    flags_keyed: Lookup<(String, String)>,
    /// FeatureFlags by namespace and the release they are labelled for.
    flags_labelled: Lookup<(String, String)>,
}

/// Objects under a key; an object stays one `Arc`, shared with its source.
type Lookup<K> = HashMap<K, Vec<Arc<DynamicObject>>>;

/// What a source's new set changed: the objects that are new (added or
/// modified) and those gone (deleted, or the old state of a modified one).
/// A modified object is a new `Arc` in the reflector, so identity tells.
#[derive(Debug)]
pub struct Changes<T> {
    pub added: Vec<Arc<T>>,
    pub removed: Vec<Arc<T>>,
}

impl<T> Changes<T> {
    fn between(old: Vec<Arc<T>>, new: &[Arc<T>]) -> Changes<T> {
        let identities = |set: &[Arc<T>]| set.iter().map(Arc::as_ptr).collect::<HashSet<_>>();
        let (old_ids, new_ids) = (identities(&old), identities(new));
        Changes {
            added: new
                .iter()
                .filter(|o| !old_ids.contains(&Arc::as_ptr(o)))
                .cloned()
                .collect(),
            removed: old
                .into_iter()
                .filter(|o| !new_ids.contains(&Arc::as_ptr(o)))
                .collect(),
        }
    }
}

impl Objects {
    pub fn of(&self, kind: WatchedKind) -> impl Iterator<Item = &Arc<DynamicObject>> {
        self.sources
            .values()
            .filter(move |(k, _)| *k == kind)
            .flat_map(|(_, objects)| objects)
    }

    /// Replace the objects of `source` and say what changed.
    pub fn set(
        &mut self,
        source: &str,
        kind: WatchedKind,
        objects: Vec<Arc<DynamicObject>>,
    ) -> Changes<DynamicObject> {
        let (old_kind, old) = self
            .sources
            .insert(source.to_string(), (kind, objects))
            .unwrap_or((kind, Vec::new()));
        let changes = Changes::between(old, &self.sources[source].1);
        for object in &changes.removed {
            self.unindex(old_kind, object);
        }
        for object in &changes.added {
            self.index(kind, object);
        }
        changes
    }

    /// Replace the pods of `source` and say what changed.
    pub fn set_pods(&mut self, source: &str, pods: Vec<Arc<PodSummary>>) -> Changes<PodSummary> {
        let old: Vec<Arc<PodSummary>> = self
            .pod_sources
            .insert(
                source.to_string(),
                pods.iter().map(|p| (p.key(), p.clone())).collect(),
            )
            .unwrap_or_default()
            .into_values()
            .collect();
        let changes = Changes::between(old, &pods);
        self.index_pods(&changes);
        changes
    }

    /// Apply what changed among the pods of `source`: `deleted` by
    /// namespace and name, then `applied`.
    pub fn change_pods(
        &mut self,
        source: &str,
        applied: Vec<Arc<PodSummary>>,
        deleted: &[(String, String)],
    ) -> Changes<PodSummary> {
        let pods = self.pod_sources.entry(source.to_string()).or_default();
        let mut changes = Changes {
            added: Vec::new(),
            removed: Vec::new(),
        };
        for key in deleted {
            changes.removed.extend(pods.remove(key));
        }
        for pod in applied {
            changes.removed.extend(pods.insert(pod.key(), pod.clone()));
            changes.added.push(pod);
        }
        self.index_pods(&changes);
        changes
    }

    fn index_pods(&mut self, changes: &Changes<PodSummary>) {
        for pod in &changes.removed {
            if let Some(owner) = pod.owner.as_deref()
                && let Some(pods) = self.pods_by_owner.get_mut(owner)
            {
                pods.retain(|p| !Arc::ptr_eq(p, pod));
                if pods.is_empty() {
                    self.pods_by_owner.remove(owner);
                }
            }
        }
        for pod in &changes.added {
            if let Some(owner) = pod.owner.as_deref() {
                let pods = self.pods_by_owner.entry(owner.to_string()).or_default();
                pods.push(pod.clone());
            }
        }
    }

    pub fn pods(&self) -> impl Iterator<Item = &Arc<PodSummary>> {
        self.pod_sources.values().flat_map(HashMap::values)
    }

    /// The pods of the ReplicaSet with `uid`.
    pub fn pods_owned_by(&self, uid: &str) -> &[Arc<PodSummary>] {
        self.pods_by_owner
            .get(uid)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn clear(&mut self) {
        *self = Objects::default();
    }

    /// The object of `kind` named `name` in `namespace`.
    pub fn find(
        &self,
        kind: WatchedKind,
        namespace: &str,
        name: &str,
    ) -> Option<&Arc<DynamicObject>> {
        let key = (kind, namespace.to_string(), name.to_string());
        self.by_name.get(&key).and_then(|found| found.first())
    }

    /// The objects of `kind` whose controller (or first owner) has `uid`.
    pub fn owned_by(&self, kind: WatchedKind, uid: &str) -> &[Arc<DynamicObject>] {
        let key = (kind, uid.to_string());
        self.by_owner.get(&key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Events about the object `kind` `name` in `namespace`.
    pub fn events_about(&self, namespace: &str, kind: &str, name: &str) -> &[Arc<DynamicObject>] {
        let key = (namespace.to_string(), kind.to_string(), name.to_string());
        self.events_about
            .get(&key)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The Flagger canaries that manage the Deployment `name`.
    pub fn canaries_managing(&self, namespace: &str, name: &str) -> &[Arc<DynamicObject>] {
        let key = (namespace.to_string(), name.to_string());
        self.canaries_managing
            .get(&key)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The FeatureFlags in `namespace` that define flag `key`.
    pub fn flags_keyed(&self, namespace: &str, key: &str) -> &[Arc<DynamicObject>] {
        let key = (namespace.to_string(), key.to_string());
        self.flags_keyed.get(&key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The FeatureFlags in `namespace` labelled for release `name`.
    pub fn flags_labelled(&self, namespace: &str, name: &str) -> &[Arc<DynamicObject>] {
        let key = (namespace.to_string(), name.to_string());
        self.flags_labelled
            .get(&key)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The lookup a key files into, and the key within it.
    fn lookup(&mut self, key: Key) -> (&mut Lookup<(String, String)>, (String, String)) {
        match key {
            Key::Managing(k) => (&mut self.canaries_managing, k),
            Key::FlagNamed(k) => (&mut self.flags_keyed, k),
            Key::FlagRelease(k) => (&mut self.flags_labelled, k),
            Key::Name(_) | Key::Owner(_) | Key::About(_) => {
                unreachable!("filed by its own lookup")
            }
        }
    }

    fn index(&mut self, kind: WatchedKind, object: &Arc<DynamicObject>) {
        for key in keys(kind, object) {
            let entries = match key {
                Key::Name(k) => self.by_name.entry(k).or_default(),
                Key::Owner(k) => self.by_owner.entry(k).or_default(),
                Key::About(k) => self.events_about.entry(k).or_default(),
                pair => {
                    let (lookup, k) = self.lookup(pair);
                    lookup.entry(k).or_default()
                }
            };
            entries.push(object.clone());
        }
    }

    fn unindex(&mut self, kind: WatchedKind, object: &Arc<DynamicObject>) {
        fn take<K: std::hash::Hash + Eq>(
            lookup: &mut Lookup<K>,
            key: K,
            object: &Arc<DynamicObject>,
        ) {
            if let Some(entries) = lookup.get_mut(&key) {
                entries.retain(|o| !Arc::ptr_eq(o, object));
                if entries.is_empty() {
                    lookup.remove(&key);
                }
            }
        }
        for key in keys(kind, object) {
            match key {
                Key::Name(k) => take(&mut self.by_name, k, object),
                Key::Owner(k) => take(&mut self.by_owner, k, object),
                Key::About(k) => take(&mut self.events_about, k, object),
                pair => {
                    let (lookup, k) = self.lookup(pair);
                    take(lookup, k, object);
                }
            }
        }
    }
}

/// Where an object is filed.
enum Key {
    Name((WatchedKind, String, String)),
    Owner((WatchedKind, String)),
    About((String, String, String)),
    Managing((String, String)),
    /// A FeatureFlag by namespace and a flag key it defines.
    FlagNamed((String, String)),
    /// A FeatureFlag by namespace and the release it is labelled for.
    FlagRelease((String, String)),
}

fn keys(kind: WatchedKind, object: &DynamicObject) -> Vec<Key> {
    let namespace = fields::namespace(object).to_string();
    let mut keys = vec![Key::Name((
        kind,
        namespace.clone(),
        fields::name(object).to_string(),
    ))];
    if let Some(uid) = fields::controller_uid(object) {
        keys.push(Key::Owner((kind, uid.to_string())));
    }
    match kind {
        WatchedKind::Event => keys.push(Key::About(about(object))),
        WatchedKind::Canary => {
            for deployment in super::flagger::managed_deployments(object) {
                keys.push(Key::Managing((namespace.clone(), deployment)));
            }
        }
        WatchedKind::FeatureFlag => {
            for key in feature_flags::keys(object) {
                keys.push(Key::FlagNamed((namespace.clone(), key)));
            }
            for release in feature_flags::labelled_releases(object) {
                keys.push(Key::FlagRelease((namespace.clone(), release)));
            }
        }
        _ => {}
    }
    keys
}

/// The namespace, kind and name of the object an Event is about.
pub(crate) fn about(event: &DynamicObject) -> (String, String, String) {
    let field = |pointer| str_at(&event.data, pointer).unwrap_or_default();
    let namespace = str_at(&event.data, "/involvedObject/namespace")
        .unwrap_or_else(|| fields::namespace(event));
    (
        namespace.to_string(),
        field("/involvedObject/kind").to_string(),
        field("/involvedObject/name").to_string(),
    )
}
