//! The releases the watched objects make, each rebuilt only when an object
//! it was made from changes: one rollout moving among 2,000 rebuilds one
//! release, not 2,000. A build records every lookup it makes ([`Index`]);
//! a changed object touches the releases whose lookups would see it, and
//! the release it is itself.

use super::index::{Index, Read};
use super::kinds::{WatchedKind, watched_kind};
use super::objects::{Changes, Objects};
use super::projection::PodSummary;
use super::{argo, deployment, feature_flags, fields, flagger, migration_jobs};
use crate::model::{Kind, Release, ReleaseKey};
use kube::api::DynamicObject;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct Catalog {
    /// The cluster every key is stamped with (empty: the one context).
    cluster: String,
    objects: Objects,
    built: HashMap<ReleaseKey, Built>,
    /// Which releases made each lookup: most lookups have one reader, and
    /// a list of one is a tenth of a set's size.
    readers: HashMap<Read, Vec<ReleaseKey>>,
}

/// A release's object made into a release, or not shown on its own (a
/// Deployment a Flagger canary manages), and what was looked up for it.
#[derive(Debug)]
struct Built {
    /// Shared with the app's list: a release is kept once.
    release: Option<Arc<Release>>,
    reads: Vec<Read>,
}

impl Catalog {
    /// Every release `objects` make.
    pub fn new(objects: Objects) -> Catalog {
        let mut catalog = Catalog {
            objects,
            ..Catalog::default()
        };
        let keys: Vec<ReleaseKey> = [Kind::Rollout, Kind::Canary, Kind::Deployment]
            .into_iter()
            .flat_map(|kind| {
                let catalog = &catalog;
                catalog
                    .objects
                    .of(watched_kind(kind))
                    .map(move |o| catalog.key_of(kind, o))
            })
            .collect();
        for key in &keys {
            catalog.rebuild(key);
        }
        catalog
    }

    /// An empty catalog of one cluster of a fleet: its releases' keys
    /// name `cluster`.
    pub fn of_cluster(cluster: &str) -> Catalog {
        Catalog {
            cluster: cluster.to_string(),
            ..Catalog::default()
        }
    }

    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    pub fn objects(&self) -> &Objects {
        &self.objects
    }

    pub fn clear(&mut self) {
        *self = Catalog::of_cluster(&self.cluster);
    }

    /// Replace the objects of `source` and rebuild what they touch: the
    /// keys of the releases rebuilt, gone or newly hidden.
    pub fn set(
        &mut self,
        source: &str,
        kind: WatchedKind,
        objects: Vec<Arc<DynamicObject>>,
    ) -> HashSet<ReleaseKey> {
        let changes = self.objects.set(source, kind, objects);
        let mut touched = HashSet::new();
        for object in changes.added.iter().chain(&changes.removed) {
            if let Some(release_kind) = release_kind(kind) {
                touched.insert(self.key_of(release_kind, object));
            }
            self.readers_of(Read::seeing(kind, object), &mut touched);
        }
        self.rebuild_all(&touched);
        touched
    }

    /// Replace the pods of `source` and rebuild the releases they touch.
    pub fn set_pods(&mut self, source: &str, pods: Vec<Arc<PodSummary>>) -> HashSet<ReleaseKey> {
        let changes = self.objects.set_pods(source, pods);
        self.pods_changed(&changes)
    }

    /// Apply what changed among the pods of `source` and rebuild the
    /// releases it touches.
    pub fn change_pods(
        &mut self,
        source: &str,
        applied: Vec<Arc<PodSummary>>,
        deleted: &[(String, String)],
    ) -> HashSet<ReleaseKey> {
        let changes = self.objects.change_pods(source, applied, deleted);
        self.pods_changed(&changes)
    }

    fn pods_changed(&mut self, changes: &Changes<PodSummary>) -> HashSet<ReleaseKey> {
        let mut touched = HashSet::new();
        for pod in changes.added.iter().chain(&changes.removed) {
            self.readers_of(Read::seeing_pod(pod), &mut touched);
        }
        self.rebuild_all(&touched);
        touched
    }

    /// Add to `touched` the releases that made any of `reads`.
    fn readers_of(&self, reads: Vec<Read>, touched: &mut HashSet<ReleaseKey>) {
        for read in reads {
            if let Some(readers) = self.readers.get(&read) {
                touched.extend(readers.iter().cloned());
            }
        }
    }

    fn rebuild_all(&mut self, keys: &HashSet<ReleaseKey>) {
        for key in keys {
            self.rebuild(key);
        }
    }

    pub fn get(&self, key: &ReleaseKey) -> Option<&Arc<Release>> {
        self.built.get(key)?.release.as_ref()
    }

    /// Every release, in no order.
    pub fn releases(&self) -> impl Iterator<Item = &Arc<Release>> {
        self.built.values().filter_map(|b| b.release.as_ref())
    }

    fn key_of(&self, kind: Kind, object: &DynamicObject) -> ReleaseKey {
        ReleaseKey {
            cluster: self.cluster.clone(),
            kind,
            namespace: fields::namespace(object).to_string(),
            name: fields::name(object).to_string(),
        }
    }

    fn rebuild(&mut self, key: &ReleaseKey) {
        if let Some(old) = self.built.remove(key) {
            for read in old.reads {
                if let Some(readers) = self.readers.get_mut(&read) {
                    readers.retain(|k| k != key);
                    if readers.is_empty() {
                        self.readers.remove(&read);
                    }
                }
            }
        }
        let index = Index::new(&self.objects);
        let Some(release) = build(&index, key) else {
            return;
        };
        let reads = index.into_reads();
        // Each read once (see `into_reads`), and the key's old ones gone.
        for read in &reads {
            self.readers
                .entry(read.clone())
                .or_default()
                .push(key.clone());
        }
        self.built.insert(
            key.clone(),
            Built {
                release: release.map(Arc::new),
                reads,
            },
        );
    }
}

/// `None` when the release's object is gone; `Some(None)` when it is not
/// shown on its own.
fn build(index: &Index<'_>, key: &ReleaseKey) -> Option<Option<Release>> {
    let object = index.find(watched_kind(key.kind), &key.namespace, &key.name)?;
    let release = match key.kind {
        Kind::Rollout => Some(argo::release(object, index)),
        Kind::Canary => Some(flagger::release(object, index)),
        // Shown as part of its canary, not on its own.
        Kind::Deployment => index
            .canaries_managing(&key.namespace, &key.name)
            .is_empty()
            .then(|| deployment::release(object, index)),
    };
    Some(release.map(|mut release| {
        release.key.cluster = key.cluster.clone();
        release.migration = migration_jobs::migration_of(index, &release);
        release.flag_names = feature_flags::named_keys(object, &release, index);
        release.flags = feature_flags::flags_of(&release, index);
        release
    }))
}

fn release_kind(kind: WatchedKind) -> Option<Kind> {
    match kind {
        WatchedKind::Rollout => Some(Kind::Rollout),
        WatchedKind::Canary => Some(Kind::Canary),
        WatchedKind::Deployment => Some(Kind::Deployment),
        _ => None,
    }
}
