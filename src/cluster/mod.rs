//! Kubernetes through kube-rs: connecting, watching, mapping objects to
//! releases, access reviews and the one handle that can mutate.

pub mod answer_limit;
pub(crate) mod argo;
pub mod connect;
pub(crate) mod deployment;
pub(crate) mod fields;
pub(crate) mod fingerprint;
pub(crate) mod flagger;
pub mod kinds;
pub(crate) mod migration_jobs;
pub mod mutate;
pub mod projection;
pub(crate) mod rbac;
pub(crate) mod reconnect;
pub(crate) mod routing;
pub mod watch;
pub(crate) mod workload;

#[cfg(test)]
mod tests;

use crate::model::Release;
use kinds::WatchedKind;
use kube::api::DynamicObject;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The latest objects of every source, as the reflectors hold them. A kind
/// may come from several sources (ReplicaSets of Argo and of Deployments).
#[derive(Debug, Clone, Default)]
pub struct Objects {
    sources: BTreeMap<String, (WatchedKind, Vec<Arc<DynamicObject>>)>,
}

impl Objects {
    pub fn of(&self, kind: WatchedKind) -> impl Iterator<Item = &Arc<DynamicObject>> {
        self.sources
            .values()
            .filter(move |(k, _)| *k == kind)
            .flat_map(|(_, objects)| objects)
    }

    pub fn set(&mut self, source: &str, kind: WatchedKind, objects: Vec<Arc<DynamicObject>>) {
        self.sources.insert(source.to_string(), (kind, objects));
    }

    pub fn clear(&mut self) {
        self.sources.clear();
    }

    /// The object of `kind` named `name` in `namespace`.
    pub fn find(
        &self,
        kind: WatchedKind,
        namespace: &str,
        name: &str,
    ) -> Option<&Arc<DynamicObject>> {
        self.of(kind)
            .find(|o| fields::namespace(o) == namespace && fields::name(o) == name)
    }
}

/// Lookups shared by the per-kind mappings: children by owner uid, events
/// by the object they are about.
pub struct Index<'a> {
    pub objects: &'a Objects,
    pub replica_sets_by_owner: HashMap<&'a str, Vec<&'a DynamicObject>>,
    pub pods_by_owner: HashMap<&'a str, Vec<&'a DynamicObject>>,
    pub runs_by_owner: HashMap<&'a str, Vec<&'a DynamicObject>>,
    /// Keyed by the namespace, kind and name of the object they are about.
    pub events_by_object: HashMap<(&'a str, &'a str, &'a str), Vec<&'a DynamicObject>>,
    pub deployments: HashMap<(&'a str, &'a str), &'a DynamicObject>,
}

fn by_owner<'a>(
    objects: impl Iterator<Item = &'a Arc<DynamicObject>>,
) -> HashMap<&'a str, Vec<&'a DynamicObject>> {
    let mut map: HashMap<&str, Vec<&DynamicObject>> = HashMap::new();
    for o in objects {
        if let Some(uid) = fields::controller_uid(o) {
            map.entry(uid).or_default().push(o);
        }
    }
    map
}

impl<'a> Index<'a> {
    pub fn new(objects: &'a Objects) -> Self {
        let mut events_by_object: HashMap<(&str, &str, &str), Vec<&DynamicObject>> = HashMap::new();
        for e in objects.of(WatchedKind::Event) {
            let about = |field| fields::str_at(&e.data, field).unwrap_or_default();
            let namespace = fields::str_at(&e.data, "/involvedObject/namespace")
                .unwrap_or_else(|| fields::namespace(e));
            events_by_object
                .entry((
                    namespace,
                    about("/involvedObject/kind"),
                    about("/involvedObject/name"),
                ))
                .or_default()
                .push(e);
        }
        Index {
            objects,
            replica_sets_by_owner: by_owner(objects.of(WatchedKind::ReplicaSet)),
            pods_by_owner: by_owner(objects.of(WatchedKind::Pod)),
            runs_by_owner: by_owner(objects.of(WatchedKind::AnalysisRun)),
            events_by_object,
            deployments: objects
                .of(WatchedKind::Deployment)
                .map(|d| ((fields::namespace(d), fields::name(d)), d.as_ref()))
                .collect(),
        }
    }
}

/// Every release in `objects`, sorted by namespace and name. Deployments
/// that a Flagger canary manages (its target and `-primary`) are shown as
/// part of the canary, not on their own.
pub fn releases(objects: &Objects) -> Vec<Release> {
    let index = Index::new(objects);
    let mut out = Vec::new();
    let mut flagger_managed = std::collections::HashSet::new();
    for c in objects.of(WatchedKind::Canary) {
        let release = flagger::release(c, &index);
        if let Some(f) = &release.flagger {
            flagger_managed.insert((release.key.namespace.clone(), f.target.clone()));
            flagger_managed.insert((release.key.namespace.clone(), f.primary.clone()));
        }
        out.push(release);
    }
    for r in objects.of(WatchedKind::Rollout) {
        out.push(argo::release(r, &index));
    }
    for d in objects.of(WatchedKind::Deployment) {
        let key = (
            fields::namespace(d).to_string(),
            fields::name(d).to_string(),
        );
        if !flagger_managed.contains(&key) {
            out.push(deployment::release(d, &index));
        }
    }
    for release in &mut out {
        release.migration = migration_jobs::migration_of(objects, release);
    }
    out.sort_by(|a, b| {
        a.key
            .namespace
            .cmp(&b.key.namespace)
            .then(a.key.name.cmp(&b.key.name))
    });
    out
}
