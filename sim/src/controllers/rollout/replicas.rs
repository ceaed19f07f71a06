//! The rollout's ReplicaSets: finding or creating the one for the current
//! template and numbering revisions, scaling with Argo's events and
//! annotations, the `scale-down-deadline` that keeps an old ReplicaSet up for
//! a while, the revision history limit, and restarts.

use super::super::events::EventType;
use super::super::replicaset::pod_is_ready;
use super::super::workload::{self, ARGO, hash_of, name_of, pods, replicasets, revision_of};
use super::Reconcile;
use super::rollout_status::{Condition, kind, reason};
use crate::store::{ListOptions, Propagation};
use crate::time::{parse_rfc3339 as parse_timestamp, timestamp};
use chrono::Duration;
use serde_json::{Value, json};
use std::sync::Arc;

/// The rollout's replica count, as last applied to a ReplicaSet.
pub const DESIRED_REPLICAS: &str = "rollout.argoproj.io/desired-replicas";
/// When an old ReplicaSet is to be scaled down (RFC 3339).
pub const SCALE_DOWN_DEADLINE: &str = "scale-down-deadline";

pub fn scale_down_deadline(rs: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    rs["metadata"]["annotations"][SCALE_DOWN_DEADLINE]
        .as_str()
        .and_then(parse_timestamp)
}

pub fn has_scale_down_deadline(rs: &Value) -> bool {
    rs["metadata"]["annotations"][SCALE_DOWN_DEADLINE]
        .as_str()
        .is_some_and(|s| !s.is_empty())
}

fn spec_replicas(rs: &Value) -> i64 {
    workload::counts(rs).desired
}

impl Reconcile<'_> {
    /// Find the ReplicaSet of the current template, creating it when asked,
    /// and number its revision after the others (`getAllReplicaSetsAndSyncRevision`).
    pub(super) fn sync_revision(&mut self, create: bool) {
        let max_old = self
            .all_rss
            .iter()
            .filter(|rs| Some(name_of(rs).to_string()) != self.new_rs)
            .map(|rs| revision_of(rs, ARGO))
            .max()
            .unwrap_or(0);
        let wanted = max_old + 1;
        if let Some(rs) = self.new_rs() {
            let revision = revision_of(&rs, ARGO).max(wanted);
            if revision != revision_of(&rs, ARGO) {
                match workload::ensure_replica_set(
                    self.ctx.store,
                    &self.ro,
                    &self.spec.template,
                    ARGO,
                    revision,
                    0,
                ) {
                    Ok(rs) => self.updated(rs),
                    Err(e) => tracing::warn!("renumbering {}: {e}", name_of(&rs)),
                }
            }
            self.set_rollout_revision(revision);
            if self.status.condition(kind::PROGRESSING).is_none() {
                let message = format!("Found new replica set \"{}\"", name_of(&rs));
                let cond = Condition::new(
                    kind::PROGRESSING,
                    "True",
                    reason::FOUND_NEW_RS,
                    &message,
                    &self.now(),
                );
                self.update_observed(|s| {
                    s.set_condition(cond);
                });
            }
            return;
        }
        if !create {
            return;
        }
        let rs = match workload::ensure_replica_set(
            self.ctx.store,
            &self.ro,
            &self.spec.template,
            ARGO,
            wanted,
            0,
        ) {
            Ok(rs) => rs,
            Err(e) => {
                tracing::warn!("creating the ReplicaSet of {}: {e}", self.name());
                return;
            }
        };
        let rs_name = name_of(&rs).to_string();
        self.new_rs = Some(rs_name.clone());
        self.updated(rs);
        self.set_rollout_revision(wanted);
        self.event(
            EventType::Normal,
            reason::NEW_RS_CREATED,
            &format!("Created ReplicaSet {rs_name} (revision {wanted})"),
        );
        let cond = Condition::new(
            kind::PROGRESSING,
            "True",
            reason::NEW_RS_CREATED,
            &format!("Created new replica set \"{rs_name}\""),
            &self.now(),
        );
        self.update_observed(|s| {
            s.set_condition(cond);
        });
    }

    /// Scale a ReplicaSet, keeping the desired-replicas annotation current,
    /// with Argo's event (`scaleReplicaSetAndRecordEvent`). Returns whether the size changed.
    pub(super) fn scale(&mut self, rs: &Value, replicas: i64) -> bool {
        let rollout_replicas = self.spec.replicas().to_string();
        let old = spec_replicas(rs);
        let annotation_current =
            rs["metadata"]["annotations"][DESIRED_REPLICAS].as_str() == Some(&rollout_replicas);
        if old == replicas && annotation_current {
            return false;
        }
        let drop_deadline = replicas == 0 && !self.should_delay_scale_down_on_abort();
        let result = self
            .ctx
            .store
            .modify(replicasets(), self.namespace(), name_of(rs), |r| {
                r["spec"]["replicas"] = json!(replicas);
                r["metadata"]["annotations"][DESIRED_REPLICAS] = json!(rollout_replicas);
                if drop_deadline && let Some(a) = r["metadata"]["annotations"].as_object_mut() {
                    a.remove(SCALE_DOWN_DEADLINE);
                }
            });
        let updated = match result {
            Ok(updated) => updated,
            Err(e) => {
                tracing::warn!("scaling {}: {e}", name_of(rs));
                return false;
            }
        };
        self.updated(updated);
        if old == replicas {
            return false;
        }
        let direction = if old < replicas { "up" } else { "down" };
        self.event(
            EventType::Normal,
            "ScalingReplicaSet",
            &format!(
                "Scaled {direction} ReplicaSet {} (revision {}) from {old} to {replicas}",
                name_of(rs),
                revision_of(rs, ARGO)
            ),
        );
        true
    }

    fn set_deadline(&mut self, rs: &Value, deadline: Option<String>) {
        let result =
            self.ctx.store.modify(
                replicasets(),
                self.namespace(),
                name_of(rs),
                |r| match &deadline {
                    Some(d) => r["metadata"]["annotations"][SCALE_DOWN_DEADLINE] = json!(d),
                    None => {
                        if let Some(a) = r["metadata"]["annotations"].as_object_mut() {
                            a.remove(SCALE_DOWN_DEADLINE);
                        }
                    }
                },
            );
        match result {
            Ok(updated) => self.updated(updated),
            Err(e) => tracing::warn!("annotating {}: {e}", name_of(rs)),
        }
    }

    /// Annotate when a ReplicaSet is to be scaled down (`addScaleDownDelay`).
    pub(super) fn add_scale_down_delay(&mut self, rs: &Value, delay: Duration) {
        if delay <= Duration::zero() {
            if has_scale_down_deadline(rs) {
                self.set_deadline(rs, None);
            }
            return;
        }
        let deadline = self.ctx.now + delay;
        self.set_deadline(rs, Some(timestamp(deadline)));
        self.requeue_at(deadline);
    }

    /// A ReplicaSet we moved back to keeps running: drop its deadline (`removeScaleDownDeadlines`).
    pub(super) fn remove_scale_down_deadlines(&mut self) {
        let mut names = Vec::new();
        if self.new_rs.is_some() && !self.should_delay_scale_down_on_abort() {
            names.push(self.new_rs.clone());
        }
        if self.stable_rs.is_some() && (names.is_empty() || self.stable_rs != self.new_rs) {
            names.push(self.stable_rs.clone());
        }
        for name in names {
            if let Some(rs) = self.rs(&name).filter(|rs| has_scale_down_deadline(rs)) {
                self.set_deadline(&rs, None);
            }
        }
    }

    /// How many replicas an old ReplicaSet keeps while its scale-down delay
    /// runs (`scaleDownDelayHelper`); counts the annotated ones in `annotated`.
    pub(super) fn scale_down_delay_helper(
        &mut self,
        rs: &Value,
        annotated: &mut i64,
        keep: i64,
    ) -> i64 {
        let limit = self.spec.scale_down_delay_revision_limit();
        let delay = self.spec.scale_down_delay();
        if !has_scale_down_deadline(rs) && spec_replicas(rs) > 0 {
            if *annotated < limit && delay > Duration::zero() {
                *annotated += 1;
                self.add_scale_down_delay(rs, delay);
                return spec_replicas(rs);
            }
            return 0;
        }
        if !has_scale_down_deadline(rs) {
            return 0;
        }
        *annotated += 1;
        if *annotated > limit {
            return 0;
        }
        match scale_down_deadline(rs) {
            Some(deadline) if deadline > self.ctx.now => {
                self.requeue_at(deadline);
                keep
            }
            _ => 0,
        }
    }

    /// Whether an aborted update keeps its pods for a while (`shouldDelayScaleDownOnAbort`).
    pub(super) fn should_delay_scale_down_on_abort(&self) -> bool {
        let basic_canary = self.spec.canary().is_some() && self.spec.traffic_routing().is_none();
        self.is_aborted()
            && self.stable_rs.is_some()
            && !basic_canary
            && self.spec.abort_scale_down_delay().is_some()
    }

    /// Scale the new ReplicaSet, delaying the scale-down of an aborted one
    /// (`reconcileNewReplicaSet`). Returns whether it was scaled.
    pub(super) fn reconcile_new_replica_set(&mut self) -> bool {
        let Some(rs) = self.new_rs() else {
            return false;
        };
        let mut count = self.new_rs_replicas(&rs);
        if self.should_delay_scale_down_on_abort() {
            match scale_down_deadline(&rs) {
                Some(deadline) if deadline > self.ctx.now => {
                    self.requeue_at(deadline);
                    return false;
                }
                Some(_) => count = 0,
                None => {
                    let stable_available = self
                        .stable_rs()
                        .is_some_and(|s| workload::counts(&s).available == self.spec.replicas());
                    if stable_available && let Some(delay) = self.spec.abort_scale_down_delay() {
                        self.add_scale_down_delay(&rs, delay);
                    }
                    return false;
                }
            }
        }
        self.scale(&rs, count)
    }

    /// Scale down ReplicaSets that are neither new nor stable (`reconcileOtherReplicaSets`).
    pub(super) fn reconcile_other_replica_sets(&mut self) -> bool {
        let others: Vec<Arc<Value>> = self
            .other_rss()
            .into_iter()
            .filter(|rs| spec_replicas(rs) > 0)
            .collect();
        if others.is_empty() {
            return false;
        }
        if self.spec.canary().is_some() {
            self.scale_down_old_for_canary(others) > 0
        } else {
            self.scale_down_old_for_blue_green(others)
        }
    }

    /// Newest revision first.
    fn by_revision_desc(mut rss: Vec<Arc<Value>>) -> Vec<Arc<Value>> {
        rss.sort_by_key(|rs| std::cmp::Reverse(revision_of(rs, ARGO)));
        rss
    }

    fn scale_down_old_for_canary(&mut self, others: Vec<Arc<Value>>) -> i64 {
        // Unhealthy replicas go first; they would only block the update.
        let mut scaled_down = 0;
        for rs in &others {
            let c = workload::counts(rs);
            if c.desired > c.available {
                scaled_down += c.desired - c.available;
                self.scale(rs, c.available);
            }
        }
        let min_available = self.spec.replicas() - self.spec.max_unavailable();
        let mut max_scale_down = self.available_of_all() - min_available;
        if max_scale_down <= 0 {
            return scaled_down;
        }
        let routed = self.spec.traffic_routing().is_some();
        let names: Vec<String> = others.iter().map(|rs| name_of(rs).to_string()).collect();
        let current: Vec<Arc<Value>> = names
            .iter()
            .filter_map(|n| self.rs(&Some(n.clone())))
            .collect();
        let mut annotated = 0;
        for rs in Self::by_revision_desc(current) {
            if routed && self.is_referenced(&rs) {
                continue;
            }
            if max_scale_down <= 0 {
                break;
            }
            let replicas = spec_replicas(&rs);
            if replicas == 0 {
                continue;
            }
            let desired = if !routed {
                (replicas - max_scale_down).max(0)
            } else if self.status.is_fully_promoted() || has_scale_down_deadline(&rs) {
                self.scale_down_delay_helper(&rs, &mut annotated, replicas)
            } else {
                // An intermediate canary, superseded by a newer template: no traffic reaches it.
                0
            };
            if desired == replicas {
                continue;
            }
            self.scale(&rs, desired);
            max_scale_down -= replicas - desired;
            scaled_down += replicas - desired;
        }
        scaled_down
    }

    fn scale_down_old_for_blue_green(&mut self, others: Vec<Arc<Value>>) -> bool {
        if self
            .status
            .pause_condition(super::rollout_status::PAUSE_INCONCLUSIVE)
            .is_some()
        {
            return false;
        }
        let keep = self.spec.replicas();
        let mut annotated = 0;
        let mut scaled = false;
        for rs in Self::by_revision_desc(others) {
            if self.is_referenced(&rs) || spec_replicas(&rs) == 0 {
                continue;
            }
            let desired = self.scale_down_delay_helper(&rs, &mut annotated, keep);
            if desired != spec_replicas(&rs) {
                scaled |= self.scale(&rs, desired);
            }
        }
        scaled
    }

    /// Whether the status or a Service still points at a ReplicaSet (`isReplicaSetReferenced`).
    pub(super) fn is_referenced(&self, rs: &Value) -> bool {
        let hash = hash_of(rs, ARGO);
        if hash.is_empty() {
            return false;
        }
        let s = &self.status;
        let mut refs = vec![
            s.stable_rs.as_str(),
            s.current_pod_hash.as_str(),
            s.blue_green.active_selector.as_str(),
            s.blue_green.preview_selector.as_str(),
        ];
        if let Some(w) = &s.canary.weights {
            refs.push(&w.canary.pod_template_hash);
            refs.push(&w.stable.pod_template_hash);
        }
        if refs.contains(&hash) {
            return true;
        }
        let services = match (self.spec.canary(), self.spec.blue_green()) {
            (Some(c), _) => vec![c.canary_service.clone(), c.stable_service.clone()],
            (None, Some(bg)) => vec![bg.active_service.clone(), bg.preview_service.clone()],
            _ => Vec::new(),
        };
        services
            .iter()
            .filter(|s| !s.is_empty())
            .filter_map(|s| self.service(s))
            .any(|svc| svc["spec"]["selector"][workload::ARGO_HASH_LABEL] == hash)
    }

    /// Delete the oldest ReplicaSets beyond `revisionHistoryLimit` that run nothing.
    pub(super) fn reconcile_revision_history_limit(&mut self) {
        let limit = self.spec.revision_history_limit();
        let mut cleanable: Vec<Arc<Value>> = self.other_rss();
        if cleanable.len() <= limit {
            return;
        }
        cleanable.sort_by(|a, b| {
            a["metadata"]["creationTimestamp"]
                .as_str()
                .cmp(&b["metadata"]["creationTimestamp"].as_str())
        });
        let excess = cleanable.len() - limit;
        for rs in cleanable.into_iter().take(excess) {
            let c = workload::counts(&rs);
            if c.replicas != 0 || c.desired != 0 {
                continue;
            }
            let name = name_of(&rs).to_string();
            if self
                .ctx
                .store
                .delete(
                    replicasets(),
                    self.namespace(),
                    &name,
                    Propagation::Background,
                    false,
                )
                .is_ok()
            {
                self.all_rss.retain(|r| name_of(r) != name);
            }
        }
    }

    /// Recreate the pods older than `spec.restartAt`, one at a time while
    /// every ReplicaSet is fully available; then record `restartedAt`.
    pub(super) fn restart_pods(&mut self) {
        let Some(restart_at) = self.spec.restart_at.clone() else {
            return;
        };
        let Some(at) = parse_timestamp(&restart_at) else {
            return;
        };
        if at > self.ctx.now {
            self.requeue_at(at);
            return;
        }
        if self.status.restarted_at.as_deref() == Some(restart_at.as_str()) {
            return;
        }
        let all_pods = self
            .ctx
            .store
            .list(pods(), Some(self.namespace()), &ListOptions::default())
            .map(|l| l.items)
            .unwrap_or_default();
        let active: Vec<Arc<Value>> = self
            .all_rss
            .iter()
            .filter(|rs| spec_replicas(rs) > 0)
            .cloned()
            .collect();
        let stale = |pod: &Value| {
            pod["metadata"]["creationTimestamp"]
                .as_str()
                .and_then(parse_timestamp)
                .is_some_and(|created| created < at)
        };
        let oldest_stale = active
            .iter()
            .flat_map(|rs| {
                all_pods
                    .iter()
                    .filter(move |p| workload::is_owned_by(p, rs))
                    .filter(|p| stale(p))
            })
            .min_by_key(|p| {
                p["metadata"]["creationTimestamp"]
                    .as_str()
                    .map(str::to_string)
            });
        let Some(pod) = oldest_stale else {
            self.new_status.restarted_at = Some(restart_at);
            return;
        };
        let settled = active.iter().all(|rs| {
            let c = workload::counts(rs);
            c.available >= c.desired
                && all_pods
                    .iter()
                    .filter(|p| workload::is_owned_by(p, rs))
                    .all(|p| pod_is_ready(p))
        });
        if settled {
            let _ = self.ctx.store.delete(
                pods(),
                self.namespace(),
                name_of(pod),
                Propagation::Background,
                false,
            );
        }
    }
}
