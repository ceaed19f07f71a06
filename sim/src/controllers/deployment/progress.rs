//! The Deployment's status as the controller computes it: the counts, the
//! Available and Progressing conditions, the progress deadline and pausing.

use super::{
    AVAILABLE, NEW_RS_AVAILABLE, PAUSED, PROGRESSING, RESUMED, RS_UPDATED, Sync, TIMED_OUT,
    spec_replicas,
};
use crate::controllers::workload::{counts, name_of};
use crate::time::{parse_timestamp, timestamp};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// A Deployment's status as the controller computes it.
pub(super) struct Status {
    pub(super) observed_generation: i64,
    pub(super) replicas: i64,
    pub(super) updated: i64,
    pub(super) ready: i64,
    pub(super) available: i64,
    pub(super) unavailable: i64,
    pub(super) collision_count: Option<i64>,
    pub(super) conditions: Vec<Value>,
}

impl Status {
    pub(super) fn read(s: &Value) -> Status {
        let n = |k: &str| s[k].as_i64().unwrap_or(0);
        Status {
            observed_generation: n("observedGeneration"),
            replicas: n("replicas"),
            updated: n("updatedReplicas"),
            ready: n("readyReplicas"),
            available: n("availableReplicas"),
            unavailable: n("unavailableReplicas"),
            collision_count: s["collisionCount"].as_i64(),
            conditions: s["conditions"].as_array().cloned().unwrap_or_default(),
        }
    }

    /// As the API server serializes it: zero counts are left out.
    pub(super) fn to_json(&self) -> Value {
        let mut s = Map::new();
        for (key, n) in [
            ("observedGeneration", self.observed_generation),
            ("replicas", self.replicas),
            ("updatedReplicas", self.updated),
            ("readyReplicas", self.ready),
            ("availableReplicas", self.available),
            ("unavailableReplicas", self.unavailable),
        ] {
            if n != 0 {
                s.insert(key.into(), json!(n));
            }
        }
        if let Some(c) = self.collision_count {
            s.insert("collisionCount".into(), json!(c));
        }
        if !self.conditions.is_empty() {
            s.insert("conditions".into(), json!(self.conditions));
        }
        Value::Object(s)
    }

    pub(super) fn condition(&self, kind: &str) -> Option<&Value> {
        self.conditions.iter().find(|c| c["type"] == kind)
    }

    fn remove_condition(&mut self, kind: &str) {
        self.conditions.retain(|c| c["type"] != kind);
    }

    /// Replace the condition of the same type unless status and reason are
    /// unchanged; the transition time moves only when the status does. The
    /// changed condition goes last, as the real controller appends it.
    pub(super) fn set_condition(&mut self, mut cond: Value) {
        if let Some(current) = self.condition(cond["type"].as_str().unwrap_or("")) {
            if current["status"] == cond["status"] && current["reason"] == cond["reason"] {
                return;
            }
            if current["status"] == cond["status"] {
                cond["lastTransitionTime"] = current["lastTransitionTime"].clone();
            }
        }
        self.remove_condition(cond["type"].as_str().unwrap_or(""));
        self.conditions.push(cond);
    }
}

pub(super) fn condition(
    kind: &str,
    status: &str,
    reason: &str,
    message: String,
    now: DateTime<Utc>,
) -> Value {
    json!({
        "type": kind,
        "status": status,
        "lastUpdateTime": timestamp(now),
        "lastTransitionTime": timestamp(now),
        "reason": reason,
        "message": message,
    })
}

impl Sync<'_> {
    /// Counts from the ReplicaSets, and the Available condition.
    pub(super) fn calculate_status(
        &self,
        all: &[Arc<Value>],
        new_rs: Option<&Arc<Value>>,
    ) -> Status {
        let available: i64 = all.iter().map(|rs| counts(rs).available).sum();
        let total: i64 = all.iter().map(|rs| spec_replicas(rs)).sum();
        let mut status = Status {
            observed_generation: self.spec.generation,
            replicas: all.iter().map(|rs| counts(rs).replicas).sum(),
            updated: new_rs.map_or(0, |rs| counts(rs).replicas),
            ready: all.iter().map(|rs| counts(rs).ready).sum(),
            available,
            unavailable: (total - available).max(0),
            collision_count: self.status.collision_count,
            conditions: self.status.conditions.clone(),
        };
        status.set_condition(
            if available >= self.spec.replicas - self.spec.max_unavailable {
                condition(
                    AVAILABLE,
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.".into(),
                    self.now,
                )
            } else {
                condition(
                    AVAILABLE,
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.".into(),
                    self.now,
                )
            },
        );
        status
    }

    /// Every replica is updated and available, and the spec was seen.
    pub(super) fn complete(&self, s: &Status) -> bool {
        let n = self.spec.replicas;
        s.updated == n
            && s.replicas == n
            && s.available == n
            && s.observed_generation >= self.spec.generation
    }

    /// The status after a rollout step, with the Progressing condition
    /// judged against the progress deadline; and when to look again if the
    /// deadline could pass without any other change.
    pub(super) fn sync_rollout_status(
        &mut self,
        all: &[Arc<Value>],
        new_rs: Option<&Arc<Value>>,
    ) -> Option<DateTime<Utc>> {
        let mut status = self.calculate_status(all, new_rs);
        let rs_name = new_rs.map(|rs| name_of(rs));
        let subject = match rs_name {
            Some(name) => format!("ReplicaSet \"{name}\""),
            None => format!("Deployment \"{}\"", name_of(&self.d)),
        };
        let current = self.status.condition(PROGRESSING).cloned();
        let already_complete = status.replicas == status.updated
            && current
                .as_ref()
                .is_some_and(|c| c["reason"] == NEW_RS_AVAILABLE);
        match self.spec.progress_deadline {
            None => status.remove_condition(PROGRESSING),
            Some(_) if already_complete => {}
            Some(deadline) => {
                let old_pods = |s: &Status| s.replicas - s.updated;
                let progressed = status.updated > self.status.updated
                    || old_pods(&status) < old_pods(&self.status)
                    || status.ready > self.status.ready
                    || status.available > self.status.available;
                if self.complete(&status) {
                    status.set_condition(condition(
                        PROGRESSING,
                        "True",
                        NEW_RS_AVAILABLE,
                        format!("{subject} has successfully progressed."),
                        self.now,
                    ));
                } else if progressed {
                    // Progress moves lastUpdateTime even when the reason stays.
                    let mut cond = condition(
                        PROGRESSING,
                        "True",
                        RS_UPDATED,
                        format!("{subject} is progressing."),
                        self.now,
                    );
                    if let Some(c) = &current {
                        if c["status"] == "True" {
                            cond["lastTransitionTime"] = c["lastTransitionTime"].clone();
                        }
                        status.remove_condition(PROGRESSING);
                    }
                    status.set_condition(cond);
                } else if self.timed_out(&status, deadline) {
                    status.set_condition(condition(
                        PROGRESSING,
                        "False",
                        TIMED_OUT,
                        format!("{subject} has timed out progressing."),
                        self.now,
                    ));
                }
            }
        }
        let requeue = self.deadline_check(&status);
        self.status = status;
        requeue
    }

    fn timed_out(&self, status: &Status, deadline: i64) -> bool {
        let Some(cond) = status.condition(PROGRESSING) else {
            return false;
        };
        match cond["reason"].as_str() {
            Some(NEW_RS_AVAILABLE) => false,
            Some(TIMED_OUT) => true,
            _ => parse_timestamp(&cond["lastUpdateTime"])
                .is_some_and(|from| from + Duration::seconds(deadline) < self.now),
        }
    }

    /// When the progress deadline of an unfinished rollout passes.
    fn deadline_check(&self, status: &Status) -> Option<DateTime<Utc>> {
        let deadline = self.spec.progress_deadline?;
        if self.complete(status) {
            return None;
        }
        let cond = status.condition(PROGRESSING)?;
        if cond["reason"] == TIMED_OUT || cond["reason"] == NEW_RS_AVAILABLE {
            return None;
        }
        let at = parse_timestamp(&cond["lastUpdateTime"])? + Duration::seconds(deadline + 1);
        (at > self.now).then_some(at)
    }

    /// Report pausing and resuming in the Progressing condition, so that a
    /// paused rollout never counts against the progress deadline.
    pub(super) fn check_paused_conditions(&mut self) {
        if self.spec.progress_deadline.is_none() {
            return;
        }
        let reason = self
            .status
            .condition(PROGRESSING)
            .map(|c| c["reason"].clone());
        if reason.as_ref().is_some_and(|r| r == TIMED_OUT) {
            return;
        }
        let paused_reported = reason.is_some_and(|r| r == PAUSED);
        let (why, message) = match (self.spec.paused, paused_reported) {
            (true, false) => (PAUSED, "Deployment is paused"),
            (false, true) => (RESUMED, "Deployment is resumed"),
            _ => return,
        };
        self.status.set_condition(condition(
            PROGRESSING,
            "Unknown",
            why,
            message.into(),
            self.now,
        ));
    }
}
