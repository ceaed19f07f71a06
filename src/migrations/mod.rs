//! What a PostgreSQL database says about its schema migrations: the
//! history tables of the classic tools.
//!
//! Strictly read-only. Everything is read inside one `READ ONLY`
//! transaction with short statement and lock timeouts, straight from the
//! tables: no tool's own code runs, no DDL is sent.
//!
//! Connections are plain TCP for now (`NoTls`): see [`DatabaseConfig`].

mod connect;
mod history;

use std::time::Duration;

use chrono::Utc;
use tokio_postgres::Client;
use tokio_postgres::types::FromSql;

pub use connect::DatabaseConfig;

use crate::model::migration::DatabaseReading;

/// Read everything `db` says now. `timeout` bounds the connection and,
/// separately, the reading; an unreachable, refusing or slow database is an
/// `Err` naming it by its config name and host.
pub async fn read(db: &DatabaseConfig, timeout: Duration) -> Result<DatabaseReading, String> {
    let (client, label) = connect::connect(db, timeout).await?;
    let reading = tokio::time::timeout(timeout, read_all(&client, &db.name))
        .await
        .map_err(|_| format!("{label}: no answer within {timeout:?}"))?;
    reading.map_err(|e| format!("{label}: {e}"))
}

async fn read_all(client: &Client, database: &str) -> Result<DatabaseReading, String> {
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
    let tools = history::read(client, &catalog).await?;
    client
        .batch_execute("COMMIT")
        .await
        .map_err(failed("ending the transaction"))?;
    Ok(DatabaseReading {
        database: database.to_string(),
        read_at: Utc::now(),
        tools,
        blocked: Vec::new(),
        index_builds: Vec::new(),
    })
}

/// The tables migration tools keep, unqualified ones as `search_path` finds
/// them (as the tools themselves do).
const PROBED_TABLES: &[&str] = &[
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

/// Which of the probed tables exist here, with their columns.
struct Catalog {
    tables: Vec<Table>,
}

struct Table {
    name: String,
    columns: Vec<String>,
}

impl Catalog {
    async fn read(client: &Client) -> Result<Catalog, String> {
        let what = "the catalog";
        let rows = client
            .query(
                "SELECT p.name, \
                        array(SELECT a.attname::text FROM pg_attribute a \
                              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) \
                 FROM unnest($1::text[]) AS p(name) \
                 JOIN pg_class c ON c.oid = to_regclass(p.name)",
                &[&PROBED_TABLES],
            )
            .await
            .map_err(failed("reading the catalog"))?;
        let tables = rows
            .iter()
            .map(|row| {
                Ok(Table {
                    name: column(row, 0, what)?,
                    columns: column(row, 1, what)?,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Catalog { tables })
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
