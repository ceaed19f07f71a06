//! The migration panel of the detail: which migration, on which database,
//! and what says where it stands; the phase strip; the alarms of code and
//! schema out of step; whether a rollback is still safe for the schema;
//! why the migration cannot be read; when each phase ran; and what the
//! database's last reading says (its tools' tables, the sessions waiting
//! for locks, the index builds).

use super::{Room, field, indented, marked, section};
use crate::app::State;
use crate::app::state::DatabaseState;
use crate::model::migration::{
    BlockedSession, BlockingSession, DatabaseReading, IndexBuild, JOB_PHASE_LABEL,
    MIGRATION_ANNOTATION, Migration, Phase, PhaseName, PhaseState, RollbackSafety, ToolState,
    has_migration,
};
use crate::model::{Attention, Release};
use crate::ui::cut;
use crate::ui::glyphs::Glyphs;
use crate::ui::theme::Theme;
use crate::ui::{age, hanging, phase_mark, schema_rollback};
use chrono::{DateTime, Utc};
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

mod restore;

const TITLE: &str = "Migration";

/// Statements are cut to this many characters.
const QUERY_CHARS: usize = 60;

/// A time the panel does not have.
const NO_TIME: &str = "--:--:--";

/// The database a release names, and what is known of it (None: not
/// configured here).
type Linked<'a> = Option<(&'a str, Option<&'a DatabaseState>)>;

/// The panel in a column the size of `area`: the sessions and index builds
/// of the last reading are cut to what fits below the rest.
pub(super) fn panel(r: &Release, state: &State, area: Rect, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = vec![section(TITLE, theme)];
    if !has_migration(r) {
        out.push(Line::from(Span::styled(
            "no migration linked to this release",
            theme.muted(),
        )));
        return out;
    }
    let room = Room::below_title(area);
    let linked: Linked<'_> = r
        .database
        .as_deref()
        .map(|name| (name, state.databases.get(name)));
    out.extend(header(r, linked, theme));
    out.push(strip(r.migration.as_ref(), theme));
    out.extend(alarms(r, room, theme));
    out.extend(rollback(r, room, theme));
    let backups = linked.and_then(|(_, db)| db?.backups.as_ref());
    let velero = crate::app::restore::velero(state, r);
    let sources = restore::Sources {
        backups,
        freshness: crate::app::restore::freshness(state, r),
        velero: velero.as_ref(),
    };
    out.extend(restore::block(
        sources,
        r.migration.as_ref(),
        state.now,
        room,
        theme,
    ));
    out.extend(problem(r, linked, state.now, room, theme));
    if let Some(m) = &r.migration {
        out.extend(timeline(m, room, theme));
    }
    if let Some((name, db)) = linked {
        let left = room.rows.saturating_sub(room.rows_of(&out[1..]));
        out.extend(database(name, db, state.now, left, room, theme));
    }
    out
}

/// `migration: add_display_name · db payments` and what the phases come from.
fn header(r: &Release, linked: Linked<'_>, theme: &Theme) -> Vec<Line<'static>> {
    let name = r
        .migration
        .as_ref()
        .map(|m| m.name.clone())
        .or_else(|| r.annotations.get(MIGRATION_ANNOTATION).cloned())
        .unwrap_or_else(|| "not named".into());
    let db = linked.map_or("no database linked".to_string(), |(n, _)| format!("db {n}"));
    let reading = linked.and_then(|(_, db)| db?.reading.as_ref());
    vec![
        field("migration:", format!("{name} · {db}"), theme),
        field(
            "phases from:",
            phase_source(r.migration.as_ref(), reading),
            theme,
        ),
    ]
}

/// What says where the migration stands: a tool's tables when the phases
/// are theirs, else the migration Jobs.
fn phase_source(m: Option<&Migration>, reading: Option<&DatabaseReading>) -> String {
    let Some(m) = m else {
        return "nothing: no migration Jobs seen, no current reading of the database".into();
    };
    let tool = reading.and_then(|d| {
        d.tools
            .iter()
            .find(|t| t.migration.as_ref() == Some(m))
            .map(|t| (t.tool.word(), &d.database))
    });
    if let Some((tool, db)) = tool {
        return format!("{tool}'s tables in db {db}");
    }
    if m.phases.iter().any(|p| !p.evidence.is_empty()) {
        return format!("Jobs labelled {JOB_PHASE_LABEL}");
    }
    "no evidence yet: no phase has begun".into()
}

/// `expand ✔ → backfill ◌ → switch ○ → contract ○`, the current phase
/// bold; `?` for phases nobody can tell.
pub(in crate::ui) fn strip(m: Option<&Migration>, theme: &Theme) -> Line<'static> {
    let current = m.and_then(Migration::current).map(|p| p.name);
    let mut spans = Vec::new();
    for name in PhaseName::ALL {
        if !spans.is_empty() {
            spans.push(Span::styled(" → ", theme.muted()));
        }
        let (mark, mut style) = match m.and_then(|m| m.phase(name)) {
            Some(p) => (phase_mark(p.state), theme.phase(p.state)),
            None => ("?", theme.muted()),
        };
        if current == Some(name) {
            style = style.add_modifier(Modifier::BOLD);
        }
        spans.push(Span::styled(format!("{} {mark}", name.word()), style));
    }
    Line::from(spans)
}

/// Code and schema out of step, one marked line each.
fn alarms(r: &Release, room: Room, theme: &Theme) -> Vec<Line<'static>> {
    r.attention
        .iter()
        .filter_map(|a| match a {
            Attention::MigrationOrder(text) | Attention::Restore(text) => Some(text),
            _ => None,
        })
        .flat_map(|text| marked("⚠", text, theme.attention(), room))
        .collect()
}

/// `rollback: safe`, `rollback: UNSAFE — …` or `rollback: UNKNOWN — …`.
fn rollback(r: &Release, room: Room, theme: &Theme) -> Vec<Line<'static>> {
    match schema_rollback(r) {
        Some(safety) => indented(&rollback_text(&safety), "", theme.rollback(&safety), room),
        None => vec![Line::from(Span::styled(
            "rollback: no earlier revision to go back to",
            theme.muted(),
        ))],
    }
}

pub(in crate::ui) fn rollback_text(safety: &RollbackSafety) -> String {
    match safety {
        RollbackSafety::Safe => "rollback: safe".into(),
        RollbackSafety::Unsafe(why) => format!("rollback: UNSAFE — {why}"),
        RollbackSafety::Unknown(why) => format!("rollback: UNKNOWN — {why}"),
    }
}

/// Why the migration cannot be read, and for how long its database has
/// been failing.
fn problem(
    r: &Release,
    linked: Linked<'_>,
    now: DateTime<Utc>,
    room: Room,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let Some(problem) = &r.migration_problem else {
        return Vec::new();
    };
    let since = linked.and_then(|(_, db)| db?.failing_since);
    let text = match since {
        Some(since) => format!("failing for {}: {problem}", age(Some(since), now)),
        None => problem.clone(),
    };
    marked("✖", &text, theme.attention(), room)
}

/// One line per phase that began: when it ran and what says so.
fn timeline(m: &Migration, room: Room, theme: &Theme) -> Vec<Line<'static>> {
    m.phases
        .iter()
        .filter(|p| p.started.is_some() || p.state != PhaseState::Pending)
        .flat_map(|p| phase_line(p, room, theme))
        .collect()
}

/// `21:05:01–21:08:40 expand   Job payments-add-display-name-expand`, the
/// evidence wrapped under itself when there is room for that.
fn phase_line(p: &Phase, room: Room, theme: &Theme) -> Vec<Line<'static>> {
    let times = format!("{}–{} ", clock(p.started), finish(p, theme.glyphs));
    let name = format!("{:<9}", p.name.word());
    let lead = times.chars().count() + name.chars().count();
    let indent = if room.width >= 2 * lead {
        " ".repeat(lead)
    } else {
        "  ".into()
    };
    let mut lines = hanging(&p.evidence, room.width, &" ".repeat(lead), &indent).into_iter();
    let first = lines.next().unwrap_or_default();
    let mut out = vec![Line::from(vec![
        Span::styled(times, theme.muted()),
        Span::styled(name, theme.phase(p.state)),
        Span::raw(first.trim_start().to_string()),
    ])];
    out.extend(lines.map(Line::from));
    out
}

/// When a phase ended: its time, an ellipsis while it runs.
fn finish(p: &Phase, glyphs: Glyphs) -> String {
    match (p.finished, p.state) {
        (Some(t), _) => clock(Some(t)),
        (None, PhaseState::Running) => format!("{:<8}", glyphs.ellipsis()),
        (None, _) => NO_TIME.into(),
    }
}

fn clock(t: Option<DateTime<Utc>>) -> String {
    t.map_or(NO_TIME.into(), |t| t.format("%H:%M:%S").to_string())
}

/// The database's last reading: when, each tool's tables, then as many
/// blocked sessions and index builds as fit in `rows`.
fn database(
    name: &str,
    db: Option<&DatabaseState>,
    now: DateTime<Utc>,
    rows: usize,
    room: Room,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let Some(db) = db else {
        return vec![Line::from(Span::styled(
            format!("db {name} is not configured here: nothing is read from it"),
            theme.muted(),
        ))];
    };
    // Not read yet, and failing before any reading: the problem says so.
    let Some(reading) = &db.reading else {
        return Vec::new();
    };
    // While the database fails, the reading shown is the last good one.
    let label = match db.error {
        Some(_) => "last reading:",
        None => "read:",
    };
    let mut out = vec![field(
        label,
        format!(
            "{} ({} ago)",
            reading.read_at.format("%H:%M:%S"),
            age(Some(reading.read_at), now)
        ),
        theme,
    )];
    for tool in &reading.tools {
        let style = match tool.failure {
            Some(_) => theme.attention(),
            None => Default::default(),
        };
        out.extend(indented(&tool_text(tool, now), "", style, room));
    }
    if reading.blocked.is_empty() && reading.index_builds.is_empty() {
        out.push(Line::from(Span::styled(
            "no session waits for a lock, no index is being built",
            theme.muted(),
        )));
        return out;
    }
    let mut left = rows.saturating_sub(room.rows_of(&out));
    let blocked: Vec<_> = reading
        .blocked
        .iter()
        .map(|b| {
            marked(
                "⚠",
                &blocked_text(b, now, theme.glyphs),
                theme.fg(theme.warn),
                room,
            )
        })
        .collect();
    let blocked = as_many_as_fit(blocked, left, "blocked session", room, theme);
    left = left.saturating_sub(room.rows_of(&blocked));
    out.extend(blocked);
    let builds: Vec<_> = reading
        .index_builds
        .iter()
        .map(|i| marked("◌", &build_text(i), theme.fg(theme.info), room))
        .collect();
    out.extend(as_many_as_fit(builds, left, "index build", room, theme));
    out
}

/// `reshape: in_progress add_display_name · running: …`,
/// `flyway: applied 20 (3m ago) · failed: …`.
fn tool_text(t: &ToolState, now: DateTime<Utc>) -> String {
    let mut parts = Vec::new();
    if let Some(m) = &t.migration {
        parts.push(format!("{} {}", progress_word(m), m.name));
    }
    if let Some(version) = &t.applied {
        parts.push(match t.applied_at {
            Some(at) => format!("applied {version} ({} ago)", age(Some(at), now)),
            None => format!("applied {version}"),
        });
    }
    if !t.pending.is_empty() {
        parts.push(format!("pending: {}", t.pending.join(", ")));
    }
    if let Some(running) = &t.running {
        parts.push(format!("running: {running}"));
    }
    if let Some(failure) = &t.failure {
        parts.push(format!("failed: {failure}"));
    }
    if parts.is_empty() {
        parts.push("nothing applied".into());
    }
    format!("{}: {}", t.tool.word(), parts.join(" · "))
}

/// How far a tool's own migration got: `failed`, `completed` or
/// `in_progress`.
fn progress_word(m: &Migration) -> &'static str {
    if m.phases.iter().any(|p| p.state == PhaseState::Failed) {
        "failed"
    } else if m.phases.iter().all(|p| p.state == PhaseState::Done) {
        "completed"
    } else {
        "in_progress"
    }
}

/// `pid 4242 (payments) waits 12s for relation users ← blocked by pid 4100
/// (psql, idle in transaction): ALTER TABLE …`.
fn blocked_text(b: &BlockedSession, now: DateTime<Utc>, glyphs: Glyphs) -> String {
    let mut text = session(b.pid, &[&b.application]);
    match b.waiting_since {
        Some(since) => text.push_str(&format!(
            " waits {} for {}",
            age(Some(since), now),
            b.waits_for
        )),
        None => text.push_str(&format!(" waits for {}", b.waits_for)),
    }
    if !b.blocked_by.is_empty() {
        let blockers: Vec<String> = b
            .blocked_by
            .iter()
            .map(|b| blocker_text(b, glyphs))
            .collect();
        text.push_str(&format!(" ← blocked by {}", blockers.join("; ")));
    }
    text
}

fn blocker_text(b: &BlockingSession, glyphs: Glyphs) -> String {
    let mut text = session(b.pid, &[&b.application, &b.state]);
    if !b.query.is_empty() {
        text.push_str(&format!(": {}", cut(&b.query, QUERY_CHARS, glyphs)));
    }
    text
}

/// `pid 4100 (psql, idle in transaction)`, without the parts not known.
fn session(pid: i32, about: &[&str]) -> String {
    let known: Vec<&str> = about.iter().copied().filter(|a| !a.is_empty()).collect();
    if known.is_empty() {
        format!("pid {pid}")
    } else {
        format!("pid {pid} ({})", known.join(", "))
    }
}

/// `index users_display_name_idx on users: building index: scanning table
/// · 24% (1200/5000 blocks)`.
fn build_text(i: &IndexBuild) -> String {
    let progress = if i.blocks_total > 0 {
        format!(
            "{}% ({}/{} blocks)",
            i.blocks_done.saturating_mul(100) / i.blocks_total,
            i.blocks_done,
            i.blocks_total
        )
    } else {
        "no block count yet".into()
    };
    format!(
        "index {} on {}: {} · {progress}",
        i.index, i.relation, i.phase
    )
}

/// As many `items` (each its lines) as fit in `rows`, the first always,
/// then `… and N more <what>s` when some do not fit.
fn as_many_as_fit(
    items: Vec<Vec<Line<'static>>>,
    rows: usize,
    what: &str,
    room: Room,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let total = items.len();
    let mut out = Vec::new();
    let mut left = rows;
    for (i, lines) in items.into_iter().enumerate() {
        let needed = room.rows_of(&lines);
        // Room for "… and N more" under it, unless it is the last.
        let reserve = usize::from(i + 1 < total);
        if i > 0 && needed + reserve > left {
            let more = total - i;
            let plural = if more == 1 { "" } else { "s" };
            out.push(Line::from(Span::styled(
                format!(
                    "  {} and {more} more {what}{plural}",
                    theme.glyphs.ellipsis()
                ),
                theme.muted(),
            )));
            break;
        }
        left = left.saturating_sub(needed);
        out.extend(lines);
    }
    out
}

#[cfg(test)]
mod tests;
