//! One tick of a canary: Flagger's `advanceCanary` and the strategies it
//! runs (canary steps, blue/green, A/B), promotion and rollback.

use super::workloads::NotReady;
use super::{
    FAILED, FINALISING, INITIALIZED, INITIALIZING, PROGRESSING, PROMOTING, Run, SUCCEEDED,
    TOTAL_WEIGHT, WAITING, WAITING_PROMOTION,
};
use crate::controllers::workload::template_hash;
use serde_json::json;
use std::sync::Arc;

impl Run<'_> {
    /// Copy the target into the primary and enter Promoting.
    fn start_promotion(&self) {
        self.info(&format!(
            "Copying {} template spec to {}.{}",
            self.target_ref(),
            self.primary_name(),
            self.namespace
        ));
        if let Err(e) = self.promote() {
            self.warn(&e);
            return;
        }
        self.set_status_phase(PROMOTING);
    }

    /// All traffic back to the primary, the target scaled to zero, Failed.
    pub(super) fn rollback(&self) {
        let failed_checks = self.status_int("failedChecks");
        if failed_checks >= self.analysis().threshold() {
            self.warn(&format!(
                "Rolling back {} failed checks threshold reached {failed_checks}",
                self.canary_ref()
            ));
        }
        if let Err(e) = self.set_routes(TOTAL_WEIGHT, 0) {
            self.warn(&e);
            return;
        }
        self.warn(&format!(
            "Canary failed! Scaling down {}",
            self.canary_ref()
        ));
        self.scale_target(0);
        self.sync_status(FAILED, 0, 0, 0);
        self.post_rollout_hooks();
    }

    /// Flagger's `shouldAdvance`: mid-analysis, or the target changed.
    fn should_advance(&self) -> bool {
        if matches!(
            self.phase(),
            PROGRESSING | WAITING | WAITING_PROMOTION | PROMOTING | FINALISING
        ) {
            return true;
        }
        if self.phase() == FAILED {
            // Flagger re-syncs a failed canary's status on every run.
            self.sync_status(
                FAILED,
                self.status_int("canaryWeight"),
                self.status_int("failedChecks"),
                self.status_int("iterations"),
            );
        }
        self.has_target_changed()
    }

    /// Flagger's `hasSpecChanged`; going back to the promoted spec (a manual
    /// rollback) is no new revision.
    fn has_target_changed(&self) -> bool {
        let Ok(target) = self.target() else {
            return false;
        };
        let applied = self.cd["status"]["lastAppliedSpec"].as_str().unwrap_or("");
        if applied.is_empty() {
            return true;
        }
        let hash = template_hash(&target["spec"]["template"]);
        if self.cd["status"]["lastPromotedSpec"].as_str() == Some(hash.as_str()) {
            return false;
        }
        applied != hash
    }

    /// Flagger's `checkCanaryStatus`: true to go on with the analysis; on a
    /// new revision, scale the target up and enter Progressing instead.
    fn check_canary_status(&mut self) -> bool {
        if matches!(
            self.phase(),
            PROGRESSING | WAITING_PROMOTION | PROMOTING | FINALISING
        ) {
            return true;
        }
        self.sync_status(PROGRESSING, 0, 0, 0);
        self.refetch();
        for hook in self.analysis().hooks("confirm-rollout") {
            self.info(&format!("Confirm-rollout check {hook} passed"));
        }
        self.info(&format!(
            "New revision detected! Scaling up {}",
            self.target_ref()
        ));
        self.scale_from_zero();
        self.sync_status(PROGRESSING, 0, 0, 0);
        false
    }

    /// The stepped canary strategy (Flagger's `runCanary`).
    fn run_canary(&self, mut primary_weight: i64, mut canary_weight: i64, max_weight: i64) {
        if canary_weight < max_weight {
            let step = self.analysis().next_step_weight(canary_weight);
            primary_weight = (primary_weight - step).max(0);
            canary_weight = (canary_weight + step).min(TOTAL_WEIGHT);
            if let Err(e) = self.set_routes(primary_weight, canary_weight) {
                self.warn(&e);
                return;
            }
            self.set_status_counter("canaryWeight", canary_weight);
            self.info(&format!(
                "Advance {} canary weight {canary_weight}",
                self.canary_ref()
            ));
            return;
        }
        if self.promotion_confirmed() {
            self.start_promotion();
        }
    }

    /// Blue/Green: `iterations` runs at weight 0, then all traffic to the
    /// canary for one more run, then promotion (Flagger's `runBlueGreen`).
    fn run_blue_green(&self) {
        let wanted = self.analysis().iterations();
        let done = self.status_int("iterations");
        if wanted > done {
            self.set_status_counter("iterations", done + 1);
            self.info(&format!(
                "Advance {} canary iteration {}/{wanted}",
                self.canary_ref(),
                done + 1
            ));
            return;
        }
        if !self.promotion_confirmed() {
            return;
        }
        if wanted == done {
            self.info("Routing all traffic to canary");
            if let Err(e) = self.set_routes(0, TOTAL_WEIGHT) {
                self.warn(&e);
                return;
            }
            self.set_status_counter("iterations", done + 1);
            return;
        }
        self.start_promotion();
    }

    /// A/B testing: matching requests go to the canary for `iterations`
    /// runs, then promotion (Flagger's `runAB`).
    fn run_ab(&self) {
        let wanted = self.analysis().iterations();
        let done = self.status_int("iterations");
        if wanted > done {
            if let Err(e) = self.set_routes(0, TOTAL_WEIGHT) {
                self.warn(&e);
                return;
            }
            self.set_status_counter("iterations", done + 1);
            self.info(&format!(
                "Advance {} canary iteration {}/{wanted}",
                self.canary_ref(),
                done + 1
            ));
            return;
        }
        if self.promotion_confirmed() && wanted == done {
            self.start_promotion();
        }
    }

    /// Promoting: traffic back to the primary, at once or by
    /// `stepWeightPromotion` (Flagger's `runPromotionTrafficShift`).
    fn promotion_traffic_shift(&self, primary_weight: i64, canary_weight: i64) {
        let step = self.analysis().step_weight_promotion();
        if step == 0 {
            self.info("Routing all traffic to primary");
            if let Err(e) = self.set_routes(TOTAL_WEIGHT, 0) {
                self.warn(&e);
                return;
            }
            self.set_status_phase(FINALISING);
            return;
        }
        if canary_weight > 0 {
            let primary_weight = (primary_weight + step).min(TOTAL_WEIGHT);
            let canary_weight = (canary_weight - step).max(0);
            if let Err(e) = self.set_routes(primary_weight, canary_weight) {
                self.warn(&e);
                return;
            }
            self.info(&format!(
                "Advance {} primary weight {primary_weight}",
                self.canary_ref()
            ));
            if primary_weight == TOTAL_WEIGHT {
                self.set_status_phase(FINALISING);
            } else {
                self.set_status_counter("canaryWeight", canary_weight);
            }
        }
    }

    /// Promote without analysis (Flagger's `shouldSkipAnalysis`).
    fn promote_skipping_analysis(&self) {
        if let Err(e) = self.set_routes(TOTAL_WEIGHT, 0) {
            self.warn(&e);
            return;
        }
        self.info(&format!(
            "Copying {} template spec to {}.{}",
            self.target_ref(),
            self.primary_name(),
            self.namespace
        ));
        if let Err(e) = self.promote() {
            self.warn(&e);
            return;
        }
        self.scale_target(0);
        self.set_status_phase(SUCCEEDED);
        self.info(&format!(
            "Promotion completed! Canary analysis was skipped for {}",
            self.target_ref()
        ));
    }

    /// Report a workload that is not ready; roll back when it never will be.
    fn not_ready(&self, e: NotReady) {
        self.warn(&e.message);
        if !e.retriable {
            self.rollback();
        }
    }

    /// One tick of the canary (Flagger's `advanceCanary`).
    pub(super) fn advance(&mut self) {
        if self.spec_flag("suspend") {
            self.info("skipping canary run as object is suspended");
            return;
        }
        let target = match self.target() {
            Ok(t) => t,
            Err(e) => {
                self.warn(&e);
                return;
            }
        };
        let (label, value) = match self.selector_label(&target) {
            Ok(l) => l,
            Err(e) => {
                self.warn(&e);
                return;
            }
        };
        let primary_value = format!("{value}-primary");
        self.ensure_service(&format!("{}-canary", self.service), label, &value);
        self.ensure_service(&format!("{}-primary", self.service), label, &primary_value);
        let initializing = matches!(self.phase(), "" | INITIALIZING);
        let skip_analysis = self.spec_flag("skipAnalysis");
        if initializing && !skip_analysis {
            self.info("all the metrics providers are available!");
        }
        if let Err(e) = self.ensure_primary(&target, label, &primary_value) {
            self.warn(&e);
            return;
        }
        if initializing
            && !skip_analysis
            && let Err(e) = self.primary_ready()
        {
            self.not_ready(e);
            return;
        }
        self.ensure_service(&self.service, label, &primary_value);
        if initializing {
            self.scale_target(0);
        }
        self.ensure_virtual_service();
        if initializing {
            self.sync_status(INITIALIZED, 0, 0, 0);
            let status = &mut Arc::make_mut(&mut self.cd)["status"];
            status["phase"] = json!(INITIALIZED);
            status["lastAppliedSpec"] = json!(template_hash(&target["spec"]["template"]));
            self.info(&format!("Initialization done! {}", self.canary_ref()));
        }
        if !self.should_advance() {
            return;
        }
        let max_weight = self.analysis().max_weight();
        if !skip_analysis && let Err(e) = self.primary_ready() {
            self.not_ready(e);
            return;
        }
        let (primary_weight, canary_weight) = match self.get_routes() {
            Ok(w) => w,
            Err(e) => {
                self.warn(&e);
                return;
            }
        };
        if !self.check_canary_status() {
            return;
        }
        if matches!(self.phase(), PROGRESSING | WAITING_PROMOTION) && self.has_target_changed() {
            if let Err(e) = self.set_routes(TOTAL_WEIGHT, 0) {
                self.warn(&e);
                return;
            }
            self.sync_status(PROGRESSING, 0, 0, 0);
            self.refetch();
            self.info(&format!(
                "New revision detected! Restarting analysis for {}",
                self.target_ref()
            ));
            return;
        }
        if let Err(e) = self.canary_ready() {
            self.not_ready(e);
            return;
        }
        if skip_analysis {
            self.promote_skipping_analysis();
            return;
        }
        if matches!(self.phase(), PROGRESSING | WAITING | WAITING_PROMOTION) {
            for hook in self.analysis().hooks("rollback") {
                self.info(&format!("Rollback hook {hook} not signaling a rollback"));
            }
        }
        match self.phase() {
            PROMOTING => {
                self.promotion_traffic_shift(primary_weight, canary_weight);
                return;
            }
            FINALISING => {
                self.scale_target(0);
                self.set_status_phase(SUCCEEDED);
                self.post_rollout_hooks();
                self.info(&format!(
                    "Promotion completed! Scaling down {}",
                    self.target_ref()
                ));
                return;
            }
            PROGRESSING | WAITING_PROMOTION
                if self.status_int("failedChecks") >= self.analysis().threshold() =>
            {
                self.rollback();
                return;
            }
            _ => {}
        }
        if canary_weight == 0 && self.status_int("iterations") == 0 {
            self.info(&format!(
                "Starting canary analysis for {}",
                self.target_ref()
            ));
            for hook in self.analysis().hooks("pre-rollout") {
                self.info(&format!("Pre-rollout check {hook} passed"));
            }
        } else if !self.run_analysis() {
            self.set_status_counter("failedChecks", self.status_int("failedChecks") + 1);
            return;
        }
        let analysis = self.analysis();
        if analysis.has_match() && analysis.iterations() > 0 {
            self.run_ab();
        } else if analysis.iterations() > 0 {
            self.run_blue_green();
        } else if analysis.next_step_weight(canary_weight) > 0 {
            if !matches!(self.phase(), PROMOTING | WAITING_PROMOTION | FINALISING) {
                for hook in analysis.hooks("confirm-traffic-increase") {
                    self.info(&format!("Confirm-traffic-increase check {hook} passed"));
                }
            }
            self.run_canary(primary_weight, canary_weight, max_weight);
        }
    }
}
