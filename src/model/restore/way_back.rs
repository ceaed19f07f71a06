//! The way back past a contract: which backup a rollback would restore,
//! how far point-in-time recovery reaches, when a restore was last tested;
//! and the alarms when that way back is missing or untested.

use super::{Backup, BackupsState, PitrWindow, Repository};
use crate::model::migration::{Migration, PhaseName, PhaseState};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// When the contract began; None while it has not.
pub fn contract_started(m: &Migration) -> Option<DateTime<Utc>> {
    let contract = m.phase(PhaseName::Contract)?;
    match contract.state {
        PhaseState::Pending => None,
        _ => contract.started.or(contract.finished),
    }
}

/// Whether the contract has begun (its start time may be unknown).
pub fn contract_begun(m: &Migration) -> bool {
    m.phase(PhaseName::Contract)
        .is_some_and(|p| p.state != PhaseState::Pending)
}

/// The backup a rollback past the contract would restore: the newest good
/// one that stopped before the contract began (the newest good one while
/// the contract's start is unknown).
pub fn backup_before_contract<'a>(repo: &'a Repository, m: &Migration) -> Option<&'a Backup> {
    match contract_started(m) {
        Some(start) => repo.newest_good_before(start),
        None => repo.newest_good(),
    }
}

/// `20 s`, `12 min`, `3 h`, `6 days`: how long `d` is, in the unit that
/// reads best.
pub fn span_words(d: Duration) -> String {
    match d.num_seconds().max(0) {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s if s < 48 * 3600 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86400),
    }
}

/// What is wrong with the way back beside `m`: a contract begun with no
/// good backup newer than the expand's completion, no tested restore
/// within `state.restore_tested_within`, the newest backup failed, the
/// repository's own complaints.
pub fn alarms(state: &BackupsState, m: &Migration, now: DateTime<Utc>) -> Vec<String> {
    let mut out = Vec::new();
    let repo = state.repository.as_ref();
    if contract_begun(m) {
        let expand_done = m.phase(PhaseName::Expand).and_then(|p| p.finished);
        let newer = repo
            .and_then(Repository::newest_good)
            .is_some_and(|b| expand_done.is_none_or(|done| b.stopped > done));
        if !newer {
            let since = expand_done.map_or(String::new(), |t| {
                format!(" ({})", t.format("%Y-%m-%d %H:%M"))
            });
            out.push(format!(
                "contract begun with no good backup newer than the expand's completion{since}"
            ));
        }
    }
    let Some(repo) = repo else {
        return out;
    };
    let within = state.restore_tested_within;
    match repo.last_tested_restore() {
        Some(t) if now - t <= within => {}
        Some(t) => out.push(format!(
            "no restore tested in the last {}: last tested {} ago",
            span_words(within),
            span_words(now - t)
        )),
        None => out.push(format!(
            "no restore tested in the last {}: none ever recorded",
            span_words(within)
        )),
    }
    if let Some(b) = repo.newest_failed() {
        out.push(format!("newest backup {} failed", b.label));
    }
    out.extend(
        repo.problems()
            .into_iter()
            .map(|p| format!("backup repository: {p}")),
    );
    out
}

/// `rollback needs a restore: newest backup before the contract LABEL
/// (stop 02:14, 3 h before), PITR to 05:31; restore last tested 6 days
/// ago`, or what is missing from that.
pub fn way_back(state: &BackupsState, m: &Migration, now: DateTime<Utc>) -> String {
    let Some(repo) = &state.repository else {
        let why = state.error.as_deref().unwrap_or("not read yet");
        return format!("rollback needs a restore, and the backups cannot be read: {why}");
    };
    let backup = match backup_before_contract(repo, m) {
        Some(b) => {
            let before = contract_started(m).map_or(String::new(), |start| {
                format!(", {} before", span_words(start - b.stopped))
            });
            format!(
                "newest backup before the contract {} (stop {}{before})",
                b.label,
                b.stopped.format("%H:%M")
            )
        }
        None => "NO backup from before the contract".to_string(),
    };
    let pitr = match repo.pitr_window().and_then(|w| w.reaches_at_least) {
        Some(t) => format!("PITR to {}", t.format("%H:%M")),
        None => "no PITR window".to_string(),
    };
    let tested = match repo.last_tested_restore() {
        Some(t) => format!("restore last tested {} ago", span_words(now - t)),
        None => "restore never tested".to_string(),
    };
    format!("rollback needs a restore: {backup}, {pitr}; {tested}")
}

/// A database's backups as `status -o json` reports them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryStatus {
    pub source: &'static str,
    /// When what follows was read; null when nothing was.
    pub read_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
    pub newest_good: Option<Backup>,
    pub newest_failed: Option<Backup>,
    pub pitr_window: Option<PitrWindow>,
    pub last_tested_restore: Option<DateTime<Utc>>,
    pub problems: Vec<String>,
}

impl RepositoryStatus {
    pub fn of(state: &BackupsState) -> RepositoryStatus {
        let repo = state.repository.as_ref();
        RepositoryStatus {
            source: "pgbackrest",
            read_at: state.read_at,
            error: state.error.clone(),
            failing_since: state.failing_since,
            newest_good: repo.and_then(Repository::newest_good).cloned(),
            newest_failed: repo.and_then(Repository::newest_failed).cloned(),
            pitr_window: repo.and_then(Repository::pitr_window),
            last_tested_restore: repo.and_then(Repository::last_tested_restore),
            problems: repo.map(Repository::problems).unwrap_or_default(),
        }
    }
}

/// A release's way back as `status -o json` reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseRestore {
    /// The backup a rollback past the contract would restore.
    pub rollback_to: Option<Backup>,
    /// Set once the contract has begun: what a rollback then needs.
    pub way_back: Option<String>,
    /// The database repository's alarms.
    pub alarms: Vec<String>,
    /// Velero's backups of the release's namespace, with their alarms.
    pub velero: Option<super::velero::VeleroStatus>,
    /// The newest backup's time from Prometheus, with its alarm.
    pub freshness: Option<super::freshness::FreshnessStatus>,
}

impl ReleaseRestore {
    pub fn of(state: &BackupsState, m: &Migration, now: DateTime<Utc>) -> ReleaseRestore {
        ReleaseRestore {
            rollback_to: state
                .repository
                .as_ref()
                .and_then(|repo| backup_before_contract(repo, m))
                .cloned(),
            way_back: contract_begun(m).then(|| way_back(state, m, now)),
            alarms: alarms(state, m, now),
            velero: None,
            freshness: None,
        }
    }
}

#[cfg(test)]
mod tests;
