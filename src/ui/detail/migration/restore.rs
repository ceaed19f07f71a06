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
