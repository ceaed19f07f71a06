//! ASCII mode, for terminals without UTF-8: every view draws nothing but
//! ASCII, in the places the Unicode drawing uses.

use super::*;
use cutover::ui::glyphs::Glyphs;

fn ascii() -> Theme {
    Theme {
        glyphs: Glyphs::Ascii,
        ..Theme::load("default").expect("built-in theme")
    }
}

fn assert_ascii(backend: &TestBackend, what: &str) {
    for (i, cell) in backend.buffer().content.iter().enumerate() {
        assert!(
            cell.symbol().is_ascii(),
            "{what}: cell {i} is {:?}:\n{backend}",
            cell.symbol()
        );
    }
}

#[test]
fn every_view_draws_only_ascii() {
    for Case { name, .. } in views() {
        for size in SIZES {
            let (_, state) = prepared(name, size);
            assert_ascii(&render(&state, &ascii(), size), &format!("{name} {size:?}"));
        }
    }
}

/// The list, the detail and the metrics panel (with its sparklines) in
/// ASCII.
#[test]
fn snapshots_in_ascii() {
    for (name, sizes) in [
        ("list", &SIZES[..]),
        ("detail", &SIZES[..]),
        ("metrics_fail", &SIZES[..1]),
    ] {
        for &(width, height) in sizes {
            let (about, state) = prepared(name, (width, height));
            let backend = render(&state, &ascii(), (width, height));
            assert_ascii(&backend, name);
            let size = format!("{width}x{height}");
            insta::with_settings!({
                description => format!("{about}; {size}, in ASCII"),
                omit_expression => true,
            }, {
                insta::assert_snapshot!(format!("{name}_{size}_ascii"), backend.to_string());
            });
        }
    }
}
