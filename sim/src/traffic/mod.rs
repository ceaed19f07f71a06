//! Simulated traffic: every Ready pod serves requests at a rate set by its
//! traffic weight, with the error ratio and latency of its version's profile.
//! Counters hold expected values (no randomness), so tests can check them
//! exactly; Prometheus scrapes them from [`serve_metrics`], and the
//! simulator's own analysis reads them through [`MeasurementSource`].

mod cluster;
mod exposition;
mod latency;
mod meters;
#[cfg(test)]
mod tests;

pub use exposition::serve_metrics;

use crate::behaviour::Behaviour;
use crate::store::Store;
use chrono::{DateTime, Duration, Utc};
use cluster::ClusterView;
use meters::{Meters, Served};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::task::JoinHandle;

/// Request statistics of one version of an application over a window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WindowStats {
    pub requests: f64,
    pub errors: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

impl WindowStats {
    /// Errors over requests; None without traffic (no data is never a pass).
    pub fn error_ratio(&self) -> Option<f64> {
        (self.requests > 0.0).then(|| self.errors / self.requests)
    }
}

/// Where analysis (Argo AnalysisRuns, Flagger checks) reads its measurements.
pub trait MeasurementSource: Send + Sync {
    /// Traffic over the `window` ending now, for the pods of `namespace`
    /// whose pod-template-hash label (`rollouts-pod-template-hash` or
    /// `pod-template-hash`) equals `hash`. None when no such pod served.
    fn window(&self, namespace: &str, hash: &str, window: Duration) -> Option<WindowStats>;

    /// Count the traffic up to the current simulated time. A fast-forward
    /// calls this at every stop, since no real-time ticker runs during it.
    fn catch_up(&self) {}
}

/// How often [`spawn_ticker`] advances the counters, in real time.
pub const TICK_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// The traffic model of a simulated cluster.
///
/// Two locks, always taken in this order: `cluster` (held while reading the
/// store) and then `meters`. Readers of measurements ([`MeasurementSource`],
/// [`Traffic::render`]) take only `meters`, so a controller may ask for a
/// window from anywhere, even while it holds the store.
pub struct Traffic {
    store: Arc<Store>,
    behaviour: Arc<Behaviour>,
    /// Simulated time that meter times count from.
    origin: DateTime<Utc>,
    cluster: Mutex<ClusterView>,
    meters: Mutex<Meters>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in one tick must not stop the traffic for good.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Traffic {
    /// Counting starts now (the store's simulated time).
    pub fn new(store: Arc<Store>, behaviour: Arc<Behaviour>) -> Self {
        let origin = store.clock().now();
        Traffic {
            store,
            behaviour,
            origin,
            cluster: Mutex::new(ClusterView::default()),
            meters: Mutex::new(Meters::default()),
        }
    }

    fn seconds(&self, at: DateTime<Utc>) -> f64 {
        (at - self.origin).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6
    }

    /// Count the requests served from the last tick to the store's current
    /// simulated time, with the pods, weights and profiles in force now.
    pub fn tick(&self) {
        let now = self.store.clock().now();
        let apps = self.behaviour.apps();
        let mut cluster = lock(&self.cluster);
        let gone = cluster.sync(&self.store);
        let refreshed = cluster.refresh(&apps);
        let mut meters = lock(&self.meters);
        meters.forget(&gone);
        for ns in &refreshed {
            for group in cluster.versions_in_mut(ns) {
                meters.resolve(ns, group);
            }
        }
        let served: Vec<Served<'_>> = apps
            .iter()
            .flat_map(|app| {
                cluster
                    .versions(&app.namespace, &app.app)
                    .unwrap_or_default()
                    .iter()
                    .map(|group| Served {
                        namespace: &app.namespace,
                        group,
                        rate: app.rps * group.share,
                    })
            })
            .collect();
        self.note_full_promotions(&served, now);
        let origin = self.origin;
        meters.advance(self.seconds(now), &served, |image, at| {
            let at = origin + Duration::microseconds((at * 1e6) as i64);
            self.behaviour.profile(image, at)
        });
    }

    /// Tell the behaviour which images serve all of their application's
    /// traffic (a Flagger primary and canary of one image count together).
    fn note_full_promotions(&self, served: &[Served<'_>], now: DateTime<Utc>) {
        let mut shares: std::collections::HashMap<(&str, &str), f64> = Default::default();
        for s in served.iter().filter(|s| !s.group.pods.is_empty()) {
            *shares.entry((s.namespace, &s.group.image)).or_default() += s.group.share;
        }
        for ((_, image), share) in shares {
            if share >= 0.999 {
                self.behaviour.serves_all(image, now);
            }
        }
    }

    /// The Prometheus text exposition of every pod's counters.
    pub fn render(&self) -> String {
        let meters = lock(&self.meters);
        let pods: Vec<_> = meters.pods().collect();
        exposition::render(&pods)
    }
}

impl Traffic {
    /// The simulated time now, which the objects' timestamps count in.
    pub fn now(&self) -> DateTime<Utc> {
        self.store.clock().now()
    }

    /// Like [`MeasurementSource::window`], for the `window` that ended `ago`
    /// before the current simulated time.
    pub fn window_ending(
        &self,
        namespace: &str,
        hash: &str,
        window: Duration,
        ago: Duration,
    ) -> Option<WindowStats> {
        let seconds = |d: Duration| d.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6;
        let end = self.seconds(self.store.clock().now()) - seconds(ago);
        lock(&self.meters).window(namespace, hash, end - seconds(window), end)
    }
}

impl MeasurementSource for Traffic {
    fn window(&self, namespace: &str, hash: &str, window: Duration) -> Option<WindowStats> {
        self.window_ending(namespace, hash, window, Duration::zero())
    }

    fn catch_up(&self) {
        self.tick();
    }
}

/// Tick `traffic` every [`TICK_INTERVAL`] of real time, until aborted.
pub fn spawn_ticker(traffic: Arc<Traffic>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(TICK_INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let traffic = traffic.clone();
            // The first tick lists every pod: keep it off the async workers.
            if tokio::task::spawn_blocking(move || traffic.tick())
                .await
                .is_err()
            {
                tracing::error!("a traffic tick panicked; the next one goes on");
            }
        }
    })
}
