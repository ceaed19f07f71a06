//! The task that reads an Unleash every few seconds and sends what it read,
//! as the control room's flags, with the time it was read.

use super::Unleash;
use crate::model::flag::{Flag, FlagLink};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// Between two readings.
pub const UNLEASH_REFRESH: Duration = Duration::from_secs(5);

/// Where a reading goes: the flags, or why they could not be read.
pub type UnleashSink = Arc<dyn Fn(Result<Vec<Flag>, String>, DateTime<Utc>) + Send + Sync>;

/// Every flag of the project, as the control room shows them, or why not.
pub async fn read_flags(unleash: &Unleash) -> Result<Vec<Flag>, String> {
    let flags = unleash.flags().await.map_err(|e| {
        tracing::warn!("reading Unleash: {e}");
        e.to_string()
    })?;
    Ok(flags
        .iter()
        .map(|f| f.to_flag(unleash.source(), FlagLink::Annotation))
        .collect())
}

/// Stops reading when dropped.
pub struct UnleashTask(tokio::task::JoinHandle<()>);

impl UnleashTask {
    pub fn spawn(unleash: Arc<Unleash>, every: Duration, sink: UnleashSink) -> UnleashTask {
        UnleashTask(tokio::spawn(async move {
            loop {
                sink(read_flags(&unleash).await, Utc::now());
                tokio::time::sleep(every).await;
            }
        }))
    }
}

impl Drop for UnleashTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}
