//! The analysis itself: metrics judged against their thresholds, and the
//! webhooks (answered as flagger-loadtester answers them).

use super::{PROVIDER, Run, WAITING_PROMOTION};
use crate::controllers::workload::{self, DEPLOYMENT};
use crate::time::{self, PROMETHEUS_UNITS};
use crate::traffic::WindowStats;
use chrono::Duration;
use serde_json::Value;

/// The success percentage of a window; None without requests.
fn success_rate(stats: &WindowStats) -> Option<f64> {
    stats.error_ratio().map(|e| (1.0 - e) * 100.0)
}

/// The p99 latency in whole milliseconds, as Flagger truncates it; None without requests.
fn p99_millis(stats: &WindowStats) -> Option<i64> {
    (stats.requests > 0.0).then_some(stats.p99_ms as i64)
}

/// The value of a custom (template or inline query) metric, judged by name.
pub(super) fn custom_value(metric_name: &str, stats: &WindowStats) -> Option<f64> {
    let name = metric_name.to_ascii_lowercase();
    if name.contains("error") {
        stats.error_ratio()
    } else if name.contains("latency") || name.contains("duration") {
        p99_millis(stats).map(|ms| ms as f64)
    } else if name.contains("success") {
        success_rate(stats)
    } else {
        None
    }
}

impl Run<'_> {
    /// The pod-template-hash of the target's newest ReplicaSet: its pods are the canary.
    pub(super) fn canary_hash(&self) -> Option<String> {
        let target = self.target().ok()?;
        workload::owned_replica_sets(self.store, &target, DEPLOYMENT)
            .last()
            .map(|rs| workload::hash_of(rs, DEPLOYMENT).to_string())
            .filter(|h| !h.is_empty())
    }

    /// The canary's traffic over a metric's interval (1m by default); None without requests.
    pub(super) fn window(&self, metric: &Value) -> Option<WindowStats> {
        let interval = metric["interval"]
            .as_str()
            .and_then(|i| time::parse(i, PROMETHEUS_UNITS))
            .unwrap_or(Duration::minutes(1));
        let hash = self.canary_hash()?;
        self.metrics
            .window(&self.namespace, &hash, interval)
            .filter(|s| s.requests > 0.0)
    }

    /// Flagger's `runAnalysis`: rollout hooks (which pass), then the
    /// built-in and inline metrics, then the template metrics; the first
    /// failing check halts with its event.
    pub(super) fn run_analysis(&self) -> bool {
        let who = self.canary_ref();
        for metric in self.analysis().metrics() {
            let name = metric["name"].as_str().unwrap_or("");
            let range = &metric["thresholdRange"];
            let threshold = metric["threshold"].as_f64().unwrap_or(0.0);
            if name == "request-success-rate" {
                let Some(rate) = self.window(metric).as_ref().and_then(success_rate) else {
                    self.warn(&format!(
                        "Halt advancement no values found for {PROVIDER} metric {name} probably {} is not receiving traffic: running query failed: no values found",
                        self.target_ref()
                    ));
                    return false;
                };
                let failure = if range.is_object() {
                    match (range["min"].as_f64(), range["max"].as_f64()) {
                        (Some(min), _) if rate < min => Some(("<", min)),
                        (_, Some(max)) if rate > max => Some((">", max)),
                        _ => None,
                    }
                } else {
                    (threshold > rate).then_some(("<", threshold))
                };
                if let Some((op, bound)) = failure {
                    self.warn(&format!(
                        "Halt {who} advancement success rate {rate:.2}% {op} {bound}%"
                    ));
                    return false;
                }
            }
            if name == "request-duration" {
                let Some(ms) = self.window(metric).as_ref().and_then(p99_millis) else {
                    self.warn(&format!(
                        "Halt advancement no values found for {PROVIDER} metric {name} probably {} is not receiving traffic",
                        self.target_ref()
                    ));
                    return false;
                };
                let failure = if range.is_object() {
                    match (range["min"].as_f64(), range["max"].as_f64()) {
                        (Some(min), _) if ms < min as i64 => Some(("<", min as i64)),
                        (_, Some(max)) if ms > max as i64 => Some((">", max as i64)),
                        _ => None,
                    }
                } else {
                    (ms > threshold as i64).then_some((">", threshold as i64))
                };
                if let Some((op, bound)) = failure {
                    self.warn(&format!(
                        "Halt {who} advancement request duration {} {op} {}",
                        time::format_go(ms),
                        time::format_go(bound)
                    ));
                    return false;
                }
            }
            if metric["query"].as_str().is_some_and(|q| !q.is_empty())
                && !self.custom_check(
                    metric,
                    &format!("Halt advancement no values found for metric: {name}"),
                )
            {
                return false;
            }
        }
        for metric in self.analysis().metrics() {
            if metric["templateRef"].is_object() {
                let name = metric["name"].as_str().unwrap_or("");
                let no_values = format!(
                    "Halt advancement no values found for custom metric: {name}: no values found"
                );
                if !self.custom_check(metric, &no_values) {
                    return false;
                }
            }
        }
        true
    }

    /// A template or inline-query metric against its range (or the
    /// deprecated `threshold` as a maximum).
    fn custom_check(&self, metric: &Value, no_values: &str) -> bool {
        let name = metric["name"].as_str().unwrap_or("");
        let Some(value) = self
            .window(metric)
            .as_ref()
            .and_then(|s| custom_value(name, s))
        else {
            self.warn(no_values);
            return false;
        };
        let range = &metric["thresholdRange"];
        let failure = if range.is_object() {
            match (range["min"].as_f64(), range["max"].as_f64()) {
                (Some(min), _) if value < min => Some(("<", min)),
                (_, Some(max)) if value > max => Some((">", max)),
                _ => None,
            }
        } else {
            let threshold = metric["threshold"].as_f64().unwrap_or(0.0);
            (value > threshold).then_some((">", threshold))
        };
        match failure {
            Some((op, bound)) => {
                self.warn(&format!(
                    "Halt {} advancement {name} {value:.2} {op} {bound}",
                    self.canary_ref()
                ));
                false
            }
            None => true,
        }
    }

    /// Flagger's `runConfirmPromotionHooks`, the human's gate answering each hook.
    pub(super) fn promotion_confirmed(&self) -> bool {
        for hook in self.analysis().hooks("confirm-promotion") {
            if !self.behaviour.gate_open(&self.namespace, &self.name) {
                if self.phase() != WAITING_PROMOTION {
                    self.set_status_phase(WAITING_PROMOTION);
                    self.warn(&format!(
                        "Halt {} advancement waiting for promotion approval {hook}",
                        self.canary_ref()
                    ));
                } else {
                    self.set_status_counter("iterations", self.analysis().iterations() - 1);
                }
                return false;
            }
            self.info(&format!("Confirm-promotion check {hook} passed"));
        }
        true
    }

    pub(super) fn post_rollout_hooks(&self) {
        for hook in self.analysis().hooks("post-rollout") {
            self.info(&format!("Post-rollout check {hook} passed"));
        }
    }
}
