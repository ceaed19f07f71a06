//! A Rollout's status as Argo's Go types serialise it: zero values left out
//! where the Go field is `omitempty`, `canary` and `blueGreen` always present
//! (Go never omits a struct), `observedGeneration` a string. Plus the
//! condition helpers and the phase derivation (`CalculateRolloutPhase`).

use super::super::analysis::{is_false, is_zero};
use super::spec::RolloutSpec;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const PAUSE_CANARY_STEP: &str = "CanaryPauseStep";
pub const PAUSE_BLUE_GREEN: &str = "BlueGreenPause";
pub const PAUSE_INCONCLUSIVE: &str = "InconclusiveAnalysisRun";

pub const PHASE_HEALTHY: &str = "Healthy";
pub const PHASE_PROGRESSING: &str = "Progressing";
pub const PHASE_PAUSED: &str = "Paused";
pub const PHASE_DEGRADED: &str = "Degraded";

/// Condition types and reasons (`utils/conditions`).
pub mod reason {
    pub const AVAILABLE: &str = "AvailableReason";
    pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
    pub const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
    pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
    pub const RS_UPDATED: &str = "ReplicaSetUpdated";
    pub const RS_NOT_AVAILABLE: &str = "ReplicaSetNotAvailable";
    pub const PAUSED: &str = "RolloutPaused";
    pub const RESUMED: &str = "RolloutResumed";
    pub const RETRY: &str = "RolloutRetry";
    pub const ABORTED: &str = "RolloutAborted";
    pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
    pub const HEALTHY: &str = "RolloutHealthy";
    pub const COMPLETED: &str = "RolloutCompleted";
    pub const INVALID_SPEC: &str = "InvalidSpec";
}

pub mod kind {
    pub const AVAILABLE: &str = "Available";
    pub const PROGRESSING: &str = "Progressing";
    pub const PAUSED: &str = "Paused";
    pub const HEALTHY: &str = "Healthy";
    pub const COMPLETED: &str = "Completed";
    pub const INVALID_SPEC: &str = "InvalidSpec";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PauseCondition {
    pub reason: String,
    pub start_time: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub last_update_time: String,
    pub last_transition_time: String,
    pub reason: String,
    pub message: String,
}

impl Condition {
    pub fn new(kind: &str, status: &str, reason: &str, message: &str, now: &str) -> Condition {
        Condition {
            kind: kind.into(),
            status: status.into(),
            last_update_time: now.into(),
            last_transition_time: now.into(),
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// `{name, status, message}` of the AnalysisRun a rollout is waiting on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRef {
    pub name: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeightDestination {
    #[serde(default)]
    pub weight: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pod_template_hash: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficWeights {
    #[serde(default)]
    pub canary: WeightDestination,
    #[serde(default)]
    pub stable: WeightDestination,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional: Vec<WeightDestination>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_step_analysis_run_status: Option<RunRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_background_analysis_run_status: Option<RunRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<TrafficWeights>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlueGreenStatus {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub preview_selector: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub active_selector: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub scale_up_preview_check_point: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_promotion_analysis_run_status: Option<RunRef>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    #[serde(default, skip_serializing_if = "is_false")]
    pub abort: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pause_conditions: Vec<PauseCondition>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub controller_pause: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted_at: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub current_pod_hash: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub current_step_hash: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub replicas: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub updated_replicas: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ready_replicas: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub available_replicas: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_step_index: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collision_count: Option<i64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub observed_generation: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default)]
    pub canary: CanaryStatus,
    #[serde(default)]
    pub blue_green: BlueGreenStatus,
    #[serde(rename = "HPAReplicas", default, skip_serializing_if = "is_zero")]
    pub hpa_replicas: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub selector: String,
    #[serde(rename = "stableRS", default, skip_serializing_if = "String::is_empty")]
    pub stable_rs: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarted_at: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub promote_full: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Fields the simulator does not manage, kept as they are.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl RolloutStatus {
    pub fn from_object(rollout: &Value) -> RolloutStatus {
        serde_json::from_value(rollout["status"].clone()).unwrap_or_default()
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a status serialises")
    }

    pub fn condition(&self, kind: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.kind == kind)
    }

    pub fn pause_condition(&self, reason: &str) -> Option<&PauseCondition> {
        self.pause_conditions.iter().find(|c| c.reason == reason)
    }

    /// Add or update a condition as Argo's `SetRolloutCondition`: nothing
    /// changes while status and reason stay; the transition time is kept
    /// while the status stays. Returns whether it changed.
    pub fn set_condition(&mut self, mut cond: Condition) -> bool {
        if let Some(current) = self.condition(&cond.kind) {
            if current.status == cond.status && current.reason == cond.reason {
                return false;
            }
            if current.status == cond.status {
                cond.last_transition_time = current.last_transition_time.clone();
            }
        }
        self.remove_condition(&cond.kind);
        self.conditions.push(cond);
        true
    }

    pub fn remove_condition(&mut self, kind: &str) {
        self.conditions.retain(|c| c.kind != kind);
    }

    pub fn is_fully_promoted(&self) -> bool {
        self.stable_rs == self.current_pod_hash
    }

    /// Argo's `CalculateRolloutPhase`.
    pub fn calculate_phase(&self, spec: &RolloutSpec) -> (&'static str, String) {
        for c in &self.conditions {
            if c.kind == kind::INVALID_SPEC {
                return (
                    PHASE_DEGRADED,
                    format!("{}: {}", kind::INVALID_SPEC, c.message),
                );
            }
            if c.reason == reason::ABORTED || c.reason == reason::TIMED_OUT {
                return (PHASE_DEGRADED, format!("{}: {}", c.reason, c.message));
            }
        }
        if spec.paused {
            return (PHASE_PAUSED, "manually paused".into());
        }
        if let Some(p) = self.pause_conditions.first() {
            return (PHASE_PAUSED, p.reason.clone());
        }
        if spec.restart_at.is_some() && self.restarted_at != spec.restart_at {
            return (PHASE_PROGRESSING, "rollout is restarting".into());
        }
        if self.updated_replicas < spec.replicas() {
            return (PHASE_PROGRESSING, "more replicas need to be updated".into());
        }
        if self.available_replicas < self.updated_replicas {
            return (
                PHASE_PROGRESSING,
                "updated replicas are still becoming available".into(),
            );
        }
        if spec.blue_green().is_some() {
            let active = &self.blue_green.active_selector;
            if active.is_empty() || *active != self.current_pod_hash {
                return (PHASE_PROGRESSING, "active service cutover pending".into());
            }
            if self.stable_rs.is_empty() || !self.is_fully_promoted() {
                return (
                    PHASE_PROGRESSING,
                    "waiting for post-promotion verification to complete".into(),
                );
            }
        } else if spec.canary().is_some() {
            if spec.traffic_routing().is_none() && self.replicas > self.updated_replicas {
                return (
                    PHASE_PROGRESSING,
                    "old replicas are pending termination".into(),
                );
            }
            if self.stable_rs.is_empty() || !self.is_fully_promoted() {
                return (
                    PHASE_PROGRESSING,
                    "waiting for all steps to complete".into(),
                );
            }
        }
        (PHASE_HEALTHY, String::new())
    }
}

/// The JSON merge patch that turns `old` into `new` (what Argo's
/// `CreateTwoWayMergePatch` sends), or None when they are equal.
pub fn merge_diff(old: &Value, new: &Value) -> Option<Value> {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = Map::new();
            for (k, v) in n {
                match o.get(k) {
                    Some(ov) => {
                        if let Some(d) = merge_diff(ov, v) {
                            patch.insert(k.clone(), d);
                        }
                    }
                    None => {
                        patch.insert(k.clone(), v.clone());
                    }
                }
            }
            for k in o.keys() {
                if !n.contains_key(k) {
                    patch.insert(k.clone(), Value::Null);
                }
            }
            (!patch.is_empty()).then_some(Value::Object(patch))
        }
        _ if old == new => None,
        _ => Some(new.clone()),
    }
}
