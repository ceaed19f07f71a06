//! The Restore block of the migration panel: the newest good backup, the
//! one a rollback past the contract would restore, the PITR window, the
//! last tested restore, and the source with the age of what it says.

use super::super::{Room, field, indented};
use crate::model::migration::Migration;
use crate::model::restore::way_back::{backup_before_contract, contract_started, span_words};
use crate::model::restore::{Backup, BackupsState};
use crate::ui::theme::Theme;
use chrono::{DateTime, Utc};
use ratatui::text::{Line, Span};

/// The block's lines; nothing when the database has no backup source.
pub(super) fn block(
    backups: Option<&BackupsState>,
    m: Option<&Migration>,
    now: DateTime<Utc>,
    room: Room,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let Some(backups) = backups else {
        return Vec::new();
    };
    let mut out = vec![Line::from(Span::styled("Restore", theme.heading()))];
    out.extend(source(backups, now, room, theme));
    let Some(repo) = &backups.repository else {
        return out;
    };
    let ago = |t: DateTime<Utc>| format!("{} ago", span_words(now - t));
    let described = |b: &Backup| {
        format!(
            "{} {} · stop {} · {}",
            b.label,
            b.kind,
            b.stopped.format("%Y-%m-%d %H:%M"),
            ago(b.stopped)
        )
    };
    let none = || Span::styled("none", theme.attention());
    out.push(match repo.newest_good() {
        Some(b) => field("  newest good:", described(b), theme),
        None => field("  newest good:", none(), theme),
    });
    if let Some(m) = m.filter(|m| contract_started(m).is_some()) {
        out.push(match backup_before_contract(repo, m) {
            Some(b) => field("  rollback to:", described(b), theme),
            None => field("  rollback to:", none(), theme),
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
    out.push(match repo.last_tested_restore() {
        Some(t) => field(
            "  tested:",
            format!("{} · {}", t.format("%Y-%m-%d %H:%M"), ago(t)),
            theme,
        ),
        None => field(
            "  tested:",
            Span::styled("never recorded", theme.attention()),
            theme,
        ),
    });
    out
}

/// `pgbackrest · read 12 min ago`, or that it cannot be read, since when
/// and why, and how old the reading shown is. Never "ok" when it failed.
fn source(
    backups: &BackupsState,
    now: DateTime<Utc>,
    room: Room,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let read = backups.read_at.map_or("nothing read yet".to_string(), |t| {
        format!("read {} ago", span_words(now - t))
    });
    match (&backups.error, backups.failing_since) {
        (Some(error), Some(since)) => {
            let text = format!(
                "  source: pgbackrest UNREADABLE for {}: {error} (shown: {read})",
                span_words(now - since)
            );
            indented(&text, "", theme.attention(), room)
        }
        _ => vec![field("  source:", format!("pgbackrest · {read}"), theme)],
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
        let lines = block(Some(&state), None, at("2026-12-05T03:00:30Z"), ROOM, &theme);
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
        let lines = block(Some(&state), None, at("2026-12-05T03:05:00Z"), ROOM, &theme);
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
            Some(&unread),
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
        assert!(block(None, None, at("2026-12-05T03:05:00Z"), ROOM, &theme).is_empty());
    }
}
