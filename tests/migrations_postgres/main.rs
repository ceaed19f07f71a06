//! The migration readers against a real PostgreSQL: Reshape driven by its
//! own command line, pgroll and the classic tools' tables as those tools
//! create them, lock waits and index builds made for real, an unreachable
//! server, and a password that must never show.
//!
//! One server for the whole binary; each test has its own database.

#[path = "../support/mod.rs"]
mod support;

mod activity;
mod backups;
mod failures_and_secrets;
mod history_tables;
mod linked_rollout;
mod pgroll;
mod reshape;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use cutover::migrations::{DatabaseConfig, read};
use cutover::model::migration::{
    DatabaseReading, Migration, PhaseName, RollbackSafety, Tool, ToolState, rollback_safety,
};
use support::postgres::{Postgres, free_port, passfile};
use tokio_postgres::Client;

const TIMEOUT: Duration = Duration::from_secs(5);

/// A fresh database on the shared server, a superuser connection to it and
/// the config the reader uses (user `postgres`, trusted on loopback).
async fn database(test: &str, name: &str) -> Option<(Arc<Postgres>, Client, DatabaseConfig)> {
    let server = Postgres::shared(test)?;
    let client = server.create_database(name).await;
    let config = DatabaseConfig {
        name: name.to_string(),
        url: server.url("postgres", name),
        ..Default::default()
    };
    Some((server, client, config))
}

async fn reading(db: &DatabaseConfig) -> DatabaseReading {
    read(db, TIMEOUT).await.expect("the database can be read")
}

async fn tool(db: &DatabaseConfig, tool: Tool) -> ToolState {
    let reading = reading(db).await;
    let tools: Vec<Tool> = reading.tools.iter().map(|t| t.tool).collect();
    assert_eq!(tools, [tool], "the only tool found");
    reading.tool(tool).cloned().expect("the tool")
}

fn states(m: &Migration) -> Vec<&'static str> {
    m.phases.iter().map(|p| p.state.word()).collect()
}

async fn exec(client: &Client, sql: &str) {
    client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
}

async fn backend_pid(client: &Client) -> i32 {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0)
}

/// Wait until `sql` (one boolean) holds; the bound only stops a hung test.
async fn until(client: &Client, sql: &str) {
    let start = Instant::now();
    loop {
        let row = client.query_one(sql, &[]).await.expect(sql);
        if row.get::<_, bool>(0) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "never: {sql}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
