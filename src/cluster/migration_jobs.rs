//! Migration phases from Kubernetes Jobs labelled `cutover.dev/migration`,
//! `cutover.dev/phase` and `cutover.dev/release`.

use super::fields::{self, array_at, i64_at, label, time_at};
use super::{Index, kinds::WatchedKind};
use crate::model::Release;
use crate::model::migration::{
    JOB_MIGRATION_LABEL, JOB_PHASE_LABEL, JOB_RELEASE_LABEL, MIGRATION_ANNOTATION, Migration,
    PhaseName, PhaseState,
};
use kube::api::DynamicObject;

/// A Job's state as batch/v1 reports it: its terminal conditions first,
/// then its active pods.
fn job_state(job: &DynamicObject) -> PhaseState {
    let condition = |kind: &str| {
        array_at(&job.data, "/status/conditions")
            .iter()
            .any(|c| c["type"] == kind && c["status"] == "True")
    };
    if condition("Failed") {
        PhaseState::Failed
    } else if condition("Complete") {
        PhaseState::Done
    } else if i64_at(&job.data, "/status/active").unwrap_or(0) > 0
        || time_at(&job.data, "/status/startTime").is_some()
    {
        PhaseState::Running
    } else {
        PhaseState::Pending
    }
}

/// Whether a Job belongs to `release`: labelled with its name, or carrying
/// the migration its `cutover.dev/migration` annotation names.
fn belongs(job: &DynamicObject, release: &Release) -> bool {
    if fields::namespace(job) != release.key.namespace {
        return false;
    }
    let named = release
        .annotations
        .get(MIGRATION_ANNOTATION)
        .map(String::as_str);
    label(job, JOB_RELEASE_LABEL) == Some(release.key.name.as_str())
        || (named.is_some() && label(job, JOB_MIGRATION_LABEL) == named)
}

/// The migration of `release` from its Jobs: the annotated one, else the
/// one with the newest Job. For each phase the newest Job counts (a retry
/// replaces a failed attempt).
pub fn migration_of(index: &Index<'_>, release: &Release) -> Option<Migration> {
    let mut jobs: Vec<&DynamicObject> = index
        .all_in(WatchedKind::Job, &release.key.namespace)
        .filter(|j| belongs(j, release))
        .collect();
    jobs.sort_by_key(|j| (fields::created(j), fields::name(j)));
    let name = release
        .annotations
        .get(MIGRATION_ANNOTATION)
        .cloned()
        .or_else(|| {
            jobs.last()
                .and_then(|j| label(j, JOB_MIGRATION_LABEL))
                .map(str::to_string)
        })?;
    let mut migration = Migration::new(name.clone());
    for job in jobs
        .iter()
        .filter(|j| label(j, JOB_MIGRATION_LABEL) == Some(name.as_str()))
    {
        let Some(phase) = label(job, JOB_PHASE_LABEL)
            .and_then(PhaseName::parse)
            .and_then(|p| migration.phase_mut(p))
        else {
            continue;
        };
        phase.state = job_state(job);
        phase.started = time_at(&job.data, "/status/startTime").or_else(|| fields::created(job));
        phase.finished = time_at(&job.data, "/status/completionTime").or_else(|| {
            array_at(&job.data, "/status/conditions")
                .iter()
                .find(|c| c["type"] == "Failed" && c["status"] == "True")
                .and_then(|c| c["lastTransitionTime"].as_str())
                .and_then(crate::time::parse_rfc3339)
        });
        phase.evidence = format!("Job {}", fields::name(job));
    }
    Some(migration)
}
