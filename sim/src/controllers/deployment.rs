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

mod progress;
mod replica_sets;
mod strategies;

use super::events::{self, EventType};
use super::workload::{self, DEPLOYMENT, DEPLOYMENT_REVISION, counts, name_of};
use super::{Controller, Ctx};
use crate::resources::{self, ResourceDef};
use crate::store::Store;
use chrono::{DateTime, Duration, Utc};
use progress::Status;
use serde_json::{Value, json};
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
mod tests;
