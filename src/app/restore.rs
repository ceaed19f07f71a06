//! A release's way back as the control room knows it: the database's
//! backup repository, and Velero's backups of the release's namespace.

use super::state::State;
use crate::migrations::backups::DEFAULT_RESTORE_TESTED_WITHIN;
use crate::model::Release;
use crate::model::restore::BackupsState;
use crate::model::restore::freshness::FreshnessState;
use crate::model::restore::velero::VeleroStatus;

/// The backups of the release's database, when a source is configured.
pub fn database_backups<'a>(state: &'a State, release: &Release) -> Option<&'a BackupsState> {
    state
        .databases
        .get(release.database.as_deref()?)?
        .backups
        .as_ref()
}

/// The freshness of the release's database's newest backup, when a
/// Prometheus query is configured.
pub fn freshness<'a>(state: &'a State, release: &Release) -> Option<&'a FreshnessState> {
    state
        .databases
        .get(release.database.as_deref()?)?
        .freshness
        .as_ref()
}

/// Whether the release's way back has a source: the database's backups,
/// their freshness, or Velero.
pub fn has_source(state: &State, release: &Release) -> bool {
    database_backups(state, release).is_some()
        || freshness(state, release).is_some()
        || velero(state, release).is_some()
}

/// Velero's part of the release's way back: None when its cluster does
/// not serve Velero, or Velero backs nothing of its namespace up. A tested
/// restore is as old as the database's limit allows (30 days without one).
pub fn velero(state: &State, release: &Release) -> Option<VeleroStatus> {
    let member = state.member_of(&release.key.cluster)?;
    let within = database_backups(state, release).map_or_else(
        || chrono::Duration::from_std(DEFAULT_RESTORE_TESTED_WITHIN).unwrap_or_default(),
        |b| b.restore_tested_within,
    );
    VeleroStatus::of(&member.velero, &release.key.namespace, within, state.now)
}

#[cfg(test)]
mod tests {
    use crate::app::keymap::Keymap;
    use crate::app::state::State;
    use crate::app::update::{Msg, update};
    use crate::cluster::watch::SourceUpdate;
    use chrono::{DateTime, TimeDelta, Utc};

    fn t(seconds: i64) -> DateTime<Utc> {
        "2026-12-05T03:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::seconds(seconds)
    }

    #[test]
    fn a_forbidden_velero_watch_is_velero_s_error_not_an_outage() {
        let mut state = State::new(t(0), true, Keymap::default());
        let forbidden = SourceUpdate::Health {
            source: "velero/backups".into(),
            error: Some("403 Forbidden".into()),
            at: t(1),
        };
        update(
            &mut state,
            Msg::Source {
                epoch: 0,
                updates: vec![forbidden],
            },
        );
        update(&mut state, Msg::Tick(t(60)));
        assert!(state.home.sources.outage(state.now).is_none());
        let (error, since) = state.home.velero.error().unwrap();
        assert!(
            error.starts_with("cannot list velero backups: forbidden (403 Forbidden)"),
            "{error}"
        );
        assert_eq!(since, t(1));
    }
}
