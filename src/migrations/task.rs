//! Reads every configured database, and its backup repository when one is
//! configured, again and again, and hands each reading (or failure) to the
//! app.

use super::{DatabaseConfig, backups, read};
use crate::model::migration::DatabaseReading;
use crate::model::restore::Repository;
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

/// One backup repository read, or why it could not be.
pub type BackupsSink = Arc<dyn Fn(String, Result<Repository, String>, DateTime<Utc>) + Send + Sync>;

/// Where the task's readings go.
#[derive(Clone)]
pub struct DatabaseSinks {
    pub reading: DatabaseSink,
    pub backups: BackupsSink,
}

/// Reads the databases every `refresh`; stops when dropped.
pub struct DatabasesTask(JoinHandle<()>);

impl DatabasesTask {
    pub fn spawn(databases: Vec<DatabaseConfig>, refresh: Duration, sinks: DatabaseSinks) -> Self {
        DatabasesTask(tokio::spawn(async move {
            loop {
                let sinks = &sinks;
                futures::stream::iter(&databases)
                    .for_each_concurrent(4, |db| async move {
                        let reading = async {
                            let result = read(db, READ_TIMEOUT).await;
                            (sinks.reading)(db.name.clone(), result, Utc::now());
                        };
                        let backups = async {
                            if let Some(source) = &db.backups {
                                let result = backups::read(source).await;
                                (sinks.backups)(db.name.clone(), result, Utc::now());
                            }
                        };
                        futures::join!(reading, backups);
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
