//! The Argo Rollouts controller, as faithful to `argoproj/argo-rollouts` as
//! a client can tell: the same ReplicaSets (labelled
//! `rollouts-pod-template-hash`, annotated with the revision), the same
//! status field by field, the same events, the same reaction to the patches
//! `kubectl argo rollouts` sends.
//!
//! Each reconcile mirrors one pass of Argo's `rolloutContext`: read the
//! rollout and what it owns, act on ReplicaSets, Services, the traffic router
//! and AnalysisRuns, then write the status it computed as a merge patch over
//! the status it read. The strategies live in submodules: `canary` (steps,
//! weights, analysis steps) and `bluegreen` (preview, active switch,
//! pre-promotion analysis); `traffic` drives Services, Istio
//! VirtualServices and Gateway API HTTPRoutes; `runs` creates and watches
//! AnalysisRuns; `replicas` scales ReplicaSets; `conditions` computes the
//! conditions and writes the status whose types `rollout_status` holds.
//!
//! Not simulated: experiments, mirror routes, step plugins, background and
//! post-promotion analysis, ping-pong, `workloadRef`, Istio subset routing
//! and dynamic stable scaling (the stable ReplicaSet of a traffic-routed
//! canary stays at full scale until the update completes). `restartAt`
//! recreates the pods older than it one at a time while every ReplicaSet is
//! fully available, then records `restartedAt`.
//!
//! Departures from Argo, each to keep the simulation steady or the timeline
//! readable: while a rollout is paused its Progressing condition stays
//! `RolloutPaused` (Argo flips it back and forth with `NewReplicaSetAvailable`
//! on a paused, healthy rollout); a retry after an abort also records a
//! `RolloutRetry` event (Argo only sets the condition); deadlines (pauses,
//! scale-down delays) are due at their second, not strictly after it.

mod conditions;

mod bluegreen;
mod canary;
mod replicas;
mod rollout_status;
mod runs;
mod spec;
mod traffic;

#[cfg(test)]
mod tests;

use super::analysis::COMPONENT;
use super::events::{self, EventType};
use super::workload::{self, ARGO, hash_of, name_of};
use super::{Controller, Ctx};
use crate::resources::{self, ResourceDef};
use crate::time::{parse_rfc3339 as parse_timestamp, timestamp};
use chrono::{DateTime, Duration, Utc};
use rollout_status::{Condition, PauseCondition, RolloutStatus, kind, reason};
use serde_json::{Value, json};
use spec::RolloutSpec;
use std::sync::Arc;

pub struct RolloutController;

pub fn rollouts() -> &'static ResourceDef {
    resources::lookup("argoproj.io", "v1alpha1", "rollouts").expect("served")
}

/// How soon an invalid spec is looked at again (the referenced object may appear).
const INVALID_SPEC_RETRY_SECONDS: i64 = 20;

impl Controller for RolloutController {
    fn name(&self) -> &'static str {
        "rollouts-controller"
    }

    fn primary(&self) -> &'static ResourceDef {
        rollouts()
    }

    fn reconcile(&self, ctx: &Ctx<'_>, namespace: &str, name: &str) -> Option<DateTime<Utc>> {
        let ro = ctx.store.get(rollouts(), namespace, name).ok()?;
        let (spec, invalid) = match serde_json::from_value::<RolloutSpec>(ro["spec"].clone()) {
            Ok(spec) => {
                let invalid = spec::validate(&ro, &spec, ctx.store, namespace);
                (spec, invalid)
            }
            Err(e) => (RolloutSpec::default(), Some(format!("spec: {e}"))),
        };
        let mut pass = Reconcile::new(ctx, Value::clone(&ro), spec);
        match invalid {
            Some(message) => {
                pass.invalid_spec(&message);
                pass.requeue_at(ctx.now + Duration::seconds(INVALID_SPEC_RETRY_SECONDS));
            }
            None => pass.run(),
        }
        pass.requeue
    }
}

/// What one reconcile decided about pausing and aborting; applied to the
/// new status at the end, as Argo's `pauseContext`.
#[derive(Debug, Default)]
struct PauseContext {
    add: Vec<&'static str>,
    remove: Vec<&'static str>,
    clear: bool,
    add_abort: bool,
    remove_abort: bool,
    abort_message: String,
}

impl PauseContext {
    fn has_add_pause(&self) -> bool {
        !self.add.is_empty()
    }

    fn add_abort(&mut self, message: &str) {
        self.add_abort = true;
        self.abort_message = message.to_string();
    }

    /// Argo's `CalculatePauseStatus`.
    fn apply(&self, observed: &RolloutStatus, new: &mut RolloutStatus, now: &str) {
        let aborted_at = observed.aborted_at.clone().unwrap_or_else(|| now.into());
        if self.add_abort || (!self.remove_abort && observed.abort) {
            new.abort = true;
            new.aborted_at = Some(aborted_at);
            return;
        }
        new.abort = false;
        new.aborted_at = None;
        if self.clear {
            return;
        }
        let mut controller_pause = observed.controller_pause;
        let mut conditions: Vec<PauseCondition> = observed
            .pause_conditions
            .iter()
            .filter(|c| !self.remove.contains(&c.reason.as_str()))
            .cloned()
            .collect();
        for reason in &self.add {
            if observed.pause_condition(reason).is_none() {
                conditions.push(PauseCondition {
                    reason: reason.to_string(),
                    start_time: now.into(),
                });
                controller_pause = true;
            }
        }
        if !conditions.is_empty() {
            new.controller_pause = controller_pause;
            new.pause_conditions = conditions;
        }
    }
}

/// The AnalysisRuns the rollout is currently waiting on.
#[derive(Debug, Clone, Default)]
struct CurrentRuns {
    step: Option<Arc<Value>>,
    pre_promotion: Option<Arc<Value>>,
}

/// One reconcile of one rollout (Argo's `rolloutContext`).
struct Reconcile<'a> {
    ctx: &'a Ctx<'a>,
    ro: Value,
    spec: RolloutSpec,
    /// The status as read: what the decisions are based on.
    status: RolloutStatus,
    /// What this reconcile has decided so far.
    new_status: RolloutStatus,
    pause: PauseContext,
    /// The rollout's ReplicaSets, oldest revision first, kept current as they are changed.
    all_rss: Vec<Arc<Value>>,
    new_rs: Option<String>,
    stable_rs: Option<String>,
    runs: CurrentRuns,
    other_runs: Vec<Arc<Value>>,
    requeue: Option<DateTime<Utc>>,
}

impl<'a> Reconcile<'a> {
    fn new(ctx: &'a Ctx<'a>, ro: Value, spec: RolloutSpec) -> Reconcile<'a> {
        let status = RolloutStatus::from_object(&ro);
        let all_rss = workload::owned_replica_sets(ctx.store, &ro, ARGO);
        let desired_hash =
            workload::template_hash(&workload::template_without_hash(&spec.template, ARGO));
        let find = |hash: &str| {
            all_rss
                .iter()
                .find(|rs| !hash.is_empty() && hash_of(rs, ARGO) == hash)
                .map(|rs| name_of(rs).to_string())
        };
        let new_rs = find(&desired_hash);
        let stable_rs = find(&status.stable_rs);
        let mut new_status = RolloutStatus {
            restarted_at: status.restarted_at.clone(),
            ..Default::default()
        };
        new_status.canary.weights = status.canary.weights.clone();
        let mut pass = Reconcile {
            ctx,
            ro,
            spec,
            status,
            new_status,
            pause: PauseContext::default(),
            all_rss,
            new_rs,
            stable_rs,
            runs: CurrentRuns::default(),
            other_runs: Vec::new(),
            requeue: None,
        };
        pass.load_runs();
        if pass.status.is_fully_promoted() && pass.is_aborted() {
            pass.pause.remove_abort = true;
        }
        pass
    }

    fn run(&mut self) {
        self.check_paused_conditions();
        if self.spec.blue_green().is_some() {
            self.rollout_blue_green();
        } else {
            self.rollout_canary();
        }
    }

    fn now(&self) -> String {
        timestamp(self.ctx.now)
    }

    fn name(&self) -> &str {
        name_of(&self.ro)
    }

    fn namespace(&self) -> &str {
        workload::namespace_of(&self.ro)
    }

    fn generation(&self) -> i64 {
        self.ro["metadata"]["generation"].as_i64().unwrap_or(1)
    }

    /// The rollout's revision annotation, as the events and messages quote it.
    fn revision(&self) -> u64 {
        self.ro["metadata"]["annotations"][workload::ARGO_REVISION]
            .as_str()
            .and_then(|r| r.parse().ok())
            .unwrap_or(0)
    }

    fn requeue_at(&mut self, at: DateTime<Utc>) {
        if at > self.ctx.now {
            self.requeue = Some(self.requeue.map_or(at, |r| r.min(at)));
        }
    }

    fn event(&self, kind: EventType, reason: &str, message: &str) {
        events::record(
            self.ctx.store,
            self.ctx.now,
            &self.ro,
            kind,
            reason,
            message,
            COMPONENT,
        );
    }

    fn is_aborted(&self) -> bool {
        !self.pause.remove_abort && (self.pause.add_abort || self.status.abort)
    }

    /// Whether progress must stop (`haltProgress`): a manual pause or an inconclusive analysis.
    fn halted(&self) -> bool {
        self.spec.paused
            || self
                .status
                .pause_condition(rollout_status::PAUSE_INCONCLUSIVE)
                .is_some()
    }

    fn rs(&self, name: &Option<String>) -> Option<Arc<Value>> {
        let name = name.as_deref()?;
        self.all_rss.iter().find(|rs| name_of(rs) == name).cloned()
    }

    fn new_rs(&self) -> Option<Arc<Value>> {
        self.rs(&self.new_rs)
    }

    fn stable_rs(&self) -> Option<Arc<Value>> {
        self.rs(&self.stable_rs)
    }

    fn rs_by_hash(&self, hash: &str) -> Option<Arc<Value>> {
        self.all_rss
            .iter()
            .find(|rs| !hash.is_empty() && hash_of(rs, ARGO) == hash)
            .cloned()
    }

    /// ReplicaSets that are neither the new nor the stable one.
    fn other_rss(&self) -> Vec<Arc<Value>> {
        self.all_rss
            .iter()
            .filter(|rs| {
                let n = Some(name_of(rs).to_string());
                n != self.new_rs && n != self.stable_rs
            })
            .cloned()
            .collect()
    }

    /// Keep the local copy of a ReplicaSet current after a write.
    fn updated(&mut self, rs: Arc<Value>) {
        match self.all_rss.iter_mut().find(|r| name_of(r) == name_of(&rs)) {
            Some(slot) => *slot = rs,
            None => self.all_rss.push(rs),
        }
    }

    fn new_hash(&self) -> String {
        self.new_rs()
            .map(|rs| hash_of(&rs, ARGO).to_string())
            .unwrap_or_default()
    }

    /// The hash the current template will have (`ComputePodTemplateHash`).
    fn template_hash(&self) -> String {
        workload::template_hash(&workload::template_without_hash(&self.spec.template, ARGO))
    }

    fn step_hash(&self) -> String {
        if self.spec.blue_green().is_some() {
            return String::new();
        }
        workload::template_hash(&self.ro["spec"]["strategy"]["canary"]["steps"])
    }

    /// Whether the pod template changed since the status was written (`CheckPodSpecChange`).
    fn pod_spec_changed(&self) -> bool {
        if self.status.current_pod_hash.is_empty() {
            return false;
        }
        let hash = self
            .new_rs()
            .map(|rs| hash_of(&rs, ARGO).to_string())
            .unwrap_or_else(|| self.template_hash());
        self.status.current_pod_hash != hash
    }

    /// `PodTemplateOrStepsChanged`.
    fn template_or_steps_changed(&self) -> bool {
        let steps_changed = !self.status.current_step_hash.is_empty()
            && self.status.current_step_hash != self.step_hash();
        steps_changed || self.pod_spec_changed()
    }

    /// Write `new` over `old` as a merge patch of the difference, so that a
    /// user's concurrent status patch survives. Returns whether anything changed.
    fn write_status(&self, old: &RolloutStatus, new: &RolloutStatus) -> bool {
        let Some(patch) = rollout_status::merge_diff(&old.to_value(), &new.to_value()) else {
            return false;
        };
        match self
            .ctx
            .store
            .modify(rollouts(), self.namespace(), self.name(), |r| {
                let mut current = r["status"].take();
                json_patch::merge(&mut current, &patch);
                // Argo's first status write is a full update, which always
                // carries these two (Go never omits a struct).
                for strategy in ["blueGreen", "canary"] {
                    if current[strategy].is_null() {
                        current[strategy] = json!({});
                    }
                }
                r["status"] = current;
            }) {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!("writing the status of rollout {}: {e}", self.name());
                false
            }
        }
    }

    /// Change the observed status right away, as Argo does for conditions it
    /// records before the main status write.
    fn update_observed(&mut self, change: impl FnOnce(&mut RolloutStatus)) {
        let mut next = self.status.clone();
        change(&mut next);
        if self.write_status(&self.status, &next) {
            self.status = next;
        }
    }

    /// Record why the spec is invalid (`createInvalidRolloutCondition`).
    fn invalid_spec(&mut self, problem: &str) {
        let message = format!("The Rollout \"{}\" is invalid: {problem}", self.name());
        let prev = self.status.condition(kind::INVALID_SPEC).cloned();
        let cond = match &prev {
            Some(p) if p.message == message => p.clone(),
            _ => Condition::new(
                kind::INVALID_SPEC,
                "True",
                reason::INVALID_SPEC,
                &message,
                &self.now(),
            ),
        };
        let generation = self.generation().to_string();
        if self.status.observed_generation == generation && prev.as_ref() == Some(&cond) {
            return;
        }
        let mut new = self.status.clone();
        if prev.is_some_and(|p| p.message != message) {
            new.remove_condition(kind::INVALID_SPEC);
        }
        new.set_condition(cond);
        new.observed_generation = generation;
        let (phase, message) = new.calculate_phase(&self.spec);
        new.phase = phase.into();
        new.message = message;
        self.write_status(&self.status, &new);
    }

    /// The fields every strategy computes the same way (`calculateBaseStatus`).
    fn base_status(&self) -> RolloutStatus {
        let mut new = self.new_status.clone();
        let sum = |field: &str| -> i64 {
            self.all_rss
                .iter()
                .map(|rs| rs["status"][field].as_i64().unwrap_or(0))
                .sum()
        };
        new.current_pod_hash = match self.new_rs() {
            Some(rs) => hash_of(&rs, ARGO).to_string(),
            None => self.template_hash(),
        };
        new.replicas = sum("replicas");
        new.updated_replicas = self
            .new_rs()
            .map_or(0, |rs| rs["status"]["replicas"].as_i64().unwrap_or(0));
        new.ready_replicas = sum("readyReplicas");
        new.collision_count = self.status.collision_count;
        new.conditions = self.status.conditions.clone();
        new.conditions.retain(|c| c.kind != kind::INVALID_SPEC);
        new.promote_full = new.current_pod_hash != new.stable_rs && self.status.promote_full;
        new.other = self.status.other.clone();
        new.canary.other = self.status.canary.other.clone();
        new.blue_green.other = self.status.blue_green.other.clone();
        new
    }

    fn available_of_all(&self) -> i64 {
        self.all_rss
            .iter()
            .map(|rs| workload::counts(rs).available)
            .sum()
    }

    fn replicas_of_all(&self) -> i64 {
        self.all_rss
            .iter()
            .map(|rs| workload::counts(rs).replicas)
            .sum()
    }

    /// Start an update over (`resetRolloutStatus`).
    fn reset_status(&mut self, new: &mut RolloutStatus) {
        self.pause.clear = true;
        self.pause.remove_abort = true;
        self.set_restarted_at(new);
        new.promote_full = false;
        new.blue_green.pre_promotion_analysis_run_status = None;
        new.blue_green.scale_up_preview_check_point = false;
        new.canary.current_step_analysis_run_status = None;
        new.canary.current_background_analysis_run_status = None;
        new.current_step_index = (!self.spec.steps().is_empty()).then_some(0);
    }

    /// Mark the current ReplicaSet stable (`promoteStable`).
    fn promote_stable(&mut self, new: &mut RolloutStatus, why: &str) {
        self.pause.clear = true;
        self.pause.remove_abort = true;
        new.promote_full = false;
        new.blue_green.scale_up_preview_check_point = false;
        if self.spec.canary().is_some() {
            let steps = self.spec.steps().len() as i64;
            new.current_step_index = (steps > 0).then_some(steps);
        }
        if new.stable_rs != new.current_pod_hash {
            new.stable_rs = new.current_pod_hash.clone();
            self.event(
                EventType::Normal,
                reason::COMPLETED,
                &format!(
                    "Rollout completed update to revision {} ({}): {why}",
                    self.revision(),
                    new.current_pod_hash
                ),
            );
        }
    }

    /// Whether a ReplicaSet runs the full count, all available (`IsSaturated`).
    fn is_saturated(&self, rs: &Value) -> bool {
        let replicas = self.spec.replicas();
        let desired = rs["metadata"]["annotations"][replicas::DESIRED_REPLICAS]
            .as_str()
            .and_then(|d| d.parse::<i64>().ok());
        let c = workload::counts(rs);
        c.desired == replicas && desired == Some(replicas) && c.available == replicas
    }

    /// The label selector as `metav1.FormatLabelSelector` prints it.
    fn format_selector(selector: &Value) -> String {
        let mut parts: Vec<(String, String)> = selector["matchLabels"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))))
            .collect();
        for e in selector["matchExpressions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let key = e["key"].as_str().unwrap_or("").to_string();
            let values: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let text = match e["operator"].as_str().unwrap_or("") {
                "In" => format!("{key} in ({})", values.join(",")),
                "NotIn" => format!("{key} notin ({})", values.join(",")),
                "DoesNotExist" => format!("!{key}"),
                _ => key.clone(),
            };
            parts.push((key, text));
        }
        parts.sort();
        let joined: Vec<String> = parts.into_iter().map(|(_, t)| t).collect();
        joined.join(",")
    }

    fn set_restarted_at(&self, new: &mut RolloutStatus) {
        if let Some(at) = &self.spec.restart_at
            && parse_timestamp(at).is_some_and(|t| t <= self.ctx.now)
        {
            new.restarted_at = Some(at.clone());
        }
    }

    /// Record the revision on the rollout itself (`setRolloutRevision`).
    fn set_rollout_revision(&mut self, revision: u64) {
        if self.revision() == revision {
            return;
        }
        let value = revision.to_string();
        match self
            .ctx
            .store
            .modify(rollouts(), self.namespace(), self.name(), |r| {
                r["metadata"]["annotations"][workload::ARGO_REVISION] = json!(value);
            }) {
            Ok(updated) => {
                self.ro["metadata"] = updated["metadata"].clone();
                self.event(
                    EventType::Normal,
                    "RolloutUpdated",
                    &format!("Rollout updated to revision {revision}"),
                );
            }
            Err(e) => tracing::warn!("recording the revision of {}: {e}", self.name()),
        }
    }
}
