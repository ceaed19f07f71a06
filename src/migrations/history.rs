//! The classic tools, which keep a history of applied versions and no
//! phase: what each table says about the newest version, a failure, and a
//! run in progress. One description per tool; one reader for all.

use tokio_postgres::Client;

use super::{Catalog, failed};
use crate::model::migration::{Tool, ToolState};

/// Where a tool keeps its history and how to ask it three questions.
struct HistoryTable {
    tool: Tool,
    /// Whether this database holds the tool's tables (some names are shared).
    present: fn(&Catalog) -> bool,
    /// Zero or one row: the newest applied version (text) and when (timestamptz).
    applied: &'static str,
    /// Zero or one row: a failed, dirty or partial state, in words.
    failure: Option<&'static str>,
    /// Zero or one row: a run in progress or a stale lock, in words.
    running: Option<&'static str>,
}

const TABLES: &[HistoryTable] = &[
    HistoryTable {
        tool: Tool::Flyway,
        present: |c| c.has_columns("flyway_schema_history", &["installed_rank", "success"]),
        // Repeatable migrations have no version; `SCHEMA` and `DELETE` rows
        // are markers, and undo rows take a version away.
        applied: "SELECT version, installed_on::timestamptz FROM flyway_schema_history \
                  WHERE success AND version IS NOT NULL \
                  AND type NOT IN ('SCHEMA', 'DELETE') AND type NOT LIKE 'UNDO%' \
                  ORDER BY installed_rank DESC LIMIT 1",
        // Postgres rolls a failed migration back, so only one run outside a
        // transaction leaves such a row, and it stays until `flyway repair`.
        failure: Some(
            "SELECT 'version ' || coalesce(version, description) || ' failed (' || script \
             || '); it stays failed until flyway repair' \
             FROM flyway_schema_history WHERE NOT success ORDER BY installed_rank DESC LIMIT 1",
        ),
        running: None,
    },
    HistoryTable {
        tool: Tool::Liquibase,
        // Liquibase creates its lock table before its changelog, and the
        // running question needs both.
        present: |c| c.has("databasechangelog") && c.has("databasechangeloglock"),
        // A failed changeset writes no row: nothing to say about failures.
        applied: "SELECT id, dateexecuted::timestamptz FROM databasechangelog \
                  WHERE exectype IN ('EXECUTED', 'RERAN', 'MARK_RAN') \
                  ORDER BY orderexecuted DESC, dateexecuted DESC LIMIT 1",
        failure: None,
        running: Some(
            "SELECT 'locked by ' || coalesce(lockedby, 'an unknown client') \
             || coalesce(' since ' || to_char(lockgranted, 'YYYY-MM-DD HH24:MI:SS'), '') \
             || ': a run is active, or a crashed run left the lock' \
             FROM databasechangeloglock WHERE locked ORDER BY id LIMIT 1",
        ),
    },
    HistoryTable {
        tool: Tool::GolangMigrate,
        // Rails and others also name a table schema_migrations; only
        // golang-migrate's has `dirty`.
        present: |c| c.has_columns("schema_migrations", &["version", "dirty"]),
        // One row, written dirty before a migration runs and clean after.
        applied: "SELECT version::text, NULL::timestamptz FROM schema_migrations LIMIT 1",
        failure: Some(
            "SELECT 'version ' || version || ' is dirty: it failed or was interrupted; \
             fix it, then migrate force' FROM schema_migrations WHERE dirty LIMIT 1",
        ),
        running: None,
    },
    HistoryTable {
        tool: Tool::Sqlx,
        present: |c| {
            c.has_columns(
                "_sqlx_migrations",
                &["version", "success", "execution_time"],
            )
        },
        applied: "SELECT version::text, installed_on::timestamptz FROM _sqlx_migrations \
                  WHERE success ORDER BY version DESC LIMIT 1",
        // `success = false` is what sqlx itself calls dirty; -1 is the
        // execution time it writes with the row and replaces once the
        // migration's transaction has committed.
        failure: Some(
            "SELECT coalesce( \
               (SELECT 'version ' || version || ' is dirty: it failed part-way' \
                FROM _sqlx_migrations WHERE NOT success ORDER BY version LIMIT 1), \
               (SELECT 'version ' || version || ' was applied but its run never finished \
                (execution_time = -1)' \
                FROM _sqlx_migrations WHERE execution_time = -1 ORDER BY version LIMIT 1))",
        ),
        running: None,
    },
    HistoryTable {
        tool: Tool::Alembic,
        present: |c| c.has_columns("alembic_version", &["version_num"]),
        // One row per head; branches give several.
        applied: "SELECT string_agg(version_num, ', ' ORDER BY version_num), NULL::timestamptz \
                  FROM alembic_version HAVING count(*) > 0",
        failure: None,
        running: None,
    },
    HistoryTable {
        tool: Tool::Rails,
        present: |c| {
            c.has_columns("schema_migrations", &["version"])
                && !c.has_columns("schema_migrations", &["dirty"])
                && c.has("ar_internal_metadata")
        },
        // Versions are timestamps as strings; the longest, then the
        // greatest, is the newest. Rails records no time.
        applied: "SELECT version::text, NULL::timestamptz FROM schema_migrations \
                  ORDER BY length(version) DESC, version DESC LIMIT 1",
        failure: None,
        running: None,
    },
    HistoryTable {
        tool: Tool::Django,
        present: |c| c.has_columns("django_migrations", &["app", "name", "applied"]),
        applied: "SELECT app || '.' || name, applied::timestamptz FROM django_migrations \
                  ORDER BY applied DESC, id DESC LIMIT 1",
        failure: None,
        running: None,
    },
    HistoryTable {
        tool: Tool::Diesel,
        present: |c| c.has_columns("__diesel_schema_migrations", &["version", "run_on"]),
        applied: "SELECT version::text, run_on::timestamptz FROM __diesel_schema_migrations \
                  ORDER BY version DESC LIMIT 1",
        failure: None,
        running: None,
    },
];

/// Every classic tool whose tables this database holds.
pub(super) async fn read(client: &Client, catalog: &Catalog) -> Result<Vec<ToolState>, String> {
    let mut states = Vec::new();
    for table in TABLES.iter().filter(|t| (t.present)(catalog)) {
        states.push(read_one(client, table).await?);
    }
    Ok(states)
}

async fn read_one(client: &Client, table: &HistoryTable) -> Result<ToolState, String> {
    // The three questions in one statement, one round trip.
    let sql = format!(
        "SELECT a.applied, a.applied_at, ({failure}), ({running}) \
         FROM (SELECT 1) AS one LEFT JOIN LATERAL ({applied}) AS a(applied, applied_at) ON true",
        applied = table.applied,
        failure = table.failure.unwrap_or("SELECT NULL::text"),
        running = table.running.unwrap_or("SELECT NULL::text"),
    );
    let row = client
        .query_one(&sql, &[])
        .await
        .map_err(failed(&format!("reading the {} tables", table.tool.word())))?;
    Ok(ToolState {
        applied: row.get(0),
        applied_at: row.get(1),
        failure: row.get(2),
        running: row.get(3),
        ..ToolState::new(table.tool)
    })
}
