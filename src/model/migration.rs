//! Expand/contract migrations beside a release: the phases (expand,
//! backfill, switch, contract), their states, and whether rolling the
//! release back is still safe for the schema.

use crate::model::{Action, Release, Revision, Role};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The annotation on a pod template naming the migration the revision needs.
pub const REQUIRES_ANNOTATION: &str = "cutover.dev/requires-migration";
/// Annotations on a rollout linking it to its database and migration.
pub const DATABASE_ANNOTATION: &str = "cutover.dev/database";
pub const MIGRATION_ANNOTATION: &str = "cutover.dev/migration";
/// Labels of the migration Jobs.
pub const JOB_MIGRATION_LABEL: &str = "cutover.dev/migration";
pub const JOB_PHASE_LABEL: &str = "cutover.dev/phase";
pub const JOB_RELEASE_LABEL: &str = "cutover.dev/release";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PhaseName {
    Expand,
    Backfill,
    Switch,
    Contract,
}

impl PhaseName {
    pub const ALL: [PhaseName; 4] = [
        PhaseName::Expand,
        PhaseName::Backfill,
        PhaseName::Switch,
        PhaseName::Contract,
    ];

    pub fn word(self) -> &'static str {
        match self {
            PhaseName::Expand => "expand",
            PhaseName::Backfill => "backfill",
            PhaseName::Switch => "switch",
            PhaseName::Contract => "contract",
        }
    }

    /// The label value of a Job; `switch-reads` and `switch-writes` are
    /// both the switch.
    pub fn parse(label: &str) -> Option<PhaseName> {
        match label {
            "expand" => Some(PhaseName::Expand),
            "backfill" | "migrate" => Some(PhaseName::Backfill),
            "switch" | "switch-reads" | "switch-writes" => Some(PhaseName::Switch),
            "contract" => Some(PhaseName::Contract),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PhaseState {
    Pending,
    Running,
    Done,
    Failed,
}

impl PhaseState {
    pub fn word(self) -> &'static str {
        match self {
            PhaseState::Pending => "pending",
            PhaseState::Running => "running",
            PhaseState::Done => "done",
            PhaseState::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Phase {
    pub name: PhaseName,
    pub state: PhaseState,
    pub started: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    /// What says so: `Job payments-add-display-name-expand`, `reshape` …
    pub evidence: String,
}

/// One migration and its four phases, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Migration {
    pub name: String,
    pub phases: Vec<Phase>,
}

impl Migration {
    /// Every phase pending.
    pub fn new(name: impl Into<String>) -> Migration {
        Migration {
            name: name.into(),
            phases: PhaseName::ALL
                .into_iter()
                .map(|name| Phase {
                    name,
                    state: PhaseState::Pending,
                    started: None,
                    finished: None,
                    evidence: String::new(),
                })
                .collect(),
        }
    }

    pub fn phase(&self, name: PhaseName) -> Option<&Phase> {
        self.phases.iter().find(|p| p.name == name)
    }

    pub fn phase_mut(&mut self, name: PhaseName) -> Option<&mut Phase> {
        self.phases.iter_mut().find(|p| p.name == name)
    }

    /// The phase the migration is at: the furthest one begun, else the
    /// first.
    pub fn current(&self) -> Option<&Phase> {
        self.phases
            .iter()
            .rev()
            .find(|p| p.state != PhaseState::Pending)
            .or_else(|| self.phases.first())
    }

    fn state(&self, name: PhaseName) -> PhaseState {
        self.phase(name).map_or(PhaseState::Pending, |p| p.state)
    }

    /// The contract has begun: the old schema is going or gone.
    pub fn contract_begun(&self) -> bool {
        self.state(PhaseName::Contract) != PhaseState::Pending
    }

    /// The new schema exists: code that needs it can run.
    pub fn expanded(&self) -> bool {
        self.state(PhaseName::Expand) == PhaseState::Done
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "safety", content = "reason")]
pub enum RollbackSafety {
    Safe,
    /// Rolling back would run code on a schema that no longer supports it.
    Unsafe(String),
    /// The migration's state cannot be read now.
    Unknown(String),
}

/// Whether going back to a revision that needs `rollback_requires` (None:
/// a revision that predates the migration) is safe with `migration` in
/// its current state.
pub fn rollback_safety(migration: &Migration, rollback_requires: Option<&str>) -> RollbackSafety {
    if rollback_requires == Some(migration.name.as_str()) || !migration.contract_begun() {
        return RollbackSafety::Safe;
    }
    let contract = migration.phase(PhaseName::Contract);
    let when = contract
        .and_then(|p| p.finished.or(p.started))
        .map(|t| format!(" at {}", t.format("%H:%M")))
        .unwrap_or_default();
    let state = contract.map_or("begun", |p| p.state.word());
    RollbackSafety::Unsafe(format!(
        "contract of {} {state}{when}: the previous schema version is gone",
        migration.name
    ))
}

/// The revision an action returns traffic to, when it is a rollback: an
/// abort goes back to the stable (or active) revision, an undo to the
/// chosen one.
pub fn rollback_target(release: &Release, action: Action) -> Option<&Revision> {
    match action {
        Action::Abort => release
            .revision_by_role(Role::Stable)
            .or_else(|| release.revision_by_role(Role::Active)),
        Action::Undo(Some(n)) => release.revision(n),
        Action::Undo(None) => release.previous_revision(),
        _ => None,
    }
}

/// Whether `release` is linked to a migration at all: by annotation, by a
/// database link, or through migration Jobs found for it.
pub fn has_migration(release: &Release) -> bool {
    release.migration.is_some()
        || release.database.is_some()
        || release.annotations.contains_key(MIGRATION_ANNOTATION)
        || release.annotations.contains_key(DATABASE_ANNOTATION)
}

/// The schema check of a rollback by `action`: None when it is no rollback
/// or the release has no migration; otherwise safe, unsafe or unknown.
pub fn rollback_check(release: &Release, action: Action) -> Option<RollbackSafety> {
    let target = rollback_target(release, action)?;
    if !has_migration(release) {
        return None;
    }
    let unknown =
        |why: &str| RollbackSafety::Unknown(format!("the migration's state is unknown: {why}"));
    Some(match (&release.migration, &release.migration_problem) {
        // A contract seen begun is unsafe, whatever else cannot be read.
        (Some(m), _) if m.contract_begun() => rollback_safety(m, target.requires_migration()),
        (_, Some(problem)) => unknown(problem),
        (Some(m), None) => rollback_safety(m, target.requires_migration()),
        (None, None) => unknown("no migration Jobs are visible and no database is linked"),
    })
}

/// A release (or every release of a namespace) and its database, from the
/// config file; the rollout's `cutover.dev/database` annotation wins.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseLink {
    pub namespace: String,
    /// None: every release of the namespace.
    pub release: Option<String>,
    pub database: String,
    /// The migration it belongs to, when the database holds several.
    pub migration: Option<String>,
}

/// The database of a release: its annotation, else a link naming it, else
/// its namespace's link; with the link's migration, which becomes the
/// release's annotation when it has none ([`link_migration`]).
pub fn database_link<'a>(
    release: &Release,
    links: &'a [DatabaseLink],
) -> Option<(String, Option<&'a str>)> {
    if let Some(db) = release.annotations.get(DATABASE_ANNOTATION) {
        return Some((db.clone(), None));
    }
    let ns = &release.key.namespace;
    let link = links
        .iter()
        .find(|l| &l.namespace == ns && l.release.as_ref() == Some(&release.key.name))
        .or_else(|| {
            links
                .iter()
                .find(|l| &l.namespace == ns && l.release.is_none())
        })?;
    Some((link.database.clone(), link.migration.as_deref()))
}

/// Record a link's migration as the release's annotation, unless it names one.
pub fn link_migration(release: &mut Release, migration: Option<&str>) {
    if let Some(m) = migration {
        release
            .annotations
            .entry(MIGRATION_ANNOTATION.to_string())
            .or_insert_with(|| m.to_string());
    }
}

/// What is known of a release's database.
#[derive(Debug, Clone, Copy)]
pub enum DatabaseView<'a> {
    /// Named by the release but not in the config: its Jobs are all there is.
    NotConfigured,
    /// Linked, and not read yet.
    Unread,
    Failed {
        error: &'a str,
        since: DateTime<Utc>,
    },
    Read(&'a DatabaseReading),
}

/// The database's word on the migration, over the Jobs' (Reshape and
/// pgroll record their phases themselves); what is not known and why; and
/// the alarms of code and schema out of step.
pub fn settle(release: &mut Release, database: Option<(&str, DatabaseView<'_>)>) {
    let wanted = release
        .annotations
        .get(MIGRATION_ANNOTATION)
        .cloned()
        .or_else(|| release.migration.as_ref().map(|m| m.name.clone()));
    if let Some((name, view)) = database {
        release.database = Some(name.to_string());
        match view {
            DatabaseView::Read(reading) => {
                let recorded = reading
                    .tools
                    .iter()
                    .filter_map(|t| t.migration.as_ref())
                    .find(|m| wanted.as_deref().is_none_or(|w| w == m.name));
                if let Some(m) = recorded {
                    release.migration = Some(m.clone());
                }
            }
            DatabaseView::Failed { error, since } => {
                release.migration_problem = Some(format!(
                    "database {name} unreadable since {}: {error}",
                    since.format("%H:%M:%S")
                ));
            }
            DatabaseView::Unread => {
                release.migration_problem = Some(format!("database {name} not read yet"));
            }
            DatabaseView::NotConfigured if release.migration.is_none() => {
                release.migration_problem = Some(format!(
                    "database {name} is not configured (add [databases.{name}] or --database {name}=URL) and no migration Jobs are visible"
                ));
            }
            DatabaseView::NotConfigured => {}
        }
    }
    if let Some(m) = &release.migration {
        let alarms = sequencing_alarms(release, m);
        release.attention.extend(
            alarms
                .into_iter()
                .map(crate::model::Attention::MigrationOrder),
        );
    }
}

/// Whether the schema, as `migration` leaves it now, runs a revision's
/// code: code that needs the migration runs once the expand is done, code
/// from before it until the contract begins.
pub fn supports(migration: &Migration, revision: &Revision) -> bool {
    if revision.requires_migration() == Some(migration.name.as_str()) {
        migration.expanded()
    } else {
        !migration.contract_begun()
    }
}

/// Code and schema out of step: a contract that began while pods of a
/// revision needing the old schema still serve, or pods of a revision that
/// needs a schema whose expand is not done.
pub fn sequencing_alarms(release: &Release, migration: &Migration) -> Vec<String> {
    let describe = |r: &Revision| match r.number {
        Some(n) => format!("revision {n}"),
        None => format!("ReplicaSet {}", r.replica_set),
    };
    let state = |name: PhaseName| migration.phase(name).map_or("pending", |p| p.state.word());
    release
        .revisions
        .iter()
        .filter(|r| (r.ready > 0 || r.desired > 0) && !supports(migration, r))
        .map(|r| {
            if r.requires_migration() == Some(migration.name.as_str()) {
                format!(
                    "{} needs {}, whose expand is {}, not done",
                    describe(r),
                    migration.name,
                    state(PhaseName::Expand)
                )
            } else {
                format!(
                    "contract of {} {} while {} ({} ready pods) still needs the old schema",
                    migration.name,
                    state(PhaseName::Contract),
                    describe(r),
                    r.ready
                )
            }
        })
        .collect()
}

/// A migration tool whose state a database holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    Reshape,
    Pgroll,
    Flyway,
    Liquibase,
    GolangMigrate,
    Sqlx,
    Alembic,
    Rails,
    Django,
    Diesel,
}

impl Tool {
    /// The tool's own name for itself, as on its command line.
    pub fn word(self) -> &'static str {
        match self {
            Tool::Reshape => "reshape",
            Tool::Pgroll => "pgroll",
            Tool::Flyway => "flyway",
            Tool::Liquibase => "liquibase",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Sqlx => "sqlx",
            Tool::Alembic => "alembic",
            Tool::Rails => "rails",
            Tool::Django => "django",
            Tool::Diesel => "diesel",
        }
    }
}

/// What one tool's tables say, read at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolState {
    pub tool: Tool,
    /// Expand/contract tools (Reshape, pgroll): the migration in flight or
    /// the latest completed one, with its phases.
    pub migration: Option<Migration>,
    /// The newest applied version or migration name.
    pub applied: Option<String>,
    pub applied_at: Option<DateTime<Utc>>,
    /// A failed, dirty or partial state, in words (`version 20 is dirty`).
    pub failure: Option<String>,
    /// Known pending migrations, where the tables can tell.
    pub pending: Vec<String>,
    /// A run in progress or a stale lock (Liquibase's lock table, Reshape's
    /// advisory lock held).
    pub running: Option<String>,
}

impl ToolState {
    /// Nothing read yet: no migration, no version, no failure, nothing running.
    pub fn new(tool: Tool) -> ToolState {
        ToolState {
            tool,
            migration: None,
            applied: None,
            applied_at: None,
            failure: None,
            pending: Vec::new(),
            running: None,
        }
    }
}

/// A session waiting for a lock, and the sessions in its way.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockedSession {
    pub pid: i32,
    pub application: String,
    /// The statement, cut short.
    pub query: String,
    pub waiting_since: Option<DateTime<Utc>>,
    /// What it waits for (`relation payments.users`, `advisory`).
    pub waits_for: String,
    pub blocked_by: Vec<BlockingSession>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockingSession {
    pub pid: i32,
    pub application: String,
    pub state: String,
    pub query: String,
}

/// An index build in progress (`pg_stat_progress_create_index`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexBuild {
    pub pid: i32,
    pub relation: String,
    pub index: String,
    pub phase: String,
    pub blocks_done: i64,
    pub blocks_total: i64,
}

/// Everything read from one database at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseReading {
    /// The name the config gives the database (never its connection string).
    pub database: String,
    pub read_at: DateTime<Utc>,
    pub tools: Vec<ToolState>,
    pub blocked: Vec<BlockedSession>,
    pub index_builds: Vec<IndexBuild>,
    /// How the connection was encrypted: `TLSv1.3, verify-full`; None
    /// when it was not.
    pub tls: Option<String>,
}

impl DatabaseReading {
    /// What `tool`'s tables say, when this database has them.
    pub fn tool(&self, tool: Tool) -> Option<&ToolState> {
        self.tools.iter().find(|t| t.tool == tool)
    }
}

#[cfg(test)]
mod tests;
