//! The Rollout's conditions and their events: Paused, Progressing (with its
//! deadline), Available, Healthy (Argo's `calculateRolloutConditions`,
//! `checkPausedConditions` and `persistRolloutStatus`).

use super::Reconcile;
use super::rollout_status::{Condition, RolloutStatus, kind, reason};
use crate::controllers::events::EventType;
use crate::time::parse_rfc3339 as parse_timestamp;
use chrono::Duration;

impl Reconcile<'_> {
    /// Keep the Paused and Progressing conditions in step with pauses (`checkPausedConditions`).
    pub(super) fn check_paused_conditions(&mut self) {
        let now = self.now();
        let progressing = self.status.condition(kind::PROGRESSING).cloned();
        let progressing_paused = progressing
            .as_ref()
            .is_some_and(|c| c.reason == reason::PAUSED);
        let abort_recorded = progressing
            .as_ref()
            .is_some_and(|c| c.reason == reason::ABORTED);
        let paused = !self.status.pause_conditions.is_empty() || self.spec.paused;
        let mut updates = Vec::new();
        if paused != progressing_paused && !abort_recorded {
            let (why, message) = if paused {
                (reason::PAUSED, "Rollout is paused")
            } else {
                (reason::RESUMED, "Rollout is resumed")
            };
            updates.push(Condition::new(
                kind::PROGRESSING,
                "Unknown",
                why,
                message,
                &now,
            ));
        }
        let retrying = !self.status.abort && abort_recorded;
        if retrying {
            updates.push(Condition::new(
                kind::PROGRESSING,
                "Unknown",
                reason::RETRY,
                "Retrying Rollout after abort",
                &now,
            ));
        }
        let paused_true = self
            .status
            .condition(kind::PAUSED)
            .is_some_and(|c| c.status == "True");
        if paused != paused_true && !abort_recorded {
            updates.push(Condition::new(
                kind::PAUSED,
                if paused { "True" } else { "False" },
                reason::PAUSED,
                "Rollout is paused",
                &now,
            ));
        }
        if updates.is_empty() {
            return;
        }
        let generation = self.generation().to_string();
        let spec = self.spec.clone();
        self.update_observed(|s| {
            for c in updates {
                s.set_condition(c);
            }
            s.observed_generation = generation;
            let (phase, message) = s.calculate_phase(&spec);
            s.phase = phase.into();
            s.message = message;
        });
        if retrying {
            self.event(
                EventType::Normal,
                reason::RETRY,
                "Retrying Rollout after abort",
            );
        }
    }
}

impl Reconcile<'_> {
    /// Whether the rollout is healthy in `new` (`RolloutHealthy`).
    fn is_healthy(&self, new: &RolloutStatus) -> bool {
        let replicas = self.spec.replicas();
        let strategy_done = if let Some(bg) = self.spec.blue_green() {
            new.blue_green.active_selector == new.current_pod_hash
                && (bg.preview_service.is_empty()
                    || new.blue_green.preview_selector == new.current_pod_hash)
        } else {
            let steps = self.spec.steps().len() as i64;
            let all_steps = steps == 0 || new.current_step_index.is_none_or(|i| i == steps);
            all_steps
                && !new.stable_rs.is_empty()
                && new.stable_rs == new.current_pod_hash
                && new.replicas == replicas
        };
        new.updated_replicas == replicas
            && new.available_replicas == replicas
            && self.status.observed_generation == self.generation().to_string()
            && strategy_done
    }

    /// Whether `new` shows progress since the observed status (`RolloutProgressing`).
    fn made_progress(&self, new: &RolloutStatus) -> bool {
        let old = &self.status;
        let strategy = if self.spec.blue_green().is_some() {
            old.blue_green.active_selector != new.blue_green.active_selector
                || old.blue_green.preview_selector != new.blue_green.preview_selector
        } else {
            let step_moved = matches!((old.current_step_index, new.current_step_index), (Some(a), Some(b)) if a != b);
            new.stable_rs != old.stable_rs
                || step_moved
                || new.current_step_hash != old.current_step_hash
        };
        new.updated_replicas != old.updated_replicas
            || new.replicas - new.updated_replicas < old.replicas - old.updated_replicas
            || new.ready_replicas > old.ready_replicas
            || new.available_replicas > old.available_replicas
            || strategy
    }

    /// Whether the current step waits without a deadline (pause, analysis, experiment).
    fn at_indefinite_step(&self) -> bool {
        self.current_step().is_some_and(|(s, _)| {
            s.pause.is_some() || s.analysis.is_some() || s.experiment.is_some()
        })
    }

    fn timed_out(&self, new: &RolloutStatus) -> bool {
        let Some(cond) = new.condition(kind::PROGRESSING) else {
            return false;
        };
        if cond.reason == reason::NEW_RS_AVAILABLE {
            return false;
        }
        if cond.reason == reason::TIMED_OUT {
            return true;
        }
        parse_timestamp(&cond.last_update_time)
            .is_some_and(|t| t + self.spec.progress_deadline() < self.ctx.now)
    }

    /// The conditions of `new` (`calculateRolloutConditions`).
    pub(super) fn calculate_conditions(&mut self, mut new: RolloutStatus) -> RolloutStatus {
        let now = self.now();
        let paused = !self.status.pause_conditions.is_empty() || self.spec.paused;
        let aborted = self.is_aborted();
        let mut became_unhealthy = false;
        let had_healthy = self.status.condition(kind::HEALTHY).is_some();
        if !paused && self.is_healthy(&new) {
            new.set_condition(Condition::new(
                kind::HEALTHY,
                "True",
                reason::HEALTHY,
                "Rollout is healthy",
                &now,
            ));
        } else if had_healthy {
            became_unhealthy = new.set_condition(Condition::new(
                kind::HEALTHY,
                "False",
                reason::HEALTHY,
                "Rollout is not healthy",
                &now,
            ));
        }
        if aborted {
            let mut message = format!("Rollout aborted update to revision {}", self.revision());
            if !self.pause.abort_message.is_empty() {
                message = format!("{message}: {}", self.pause.abort_message);
            }
            let cond = Condition::new(kind::PROGRESSING, "False", reason::ABORTED, &message, &now);
            if new.set_condition(cond) {
                self.event(EventType::Warning, reason::ABORTED, &message);
            }
        }
        let current = self.status.condition(kind::PROGRESSING).cloned();
        let rs_name = self.new_rs.clone();
        if !aborted {
            // While paused the Progressing condition says so; Argo would
            // flip it back and forth between this and RolloutPaused.
            if !paused && self.is_healthy(&new) {
                let message = format!(
                    "ReplicaSet \"{}\" has successfully progressed.",
                    rs_name.unwrap_or_default()
                );
                new.set_condition(Condition::new(
                    kind::PROGRESSING,
                    "True",
                    reason::NEW_RS_AVAILABLE,
                    &message,
                    &now,
                ));
            } else if self.made_progress(&new) || became_unhealthy {
                let (why, message) = if new.stable_rs == new.current_pod_hash && became_unhealthy {
                    (
                        reason::RS_NOT_AVAILABLE,
                        "Rollout does not have minimum availability".to_string(),
                    )
                } else {
                    let message = match &rs_name {
                        Some(rs) => format!("ReplicaSet \"{rs}\" is progressing."),
                        None => format!("Rollout \"{}\" is progressing.", self.name()),
                    };
                    (reason::RS_UPDATED, message)
                };
                let mut cond = Condition::new(kind::PROGRESSING, "True", why, &message, &now);
                if let Some(c) = current.as_ref().filter(|c| c.status == "True") {
                    cond.last_transition_time = c.last_transition_time.clone();
                }
                new.remove_condition(kind::PROGRESSING);
                new.set_condition(cond);
            } else if !self.at_indefinite_step() && self.timed_out(&new) {
                let message = match &rs_name {
                    Some(rs) => format!("ReplicaSet \"{rs}\" has timed out progressing."),
                    None => format!("Rollout \"{}\" has timed out progressing.", self.name()),
                };
                let cond = Condition::new(
                    kind::PROGRESSING,
                    "False",
                    reason::TIMED_OUT,
                    &message,
                    &now,
                );
                let changed = new.set_condition(cond);
                if self.spec.progress_deadline_abort && (changed || !self.is_aborted()) {
                    self.pause.add_abort(&message);
                    self.event(EventType::Warning, reason::ABORTED, &message);
                }
            }
        }
        let replicas = self.spec.replicas();
        let available = match self.spec.blue_green() {
            Some(_) => self
                .rs_by_hash(&new.blue_green.active_selector)
                .is_some_and(|rs| self.is_saturated(&rs)),
            None => self.available_of_all() >= replicas,
        };
        new.set_condition(if available {
            Condition::new(
                kind::AVAILABLE,
                "True",
                reason::AVAILABLE,
                "Rollout has minimum availability",
                &now,
            )
        } else {
            Condition::new(
                kind::AVAILABLE,
                "False",
                reason::AVAILABLE,
                "Rollout does not have minimum availability",
                &now,
            )
        });
        let completed = !new.stable_rs.is_empty() && new.stable_rs == new.current_pod_hash;
        let cond = Condition::new(
            kind::COMPLETED,
            if completed { "True" } else { "False" },
            reason::COMPLETED,
            reason::COMPLETED,
            &now,
        );
        if new.set_condition(cond) && !completed {
            self.event(
                EventType::Normal,
                "RolloutNotCompleted",
                &format!(
                    "Rollout not completed, started update to revision {} ({})",
                    self.revision() + 1,
                    new.current_pod_hash
                ),
            );
        }
        new
    }

    /// Write the status this reconcile computed (`persistRolloutStatus`).
    pub(super) fn persist(&mut self, mut new: RolloutStatus) {
        let now = self.now();
        self.pause.apply(&self.status, &mut new, &now);
        new.observed_generation = self.generation().to_string();
        let (phase, message) = new.calculate_phase(&self.spec);
        new.phase = phase.into();
        new.message = message;
        if self.write_status(&self.status, &new) {
            self.state_change_events(&new);
        }
        self.requeue_stuck(&new);
    }

    /// `sendStateChangeEvents`.
    fn state_change_events(&self, new: &RolloutStatus) {
        let was_paused = !self.status.pause_conditions.is_empty();
        match new.pause_conditions.first() {
            Some(p) if !was_paused => self.event(
                EventType::Normal,
                reason::PAUSED,
                &format!("Rollout is paused ({})", p.reason),
            ),
            None if was_paused && new.aborted_at.is_none() => {
                self.event(EventType::Normal, reason::RESUMED, "Rollout is resumed")
            }
            _ => {}
        }
    }

    /// Look again when the progress deadline would pass (`requeueStuckRollout`).
    fn requeue_stuck(&mut self, new: &RolloutStatus) {
        let Some(cond) = self.status.condition(kind::PROGRESSING) else {
            return;
        };
        let paused = !self.status.pause_conditions.is_empty() || self.spec.paused;
        if self.is_healthy(new)
            || cond.reason == reason::TIMED_OUT
            || paused
            || self.status.abort
            || self.at_indefinite_step()
        {
            return;
        }
        if let Some(updated) = parse_timestamp(&cond.last_update_time) {
            let at = updated + self.spec.progress_deadline() + Duration::seconds(1);
            self.requeue_at(at);
        }
    }
}
