//! What a backup repository says about the way back after a destructive
//! migration: the newest good backup, the one that predates a contract,
//! how far point-in-time recovery reaches and when a restore was last
//! tested. Parsed from `pgbackrest info --output=json`; no I/O here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The annotation set on a backup after a successful test restore from it:
/// `pgbackrest annotate --set=LABEL --annotation=restore-tested=<RFC 3339>`.
pub const RESTORE_TESTED: &str = "restore-tested";

/// What one repository holds, stanza by stanza.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Repository {
    pub stanzas: Vec<Stanza>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stanza {
    pub name: String,
    /// The repository's own complaint (`missing stanza path`, `no valid
    /// backups`), when its status code is not 0.
    pub problem: Option<String>,
    /// The archived WAL ranges, oldest first per database id.
    pub archives: Vec<WalRange>,
    pub backups: Vec<Backup>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WalRange {
    pub min: String,
    pub max: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Backup {
    pub label: String,
    /// full, diff or incr.
    #[serde(rename = "type")]
    pub kind: String,
    pub started: DateTime<Utc>,
    pub stopped: DateTime<Utc>,
    /// pgBackRest found page checksum errors or the backup did not finish
    /// cleanly.
    pub error: bool,
    /// When a restore from this backup was last tested (its
    /// `restore-tested` annotation).
    pub restore_tested: Option<DateTime<Utc>>,
    /// A `restore-tested` annotation that is not an RFC 3339 time, as
    /// written.
    pub unreadable_restore_tested: Option<String>,
}

/// The point-in-time-recovery window: WAL from `oldest_wal` to
/// `newest_wal` is archived, and recovery reaches at least the newest good
/// backup's stop time (WAL names carry no times).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PitrWindow {
    pub oldest_wal: String,
    pub newest_wal: String,
    pub reaches_at_least: Option<DateTime<Utc>>,
}

impl Repository {
    /// Parses `pgbackrest info --output=json`. Anything that is not that
    /// JSON is an error, never an empty repository.
    pub fn parse_pgbackrest(text: &str) -> Result<Repository, String> {
        let stanzas: Vec<InfoStanza> = serde_json::from_str(text).map_err(|e| {
            format!(
                "not the JSON of `pgbackrest info --output=json` ({e}); it began {:?}",
                text.chars().take(60).collect::<String>()
            )
        })?;
        if stanzas.is_empty() {
            return Err("pgbackrest info listed no stanza; is --stanza right?".to_string());
        }
        let stanzas = stanzas
            .into_iter()
            .map(InfoStanza::into_stanza)
            .collect::<Result<_, _>>()?;
        Ok(Repository { stanzas })
    }

    fn backups(&self) -> impl Iterator<Item = &Backup> {
        self.stanzas.iter().flat_map(|s| s.backups.iter())
    }

    fn newest_good_where(&self, keep: impl Fn(&Backup) -> bool) -> Option<&Backup> {
        self.backups()
            .filter(|b| !b.error && keep(b))
            .max_by_key(|b| b.stopped)
    }

    /// The newest backup without errors.
    pub fn newest_good(&self) -> Option<&Backup> {
        self.newest_good_where(|_| true)
    }

    /// The newest good backup that stopped before `time`: the one a
    /// rollback past a contract started at `time` would restore.
    pub fn newest_good_before(&self, time: DateTime<Utc>) -> Option<&Backup> {
        self.newest_good_where(|b| b.stopped < time)
    }

    /// The newest backup, when it failed.
    pub fn newest_failed(&self) -> Option<&Backup> {
        self.backups().max_by_key(|b| b.stopped).filter(|b| b.error)
    }

    /// The stanzas' own complaints, as `stanza: message`.
    pub fn problems(&self) -> Vec<String> {
        self.stanzas
            .iter()
            .filter_map(|s| s.problem.as_ref().map(|p| format!("{}: {p}", s.name)))
            .collect()
    }

    /// Oldest archived WAL to newest, across stanzas; None with no archive.
    pub fn pitr_window(&self) -> Option<PitrWindow> {
        let ranges = self.stanzas.iter().flat_map(|s| s.archives.iter());
        // WAL segment names are fixed-width hex: text order is WAL order.
        let oldest_wal = ranges.clone().map(|r| &r.min).min()?.clone();
        let newest_wal = ranges.map(|r| &r.max).max()?.clone();
        Some(PitrWindow {
            oldest_wal,
            newest_wal,
            reaches_at_least: self.newest_good().map(|b| b.stopped),
        })
    }

    /// The newest `restore-tested` time across all backups.
    pub fn last_tested_restore(&self) -> Option<DateTime<Utc>> {
        self.backups().filter_map(|b| b.restore_tested).max()
    }
}

/// The last reading of a backup source, kept while the source fails, so
/// the screen can say how old what it shows is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupsState {
    pub repository: Option<Repository>,
    /// When `repository` was read.
    pub read_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// Since when the source has been failing without a break.
    pub failing_since: Option<DateTime<Utc>>,
    /// A tested restore older than this raises an alarm.
    #[serde(skip)]
    pub restore_tested_within: chrono::Duration,
}

impl Default for BackupsState {
    fn default() -> Self {
        BackupsState::new(chrono::Duration::days(30))
    }
}

impl BackupsState {
    pub fn new(restore_tested_within: chrono::Duration) -> Self {
        BackupsState {
            repository: None,
            read_at: None,
            error: None,
            failing_since: None,
            restore_tested_within,
        }
    }

    pub fn record(&mut self, result: Result<Repository, String>, at: DateTime<Utc>) {
        let last = Reading {
            value: &mut self.repository,
            read_at: &mut self.read_at,
            error: &mut self.error,
            failing_since: &mut self.failing_since,
        };
        last.record(result, at);
    }
}

/// The fields a source's last reading is kept in, while it fails too.
pub(crate) struct Reading<'a, T> {
    pub value: &'a mut Option<T>,
    pub read_at: &'a mut Option<DateTime<Utc>>,
    pub error: &'a mut Option<String>,
    pub failing_since: &'a mut Option<DateTime<Utc>>,
}

impl<T> Reading<'_, T> {
    /// A value read at `at` replaces the last and ends a failure; an error
    /// keeps the last value and when the failure began.
    pub fn record(self, result: Result<T, String>, at: DateTime<Utc>) {
        match result {
            Ok(value) => {
                *self.value = Some(value);
                *self.read_at = Some(at);
                *self.error = None;
                *self.failing_since = None;
            }
            Err(error) => {
                *self.failing_since = self.failing_since.or(Some(at));
                *self.error = Some(error);
            }
        }
    }
}

/// One element of `info --output=json`, as the tool prints it.
#[derive(Deserialize)]
struct InfoStanza {
    name: String,
    status: InfoStatus,
    #[serde(default)]
    archive: Vec<InfoArchive>,
    #[serde(default)]
    backup: Vec<InfoBackup>,
}

#[derive(Deserialize)]
struct InfoStatus {
    code: i64,
    message: String,
}

#[derive(Deserialize)]
struct InfoArchive {
    min: Option<String>,
    max: Option<String>,
}

#[derive(Deserialize)]
struct InfoBackup {
    label: String,
    #[serde(rename = "type")]
    kind: String,
    timestamp: InfoTimestamp,
    #[serde(default)]
    error: bool,
    #[serde(default)]
    annotation: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct InfoTimestamp {
    start: i64,
    stop: i64,
}

impl InfoStanza {
    fn into_stanza(self) -> Result<Stanza, String> {
        let backups = self
            .backup
            .into_iter()
            .map(|b| b.into_backup(&self.name))
            .collect::<Result<_, _>>()?;
        Ok(Stanza {
            problem: (self.status.code != 0)
                .then(|| format!("{} (code {})", self.status.message, self.status.code)),
            archives: self
                .archive
                .into_iter()
                .filter_map(|a| {
                    Some(WalRange {
                        min: a.min?,
                        max: a.max?,
                    })
                })
                .collect(),
            backups,
            name: self.name,
        })
    }
}

impl InfoBackup {
    fn into_backup(self, stanza: &str) -> Result<Backup, String> {
        let time = |seconds: i64| {
            DateTime::from_timestamp(seconds, 0).ok_or_else(|| {
                format!(
                    "stanza {stanza}: backup {}: time {seconds} is out of range",
                    self.label
                )
            })
        };
        let started = time(self.timestamp.start)?;
        let stopped = time(self.timestamp.stop)?;
        let tested = self
            .annotation
            .as_ref()
            .and_then(|a| a.get(RESTORE_TESTED))
            .map(|text| (text.clone(), DateTime::parse_from_rfc3339(text.trim())));
        let (restore_tested, unreadable_restore_tested) = match tested {
            Some((_, Ok(at))) => (Some(at.with_timezone(&Utc)), None),
            Some((text, Err(_))) => (None, Some(text)),
            None => (None, None),
        };
        Ok(Backup {
            label: self.label,
            kind: self.kind,
            started,
            stopped,
            error: self.error,
            restore_tested,
            unreadable_restore_tested,
        })
    }
}

pub mod freshness;
pub mod velero;
pub mod way_back;

#[cfg(test)]
mod tests;
