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
fn strip(m: Option<&Migration>, theme: &Theme) -> Line<'static> {
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
            Attention::MigrationOrder(text) => Some(text),
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

fn rollback_text(safety: &RollbackSafety) -> String {
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
mod tests {
    use super::*;
    use crate::model::migration::Tool;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 14, h, m, s).unwrap()
    }

    fn running_backfill() -> Migration {
        let mut m = Migration::new("add_display_name");
        let expand = m.phase_mut(PhaseName::Expand).unwrap();
        expand.state = PhaseState::Done;
        expand.started = Some(at(21, 5, 1));
        expand.finished = Some(at(21, 8, 40));
        expand.evidence = "Job payments-add-display-name-expand".into();
        let backfill = m.phase_mut(PhaseName::Backfill).unwrap();
        backfill.state = PhaseState::Running;
        backfill.started = Some(at(21, 9, 0));
        backfill.evidence = "Job payments-add-display-name-backfill".into();
        m
    }

    fn text(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn the_strip_marks_each_phase_by_its_state() {
        let theme = Theme::load("mono").unwrap();
        let m = running_backfill();
        assert_eq!(
            strip(Some(&m), &theme).to_string(),
            "expand ✔ → backfill ◌ → switch ○ → contract ○"
        );
        assert_eq!(
            strip(None, &theme).to_string(),
            "expand ? → backfill ? → switch ? → contract ?"
        );
    }

    #[test]
    fn the_timeline_has_the_phases_that_began() {
        let theme = Theme::load("mono").unwrap();
        let room = Room {
            width: 78,
            rows: 20,
        };
        assert_eq!(
            text(&timeline(&running_backfill(), room, &theme)),
            [
                "21:05:01–21:08:40 expand   Job payments-add-display-name-expand",
                "21:09:00–…        backfill Job payments-add-display-name-backfill",
            ]
        );
        let narrow = Room {
            width: 40,
            rows: 20,
        };
        assert_eq!(
            text(&timeline(&running_backfill(), narrow, &theme))[..2],
            [
                "21:05:01–21:08:40 expand   Job",
                "  payments-add-display-name-expand"
            ],
            "too narrow to wrap under itself: indented by two"
        );
    }

    #[test]
    fn the_phases_come_from_a_tool_when_they_are_its_own() {
        let jobs = running_backfill();
        let mut reshape = ToolState::new(Tool::Reshape);
        reshape.migration = Some(Migration::new("add_display_name"));
        let reading = DatabaseReading {
            database: "payments".into(),
            read_at: at(21, 30, 0),
            tools: vec![reshape.clone()],
            blocked: Vec::new(),
            index_builds: Vec::new(),
            tls: None,
        };
        assert_eq!(
            phase_source(Some(&jobs), Some(&reading)),
            "Jobs labelled cutover.dev/phase"
        );
        let own = reshape.migration.clone().unwrap();
        assert_eq!(
            phase_source(Some(&own), Some(&reading)),
            "reshape's tables in db payments"
        );
        assert_eq!(
            phase_source(Some(&own), None),
            "no evidence yet: no phase has begun"
        );
        assert!(phase_source(None, Some(&reading)).starts_with("nothing:"));
    }

    #[test]
    fn rollback_says_unsafe_and_unknown_out_loud() {
        assert_eq!(rollback_text(&RollbackSafety::Safe), "rollback: safe");
        assert_eq!(
            rollback_text(&RollbackSafety::Unsafe("contract done".into())),
            "rollback: UNSAFE — contract done"
        );
        assert_eq!(
            rollback_text(&RollbackSafety::Unknown("db down".into())),
            "rollback: UNKNOWN — db down"
        );
    }

    #[test]
    fn tools_say_what_their_tables_hold() {
        let now = at(21, 30, 0);
        let mut reshape = ToolState::new(Tool::Reshape);
        reshape.migration = Some(running_backfill());
        reshape.running = Some("a reshape command is running (pid 4100)".into());
        assert_eq!(
            tool_text(&reshape, now),
            "reshape: in_progress add_display_name · running: a reshape command is running (pid 4100)"
        );
        let mut flyway = ToolState::new(Tool::Flyway);
        flyway.applied = Some("20".into());
        flyway.applied_at = Some(at(21, 27, 0));
        flyway.failure = Some("version 21 failed (V21__drop_name.sql)".into());
        assert_eq!(
            tool_text(&flyway, now),
            "flyway: applied 20 (3m ago) · failed: version 21 failed (V21__drop_name.sql)"
        );
        assert_eq!(
            tool_text(&ToolState::new(Tool::Sqlx), now),
            "sqlx: nothing applied"
        );
    }

    #[test]
    fn a_blocked_session_names_what_blocks_it() {
        let now = at(21, 30, 0);
        let blocked = BlockedSession {
            pid: 4242,
            application: "psql".into(),
            query: "UPDATE users SET display_name = name".into(),
            waiting_since: Some(at(21, 29, 48)),
            waits_for: "relation users".into(),
            blocked_by: vec![BlockingSession {
                pid: 4100,
                application: "reshape".into(),
                state: "idle in transaction".into(),
                query: "ALTER TABLE users ADD COLUMN display_name text".into(),
            }],
        };
        assert_eq!(
            blocked_text(&blocked, now, Glyphs::Unicode),
            "pid 4242 (psql) waits 12s for relation users ← blocked by pid 4100 (reshape, \
             idle in transaction): ALTER TABLE users ADD COLUMN display_name text"
        );
        let unknown = BlockedSession {
            application: String::new(),
            waiting_since: None,
            blocked_by: Vec::new(),
            ..blocked
        };
        assert_eq!(
            blocked_text(&unknown, now, Glyphs::Unicode),
            "pid 4242 waits for relation users"
        );
    }

    #[test]
    fn index_builds_show_their_progress() {
        let build = IndexBuild {
            pid: 4300,
            relation: "users".into(),
            index: "users_display_name_idx".into(),
            phase: "building index: scanning table".into(),
            blocks_done: 1200,
            blocks_total: 5000,
        };
        assert_eq!(
            build_text(&build),
            "index users_display_name_idx on users: building index: scanning table · 24% (1200/5000 blocks)"
        );
        let starting = IndexBuild {
            blocks_total: 0,
            ..build
        };
        assert!(build_text(&starting).ends_with("· no block count yet"));
    }

    #[test]
    fn what_does_not_fit_is_counted() {
        let theme = Theme::load("mono").unwrap();
        let room = Room {
            width: 40,
            rows: 10,
        };
        let items: Vec<Vec<Line<'static>>> = (1..=5)
            .map(|i| vec![Line::from(format!("session {i}"))])
            .collect();
        assert_eq!(
            text(&as_many_as_fit(items.clone(), 3, "session", room, &theme)),
            ["session 1", "session 2", "  … and 3 more sessions"]
        );
        assert_eq!(
            text(&as_many_as_fit(items.clone(), 0, "session", room, &theme)),
            ["session 1", "  … and 4 more sessions"],
            "the first always"
        );
        assert_eq!(
            text(&as_many_as_fit(
                items[..2].to_vec(),
                0,
                "session",
                room,
                &theme
            )),
            ["session 1", "  … and 1 more session"]
        );
        assert_eq!(
            text(&as_many_as_fit(items, 5, "session", room, &theme)).len(),
            5
        );
    }
}
