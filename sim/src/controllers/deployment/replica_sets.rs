//! The Deployment's ReplicaSets: finding or creating the new one, the
//! revision and replica annotations, proportional scaling and cleanup of
//! old ones beyond the history limit.

use super::progress::condition;
use super::{
    DESIRED_REPLICAS, FOUND_NEW_RS, MAX_REPLICAS, NEW_RS_CREATED, NOT_COPIED, NewAndOld,
    PROGRESSING, REVISION_HISTORY, REVISION_HISTORY_MAX_CHARS, Sync, annotation_number,
    by_creation, is_active, pod_template, spec_replicas,
};
use crate::api_error::ApiError;
use crate::controllers::workload::{
    self, DEPLOYMENT, DEPLOYMENT_REVISION, counts, name_of, replicasets,
};
use crate::store::Propagation;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The replica annotations a ReplicaSet lacks for the Deployment's current size.
fn replicas_annotations(rs: &Value, desired: i64, max: i64) -> Map<String, Value> {
    let mut set = Map::new();
    for (key, n) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        if rs["metadata"]["annotations"][key].as_str() != Some(n.to_string().as_str()) {
            set.insert(key.into(), json!(n.to_string()));
        }
    }
    set
}

impl Sync<'_> {
    /// Set annotations on a ReplicaSet (and its size, when given); no change, no write.
    fn update_rs(
        &self,
        rs: &Arc<Value>,
        replicas: Option<i64>,
        annotations: Map<String, Value>,
    ) -> Result<Arc<Value>, ApiError> {
        if annotations.is_empty() && replicas.is_none_or(|n| n == spec_replicas(rs)) {
            return Ok(rs.clone());
        }
        self.store
            .modify(replicasets(), self.namespace(), name_of(rs), |r| {
                if let Some(n) = replicas {
                    r["spec"]["replicas"] = json!(n);
                }
                for (k, v) in annotations {
                    r["metadata"]["annotations"][k] = v;
                }
            })
    }

    /// The annotations the new ReplicaSet lacks: the Deployment's own (so a
    /// change-cause shows in `rollout history`), the revision when it must
    /// move up (keeping the numbers it had before), and for a just-created
    /// ReplicaSet the replica counts.
    fn new_rs_annotations(&self, rs: &Value, revision: u64, created: bool) -> Map<String, Value> {
        let current = &rs["metadata"]["annotations"];
        let mut set = Map::new();
        if let Some(own) = self.d["metadata"]["annotations"].as_object() {
            for (k, v) in own {
                if !NOT_COPIED.contains(&k.as_str()) && &current[k] != v {
                    set.insert(k.clone(), v.clone());
                }
            }
        }
        let old = current[DEPLOYMENT_REVISION].as_str();
        let Ok(old_number) = old.map_or(Ok(0), str::parse::<u64>) else {
            return Map::new();
        };
        if old_number < revision {
            set.insert(DEPLOYMENT_REVISION.into(), json!(revision.to_string()));
            if let Some(old) = old {
                let history = current[REVISION_HISTORY].as_str().unwrap_or("");
                let mut kept: Vec<&str> = history.split(',').filter(|r| !r.is_empty()).collect();
                kept.push(old);
                while kept.join(",").len() > REVISION_HISTORY_MAX_CHARS && kept.len() > 1 {
                    kept.remove(0);
                }
                set.insert(REVISION_HISTORY.into(), json!(kept.join(",")));
            }
        }
        if created {
            set.extend(replicas_annotations(
                rs,
                self.spec.replicas,
                self.spec.replicas + self.spec.max_surge,
            ));
        }
        set
    }

    /// The ReplicaSet whose template is the Deployment's (created when asked
    /// and missing) and the others. The new one's revision is brought above
    /// every old one, and the Deployment's revision annotation follows it.
    pub(super) fn new_and_old(&mut self, create: bool) -> Result<NewAndOld, ApiError> {
        let mut all = workload::owned_replica_sets(self.store, &self.d, DEPLOYMENT);
        all.sort_by(|a, b| by_creation(a, b));
        let template = pod_template(&self.d["spec"]["template"]);
        let found = all
            .iter()
            .position(|rs| pod_template(&rs["spec"]["template"]) == template);
        let existing = found.map(|i| all.remove(i));
        let old = all;
        let revision = old
            .iter()
            .map(|rs| workload::revision_of(rs, DEPLOYMENT))
            .max()
            .unwrap_or(0)
            + 1;
        if let Some(rs) = existing {
            let rs = self.update_rs(&rs, None, self.new_rs_annotations(&rs, revision, false))?;
            let current = rs["metadata"]["annotations"][DEPLOYMENT_REVISION]
                .as_str()
                .unwrap_or("")
                .to_string();
            self.set_revision(&current);
            if self.spec.progress_deadline.is_some() && self.status.condition(PROGRESSING).is_none()
            {
                let message = format!("Found new replica set \"{}\"", name_of(&rs));
                self.status.set_condition(condition(
                    PROGRESSING,
                    "True",
                    FOUND_NEW_RS,
                    message,
                    self.now,
                ));
            }
            return Ok((Some(rs), old));
        }
        if !create {
            return Ok((None, old));
        }
        let replicas = self.new_rs_new_replicas(&old, 0);
        let rs = workload::ensure_replica_set(
            self.store, &self.d, &template, DEPLOYMENT, revision, replicas,
        )?;
        let rs = self.update_rs(&rs, None, self.new_rs_annotations(&rs, revision, true))?;
        if replicas > 0 {
            self.event(format!(
                "Scaled up replica set {} from 0 to {replicas}",
                name_of(&rs)
            ));
        }
        self.set_revision(&revision.to_string());
        if self.spec.progress_deadline.is_some() {
            let message = format!("Created new replica set \"{}\"", name_of(&rs));
            self.status.set_condition(condition(
                PROGRESSING,
                "True",
                NEW_RS_CREATED,
                message,
                self.now,
            ));
        }
        Ok((Some(rs), old))
    }

    /// How big the new ReplicaSet may be now, given every ReplicaSet's size
    /// (`others`, plus the new one's `current`).
    pub(super) fn new_rs_new_replicas(&self, others: &[Arc<Value>], current: i64) -> i64 {
        if !self.spec.rolling {
            return self.spec.replicas;
        }
        let pods: i64 = others.iter().map(|rs| spec_replicas(rs)).sum::<i64>() + current;
        let max_pods = self.spec.replicas + self.spec.max_surge;
        if pods >= max_pods {
            return current;
        }
        current + (max_pods - pods).min(self.spec.replicas - current)
    }

    /// Resize a ReplicaSet and refresh its replica annotations; an event when the size changed.
    fn scale_replica_set(&self, rs: &Arc<Value>, to: i64) -> Result<(bool, Arc<Value>), ApiError> {
        let from = spec_replicas(rs);
        let annotations = replicas_annotations(
            rs,
            self.spec.replicas,
            self.spec.replicas + self.spec.max_surge,
        );
        let updated = self.update_rs(rs, Some(to), annotations)?;
        if from == to {
            return Ok((false, updated));
        }
        let direction = if from < to { "up" } else { "down" };
        self.event(format!(
            "Scaled {direction} replica set {} from {from} to {to}",
            name_of(rs)
        ));
        Ok((true, updated))
    }

    /// Resize a ReplicaSet whose size differs.
    pub(super) fn scale_and_record(
        &self,
        rs: &Arc<Value>,
        to: i64,
    ) -> Result<(bool, Arc<Value>), ApiError> {
        if spec_replicas(rs) == to {
            return Ok((false, rs.clone()));
        }
        self.scale_replica_set(rs, to)
    }

    /// `spec.replicas` changed while the ReplicaSets were sized for another count.
    pub(super) fn is_scaling_event(&mut self) -> Result<bool, ApiError> {
        let (new_rs, old) = self.new_and_old(false)?;
        Ok(old
            .iter()
            .chain(&new_rs)
            .filter(|rs| is_active(rs))
            .any(|rs| {
                annotation_number(rs, DESIRED_REPLICAS).is_some_and(|n| n != self.spec.replicas)
            }))
    }

    /// Apply a change of `spec.replicas`: to the one active ReplicaSet, or
    /// across a rollout in flight in proportion to each ReplicaSet's size.
    pub(super) fn scale(
        &self,
        new_rs: Option<&Arc<Value>>,
        old: &[Arc<Value>],
    ) -> Result<(), ApiError> {
        let replicas = self.spec.replicas;
        let active: Vec<&Arc<Value>> = old
            .iter()
            .chain(new_rs)
            .filter(|rs| is_active(rs))
            .collect();
        let only = match active.as_slice() {
            [] => new_rs.or_else(|| old.iter().max_by(|a, b| by_creation(a, b))),
            [one] => Some(*one),
            _ => None,
        };
        if let Some(rs) = only {
            self.scale_and_record(rs, replicas)?;
            return Ok(());
        }
        if let Some(new_rs) = new_rs
            && spec_replicas(new_rs) == replicas
            && annotation_number(new_rs, DESIRED_REPLICAS) == Some(replicas)
            && counts(new_rs).available == replicas
        {
            for rs in old.iter().filter(|rs| is_active(rs)) {
                self.scale_and_record(rs, 0)?;
            }
            return Ok(());
        }
        if !self.spec.rolling {
            return Ok(());
        }
        let mut active: Vec<Arc<Value>> = active.into_iter().cloned().collect();
        let allowed = if replicas > 0 {
            replicas + self.spec.max_surge
        } else {
            0
        };
        let to_add = allowed - active.iter().map(|rs| spec_replicas(rs)).sum::<i64>();
        // Largest first; on a tie, newer first when adding and older first when removing.
        active.sort_by(|a, b| {
            spec_replicas(b).cmp(&spec_replicas(a)).then_with(|| {
                if to_add > 0 {
                    by_creation(b, a)
                } else {
                    by_creation(a, b)
                }
            })
        });
        let mut added = 0;
        let mut sizes = Vec::with_capacity(active.len());
        for rs in &active {
            let proportion = self.proportion(rs, to_add, added);
            sizes.push(spec_replicas(rs) + proportion);
            added += proportion;
        }
        for (i, rs) in active.iter().enumerate() {
            let mut size = sizes[i];
            if i == 0 && to_add != 0 {
                size = (size + to_add - added).max(0);
            }
            self.scale_replica_set(rs, size)?;
        }
        Ok(())
    }

    /// This ReplicaSet's share of `to_add` replicas, by its size relative to
    /// the Deployment's maximum size when it was last scaled.
    fn proportion(&self, rs: &Value, to_add: i64, added: i64) -> i64 {
        let size = spec_replicas(rs);
        if size == 0 || to_add == 0 || to_add == added {
            return 0;
        }
        let fraction = if self.spec.replicas == 0 {
            -size
        } else {
            let max = self.spec.replicas + self.spec.max_surge;
            let before = annotation_number(rs, MAX_REPLICAS)
                .filter(|n| *n != 0)
                .unwrap_or(self.status.replicas);
            if before == 0 {
                0
            } else {
                // Half away from zero, as Kubernetes rounds here.
                ((size * max) as f64 / before as f64).round() as i64 - size
            }
        };
        let allowed = to_add - added;
        if to_add > 0 {
            fraction.min(allowed)
        } else {
            fraction.max(allowed)
        }
    }

    /// Delete the oldest scaled-down ReplicaSets beyond revisionHistoryLimit.
    pub(super) fn cleanup(&self, old: &[Arc<Value>]) -> Result<(), ApiError> {
        let Some(limit) = self.spec.revision_history_limit else {
            return Ok(());
        };
        if old.len() <= limit {
            return Ok(());
        }
        let mut by_revision: Vec<&Arc<Value>> = old.iter().collect();
        by_revision.sort_by_key(|rs| workload::revision_of(rs, DEPLOYMENT));
        for rs in by_revision.into_iter().take(old.len() - limit) {
            let c = counts(rs);
            let generation = rs["metadata"]["generation"].as_i64().unwrap_or(0);
            let observed = rs["status"]["observedGeneration"].as_i64().unwrap_or(0);
            if c.replicas != 0 || c.desired != 0 || generation > observed {
                continue;
            }
            self.store.delete(
                replicasets(),
                self.namespace(),
                name_of(rs),
                Propagation::Background,
                false,
            )?;
        }
        Ok(())
    }
}
