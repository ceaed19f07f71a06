//! Reads every configured database, and its backup repository when one is
//! configured, again and again, and hands each reading (or failure) to the
//! app.

use super::{DatabaseConfig, backups, freshness, read};
use crate::metrics::prometheus::Prometheus;
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

/// The time of a database's newest backup as Prometheus says, or why not.
pub type FreshnessSink =
    Arc<dyn Fn(String, Result<DateTime<Utc>, String>, DateTime<Utc>) + Send + Sync>;

/// Where the task's readings go.
#[derive(Clone)]
pub struct DatabaseSinks {
    pub reading: DatabaseSink,
    pub backups: BackupsSink,
    pub freshness: FreshnessSink,
}

/// Reads the databases every `refresh`; stops when dropped.
pub struct DatabasesTask(JoinHandle<()>);

impl DatabasesTask {
    /// `prometheus` answers the databases' freshness queries.
    pub fn spawn(
        databases: Vec<DatabaseConfig>,
        refresh: Duration,
        sinks: DatabaseSinks,
        prometheus: Option<Prometheus>,
    ) -> Self {
        DatabasesTask(tokio::spawn(async move {
            loop {
                let sinks = &sinks;
                let prometheus = prometheus.as_ref();
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
                        let freshness = async {
                            if let Some(source) = &db.freshness {
                                let result = freshness::read(prometheus, source, Utc::now()).await;
                                (sinks.freshness)(db.name.clone(), result, Utc::now());
                            }
                        };
                        futures::join!(reading, backups, freshness);
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
