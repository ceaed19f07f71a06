//! Snapshots of the screens drawn into ratatui's `TestBackend`: the list,
//! the detail of a canary paused at a timed pause, the help overlay, two
//! confirmations (a plain one and one that asks for the name), the metrics
//! panel with a failing canary and with an unreachable source, the list
//! with verdicts, the migration panel (backfilling; contracted with an
//! unsafe rollback and blocked sessions; its database failing), the list
//! with a contracted migration, an abort blocked by the schema and its
//! override, a config file with mistakes (the list counting them, the
//! `:config` panel listing them, and the help showing the keys that work),
//! and a refusal whose reason wraps on the status line, each at 80×24 and
//! 160×48, each with the default and the mono theme.
//!
//! The data is the fixed fixture `tests/fixtures/ui/shop.yaml` fed through
//! the pure `update` as the watches would feed it, metrics judged by the
//! judge from hand-picked samples and fed as the metrics task would feed
//! them, database readings fed as the database task would feed them, and
//! the clock is fixed:
//! nothing depends on the machine, the time zone or `NO_COLOR` (themes are
//! loaded by name). The two themes must draw the same text, so each view
//! and size has one text snapshot; the mono drawing must carry no colour at
//! all, and the list is also kept as a styled buffer in both themes.

use chrono::{DateTime, Utc};
use cutover::app::access::access_keys;
use cutover::app::keymap::{Chord, Keymap};
use cutover::app::state::{ConfigProblems, DatabaseState, MetricsSource, Overlay, Scope, View};
use cutover::app::{Msg, State, update};
use cutover::cluster::kinds::WatchedKind;
use cutover::cluster::watch::SourceUpdate;
use cutover::metrics::judge::{self, Fetched, Measured, MetricsSettings};
use cutover::metrics::profiles::Profile;
use cutover::model::metrics::{SideValue, Verdict};
use cutover::model::migration::{
    BlockedSession, BlockingSession, DatabaseReading, IndexBuild, RollbackSafety, Tool, ToolState,
};
use cutover::model::{Kind, ReleaseKey};
use cutover::ui::{self, theme::Theme};
use kube::api::DynamicObject;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

const FIXTURE: &str = include_str!("fixtures/ui/shop.yaml");

/// ASCII mode; the screen when names and contexts are long.
#[path = "ui_snapshots/ascii.rs"]
mod ascii;
#[path = "ui_snapshots/long_names.rs"]
mod long_names;

/// The clock of every snapshot: checkout's 5m pause began at 21:27:30, so
/// 150 seconds are left.
const NOW: &str = "2025-03-14T21:30:00Z";

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];
const THEMES: [&str; 2] = ["default", "mono"];

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW)
        .expect("NOW is RFC 3339")
        .with_timezone(&Utc)
}

fn fixture_objects() -> Vec<DynamicObject> {
    objects_of(FIXTURE)
}

fn objects_of(yaml: &str) -> Vec<DynamicObject> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|doc| DynamicObject::deserialize(doc).expect("every fixture document is an object"))
        .collect()
}

fn watched_kind(o: &DynamicObject) -> WatchedKind {
    let kind = o.types.as_ref().map_or("", |t| t.kind.as_str());
    WatchedKind::ALL
        .into_iter()
        .find(|k| k.kind() == kind)
        .unwrap_or_else(|| panic!("fixture object of kind {kind:?} is not a watched kind"))
}

/// The control room connected to namespace `shop` with every watch
/// delivered: five releases, the first row (by attention) highlighted.
fn shop() -> State {
    let state = connected(fixture_objects());
    let names: Vec<&str> = state.releases.iter().map(|r| r.key.name.as_str()).collect();
    assert_eq!(
        names,
        ["cart", "checkout", "frontend", "payments", "search"],
        "the fixture's releases"
    );
    state
}

/// The control room connected to namespace `shop`, the watches having
/// delivered `objects`.
fn connected(objects: Vec<DynamicObject>) -> State {
    let at = now();
    let mut state = State::new(at, false, Keymap::default());
    let scope = Scope {
        context: "prod-eu-1".into(),
        namespace: Some("shop".into()),
        user: Some("alice@example.com".into()),
        contexts: vec!["prod-eu-1".into(), "staging".into()],
        cluster_url: "https://prod-eu-1.example:6443".into(),
        missing_kinds: Vec::new(),
    };
    update(
        &mut state,
        Msg::Connected {
            epoch: 0,
            scope,
            at,
        },
    );
    let mut by_kind: BTreeMap<WatchedKind, Vec<Arc<DynamicObject>>> = WatchedKind::ALL
        .into_iter()
        .map(|k| (k, Vec::new()))
        .collect();
    for object in objects {
        by_kind
            .entry(watched_kind(&object))
            .or_default()
            .push(Arc::new(object));
    }
    for (kind, objects) in by_kind {
        let delivered = SourceUpdate::Objects {
            source: kind.plural().to_string(),
            kind,
            objects,
            at,
        };
        update(
            &mut state,
            Msg::Source {
                epoch: 0,
                updates: vec![delivered],
            },
        );
    }
    assert_eq!(state.now, now());
    state
}

fn key(kind: Kind, name: &str) -> ReleaseKey {
    ReleaseKey {
        kind,
        namespace: "shop".into(),
        name: name.into(),
    }
}

/// A key, read at the time of the last message.
fn send_key(state: &mut State, chord: Chord) {
    let at = state.now;
    update(state, Msg::Key { chord, at });
}

fn press(state: &mut State, chord: &str) {
    let chord = Chord::parse(chord).unwrap_or_else(|e| panic!("chord {chord:?}: {e}"));
    send_key(state, chord);
}

/// Types `text` into whatever has the keys.
fn type_text(state: &mut State, text: &str) {
    for c in text.chars() {
        send_key(state, Chord::plain(c));
    }
}

/// Moves the highlight down to `name` with `j`, as a user would.
fn select(state: &mut State, name: &str) {
    for _ in 0..=state.releases.len() {
        if state.selected.as_ref().is_some_and(|k| k.name == name) {
            return;
        }
        press(state, "j");
    }
    panic!("{name} is not in the list");
}

/// Answers the access reviews of the highlighted release: allowed.
fn allow(state: &mut State) {
    answer_reviews(state, true, "");
}

/// Answers the access reviews of the highlighted release.
fn answer_reviews(state: &mut State, allowed: bool, reason: &str) {
    let key = state.selected.clone().expect("a release highlighted");
    for access in access_keys(&key) {
        update(
            state,
            Msg::Access {
                key: access,
                result: Ok((allowed, reason.to_string())),
                at: now(),
            },
        );
    }
}

/// The list with checkout highlighted and its actions allowed.
fn checkout_selected() -> State {
    let mut state = shop();
    select(&mut state, "checkout");
    allow(&mut state);
    state
}

fn detail_state() -> State {
    let mut state = checkout_selected();
    press(&mut state, "enter");
    assert_eq!(state.view, View::Detail(key(Kind::Rollout, "checkout")));
    state
}

fn help_state() -> State {
    let mut state = checkout_selected();
    press(&mut state, "?");
    assert!(matches!(state.overlay, Some(Overlay::Help)));
    state
}

/// Pausing checkout: a plain y/n confirmation.
fn confirm_pause_state() -> State {
    let mut state = checkout_selected();
    press(&mut state, "p");
    let Some(Overlay::Confirm(c)) = &state.overlay else {
        panic!("p opens a confirmation: {:?}", state.last_result);
    };
    assert!(!c.needs_name());
    state
}

/// Aborting checkout: the name must be typed; "check" typed so far.
fn confirm_abort_state() -> State {
    let mut state = checkout_selected();
    press(&mut state, "A");
    type_text(&mut state, "check");
    let Some(Overlay::Confirm(c)) = &state.overlay else {
        panic!("A opens a confirmation: {:?}", state.last_result);
    };
    assert!(c.needs_name());
    assert_eq!(c.typed, "check");
    state
}

/// What a policy webhook answers the access review of a change to shop.
const FREEZE: &str = "denied by policy deploy-freeze: changes to namespace shop are frozen \
     until 2025-03-17T08:00:00Z (change request CHG-20417); ask #release-managers to lift the \
     freeze";

/// Pausing checkout, refused: the policy's whole reason on the status line.
fn refused_state() -> State {
    let mut state = shop();
    select(&mut state, "checkout");
    answer_reviews(&mut state, false, FREEZE);
    press(&mut state, "p");
    let result = state.last_result.as_ref().expect("a refusal");
    assert!(
        !result.ok && result.text.ends_with(FREEZE),
        "{}",
        result.text
    );
    state
}

/// Where the metrics panel begins.
const METRICS_TITLE: &str = "── Metrics: baseline vs canary";

/// The source every metrics snapshot reads from.
const PROMETHEUS: &str = "Prometheus http://prometheus.monitoring:9090";

/// The first row inside a view's border, under the top bar.
const FIRST_BODY_ROW: u16 = 2;

fn before_now(seconds: i64) -> DateTime<Utc> {
    now() - chrono::Duration::seconds(seconds)
}

/// The context's metrics source arrives: Prometheus, generic profile (the
/// rollouts-pod-template-hash label tells the versions apart).
fn with_prometheus(state: &mut State) {
    let source = MetricsSource {
        description: PROMETHEUS.into(),
        profile: Profile::Generic,
        warning: None,
    };
    update(
        state,
        Msg::MetricsSource {
            epoch: 0,
            source: Ok(source),
            at: state.now,
        },
    );
}

/// One refresh of `name`'s metrics, judged as the metrics task judges it
/// (classify, the default gates and the verdict) and delivered to `update`.
fn measured(state: &mut State, name: &str, measured: Measured) {
    let target = state
        .metrics_targets
        .iter()
        .find(|t| t.key.name == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} is measured: {:?}", state.metrics_skipped));
    let settings = MetricsSettings::default();
    assert_eq!(
        settings.metrics.len(),
        measured.metrics.len(),
        "one fetch per default metric"
    );
    let metrics = judge::judge(&settings, &target, measured, None);
    update(
        state,
        Msg::Metrics {
            epoch: 0,
            key: target.key,
            metrics: Box::new(metrics),
            at: state.now,
        },
    );
}

/// One side of a metric: the value over the window and its samples.
fn side(current: f64, samples: &[f64]) -> SideValue {
    SideValue {
        current: Some(current),
        samples: samples.to_vec(),
    }
}

/// checkout's canary going bad over the last 5 minutes (21 samples, one
/// every 15s): the traffic is split evenly, the error ratio climbs from
/// 0.6% to 7%, p95 and p99 latency more than double, p50 does not move.
/// Measured 12s ago. In the order of the default metrics: request rate,
/// error ratio, p50, p95, p99.
fn failing_canary() -> Measured {
    let request_rate: Fetched = Ok((
        side(
            41.2,
            &[
                41.0, 41.4, 40.8, 41.2, 41.6, 40.9, 41.3, 41.1, 40.7, 41.5, 41.2, 41.0, 41.4, 40.8,
                41.3, 41.1, 41.6, 40.9, 41.2, 41.0, 41.3,
            ],
        ),
        side(
            40.6,
            &[
                40.6, 40.9, 40.3, 40.8, 41.0, 40.5, 40.7, 40.4, 40.9, 40.6, 40.2, 40.8, 40.5, 40.7,
                40.3, 40.6, 40.9, 40.4, 40.6, 40.5, 40.7,
            ],
        ),
    ));
    let error_ratio: Fetched = Ok((
        side(
            0.0049,
            &[
                0.0048, 0.0051, 0.0046, 0.0050, 0.0049, 0.0053, 0.0047, 0.0050, 0.0052, 0.0048,
                0.0049, 0.0051, 0.0047, 0.0050, 0.0048, 0.0052, 0.0049, 0.0046, 0.0050, 0.0051,
                0.0049,
            ],
        ),
        side(
            0.052,
            &[
                0.006, 0.008, 0.011, 0.015, 0.021, 0.028, 0.034, 0.041, 0.047, 0.052, 0.056, 0.061,
                0.063, 0.066, 0.068, 0.069, 0.071, 0.070, 0.072, 0.071, 0.073,
            ],
        ),
    ));
    let p50: Fetched = Ok((
        side(
            42.0,
            &[
                42.0, 41.0, 43.0, 42.0, 44.0, 41.0, 42.0, 43.0, 42.0, 41.0, 43.0, 42.0, 44.0, 42.0,
                41.0, 43.0, 42.0, 42.0, 43.0, 41.0, 42.0,
            ],
        ),
        side(
            42.0,
            &[
                42.0, 43.0, 41.0, 42.0, 43.0, 42.0, 44.0, 41.0, 42.0, 43.0, 42.0, 41.0, 43.0, 42.0,
                44.0, 42.0, 43.0, 41.0, 42.0, 42.0, 43.0,
            ],
        ),
    ));
    let p95: Fetched = Ok((
        side(
            120.0,
            &[
                118.0, 121.0, 119.0, 122.0, 120.0, 117.0, 123.0, 119.0, 121.0, 120.0, 118.0, 122.0,
                120.0, 119.0, 121.0, 118.0, 120.0, 122.0, 119.0, 121.0, 120.0,
            ],
        ),
        side(
            251.0,
            &[
                125.0, 131.0, 142.0, 156.0, 171.0, 189.0, 204.0, 218.0, 229.0, 241.0, 250.0, 258.0,
                266.0, 271.0, 277.0, 281.0, 286.0, 289.0, 292.0, 294.0, 296.0,
            ],
        ),
    ));
    let p99: Fetched = Ok((
        side(
            210.0,
            &[
                205.0, 212.0, 198.0, 221.0, 209.0, 215.0, 202.0, 218.0, 207.0, 211.0, 224.0, 199.0,
                213.0, 206.0, 219.0, 204.0, 210.0, 216.0, 201.0, 214.0, 208.0,
            ],
        ),
        side(
            372.0,
            &[
                215.0, 228.0, 241.0, 262.0, 284.0, 301.0, 322.0, 338.0, 351.0, 366.0, 372.0, 381.0,
                389.0, 394.0, 398.0, 402.0, 405.0, 409.0, 411.0, 412.0, 415.0,
            ],
        ),
    ));
    Measured {
        source: PROMETHEUS.into(),
        at: before_now(12),
        metrics: vec![request_rate, error_ratio, p50, p95, p99],
        requests: Ok((side(12_380.0, &[]), side(12_170.0, &[]))),
        warnings: Vec::new(),
    }
}

/// Prometheus refusing every query at `at`.
fn unreachable_source(at: DateTime<Utc>) -> Measured {
    let error = "Prometheus answered HTTP 503: no healthy upstream".to_string();
    Measured {
        source: PROMETHEUS.into(),
        at,
        metrics: vec![Err(error.clone()); MetricsSettings::default().metrics.len()],
        requests: Err(error),
        warnings: Vec::new(),
    }
}

/// checkout open, its canary judged Fail: the AnalysisRun of step 2 was
/// Successful, so the controller disagrees.
fn metrics_fail_state() -> State {
    let mut state = detail_state();
    with_prometheus(&mut state);
    measured(&mut state, "checkout", failing_canary());
    assert_eq!(
        state.verdict_of(&key(Kind::Rollout, "checkout")),
        Some(Verdict::Fail)
    );
    state
}

/// Fails at every refresh since 2m10s ago, the latest 8s ago.
fn failing_source(state: &mut State, name: &str) {
    measured(state, name, unreachable_source(before_now(130)));
    measured(state, name, unreachable_source(before_now(8)));
}

/// checkout open, Prometheus failing for 2 minutes: no verdict.
fn metrics_error_state() -> State {
    let mut state = detail_state();
    with_prometheus(&mut state);
    failing_source(&mut state, "checkout");
    assert_eq!(
        state.verdict_of(&key(Kind::Rollout, "checkout")),
        Some(Verdict::NoData)
    );
    state
}

/// The list with checkout highlighted and judged Fail, payments' source
/// failing (NoData), the Deployments not measured.
fn list_verdicts_state() -> State {
    let mut state = checkout_selected();
    with_prometheus(&mut state);
    measured(&mut state, "checkout", failing_canary());
    failing_source(&mut state, "payments");
    state
}

/// Where the migration panel begins.
const MIGRATION_TITLE: &str = "── Migration";

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
fn database(state: &mut State, result: Result<DatabaseReading, String>, at: DateTime<Utc>) {
    update(
        state,
        Msg::Database {
            name: PAYMENTS_DB.into(),
            result,
            at,
        },
    );
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
fn migration_backfill_state() -> State {
    let mut state = payments_selected();
    press(&mut state, "enter");
    assert_eq!(state.view, View::Detail(key(Kind::Rollout, "payments")));
    state
}

/// payments' contract Job completed under revision 1, and its database
/// read 2s ago with sessions waiting for a lock.
fn contracted(mut state: State) -> State {
    contract_completed(&mut state);
    with_payments_database(&mut state);
    database(&mut state, Ok(blocked_reading()), now());
    state
}

/// payments open after the contract: rollback unsafe, an alarm, two
/// blocked sessions and an index build.
fn migration_unsafe_state() -> State {
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
fn migration_db_failing_state() -> State {
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
fn list_schema_state() -> State {
    contracted(payments_selected())
}

/// Aborting payments after its contract: blocked by the schema, the name
/// to type first.
fn confirm_abort_blocked_state() -> State {
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
fn confirm_abort_override_state() -> State {
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

/// A config file with an unknown theme, two commands on one key, sort
/// moved to `o`, and a gate on a misspelt metric.
const CONFIG_WITH_MISTAKES: &str = r#"theme = "dracula"

[keys]
promote = ["x"]
abort = ["x"]
sort = ["o"]

[[metrics.gates]]
metric = "error_rato"
max_delta = 0.005
"#;

/// The control room given [`CONFIG_WITH_MISTAKES`] as the program loads
/// it: its key bindings and its problems.
fn with_config_mistakes(state: &mut State) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, CONFIG_WITH_MISTAKES).expect("write the config");
    let loaded = cutover::config::load(&path, &[]);
    state.keymap = loaded.keymap;
    state.config_problems = ConfigProblems {
        file: "~/.config/cutover/config.toml".into(),
        problems: loaded.problems.iter().map(ToString::to_string).collect(),
    };
}

fn list_config_problems_state() -> State {
    let mut state = shop();
    with_config_mistakes(&mut state);
    state
}

fn config_problems_state() -> State {
    let mut state = list_config_problems_state();
    for key in [":", "c", "o", "n", "f", "i", "g", "enter"] {
        press(&mut state, key);
    }
    assert!(matches!(state.overlay, Some(Overlay::ConfigProblems)));
    state
}

fn help_config_keys_state() -> State {
    let mut state = checkout_selected();
    with_config_mistakes(&mut state);
    press(&mut state, "?");
    assert!(matches!(state.overlay, Some(Overlay::Help)));
    state
}

/// One snapshot subject.
struct Case {
    name: &'static str,
    about: &'static str,
    state: State,
    /// At a size that does not show this text, the detail is scrolled down
    /// until it is the first row.
    reveal: Option<&'static str>,
}

fn case(name: &'static str, about: &'static str, state: State) -> Case {
    Case {
        name,
        about,
        state,
        reveal: None,
    }
}

/// Every view the snapshots cover, with what it shows.
fn views() -> Vec<Case> {
    vec![
        case(
            "list",
            "the list: a failed Flagger canary, a blue-green waiting for promotion, a canary \
             paused with 150s left, a rolling Deployment and a steady one",
            shop(),
        ),
        case(
            "detail",
            "checkout's detail: paused at a 5m pause with 150s left, ReplicaSets and pods, a \
             successful AnalysisRun with measurements, VirtualService weights, events",
            detail_state(),
        ),
        case(
            "help",
            "the help overlay over the list, acting on checkout with its actions allowed",
            help_state(),
        ),
        case(
            "confirm_pause",
            "the confirmation of pausing checkout (y/n)",
            confirm_pause_state(),
        ),
        case(
            "confirm_abort",
            "the confirmation of aborting checkout, asking for the name: \"check\" typed",
            confirm_abort_state(),
        ),
        Case {
            reveal: Some(METRICS_TITLE),
            ..case(
                "metrics_fail",
                "checkout's metrics panel: error ratio and p95/p99 High, both gates failed, \
                 verdict Fail against a Successful AnalysisRun, abort recommended",
                metrics_fail_state(),
            )
        },
        Case {
            reveal: Some(METRICS_TITLE),
            ..case(
                "metrics_source_error",
                "checkout's metrics panel: Prometheus failing for 2m, no verdict",
                metrics_error_state(),
            )
        },
        case(
            "list_verdicts",
            "the list with the verdict column: checkout highlighted and failing (abort \
             recommended), payments without data, the rest not measured",
            list_verdicts_state(),
        ),
        Case {
            reveal: Some(MIGRATION_TITLE),
            ..case(
                "migration_backfill",
                "payments' migration panel: expand done, backfill running (from its Jobs), \
                 rollback safe, the database named but not configured",
                migration_backfill_state(),
            )
        },
        Case {
            reveal: Some(MIGRATION_TITLE),
            ..case(
                "migration_unsafe",
                "payments' migration panel after its contract Job completed: rollback \
                 UNSAFE, the alarm of revision 1 under the contract, Flyway's history, two \
                 sessions blocked behind an idle transaction, an index build",
                migration_unsafe_state(),
            )
        },
        Case {
            reveal: Some(MIGRATION_TITLE),
            ..case(
                "migration_db_failing",
                "payments' migration panel while backfilling, its database refusing \
                 connections for 2m: rollback UNKNOWN, the last reading kept",
                migration_db_failing_state(),
            )
        },
        case(
            "list_schema",
            "the list with the schema column: payments highlighted, contracted with an \
             unsafe rollback and an alarm, the rest without a migration",
            list_schema_state(),
        ),
        case(
            "refused",
            "the list after pausing checkout was refused by a policy: the whole reason, \
             wrapped over the rows it needs at the bottom",
            refused_state(),
        ),
        case(
            "confirm_abort_blocked",
            "the confirmation of aborting payments after its contract: blocked by the \
             schema, asking for the name",
            confirm_abort_blocked_state(),
        ),
        case(
            "confirm_abort_override",
            "the blocked abort of payments with the name typed and Enter pressed: asking \
             for the override phrase",
            confirm_abort_override_state(),
        ),
        case(
            "list_config_problems",
            "the list with a config file of five problems: the status line counts them",
            list_config_problems_state(),
        ),
        case(
            "config_problems",
            "the :config panel over the list: each problem of the config file with its line \
             and column, the cause and the fix",
            config_problems_state(),
        ),
        case(
            "help_config_keys",
            "the help with the config's keys: x given to both promote and abort goes to \
             neither (P and A stay), sort moved to o",
            help_config_keys_state(),
        ),
    ]
}

fn draw(state: &State, theme: &str, size: (u16, u16)) -> TestBackend {
    render(state, &Theme::load(theme).expect("built-in theme"), size)
}

fn render(state: &State, theme: &Theme, (width, height): (u16, u16)) -> TestBackend {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| ui::draw(frame, state, theme))
        .expect("draw");
    terminal.backend().clone()
}

/// The cells of the first run of `text` on each row where it appears.
fn find_all(buffer: &Buffer, text: &str) -> Vec<Vec<(u16, u16)>> {
    let width = text.chars().count();
    let area = buffer.area;
    let mut found = Vec::new();
    for y in area.top()..area.bottom() {
        let row: Vec<(u16, u16)> = (area.left()..area.right()).map(|x| (x, y)).collect();
        for window in row.windows(width) {
            let symbols: String = window.iter().map(|&p| buffer[p].symbol()).collect();
            if symbols == text {
                found.push(window.to_vec());
                break;
            }
        }
    }
    found
}

fn assert_colourless(buffer: &Buffer, what: &str) {
    for (i, cell) in buffer.content.iter().enumerate() {
        assert!(
            cell.fg == Color::Reset && cell.bg == Color::Reset,
            "{what}: cell {i} ({:?}) has colours {:?} on {:?}",
            cell.symbol(),
            cell.fg,
            cell.bg
        );
    }
}

fn has_colour(buffer: &Buffer) -> bool {
    buffer
        .content
        .iter()
        .any(|c| c.fg != Color::Reset || c.bg != Color::Reset)
}

/// Scrolls the detail down with `j`, as a user would, until `text` is on
/// the first row of the view; nothing when `size` already shows it in the
/// upper half of the screen (lower, what follows it would be cut).
fn reveal(state: &mut State, text: &str, size: (u16, u16)) {
    let top_row = |state: &State| {
        find_all(draw(state, "mono", size).buffer(), text)
            .first()
            .map(|cells| cells[0].1)
    };
    if top_row(state).is_some_and(|row| row < size.1 / 2) {
        return;
    }
    for _ in 0..500 {
        press(state, "j");
        if top_row(state) == Some(FIRST_BODY_ROW) {
            return;
        }
    }
    panic!("{text:?} never reaches the top at {size:?}");
}

/// The view `name` as drawn at `size`: scrolled, if the case says so.
fn prepared(name: &str, size: (u16, u16)) -> (&'static str, State) {
    let Case {
        about,
        mut state,
        reveal: text,
        ..
    } = views()
        .into_iter()
        .find(|c| c.name == name)
        .expect("a known view");
    if let Some(text) = text {
        reveal(&mut state, text, size);
    }
    (about, state)
}

/// Draws the view at both sizes in both themes: the same text in both
/// (one snapshot per size), colours in default, none at all in mono.
fn check_view(name: &str) {
    for (width, height) in SIZES {
        let (about, state) = prepared(name, (width, height));
        let size = format!("{width}x{height}");
        let default = draw(&state, "default", (width, height));
        let mono = draw(&state, "mono", (width, height));
        assert_eq!(
            mono.to_string(),
            default.to_string(),
            "{name} {size}: the mono theme must draw the same text"
        );
        assert!(
            has_colour(default.buffer()),
            "{name} {size}: the default theme draws in colour"
        );
        assert_colourless(mono.buffer(), &format!("{name} {size} mono"));
        insta::with_settings!({
            description => format!("{about}; {size}, text of both themes"),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("{name}_{size}"), default.to_string());
        });
    }
}

#[test]
fn list() {
    check_view("list");
}

#[test]
fn detail() {
    check_view("detail");
}

#[test]
fn help() {
    check_view("help");
}

#[test]
fn confirm_pause() {
    check_view("confirm_pause");
}

#[test]
fn confirm_abort() {
    check_view("confirm_abort");
}

#[test]
fn metrics_fail() {
    check_view("metrics_fail");
}

#[test]
fn metrics_source_error() {
    check_view("metrics_source_error");
}

#[test]
fn list_verdicts() {
    check_view("list_verdicts");
}

#[test]
fn migration_backfill() {
    check_view("migration_backfill");
}

#[test]
fn migration_unsafe() {
    check_view("migration_unsafe");
}

#[test]
fn migration_db_failing() {
    check_view("migration_db_failing");
}

#[test]
fn list_schema() {
    check_view("list_schema");
}

#[test]
fn refused() {
    check_view("refused");
}

/// The bottom rows of a drawing, joined as one text.
fn bottom_text(state: &State, size: (u16, u16), rows: u16) -> String {
    let backend = draw(state, "mono", size);
    let buffer = backend.buffer();
    (size.1 - rows..size.1)
        .map(|y| {
            (0..size.0)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .map(|row| row.trim_end().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_long_refusal_is_shown_whole_or_its_cut_is_marked() {
    let state = refused_state();
    let words = |text: &str| {
        text.split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let shown = bottom_text(&state, (80, 24), 4);
    assert!(
        words(&shown).ends_with(&words(FREEZE)),
        "the whole reason at 80×24:\n{shown}"
    );
    // A third of a 9-row screen is 3 rows: too few at 40 columns.
    let cut = bottom_text(&state, (40, 9), 3);
    assert!(cut.ends_with('…'), "the cut is marked:\n{cut}");
}

#[test]
fn confirm_abort_blocked() {
    check_view("confirm_abort_blocked");
}

#[test]
fn confirm_abort_override() {
    check_view("confirm_abort_override");
}

#[test]
fn list_config_problems() {
    check_view("list_config_problems");
}

#[test]
fn config_problems() {
    check_view("config_problems");
}

#[test]
fn help_config_keys() {
    check_view("help_config_keys");
}

/// The help lists the keys that work, each once: no key bound twice.
#[test]
fn help_shows_only_the_keys_that_work() {
    let text = draw(&help_config_keys_state(), "mono", (160, 48)).to_string();
    let key_of = |what: &str| {
        text.lines()
            .find(|l| l.contains(what))
            .and_then(|l| l.split('│').nth(2))
            .and_then(|cell| cell.split_whitespace().next())
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no row for {what}:\n{text}"))
    };
    assert_eq!(key_of("promote: end the pause"), "P");
    assert_eq!(key_of("abort: traffic back"), "A");
    assert_eq!(key_of("sort: attention, name"), "o");
    let keys: Vec<String> = text
        .lines()
        .filter_map(|l| {
            l.split('│')
                .nth(2)?
                .split_whitespace()
                .next()
                .map(String::from)
        })
        .collect();
    assert!(!keys.contains(&"x".to_string()), "{text}");
}

/// Wherever `text` is drawn, it is drawn in both themes, in `colour` with
/// the default theme and without colour in mono, with `modifier` in both.
fn assert_styled(state: &State, size: (u16, u16), text: &str, colour: Color, modifier: Modifier) {
    let mono = draw(state, "mono", size);
    let default = draw(state, "default", size);
    let places = find_all(mono.buffer(), text);
    assert!(
        !places.is_empty(),
        "{text:?} is missing at {size:?} in mono:\n{mono}"
    );
    assert_eq!(places, find_all(default.buffer(), text));
    for p in places.into_iter().flatten() {
        let (default, mono) = (&default.buffer()[p], &mono.buffer()[p]);
        assert_eq!(
            default.fg, colour,
            "{text:?} at {p:?}, {size:?}: its colour"
        );
        assert_eq!(mono.fg, Color::Reset);
        for cell in [default, mono] {
            assert!(
                cell.modifier.contains(modifier),
                "{text:?} at {p:?}, {size:?}: {:?} has {modifier:?}",
                cell.modifier
            );
        }
    }
}

/// Without colour every status keeps its symbol and word; with the default
/// theme the same cells are coloured by health.
#[test]
fn statuses_read_without_colour() {
    let list = shop();
    let detail = detail_state();
    let cases = [
        (&list, "✖ Failed", Color::Red),
        (&list, "॥ Paused", Color::Yellow),
        (&list, "◌ Progressing", Color::Blue),
        (&list, "✔ Healthy", Color::Green),
        (&detail, "॥ Paused", Color::Yellow),
    ];
    for size in SIZES {
        for (state, status, colour) in cases {
            assert_styled(state, size, status, colour, Modifier::empty());
        }
        // The highlighted row (checkout's, moved to with `j`) stays visible
        // without colour: reverse video across the row.
        let mut selected = shop();
        select(&mut selected, "checkout");
        let mono = draw(&selected, "mono", size);
        let marker = find_all(mono.buffer(), "▶ ");
        assert_eq!(marker.len(), 1, "one highlighted row:\n{mono}");
        let (x, y) = marker[0][0];
        let row = find_all(mono.buffer(), "checkout");
        assert_eq!(row[0][0].1, y, "the highlight is on checkout's row");
        for x in x..mono.buffer().area.width - 1 {
            assert!(
                mono.buffer()[(x, y)].modifier.contains(Modifier::REVERSED),
                "cell {x},{y} of the highlighted row is reversed in mono"
            );
        }
    }
}

/// cutover's Fail reads without colour too: its word and symbol, bold; the
/// default theme adds the error colour. The abort recommendation is in
/// reverse video.
#[test]
fn verdicts_read_without_colour() {
    let bold = Modifier::BOLD;
    let recommendation = "✖ metrics say Fail: abort recommended (A)";
    for size in SIZES {
        let list = prepared("list_verdicts", size).1;
        let detail = prepared("metrics_fail", size).1;
        let cases = [
            (&list, "Fail", bold),
            (&list, recommendation, bold | Modifier::REVERSED),
            (&detail, "✖ Verdict: Fail (score 25)", bold),
            (&detail, "✖ gate Fail:", bold),
            (&detail, "≠ disagrees with cutover's Fail", bold),
            (&detail, recommendation, bold | Modifier::REVERSED),
        ];
        for (state, text, modifier) in cases {
            assert_styled(state, size, text, Color::Red, modifier);
        }
    }
}

/// The migration's states read without colour: words and marks, an unsafe
/// rollback and the alarms bold; the default theme adds ok, progress, warn
/// and error colours.
#[test]
fn migrations_read_without_colour() {
    let bold = Modifier::BOLD;
    let none = Modifier::empty();
    for size in SIZES {
        let backfill = prepared("migration_backfill", size).1;
        let contracted = prepared("migration_unsafe", size).1;
        let failing = prepared("migration_db_failing", size).1;
        let list = prepared("list_schema", size).1;
        let cases = [
            (&backfill, "expand ✔", Color::Green, none),
            (&backfill, "backfill ◌", Color::Blue, bold),
            (&backfill, "switch ○", Color::DarkGray, none),
            (&backfill, "rollback: safe", Color::Green, none),
            (&contracted, "contract ✔", Color::Green, bold),
            (
                &contracted,
                "⚠ contract of add_display_name done",
                Color::Red,
                bold,
            ),
            (&contracted, "rollback: UNSAFE —", Color::Red, bold),
            (&failing, "rollback: UNKNOWN —", Color::Yellow, none),
            (&failing, "✖ failing for 2m:", Color::Red, bold),
            (&list, "contract✔", Color::Green, none),
        ];
        for (state, text, colour, modifier) in cases {
            assert_styled(state, size, text, colour, modifier);
        }
        // The list's marker after the phase: an unsafe rollback, in red.
        let default = draw(&list, "default", size);
        let mono = draw(&list, "mono", size);
        let cells = find_all(mono.buffer(), "contract✔✖");
        let marker = *cells[0].last().expect("the marker");
        assert_eq!(default.buffer()[marker].fg, Color::Red);
        for buffer in [default.buffer(), mono.buffer()] {
            assert!(buffer[marker].modifier.contains(bold));
        }
    }
}

/// The recommendation names the key bound to abort, and says when that key
/// does nothing here.
#[test]
fn the_recommendation_names_the_abort_key() {
    let bottom_line = |state: &State| {
        let backend = draw(state, "mono", (160, 48));
        let buffer = backend.buffer();
        let y = buffer.area.bottom() - 1;
        (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol())
            .collect::<String>()
    };
    let mut state = list_verdicts_state();
    let overrides = BTreeMap::from([("abort".to_string(), vec!["ctrl-x".to_string()])]);
    state.keymap = Keymap::with_overrides(&overrides).0;
    assert!(
        bottom_line(&state).starts_with("✖ metrics say Fail: abort recommended (Ctrl-x)  "),
        "{}",
        bottom_line(&state)
    );
    state.read_only = true;
    assert!(
        bottom_line(&state)
            .starts_with("✖ metrics say Fail: abort recommended (Ctrl-x, off here: read-only)  "),
        "{}",
        bottom_line(&state)
    );
    press(&mut state, "k");
    assert_eq!(state.selected, Some(key(Kind::Rollout, "payments")));
    assert!(
        !bottom_line(&state).contains("recommended"),
        "payments has no verdict: {}",
        bottom_line(&state)
    );
}

/// As the panel narrows, the trends drop first (the baseline's, then the
/// canary's), then Δ%, then Δ.
#[test]
fn the_metrics_table_drops_extras_when_narrow() {
    let header_at = |width: u16| {
        let size = (width, 40);
        let state = prepared("metrics_fail", size).1;
        let backend = draw(&state, "mono", size);
        let buffer = backend.buffer();
        let row = find_all(buffer, "metric ")
            .first()
            .map(|cells| cells[0].1)
            .unwrap_or_else(|| panic!("no table header at {width}:\n{backend}"));
        let text: String = (0..buffer.area.width)
            .map(|x| buffer[(x, row)].symbol())
            .collect();
        text.split_whitespace()
            .filter(|w| *w != "│")
            .map(|w| w.trim_matches('│').to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        header_at(80),
        "metric baseline canary Δ Δ% baseline trend canary trend class"
    );
    assert_eq!(
        header_at(70),
        "metric baseline canary Δ Δ% canary trend class"
    );
    assert_eq!(header_at(60), "metric baseline canary Δ Δ% class");
    assert_eq!(header_at(50), "metric baseline canary Δ class");
    assert_eq!(header_at(40), "metric baseline canary class");
}

/// The list at 80×24 with every style, in both themes.
#[test]
fn list_styled() {
    let state = shop();
    for theme in THEMES {
        let backend = draw(&state, theme, (80, 24));
        insta::with_settings!({
            description => format!("the list at 80x24 with the {theme} theme: text and styles"),
            omit_expression => true,
        }, {
            insta::assert_debug_snapshot!(format!("list_80x24_{theme}_styled"), backend.buffer());
        });
    }
}

/// Tiny and odd terminals: every view draws without panicking.
#[test]
fn tiny_sizes_do_not_panic() {
    let sizes = [
        (1, 1),
        (2, 2),
        (1, 30),
        (30, 1),
        (20, 5),
        (10, 3),
        (40, 8),
        (80, 3),
        (12, 24),
    ];
    for Case { name, state, .. } in views() {
        for size in sizes {
            for theme in THEMES {
                let backend = draw(&state, theme, size);
                assert_eq!(backend.buffer().area.width, size.0, "{name} {size:?}");
            }
        }
    }
}
