//! Watchers and reflectors per kind. Each source runs as a task, keeps its
//! reflector store current through a short backoff and relists, and
//! reports snapshots, how far a list has come while it streams in, and
//! connection state; a watch error never ends it.

mod listing;

use super::connect::Connection;
use super::kinds::WatchedKind;
use super::projection::{PodRead, PodSummary, project};
use super::reconnect::{self, WatchBackoff};
use chrono::{DateTime, Utc};
use futures::{FutureExt, StreamExt};
use kube::api::{ApiResource, DynamicObject, ListParams};
use kube::core::DynamicResourceScope;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Resource};
use listing::Listing;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// What a source reports.
#[derive(Debug, Clone)]
pub enum SourceUpdate {
    /// The whole current set of a source's objects, after a change.
    Objects {
        source: String,
        kind: WatchedKind,
        objects: Vec<Arc<DynamicObject>>,
        at: DateTime<Utc>,
    },
    /// The whole current set of a source's pods, after a change.
    Pods {
        source: String,
        pods: Vec<Arc<PodSummary>>,
        at: DateTime<Utc>,
    },
    /// What changed among a source's pods since its last report: a big
    /// cluster's pods change a few at a time, and handing over all of
    /// them at every change would cost more than the change.
    PodChanges {
        source: String,
        applied: Vec<Arc<PodSummary>>,
        /// Namespace and name of each pod gone.
        deleted: Vec<(String, String)>,
        at: DateTime<Utc>,
    },
    /// The source is listing its objects, the first time or again after
    /// its watch was lost: `loaded` have arrived so far, of `total` when
    /// the server says. Its `Objects` follow once all have.
    Listing {
        source: String,
        kind: WatchedKind,
        loaded: usize,
        total: Option<usize>,
        at: DateTime<Utc>,
    },
    /// The watch failed (`error`, as [`reconnect::cause`] names it) or is
    /// healthy again (`None`).
    Health {
        source: String,
        error: Option<String>,
        at: DateTime<Utc>,
    },
}

impl SourceUpdate {
    /// When the update was read.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            SourceUpdate::Objects { at, .. }
            | SourceUpdate::Pods { at, .. }
            | SourceUpdate::PodChanges { at, .. }
            | SourceUpdate::Listing { at, .. }
            | SourceUpdate::Health { at, .. } => *at,
        }
    }

    /// The source that reports.
    pub fn source(&self) -> &str {
        match self {
            SourceUpdate::Objects { source, .. }
            | SourceUpdate::Pods { source, .. }
            | SourceUpdate::PodChanges { source, .. }
            | SourceUpdate::Listing { source, .. }
            | SourceUpdate::Health { source, .. } => source,
        }
    }
}

pub type Sink = Arc<dyn Fn(SourceUpdate) + Send + Sync>;

/// One watch: a kind, a scope and selectors.
#[derive(Debug, Clone)]
pub struct WatchSpec {
    pub source: String,
    pub kind: WatchedKind,
    pub resource: ApiResource,
    pub namespace: Option<String>,
    pub labels: Option<String>,
    pub fields: Option<String>,
    pub pace: Pace,
}

/// How a source lists: in pages of `page_size` objects (None: kube's
/// default of 500), its progress reported at most every `report_every`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    pub page_size: Option<u32>,
    pub report_every: Duration,
}

impl Default for Pace {
    /// Often enough that the count moves as pages arrive, seldom enough
    /// that a fast list does not flood the screen with redraws.
    fn default() -> Self {
        Pace {
            page_size: None,
            report_every: Duration::from_millis(150),
        }
    }
}

/// The running watches of one connection; dropping it stops them.
pub struct Sources {
    connection: Connection,
    sink: Sink,
    tasks: Vec<JoinHandle<()>>,
    events: Option<JoinHandle<()>>,
}

/// The release kinds whose Events the board watches, and the source of each.
const RELEASE_EVENTS: [(WatchedKind, &str); 3] = [
    (WatchedKind::Rollout, "events/rollouts"),
    (WatchedKind::Canary, "events/canaries"),
    (WatchedKind::Deployment, "events/deployments"),
];

impl Sources {
    /// Watch releases, their ReplicaSets and pods (label-selected by the
    /// controllers' hash labels), analysis runs and routers.
    pub fn start(connection: Connection, sink: Sink) -> Sources {
        let mut specs = Vec::new();
        let ns = connection.namespace.clone();
        let mut add = |source: &str, kind: WatchedKind, labels: Option<&str>| {
            if let Some(resource) = connection.kinds.get(&kind) {
                specs.push(WatchSpec {
                    source: source.to_string(),
                    kind,
                    resource: resource.clone(),
                    namespace: ns.clone(),
                    labels: labels.map(str::to_string),
                    fields: None,
                    pace: Pace::default(),
                });
            }
        };
        add("rollouts", WatchedKind::Rollout, None);
        add("canaries", WatchedKind::Canary, None);
        add("deployments", WatchedKind::Deployment, None);
        add("analysisruns", WatchedKind::AnalysisRun, None);
        add("virtualservices", WatchedKind::VirtualService, None);
        add("httproutes", WatchedKind::HttpRoute, None);
        add("featureflags", WatchedKind::FeatureFlag, None);
        add(
            "jobs",
            WatchedKind::Job,
            Some(crate::model::migration::JOB_MIGRATION_LABEL),
        );
        for (suffix, label) in [
            ("argo", "rollouts-pod-template-hash"),
            ("deploy", "pod-template-hash"),
        ] {
            add(
                &format!("replicasets/{suffix}"),
                WatchedKind::ReplicaSet,
                Some(label),
            );
            add(&format!("pods/{suffix}"), WatchedKind::Pod, Some(label));
        }
        for kind in super::velero::KINDS {
            if let Some(resource) = connection.kinds.get(&kind) {
                specs.push(WatchSpec {
                    source: format!("{}{}", super::velero::SOURCES, kind.plural()),
                    kind,
                    resource: resource.clone(),
                    namespace: Some(super::velero::NAMESPACE.to_string()),
                    labels: None,
                    fields: None,
                    pace: Pace::default(),
                });
            }
        }
        let tasks = specs
            .into_iter()
            .map(|spec| tokio::spawn(watch(connection.client.clone(), spec, sink.clone())))
            .collect();
        Sources {
            connection,
            sink,
            tasks,
            events: None,
        }
    }

    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Watch the Events about every release in scope, one watch per kind
    /// served (a field selector takes one kind), for the board's outcomes.
    /// They are cut to the fields a timeline reads as they arrive.
    pub fn watch_release_events(&mut self) {
        let Some(resource) = self.connection.kinds.get(&WatchedKind::Event) else {
            return;
        };
        for (kind, source) in RELEASE_EVENTS {
            if !self.connection.kinds.contains_key(&kind) {
                continue;
            }
            let spec = WatchSpec {
                source: source.into(),
                kind: WatchedKind::Event,
                resource: resource.clone(),
                namespace: self.connection.namespace.clone(),
                labels: None,
                fields: Some(format!("involvedObject.kind={}", kind.kind())),
                pace: Pace::default(),
            };
            let task = tokio::spawn(watch(
                self.connection.client.clone(),
                spec,
                self.sink.clone(),
            ));
            self.tasks.push(task);
        }
    }

    /// Watch the Events of one object (kind, namespace, name), replacing
    /// the previous events watch; `None` stops watching events.
    pub fn watch_events_for(&mut self, object: Option<(&str, &str, &str)>) {
        if let Some(task) = self.events.take() {
            task.abort();
        }
        (self.sink)(SourceUpdate::Objects {
            source: "events".into(),
            kind: WatchedKind::Event,
            objects: Vec::new(),
            at: Utc::now(),
        });
        let Some((kind, namespace, name)) = object else {
            return;
        };
        let Some(resource) = self.connection.kinds.get(&WatchedKind::Event) else {
            return;
        };
        let spec = WatchSpec {
            source: "events".into(),
            kind: WatchedKind::Event,
            resource: resource.clone(),
            namespace: Some(namespace.to_string()),
            labels: None,
            fields: Some(format!(
                "involvedObject.kind={kind},involvedObject.name={name}"
            )),
            pace: Pace::default(),
        };
        self.events = Some(tokio::spawn(watch(
            self.connection.client.clone(),
            spec,
            self.sink.clone(),
        )));
    }
}

impl Drop for Sources {
    fn drop(&mut self) {
        for t in self.tasks.iter().chain(self.events.iter()) {
            t.abort();
        }
    }
}

/// How often a failing watch checks whether the API answers again.
const PROBE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// What a watch keeps of each object it reads, and how it reports the set.
pub(crate) trait Kept:
    Resource<DynamicType = ApiResource, Scope = DynamicResourceScope>
    + Clone
    + DeserializeOwned
    + Debug
    + Send
    + Sync
    + 'static
{
    /// What the source keeps of each object read.
    type Stored: Send + Sync + 'static;
    /// Cut to what cutover reads of an object of `kind`, as it arrives.
    fn trim(&mut self, kind: WatchedKind);
    fn into_stored(self) -> Self::Stored;
    fn listed(spec: &WatchSpec, objects: Vec<Arc<Self::Stored>>, at: DateTime<Utc>)
    -> SourceUpdate;
    /// What a burst of changes after the list changed (`applied` as the
    /// store now holds them, `deleted` as they were): the whole set again,
    /// unless the kind says less.
    fn changed(
        spec: &WatchSpec,
        store: &SourceStore<Self::Stored>,
        _applied: Vec<ObjectKey>,
        _deleted: Vec<ObjectKey>,
        at: DateTime<Utc>,
    ) -> SourceUpdate {
        Self::listed(spec, store.all(), at)
    }
}

/// An object's namespace and name: what identifies it in its source.
pub type ObjectKey = (String, String);

fn key_of<K: Resource>(object: &K) -> ObjectKey {
    let meta = object.meta();
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// A source's objects by namespace and name, as the watch last said, and
/// those of a list under way. kube's reflector store would also keep a
/// copy of the kind's API resource and the resource version per object,
/// which at 40,000 pods costs more than the pods.
pub(crate) struct SourceStore<S> {
    current: HashMap<ObjectKey, Arc<S>>,
    listing: HashMap<ObjectKey, Arc<S>>,
}

impl<S> SourceStore<S> {
    fn new() -> Self {
        SourceStore {
            current: HashMap::new(),
            listing: HashMap::new(),
        }
    }

    fn all(&self) -> Vec<Arc<S>> {
        self.current.values().cloned().collect()
    }

    fn get(&self, key: &ObjectKey) -> Option<Arc<S>> {
        self.current.get(key).cloned()
    }

    /// Apply one event of the watch; the key of an object applied or deleted.
    fn apply<K: Kept<Stored = S>>(&mut self, event: Event<K>) -> Option<(ObjectKey, bool)> {
        match event {
            Event::Init => {
                self.listing.clear();
                None
            }
            Event::InitApply(object) => {
                self.listing
                    .insert(key_of(&object), Arc::new(object.into_stored()));
                None
            }
            Event::InitDone => {
                self.current = std::mem::take(&mut self.listing);
                None
            }
            Event::Apply(object) => {
                let key = key_of(&object);
                self.current
                    .insert(key.clone(), Arc::new(object.into_stored()));
                Some((key, true))
            }
            Event::Delete(object) => {
                let key = key_of(&object);
                self.current.remove(&key);
                Some((key, false))
            }
        }
    }
}

impl Kept for DynamicObject {
    type Stored = DynamicObject;

    fn trim(&mut self, kind: WatchedKind) {
        project(self, kind);
    }

    fn into_stored(self) -> DynamicObject {
        self
    }

    fn listed(spec: &WatchSpec, objects: Vec<Arc<Self>>, at: DateTime<Utc>) -> SourceUpdate {
        SourceUpdate::Objects {
            source: spec.source.clone(),
            kind: spec.kind,
            objects,
            at,
        }
    }
}

impl Kept for PodRead {
    type Stored = PodSummary;

    /// Already cut as it was read.
    fn trim(&mut self, _kind: WatchedKind) {}

    fn into_stored(self) -> PodSummary {
        self.summary
    }

    fn listed(spec: &WatchSpec, pods: Vec<Arc<PodSummary>>, at: DateTime<Utc>) -> SourceUpdate {
        SourceUpdate::Pods {
            source: spec.source.clone(),
            pods,
            at,
        }
    }

    fn changed(
        spec: &WatchSpec,
        store: &SourceStore<PodSummary>,
        applied: Vec<ObjectKey>,
        deleted: Vec<ObjectKey>,
        at: DateTime<Utc>,
    ) -> SourceUpdate {
        SourceUpdate::PodChanges {
            source: spec.source.clone(),
            // A pod applied then deleted in the same burst is only gone.
            applied: applied.iter().filter_map(|k| store.get(k)).collect(),
            deleted,
            at,
        }
    }
}

/// Watch one source until the task is aborted: its objects after every
/// change, its progress while it lists, and its health.
pub async fn watch(client: kube::Client, spec: WatchSpec, sink: Sink) {
    match spec.kind {
        WatchedKind::Pod => run::<PodRead>(client, spec, sink).await,
        _ => run::<DynamicObject>(client, spec, sink).await,
    }
}

async fn run<K: Kept>(client: kube::Client, spec: WatchSpec, sink: Sink) {
    let api: Api<K> = match &spec.namespace {
        Some(ns) => Api::namespaced_with(client, ns, &spec.resource),
        None => Api::all_with(client, &spec.resource),
    };
    let mut params = ListParams::default();
    let mut config = watcher::Config::default();
    if let Some(l) = &spec.labels {
        params = params.labels(l);
        config = config.labels(l);
    }
    if let Some(f) = &spec.fields {
        params = params.fields(f);
        config = config.fields(f);
    }
    if let Some(size) = spec.pace.page_size {
        config = config.page_size(size);
    }
    let kind = spec.kind;
    let every = spec.pace.report_every;
    let mut store = SourceStore::<K::Stored>::new();
    let probe = api.clone();
    let stream = watcher::watcher(api.clone(), config)
        .backoff(WatchBackoff::default())
        .modify(move |object| object.trim(kind));
    let mut stream = std::pin::pin!(stream);
    let mut failing = false;
    let mut ready = false;
    // While the source lists: how far it has come, and since when.
    let mut in_progress: Option<(Listing, Instant)> = None;
    let report = |listing: &Listing| {
        sink(SourceUpdate::Listing {
            source: spec.source.clone(),
            kind,
            loaded: listing.loaded,
            total: listing.total,
            at: Utc::now(),
        });
    };
    loop {
        let held_back = in_progress.as_ref().and_then(|(l, _)| l.next_report(every));
        let next = tokio::select! {
            item = stream.next() => item,
            // A resumed watch yields nothing until something changes: while
            // failing, ask the API directly whether it answers again.
            () = tokio::time::sleep(PROBE_INTERVAL), if failing => {
                if probe.list_metadata(&ListParams::default().limit(1)).await.is_ok() {
                    failing = false;
                    sink(SourceUpdate::Health { source: spec.source.clone(), error: None, at: Utc::now() });
                }
                continue;
            }
            // The last count of a pause between pages.
            () = tokio::time::sleep_until(held_back.unwrap_or_else(Instant::now).into()), if held_back.is_some() => {
                if let Some((l, _)) = &mut in_progress && l.report(Instant::now(), every) {
                    report(l);
                }
                continue;
            }
        };
        let Some(item) = next else { break };
        // A list done: the whole set is reported; else what changed.
        let mut relisted = false;
        let mut applied = Vec::new();
        let mut deleted = Vec::new();
        // What the burst says of the watch: it failed (`Some(error)`), or
        // the API answered (`None`). A list begun proves nothing yet.
        let mut health: Option<Option<String>> = None;
        let mut began = false;
        // The last item of a burst with news of the watch says whether it
        // works now.
        let mut handle = |item: Result<Event<K>, watcher::Error>| {
            let event = match item {
                Ok(event) => event,
                Err(e) => {
                    tracing::warn!(source = %spec.source, "watch error: {e}");
                    health = Some(Some(reconnect::cause(&e)));
                    return;
                }
            };
            match &event {
                Event::Init => {
                    in_progress = Some((Listing::new(), Instant::now()));
                    began = true;
                }
                Event::InitApply(_) => {
                    if let Some((l, _)) = &mut in_progress {
                        l.count();
                    }
                    health = Some(None);
                }
                Event::InitDone => {
                    if let Some((l, since)) = in_progress.take() {
                        tracing::info!(source = %spec.source, "listed {} in {:.1?}", l.loaded, since.elapsed());
                    }
                    ready = true;
                    relisted = true;
                    health = Some(None);
                }
                Event::Apply(_) | Event::Delete(_) => health = Some(None),
            }
            // The last word on an object within a burst is the one kept.
            match store.apply(event) {
                Some((key, true)) => {
                    deleted.retain(|k| k != &key);
                    applied.push(key);
                }
                Some((key, false)) => {
                    applied.retain(|k| k != &key);
                    deleted.push(key);
                }
                None => {}
            }
        };
        handle(item);
        // Coalesce a burst (a page of a list, say): take whatever is
        // already waiting.
        while let Some(Some(item)) = stream.next().now_or_never() {
            handle(item);
        }
        // The count of a list begun is asked for once, before its first
        // page is counted.
        if began && let Some((l, _)) = &mut in_progress {
            l.set_total(listing::total(&api, &params).await);
            tracing::info!(source = %spec.source, total = ?l.total, "listing");
        }
        let at = Utc::now();
        match health {
            Some(Some(e)) => {
                failing = true;
                sink(SourceUpdate::Health {
                    source: spec.source.clone(),
                    error: Some(e),
                    at,
                });
            }
            Some(None) if failing => {
                failing = false;
                sink(SourceUpdate::Health {
                    source: spec.source.clone(),
                    error: None,
                    at,
                });
            }
            _ => {}
        }
        if let Some((l, _)) = &mut in_progress
            && l.report(Instant::now(), every)
        {
            report(l);
        }
        if ready && relisted {
            sink(K::listed(&spec, store.all(), at));
        } else if ready && !(applied.is_empty() && deleted.is_empty()) {
            sink(K::changed(&spec, &store, applied, deleted, at));
        }
    }
}
