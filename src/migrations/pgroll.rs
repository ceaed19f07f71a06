//! pgroll: one row per migration in `pgroll.migrations`, `done = false`
//! while a migration is active (expanded, not contracted), and one version
//! schema `<schema>_<version>` per live version. `complete` drops the
//! previous version schema.
//!
//! Read directly: pgroll's own state code re-runs its DDL when it is older
//! than the binary.

use chrono::{DateTime, Utc};
use tokio_postgres::Client;

use super::{Catalog, column, failed, migration};
use crate::model::migration::PhaseState::{Done, Pending, Running};
use crate::model::migration::{Migration, Tool, ToolState};

const BACKFILLED: &str = "pgroll backfills during start";

/// One row, with its version schema and its parent's, and whether they exist.
#[derive(Debug, Clone)]
struct Row {
    name: String,
    created_at: Option<DateTime<Utc>>,
    version_schema: String,
    version_schema_live: bool,
    previous_schema: Option<String>,
    previous_schema_live: bool,
}

pub(super) async fn read(client: &Client, catalog: &Catalog) -> Result<ToolState, String> {
    // Older pgroll has no `migration_type`: every row is its own.
    let own = if catalog.has_columns("pgroll.migrations", &["migration_type"]) {
        "m.migration_type = 'pgroll'"
    } else {
        "true"
    };
    let active = newest(client, "NOT m.done").await?;
    let applied = newest(client, "m.done").await?;
    let completed = newest(client, &format!("m.done AND {own}")).await?;
    let session = client
        .query_opt(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgroll' \
             AND datname = current_database() ORDER BY backend_start LIMIT 1",
            &[],
        )
        .await
        .map_err(failed("reading pgroll's sessions"))?
        .map(|row| column(&row, 0, "pgroll's sessions"))
        .transpose()?;
    Ok(tool_state(active, applied, completed, session))
}

/// The newest row matching `filter` (SQL over `m`, the row).
async fn newest(client: &Client, filter: &str) -> Result<Option<Row>, String> {
    // `created_at` was a `timestamp` in older versions.
    let sql = format!(
        "SELECT m.name, m.created_at::timestamptz, v.version, \
                v.version IN (SELECT nspname::text FROM pg_namespace), v.previous, \
                coalesce(v.previous IN (SELECT nspname::text FROM pg_namespace), false) \
         FROM pgroll.migrations m \
         LEFT JOIN pgroll.migrations p ON p.schema = m.schema AND p.name = m.parent \
         CROSS JOIN LATERAL ( \
           SELECT m.schema || '_' || coalesce(m.migration->>'version_schema', m.name) AS version, \
                  p.schema || '_' || coalesce(p.migration->>'version_schema', p.name) AS previous) v \
         WHERE {filter} ORDER BY m.created_at DESC LIMIT 1"
    );
    let what = "pgroll.migrations";
    let Some(row) = client
        .query_opt(&sql, &[])
        .await
        .map_err(failed("reading pgroll.migrations"))?
    else {
        return Ok(None);
    };
    Ok(Some(Row {
        name: column(&row, 0, what)?,
        created_at: column(&row, 1, what)?,
        version_schema: column(&row, 2, what)?,
        version_schema_live: column(&row, 3, what)?,
        previous_schema: column(&row, 4, what)?,
        previous_schema_live: column(&row, 5, what)?,
    }))
}

/// The active migration if there is one, else the newest completed one;
/// `applied` is the newest done row of any kind (inferred DDL, baselines).
fn tool_state(
    active: Option<Row>,
    applied: Option<Row>,
    completed: Option<Row>,
    session: Option<i32>,
) -> ToolState {
    let mut out = ToolState::new(Tool::Pgroll);
    // pgroll records when a migration started, never when it completed.
    out.applied = applied.as_ref().map(|r| r.name.clone());
    out.applied_at = applied.and_then(|r| r.created_at);
    out.running = session.map(|pid| format!("a pgroll session is connected (pid {pid})"));
    out.migration = match (active, completed) {
        (Some(row), _) => Some(active_migration(&row, session)),
        (None, Some(row)) => Some(completed_migration(&row)),
        (None, None) => None,
    };
    out
}

/// Expanded (pgroll backfills during start), old and new versions both
/// served, the contract to come.
fn active_migration(row: &Row, session: Option<i32>) -> Migration {
    let version = if row.version_schema_live {
        format!(
            "pgroll: active; version schema {} exists",
            row.version_schema
        )
    } else {
        format!(
            "pgroll: active; version schema {} not created",
            row.version_schema
        )
    };
    let backfill = match session {
        Some(pid) => (
            Running,
            format!("pgroll backfills during start; a pgroll session is connected (pid {pid})"),
        ),
        None => (Done, BACKFILLED.to_string()),
    };
    let contract = match (&row.previous_schema, row.previous_schema_live) {
        (Some(previous), true) => {
            format!("pgroll complete not run; previous version schema {previous} still live")
        }
        _ => "pgroll complete not run".to_string(),
    };
    let mut m = migration(
        &row.name,
        [
            (Done, &version),
            (backfill.0, &backfill.1),
            (
                Pending,
                "pgroll: clients pick a version schema by search_path",
            ),
            (Pending, &contract),
        ],
    );
    m.phases[0].started = row.created_at;
    m
}

/// Contracted: `complete` dropped the previous version schema. pgroll
/// records no completion time.
fn completed_migration(row: &Row) -> Migration {
    let contract = match (&row.previous_schema, row.previous_schema_live) {
        (Some(previous), false) => {
            format!("pgroll: done; previous version schema {previous} dropped")
        }
        (Some(previous), true) => {
            format!("pgroll: done; previous version schema {previous} still exists")
        }
        (None, _) => "pgroll: done".to_string(),
    };
    let mut m = migration(
        &row.name,
        [
            (Done, "pgroll: started"),
            (Done, BACKFILLED),
            (Done, "pgroll: complete ran, so clients had switched"),
            (Done, &contract),
        ],
    );
    m.phases[0].started = row.created_at;
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, previous_live: bool) -> Row {
        Row {
            name: name.into(),
            created_at: None,
            version_schema: format!("public_{name}"),
            version_schema_live: true,
            previous_schema: Some("public_01_initial".into()),
            previous_schema_live: previous_live,
        }
    }

    fn states(m: &Migration) -> Vec<&'static str> {
        m.phases.iter().map(|p| p.state.word()).collect()
    }

    #[test]
    fn an_active_migration_is_expanded_with_the_contract_pending() {
        let s = tool_state(
            Some(row("02_add", true)),
            Some(row("01_initial", false)),
            Some(row("01_initial", false)),
            None,
        );
        let m = s.migration.unwrap();
        assert_eq!(m.name, "02_add");
        assert_eq!(states(&m), ["done", "done", "pending", "pending"]);
        assert!(
            m.phases[3]
                .evidence
                .contains("public_01_initial still live")
        );
        assert_eq!(s.applied.as_deref(), Some("01_initial"));
    }

    #[test]
    fn a_done_migration_has_contracted() {
        let s = tool_state(
            None,
            Some(row("02_add", false)),
            Some(row("02_add", false)),
            None,
        );
        let m = s.migration.unwrap();
        assert_eq!(states(&m), ["done", "done", "done", "done"]);
        assert!(m.contract_begun());
        assert!(m.phases[3].evidence.contains("public_01_initial dropped"));
    }
}
