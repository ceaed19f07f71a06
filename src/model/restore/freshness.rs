//! Backup freshness from Prometheus, where teams export it:
//! `pgbackrest_exporter`'s `pgbackrest_backup_since_last_completion_seconds`
//! (an age) or Velero's `velero_backup_last_successful_timestamp` (a
//! time). The query's answer is read into the time of the newest backup;
//! no I/O here.

use super::way_back::span_words;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// What the query's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FreshnessValue {
    /// Seconds since the newest backup completed.
    AgeSeconds,
    /// When the newest backup completed, in Unix seconds.
    Timestamp,
}

impl FreshnessValue {
    pub fn parse(word: &str) -> Option<FreshnessValue> {
        match word {
            "age-seconds" => Some(FreshnessValue::AgeSeconds),
            "timestamp" => Some(FreshnessValue::Timestamp),
            _ => None,
        }
    }

    /// The time of the newest backup one sample says: `value` sampled at
    /// `sampled`.
    fn backup_time(self, value: f64, sampled: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if !value.is_finite() {
            return None;
        }
        match self {
            FreshnessValue::AgeSeconds => {
                Some(sampled - Duration::milliseconds((value * 1000.0) as i64))
            }
            FreshnessValue::Timestamp => DateTime::from_timestamp_millis((value * 1000.0) as i64),
        }
    }
}

/// The newest backup the query's samples say (the freshest of its
/// series). No series is an error, never "fresh".
pub fn newest_backup(
    value: FreshnessValue,
    samples: &[(DateTime<Utc>, f64)],
) -> Result<DateTime<Utc>, String> {
    if samples.is_empty() {
        return Err(
            "the query returned no series: is the exporter scraped, and the query's labels right?"
                .to_string(),
        );
    }
    samples
        .iter()
        .filter_map(|(at, v)| value.backup_time(*v, *at))
        .max()
        .ok_or_else(|| "the query returned no usable number (NaN or infinite)".to_string())
}

/// The last reading of the query, kept while it fails.
#[derive(Debug, Clone, PartialEq)]
pub struct FreshnessState {
    pub newest_backup: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
    /// A newest backup older than this raises an alarm.
    pub max_age: Duration,
}

impl FreshnessState {
    pub fn new(max_age: Duration) -> Self {
        FreshnessState {
            newest_backup: None,
            read_at: None,
            error: None,
            failing_since: None,
            max_age,
        }
    }

    pub fn record(&mut self, result: Result<DateTime<Utc>, String>, at: DateTime<Utc>) {
        let last = super::Reading {
            value: &mut self.newest_backup,
            read_at: &mut self.read_at,
            error: &mut self.error,
            failing_since: &mut self.failing_since,
        };
        last.record(result, at);
    }

    /// A newest backup older than `max_age`.
    pub fn alarms(&self, now: DateTime<Utc>) -> Vec<String> {
        match self.newest_backup {
            Some(t) if now - t > self.max_age => vec![format!(
                "prometheus: newest backup {} old, over the {} allowed",
                span_words(now - t),
                span_words(self.max_age)
            )],
            _ => Vec::new(),
        }
    }
}

/// The freshness as `status -o json` reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FreshnessStatus {
    pub source: &'static str,
    pub newest_backup: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
    pub max_age_seconds: i64,
    pub alarms: Vec<String>,
}

impl FreshnessStatus {
    pub fn of(state: &FreshnessState, now: DateTime<Utc>) -> FreshnessStatus {
        FreshnessStatus {
            source: "prometheus",
            newest_backup: state.newest_backup,
            read_at: state.read_at,
            error: state.error.clone(),
            failing_since: state.failing_since,
            max_age_seconds: state.max_age.num_seconds(),
            alarms: state.alarms(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn an_age_and_a_timestamp_both_say_when_the_newest_backup_was() {
        let sampled = at("2026-12-05T03:00:00Z");
        assert_eq!(
            newest_backup(
                FreshnessValue::AgeSeconds,
                &[(sampled, 3600.0), (sampled, 7200.0)]
            ),
            Ok(at("2026-12-05T02:00:00Z"))
        );
        let ts = at("2026-12-05T02:06:00Z").timestamp() as f64;
        assert_eq!(
            newest_backup(FreshnessValue::Timestamp, &[(sampled, ts)]),
            Ok(at("2026-12-05T02:06:00Z"))
        );
        assert!(
            newest_backup(FreshnessValue::Timestamp, &[])
                .unwrap_err()
                .contains("no series")
        );
        assert!(newest_backup(FreshnessValue::AgeSeconds, &[(sampled, f64::NAN)]).is_err());
        assert_eq!(FreshnessValue::parse("age"), None);
    }

    #[test]
    fn a_stale_backup_is_an_alarm_and_a_failed_read_keeps_the_last() {
        let mut state = FreshnessState::new(Duration::hours(26));
        state.record(Ok(at("2026-12-04T02:00:00Z")), at("2026-12-05T03:00:00Z"));
        assert!(state.alarms(at("2026-12-05T03:00:00Z")).is_empty());
        assert_eq!(
            state.alarms(at("2026-12-05T05:00:00Z")),
            ["prometheus: newest backup 27 h old, over the 26 h allowed"]
        );
        state.record(
            Err("cannot reach Prometheus".into()),
            at("2026-12-05T03:01:00Z"),
        );
        state.record(
            Err("cannot reach Prometheus".into()),
            at("2026-12-05T03:02:00Z"),
        );
        assert_eq!(state.failing_since, Some(at("2026-12-05T03:01:00Z")));
        assert_eq!(state.newest_backup, Some(at("2026-12-04T02:00:00Z")));
    }
}
