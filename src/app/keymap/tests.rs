//! The keymap: parsing keys, the defaults, and config overrides with
//! their conflicts.

use super::*;

#[test]
fn parses_keys() {
    assert_eq!(Chord::parse("P").unwrap(), Chord::plain('P'));
    assert_eq!(
        Chord::parse("ctrl-r").unwrap(),
        Chord {
            code: KeyCode::Char('r'),
            ctrl: true,
            alt: false
        }
    );
    assert_eq!(Chord::parse("Enter").unwrap().code, KeyCode::Enter);
    assert!(Chord::parse("hyper-x").is_err());
    assert_eq!(Chord::parse("ctrl-r").unwrap().label(), "Ctrl-r");
}

#[test]
fn defaults_and_overrides() {
    let km = Keymap::default();
    assert_eq!(km.command(&Chord::plain('P')), Some(KeyCommand::Promote));
    assert_eq!(
        km.command(&Chord::plain('y')),
        None,
        "confirm is only for dialogs"
    );
    let overrides = BTreeMap::from([
        ("promote".to_string(), vec!["ctrl-p".to_string()]),
        ("launch".to_string(), vec!["x".to_string()]),
        ("abort".to_string(), vec!["nonsense-key".to_string()]),
    ]);
    let (km, problems) = Keymap::with_overrides(&overrides);
    assert_eq!(
        km.command(&Chord::parse("ctrl-p").unwrap()),
        Some(KeyCommand::Promote)
    );
    assert_eq!(km.command(&Chord::plain('P')), None);
    assert_eq!(
        km.command(&Chord::plain('A')),
        Some(KeyCommand::Abort),
        "bad key keeps default"
    );
    assert_eq!(problems.len(), 2);
}

fn overrides(entries: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    entries
        .iter()
        .map(|(c, keys)| (c.to_string(), keys.iter().map(|k| k.to_string()).collect()))
        .collect()
}

fn where_and_what(problems: &[BindingProblem]) -> Vec<(&str, Option<usize>, &str)> {
    problems
        .iter()
        .map(|p| (p.command.as_str(), p.key, p.problem.as_str()))
        .collect()
}

/// No key is ever bound to two commands of one mode.
fn assert_no_key_twice(km: &Keymap) {
    assert!(km.first_conflict().is_none(), "{:?}", km.first_conflict());
}

#[test]
fn the_built_in_keys_never_conflict() {
    assert_no_key_twice(&Keymap::default());
}

#[test]
fn a_key_taken_from_a_built_in_binding_stays_with_it() {
    // `p` is pause's: promote does not get it and keeps P.
    let (km, problems) = Keymap::with_overrides(&overrides(&[("promote", &["p"])]));
    assert_eq!(
        km.command(&Chord::plain('p')),
        Some(KeyCommand::PauseResume)
    );
    assert_eq!(km.label(KeyCommand::Promote), "P");
    assert_eq!(
        where_and_what(&problems),
        [("promote", Some(0), "p for promote is already pause's key")]
    );
    assert!(problems[0].fix.contains("pause keeps it"), "{problems:?}");
    assert!(
        problems[0].fix.contains("promote keeps its built-in key P"),
        "{problems:?}"
    );
    assert_no_key_twice(&km);
}

#[test]
fn a_key_moved_away_from_its_command_is_free() {
    let (km, problems) =
        Keymap::with_overrides(&overrides(&[("promote", &["p"]), ("pause", &["space"])]));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(km.command(&Chord::plain('p')), Some(KeyCommand::Promote));
    assert_eq!(
        km.command(&Chord::plain(' ')),
        Some(KeyCommand::PauseResume)
    );
}

#[test]
fn a_key_given_to_two_commands_goes_to_neither() {
    let (km, problems) = Keymap::with_overrides(&overrides(&[
        ("abort", &["x", "ctrl-a"]),
        ("promote", &["x"]),
    ]));
    assert_eq!(km.command(&Chord::plain('x')), None);
    assert_eq!(km.label(KeyCommand::Abort), "Ctrl-a", "its other key stays");
    assert_eq!(
        km.label(KeyCommand::Promote),
        "P",
        "back to its built-in key"
    );
    assert_eq!(
        where_and_what(&problems),
        [
            ("promote", Some(0), "x is bound to both promote and abort"),
            ("abort", Some(0), "x is bound to both abort and promote"),
        ]
    );
    assert_no_key_twice(&km);
}

#[test]
fn a_built_in_key_given_back_wins_over_a_configured_one() {
    // promote loses `p` to pause and falls back to P, which abort asked
    // for: P is promote's again, abort keeps A.
    let (km, problems) =
        Keymap::with_overrides(&overrides(&[("promote", &["p"]), ("abort", &["P"])]));
    assert_eq!(km.command(&Chord::plain('P')), Some(KeyCommand::Promote));
    assert_eq!(km.command(&Chord::plain('A')), Some(KeyCommand::Abort));
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[1].problem, "P for abort is already promote's key");
    assert_no_key_twice(&km);
}

#[test]
fn keys_that_cannot_be_typed_are_named() {
    let (km, problems) = Keymap::with_overrides(&overrides(&[
        ("abort", &["ctrl-c"]),
        ("open", &["ctrl-m"]),
        ("sort", &["ctrl-1"]),
        ("confirm", &["esc"]),
        ("promote", &["shift-p"]),
        ("retry", &[]),
        ("undo", &["ctrl-z"]),
    ]));
    let what = where_and_what(&problems);
    assert_eq!(
        what[0],
        (
            "abort",
            Some(0),
            "Ctrl-c always quits (in a dialog, cancels)"
        )
    );
    assert_eq!(what[1], ("confirm", Some(0), "Esc always cancels a dialog"));
    assert!(
        what[2].2.contains("cannot be told apart from Enter"),
        "{what:?}"
    );
    assert_eq!(
        what[3],
        ("promote", Some(0), "unknown key \"shift-p\" for promote")
    );
    assert!(problems[3].fix.contains("write \"P\""), "{problems:?}");
    assert_eq!(what[4], ("retry", None, "no keys for retry"));
    assert!(
        what[5].2.contains("no key of their own for Ctrl-1"),
        "{what:?}"
    );
    assert_eq!(
        what[6],
        (
            "undo",
            Some(0),
            "Ctrl-z always suspends cutover, as in a shell"
        )
    );
    assert_eq!(km.label(KeyCommand::Abort), "A");
    assert_eq!(km.label(KeyCommand::Open), "Enter");
    assert_eq!(km.label(KeyCommand::Retry), "R");
}

#[test]
fn an_unknown_command_suggests_the_nearest() {
    let (_, problems) = Keymap::with_overrides(&overrides(&[("promte", &["x"])]));
    assert_eq!(
        where_and_what(&problems),
        [("promte", None, "unknown command \"promte\"")]
    );
    assert!(
        problems[0].fix.starts_with("did you mean \"promote\"?"),
        "{problems:?}"
    );
}
