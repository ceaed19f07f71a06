//! The lookups a release's mapping makes, recorded as it makes them
//! (found or not), so that a changed object later touches exactly the
//! releases whose lookups would see it.

use super::fields;
use super::kinds::WatchedKind;
use super::objects::Objects;
use super::projection::PodSummary;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::DynamicObject;
use std::cell::RefCell;
use std::sync::Arc;

/// One lookup.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Read {
    /// The object of a kind with this namespace and name.
    Named(WatchedKind, String, String),
    /// The objects of a kind whose controller has this uid.
    Owned(WatchedKind, String),
    /// The Events about (namespace, kind, name).
    EventsAbout(String, String, String),
    /// The Flagger canaries managing the Deployment (namespace, name).
    CanariesManaging(String, String),
    /// Every object of a kind in a namespace.
    AllIn(WatchedKind, String),
    /// The FeatureFlags in a namespace that define a flag key.
    FlagKey(String, String),
    /// The FeatureFlags in a namespace labelled for a release.
    FlagsLabelled(String, String),
}

impl Read {
    /// The lookups that see an object of `kind` by its metadata alone.
    pub fn seeing_meta(kind: WatchedKind, meta: &ObjectMeta) -> Vec<Read> {
        let namespace = meta.namespace.clone().unwrap_or_default();
        let name = meta.name.clone().unwrap_or_default();
        Read::seeing_owned(kind, namespace, name, fields::owner_uid(meta))
    }

    /// The lookups that see a pod.
    pub fn seeing_pod(pod: &PodSummary) -> Vec<Read> {
        let (namespace, name) = pod.key();
        Read::seeing_owned(WatchedKind::Pod, namespace, name, pod.owner.as_deref())
    }

    /// The lookups that see an object of `kind` by its name, namespace and
    /// the uid of its `owner`.
    fn seeing_owned(
        kind: WatchedKind,
        namespace: String,
        name: String,
        owner: Option<&str>,
    ) -> Vec<Read> {
        let mut reads = vec![
            Read::Named(kind, namespace.clone(), name),
            Read::AllIn(kind, namespace),
        ];
        if let Some(uid) = owner {
            reads.push(Read::Owned(kind, uid.to_string()));
        }
        reads
    }

    /// The lookups that see `object`, of `kind`.
    pub fn seeing(kind: WatchedKind, object: &DynamicObject) -> Vec<Read> {
        let namespace = fields::namespace(object).to_string();
        let mut reads = Read::seeing_meta(kind, &object.metadata);
        match kind {
            WatchedKind::Event => {
                let (namespace, kind, name) = super::objects::about(object);
                reads.push(Read::EventsAbout(namespace, kind, name));
            }
            WatchedKind::Canary => {
                for deployment in super::flagger::managed_deployments(object) {
                    reads.push(Read::CanariesManaging(namespace.clone(), deployment));
                }
            }
            WatchedKind::FeatureFlag => {
                for key in super::feature_flags::keys(object) {
                    reads.push(Read::FlagKey(namespace.clone(), key));
                }
                for release in super::feature_flags::labelled_releases(object) {
                    reads.push(Read::FlagsLabelled(namespace.clone(), release));
                }
            }
            _ => {}
        }
        reads
    }
}

/// The objects, looked up through a record of every lookup.
pub struct Index<'a> {
    objects: &'a Objects,
    reads: RefCell<Vec<Read>>,
}

impl<'a> Index<'a> {
    pub fn new(objects: &'a Objects) -> Index<'a> {
        Index {
            objects,
            reads: RefCell::default(),
        }
    }

    /// Every lookup made so far.
    /// Every lookup made, each once.
    pub fn into_reads(self) -> Vec<Read> {
        let mut reads = self.reads.into_inner();
        reads.sort_unstable();
        reads.dedup();
        reads.shrink_to_fit();
        reads
    }

    fn record(&self, read: Read) {
        self.reads.borrow_mut().push(read);
    }

    pub fn find(
        &self,
        kind: WatchedKind,
        namespace: &str,
        name: &str,
    ) -> Option<&'a DynamicObject> {
        self.record(Read::Named(kind, namespace.into(), name.into()));
        self.objects.find(kind, namespace, name).map(Arc::as_ref)
    }

    pub fn owned_by(&self, kind: WatchedKind, uid: &str) -> &'a [Arc<DynamicObject>] {
        self.record(Read::Owned(kind, uid.into()));
        self.objects.owned_by(kind, uid)
    }

    /// The pods of the ReplicaSet with `uid`.
    pub fn pods_owned_by(&self, uid: &str) -> &'a [Arc<PodSummary>] {
        self.record(Read::Owned(WatchedKind::Pod, uid.into()));
        self.objects.pods_owned_by(uid)
    }

    pub fn events_about(
        &self,
        namespace: &str,
        kind: &str,
        name: &str,
    ) -> &'a [Arc<DynamicObject>] {
        self.record(Read::EventsAbout(
            namespace.into(),
            kind.into(),
            name.into(),
        ));
        self.objects.events_about(namespace, kind, name)
    }

    pub fn canaries_managing(&self, namespace: &str, name: &str) -> &'a [Arc<DynamicObject>] {
        self.record(Read::CanariesManaging(namespace.into(), name.into()));
        self.objects.canaries_managing(namespace, name)
    }

    pub fn flags_keyed(&self, namespace: &str, key: &str) -> &'a [Arc<DynamicObject>] {
        self.record(Read::FlagKey(namespace.into(), key.into()));
        self.objects.flags_keyed(namespace, key)
    }

    pub fn flags_labelled(&self, namespace: &str, release: &str) -> &'a [Arc<DynamicObject>] {
        self.record(Read::FlagsLabelled(namespace.into(), release.into()));
        self.objects.flags_labelled(namespace, release)
    }

    pub fn all_in(
        &self,
        kind: WatchedKind,
        namespace: &str,
    ) -> impl Iterator<Item = &'a DynamicObject> + use<'a> {
        self.record(Read::AllIn(kind, namespace.into()));
        let namespace = namespace.to_string();
        self.objects
            .of(kind)
            .map(Arc::as_ref)
            .filter(move |o| fields::namespace(o) == namespace)
    }
}
