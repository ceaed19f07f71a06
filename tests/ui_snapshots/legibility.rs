//! How the screens read: without colour, a long refusal, the keys the
//! help and the recommendation name, the metrics table when narrow, and
//! the wave view's cursor.

use super::fleet::wave_state;
use super::metrics_states::list_verdicts_state;
use super::states::{FREEZE, detail_state, help_config_keys_state, refused_state};
use super::*;

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

/// A colour slot of a theme.
type Slot = fn(&Theme) -> Color;
const BAD: Slot = |t| t.bad;
const WARN: Slot = |t| t.warn;
const INFO: Slot = |t| t.info;
const OK: Slot = |t| t.ok;
const MUTED: Slot = |t| t.muted;

fn default_theme() -> Theme {
    Theme::load("default").expect("built-in theme")
}

/// Wherever `text` is drawn, it is drawn in both themes, in the `colour`
/// slot's colour with the default theme and without colour in mono, with
/// `modifier` in both.
fn assert_styled(state: &State, size: (u16, u16), text: &str, colour: Slot, modifier: Modifier) {
    let colour = colour(&default_theme());
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
        (&list, "✖ Failed", BAD),
        (&list, "॥ Paused", WARN),
        (&list, "◌ Progressing", INFO),
        (&list, "✔ Healthy", OK),
        (&detail, "॥ Paused", WARN),
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
            assert_styled(state, size, text, BAD, modifier);
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
            (&backfill, "expand ✔", OK, none),
            (&backfill, "backfill ◌", INFO, bold),
            (&backfill, "switch ○", MUTED, none),
            (&backfill, "rollback: safe", OK, none),
            (&contracted, "contract ✔", OK, bold),
            (
                &contracted,
                "⚠ contract of add_display_name done",
                BAD,
                bold,
            ),
            (&contracted, "rollback: UNSAFE —", BAD, bold),
            (&failing, "rollback: UNKNOWN —", WARN, none),
            (&failing, "✖ failing for 2m:", BAD, bold),
            (&list, "contract✔", OK, none),
        ];
        for (state, text, colour, modifier) in cases {
            assert_styled(state, size, text, colour, modifier);
        }
        // The list's marker after the phase: an unsafe rollback, in red.
        let default = draw(&list, "default", size);
        let mono = draw(&list, "mono", size);
        let cells = find_all(mono.buffer(), "contract✔✖");
        let marker = *cells[0].last().expect("the marker");
        assert_eq!(default.buffer()[marker].fg, BAD(&default_theme()));
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
    press(&mut state, "j");
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

/// The wave's cursor is one cell, reversed: which cluster Enter opens
/// shows without colour, at both sizes.
#[test]
fn the_wave_cursor_is_one_cell_that_reads_without_colour() {
    let state = wave_state();
    for size in SIZES {
        let backend = draw(&state, "mono", size);
        let buffer = backend.buffer();
        let rows = find_all(buffer, "▶checkout");
        assert_eq!(rows.len(), 1, "{size:?}: the cursor's row is marked");
        let y = rows[0][0].1;
        let reversed: String = (0..size.0)
            .map(|x| &buffer[(x, y)])
            .filter(|c| c.modifier.contains(Modifier::REVERSED))
            .map(|c| c.symbol())
            .collect();
        assert_eq!(reversed, "॥ step 3/6", "{size:?}: us's cell alone");
    }
}
