//! What a PostgreSQL database says about its schema migrations: the state
//! tables of Reshape and pgroll, the history tables of the classic tools,
//! sessions waiting on locks and index builds in progress.
//!
//! Strictly read-only. Everything is read inside one `READ ONLY`
//! transaction with short statement and lock timeouts, straight from the
//! tables and the statistics views: no tool's own code runs, no advisory
//! lock is taken (held ones are seen in `pg_locks`), no DDL is sent.
//!
//! Connections use TLS as libpq's `sslmode` says (see `tls`).

mod activity;
pub mod backups;
mod connect;
mod conninfo;
pub mod freshness;
mod history;
mod pgroll;
mod reshape;
pub(crate) mod task;
mod tls;

use std::time::Duration;

use chrono::Utc;
use tokio_postgres::Client;
use tokio_postgres::types::FromSql;

pub use connect::{DatabaseConfig, DatabaseConnection, connect};
pub use tls::SslMode;

use crate::model::migration::{DatabaseReading, Migration, PhaseState};
use activity::AdvisoryLocks;

/// Read everything `db` says now. `timeout` bounds the connection and,
/// separately, the reading; an unreachable, refusing or slow database is an
/// `Err` naming it by its config name and host.
pub async fn read(db: &DatabaseConfig, timeout: Duration) -> Result<DatabaseReading, String> {
    let DatabaseConnection { client, label, tls } = connect(db, timeout).await?;
    let reading = tokio::time::timeout(timeout, read_all(&client, &db.name, tls))
        .await
        .map_err(|_| format!("{label}: no answer within {timeout:?}"))?;
    reading.map_err(|e| format!("{label}: {e}"))
}

async fn read_all(
    client: &Client,
    database: &str,
    tls: Option<String>,
) -> Result<DatabaseReading, String> {
    // Short timeouts: a monitor must never queue behind a migration's
    // ACCESS EXCLUSIVE lock and so hold up everything behind it.
    client
        .batch_execute(
            "SET application_name = 'cutover'; BEGIN READ ONLY; \
             SET LOCAL statement_timeout = '2s'; SET LOCAL lock_timeout = '500ms'",
        )
        .await
        .map_err(failed("starting a read-only transaction"))?;
    let catalog = Catalog::read(client).await?;
    let locks = AdvisoryLocks::read(client).await?;
    let mut tools = Vec::new();
    if catalog.has("reshape.data") {
        tools.push(reshape::read(client, &catalog, &locks).await?);
    }
    if catalog.has("pgroll.migrations") {
        tools.push(pgroll::read(client, &catalog).await?);
    }
    tools.extend(history::read(client, &catalog).await?);
    for state in tools.iter_mut().filter(|s| s.running.is_none()) {
        if let Some(pid) = locks.holder(state.tool, &catalog) {
            state.running = Some(format!(
                "a {} run holds its advisory lock (pid {pid})",
                state.tool.word()
            ));
        }
    }
    let blocked = activity::blocked_sessions(client).await?;
    let index_builds = activity::index_builds(client).await?;
    client
        .batch_execute("COMMIT")
        .await
        .map_err(failed("ending the transaction"))?;
    Ok(DatabaseReading {
        database: database.to_string(),
        read_at: Utc::now(),
        tools,
        blocked,
        index_builds,
        tls,
    })
}

/// The tables migration tools keep, unqualified ones as `search_path` finds
/// them (as the tools themselves do).
const PROBED_TABLES: &[&str] = &[
    "reshape.data",
    "reshape.migrations",
    "pgroll.migrations",
    "flyway_schema_history",
    "databasechangelog",
    "databasechangeloglock",
    "schema_migrations",
    "ar_internal_metadata",
    "_sqlx_migrations",
    "alembic_version",
    "django_migrations",
    "__diesel_schema_migrations",
];

/// Which of the probed tables exist here, with their schema and columns.
struct Catalog {
    /// `current_database()`, part of some tools' lock keys.
    database: String,
    tables: Vec<Table>,
}

struct Table {
    name: String,
    schema: String,
    columns: Vec<String>,
}

impl Catalog {
    async fn read(client: &Client) -> Result<Catalog, String> {
        let what = "the catalog";
        let rows = client
            .query(
                "SELECT p.name, n.nspname::text, current_database()::text, \
                        array(SELECT a.attname::text FROM pg_attribute a \
                              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) \
                 FROM unnest($1::text[]) AS p(name) \
                 JOIN pg_class c ON c.oid = to_regclass(p.name) \
                 JOIN pg_namespace n ON n.oid = c.relnamespace",
                &[&PROBED_TABLES],
            )
            .await
            .map_err(failed("reading the catalog"))?;
        // Only needed when some tool's table is here.
        let database = match rows.first() {
            Some(row) => column(row, 2, what)?,
            None => String::new(),
        };
        let tables = rows
            .iter()
            .map(|row| {
                Ok(Table {
                    name: column(row, 0, what)?,
                    schema: column(row, 1, what)?,
                    columns: column(row, 3, what)?,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Catalog { database, tables })
    }

    #[cfg(test)]
    fn empty(database: &str) -> Catalog {
        Catalog {
            database: database.to_string(),
            tables: Vec::new(),
        }
    }

    fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    fn has(&self, name: &str) -> bool {
        self.table(name).is_some()
    }

    fn has_columns(&self, name: &str, columns: &[&str]) -> bool {
        self.table(name).is_some_and(|t| {
            columns
                .iter()
                .all(|c| t.columns.iter().any(|have| have == c))
        })
    }
}

/// A migration with its four phases' states and evidence, in order.
fn migration(name: &str, phases: [(PhaseState, &str); 4]) -> Migration {
    let mut m = Migration::new(name);
    for (phase, (state, evidence)) in m.phases.iter_mut().zip(phases) {
        phase.state = state;
        phase.evidence = evidence.to_string();
    }
    m
}

/// Column `index` of `row`; a type the reader did not expect is an error,
/// not a panic.
fn column<'a, T: FromSql<'a>>(
    row: &'a tokio_postgres::Row,
    index: usize,
    what: &str,
) -> Result<T, String> {
    row.try_get(index)
        .map_err(|e| format!("reading {what}: column {index}: {e}"))
}

/// Turns a query's error into words saying what was being done.
fn failed(doing: &str) -> impl FnOnce(tokio_postgres::Error) -> String + '_ {
    move |e| match e.as_db_error() {
        Some(db) => format!("{doing}: {}", db.message()),
        None => format!("{doing}: {e}"),
    }
}
