//! The Deployment controller, close enough to kube-controller-manager's that
//! `kubectl rollout status|pause|resume|undo|restart|history` behave as they
//! do against a real cluster: one ReplicaSet per pod template, numbered by
//! revision (a template that comes back reuses its ReplicaSet under a new
//! number); rolling updates bounded by maxSurge and maxUnavailable, or
//! Recreate; pausing; proportional scaling of a rollout in flight; old
//! ReplicaSets kept up to revisionHistoryLimit; and the status, conditions
//! and events the real controller writes.
//!
//! Like the real controller, each reconcile takes one step (scale the new
//! ReplicaSet up, or old ones down) and then waits for the ReplicaSet
//! controller to report pods available before taking the next.

use super::events::{self, EventType};
use super::workload::{self, DEPLOYMENT, DEPLOYMENT_REVISION, counts, name_of, replicasets};
use super::{Controller, Ctx};
use crate::resources::{self, ResourceDef};
use crate::status::ApiError;
use crate::store::{Propagation, Store};
use crate::time::{parse_timestamp, timestamp};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};
use std::cmp::Ordering;
use std::sync::Arc;

pub struct DeploymentController;

const COMPONENT: &str = "deployment-controller";
const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// Deployment annotations that stay off its ReplicaSets: the controller's
/// own bookkeeping and kubectl's.
const NOT_COPIED: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    DEPLOYMENT_REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];
/// The longest `revision-history` annotation the real controller writes.
const REVISION_HISTORY_MAX_CHARS: usize = 2000;
/// Kubernetes' "no limit" for revisionHistoryLimit and progressDeadlineSeconds.
const UNLIMITED: i64 = i32::MAX as i64;

const AVAILABLE: &str = "Available";
const PROGRESSING: &str = "Progressing";
const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
const RS_UPDATED: &str = "ReplicaSetUpdated";
const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
const TIMED_OUT: &str = "ProgressDeadlineExceeded";
const PAUSED: &str = "DeploymentPaused";
const RESUMED: &str = "DeploymentResumed";

pub fn deployments() -> &'static ResourceDef {
    resources::lookup("apps", "v1", "deployments").expect("served")
}

/// A value as Go's typed structs see it: null fields, empty strings, maps and
/// lists are the same as absent. Templates that kubectl sends back (`rollout
/// undo` marshals a ReplicaSet's template) carry `creationTimestamp: null`
/// and `resources: {}`, and must still match the template they came from.
fn normalized(v: &Value) -> Value {
    let empty = |v: &Value| match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    };
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), normalized(v)))
                .filter(|(_, v)| !empty(v))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalized).collect()),
        other => other.clone(),
    }
}

/// A pod template for comparison, without the hash label the controller adds.
fn pod_template(template: &Value) -> Value {
    normalized(&workload::template_without_hash(template, DEPLOYMENT))
}

fn spec_replicas(rs: &Value) -> i64 {
    counts(rs).desired
}

fn is_active(rs: &Value) -> bool {
    spec_replicas(rs) > 0
}

fn annotation_number(rs: &Value, key: &str) -> Option<i64> {
    rs["metadata"]["annotations"][key]
        .as_str()
        .and_then(|s| s.parse().ok())
}

/// Oldest first, by creation time then name, as the real controller sorts.
fn by_creation(a: &Value, b: &Value) -> Ordering {
    fn created(rs: &Value) -> &str {
        rs["metadata"]["creationTimestamp"].as_str().unwrap_or("")
    }
    created(a)
        .cmp(created(b))
        .then_with(|| name_of(a).cmp(name_of(b)))
}

/// The value of an int-or-percent field for `total` replicas (25% when absent).
fn scaled(v: &Value, total: i64, round_up: bool) -> i64 {
    let percent = match v {
        Value::Number(n) => return n.as_i64().unwrap_or(0).max(0),
        Value::String(s) => match s.strip_suffix('%') {
            Some(p) => p.trim().parse::<i64>().unwrap_or(0).max(0),
            None => return s.trim().parse::<i64>().unwrap_or(0).max(0),
        },
        _ => 25,
    };
    let x = percent * total;
    if round_up { (x + 99) / 100 } else { x / 100 }
}

/// What the controller reads from a Deployment's spec, with the defaults the
/// API server would have filled in.
struct Spec {
    generation: i64,
    replicas: i64,
    rolling: bool,
    max_surge: i64,
    max_unavailable: i64,
    paused: bool,
    /// None: keep every old ReplicaSet.
    revision_history_limit: Option<usize>,
    /// None: never report a rollout as stuck.
    progress_deadline: Option<i64>,
}

impl Spec {
    fn of(d: &Value) -> Spec {
        let spec = &d["spec"];
        let replicas = spec["replicas"].as_i64().unwrap_or(1).max(0);
        let rolling = spec["strategy"]["type"] != "Recreate";
        let (max_surge, max_unavailable) = if rolling {
            let ru = &spec["strategy"]["rollingUpdate"];
            let surge = scaled(&ru["maxSurge"], replicas, true);
            let unavailable = scaled(&ru["maxUnavailable"], replicas, false);
            // Both can round down to zero; then one pod at a time may be unavailable.
            if surge == 0 && unavailable == 0 {
                (0, 1)
            } else {
                (surge, unavailable)
            }
        } else {
            (0, 0)
        };
        Spec {
            generation: d["metadata"]["generation"].as_i64().unwrap_or(1),
            replicas,
            rolling,
            max_surge,
            max_unavailable: if replicas == 0 {
                0
            } else {
                max_unavailable.min(replicas)
            },
            paused: spec["paused"].as_bool().unwrap_or(false),
            revision_history_limit: match spec["revisionHistoryLimit"].as_i64() {
                None => Some(10),
                Some(UNLIMITED) => None,
                Some(n) => Some(n.max(0) as usize),
            },
            progress_deadline: match spec["progressDeadlineSeconds"].as_i64() {
                None => Some(600),
                Some(UNLIMITED) => None,
                Some(n) => Some(n),
            },
        }
    }
}

/// A Deployment's status as the controller computes it.
struct Status {
    observed_generation: i64,
    replicas: i64,
    updated: i64,
    ready: i64,
    available: i64,
    unavailable: i64,
    collision_count: Option<i64>,
    conditions: Vec<Value>,
}

impl Status {
    fn read(s: &Value) -> Status {
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
    fn to_json(&self) -> Value {
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

    fn condition(&self, kind: &str) -> Option<&Value> {
        self.conditions.iter().find(|c| c["type"] == kind)
    }

    fn remove_condition(&mut self, kind: &str) {
        self.conditions.retain(|c| c["type"] != kind);
    }

    /// Replace the condition of the same type unless status and reason are
    /// unchanged; the transition time moves only when the status does. The
    /// changed condition goes last, as the real controller appends it.
    fn set_condition(&mut self, mut cond: Value) {
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

fn condition(kind: &str, status: &str, reason: &str, message: String, now: DateTime<Utc>) -> Value {
    json!({
        "type": kind,
        "status": status,
        "lastUpdateTime": timestamp(now),
        "lastTransitionTime": timestamp(now),
        "reason": reason,
        "message": message,
    })
}

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

/// A Deployment's new ReplicaSet (if there is one yet) and its old ones.
type NewAndOld = (Option<Arc<Value>>, Vec<Arc<Value>>);

/// One reconcile of one Deployment: the object as read, plus the status and
/// revision annotation that this reconcile writes back at its end.
struct Sync<'a> {
    store: &'a Store,
    now: DateTime<Utc>,
    d: Value,
    spec: Spec,
    status: Status,
}

impl Sync<'_> {
    fn namespace(&self) -> &str {
        workload::namespace_of(&self.d)
    }

    fn event(&self, message: String) {
        events::record(
            self.store,
            self.now,
            &self.d,
            EventType::Normal,
            "ScalingReplicaSet",
            &message,
            COMPONENT,
        );
    }

    fn set_revision(&mut self, revision: &str) {
        self.d["metadata"]["annotations"][DEPLOYMENT_REVISION] = json!(revision);
    }

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
    fn new_and_old(&mut self, create: bool) -> Result<NewAndOld, ApiError> {
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
    fn new_rs_new_replicas(&self, others: &[Arc<Value>], current: i64) -> i64 {
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
    fn scale_and_record(&self, rs: &Arc<Value>, to: i64) -> Result<(bool, Arc<Value>), ApiError> {
        if spec_replicas(rs) == to {
            return Ok((false, rs.clone()));
        }
        self.scale_replica_set(rs, to)
    }

    /// `spec.replicas` changed while the ReplicaSets were sized for another count.
    fn is_scaling_event(&mut self) -> Result<bool, ApiError> {
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
    fn scale(&self, new_rs: Option<&Arc<Value>>, old: &[Arc<Value>]) -> Result<(), ApiError> {
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
    fn cleanup(&self, old: &[Arc<Value>]) -> Result<(), ApiError> {
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

    /// Counts from the ReplicaSets, and the Available condition.
    fn calculate_status(&self, all: &[Arc<Value>], new_rs: Option<&Arc<Value>>) -> Status {
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
    fn complete(&self, s: &Status) -> bool {
        let n = self.spec.replicas;
        s.updated == n
            && s.replicas == n
            && s.available == n
            && s.observed_generation >= self.spec.generation
    }

    /// The status after a rollout step, with the Progressing condition
    /// judged against the progress deadline; and when to look again if the
    /// deadline could pass without any other change.
    fn sync_rollout_status(
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
    fn check_paused_conditions(&mut self) {
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

    /// Paused, or only resized: size the ReplicaSets, never start a new one.
    fn sync(&mut self) -> Result<(), ApiError> {
        let (new_rs, old) = self.new_and_old(false)?;
        self.scale(new_rs.as_ref(), &old)?;
        if self.spec.paused {
            self.cleanup(&old)?;
        }
        let all: Vec<Arc<Value>> = old.into_iter().chain(new_rs.clone()).collect();
        self.status = self.calculate_status(&all, new_rs.as_ref());
        Ok(())
    }

    /// One step of a rolling update: surge the new ReplicaSet up, or take
    /// old pods down as far as availability allows.
    fn rollout_rolling(&mut self) -> Result<Option<DateTime<Utc>>, ApiError> {
        let (new_rs, old) = self.new_and_old(true)?;
        let Some(new_rs) = new_rs else {
            return Ok(None);
        };
        let all: Vec<Arc<Value>> = old.iter().cloned().chain([new_rs.clone()]).collect();
        if self.reconcile_new_replica_set(&old, &new_rs)?
            || self.reconcile_old_replica_sets(&all, &old, &new_rs)?
        {
            return Ok(self.sync_rollout_status(&all, Some(&new_rs)));
        }
        if self.complete(&self.status) {
            self.cleanup(&old)?;
        }
        Ok(self.sync_rollout_status(&all, Some(&new_rs)))
    }

    /// Grow the new ReplicaSet as far as the surge allows (or shrink it to
    /// the Deployment's size); whether it changed.
    fn reconcile_new_replica_set(
        &self,
        old: &[Arc<Value>],
        new_rs: &Arc<Value>,
    ) -> Result<bool, ApiError> {
        let current = spec_replicas(new_rs);
        let to = if current > self.spec.replicas {
            self.spec.replicas
        } else {
            self.new_rs_new_replicas(old, current)
        };
        Ok(self.scale_and_record(new_rs, to)?.0)
    }

    /// Shrink old ReplicaSets, oldest first, while enough pods stay
    /// available (counting new pods not yet available as missing); whether any shrank.
    fn reconcile_old_replica_sets(
        &self,
        all: &[Arc<Value>],
        old: &[Arc<Value>],
        new_rs: &Arc<Value>,
    ) -> Result<bool, ApiError> {
        let mut old: Vec<Arc<Value>> = old.iter().filter(|rs| is_active(rs)).cloned().collect();
        if old.is_empty() {
            return Ok(false);
        }
        let all_pods: i64 = all.iter().map(|rs| spec_replicas(rs)).sum();
        let min_available = self.spec.replicas - self.spec.max_unavailable;
        let new_unavailable = spec_replicas(new_rs) - counts(new_rs).available;
        let max_scaled_down = all_pods - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return Ok(false);
        }
        old.sort_by(|a, b| by_creation(a, b));
        // Unavailable old pods go first: removing them costs no availability.
        let mut cleaned = 0;
        for rs in old.iter_mut() {
            if cleaned >= max_scaled_down {
                break;
            }
            let c = counts(rs);
            if c.desired == 0 || c.desired == c.available {
                continue;
            }
            let down = (max_scaled_down - cleaned).min(c.desired - c.available);
            *rs = self.scale_and_record(rs, c.desired - down)?.1;
            cleaned += down;
        }
        let available: i64 = old
            .iter()
            .chain([new_rs])
            .map(|rs| counts(rs).available)
            .sum();
        let mut scaled_down = 0;
        let budget = available - min_available;
        for rs in &old {
            if scaled_down >= budget {
                break;
            }
            let size = spec_replicas(rs);
            if size == 0 {
                continue;
            }
            let down = size.min(budget - scaled_down);
            self.scale_and_record(rs, size - down)?;
            scaled_down += down;
        }
        Ok(cleaned + scaled_down > 0)
    }

    /// Recreate: every old pod gone before the new ReplicaSet starts.
    fn rollout_recreate(&mut self) -> Result<Option<DateTime<Utc>>, ApiError> {
        let (new_rs, old) = self.new_and_old(false)?;
        let all: Vec<Arc<Value>> = old.iter().cloned().chain(new_rs.clone()).collect();
        let mut scaled = false;
        for rs in old.iter().filter(|rs| is_active(rs)) {
            scaled |= self.scale_and_record(rs, 0)?.0;
        }
        let old_pods_running = old.iter().any(|rs| counts(rs).replicas > 0);
        if scaled || old_pods_running {
            return Ok(self.sync_rollout_status(&all, new_rs.as_ref()));
        }
        let (new_rs, old) = match new_rs {
            Some(rs) => (Some(rs), old),
            None => self.new_and_old(true)?,
        };
        if let Some(rs) = &new_rs {
            self.scale_and_record(rs, self.spec.replicas)?;
        }
        if self.complete(&self.status) {
            self.cleanup(&old)?;
        }
        let all: Vec<Arc<Value>> = old.into_iter().chain(new_rs.clone()).collect();
        Ok(self.sync_rollout_status(&all, new_rs.as_ref()))
    }

    fn run(&mut self) -> Result<Option<DateTime<Utc>>, ApiError> {
        self.check_paused_conditions();
        if self.spec.paused || self.is_scaling_event()? {
            self.sync()?;
            return Ok(None);
        }
        if self.spec.rolling {
            self.rollout_rolling()
        } else {
            self.rollout_recreate()
        }
    }

    /// Write the status and revision annotation if they changed.
    fn write(self, original: &Value) {
        let status = self.status.to_json();
        let revision = self.d["metadata"]["annotations"][DEPLOYMENT_REVISION].clone();
        if original["status"] == status
            && original["metadata"]["annotations"][DEPLOYMENT_REVISION] == revision
        {
            return;
        }
        let result = self
            .store
            .modify(deployments(), self.namespace(), name_of(&self.d), |d| {
                d["status"] = status;
                if !revision.is_null() {
                    d["metadata"]["annotations"][DEPLOYMENT_REVISION] = revision;
                }
            });
        if let Err(e) = result {
            tracing::debug!("writing the status of deployment {}: {e}", name_of(&self.d));
        }
    }
}

impl Controller for DeploymentController {
    fn name(&self) -> &'static str {
        COMPONENT
    }

    fn primary(&self) -> &'static ResourceDef {
        deployments()
    }

    fn reconcile(&self, ctx: &Ctx<'_>, namespace: &str, name: &str) -> Option<DateTime<Utc>> {
        let d = ctx.store.get(deployments(), namespace, name).ok()?;
        let mut sync = Sync {
            store: ctx.store,
            now: ctx.now,
            spec: Spec::of(&d),
            status: Status::read(&d["status"]),
            d: Value::clone(&d),
        };
        let result = sync.run();
        sync.write(&d);
        match result {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!("deployment {namespace}/{name}: {e}");
                Some(ctx.now + Duration::seconds(1))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::{Behaviour, VersionProfile, VersionRule};
    use crate::clock::Clock;
    use crate::controllers::Runtime;
    use crate::controllers::replicaset::{ReplicaSetController, pod_is_ready};
    use crate::controllers::testing::{NoTraffic, t0};
    use crate::store::{Change, EventType as ChangeKind};
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Arc;
    use tokio::sync::broadcast::{self, error::TryRecvError};

    /// The timestamp `secs` simulated seconds after the start.
    fn at(secs: i64) -> String {
        timestamp(t0() + Duration::seconds(secs))
    }

    struct Sim {
        rt: Arc<Runtime>,
        store: Arc<Store>,
        behaviour: Arc<Behaviour>,
    }

    fn setup(behaviour: Behaviour) -> Sim {
        let store = Arc::new(Store::new(Arc::new(Clock::starting_at(t0(), 0.0))));
        crate::seed::insert(
            &store,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        )
        .unwrap();
        let behaviour = Arc::new(behaviour);
        let rt = Runtime::new(
            store.clone(),
            behaviour.clone(),
            Arc::new(NoTraffic),
            vec![
                Arc::new(DeploymentController),
                Arc::new(ReplicaSetController),
            ],
        );
        Sim {
            rt,
            store,
            behaviour,
        }
    }

    fn template(image: &str) -> Value {
        json!({"metadata": {"labels": {"app": "web"}},
               "spec": {"containers": [{"name": "web", "image": image}]}})
    }

    /// Deployment `web` with `extra` merged into its spec.
    fn deployment(replicas: i64, image: &str, extra: Value) -> Value {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "shop"},
               "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                        "template": template(image)}});
        if extra.is_object() {
            json_patch::merge(&mut d["spec"], &extra);
        }
        d
    }

    impl Sim {
        fn create(&self, d: Value) {
            crate::seed::insert(&self.store, d).unwrap();
        }

        fn get(&self) -> Arc<Value> {
            self.store.get(deployments(), "shop", "web").unwrap()
        }

        fn edit(&self, change: impl FnOnce(&mut Value)) {
            self.store
                .modify(deployments(), "shop", "web", change)
                .unwrap();
        }

        fn set_image(&self, image: &str) {
            self.edit(|d| d["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image));
        }

        /// The Deployment's ReplicaSets, oldest revision first.
        fn replica_sets(&self) -> Vec<Arc<Value>> {
            workload::owned_replica_sets(&self.store, &self.get(), DEPLOYMENT)
        }

        /// (image, spec.replicas, revision) of each ReplicaSet, oldest revision first.
        fn sizes(&self) -> Vec<(String, i64, u64)> {
            self.replica_sets()
                .iter()
                .map(|rs| {
                    (
                        workload::image_of(&rs["spec"]["template"]).to_string(),
                        spec_replicas(rs),
                        workload::revision_of(rs, DEPLOYMENT),
                    )
                })
                .collect()
        }

        fn rs_name(&self, image: &str) -> String {
            let rs = self.replica_sets();
            let rs = rs
                .iter()
                .find(|rs| workload::image_of(&rs["spec"]["template"]) == image)
                .expect("a ReplicaSet for the image");
            name_of(rs).to_string()
        }

        fn pods(&self) -> Vec<Arc<Value>> {
            self.store
                .list(workload::pods(), Some("shop"), &Default::default())
                .unwrap()
                .items
        }

        /// The messages of the controller's scaling events, sorted.
        fn scaling_events(&self) -> Vec<String> {
            let res = resources::lookup("", "v1", "events").unwrap();
            self.store
                .list(res, Some("shop"), &Default::default())
                .unwrap()
                .items
                .into_iter()
                .filter(|e| e["reason"] == "ScalingReplicaSet")
                .inspect(|e| {
                    assert_eq!(e["source"]["component"], COMPONENT);
                    assert_eq!(e["involvedObject"]["kind"], "Deployment");
                })
                .map(|e| e["message"].as_str().unwrap().to_string())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        }

        fn reconcile_directly(&self) -> Option<DateTime<Utc>> {
            let ctx = Ctx {
                store: &self.store,
                behaviour: &self.behaviour,
                metrics: &NoTraffic,
                now: self.store.clock().now(),
            };
            DeploymentController.reconcile(&ctx, "shop", "web")
        }
    }

    fn progressing(d: &Value) -> Value {
        d["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == PROGRESSING)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// The pods and ReplicaSet sizes as they are after one store change.
    #[derive(Debug, Default)]
    struct Snapshot {
        /// Pod name → (pod-template-hash, ready).
        pods: BTreeMap<String, (String, bool)>,
        /// ReplicaSet name → spec.replicas.
        sizes: BTreeMap<String, i64>,
    }

    impl Snapshot {
        fn ready(&self) -> usize {
            self.pods.values().filter(|(_, ready)| *ready).count()
        }

        fn wanted(&self) -> i64 {
            self.sizes.values().sum()
        }
    }

    /// Replays every store change, so limits are checked at each step and
    /// not only where a test looks.
    struct Watch {
        changes: broadcast::Receiver<Arc<Change>>,
        now: Snapshot,
    }

    impl Watch {
        fn new(sim: &Sim) -> Watch {
            let changes = sim.store.subscribe();
            let mut now = Snapshot::default();
            for pod in sim.pods() {
                now.pods.insert(name_of(&pod).to_string(), Self::pod(&pod));
            }
            for rs in sim.replica_sets() {
                now.sizes
                    .insert(name_of(&rs).to_string(), spec_replicas(&rs));
            }
            Watch { changes, now }
        }

        fn pod(pod: &Value) -> (String, bool) {
            let hash = pod["metadata"]["labels"]["pod-template-hash"]
                .as_str()
                .unwrap_or("")
                .to_string();
            (hash, pod_is_ready(pod))
        }

        fn check(&mut self, mut each: impl FnMut(&Snapshot)) {
            loop {
                let change = match self.changes.try_recv() {
                    Ok(c) => c,
                    Err(TryRecvError::Empty) => return,
                    Err(e) => panic!("missed store changes: {e}"),
                };
                let name = name_of(&change.object).to_string();
                let deleted = change.event == ChangeKind::Deleted;
                if std::ptr::eq(change.res, workload::pods()) {
                    match deleted {
                        true => self.now.pods.remove(&name),
                        false => self.now.pods.insert(name, Self::pod(&change.object)),
                    };
                } else if std::ptr::eq(change.res, replicasets()) {
                    match deleted {
                        true => self.now.sizes.remove(&name),
                        false => self.now.sizes.insert(name, spec_replicas(&change.object)),
                    };
                } else {
                    continue;
                }
                each(&self.now);
            }
        }
    }

    #[test]
    fn surge_and_unavailability_resolve_like_kubernetes() {
        let spec = |replicas: i64, strategy: Value| {
            let s = Spec::of(&deployment(
                replicas,
                "web:1",
                json!({"strategy": strategy}),
            ));
            (s.max_surge, s.max_unavailable)
        };
        assert_eq!(spec(3, Value::Null), (1, 0));
        assert_eq!(spec(10, Value::Null), (3, 2));
        assert_eq!(
            spec(
                10,
                json!({"rollingUpdate": {"maxSurge": "30%", "maxUnavailable": 2}})
            ),
            (3, 2)
        );
        assert_eq!(
            spec(
                3,
                json!({"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "10%"}})
            ),
            (0, 1)
        );
        assert_eq!(spec(3, json!({"type": "Recreate"})), (0, 0));
        assert_eq!(spec(0, Value::Null), (0, 0));
    }

    #[test]
    fn a_new_deployment_becomes_available_with_all_replicas() {
        let sim = setup(Behaviour::default());
        sim.create(deployment(3, "web:1", Value::Null));
        sim.rt.settle();
        let rs = sim.replica_sets();
        assert_eq!(rs.len(), 1);
        let name = name_of(&rs[0]).to_string();
        assert_eq!(
            Some(format!("web-{}", workload::hash_of(&rs[0], DEPLOYMENT)).as_str()),
            Some(name.as_str())
        );
        assert_eq!(rs[0]["spec"]["replicas"], 3);
        assert_eq!(
            rs[0]["metadata"]["annotations"],
            json!({"deployment.kubernetes.io/revision": "1",
                   "deployment.kubernetes.io/desired-replicas": "3",
                   "deployment.kubernetes.io/max-replicas": "4"})
        );
        let d = sim.get();
        assert_eq!(
            d["status"],
            json!({
                "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "unavailableReplicas": 3,
                "conditions": [
                    {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                     "message": "Deployment does not have minimum availability.",
                     "lastUpdateTime": at(0), "lastTransitionTime": at(0)},
                    {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                     "message": format!("ReplicaSet \"{name}\" is progressing."),
                     "lastUpdateTime": at(0), "lastTransitionTime": at(0)},
                ],
            })
        );

        sim.rt.advance(Duration::seconds(5));
        let d = sim.get();
        assert_eq!(
            d["status"],
            json!({
                "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3,
                "readyReplicas": 3, "availableReplicas": 3,
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                     "message": "Deployment has minimum availability.",
                     "lastUpdateTime": at(5), "lastTransitionTime": at(5)},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                     "message": format!("ReplicaSet \"{name}\" has successfully progressed."),
                     "lastUpdateTime": at(5), "lastTransitionTime": at(0)},
                ],
            })
        );
        assert_eq!(d["metadata"]["annotations"][DEPLOYMENT_REVISION], "1");
        assert_eq!(
            sim.scaling_events(),
            [format!("Scaled up replica set {name} from 0 to 3")]
        );
        assert_eq!(sim.pods().len(), 3);
        assert_eq!(sim.reconcile_directly(), None, "nothing left to wait for");
    }

    /// Roll from web:1 to web:2: at every change the ReplicaSets together
    /// ask for at most `max_pods` and at least `min_ready` pods are ready;
    /// after every settle at most `max_pods` pods exist.
    fn roll(replicas: i64, strategy: Value, max_pods: i64, min_ready: usize) {
        let sim = setup(Behaviour::default());
        sim.create(deployment(replicas, "web:1", json!({"strategy": strategy})));
        sim.rt.advance(Duration::seconds(5));
        let mut watch = Watch::new(&sim);
        let (mut peak, mut trough) = (0, usize::MAX);
        let mut check = |s: &Snapshot| {
            assert!(s.wanted() <= max_pods, "{s:?}");
            assert!(s.ready() >= min_ready, "{s:?}");
            peak = peak.max(s.wanted());
            trough = trough.min(s.ready());
        };
        sim.set_image("web:2");
        sim.rt.settle();
        watch.check(&mut check);
        assert!(sim.pods().len() as i64 <= max_pods);
        for _ in 0..60 {
            sim.rt.advance(Duration::seconds(1));
            watch.check(&mut check);
            assert!(sim.pods().len() as i64 <= max_pods);
        }
        assert_eq!(peak, max_pods, "the surge is used");
        assert_eq!(trough, min_ready, "the unavailability budget is used");
        assert_eq!(
            sim.sizes(),
            [("web:1".into(), 0, 1), ("web:2".into(), replicas, 2)]
        );
        let d = sim.get();
        let s = &d["status"];
        assert_eq!(s["observedGeneration"], 2);
        for field in [
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
        ] {
            assert_eq!(s[field], replicas, "{field}");
        }
        assert_eq!(s["unavailableReplicas"], Value::Null);
        let (old, new) = (sim.rs_name("web:1"), sim.rs_name("web:2"));
        assert_eq!(
            progressing(&d)["message"],
            format!("ReplicaSet \"{new}\" has successfully progressed.")
        );
        assert_eq!(progressing(&d)["reason"], NEW_RS_AVAILABLE);
        assert_eq!(d["metadata"]["annotations"][DEPLOYMENT_REVISION], "2");
        let events = sim.scaling_events();
        let surge = max_pods - replicas;
        assert!(
            events.contains(&format!("Scaled up replica set {new} from 0 to {surge}")),
            "{events:?}"
        );
        assert!(
            events.iter().any(
                |e| e.starts_with(&format!("Scaled down replica set {old} from "))
                    && e.ends_with(" to 0")
            ),
            "{events:?}"
        );
    }

    #[test]
    fn an_image_change_rolls_within_the_default_limits() {
        // 3 replicas: maxSurge 25% rounds up to 1, maxUnavailable 25% down to 0.
        roll(3, Value::Null, 4, 3);
    }

    #[test]
    fn an_image_change_rolls_within_explicit_limits() {
        roll(
            10,
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "30%", "maxUnavailable": 2}}),
            13,
            8,
        );
    }

    #[test]
    fn recreate_removes_every_old_pod_before_starting_new_ones() {
        let sim = setup(Behaviour::default());
        sim.create(deployment(
            3,
            "web:1",
            json!({"strategy": {"type": "Recreate"}}),
        ));
        sim.rt.advance(Duration::seconds(5));
        let mut watch = Watch::new(&sim);
        let mut check = |s: &Snapshot| {
            let versions: BTreeSet<_> = s.pods.values().map(|(hash, _)| hash).collect();
            assert!(versions.len() <= 1, "old and new pods together: {s:?}");
        };
        sim.set_image("web:2");
        sim.rt.advance(Duration::seconds(10));
        watch.check(&mut check);
        assert_eq!(
            sim.sizes(),
            [("web:1".into(), 0, 1), ("web:2".into(), 3, 2)]
        );
        assert_eq!(progressing(&sim.get())["reason"], NEW_RS_AVAILABLE);
        let (old, new) = (sim.rs_name("web:1"), sim.rs_name("web:2"));
        let mut expected = vec![
            format!("Scaled up replica set {old} from 0 to 3"),
            format!("Scaled down replica set {old} from 3 to 0"),
            format!("Scaled up replica set {new} from 0 to 3"),
        ];
        expected.sort();
        assert_eq!(sim.scaling_events(), expected);
    }

    #[test]
    fn pausing_stops_the_rollout_and_resuming_continues_it() {
        let sim = setup(Behaviour::default());
        sim.create(deployment(3, "web:1", Value::Null));
        sim.rt.advance(Duration::seconds(5));
        sim.set_image("web:2");
        sim.rt.settle();
        sim.edit(|d| d["spec"]["paused"] = json!(true));
        sim.rt.settle();
        assert_eq!(
            progressing(&sim.get()),
            json!({"type": "Progressing", "status": "Unknown", "reason": "DeploymentPaused",
                   "message": "Deployment is paused",
                   "lastUpdateTime": at(5), "lastTransitionTime": at(5)})
        );
        sim.rt.advance(Duration::seconds(60));
        assert_eq!(
            sim.sizes(),
            [("web:1".into(), 3, 1), ("web:2".into(), 1, 2)],
            "no step while paused"
        );

        // A new template while paused makes no ReplicaSet.
        sim.set_image("web:3");
        sim.rt.advance(Duration::seconds(60));
        assert_eq!(sim.replica_sets().len(), 2);
        let d = sim.get();
        assert_eq!(
            d["status"]["observedGeneration"],
            d["metadata"]["generation"]
        );
        assert_eq!(d["status"]["updatedReplicas"], Value::Null);
        assert_eq!(d["status"]["replicas"], 4);
        assert_eq!(progressing(&d)["reason"], PAUSED);

        sim.edit(|d| d["spec"]["paused"] = json!(false));
        sim.rt.advance(Duration::seconds(60));
        assert_eq!(
            sim.sizes(),
            [
                ("web:1".into(), 0, 1),
                ("web:2".into(), 0, 2),
                ("web:3".into(), 3, 3)
            ]
        );
        let d = sim.get();
        assert_eq!(progressing(&d)["reason"], NEW_RS_AVAILABLE);
        assert_eq!(d["status"]["updatedReplicas"], 3);
        assert_eq!(d["metadata"]["annotations"][DEPLOYMENT_REVISION], "3");
    }

    #[test]
    fn restoring_an_old_template_reuses_its_replica_set_with_a_new_revision() {
        let sim = setup(Behaviour::default());
        sim.create(deployment(3, "web:1", Value::Null));
        sim.rt.advance(Duration::seconds(5));
        let first = sim.rs_name("web:1");
        sim.set_image("web:2");
        sim.rt.advance(Duration::seconds(60));

        // What `kubectl rollout undo` sends: the ReplicaSet's template without
        // its hash label, as Go marshals it (null creationTimestamp, empty resources).
        let rs = sim
            .store
            .get(replicasets(), "shop", &first)
            .expect("the first ReplicaSet is kept");
        let mut restored = rs["spec"]["template"].clone();
        restored["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .remove("pod-template-hash");
        restored["metadata"]["creationTimestamp"] = Value::Null;
        restored["spec"]["containers"][0]["resources"] = json!({});
        sim.edit(|d| d["spec"]["template"] = restored);
        sim.rt.advance(Duration::seconds(60));

        assert_eq!(
            sim.sizes(),
            [("web:2".into(), 0, 2), ("web:1".into(), 3, 3)]
        );
        let rs = sim.store.get(replicasets(), "shop", &first).unwrap();
        assert_eq!(rs["metadata"]["annotations"][DEPLOYMENT_REVISION], "3");
        assert_eq!(rs["metadata"]["annotations"][REVISION_HISTORY], "1");
        let d = sim.get();
        assert_eq!(d["metadata"]["annotations"][DEPLOYMENT_REVISION], "3");
        assert_eq!(progressing(&d)["reason"], NEW_RS_AVAILABLE);
        assert_eq!(
            progressing(&d)["message"],
            format!("ReplicaSet \"{first}\" has successfully progressed.")
        );
    }

    #[test]
    fn a_restart_annotation_makes_a_new_replica_set() {
        let sim = setup(Behaviour::default());
        sim.create(deployment(3, "web:1", Value::Null));
        sim.rt.advance(Duration::seconds(5));
        let before = sim.rs_name("web:1");
        sim.edit(|d| {
            d["spec"]["template"]["metadata"]["annotations"] =
                json!({"kubectl.kubernetes.io/restartedAt": "2026-03-01T12:00:05Z"})
        });
        sim.rt.advance(Duration::seconds(60));
        let rss = sim.replica_sets();
        assert_eq!(rss.len(), 2);
        assert_eq!(name_of(&rss[0]), before);
        assert_eq!(spec_replicas(&rss[0]), 0);
        assert_eq!(spec_replicas(&rss[1]), 3);
        assert_eq!(workload::revision_of(&rss[1], DEPLOYMENT), 2);
        let pods = sim.pods();
        assert_eq!(pods.len(), 3);
        for pod in &pods {
            assert_eq!(
                pod["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"],
                "2026-03-01T12:00:05Z"
            );
        }
        assert_eq!(
            sim.get()["metadata"]["annotations"][DEPLOYMENT_REVISION],
            "2"
        );
    }

    #[test]
    fn scaling_resizes_the_replica_set() {
        let sim = setup(Behaviour::default());
        sim.create(deployment(3, "web:1", Value::Null));
        sim.rt.advance(Duration::seconds(5));
        let name = sim.rs_name("web:1");
        sim.edit(|d| d["spec"]["replicas"] = json!(5));
        sim.rt.settle();
        assert_eq!(sim.sizes(), [("web:1".into(), 5, 1)]);
        let d = sim.get();
        assert_eq!(d["status"]["replicas"], 5);
        assert_eq!(d["status"]["availableReplicas"], 3);
        assert_eq!(d["status"]["unavailableReplicas"], 2);
        sim.rt.advance(Duration::seconds(5));
        let d = sim.get();
        assert_eq!(d["status"]["availableReplicas"], 5);
        assert_eq!(d["status"]["updatedReplicas"], 5);
        assert_eq!(d["status"]["observedGeneration"], 2);

        sim.edit(|d| d["spec"]["replicas"] = json!(2));
        sim.rt.settle();
        assert_eq!(sim.pods().len(), 2);
        assert_eq!(sim.get()["status"]["replicas"], 2);
        assert_eq!(
            sim.scaling_events(),
            [
                format!("Scaled down replica set {name} from 5 to 2"),
                format!("Scaled up replica set {name} from 0 to 3"),
                format!("Scaled up replica set {name} from 3 to 5"),
            ]
        );
    }

    #[test]
    fn scaling_during_a_rollout_is_shared_in_proportion() {
        let sim = setup(Behaviour::default());
        sim.create(deployment(3, "web:1", Value::Null));
        sim.rt.advance(Duration::seconds(5));
        sim.set_image("web:2");
        sim.rt.settle();
        assert_eq!(
            sim.sizes(),
            [("web:1".into(), 3, 1), ("web:2".into(), 1, 2)]
        );
        // 6 replicas with 25% surge allow 8 pods: 3:1 becomes 6:2.
        sim.edit(|d| d["spec"]["replicas"] = json!(6));
        sim.rt.settle();
        let (old, new) = (sim.rs_name("web:1"), sim.rs_name("web:2"));
        let events = sim.scaling_events();
        assert!(events.contains(&format!("Scaled up replica set {old} from 3 to 6")));
        assert!(events.contains(&format!("Scaled up replica set {new} from 1 to 2")));
        sim.rt.advance(Duration::seconds(60));
        assert_eq!(
            sim.sizes(),
            [("web:1".into(), 0, 1), ("web:2".into(), 6, 2)]
        );
        assert_eq!(sim.get()["status"]["availableReplicas"], 6);
    }

    #[test]
    fn old_replica_sets_beyond_the_history_limit_are_deleted() {
        let sim = setup(Behaviour::default());
        sim.create(deployment(2, "web:1", json!({"revisionHistoryLimit": 2})));
        sim.rt.advance(Duration::seconds(5));
        for version in 2..=5 {
            sim.set_image(&format!("web:{version}"));
            sim.rt.advance(Duration::seconds(60));
        }
        assert_eq!(
            sim.sizes(),
            [
                ("web:3".into(), 0, 3),
                ("web:4".into(), 0, 4),
                ("web:5".into(), 2, 5)
            ]
        );
        assert_eq!(sim.pods().len(), 2);
    }

    #[test]
    fn a_rollout_without_progress_exceeds_its_deadline() {
        let behaviour = Behaviour::default();
        behaviour.add_rule(VersionRule {
            image: "web:slow".into(),
            from: DateTime::<Utc>::MIN_UTC,
            profile: VersionProfile {
                ready_seconds: 1000.0,
                ..Default::default()
            },
        });
        let sim = setup(behaviour);
        sim.create(deployment(
            3,
            "web:1",
            json!({"progressDeadlineSeconds": 60}),
        ));
        sim.rt.advance(Duration::seconds(5));
        sim.set_image("web:slow");
        sim.rt.settle();
        let new = sim.rs_name("web:slow");
        assert_eq!(
            progressing(&sim.get()),
            json!({"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                   "message": format!("ReplicaSet \"{new}\" is progressing."),
                   "lastUpdateTime": at(5), "lastTransitionTime": at(0)})
        );
        assert_eq!(
            sim.reconcile_directly(),
            Some(t0() + Duration::seconds(5 + 60 + 1)),
            "look again once the deadline has passed"
        );
        sim.rt.advance(Duration::seconds(61));
        let d = sim.get();
        assert_eq!(
            progressing(&d),
            json!({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                   "message": format!("ReplicaSet \"{new}\" has timed out progressing."),
                   "lastUpdateTime": at(66), "lastTransitionTime": at(66)})
        );
        assert_eq!(d["status"]["availableReplicas"], 3);
        assert_eq!(sim.reconcile_directly(), None);
    }

    #[test]
    fn templates_compare_as_typed_objects() {
        let a = template("web:1");
        let mut b = a.clone();
        b["metadata"]["creationTimestamp"] = Value::Null;
        b["metadata"]["labels"]["pod-template-hash"] = json!("abc");
        b["spec"]["containers"][0]["resources"] = json!({});
        assert_eq!(pod_template(&a), pod_template(&b));
        b["spec"]["containers"][0]["image"] = json!("web:2");
        assert_ne!(pod_template(&a), pod_template(&b));
    }
}
