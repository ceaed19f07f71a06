//! A Canary's analysis settings with Flagger's defaults, and the
//! per-canary ticker that says when its analysis runs next.

use super::TOTAL_WEIGHT;
use crate::time::{self, GO_UNITS};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

/// The analysis block of a Canary (`spec.analysis`, or the deprecated
/// `spec.canaryAnalysis`) with Flagger's defaults.
pub(super) struct Analysis<'a>(pub(super) &'a Value);

impl<'a> Analysis<'a> {
    pub(super) fn of(cd: &'a Value) -> Self {
        let spec = &cd["spec"];
        if spec["analysis"].is_object() {
            Analysis(&spec["analysis"])
        } else {
            Analysis(&spec["canaryAnalysis"])
        }
    }

    fn int(&self, field: &str) -> i64 {
        self.0[field].as_i64().unwrap_or(0)
    }

    /// `GetAnalysisInterval`: 60s when missing or unparsable, at least 10s.
    pub(super) fn interval(&self) -> Duration {
        self.0["interval"]
            .as_str()
            .and_then(|s| time::parse(s, GO_UNITS))
            .unwrap_or(Duration::seconds(60))
            .max(Duration::seconds(10))
    }

    /// `GetAnalysisThreshold`: 1 unless positive.
    pub(super) fn threshold(&self) -> i64 {
        let n = self.int("threshold");
        if n > 0 { n } else { 1 }
    }

    pub(super) fn iterations(&self) -> i64 {
        self.int("iterations")
    }

    fn step_weight(&self) -> i64 {
        self.int("stepWeight")
    }

    fn step_weights(&self) -> Vec<i64> {
        self.0["stepWeights"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default()
    }

    pub(super) fn has_match(&self) -> bool {
        self.0["match"].as_array().is_some_and(|m| !m.is_empty())
    }

    /// The scheduler's `maxWeight`: the last step (capped at the total), or
    /// `maxWeight`, or the total.
    pub(super) fn max_weight(&self) -> i64 {
        if let Some(last) = self.step_weights().last() {
            return TOTAL_WEIGHT.min(*last);
        }
        match self.int("maxWeight") {
            n if n > 0 => n,
            _ => TOTAL_WEIGHT,
        }
    }

    /// The scheduler's `nextStepWeight`: how much weight the next advance adds.
    pub(super) fn next_step_weight(&self, canary_weight: i64) -> i64 {
        let steps = self.step_weights();
        if self.step_weight() > 0 || steps.is_empty() {
            return self.step_weight();
        }
        let max_step = TOTAL_WEIGHT - canary_weight;
        if max_step == 0 {
            return 1;
        }
        if canary_weight == 0 {
            return max_step.min(steps[0]);
        }
        steps
            .windows(2)
            .find(|w| w[0] == canary_weight)
            .map_or(max_step, |w| max_step.min(w[1] - canary_weight))
    }

    pub(super) fn step_weight_promotion(&self) -> i64 {
        self.int("stepWeightPromotion")
    }

    /// `primaryReadyThreshold` or `canaryReadyThreshold`: 100 when unset.
    pub(super) fn ready_threshold(&self, field: &str) -> i64 {
        self.0[field].as_i64().unwrap_or(100)
    }

    pub(super) fn metrics(&self) -> &'a [Value] {
        self.0["metrics"].as_array().map_or(&[], Vec::as_slice)
    }

    /// The names of the webhooks of one type.
    pub(super) fn hooks(&self, kind: &str) -> Vec<String> {
        self.0["webhooks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|w| w["type"] == kind)
            .map(|w| w["name"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

/// When a canary's analysis is due next, per canary uid: Flagger keeps one
/// ticker per canary in memory, started (and run at once) when it first sees
/// the canary and restarted when the interval changes. The uid keeps the
/// canaries of separate simulated clusters in one process apart.
static SCHEDULE: LazyLock<Mutex<HashMap<String, Ticker>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

struct Ticker {
    interval: Duration,
    next: DateTime<Utc>,
}

/// Whether the canary's ticker fires at `now`, and when it fires next.
pub(super) fn tick(uid: &str, interval: Duration, now: DateTime<Utc>) -> (bool, DateTime<Utc>) {
    let mut schedule = SCHEDULE.lock().unwrap_or_else(|e| e.into_inner());
    let ticker = schedule.entry(uid.to_string()).or_insert(Ticker {
        interval,
        next: now,
    });
    if ticker.interval != interval {
        *ticker = Ticker {
            interval,
            next: now,
        };
    }
    if now < ticker.next {
        return (false, ticker.next);
    }
    // Like a Go ticker, drop the ticks that were missed and keep the phase.
    while ticker.next <= now {
        ticker.next += interval;
    }
    (true, ticker.next)
}
