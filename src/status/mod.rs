//! `cutover status`: the same model as the control room, printed once, for
//! scripts and checks.

mod fleet;
mod read;
mod table;

pub use fleet::{ConnectionState, FleetReport, fleet_report};
pub use read::report;
pub(crate) use read::{no_release_named, read_cluster};
pub use table::{fleet_table, table};

use crate::app::State;
use crate::app::access::unavailable;
use crate::model::action::ALL;
use crate::model::metrics::{
    ComparedVersions, ControllerOpinion, GateResult, MetricClass, ReleaseMetrics, Unit, Verdict,
    controller_opinion, disagrees,
};
use crate::model::migration::RollbackSafety;
use crate::model::restore::way_back::{ReleaseRestore, RepositoryStatus};
use crate::model::{Action, Release};
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub context: String,
    pub namespace: Option<String>,
    pub user: Option<String>,
    pub read_at: DateTime<Utc>,
    /// Where the metrics come from.
    pub metrics_source: Option<String>,
    /// Why there are no metrics (none configured, a config mistake).
    pub metrics_problem: Option<String>,
    /// Each configured database: its error, blocked sessions and index builds.
    pub databases: Vec<DatabaseStatus>,
    /// Why the context's Unleash could not be read: its flags' state is
    /// unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unleash_problem: Option<String>,
    pub releases: Vec<ReleaseStatus>,
    /// The alert conditions holding now, as the control room derives them.
    pub alerts: Vec<crate::model::alert::Holding>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseStatus {
    pub name: String,
    pub error: Option<String>,
    pub tools: Vec<crate::model::migration::ToolState>,
    pub blocked: Vec<crate::model::migration::BlockedSession>,
    pub index_builds: Vec<crate::model::migration::IndexBuild>,
    /// How the connection was encrypted (`TLSv1.3, verify-full`); null when
    /// it was not, or when the database could not be read.
    pub tls: Option<String>,
    /// Its backups, when a source is configured.
    pub restore: Option<RepositoryStatus>,
}

/// One compared metric, without the raw samples.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComparisonStatus {
    pub metric: String,
    pub label: String,
    pub unit: Unit,
    pub baseline: Option<f64>,
    pub canary: Option<f64>,
    pub difference: Option<f64>,
    pub percent: Option<f64>,
    pub baseline_samples: usize,
    pub canary_samples: usize,
    /// None for metrics shown but not judged.
    pub verdict: Option<MetricClass>,
    pub reason: Option<String>,
    pub p_value: Option<f64>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsStatus {
    pub source: String,
    pub window_seconds: u64,
    pub step_seconds: u64,
    pub measured_at: DateTime<Utc>,
    pub versions: Option<ComparedVersions>,
    pub baseline_requests: Option<f64>,
    pub canary_requests: Option<f64>,
    pub low_traffic: Option<String>,
    pub comparisons: Vec<ComparisonStatus>,
    pub gates: Vec<GateResult>,
    pub verdict: Verdict,
    pub score: Option<f64>,
    pub reasons: Vec<String>,
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
    pub controller: Option<ControllerOpinion>,
    /// cutover's verdict and the controller's disagree.
    pub disagrees: bool,
}

impl MetricsStatus {
    fn new(m: ReleaseMetrics, release: &Release) -> MetricsStatus {
        let controller = controller_opinion(release);
        MetricsStatus {
            comparisons: m
                .comparisons
                .iter()
                .map(|c| ComparisonStatus {
                    metric: c.metric.clone(),
                    label: c.label.clone(),
                    unit: c.unit,
                    baseline: c.baseline.current,
                    canary: c.canary.current,
                    difference: c.difference(),
                    percent: c.percent(),
                    baseline_samples: c.baseline.samples.len(),
                    canary_samples: c.canary.samples.len(),
                    verdict: c.class(),
                    reason: c.judgement.as_ref().map(|j| j.reason.clone()),
                    p_value: c.judgement.as_ref().and_then(|j| j.p_value),
                    error: c.error.clone(),
                })
                .collect(),
            disagrees: controller
                .as_ref()
                .is_some_and(|o| disagrees(m.verdict.verdict, o)),
            controller,
            source: m.source,
            window_seconds: m.window_seconds,
            step_seconds: m.step_seconds,
            measured_at: m.measured_at,
            versions: m.versions,
            baseline_requests: m.baseline_requests,
            canary_requests: m.canary_requests,
            low_traffic: m.low_traffic,
            gates: m.gates,
            verdict: m.verdict.verdict,
            score: m.verdict.score,
            reasons: m.verdict.reasons,
            warnings: m.warnings,
            errors: m.errors,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepStatus {
    /// `status.currentStepIndex`: the steps done, as STEP's N/M counts
    /// them. Null when it cannot be read (see `warnings`).
    pub current: Option<usize>,
    pub total: usize,
    /// The step being run: number `current + 1` of the detail's list.
    pub name: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionStatus {
    pub number: Option<u64>,
    pub replica_set: String,
    pub pod_hash: String,
    pub roles: Vec<&'static str>,
    /// Healthy, Progressing or ScaledDown, as Argo's CLI says.
    pub health: crate::model::ReplicaSetHealth,
    pub images: Vec<String>,
    /// `spec.replicas` and `status.replicas` of the ReplicaSet.
    pub desired: i64,
    pub current: i64,
    pub ready: i64,
    pub available: i64,
    pub restarts: u32,
}

/// An image that runs, with the roles of the ReplicaSets running it.
#[derive(Debug, Serialize)]
pub struct ImageStatus {
    pub image: String,
    pub roles: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionStatus {
    pub action: &'static str,
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseStatus {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub strategy: &'static str,
    pub health: crate::model::Health,
    pub phase: String,
    pub message: String,
    pub step: Option<StepStatus>,
    pub weights: crate::model::traffic::Weights,
    pub drift: bool,
    pub pause: Option<crate::model::Pause>,
    /// The canary's and the stable's image while their ReplicaSets run.
    pub canary_image: Option<String>,
    pub stable_image: Option<String>,
    /// Every image that runs, as `kubectl argo rollouts get` lists them.
    pub images: Vec<ImageStatus>,
    /// Desired (`spec.replicas`), current, updated, ready and available.
    pub replicas: crate::model::Replicas,
    pub revisions: Vec<RevisionStatus>,
    pub flagger: Option<crate::model::FlaggerStatus>,
    pub attention: Vec<String>,
    /// Every value of the release's objects that is out of range or of
    /// the wrong type, in plain sentences; such a value is null above,
    /// never used.
    pub warnings: Vec<String>,
    pub actions: Vec<ActionStatus>,
    /// None when no metrics source is configured.
    pub metrics: Option<MetricsStatus>,
    /// None when the release has no migration.
    pub migration: Option<MigrationStatus>,
    /// The feature flags linked to the release.
    pub flags: Vec<crate::model::flag::Flag>,
    /// The bake window after it finished: None while it rolls, without a
    /// metrics source, or with the bake off.
    pub bake: Option<crate::model::bake::Bake>,
}

pub(crate) fn release_status(
    r: &Release,
    state: &State,
    metrics: Option<ReleaseMetrics>,
) -> ReleaseStatus {
    let actions = ALL
        .into_iter()
        .map(|a| {
            let reason = unavailable(state, r, a);
            ActionStatus {
                action: a.word(),
                available: reason.is_none(),
                reason,
            }
        })
        .collect();
    let bake = state.bake_of(r);
    ReleaseStatus {
        kind: r.key.kind.word(),
        namespace: r.key.namespace.clone(),
        name: r.key.name.clone(),
        strategy: r.strategy.word(),
        health: r.health,
        phase: r.phase.clone(),
        message: r.message.clone(),
        step: r.step().map(|(current, total)| StepStatus {
            current,
            total,
            name: current.and_then(|i| r.steps.get(i)).map(|s| s.label()),
        }),
        drift: r.weights.drift().is_some(),
        weights: r.weights.clone(),
        pause: r.pause.clone(),
        canary_image: r.canary_image().map(str::to_string),
        stable_image: r.stable_image().map(str::to_string),
        images: r
            .running_images()
            .into_iter()
            .map(|i| ImageStatus {
                roles: i.roles.iter().map(|role| role.word()).collect(),
                image: i.image,
            })
            .collect(),
        replicas: r.replicas.clone(),
        revisions: r
            .revisions
            .iter()
            .map(|rev| RevisionStatus {
                number: rev.number,
                replica_set: rev.replica_set.clone(),
                pod_hash: rev.hash.clone(),
                roles: rev.role_words(),
                health: rev.health(),
                images: rev.images.clone(),
                desired: rev.desired,
                current: rev.current,
                ready: rev.ready,
                available: rev.available,
                restarts: rev.restarts(),
            })
            .collect(),
        flagger: r.flagger.clone(),
        attention: attention_with_bake(r, bake.as_ref()),
        warnings: r.warnings.clone(),
        actions,
        metrics: metrics.map(|m| MetricsStatus::new(m, r)),
        migration: MigrationStatus::of(r, state),
        flags: r.flags.clone(),
        bake,
    }
}

/// The release's attentions, with its bake's breach when the release does
/// not carry it yet (a one-shot read judges the bake after mapping).
fn attention_with_bake(r: &Release, bake: Option<&crate::model::bake::Bake>) -> Vec<String> {
    let mut out: Vec<String> = r.attention.iter().map(|a| a.describe()).collect();
    let breached = r
        .attention
        .iter()
        .any(|a| matches!(a, crate::model::Attention::SloBreached(_)));
    if let Some(crate::model::bake::BakeState::Breached(b)) = bake.map(|b| &b.state)
        && !breached
    {
        out.push(crate::model::Attention::SloBreached(b.describe()).describe());
    }
    out
}

/// The databases to read and which releases use them.
pub struct Databases {
    pub configs: Vec<crate::migrations::DatabaseConfig>,
    pub links: Vec<crate::model::migration::DatabaseLink>,
}

/// A release's migration as `status` reports it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationStatus {
    pub database: Option<String>,
    pub name: Option<String>,
    pub phases: Vec<crate::model::migration::Phase>,
    /// Of aborting (or undoing) back to the revision before.
    pub rollback_safety: Option<RollbackSafety>,
    /// What cannot be read, and since when.
    pub problem: Option<String>,
    /// Each revision, the migration its code needs, and whether the schema
    /// as it is now runs it.
    pub revisions: Vec<RevisionSupport>,
    /// The way back past the contract, when the database's backups are
    /// read.
    pub restore: Option<ReleaseRestore>,
}

/// The way back past `r`'s contract: its database's backups, their
/// freshness from Prometheus and Velero's of its namespace; None when none
/// is a source.
fn release_restore(
    r: &Release,
    m: &crate::model::migration::Migration,
    state: &State,
) -> Option<ReleaseRestore> {
    use crate::app::restore;
    if !restore::has_source(state, r) {
        return None;
    }
    let mut out = match restore::database_backups(state, r) {
        Some(backups) => ReleaseRestore::of(backups, m, state.now),
        None => ReleaseRestore {
            rollback_to: None,
            way_back: None,
            alarms: Vec::new(),
            velero: None,
            freshness: None,
        },
    };
    out.velero = restore::velero(state, r);
    out.freshness = restore::freshness(state, r)
        .map(|f| crate::model::restore::freshness::FreshnessStatus::of(f, state.now));
    Some(out)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionSupport {
    pub number: Option<u64>,
    pub requires: Option<String>,
    pub supported: Option<bool>,
}

impl MigrationStatus {
    fn of(r: &Release, state: &State) -> Option<MigrationStatus> {
        if !crate::model::migration::has_migration(r) {
            return None;
        }
        let check = |a| crate::model::migration::rollback_check(r, a);
        Some(MigrationStatus {
            database: r.database.clone(),
            name: r.migration.as_ref().map(|m| m.name.clone()),
            phases: r
                .migration
                .as_ref()
                .map(|m| m.phases.clone())
                .unwrap_or_default(),
            rollback_safety: check(Action::Abort).or_else(|| check(Action::Undo(None))),
            problem: r.migration_problem.clone(),
            restore: r
                .migration
                .as_ref()
                .and_then(|m| release_restore(r, m, state)),
            revisions: r
                .revisions
                .iter()
                .map(|rev| RevisionSupport {
                    number: rev.number,
                    requires: rev.requires_migration().map(str::to_string),
                    supported: r
                        .migration
                        .as_ref()
                        .map(|m| crate::model::migration::supports(m, rev)),
                })
                .collect(),
        })
    }
}
