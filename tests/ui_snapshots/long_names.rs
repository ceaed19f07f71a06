//! Long names on a narrow screen: the top bar keeps the connection state
//! and the read-only marker, cutting the context in the middle first; the
//! list keeps release names whole the longest, the other columns giving
//! way first and columns of placeholders going first of all.

use super::*;
use cutover::ui::glyphs::Glyphs;

/// An EKS context, 60 characters.
const CONTEXT: &str = "arn:aws:eks:eu-central-1:123456789012:cluster/prod-shop-main";

fn row(backend: &TestBackend, y: u16) -> String {
    let buffer = backend.buffer();
    (0..buffer.area.width)
        .map(|x| buffer[(x, y)].symbol())
        .collect()
}

/// The list, read-only, on a context with a long name.
fn long_context() -> State {
    assert_eq!(CONTEXT.len(), 60);
    let mut state = shop();
    state.home.scope.context = CONTEXT.into();
    state.read_only = true;
    state
}

fn theme(glyphs: Glyphs) -> Theme {
    Theme {
        glyphs,
        ..Theme::load("mono").expect("built-in theme")
    }
}

#[test]
fn the_top_bar_cuts_the_context_before_the_connection_state() {
    let state = long_context();
    for (glyphs, live, ellipsis) in [
        (Glyphs::Unicode, "● live", "…"),
        (Glyphs::Ascii, "* live", "..."),
    ] {
        let top = row(&render(&state, &theme(glyphs), (80, 24)), 0);
        assert!(top.contains(" READ-ONLY "), "{top}");
        assert!(top.trim_end().ends_with(live), "{top}");
        let context = top
            .split("ctx ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or_else(|| panic!("the context is shown at 80 columns: {top}"));
        let (head, tail) = context
            .split_once(ellipsis)
            .unwrap_or_else(|| panic!("cut in the middle with {ellipsis:?}: {context}"));
        assert!(
            CONTEXT.starts_with(head) && CONTEXT.ends_with(tail),
            "{context}"
        );
        assert!(head.len() >= 8 && tail.len() >= 8, "{context}");
        for width in [60, 40, 24] {
            let top = row(&render(&state, &theme(glyphs), (width, 24)), 0);
            assert!(
                top.contains(" READ-ONLY ") && top.contains(live),
                "{width} columns: {top}"
            );
        }
    }
    let backend = render(&state, &theme(Glyphs::Unicode), (80, 24));
    insta::with_settings!({
        description => "the list, read-only, on a 60-character EKS context at 80 columns",
        omit_expression => true,
    }, {
        insta::assert_snapshot!("long_context_80x24", backend.to_string());
    });
}

const LONG: &str = "shop/frontend-web-storefront-europe-west-canary";
const MEDIUM: &str = "shop/checkout-api-gateway";

/// The fixture with two long release names, in all namespaces (names
/// read `namespace/name`).
fn long_names() -> State {
    let yaml = FIXTURE
        .replace("checkout", "checkout-api-gateway")
        .replace("frontend", "frontend-web-storefront-europe-west-canary");
    let mut state = connected(objects_of(&yaml));
    state.home.scope.namespace = None;
    state
}

#[test]
fn the_list_keeps_names_whole_the_longest() {
    let state = long_names();
    for width in [120, 100] {
        let backend = render(&state, &theme(Glyphs::Unicode), (width, 24));
        let screen = backend.to_string();
        assert!(
            screen.contains(MEDIUM),
            "{width}: {MEDIUM} whole:\n{screen}"
        );
        let long_row = (0..24)
            .map(|y| row(&backend, y))
            .find(|r| r.contains("shop/frontend-"))
            .expect("frontend's row");
        let shown = long_row
            .split_whitespace()
            .find(|w| w.starts_with("shop/frontend-"))
            .expect("frontend's name");
        let kept = shown
            .strip_suffix('…')
            .unwrap_or_else(|| panic!("{width}: a cut name ends in …: {shown}"));
        assert!(LONG.starts_with(kept), "{shown}");
        assert!(
            kept.len() > 30,
            "{width}: the name keeps most of its width: {shown}"
        );
        let header = row(&backend, 2);
        assert!(
            !header.contains("VERDICT"),
            "{width}: a column of nothing but — goes first:\n{screen}"
        );
        assert!(header.contains("SCHEMA"), "{width}: {header}");
        insta::with_settings!({
            description => format!(
                "the list in all namespaces with two long release names; {width}x24"
            ),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("long_names_{width}x24"), screen);
        });
    }
    // With room, nothing is cut.
    let wide = render(&state, &theme(Glyphs::Unicode), (260, 24)).to_string();
    assert!(wide.contains(LONG) && wide.contains("VERDICT"), "{wide}");
}
