//! The simulated cluster's controllers. Like real controllers they act only
//! through the store (the API server), so every change they make reaches
//! watchers; and like real controllers they are level-triggered: each
//! reconcile looks at the current state of one object and nudges it closer
//! to what its spec asks for.
//!
//! The [`Runtime`] maps every store change to the objects it affects (the
//! object itself, or its owner and its owner's owner), keeps timers for
//! time-driven work (a pause with a duration, a pod becoming Ready) on the
//! simulated clock, and can be stepped synchronously by tests.

pub mod analysis;
pub mod deployment;
pub mod events;
pub mod flagger;
pub mod job;
pub mod replicaset;
pub mod rollout;
#[cfg(test)]
pub mod testing;
pub mod velero;
pub mod workload;

use super::behaviour::Behaviour;
use super::resources::ResourceDef;
use super::store::{Change, Store};
use super::traffic::MeasurementSource;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast::{self, error::TryRecvError};

/// What a reconcile may read.
pub struct Ctx<'a> {
    pub store: &'a Store,
    pub behaviour: &'a Behaviour,
    pub metrics: &'a dyn MeasurementSource,
    /// Simulated time of this reconcile.
    pub now: DateTime<Utc>,
}

pub trait Controller: Send + Sync {
    fn name(&self) -> &'static str;

    /// The resource whose objects this controller reconciles.
    fn primary(&self) -> &'static ResourceDef;

    /// Bring one object closer to its desired state. Returns when to look
    /// again (simulated time) if something time-driven is pending.
    fn reconcile(&self, ctx: &Ctx<'_>, namespace: &str, name: &str) -> Option<DateTime<Utc>>;

    /// The primary objects (namespace, name) a change affects. By default:
    /// the object itself if it is a primary, else the primary that owns it
    /// directly or through one intermediate owner (pod → ReplicaSet → Rollout).
    fn affected(&self, change: &Change, store: &Store) -> Vec<(String, String)> {
        owners_of_kind(self.primary(), change, store)
    }
}

fn controller_refs(obj: &Value) -> impl Iterator<Item = &Value> {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
}

/// The default mapping of [`Controller::affected`].
pub fn owners_of_kind(
    primary: &'static ResourceDef,
    change: &Change,
    store: &Store,
) -> Vec<(String, String)> {
    let ns = change.namespace.clone();
    if std::ptr::eq(change.res, primary) {
        let name = change.object["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        return vec![(ns, name)];
    }
    let is_primary = |r: &Value| {
        r["kind"] == primary.kind
            && r["apiVersion"]
                .as_str()
                .is_some_and(|v| primary.has_api_version(v))
    };
    let mut out = Vec::new();
    for owner in controller_refs(&change.object) {
        let owner_name = owner["name"].as_str().unwrap_or("").to_string();
        if is_primary(owner) {
            out.push((ns.clone(), owner_name));
            continue;
        }
        // One more level: the owner's own owners.
        let Some(owner_res) = super::resources::by_kind(
            owner["apiVersion"].as_str().unwrap_or(""),
            owner["kind"].as_str().unwrap_or(""),
        ) else {
            continue;
        };
        let grand_owners = store.read(owner_res, &ns, &owner_name, |owner_obj| {
            controller_refs(owner_obj)
                .filter(|r| is_primary(r))
                .map(|r| r["name"].as_str().unwrap_or("").to_string())
                .collect::<Vec<_>>()
        });
        out.extend(grand_owners.into_iter().flatten().map(|n| (ns.clone(), n)));
    }
    out
}

type Key = (usize, String, String);

struct Queue {
    pending: BTreeSet<Key>,
    timers: BTreeMap<DateTime<Utc>, BTreeSet<Key>>,
    changes: broadcast::Receiver<Arc<Change>>,
}

/// Runs controllers against a store.
pub struct Runtime {
    controllers: Vec<Arc<dyn Controller>>,
    store: Arc<Store>,
    behaviour: Arc<Behaviour>,
    metrics: Arc<dyn MeasurementSource>,
    queue: Mutex<Queue>,
}

/// Reconciles per settle round before giving up on convergence (a safety net
/// against two controllers fighting; never reached in a healthy simulation).
const MAX_RECONCILES_PER_SETTLE: usize = 1_000_000;

impl Runtime {
    pub fn new(
        store: Arc<Store>,
        behaviour: Arc<Behaviour>,
        metrics: Arc<dyn MeasurementSource>,
        controllers: Vec<Arc<dyn Controller>>,
    ) -> Arc<Self> {
        let changes = store.subscribe();
        let rt = Runtime {
            controllers,
            store,
            behaviour,
            metrics,
            queue: Mutex::new(Queue {
                pending: BTreeSet::new(),
                timers: BTreeMap::new(),
                changes,
            }),
        };
        rt.enqueue_all();
        Arc::new(rt)
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Look at every primary object again (at start, and after missed changes).
    fn enqueue_all(&self) {
        let mut keys = Vec::new();
        for (i, c) in self.controllers.iter().enumerate() {
            if let Ok(list) = self.store.list(c.primary(), None, &Default::default()) {
                for obj in list.items {
                    let ns = obj["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
                    keys.push((i, ns, name));
                }
            }
        }
        self.lock().pending.extend(keys);
    }

    /// Move every change seen so far into the work queue.
    fn drain_changes(&self) {
        let mut resync = false;
        let mut changes = Vec::new();
        {
            let mut q = self.lock();
            loop {
                match q.changes.try_recv() {
                    Ok(c) => changes.push(c),
                    Err(TryRecvError::Lagged(_)) => resync = true,
                    Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                }
            }
        }
        let mut keys = Vec::new();
        for change in &changes {
            for (i, c) in self.controllers.iter().enumerate() {
                keys.extend(
                    c.affected(change, &self.store)
                        .into_iter()
                        .map(|(ns, n)| (i, ns, n)),
                );
            }
        }
        self.lock().pending.extend(keys);
        if resync {
            self.enqueue_all();
        }
    }

    fn release_due_timers(&self, now: DateTime<Utc>) {
        let mut q = self.lock();
        let later = q
            .timers
            .split_off(&(now + chrono::Duration::nanoseconds(1)));
        let due = std::mem::replace(&mut q.timers, later);
        for keys in due.into_values() {
            q.pending.extend(keys);
        }
    }

    /// The earliest pending timer.
    pub fn next_timer(&self) -> Option<DateTime<Utc>> {
        self.lock().timers.keys().next().copied()
    }

    /// Reconcile until nothing is left to do at the current simulated time.
    /// Returns how many reconciles ran.
    pub fn settle(&self) -> usize {
        let mut done = 0;
        loop {
            self.drain_changes();
            let now = self.store.clock().now();
            self.release_due_timers(now);
            let batch = std::mem::take(&mut self.lock().pending);
            if batch.is_empty() {
                return done;
            }
            for (i, ns, name) in batch {
                let c = &self.controllers[i];
                let ctx = Ctx {
                    store: &self.store,
                    behaviour: &self.behaviour,
                    metrics: self.metrics.as_ref(),
                    now,
                };
                if let Some(at) = c.reconcile(&ctx, &ns, &name) {
                    self.lock()
                        .timers
                        .entry(at.max(now))
                        .or_default()
                        .insert((i, ns, name));
                }
                done += 1;
            }
            if done > MAX_RECONCILES_PER_SETTLE {
                tracing::error!("controllers did not converge after {done} reconciles");
                return done;
            }
        }
    }

    /// Step the simulated clock to each pending timer up to `by` from now,
    /// counting the traffic and settling at every stop; for a scenario's
    /// warm-up and for tests on a frozen clock.
    pub fn advance(&self, by: chrono::Duration) {
        let start = self.store.clock().now();
        self.step_to(start);
        while let Some(at) = self.next_timer().filter(|t| *t <= start + by) {
            self.step_to(at);
        }
        self.step_to(start + by);
    }

    /// Move the clock up to `at` (never back), then count the traffic of the
    /// time passed (with the pods and weights that held during it) before
    /// the controllers react to it.
    fn step_to(&self, at: DateTime<Utc>) {
        let clock = self.store.clock();
        let now = clock.now();
        if at > now {
            clock.advance(at - now);
        }
        self.metrics.catch_up();
        self.settle();
    }

    /// Run forever on the real clock (scaled by the simulated clock's speed).
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let rt = self.clone();
        tokio::spawn(async move {
            let mut changes = rt.store.subscribe();
            loop {
                // Sleep until the next timer is due (in real time at the clock's
                // speed) or a change arrives; idle clusters wake once a second.
                let clock = rt.store.clock();
                let wait = rt.next_timer().map_or(Duration::from_secs(1), |at| {
                    let sim_ms = (at - clock.now()).num_milliseconds().max(0) as f64;
                    Duration::from_millis((sim_ms / clock.scale().max(1e-3)) as u64)
                        .clamp(Duration::from_millis(5), Duration::from_secs(1))
                });
                tokio::select! {
                    _ = changes.recv() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
                // Coalesce a burst of changes into one round.
                tokio::time::sleep(Duration::from_millis(5)).await;
                let rt = rt.clone();
                if tokio::task::spawn_blocking(move || rt.settle())
                    .await
                    .is_err()
                {
                    tracing::error!("a controller panicked; the others go on");
                }
            }
        })
    }
}

/// Every controller of the simulated cluster.
pub fn all() -> Vec<Arc<dyn Controller>> {
    vec![
        Arc::new(replicaset::ReplicaSetController),
        Arc::new(deployment::DeploymentController),
        Arc::new(job::JobController),
        Arc::new(rollout::RolloutController),
        Arc::new(analysis::AnalysisRunController),
        Arc::new(flagger::FlaggerController),
        Arc::new(velero::RestoreController),
    ]
}
