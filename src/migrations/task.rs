//! Reads every configured database again and again, and hands each
//! reading (or failure) to the app.

use super::{DatabaseConfig, read};
use crate::model::migration::DatabaseReading;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How long one reading may take before it counts as failed.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// One database read, or why it could not be.
pub type DatabaseSink =
    Arc<dyn Fn(String, Result<DatabaseReading, String>, DateTime<Utc>) + Send + Sync>;

/// Reads the databases every `refresh`; stops when dropped.
pub struct DatabasesTask(JoinHandle<()>);

impl DatabasesTask {
    pub fn spawn(databases: Vec<DatabaseConfig>, refresh: Duration, sink: DatabaseSink) -> Self {
        DatabasesTask(tokio::spawn(async move {
            loop {
                let sink = &sink;
                futures::stream::iter(&databases)
                    .for_each_concurrent(4, |db| async move {
                        let result = read(db, READ_TIMEOUT).await;
                        sink(db.name.clone(), result, Utc::now());
                    })
                    .await;
                tokio::time::sleep(refresh).await;
            }
        }))
    }
}

impl Drop for DatabasesTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}
