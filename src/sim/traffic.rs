//! Simulated traffic: every Ready pod serves requests at a rate set by its
//! traffic weight, with the error ratio and latency of its version's profile.

use chrono::Duration;

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
pub trait MetricsSource: Send + Sync {
    /// Traffic over the `window` ending now, for the pods of `namespace`
    /// whose pod-template-hash label (`rollouts-pod-template-hash` or
    /// `pod-template-hash`) equals `hash`. None when no such pod served.
    fn window(&self, namespace: &str, hash: &str, window: Duration) -> Option<WindowStats>;
}
