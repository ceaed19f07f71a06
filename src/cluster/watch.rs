//! Watchers and reflectors per kind. Each source runs as a task, keeps its
//! reflector store current through a short backoff and relists, and
//! reports snapshots and connection state; a watch error never ends it.

use super::connect::Connection;
use super::kinds::WatchedKind;
use super::projection::{PodSummary, project};
use super::reconnect::{self, WatchBackoff};
use chrono::{DateTime, Utc};
use futures::{FutureExt, StreamExt};
use kube::api::{ApiResource, DynamicObject, ListParams};
use kube::core::DynamicResourceScope;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;
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
            | SourceUpdate::Health { at, .. } => *at,
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
}

/// The running watches of one connection; dropping it stops them.
pub struct Sources {
    connection: Connection,
    sink: Sink,
    tasks: Vec<JoinHandle<()>>,
    events: Option<JoinHandle<()>>,
}

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
                });
            }
        };
        add("rollouts", WatchedKind::Rollout, None);
        add("canaries", WatchedKind::Canary, None);
        add("deployments", WatchedKind::Deployment, None);
        add("analysisruns", WatchedKind::AnalysisRun, None);
        add("virtualservices", WatchedKind::VirtualService, None);
        add("httproutes", WatchedKind::HttpRoute, None);
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
        let tasks = specs
            .into_iter()
            .map(|spec| {
                let client = connection.client.clone();
                match spec.kind {
                    WatchedKind::Pod => tokio::spawn(run::<PodSummary>(client, spec, sink.clone())),
                    _ => tokio::spawn(run::<DynamicObject>(client, spec, sink.clone())),
                }
            })
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
        };
        self.events = Some(tokio::spawn(run::<DynamicObject>(
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
trait Kept:
    Resource<DynamicType = ApiResource, Scope = DynamicResourceScope>
    + Clone
    + DeserializeOwned
    + Debug
    + Send
    + Sync
    + 'static
{
    /// Cut to what cutover reads, as it arrives.
    fn trim(&mut self);
    fn listed(spec: &WatchSpec, objects: Vec<Arc<Self>>, at: DateTime<Utc>) -> SourceUpdate;
}

impl Kept for DynamicObject {
    fn trim(&mut self) {
        project(self);
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

impl Kept for PodSummary {
    /// Already cut as it was read.
    fn trim(&mut self) {}

    fn listed(spec: &WatchSpec, pods: Vec<Arc<Self>>, at: DateTime<Utc>) -> SourceUpdate {
        SourceUpdate::Pods {
            source: spec.source.clone(),
            pods,
            at,
        }
    }
}

async fn run<K: Kept>(client: kube::Client, spec: WatchSpec, sink: Sink) {
    let api: Api<K> = match &spec.namespace {
        Some(ns) => Api::namespaced_with(client, ns, &spec.resource),
        None => Api::all_with(client, &spec.resource),
    };
    let mut config = watcher::Config::default();
    if let Some(l) = &spec.labels {
        config = config.labels(l);
    }
    if let Some(f) = &spec.fields {
        config = config.fields(f);
    }
    let writer = Writer::new(spec.resource.clone());
    let reader = writer.as_reader();
    let probe = api.clone();
    let stream = watcher::watcher(api, config)
        .backoff(WatchBackoff::default())
        .modify(K::trim)
        .reflect(writer);
    let mut stream = std::pin::pin!(stream);
    let mut failing = false;
    let mut ready = false;
    loop {
        // A resumed watch yields nothing until something changes: while
        // failing, ask the API directly whether it answers again.
        let next = if failing {
            tokio::select! {
                item = stream.next() => item,
                () = tokio::time::sleep(PROBE_INTERVAL) => {
                    if probe.list_metadata(&ListParams::default().limit(1)).await.is_ok() {
                        failing = false;
                        sink(SourceUpdate::Health { source: spec.source.clone(), error: None, at: Utc::now() });
                    }
                    continue;
                }
            }
        } else {
            stream.next().await
        };
        let Some(item) = next else { break };
        let mut changed = false;
        let mut error = None;
        // The last item of a burst says whether the watch works now.
        let mut handle = |item: Result<Event<K>, watcher::Error>| {
            error = None;
            match item {
                Ok(Event::InitDone) => {
                    ready = true;
                    changed = true;
                }
                Ok(Event::Apply(_) | Event::Delete(_)) => changed = true,
                Ok(Event::Init | Event::InitApply(_)) => {}
                Err(e) => {
                    tracing::warn!(source = %spec.source, "watch error: {e}");
                    error = Some(reconnect::cause(&e));
                }
            }
        };
        handle(item);
        // Coalesce a burst: take whatever is already waiting.
        while let Some(Some(item)) = stream.next().now_or_never() {
            handle(item);
        }
        let at = Utc::now();
        if let Some(e) = error {
            failing = true;
            sink(SourceUpdate::Health {
                source: spec.source.clone(),
                error: Some(e),
                at,
            });
        } else if failing {
            failing = false;
            sink(SourceUpdate::Health {
                source: spec.source.clone(),
                error: None,
                at,
            });
        }
        if changed && ready {
            sink(K::listed(&spec, reader.state(), at));
        }
    }
}
