//! Snapshots of the screens drawn into ratatui's `TestBackend`: the list,
//! the detail of a canary paused at a timed pause, the help overlay and two
//! confirmations (a plain one and one that asks for the name), each at
//! 80×24 and 160×48, each with the default and the mono theme.
//!
//! The data is the fixed fixture `tests/fixtures/ui/shop.yaml` fed through
//! the pure `update` as the watches would feed it, and the clock is fixed:
//! nothing depends on the machine, the time zone or `NO_COLOR` (themes are
//! loaded by name). The two themes must draw the same text, so each view
//! and size has one text snapshot; the mono drawing must carry no colour at
//! all, and the list is also kept as a styled buffer in both themes.

use chrono::{DateTime, Utc};
use cutover::app::keymap::{Chord, Keymap};
use cutover::app::state::{Overlay, Scope, View};
use cutover::app::update::access_keys;
use cutover::app::{Msg, State, update};
use cutover::cluster::kinds::WatchedKind;
use cutover::cluster::watch::SourceUpdate;
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
    serde_yaml::Deserializer::from_str(FIXTURE)
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
    for object in fixture_objects() {
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
                update: delivered,
            },
        );
    }
    let names: Vec<&str> = state.releases.iter().map(|r| r.key.name.as_str()).collect();
    assert_eq!(
        names,
        ["cart", "checkout", "frontend", "payments", "search"],
        "the fixture's releases"
    );
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

fn press(state: &mut State, chord: &str) {
    let chord = Chord::parse(chord).unwrap_or_else(|e| panic!("chord {chord:?}: {e}"));
    update(state, Msg::Key(chord));
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

/// Answers the access reviews for `kind` in shop: allowed.
fn allow(state: &mut State, kind: Kind) {
    for access in access_keys(kind, "shop") {
        update(
            state,
            Msg::Access {
                key: access,
                result: Ok((true, String::new())),
                at: now(),
            },
        );
    }
}

/// The list with checkout highlighted and its actions allowed.
fn checkout_selected() -> State {
    let mut state = shop();
    select(&mut state, "checkout");
    allow(&mut state, Kind::Rollout);
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
    for c in "check".chars() {
        update(&mut state, Msg::Key(Chord::plain(c)));
    }
    let Some(Overlay::Confirm(c)) = &state.overlay else {
        panic!("A opens a confirmation: {:?}", state.last_result);
    };
    assert!(c.needs_name());
    assert_eq!(c.typed, "check");
    state
}

/// Every view the snapshots cover, with what it shows.
fn views() -> Vec<(&'static str, &'static str, State)> {
    vec![
        (
            "list",
            "the list: a failed Flagger canary, a blue-green waiting for promotion, a canary \
             paused with 150s left, a rolling Deployment and a steady one",
            shop(),
        ),
        (
            "detail",
            "checkout's detail: paused at a 5m pause with 150s left, ReplicaSets and pods, a \
             successful AnalysisRun with measurements, VirtualService weights, events",
            detail_state(),
        ),
        (
            "help",
            "the help overlay over the list, acting on checkout with its actions allowed",
            help_state(),
        ),
        (
            "confirm_pause",
            "the confirmation of pausing checkout (y/n)",
            confirm_pause_state(),
        ),
        (
            "confirm_abort",
            "the confirmation of aborting checkout, asking for the name: \"check\" typed",
            confirm_abort_state(),
        ),
    ]
}

fn draw(state: &State, theme: &str, (width, height): (u16, u16)) -> TestBackend {
    let theme = Theme::load(theme).expect("built-in theme");
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| ui::draw(frame, state, &theme))
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

/// Draws the view at both sizes in both themes: the same text in both
/// (one snapshot per size), colours in default, none at all in mono.
fn check_view(name: &str) {
    let (_, about, state) = views()
        .into_iter()
        .find(|(n, _, _)| *n == name)
        .expect("a known view");
    for (width, height) in SIZES {
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
            let mono = draw(state, "mono", size);
            let default = draw(state, "default", size);
            let places = find_all(mono.buffer(), status);
            assert!(
                !places.is_empty(),
                "{status:?} is missing at {size:?} in mono:\n{mono}"
            );
            assert_eq!(places, find_all(default.buffer(), status));
            for cells in places {
                for p in cells {
                    assert_eq!(
                        default.buffer()[p].fg,
                        colour,
                        "{status:?} at {p:?}, {size:?}: coloured by its health"
                    );
                    assert_eq!(mono.buffer()[p].fg, Color::Reset);
                }
            }
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
    for (name, _, state) in views() {
        for size in sizes {
            for theme in THEMES {
                let backend = draw(&state, theme, size);
                assert_eq!(backend.buffer().area.width, size.0, "{name} {size:?}");
            }
        }
    }
}
