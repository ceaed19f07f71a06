//! Writing the Canary's status as Flagger's `SyncStatus`, `SetStatusPhase`
//! and `MakeStatusConditions` write it.

use super::spec::Analysis;
use super::{
    FAILED, FINALISING, INITIALIZED, INITIALIZING, PROGRESSING, PROMOTING, Run, SUCCEEDED, WAITING,
    WAITING_PROMOTION, canaries, target_kind,
};
use crate::controllers::workload::template_hash;
use crate::time::timestamp;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// Flagger's `MakeStatusConditions`: the one Promoted condition for
/// `phase`, or None when the current one already has its status and reason.
fn promoted_condition(cd: &Value, phase: &str, now: DateTime<Utc>) -> Option<Value> {
    let kind = target_kind(cd);
    let (status, message) = match phase {
        INITIALIZED => ("True", format!("{kind} initialization completed.")),
        WAITING | WAITING_PROMOTION => ("Unknown", "Waiting for approval.".to_string()),
        PROGRESSING => (
            "Unknown",
            "New revision detected, progressing canary analysis.".to_string(),
        ),
        PROMOTING => (
            "Unknown",
            "Canary analysis completed, starting primary rolling update.".to_string(),
        ),
        FINALISING => (
            "Unknown",
            "Canary analysis completed, routing all traffic to primary.".to_string(),
        ),
        SUCCEEDED => (
            "True",
            "Canary analysis completed successfully, promotion finished.".to_string(),
        ),
        FAILED => (
            "False",
            format!("Canary analysis failed, {kind} scaled to zero."),
        ),
        _ => (
            "Unknown",
            format!("New {kind} detected, starting initialization."),
        ),
    };
    let current = cd["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Promoted"));
    if current.is_some_and(|c| c["status"] == status && c["reason"] == phase) {
        return None;
    }
    let transition = match current {
        Some(c) if c["status"] == status => c["lastTransitionTime"].clone(),
        _ => json!(timestamp(now)),
    };
    Some(json!([{
        "type": "Promoted",
        "status": status,
        "lastUpdateTime": timestamp(now),
        "lastTransitionTime": transition,
        "reason": phase,
        "message": message,
    }]))
}

impl Run<'_> {
    /// Edit the stored status; the counters Flagger always serializes are kept present.
    fn write_status(&self, change: impl FnOnce(&mut Value, &Value)) {
        let result = self
            .store
            .modify(canaries(), &self.namespace, &self.name, |cd| {
                let fresh = cd.clone();
                let status = &mut cd["status"];
                change(status, &fresh);
                for counter in ["failedChecks", "canaryWeight", "iterations"] {
                    if !status[counter].is_i64() {
                        status[counter] = json!(0);
                    }
                }
            });
        if let Err(e) = result {
            tracing::debug!("writing the status of canary {}: {e}", self.canary_ref());
        }
    }

    /// Flagger's `SyncStatus`: phase and counters as given, the target's
    /// current template hash as lastAppliedSpec (and as lastPromotedSpec
    /// on initialization).
    pub(super) fn sync_status(
        &self,
        phase: &str,
        weight: i64,
        failed_checks: i64,
        iterations: i64,
    ) {
        let Ok(target) = self.target() else {
            return;
        };
        let hash = template_hash(&target["spec"]["template"]);
        let now = self.now;
        self.write_status(|s, fresh| {
            s["phase"] = json!(phase);
            s["canaryWeight"] = json!(weight);
            s["failedChecks"] = json!(failed_checks);
            s["iterations"] = json!(iterations);
            s["lastAppliedSpec"] = json!(hash);
            if phase == INITIALIZED {
                s["lastPromotedSpec"] = json!(hash);
            }
            s["lastTransitionTime"] = json!(timestamp(now));
            s["trackedConfigs"] = json!({});
            if let Some(conditions) = promoted_condition(fresh, phase, now) {
                s["conditions"] = conditions;
            }
        });
    }

    /// Flagger's `SetStatusPhase`: leaving the analysis clears weight and
    /// iterations; promotion records the applied spec as promoted.
    pub(super) fn set_status_phase(&self, phase: &str) {
        let now = self.now;
        self.write_status(|s, fresh| {
            s["phase"] = json!(phase);
            s["lastTransitionTime"] = json!(timestamp(now));
            if !matches!(phase, PROGRESSING | WAITING | PROMOTING) {
                s["canaryWeight"] = json!(0);
                s["iterations"] = json!(0);
                if phase == WAITING_PROMOTION {
                    s["iterations"] = json!(Analysis::of(fresh).iterations() - 1);
                }
            }
            if matches!(phase, INITIALIZED | SUCCEEDED) {
                s["lastPromotedSpec"] = fresh["status"]["lastAppliedSpec"].clone();
            }
            if let Some(conditions) = promoted_condition(fresh, phase, now) {
                s["conditions"] = conditions;
            }
        });
    }

    /// Flagger's `SetStatusWeight`, `SetStatusFailedChecks` and `SetStatusIterations`.
    pub(super) fn set_status_counter(&self, field: &str, value: i64) {
        let now = self.now;
        self.write_status(|s, _| {
            s[field] = json!(value);
            s["lastTransitionTime"] = json!(timestamp(now));
        });
    }

    /// What Flagger's informer writes on a canary without conditions.
    pub(super) fn set_phase_initializing(&self) {
        let now = self.now;
        self.write_status(|s, fresh| {
            if let Some(conditions) = promoted_condition(fresh, INITIALIZING, now) {
                s["conditions"] = conditions;
                s["lastTransitionTime"] = json!(timestamp(now));
                s["phase"] = json!(INITIALIZING);
            }
        });
    }
}
