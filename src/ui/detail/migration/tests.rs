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
