//! Snapshots of the screens drawn into ratatui's `TestBackend`: the list,
//! the detail of a canary paused at a timed pause, the help overlay, two
//! confirmations (a plain one and one that asks for the name), the metrics
//! panel with a failing canary and with an unreachable source, the list
//! with verdicts, the migration panel (backfilling; contracted with an
//! unsafe rollback and blocked sessions; its database failing), the list
//! with a contracted migration, an abort blocked by the schema and its
//! override, a config file with mistakes (the list counting them, the
//! `:config` panel listing them, and the help showing the keys that work),
//! a refusal whose reason wraps on the status line, and a fleet (its list
//! with one cluster down, a confirmation naming the cluster, the wave
//! view), each at 80×24 and 160×48, each with the default and the mono
//! theme.
//!
//! The data is the fixed fixture `tests/fixtures/ui/shop.yaml` fed through
//! the pure `update` as the watches would feed it, metrics judged by the
//! judge from hand-picked samples and fed as the metrics task would feed
//! them, database readings fed as the database task would feed them, and
//! the clock is fixed:
//! nothing depends on the machine, the time zone or `NO_COLOR` (themes are
//! loaded by name). The two themes must draw the same text, so each view
//! and size has one text snapshot; the mono drawing must carry no colour at
//! all. The list is also drawn in every built-in theme, its styles kept
//! (`themes.rs`).
//!
//! Here: the fixture, the keys, the drawing and the snapshot assertion; the
//! states of each concern in `*_states.rs`, the snapshots in `views.rs`, how
//! the screens read in `legibility.rs`, ASCII mode in `ascii.rs` and long
//! names in `long_names.rs`.

use chrono::{DateTime, Utc};
use cutover::app::access::{access_keys, flag_access_keys};
use cutover::app::keymap::{Chord, Keymap};
use cutover::app::state::{ConfigProblems, DatabaseState, MetricsSource, Overlay, Scope, View};
use cutover::app::{Msg, State, update};
use cutover::cluster::kinds::WatchedKind;
use cutover::cluster::projection::PodSummary;
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

const FIXTURE: &str = include_str!("../fixtures/ui/shop.yaml");

mod ascii;
mod bake_states;
mod board;
mod flag_states;
mod fleet;
mod legibility;
mod long_names;
mod metrics_states;
mod migration_states;
mod states;
mod themes;
mod views;

use views::{Case, prepared, views};

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
    let mut state = State::new(now(), false, Keymap::default());
    connect(&mut state, 0, "prod-eu-1", objects);
    assert_eq!(state.now, now());
    state
}

/// The context of connection `epoch` connected to `context` (namespace
/// `shop`), its watches having delivered `objects`.
fn connect(state: &mut State, epoch: u64, context: &str, objects: Vec<DynamicObject>) {
    let at = now();
    let scope = Scope {
        context: context.into(),
        namespace: Some("shop".into()),
        user: Some("alice@example.com".into()),
        contexts: vec![context.into(), "staging".into()],
        cluster_url: format!("https://{context}.example:6443"),
        missing_kinds: Vec::new(),
    };
    update(state, Msg::Connected { epoch, scope, at });
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
        let source = kind.plural().to_string();
        let delivered = match kind {
            WatchedKind::Pod => SourceUpdate::Pods {
                source,
                pods: objects
                    .iter()
                    .map(|pod| Arc::new(PodSummary::from(DynamicObject::clone(pod))))
                    .collect(),
                at,
            },
            _ => SourceUpdate::Objects {
                source,
                kind,
                objects,
                at,
            },
        };
        update(
            state,
            Msg::Source {
                epoch,
                updates: vec![delivered],
            },
        );
    }
}

fn key(kind: Kind, name: &str) -> ReleaseKey {
    ReleaseKey {
        cluster: String::new(),
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
    let flags = state
        .release(&key)
        .map(flag_access_keys)
        .unwrap_or_default();
    for access in access_keys(&key).into_iter().chain(flags) {
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

fn before_now(seconds: i64) -> DateTime<Utc> {
    now() - chrono::Duration::seconds(seconds)
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

/// Asserts the snapshot `name` of a view. The view snapshots were named when
/// this test was the one file `tests/ui_snapshots.rs`, and insta names a
/// snapshot after the module and the file of its assertion: asserting here,
/// at the crate root, and one folder up keeps each at
/// `tests/snapshots/ui_snapshots__<name>.snap`.
fn assert_view_snapshot(name: &str, description: String, contents: String) {
    insta::with_settings!({
        description => description,
        omit_expression => true,
        snapshot_path => "../snapshots",
    }, {
        insta::assert_snapshot!(name, contents);
    });
}
