//! The blue-green strategy (`rollout/bluegreen.go`): bring the new
//! ReplicaSet up behind the preview Service, pause or run the pre-promotion
//! analysis if asked, switch the active Service, then scale the old
//! ReplicaSet down after `scaleDownDelaySeconds`.

use super::super::workload::{self, ARGO, hash_of};
use super::Reconcile;
use super::rollout_status::{PAUSE_BLUE_GREEN, RolloutStatus};
use super::traffic::selected_hash;
use crate::time::parse_rfc3339 as parse_timestamp;
use chrono::Duration;
use serde_json::Value;
use std::sync::Arc;

impl Reconcile<'_> {
    /// One blue-green reconcile (`rolloutBlueGreen`).
    pub(super) fn rollout_blue_green(&mut self) {
        let bg = self.spec.blue_green().cloned().unwrap_or_default();
        let Some(mut active) = self.service(&bg.active_service) else {
            return;
        };
        let mut preview = self.service(&bg.preview_service);
        self.sync_revision(true);
        if let (Some(p), Some(rs), false) = (&preview, self.new_rs(), self.halted())
            && let Some(updated) = self.switch_service(p, hash_of(&rs, ARGO))
        {
            preview = Some(updated);
        }
        if self.pod_spec_changed() {
            self.sync_blue_green_status(preview.as_deref(), &active);
            return;
        }
        self.restart_pods();
        self.reconcile_blue_green_replica_sets(&active);
        self.reconcile_blue_green_pause(&active);
        if let Some(updated) = self.reconcile_active_service(&active) {
            active = updated;
        }
        self.reconcile_analysis_runs();
        self.sync_blue_green_status(preview.as_deref(), &active);
    }

    /// The ReplicaSet behind the active Service at full scale, the new one
    /// at its size, the others down after their delay.
    fn reconcile_blue_green_replica_sets(&mut self, active: &Value) {
        self.remove_scale_down_deadlines();
        if let Some(rs) = self.rs_by_hash(selected_hash(active)) {
            let replicas = self.spec.replicas();
            self.scale(&rs, replicas);
        }
        self.reconcile_new_replica_set();
        self.reconcile_other_replica_sets();
        self.reconcile_revision_history_limit();
    }

    /// Whether the new ReplicaSet has its size, all available (`ReadyForPause`).
    fn ready_for_pause(&self, rs: &Value) -> bool {
        let want = self.new_rs_replicas(rs);
        let c = workload::counts(rs);
        c.desired == want && c.available == want
    }

    /// Whether the update skips the pause (`isBlueGreenFastTracked`).
    fn fast_tracked(&self, active: &Value, rs: &Value) -> bool {
        super::replicas::has_scale_down_deadline(rs)
            || self.status.promote_full
            || selected_hash(active).is_empty()
            || selected_hash(active) == hash_of(rs, ARGO)
    }

    /// Whether the pause before promotion is over (`CompletedBlueGreenPause`).
    fn completed_blue_green_pause(&self) -> bool {
        let bg = self.spec.blue_green().cloned().unwrap_or_default();
        if self.pause.has_add_pause() {
            return false;
        }
        if self.status.blue_green.scale_up_preview_check_point || !bg.controller_pauses() {
            return true;
        }
        let cond = self.status.pause_condition(PAUSE_BLUE_GREEN);
        if bg.auto_promotion_enabled != Some(false) {
            if bg.auto_promotion_seconds == 0 {
                return true;
            }
            return cond
                .and_then(|c| parse_timestamp(&c.start_time))
                .is_some_and(|start| {
                    self.ctx.now >= start + Duration::seconds(bg.auto_promotion_seconds)
                });
        }
        self.status.controller_pause && cond.is_none()
    }

    /// Pause before promoting, or resume after the delay (`reconcileBlueGreenPause`).
    fn reconcile_blue_green_pause(&mut self, active: &Value) {
        let Some(rs) = self.new_rs() else {
            return;
        };
        if self.status.abort || !self.ready_for_pause(&rs) || self.halted() {
            return;
        }
        let bg = self.spec.blue_green().cloned().unwrap_or_default();
        if self.fast_tracked(active, &rs)
            || self.status.blue_green.scale_up_preview_check_point
            || !bg.controller_pauses()
        {
            self.pause.remove.push(PAUSE_BLUE_GREEN);
            return;
        }
        if !self.completed_pre_promotion_analysis() {
            return;
        }
        match self.status.pause_condition(PAUSE_BLUE_GREEN).cloned() {
            Some(cond) => {
                if self.completed_blue_green_pause() {
                    self.pause.remove.push(PAUSE_BLUE_GREEN);
                } else if bg.auto_promotion_seconds > 0
                    && let Some(start) = parse_timestamp(&cond.start_time)
                {
                    self.requeue_at(start + Duration::seconds(bg.auto_promotion_seconds));
                }
            }
            None => {
                if !self.status.controller_pause {
                    self.pause.add.push(PAUSE_BLUE_GREEN);
                }
            }
        }
    }

    /// Switch the active Service once the new ReplicaSet is saturated and
    /// promoted; back to stable on abort (`reconcileActiveService`).
    fn reconcile_active_service(&mut self, active: &Value) -> Option<Arc<Value>> {
        let rs = self.new_rs()?;
        if self.halted() || !self.ready_for_pause(&rs) || !self.is_saturated(&rs) {
            return None;
        }
        let mut hash = selected_hash(active).to_string();
        if self.fast_tracked(active, &rs)
            || (self.completed_blue_green_pause() && self.completed_pre_promotion_analysis())
        {
            hash = hash_of(&rs, ARGO).to_string();
        }
        if self.status.abort {
            hash = self.status.stable_rs.clone();
        }
        self.switch_service(active, &hash)
    }

    /// Why the update may be declared complete, if it may (`shouldFullPromote`).
    fn blue_green_full_promotion(&self, new: &RolloutStatus) -> Option<&'static str> {
        if self.stable_rs().is_none() || new.blue_green.active_selector.is_empty() {
            return Some("Initial deploy");
        }
        if new.blue_green.active_selector != new.current_pod_hash {
            return None;
        }
        if self.status.promote_full {
            return Some("Full promotion requested");
        }
        if self.is_aborted() {
            return None;
        }
        Some("Completed blue-green update")
    }

    /// `calculateScaleUpPreviewCheckPoint`.
    fn scale_up_preview_check_point(&self) -> bool {
        let Some(preview) = self.spec.blue_green().and_then(|b| b.preview_replica_count) else {
            return false;
        };
        if self.status.blue_green.scale_up_preview_check_point {
            return true;
        }
        if !self.completed_pre_promotion_analysis() || !self.completed_blue_green_pause() {
            return false;
        }
        self.new_rs()
            .is_some_and(|rs| workload::counts(&rs).available == preview)
    }

    /// Compute and write the blue-green status (`syncRolloutStatusBlueGreen`).
    fn sync_blue_green_status(&mut self, preview: Option<&Value>, active: &Value) {
        let mut new = self.base_status();
        new.stable_rs = self.status.stable_rs.clone();
        if self.pod_spec_changed() {
            self.reset_status(&mut new);
        }
        if self.status.promote_full {
            self.pause.clear = true;
            self.pause.remove_abort = true;
        }
        new.blue_green.preview_selector = preview.map(selected_hash).unwrap_or("").to_string();
        new.blue_green.active_selector = selected_hash(active).to_string();
        match self.blue_green_full_promotion(&new) {
            Some(why) => self.promote_stable(&mut new, why),
            None => {
                new.blue_green.scale_up_preview_check_point = self.scale_up_preview_check_point()
            }
        }
        match self.rs_by_hash(&new.blue_green.active_selector) {
            Some(rs) => {
                let c = workload::counts(&rs);
                new.hpa_replicas = c.replicas;
                new.selector = Self::format_selector(&rs["spec"]["selector"]);
                new.available_replicas = c.available;
                new.ready_replicas = c.ready;
            }
            None => {
                new.hpa_replicas = self.replicas_of_all();
                new.selector = self
                    .spec
                    .selector
                    .as_ref()
                    .map(Self::format_selector)
                    .unwrap_or_default();
                new.available_replicas = self.available_of_all();
            }
        }
        let new = self.calculate_conditions(new);
        self.persist(new);
    }
}
