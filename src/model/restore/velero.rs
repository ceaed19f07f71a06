//! What Velero's `Backup`, `Restore` and `Schedule` objects (`velero.io/v1`)
//! say about a namespace's cluster state: the newest Completed backup
//! covering it, the newest backup of it when that one failed, and the last
//! Completed restore of a backup that covered it, as the last tested
//! restore. Read from the watches; no I/O here.

use super::way_back::span_words;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// The phases in which a backup did not produce what it should.
const FAILED_PHASES: [&str; 3] = ["Failed", "PartiallyFailed", "FailedValidation"];

/// Which namespaces a backup or schedule takes: `spec.includedNamespaces`
/// (empty or `*`: all) less `spec.excludedNamespaces`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Namespaces {
    pub included: Vec<String>,
    pub excluded: Vec<String>,
}

impl Namespaces {
    pub fn covers(&self, namespace: &str) -> bool {
        let included =
            self.included.is_empty() || self.included.iter().any(|n| n == "*" || n == namespace);
        included && !self.excluded.iter().any(|n| n == namespace)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VeleroBackup {
    pub name: String,
    /// `status.phase`; `New` when the object has none yet.
    pub phase: String,
    #[serde(skip)]
    pub namespaces: Namespaces,
    /// The schedule that made it (label `velero.io/schedule-name`).
    pub schedule: Option<String>,
    pub start_timestamp: Option<DateTime<Utc>>,
    /// Set even on failure.
    pub completion_timestamp: Option<DateTime<Utc>>,
    pub failure_reason: Option<String>,
}

impl VeleroBackup {
    pub fn failed(&self) -> bool {
        FAILED_PHASES.contains(&self.phase.as_str())
    }

    /// When it ran, for ordering: its start, else its completion.
    fn when(&self) -> Option<DateTime<Utc>> {
        self.start_timestamp.or(self.completion_timestamp)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VeleroRestore {
    pub name: String,
    pub backup_name: String,
    pub phase: String,
    /// `spec.includedNamespaces`: what it restored, when the backup is gone.
    #[serde(skip)]
    pub included_namespaces: Vec<String>,
    pub completion_timestamp: Option<DateTime<Utc>>,
    pub failure_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VeleroSchedule {
    pub name: String,
    /// `spec.schedule`, a cron expression.
    pub schedule: String,
    #[serde(skip)]
    pub namespaces: Namespaces,
    pub last_backup: Option<DateTime<Utc>>,
}

/// Velero's objects as last read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Velero {
    pub backups: Vec<VeleroBackup>,
    pub restores: Vec<VeleroRestore>,
    pub schedules: Vec<VeleroSchedule>,
}

impl Velero {
    fn covering<'a>(&'a self, namespace: &str) -> impl Iterator<Item = &'a VeleroBackup> {
        let namespace = namespace.to_string();
        self.backups
            .iter()
            .filter(move |b| b.namespaces.covers(&namespace))
    }

    /// The newest Completed backup covering `namespace`.
    pub fn newest_completed(&self, namespace: &str) -> Option<&VeleroBackup> {
        self.covering(namespace)
            .filter(|b| b.phase == "Completed")
            .max_by_key(|b| b.completion_timestamp.or(b.when()))
    }

    /// The newest backup covering `namespace`, when it failed.
    pub fn newest_failed(&self, namespace: &str) -> Option<&VeleroBackup> {
        self.covering(namespace)
            .max_by_key(|b| b.when())
            .filter(|b| b.failed())
    }

    /// The last Completed restore of a backup that covered `namespace`
    /// (what the restore itself names, when its backup is gone).
    pub fn last_tested_restore(&self, namespace: &str) -> Option<&VeleroRestore> {
        let covered =
            |r: &VeleroRestore| match self.backups.iter().find(|b| b.name == r.backup_name) {
                Some(b) => b.namespaces.covers(namespace),
                None => r.included_namespaces.iter().any(|n| n == namespace),
            };
        self.restores
            .iter()
            .filter(|r| r.phase == "Completed" && r.completion_timestamp.is_some() && covered(r))
            .max_by_key(|r| r.completion_timestamp)
    }

    pub fn schedules_of<'a>(
        &'a self,
        namespace: &'a str,
    ) -> impl Iterator<Item = &'a VeleroSchedule> {
        self.schedules
            .iter()
            .filter(move |s| s.namespaces.covers(namespace))
    }

    /// Whether Velero backs `namespace` up at all: a backup or a schedule
    /// covers it.
    pub fn covers(&self, namespace: &str) -> bool {
        self.covering(namespace).next().is_some() || self.schedules_of(namespace).next().is_some()
    }
}

/// What the watches of Velero's objects report: the objects, when they
/// were read, and each failing watch's error since when. Velero is a
/// source only once discovery found it and a watch reported.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VeleroState {
    pub velero: Velero,
    /// When a list of Velero's objects last arrived.
    pub read_at: Option<DateTime<Utc>>,
    /// Failing watches by what they watch (`backups`): error and since when.
    pub failing: BTreeMap<String, (String, DateTime<Utc>)>,
    /// A watch reported: Velero is served.
    pub reported: bool,
}

impl VeleroState {
    pub fn listed(&mut self, at: DateTime<Utc>) {
        self.read_at = Some(at);
        self.reported = true;
    }

    /// A watch of `plural` failed (`Some`) or works again (`None`).
    pub fn health(&mut self, plural: &str, error: Option<String>, at: DateTime<Utc>) {
        self.reported = true;
        match error {
            Some(e) => {
                let since = self.failing.get(plural).map_or(at, |(_, since)| *since);
                self.failing.insert(plural.to_string(), (e, since));
            }
            None => {
                self.failing.remove(plural);
            }
        }
    }

    /// `cannot list velero backups: forbidden …`, since when: the longest
    /// failing watch's.
    pub fn error(&self) -> Option<(String, DateTime<Utc>)> {
        let (plural, (e, since)) = self.failing.iter().min_by_key(|(_, (_, since))| *since)?;
        let why = if e.starts_with("403") {
            format!(
                "forbidden ({e}); ask for get, list and watch on velero.io \
                 backups, restores and schedules in namespace velero"
            )
        } else {
            e.clone()
        };
        Some((format!("cannot list velero {plural}: {why}"), *since))
    }
}

/// Velero's part of a release's way back, for `namespace`: what the
/// Restore block shows and `status -o json` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VeleroStatus {
    pub namespace: String,
    /// When what follows was read; null when nothing was.
    pub read_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
    pub newest_completed: Option<VeleroBackup>,
    pub newest_failed: Option<VeleroBackup>,
    pub last_tested_restore: Option<VeleroRestore>,
    pub schedules: Vec<VeleroSchedule>,
    /// What is wrong with it: no tested restore within the limit, the
    /// newest backup failed.
    pub alarms: Vec<String>,
}

impl VeleroStatus {
    /// Velero's part for `namespace`; None when Velero is not served, or
    /// is read and backs nothing of `namespace` up.
    pub fn of(
        state: &VeleroState,
        namespace: &str,
        restore_tested_within: Duration,
        now: DateTime<Utc>,
    ) -> Option<VeleroStatus> {
        let error = state.error();
        if !state.reported || (error.is_none() && !state.velero.covers(namespace)) {
            return None;
        }
        let v = &state.velero;
        let mut status = VeleroStatus {
            namespace: namespace.to_string(),
            read_at: state.read_at,
            failing_since: error.as_ref().map(|(_, since)| *since),
            error: error.map(|(e, _)| e),
            newest_completed: v.newest_completed(namespace).cloned(),
            newest_failed: v.newest_failed(namespace).cloned(),
            last_tested_restore: v.last_tested_restore(namespace).cloned(),
            schedules: v.schedules_of(namespace).cloned().collect(),
            alarms: Vec::new(),
        };
        status.alarms = status.alarms(restore_tested_within, now);
        Some(status)
    }

    fn alarms(&self, within: Duration, now: DateTime<Utc>) -> Vec<String> {
        let mut out = Vec::new();
        if self.read_at.is_none() {
            return out;
        }
        let tested = self
            .last_tested_restore
            .as_ref()
            .and_then(|r| r.completion_timestamp);
        match tested {
            Some(t) if now - t <= within => {}
            Some(t) => out.push(format!(
                "velero: no restore of {} tested in the last {}: last tested {} ago",
                self.namespace,
                span_words(within),
                span_words(now - t)
            )),
            None => out.push(format!(
                "velero: no restore of {} tested in the last {}: none ever completed",
                self.namespace,
                span_words(within)
            )),
        }
        if let Some(b) = &self.newest_failed {
            let why = b
                .failure_reason
                .as_deref()
                .map_or(String::new(), |r| format!(": {r}"));
            out.push(format!(
                "velero: newest backup {} is {}{why}",
                b.name, b.phase
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests;
