//! A database's backup freshness read from Prometheus: the configured
//! query, through the Prometheus client of the context.

use crate::metrics::prometheus::Prometheus;
use crate::model::restore::freshness::{FreshnessValue, newest_backup};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// `[databases.NAME.backups.prometheus]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshnessSource {
    /// `pgbackrest_backup_since_last_completion_seconds{stanza="main"}`.
    pub query: String,
    /// What the query's value is: an age or a time.
    pub value: FreshnessValue,
    /// A newest backup older than this raises an alarm.
    pub max_age: Duration,
}

/// 26 hours: a nightly backup one run late is still not stale.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(26 * 3600);

/// Ask `prometheus` (None: the context has none) for the newest backup.
pub async fn read(
    prometheus: Option<&Prometheus>,
    source: &FreshnessSource,
    at: DateTime<Utc>,
) -> Result<DateTime<Utc>, String> {
    let Some(prometheus) = prometheus else {
        return Err(
            "no Prometheus to ask: set [metrics.prometheus] url in the config file, \
                    or use --prometheus URL"
                .to_string(),
        );
    };
    let answer = prometheus
        .query(&source.query, at)
        .await
        .map_err(|e| format!("{e} (query {})", source.query))?;
    let samples: Vec<(DateTime<Utc>, f64)> = answer
        .series
        .iter()
        .filter_map(|s| s.samples.last().copied())
        .collect();
    newest_backup(source.value, &samples).map_err(|e| format!("{e} (query {})", source.query))
}
