//! What every kind shares: revisions built from ReplicaSets and their pods,
//! analysis runs, and the event timeline.

use super::Index;
use super::fields::{self, Fields};
use super::fields::{
    annotation, array_at, bool_at, created, i64_at, images, label, name, str_at, time_at, u32_at,
    uid,
};
use super::kinds::WatchedKind;
use crate::model::{
    AnalysisRunInfo, EventKind, Health, Kind, Measurement, MetricResult, PodInfo, Release,
    ReleaseKey, ReplicaSetObject, Replicas, Revision, StepIndex, Strategy, TimelineEntry,
};
use kube::api::DynamicObject;
use serde_json::Value;
use std::sync::Arc;

/// How a controller labels its ReplicaSets.
pub struct RevisionLabels {
    pub hash_label: &'static str,
    pub revision_annotation: &'static str,
}

pub const ARGO: RevisionLabels = RevisionLabels {
    hash_label: "rollouts-pod-template-hash",
    revision_annotation: "rollout.argoproj.io/revision",
};

pub const DEPLOYMENT: RevisionLabels = RevisionLabels {
    hash_label: "pod-template-hash",
    revision_annotation: "deployment.kubernetes.io/revision",
};

pub fn pod_info(p: &DynamicObject) -> PodInfo {
    let statuses = array_at(&p.data, "/status/containerStatuses");
    let containers = array_at(&p.data, "/spec/containers")
        .len()
        .max(statuses.len());
    let ready_containers = statuses.iter().filter(|s| bool_at(s, "/ready")).count();
    let waiting = statuses
        .iter()
        .find_map(|s| str_at(s, "/state/waiting/reason"));
    let deleting = p.metadata.deletion_timestamp.is_some();
    let phase = str_at(&p.data, "/status/phase").unwrap_or("Pending");
    let status = if deleting {
        "Terminating".to_string()
    } else {
        waiting.unwrap_or(phase).to_string()
    };
    let ready = array_at(&p.data, "/status/conditions")
        .iter()
        .any(|c| str_at(c, "/type") == Some("Ready") && str_at(c, "/status") == Some("True"));
    PodInfo {
        name: name(p).to_string(),
        status,
        ready,
        ready_containers: u32::try_from(ready_containers).unwrap_or(0),
        containers: u32::try_from(containers).unwrap_or(0),
        restarts: statuses
            .iter()
            .filter_map(|s| u32_at(s, "/restartCount"))
            .sum(),
        created: created(p),
    }
}

/// The revisions of a workload with uid `owner`, newest first.
pub fn revisions(index: &Index<'_>, owner: &str, labels: &RevisionLabels) -> Vec<Revision> {
    let mut out: Vec<Revision> = index
        .owned_by(WatchedKind::ReplicaSet, owner)
        .iter()
        .map(|rs| revision(index, rs, labels))
        .collect();
    out.sort_by(|a, b| b.number.cmp(&a.number).then(b.created.cmp(&a.created)));
    out
}

fn revision(index: &Index<'_>, rs: &Arc<DynamicObject>, labels: &RevisionLabels) -> Revision {
    let template = rs.data.pointer("/spec/template");
    let mut pods: Vec<Arc<PodInfo>> = index
        .pods_owned_by(uid(rs))
        .iter()
        .map(|p| Arc::clone(&p.info))
        .collect();
    pods.sort_by(|a, b| a.name.cmp(&b.name));
    Revision {
        number: annotation(rs, labels.revision_annotation).and_then(|n| n.parse().ok()),
        replica_set: name(rs).to_string(),
        hash: label(rs, labels.hash_label).unwrap_or_default().to_string(),
        roles: Vec::new(),
        images: template.map(images).unwrap_or_default(),
        desired: i64_at(&rs.data, "/spec/replicas").unwrap_or(0),
        current: i64_at(&rs.data, "/status/replicas").unwrap_or(0),
        ready: i64_at(&rs.data, "/status/readyReplicas").unwrap_or(0),
        available: i64_at(&rs.data, "/status/availableReplicas").unwrap_or(0),
        created: created(rs),
        scale_down_at: annotation(rs, "scale-down-deadline").and_then(crate::time::parse_rfc3339),
        pods,
        replica_set_object: Some(ReplicaSetObject::new(Arc::clone(rs))),
    }
}

/// Events about the object (`kind`, `name` in `namespace`) and about its
/// ReplicaSets, newest first.
pub fn timeline(
    index: &Index<'_>,
    namespace: &str,
    kind: &str,
    name: &str,
    revisions: &[Revision],
) -> Vec<TimelineEntry> {
    let about = |kind, name| index.events_about(namespace, kind, name);
    let events = std::iter::once(about(kind, name))
        .chain(
            revisions
                .iter()
                .map(|r| about("ReplicaSet", &r.replica_set)),
        )
        .flatten();
    // Events of the same second keep one order whatever order they were
    // listed in: by name, which ends in the hex time the Event was made,
    // so the newer of a tie is shown first.
    let mut events: Vec<&Arc<DynamicObject>> = events.collect();
    events.sort_by(|a, b| fields::name(a).cmp(fields::name(b)));
    let mut out: Vec<TimelineEntry> = events.into_iter().map(|e| timeline_entry(e)).collect();
    TimelineEntry::sort_newest_first(&mut out);
    out
}

fn timeline_entry(e: &DynamicObject) -> TimelineEntry {
    let at = time_at(&e.data, "/lastTimestamp")
        .or_else(|| time_at(&e.data, "/eventTime"))
        .or_else(|| time_at(&e.data, "/firstTimestamp"))
        .or_else(|| created(e));
    TimelineEntry {
        at,
        kind: if str_at(&e.data, "/type") == Some("Warning") {
            EventKind::Warning
        } else {
            EventKind::Normal
        },
        reason: str_at(&e.data, "/reason").unwrap_or_default().to_string(),
        message: str_at(&e.data, "/message").unwrap_or_default().to_string(),
        count: u32_at(&e.data, "/count").unwrap_or(1),
    }
}

/// The AnalysisRuns owned by `owner`, newest first.
pub fn analysis_runs(index: &Index<'_>, owner: &str) -> Vec<AnalysisRunInfo> {
    let mut out: Vec<AnalysisRunInfo> = index
        .owned_by(WatchedKind::AnalysisRun, owner)
        .iter()
        .map(|r| analysis_run(r))
        .collect();
    out.sort_by(|a, b| b.created.cmp(&a.created).then(b.name.cmp(&a.name)));
    out
}

fn analysis_run(run: &DynamicObject) -> AnalysisRunInfo {
    let conditions: std::collections::HashMap<&str, (Option<String>, Option<String>)> =
        array_at(&run.data, "/spec/metrics")
            .iter()
            .filter_map(|m| {
                Some((
                    str_at(m, "/name")?,
                    (
                        str_at(m, "/successCondition").map(str::to_string),
                        str_at(m, "/failureCondition").map(str::to_string),
                    ),
                ))
            })
            .collect();
    let metrics = array_at(&run.data, "/status/metricResults")
        .iter()
        .map(|m| {
            let metric_name = str_at(m, "/name").unwrap_or_default();
            let (success_condition, failure_condition) =
                conditions.get(metric_name).cloned().unwrap_or_default();
            MetricResult {
                name: metric_name.to_string(),
                phase: str_at(m, "/phase").unwrap_or_default().to_string(),
                successful: u32_at(m, "/successful").unwrap_or(0),
                failed: u32_at(m, "/failed").unwrap_or(0),
                inconclusive: u32_at(m, "/inconclusive").unwrap_or(0),
                error: u32_at(m, "/error").unwrap_or(0),
                success_condition,
                failure_condition,
                measurements: array_at(m, "/measurements")
                    .iter()
                    .map(|x| Measurement {
                        phase: str_at(x, "/phase").unwrap_or_default().to_string(),
                        value: x.get("value").and_then(Value::as_str).map(str::to_string),
                        at: time_at(x, "/finishedAt").or_else(|| time_at(x, "/startedAt")),
                    })
                    .collect(),
            }
        })
        .collect();
    AnalysisRunInfo {
        name: name(run).to_string(),
        run_type: label(run, "rollout-type").unwrap_or("Step").to_string(),
        step_index: label(run, "step-index").and_then(|s| s.parse().ok()),
        revision: annotation(run, "rollout.argoproj.io/revision").and_then(|s| s.parse().ok()),
        phase: str_at(&run.data, "/status/phase")
            .unwrap_or("Pending")
            .to_string(),
        message: str_at(&run.data, "/status/message")
            .unwrap_or_default()
            .to_string(),
        created: created(run),
        metrics,
    }
}

/// The replica counts of a workload's spec and status: `spec.replicas`
/// defaults to 1 and an unwritten status count is 0, as the API server
/// reads them; a negative or malformed count is unknown.
pub fn replicas(fields: Fields<'_>) -> Replicas {
    let status = |pointer| fields.count(pointer).or(0);
    Replicas {
        desired: fields.count("/spec/replicas").or(1),
        current: status("/status/replicas"),
        updated: status("/status/updatedReplicas"),
        ready: status("/status/readyReplicas"),
        available: status("/status/availableReplicas"),
    }
}

/// When condition `kind` of `data` last became True, by `field`
/// (`lastTransitionTime`, or `lastUpdateTime` where the reason is what
/// changes), if it is True with one of `reasons` (any reason when empty).
pub fn condition_true_since(
    data: &serde_json::Value,
    kind: &str,
    reasons: &[&str],
    field: &str,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let c = super::fields::array_at(data, "/status/conditions")
        .iter()
        .find(|c| str_at(c, "/type") == Some(kind))?;
    let reason_fits = reasons.is_empty() || reasons.contains(&str_at(c, "/reason")?);
    (str_at(c, "/status") == Some("True") && reason_fits)
        .then(|| super::fields::time_at(c, &format!("/{field}")))
        .flatten()
}

/// The completion of a release that finished at `at`: the revision being
/// rolled out now serves, and an earlier one (the baseline) exists.
pub fn completion(
    release: &Release,
    at: Option<chrono::DateTime<chrono::Utc>>,
) -> Option<crate::model::bake::Completion> {
    Some(crate::model::bake::Completion {
        at: at?,
        hash: release.current_hash.clone()?,
        previous_hash: release.previous_revision()?.hash.clone(),
    })
}

/// A release with the identity of `o` and nothing known yet about its
/// rollout: each kind's mapping fills in the rest.
pub fn base(kind: Kind, strategy: Strategy, o: &DynamicObject) -> Release {
    let map = |m: &Option<std::collections::BTreeMap<String, String>>| {
        m.clone().unwrap_or_default().into_iter().collect()
    };
    Release {
        key: ReleaseKey {
            cluster: String::new(),
            kind,
            namespace: super::fields::namespace(o).to_string(),
            name: name(o).to_string(),
        },
        uid: uid(o).to_string(),
        resource_version: o.metadata.resource_version.clone().unwrap_or_default(),
        generation: o.metadata.generation.unwrap_or(0),
        created: created(o),
        strategy,
        health: Health::Unknown,
        phase: String::new(),
        message: String::new(),
        steps: Vec::new(),
        current_step: StepIndex::Unset,
        weights: Default::default(),
        pause: None,
        spec_paused: false,
        aborted: false,
        promote_full: false,
        current_hash: None,
        stable_hash: None,
        current_revision: None,
        revisions: Vec::new(),
        replicas: Replicas::default(),
        analysis: Vec::new(),
        blue_green: None,
        stable_service: None,
        canary_service: None,
        flagger: None,
        argo: None,
        timeline: Vec::new(),
        attention: Vec::new(),
        labels: map(&o.metadata.labels),
        annotations: map(&o.metadata.annotations),
        selector: Default::default(),
        migration: None,
        database: None,
        migration_problem: None,
        warnings: Vec::new(),
        flags: Vec::new(),
        flag_names: Vec::new(),
        completion: None,
    }
}
