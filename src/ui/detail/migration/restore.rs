//! The Restore block of the migration panel, one part per source: the
//! database's repository (the newest good backup, the one a rollback past
//! the contract would restore, the PITR window, the last tested restore)
//! and Velero's backups of the release's namespace (the newest, the
//! schedule, the last tested restore); each with the age of what it says.

use super::super::{Room, field, indented};
use crate::model::migration::Migration;
use crate::model::restore::freshness::FreshnessState;
use crate::model::restore::velero::{VeleroBackup, VeleroStatus};
use crate::model::restore::way_back::{backup_before_contract, contract_started, span_words};
use crate::model::restore::{Backup, BackupsState};
use crate::ui::theme::Theme;
use chrono::{DateTime, Utc};
use ratatui::text::{Line, Span};

/// The sources of a release's way back.
#[derive(Clone, Copy, Default)]
pub(super) struct Sources<'a> {
    pub backups: Option<&'a BackupsState>,
    pub freshness: Option<&'a FreshnessState>,
    pub velero: Option<&'a VeleroStatus>,
}

/// The block's lines; nothing when the release has no backup source.
pub(super) fn block(
    sources: Sources<'_>,
    m: Option<&Migration>,
    now: DateTime<Utc>,
    room: Room,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let Sources {
        backups,
        freshness,
        velero,
    } = sources;
    if backups.is_none() && freshness.is_none() && velero.is_none() {
        return Vec::new();
    }
    let mut out = vec![Line::from(Span::styled("Restore", theme.heading()))];
    if let Some(backups) = backups {
        out.extend(repository(backups, m, now, room, theme));
    }
    if let Some(freshness) = freshness {
        out.extend(freshness_part(freshness, now, room, theme));
    }
    if let Some(velero) = velero {
        out.extend(velero_part(velero, now, room, theme));
    }
    out
}

/// The newest backup's time as Prometheus says, marked when stale.
fn freshness_part(
    freshness: &FreshnessState,
    now: DateTime<Utc>,
    room: Room,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let error = freshness.error.clone().zip(freshness.failing_since);
    let mut out = source("prometheus", freshness.read_at, error, now, room, theme);
    if let Some(t) = freshness.newest_backup {
        let text = format!("{} · {}", t.format("%Y-%m-%d %H:%M"), ago(now, t));
        out.push(if freshness.alarms(now).is_empty() {
            field("  newest:", text, theme)
        } else {
            let over = format!("{text} · over {}", span_words(freshness.max_age));
            field("  newest:", Span::styled(over, theme.attention()), theme)
        });
    }
    out
}

/// `20 h ago`.
fn ago(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    format!("{} ago", span_words(now - t))
}

fn none(theme: &Theme) -> Span<'static> {
    Span::styled("none", theme.attention())
}

/// The database repository's part.
fn repository(
    backups: &BackupsState,
    m: Option<&Migration>,
    now: DateTime<Utc>,
    room: Room,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut out = source(
        "pgbackrest",
        backups.read_at,
        backups_error(backups),
        now,
        room,
        theme,
    );
    let Some(repo) = &backups.repository else {
        return out;
    };
    let described = |b: &Backup| {
        format!(
            "{} {} · stop {} · {}",
            b.label,
            b.kind,
            b.stopped.format("%Y-%m-%d %H:%M"),
            ago(now, b.stopped)
        )
    };
    out.push(match repo.newest_good() {
        Some(b) => field("  newest good:", described(b), theme),
        None => field("  newest good:", none(theme), theme),
    });
    if let Some(m) = m.filter(|m| contract_started(m).is_some()) {
        out.push(match backup_before_contract(repo, m) {
            Some(b) => field("  rollback to:", described(b), theme),
            None => field("  rollback to:", none(theme), theme),
        });
    }
    out.push(match repo.pitr_window() {
        Some(w) => {
            let reach = w.reaches_at_least.map_or(String::new(), |t| {
                format!(" · to {} at least", t.format("%Y-%m-%d %H:%M"))
            });
            field(
                "  PITR:",
                format!("WAL {} → {}{reach}", w.oldest_wal, w.newest_wal),
                theme,
            )
        }
        None => field(
            "  PITR:",
            Span::styled("no WAL archived", theme.attention()),
            theme,
        ),
    });
    out.push(tested(
        repo.last_tested_restore().map(|t| (String::new(), t)),
        now,
        theme,
    ));
    out
}

fn backups_error(backups: &BackupsState) -> Option<(String, DateTime<Utc>)> {
    Some((backups.error.clone()?, backups.failing_since?))
}

/// `tested: 2026-12-01 10:00 · 3 days ago`, what was restored before it.
fn tested(
    last: Option<(String, DateTime<Utc>)>,
    now: DateTime<Utc>,
    theme: &Theme,
) -> Line<'static> {
    match last {
        Some((what, t)) => field(
            "  tested:",
            format!("{what}{} · {}", t.format("%Y-%m-%d %H:%M"), ago(now, t)),
            theme,
        ),
        None => field(
            "  tested:",
            Span::styled("never recorded", theme.attention()),
            theme,
        ),
    }
}

/// Velero's part: the newest Completed backup of the namespace, its
/// schedules, the newest backup when it failed, the last tested restore.
fn velero_part(
    velero: &VeleroStatus,
    now: DateTime<Utc>,
    room: Room,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let error = velero.error.clone().zip(velero.failing_since);
    let name = format!("velero ({})", velero.namespace);
    let mut out = source(&name, velero.read_at, error, now, room, theme);
    if velero.read_at.is_none() {
        return out;
    }
    let done = |b: &VeleroBackup| {
        b.completion_timestamp.map_or(String::new(), |t| {
            format!(" · done {} · {}", t.format("%Y-%m-%d %H:%M"), ago(now, t))
        })
    };
    out.push(match &velero.newest_completed {
        Some(b) => field("  newest good:", format!("{}{}", b.name, done(b)), theme),
        None => field("  newest good:", none(theme), theme),
    });
    for s in &velero.schedules {
        let last = s.last_backup.map_or("no backup yet".to_string(), |t| {
            format!("last backup {}", ago(now, t))
        });
        out.push(field(
            "  schedule:",
            format!("{} \"{}\" · {last}", s.name, s.schedule),
            theme,
        ));
    }
    if let Some(b) = &velero.newest_failed {
        let why = b
            .failure_reason
            .as_deref()
            .map_or(String::new(), |r| format!(": {r}"));
        let text = format!("  failed:       {} {}{why}{}", b.name, b.phase, done(b));
        out.extend(indented(&text, "", theme.attention(), room));
    }
    let last = velero.last_tested_restore.as_ref().and_then(|r| {
        let what = format!("{} of {} · ", r.name, r.backup_name);
        Some((what, r.completion_timestamp?))
    });
    out.push(tested(last, now, theme));
    out
}

/// `pgbackrest · read 12 min ago`, or that it cannot be read, since when
/// and why, and how old the reading shown is. Never "ok" when it failed.
fn source(
    name: &str,
    read_at: Option<DateTime<Utc>>,
    error: Option<(String, DateTime<Utc>)>,
    now: DateTime<Utc>,
    room: Room,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let read = read_at.map_or("nothing read yet".to_string(), |t| {
        format!("read {}", ago(now, t))
    });
    match error {
        Some((error, since)) => {
            let text = format!(
                "  source: {name} UNREADABLE for {}: {error} (shown: {read})",
                span_words(now - since)
            );
            indented(&text, "", theme.attention(), room)
        }
        None => vec![field("  source:", format!("{name} · {read}"), theme)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::restore::Repository;

    const INFO: &str = include_str!("../../../../tests/fixtures/pgbackrest-info.json");

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn text(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    fn backups_only(state: &BackupsState) -> Sources<'_> {
        Sources {
            backups: Some(state),
            ..Sources::default()
        }
    }

    #[test]
    fn prometheus_says_how_fresh_the_newest_backup_is_and_when_it_is_stale() {
        use crate::model::restore::freshness::FreshnessState;
        let theme = Theme::load("mono").unwrap();
        let mut state = FreshnessState::new(chrono::Duration::hours(26));
        state.record(Ok(at("2026-12-04T02:06:00Z")), at("2026-12-05T03:00:00Z"));
        let sources = Sources {
            freshness: Some(&state),
            ..Sources::default()
        };
        let fresh = block(sources, None, at("2026-12-05T03:00:30Z"), ROOM, &theme);
        assert_eq!(
            text(&fresh),
            [
                "Restore",
                "  source:       prometheus · read 30 s ago",
                "  newest:       2026-12-04 02:06 · 24 h ago",
            ]
        );
        let stale = block(sources, None, at("2026-12-05T05:00:00Z"), ROOM, &theme);
        assert_eq!(
            text(&stale)[2],
            "  newest:       2026-12-04 02:06 · 26 h ago · over 26 h"
        );
        state.record(
            Err("cannot reach Prometheus".into()),
            at("2026-12-05T03:01:00Z"),
        );
        let sources = Sources {
            freshness: Some(&state),
            ..Sources::default()
        };
        let failing = text(&block(
            sources,
            None,
            at("2026-12-05T03:02:00Z"),
            ROOM,
            &theme,
        ));
        assert_eq!(
            failing[1],
            "  source: prometheus UNREADABLE for 60 s: cannot reach Prometheus (shown: read 2 min ago)"
        );
    }

    const ROOM: Room = Room {
        width: 120,
        rows: 20,
    };

    #[test]
    fn a_read_repository_shows_its_backups_window_and_tested_restore() {
        let theme = Theme::load("mono").unwrap();
        let mut state = BackupsState::default();
        let read_at = at("2026-12-05T03:00:00Z");
        state.record(Repository::parse_pgbackrest(INFO), read_at);
        let lines = block(
            backups_only(&state),
            None,
            at("2026-12-05T03:00:30Z"),
            ROOM,
            &theme,
        );
        assert_eq!(
            text(&lines),
            [
                "Restore",
                "  source:       pgbackrest · read 30 s ago",
                "  newest good:  20261205-022053F_20261205-022058I incr · stop 2026-12-05 02:21 · 39 min ago",
                "  PITR:         WAL 000000010000000000000001 → 000000010000000000000004 · to 2026-12-05 02:21 at least",
                "  tested:       2026-12-01 10:00 · 3 days ago",
            ]
        );
    }

    #[test]
    fn an_unreadable_source_says_so_with_its_age_never_ok() {
        let theme = Theme::load("mono").unwrap();
        let mut state = BackupsState::default();
        state.record(
            Repository::parse_pgbackrest(INFO),
            at("2026-12-05T03:00:00Z"),
        );
        let failed = "pgbackrest: no answer within 10s, so it was stopped";
        state.record(Err(failed.into()), at("2026-12-05T03:01:00Z"));
        let lines = block(
            backups_only(&state),
            None,
            at("2026-12-05T03:05:00Z"),
            ROOM,
            &theme,
        );
        let shown = text(&lines).join("\n");
        assert!(
            shown.contains(
                "source: pgbackrest UNREADABLE for 4 min: pgbackrest: no answer within 10s, so it was stopped (shown: read 5 min ago)"
            ),
            "{shown}"
        );
        assert!(!shown.contains("ok"), "{shown}");
        let mut unread = BackupsState::default();
        unread.record(
            Err("cannot run \"pgbackrest\"".into()),
            at("2026-12-05T03:05:00Z"),
        );
        let shown = text(&block(
            backups_only(&unread),
            None,
            at("2026-12-05T03:05:00Z"),
            ROOM,
            &theme,
        ));
        assert_eq!(
            shown,
            [
                "Restore",
                "  source: pgbackrest UNREADABLE for 0 s: cannot run \"pgbackrest\" (shown: nothing read yet)"
            ]
        );
        assert!(
            block(
                Sources::default(),
                None,
                at("2026-12-05T03:05:00Z"),
                ROOM,
                &theme
            )
            .is_empty()
        );
    }

    fn velero_status(now: DateTime<Utc>) -> VeleroStatus {
        use crate::model::restore::velero::*;
        let backup = |name: &str, phase: &str, start: &str| VeleroBackup {
            name: name.into(),
            phase: phase.into(),
            namespaces: Namespaces::default(),
            schedule: Some("shop-nightly".into()),
            start_timestamp: Some(at(start)),
            completion_timestamp: Some(at(start) + chrono::Duration::minutes(6)),
            failure_reason: (phase != "Completed").then(|| "timed out after 4h0m0s".into()),
        };
        let mut state = VeleroState {
            velero: Velero {
                backups: vec![
                    backup(
                        "shop-nightly-20261128020000",
                        "Completed",
                        "2026-11-28T02:00:00Z",
                    ),
                    backup(
                        "shop-nightly-20261204020000",
                        "Completed",
                        "2026-12-04T02:00:00Z",
                    ),
                    backup(
                        "shop-nightly-20261205020000",
                        "Failed",
                        "2026-12-05T02:00:00Z",
                    ),
                ],
                restores: vec![VeleroRestore {
                    name: "shop-drill".into(),
                    backup_name: "shop-nightly-20261128020000".into(),
                    phase: "Completed".into(),
                    included_namespaces: Vec::new(),
                    completion_timestamp: Some(at("2026-11-28T10:08:00Z")),
                    failure_reason: None,
                }],
                schedules: vec![VeleroSchedule {
                    name: "shop-nightly".into(),
                    schedule: "0 2 * * *".into(),
                    namespaces: Namespaces::default(),
                    last_backup: Some(at("2026-12-05T02:00:00Z")),
                }],
            },
            ..VeleroState::default()
        };
        state.listed(at("2026-12-05T03:00:00Z"));
        VeleroStatus::of(&state, "shop", chrono::Duration::days(30), now).unwrap()
    }

    #[test]
    fn both_sources_each_say_what_they_hold_and_how_fresh() {
        let theme = Theme::load("mono").unwrap();
        let now = at("2026-12-05T03:00:30Z");
        let mut state = BackupsState::default();
        state.record(
            Repository::parse_pgbackrest(INFO),
            at("2026-12-05T03:00:00Z"),
        );
        let velero = velero_status(now);
        let sources = Sources {
            velero: Some(&velero),
            ..backups_only(&state)
        };
        let lines = block(sources, None, now, ROOM, &theme);
        assert_eq!(
            text(&lines)[5..],
            [
                "  source:       velero (shop) · read 30 s ago",
                "  newest good:  shop-nightly-20261204020000 · done 2026-12-04 02:06 · 24 h ago",
                "  schedule:     shop-nightly \"0 2 * * *\" · last backup 60 min ago",
                "  failed:       shop-nightly-20261205020000 Failed: timed out after 4h0m0s · done 2026-12-05 02:06 · 54 min ago",
                "  tested:       shop-drill of shop-nightly-20261128020000 · 2026-11-28 10:08 · 6 days ago",
            ]
        );
        let velero_only = Sources {
            velero: Some(&velero),
            ..Sources::default()
        };
        let alone = text(&block(velero_only, None, now, ROOM, &theme));
        assert_eq!(
            alone[..2],
            ["Restore", "  source:       velero (shop) · read 30 s ago"]
        );
    }
}
