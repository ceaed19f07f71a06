//! The canary strategy (`rollout/canary.go`): walk the steps, size the
//! canary and stable ReplicaSets from the current weight, pause where the
//! steps say, and write the status.

use super::super::analysis::AnalysisPhase;
use super::super::events::EventType;
use super::super::workload::{self, ARGO, hash_of};
use super::Reconcile;
use super::rollout_status::PAUSE_CANARY_STEP;
use super::spec::{CanaryStep, SetCanaryScale};
use crate::time::parse_rfc3339 as parse_timestamp;
use serde_json::Value;
use std::sync::Arc;

/// `ceil(replicas × weight / 100)` (`trafficWeightToReplicas`).
pub fn weight_to_replicas(replicas: i64, weight: i64) -> i64 {
    (replicas * weight + 99).div_euclid(100)
}

impl Reconcile<'_> {
    /// The step at `status.currentStepIndex` and that index; the index alone
    /// (as the step) past the last step. None without steps.
    pub(super) fn current_step(&self) -> Option<(CanaryStep, i64)> {
        let steps = self.spec.steps();
        if steps.is_empty() {
            return None;
        }
        let index = self.status.current_step_index.unwrap_or(0);
        let step = usize::try_from(index).ok().and_then(|i| steps.get(i))?;
        Some((step.clone(), index))
    }

    /// The index of the current step, even past the last one; None without steps.
    fn current_step_index(&self) -> Option<i64> {
        (!self.spec.steps().is_empty()).then(|| self.status.current_step_index.unwrap_or(0))
    }

    /// The weight the steps ask for now (`GetCurrentSetWeight`).
    pub(super) fn current_set_weight(&self) -> i64 {
        if self.status.abort {
            return 0;
        }
        let Some((_, index)) = self.current_step() else {
            return 100;
        };
        self.spec.steps()[..=index as usize]
            .iter()
            .rev()
            .find_map(|s| s.set_weight)
            .unwrap_or(0)
    }

    /// The last `setCanaryScale` in force (`UseSetCanaryScale`).
    fn set_canary_scale(&self) -> Option<SetCanaryScale> {
        self.spec.traffic_routing()?;
        if self.status.abort && self.spec.abort_scale_down_delay().is_some() {
            return None;
        }
        let (_, index) = self.current_step()?;
        let scale = self.spec.steps()[..=index as usize]
            .iter()
            .rev()
            .find_map(|s| s.set_canary_scale.clone())?;
        (!scale.match_traffic_weight).then_some(scale)
    }

    /// An explicit canary replica count, or the weight to size it by (`GetCanaryReplicasOrWeight`).
    fn canary_replicas_or_weight(&self) -> (Option<i64>, i64) {
        let s = &self.status;
        if s.promote_full || s.stable_rs.is_empty() || s.current_pod_hash == s.stable_rs {
            return (None, 100);
        }
        match self.set_canary_scale() {
            Some(SetCanaryScale {
                replicas: Some(r), ..
            }) => (Some(r), 0),
            Some(SetCanaryScale {
                weight: Some(w), ..
            }) => (None, w),
            _ => (None, self.current_set_weight()),
        }
    }

    /// Canary and stable sizes with a traffic router: the canary from the
    /// weight, the stable at full scale (no dynamic stable scaling).
    fn traffic_routed_counts(&self) -> (i64, i64) {
        let replicas = self.spec.replicas();
        let canary = match self.canary_replicas_or_weight() {
            (Some(r), _) => r,
            (None, w) => weight_to_replicas(replicas, w),
        };
        (canary, replicas)
    }

    /// Canary and stable sizes without a traffic router, where the pod
    /// ratio is the traffic ratio, within maxSurge and maxUnavailable
    /// (`CalculateReplicaCountsForBasicCanary`).
    fn basic_counts(&self) -> (i64, i64) {
        let replicas = self.spec.replicas();
        let (_, weight) = self.canary_replicas_or_weight();
        let max_surge = self.spec.max_surge();
        let new_rs = self.new_rs();
        let stable_rs = self.stable_rs().filter(|s| Some(s) != new_rs.as_ref());
        let (mut want_new, mut want_stable) = approximate_counts(replicas, weight, max_surge);
        let size = |rs: &Option<Arc<Value>>| rs.as_ref().map_or(0, |r| workload::counts(r).desired);
        let mut new_count = size(&new_rs);
        let mut stable_count = size(&stable_rs);
        if stable_rs.is_none() {
            want_new = replicas;
            want_stable = 0;
        }
        let max_total = replicas + max_surge;
        let others: Vec<Arc<Value>> = self.other_rss();
        let others_total: i64 = others.iter().map(|r| workload::counts(r).desired).sum();
        let mut scale_up = max_total - (others_total + new_count + stable_count);
        if stable_rs.is_some() && stable_count < want_stable && scale_up > 0 {
            let target = (stable_count + scale_up).min(want_stable);
            scale_up -= target - stable_count;
            stable_count = target;
        }
        if new_rs.is_some() && new_count < want_new && scale_up > 0 {
            new_count = (new_count + scale_up).min(want_new);
        }
        if others_total > 0 {
            return (new_count, stable_count);
        }
        let min_available = replicas - self.spec.max_unavailable();
        let increasing = new_rs
            .as_ref()
            .is_none_or(|r| want_new >= workload::counts(r).desired);
        let countable = |rs: &Option<Arc<Value>>, ignore_availability: bool| {
            rs.as_ref().map_or(0, |r| {
                let c = workload::counts(r);
                if c.desired < c.available || ignore_availability {
                    c.desired
                } else {
                    c.available
                }
            })
        };
        let to_scale_down = countable(&new_rs, !increasing) + countable(&stable_rs, increasing);
        if to_scale_down <= min_available {
            return (new_count, stable_count);
        }
        let scale_down = to_scale_down - min_available;
        if !increasing {
            new_count = drain(&new_rs, want_new, scale_down, new_count);
            let (n, s) = within_limits(
                &new_rs,
                &stable_rs,
                new_count,
                stable_count,
                max_total,
                min_available,
            );
            (n, s)
        } else if stable_rs.is_some() {
            stable_count = drain(&stable_rs, want_stable, scale_down, stable_count);
            let (s, n) = within_limits(
                &stable_rs,
                &new_rs,
                stable_count,
                new_count,
                max_total,
                min_available,
            );
            (n, s)
        } else {
            (new_count, stable_count)
        }
    }

    fn canary_counts(&self) -> (i64, i64) {
        if self.spec.traffic_routing().is_some() {
            self.traffic_routed_counts()
        } else {
            self.basic_counts()
        }
    }

    /// The size the new ReplicaSet should have (`NewRSNewReplicas`).
    pub(super) fn new_rs_replicas(&self, rs: &Value) -> i64 {
        match self.spec.blue_green() {
            Some(bg) => {
                let replicas = self.spec.replicas();
                let Some(preview) = bg.preview_replica_count else {
                    return replicas;
                };
                let active = self.rs_by_hash(&self.status.blue_green.active_selector);
                if active.is_none_or(|a| workload::name_of(&a) == workload::name_of(rs))
                    || self.status.promote_full
                    || self.status.blue_green.scale_up_preview_check_point
                {
                    replicas
                } else {
                    preview
                }
            }
            None => self.canary_counts().0,
        }
    }

    /// Whether both ReplicaSets have the sizes the current step wants, all
    /// available (`AtDesiredReplicaCountsForCanary`).
    fn at_desired_counts(&self) -> bool {
        let (want_new, want_stable) = self.canary_counts();
        let all_available = self.new_rs().is_some_and(|rs| {
            let c = workload::counts(&rs);
            c.desired == want_new && c.available == want_new
        });
        let stable_created = self.stable_rs().is_some_and(|rs| {
            let c = workload::counts(&rs);
            c.desired == want_stable && c.replicas == want_stable
        });
        let others_drained = self.spec.traffic_routing().is_some()
            || self
                .other_rss()
                .iter()
                .all(|rs| workload::counts(rs).available == 0);
        all_available && stable_created && others_drained
    }

    /// One canary reconcile (`rolloutCanary`).
    pub(super) fn rollout_canary(&mut self) {
        if self.template_or_steps_changed() {
            self.sync_revision(false);
            self.sync_canary_status();
            return;
        }
        self.sync_revision(true);
        self.restart_pods();
        self.reconcile_revision_history_limit();
        self.reconcile_stable_and_canary_services();
        self.reconcile_traffic_routing();
        self.reconcile_analysis_runs();
        if !self.pause.has_add_pause() && !self.reconcile_canary_replica_sets() {
            self.reconcile_canary_pause();
        }
        self.sync_canary_status();
    }

    /// Size the stable, the canary, then the others; stop after the first
    /// that changed (`reconcileCanaryReplicaSets`).
    fn reconcile_canary_replica_sets(&mut self) -> bool {
        if self.halted() {
            return false;
        }
        self.remove_scale_down_deadlines();
        if let Some(stable) = self.stable_rs()
            && self.stable_rs != self.new_rs
        {
            let (_, want) = self.canary_counts();
            if self.scale(&stable, want) {
                return true;
            }
        }
        if self.new_rs.is_none() && self.status.current_pod_hash != self.status.stable_rs {
            self.new_rs = self
                .rs_by_hash(&self.status.current_pod_hash)
                .map(|rs| workload::name_of(&rs).to_string());
        }
        self.reconcile_new_replica_set() || self.reconcile_other_replica_sets()
    }

    /// Pause at a pause step (`reconcileCanaryPause`).
    fn reconcile_canary_pause(&mut self) {
        if self.spec.paused || self.status.promote_full {
            return;
        }
        let Some((step, _)) = self.current_step() else {
            return;
        };
        let Some(pause) = step.pause else {
            return;
        };
        match self.status.pause_condition(PAUSE_CANARY_STEP).cloned() {
            None => {
                if !self.status.controller_pause {
                    self.pause.add.push(PAUSE_CANARY_STEP);
                }
            }
            Some(cond) => {
                if let (Some(d), Some(start)) =
                    (pause.duration(), parse_timestamp(&cond.start_time))
                {
                    self.requeue_at(start + d);
                }
            }
        }
    }

    /// Whether the current step is done (`completedCurrentCanaryStep`).
    fn completed_current_step(&self) -> bool {
        if self.spec.paused {
            return false;
        }
        let Some((step, _)) = self.current_step() else {
            return false;
        };
        if let Some(pause) = &step.pause {
            let cond = self.status.pause_condition(PAUSE_CANARY_STEP);
            if self.status.controller_pause && cond.is_none() {
                return true;
            }
            return match (pause.duration(), cond) {
                (Some(d), Some(c)) => {
                    parse_timestamp(&c.start_time).is_some_and(|start| self.ctx.now >= start + d)
                }
                _ => false,
            };
        }
        if step.set_canary_scale.is_some() {
            return self.at_desired_counts();
        }
        if step.set_weight.is_some() {
            let unverified = self
                .new_status
                .canary
                .weights
                .as_ref()
                .is_some_and(|w| w.verified == Some(false));
            return self.at_desired_counts() && !unverified;
        }
        if step.analysis.is_some() {
            return self
                .runs
                .step
                .as_ref()
                .is_some_and(|r| super::runs::phase_of(r) == Some(AnalysisPhase::Successful));
        }
        // setHeaderRoute completes at once; so do the kinds of step the simulator skips.
        true
    }

    /// Why the update may be declared complete, if it may (`shouldFullPromote`).
    fn canary_full_promotion(&self) -> Option<String> {
        if self.stable_rs().is_none() {
            return Some("Initial deploy".into());
        }
        if self.is_aborted() {
            return None;
        }
        let available = self.new_rs().map(|rs| workload::counts(&rs).available);
        if available != Some(self.spec.replicas()) {
            return None;
        }
        if self.status.promote_full {
            return Some("Full promotion requested".into());
        }
        let steps = self.spec.steps().len() as i64;
        let done = steps == 0 || self.current_step_index() == Some(steps);
        done.then(|| format!("Completed all {steps} canary steps"))
    }

    /// Compute and write the canary status (`syncRolloutStatusCanary`).
    pub(super) fn sync_canary_status(&mut self) {
        let mut new = self.base_status();
        new.available_replicas = self.available_of_all();
        new.hpa_replicas = self.replicas_of_all();
        new.selector = self
            .spec
            .selector
            .as_ref()
            .map(Self::format_selector)
            .unwrap_or_default();
        new.stable_rs = self.status.stable_rs.clone();
        new.current_step_hash = self.step_hash();
        let step_count = self.spec.steps().len() as i64;
        let mut index = self.current_step_index();

        if self.template_or_steps_changed() {
            self.reset_status(&mut new);
            if step_count > 0 && self.new_rs.is_some() && self.status.stable_rs == self.new_hash() {
                self.event(
                    EventType::Normal,
                    "SkipSteps",
                    "Rollback to stable ReplicaSets",
                );
                new.current_step_index = Some(step_count);
            }
            let new = self.calculate_conditions(new);
            self.persist(new);
            return;
        }
        if self.status.promote_full {
            self.pause.clear = true;
            self.pause.remove_abort = true;
            if step_count > 0 {
                index = Some(step_count);
            }
        }
        if let Some(why) = self.canary_full_promotion() {
            self.promote_stable(&mut new, &why);
            let new = self.calculate_conditions(new);
            self.persist(new);
            return;
        }
        if self.is_aborted() {
            if step_count > 0 {
                new.current_step_index = Some(if new.stable_rs == new.current_pod_hash {
                    step_count
                } else {
                    0
                });
            }
            let new = self.calculate_conditions(new);
            self.persist(new);
            return;
        }
        if let Some(i) = index.filter(|i| *i < step_count)
            && self.completed_current_step()
        {
            let described = self.spec.steps()[i as usize].describe();
            index = Some(i + 1);
            new.canary.current_step_analysis_run_status = None;
            self.event(
                EventType::Normal,
                "RolloutStepCompleted",
                &format!(
                    "Rollout step {}/{step_count} completed ({described})",
                    i + 1
                ),
            );
            self.pause.remove.push(PAUSE_CANARY_STEP);
        }
        new.current_step_index = index;
        let new = self.calculate_conditions(new);
        self.persist(new);
    }

    /// The canary and stable hashes traffic is split between.
    pub(super) fn canary_and_stable_hashes(&self) -> (String, String) {
        let stable = self
            .stable_rs()
            .map(|rs| hash_of(&rs, ARGO).to_string())
            .unwrap_or_default();
        (self.new_hash(), stable)
    }

    /// The weight to send to the canary now (the body of `reconcileTrafficRouting`).
    pub(super) fn desired_weight(&self) -> i64 {
        if self.status.is_fully_promoted() || self.is_aborted() {
            return 0;
        }
        let canary_available = self
            .new_rs()
            .is_some_and(|rs| workload::counts(&rs).available > 0);
        if !canary_available {
            return 0;
        }
        if self.status.promote_full {
            return self
                .status
                .canary
                .weights
                .as_ref()
                .map_or(0, |w| w.canary.weight);
        }
        let Some(index) = self.current_step_index() else {
            return 0;
        };
        let steps = self.spec.steps();
        if !self.at_desired_counts() {
            // The canary is not ready for the new weight: keep the last one.
            return steps[..(index.max(0) as usize).min(steps.len())]
                .iter()
                .rev()
                .find_map(|s| s.set_weight)
                .unwrap_or(0);
        }
        if index != steps.len() as i64 {
            self.current_set_weight()
        } else {
            100
        }
    }
}

/// The canary and stable counts closest to `weight` (`approximateWeightedCanaryStableReplicaCounts`).
fn approximate_counts(replicas: i64, weight: i64, max_surge: i64) -> (i64, i64) {
    if replicas == 0 {
        return (0, 0);
    }
    let exact = replicas as f64 * weight as f64 / 100.0;
    let (ceil, floor) = (exact.ceil() as i64, exact.floor() as i64);
    let tied = |total: i64| (total as f64 * weight as f64 / 100.0).fract() == 0.5;
    let zero_allowed = weight == 100 || weight == 0 || (replicas == 1 && max_surge == 0);
    let mut options: Vec<(i64, i64)> = Vec::new();
    if ceil < replicas || zero_allowed {
        options.push((ceil, replicas));
    }
    if !tied(replicas) && (floor != 0 || zero_allowed) {
        options.push((floor, replicas));
    }
    if max_surge > 0 {
        options.push((ceil, replicas + 1));
        if !tied(replicas + 1) && (floor != 0 || zero_allowed) {
            options.push((floor, replicas + 1));
        }
    }
    let delta =
        |(canary, total): (i64, i64)| ((canary * 100) as f64 / total as f64 - weight as f64).abs();
    let best = options
        .into_iter()
        .reduce(|best, o| if delta(o) < delta(best) { o } else { best })
        .unwrap_or((0, replicas));
    (best.0, best.1 - best.0)
}

/// Scale the ReplicaSet whose availability is not counted towards its target (`calculateScaleDownReplicaCount`).
fn drain(rs: &Option<Arc<Value>>, want: i64, scale_down: i64, count: i64) -> i64 {
    match rs {
        Some(r) if workload::counts(r).desired > want => {
            want.max(workload::counts(r).desired - scale_down)
        }
        _ => count,
    }
}

/// Keep both counts within maxSurge and maxUnavailable (`adjustReplicaWithinLimits`).
fn within_limits(
    drained: &Option<Arc<Value>>,
    adjusted: &Option<Arc<Value>>,
    mut drained_count: i64,
    mut adjusted_count: i64,
    max_total: i64,
    min_available: i64,
) -> (i64, i64) {
    let mut over = (adjusted_count + drained_count - max_total).max(0);
    let mut available = drained
        .as_ref()
        .map_or(0, |r| workload::counts(r).available.min(drained_count));
    if let Some(a) = adjusted {
        let a_available = workload::counts(a).available;
        adjusted_count -= over;
        available += a_available.min(adjusted_count);
        let extra = (a_available - adjusted_count).max(0);
        let missing = (min_available - available).max(0);
        adjusted_count += extra.min(missing);
        over = (adjusted_count + drained_count - max_total).max(0);
        drained_count -= over;
    }
    (drained_count, adjusted_count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_round_up_to_pods() {
        assert_eq!(weight_to_replicas(5, 20), 1);
        assert_eq!(weight_to_replicas(5, 50), 3);
        assert_eq!(weight_to_replicas(5, 0), 0);
        assert_eq!(weight_to_replicas(10, 100), 10);
    }

    #[test]
    fn basic_canary_counts_approximate_the_weight() {
        // Argo's own examples.
        assert_eq!(approximate_counts(10, 10, 1), (1, 9));
        assert_eq!(approximate_counts(10, 30, 3), (3, 7));
        assert_eq!(approximate_counts(1, 5, 1), (1, 1));
        assert_eq!(approximate_counts(3, 50, 0), (2, 1));
        assert_eq!(approximate_counts(5, 100, 0), (5, 0));
    }
}
