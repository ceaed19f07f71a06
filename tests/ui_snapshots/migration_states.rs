//! The states of the migration snapshots: payments' Jobs and database
//! readings, as the watches and the database task deliver them.

use super::*;
use cutover::model::restore::{Backup, Repository, Stanza, WalRange};

/// Where the migration panel begins.
pub const MIGRATION_TITLE: &str = "── Migration";

/// The database payments' annotation names.
const PAYMENTS_DB: &str = "payments";

/// payments' migration carried through: the backfill Job completed at
/// 21:20:00, the switch ran 21:20:30–21:21:10 and the contract Job
/// completed at 21:29:10, while revision 1 (the active one, which needs the
/// old schema) still serves.
const CONTRACTED_JOBS: &str = r#"
apiVersion: batch/v1
kind: Job
metadata:
  name: payments-add-display-name-backfill
  namespace: shop
  uid: 0a1b2c3d-0002-4000-8000-000000000502
  creationTimestamp: "2025-03-14T21:09:00Z"
  labels: {cutover.dev/migration: add_display_name, cutover.dev/phase: backfill, cutover.dev/release: payments}
status:
  startTime: "2025-03-14T21:09:00Z"
  completionTime: "2025-03-14T21:20:00Z"
  succeeded: 1
  conditions: [{type: Complete, status: "True"}]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: payments-add-display-name-switch
  namespace: shop
  uid: 0a1b2c3d-0002-4000-8000-000000000503
  creationTimestamp: "2025-03-14T21:20:30Z"
  labels: {cutover.dev/migration: add_display_name, cutover.dev/phase: switch, cutover.dev/release: payments}
status:
  startTime: "2025-03-14T21:20:30Z"
  completionTime: "2025-03-14T21:21:10Z"
  succeeded: 1
  conditions: [{type: Complete, status: "True"}]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: payments-add-display-name-contract
  namespace: shop
  uid: 0a1b2c3d-0002-4000-8000-000000000504
  creationTimestamp: "2025-03-14T21:28:00Z"
  labels: {cutover.dev/migration: add_display_name, cutover.dev/phase: contract, cutover.dev/release: payments}
status:
  startTime: "2025-03-14T21:28:00Z"
  completionTime: "2025-03-14T21:29:10Z"
  succeeded: 1
  conditions: [{type: Complete, status: "True"}]
"#;

/// The Job watch delivers the fixture's expand Job and the later Jobs
/// (the backfill's newer status among them).
fn contract_completed(state: &mut State) {
    let later: Vec<DynamicObject> = serde_yaml::Deserializer::from_str(CONTRACTED_JOBS)
        .map(|doc| DynamicObject::deserialize(doc).expect("every Job is an object"))
        .collect();
    let replaced = |o: &DynamicObject| later.iter().any(|l| l.metadata.name == o.metadata.name);
    let jobs: Vec<Arc<DynamicObject>> = fixture_objects()
        .into_iter()
        .filter(|o| watched_kind(o) == WatchedKind::Job && !replaced(o))
        .chain(later.iter().cloned())
        .map(Arc::new)
        .collect();
    assert_eq!(jobs.len(), 4, "one Job per phase");
    let delivered = SourceUpdate::Objects {
        source: WatchedKind::Job.plural().to_string(),
        kind: WatchedKind::Job,
        objects: jobs,
        at: now(),
    };
    update(
        state,
        Msg::Source {
            epoch: 0,
            updates: vec![delivered],
        },
    );
}

/// The configured databases, as `app::run` sets them up: payments, not
/// read yet.
fn with_payments_database(state: &mut State) {
    state
        .databases
        .insert(PAYMENTS_DB.into(), DatabaseState::default());
}

/// One reading of payments' database delivered at `at`.
pub fn database(state: &mut State, result: Result<DatabaseReading, String>, at: DateTime<Utc>) {
    update(
        state,
        Msg::Database {
            name: PAYMENTS_DB.into(),
            result,
            at,
        },
    );
}

/// payments' pgBackRest repository, read just now: a full backup stopped
/// at 02:14 and an incremental at 09:05, both before the expand completed
/// (21:08:40); a restore from the full one tested 6 days ago; WAL archived
/// to …2A.
fn payments_backups(state: &mut State) {
    let backup = |label: &str, kind: &str, stopped: &str, tested: Option<&str>| Backup {
        label: label.into(),
        kind: kind.into(),
        started: at(stopped) - chrono::Duration::minutes(4),
        stopped: at(stopped),
        error: false,
        restore_tested: tested.map(at),
        unreadable_restore_tested: None,
    };
    let repository = Repository {
        stanzas: vec![Stanza {
            name: "main".into(),
            problem: None,
            archives: vec![WalRange {
                min: "000000010000000000000003".into(),
                max: "00000001000000000000002A".into(),
            }],
            backups: vec![
                backup(
                    "20250314-021000F",
                    "full",
                    "2025-03-14T02:14:00Z",
                    Some("2025-03-08T11:00:00Z"),
                ),
                backup(
                    "20250314-021000F_20250314-090100I",
                    "incr",
                    "2025-03-14T09:05:00Z",
                    None,
                ),
            ],
        }],
    };
    update(
        state,
        Msg::Backups {
            name: PAYMENTS_DB.into(),
            result: Ok(repository),
            at: now(),
        },
    );
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("an RFC 3339 time")
}

/// Flyway's history at `at`: version 20 applied 50s before, 21 to come.
fn flyway(at: DateTime<Utc>) -> ToolState {
    ToolState {
        applied: Some("20".into()),
        applied_at: Some(at - chrono::Duration::seconds(50)),
        pending: vec!["21".into()],
        ..ToolState::new(Tool::Flyway)
    }
}

/// Read 2s ago: a psql session left idle in transaction after altering
/// users holds its lock; two payments sessions wait behind it (the second
/// also behind the first) while an index on users is built.
fn blocked_reading() -> DatabaseReading {
    let holder = BlockingSession {
        pid: 4100,
        application: "psql".into(),
        state: "idle in transaction".into(),
        query: "ALTER TABLE users ALTER COLUMN display_name SET NOT NULL".into(),
    };
    let first_waiter = BlockedSession {
        pid: 4242,
        application: "payments".into(),
        query: "UPDATE users SET display_name = $1 WHERE id = $2".into(),
        waiting_since: Some(before_now(12)),
        waits_for: "relation users".into(),
        blocked_by: vec![holder.clone()],
    };
    let second_waiter = BlockedSession {
        pid: 4243,
        query: "SELECT display_name FROM users WHERE id = $1".into(),
        waiting_since: Some(before_now(9)),
        blocked_by: vec![
            holder,
            BlockingSession {
                pid: 4242,
                application: "payments".into(),
                state: "active".into(),
                query: "UPDATE users SET display_name = $1 WHERE id = $2".into(),
            },
        ],
        ..first_waiter.clone()
    };
    DatabaseReading {
        database: PAYMENTS_DB.into(),
        read_at: before_now(2),
        tools: vec![flyway(before_now(2))],
        blocked: vec![first_waiter, second_waiter],
        index_builds: vec![IndexBuild {
            pid: 4300,
            relation: "users".into(),
            index: "users_display_name_idx".into(),
            phase: "building index: scanning table".into(),
            blocks_done: 1200,
            blocks_total: 5000,
        }],
        tls: None,
    }
}

/// The list with payments highlighted and its actions allowed.
fn payments_selected() -> State {
    let mut state = shop();
    select(&mut state, "payments");
    allow(&mut state);
    state
}

/// payments open: its Jobs say expand done, backfill running; its database
/// is named but not configured here.
pub fn migration_backfill_state() -> State {
    let mut state = payments_selected();
    press(&mut state, "enter");
    assert_eq!(state.view, View::Detail(key(Kind::Rollout, "payments")));
    state
}

/// payments' contract Job completed under revision 1, and its database
/// read 2s ago with sessions waiting for a lock.
pub fn contracted(mut state: State) -> State {
    contract_completed(&mut state);
    with_payments_database(&mut state);
    database(&mut state, Ok(blocked_reading()), now());
    state
}

/// payments open after the contract: rollback unsafe, an alarm, two
/// blocked sessions and an index build.
pub fn migration_unsafe_state() -> State {
    let state = contracted(migration_backfill_state());
    let payments = state
        .release(&key(Kind::Rollout, "payments"))
        .expect("payments");
    assert!(
        matches!(
            cutover::ui::schema_rollback(payments),
            Some(RollbackSafety::Unsafe(_))
        ),
        "the contract makes the abort unsafe"
    );
    state
}

/// payments open while backfilling, its database read at 21:26:50 (Flyway
/// said version 21 failed) and refusing connections since 21:27:50.
pub fn migration_db_failing_state() -> State {
    let mut state = migration_backfill_state();
    with_payments_database(&mut state);
    let read_at = before_now(190);
    let failed = ToolState {
        failure: Some(
            "version 21 failed (V21__display_name_not_null.sql); it stays failed until \
             flyway repair"
                .into(),
        ),
        ..flyway(read_at)
    };
    let reading = DatabaseReading {
        database: PAYMENTS_DB.into(),
        read_at,
        tools: vec![failed],
        blocked: Vec::new(),
        index_builds: Vec::new(),
        tls: None,
    };
    database(&mut state, Ok(reading), read_at);
    database(
        &mut state,
        Err("connection refused".into()),
        before_now(130),
    );
    database(&mut state, Err("connection refused".into()), now());
    state
}

/// The list after payments' contract, payments highlighted.
pub fn list_schema_state() -> State {
    contracted(payments_selected())
}

/// Aborting payments after its contract: blocked by the schema, the name
/// to type first.
pub fn confirm_abort_blocked_state() -> State {
    let mut state = list_schema_state();
    press(&mut state, "A");
    let Some(Overlay::Confirm(c)) = &state.overlay else {
        panic!("A opens a confirmation: {:?}", state.last_result);
    };
    assert!(c.blocked_by().is_some(), "{:?}", c.safety);
    state
}

/// The blocked abort with the name typed and Enter pressed: the override
/// phrase is asked for.
pub fn confirm_abort_override_state() -> State {
    let mut state = confirm_abort_blocked_state();
    type_text(&mut state, "payments");
    press(&mut state, "enter");
    let Some(Overlay::Confirm(c)) = &state.overlay else {
        panic!(
            "Enter keeps the blocked confirmation: {:?}",
            state.last_result
        );
    };
    assert_eq!(c.override_typed.as_deref(), Some(""));
    state
}

/// payments open after the contract with its backups read: the Restore
/// block, and the alarm of a contract with no backup newer than the expand.
pub fn migration_restore_state() -> State {
    let mut state = contracted(migration_backfill_state());
    payments_backups(&mut state);
    state
}

/// Velero in namespace velero: shop's nightly schedule, last night's
/// backup, and a restore drill six days ago from an older one.
const VELERO_OBJECTS: &str = r#"
apiVersion: velero.io/v1
kind: Schedule
metadata: {name: shop-nightly, namespace: velero}
spec: {schedule: "0 2 * * *", template: {includedNamespaces: [shop]}}
status: {phase: Enabled, lastBackup: "2025-03-14T02:00:00Z"}
---
apiVersion: velero.io/v1
kind: Backup
metadata: {name: shop-nightly-20250314020000, namespace: velero, labels: {velero.io/schedule-name: shop-nightly}}
spec: {includedNamespaces: [shop]}
status: {phase: Completed, startTimestamp: "2025-03-14T02:00:00Z", completionTimestamp: "2025-03-14T02:06:00Z"}
---
apiVersion: velero.io/v1
kind: Backup
metadata: {name: shop-nightly-20250307020000, namespace: velero, labels: {velero.io/schedule-name: shop-nightly}}
spec: {includedNamespaces: [shop]}
status: {phase: Completed, startTimestamp: "2025-03-07T02:00:00Z", completionTimestamp: "2025-03-07T02:05:00Z"}
---
apiVersion: velero.io/v1
kind: Restore
metadata: {name: shop-drill, namespace: velero}
spec: {backupName: shop-nightly-20250307020000}
status: {phase: Completed, startTimestamp: "2025-03-08T10:00:00Z", completionTimestamp: "2025-03-08T10:08:00Z"}
"#;

/// payments open after the contract with both sources read: its
/// database's pgBackRest repository and Velero's backups of shop.
pub fn migration_restore_velero_state() -> State {
    let mut state = migration_restore_state();
    let objects: Vec<DynamicObject> = serde_yaml::Deserializer::from_str(VELERO_OBJECTS)
        .map(|doc| DynamicObject::deserialize(doc).expect("every Velero object is an object"))
        .collect();
    let updates = cutover::cluster::velero::KINDS
        .into_iter()
        .map(|kind| SourceUpdate::Objects {
            source: format!("{}{}", cutover::cluster::velero::SOURCES, kind.plural()),
            kind,
            objects: objects
                .iter()
                .filter(|o| o.types.as_ref().is_some_and(|t| t.kind == kind.kind()))
                .cloned()
                .map(Arc::new)
                .collect(),
            at: now(),
        })
        .collect();
    update(&mut state, Msg::Source { epoch: 0, updates });
    state
}

/// Aborting payments after its contract with its backups read: blocked,
/// and naming the restore the way back needs.
pub fn confirm_abort_restore_state() -> State {
    let mut state = list_schema_state();
    payments_backups(&mut state);
    press(&mut state, "A");
    let Some(Overlay::Confirm(c)) = &state.overlay else {
        panic!("A opens a confirmation: {:?}", state.last_result);
    };
    assert!(c.way_back.is_some(), "{:?}", c.safety);
    state
}
