//! The states of the list and its overlays: a release highlighted, its
//! detail, the help, two confirmations, a refusal, and a config file with
//! mistakes.

use super::*;

/// The list with checkout highlighted and its actions allowed.
pub fn checkout_selected() -> State {
    let mut state = shop();
    select(&mut state, "checkout");
    allow(&mut state);
    state
}

pub fn detail_state() -> State {
    let mut state = checkout_selected();
    press(&mut state, "enter");
    assert_eq!(state.view, View::Detail(key(Kind::Rollout, "checkout")));
    state
}

pub fn help_state() -> State {
    let mut state = checkout_selected();
    press(&mut state, "?");
    assert!(matches!(state.overlay, Some(Overlay::Help)));
    state
}

/// Pausing checkout: a plain y/n confirmation.
pub fn confirm_pause_state() -> State {
    let mut state = checkout_selected();
    press(&mut state, "p");
    let Some(Overlay::Confirm(c)) = &state.overlay else {
        panic!("p opens a confirmation: {:?}", state.last_result);
    };
    assert!(!c.needs_name());
    state
}

/// Aborting checkout: the name must be typed; "check" typed so far.
pub fn confirm_abort_state() -> State {
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
pub const FREEZE: &str = "denied by policy deploy-freeze: changes to namespace shop are frozen \
     until 2025-03-17T08:00:00Z (change request CHG-20417); ask #release-managers to lift the \
     freeze";

/// Pausing checkout, refused: the policy's whole reason on the status line.
pub fn refused_state() -> State {
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

/// The shop while the cluster still lists: the Rollouts and the Canary
/// are in, the Deployments, ReplicaSets and pods still streaming (the
/// pods' total not given, as for a list filtered by a selector).
pub fn list_loading_state() -> State {
    let streaming = [
        WatchedKind::Deployment,
        WatchedKind::ReplicaSet,
        WatchedKind::Pod,
    ];
    let mut state = connected(
        fixture_objects()
            .into_iter()
            .filter(|o| !streaming.contains(&watched_kind(o)))
            .collect(),
    );
    let at = now();
    let updates = [
        (WatchedKind::Deployment, 2_000, Some(10_000)),
        (WatchedKind::ReplicaSet, 4_500, Some(20_000)),
        (WatchedKind::Pod, 48_000, None),
    ]
    .map(|(kind, loaded, total)| SourceUpdate::Listing {
        source: kind.plural().to_string(),
        kind,
        loaded,
        total,
        at,
    });
    update(
        &mut state,
        Msg::Source {
            epoch: 0,
            updates: updates.into(),
        },
    );
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

pub fn list_config_problems_state() -> State {
    let mut state = shop();
    with_config_mistakes(&mut state);
    state
}

pub fn config_problems_state() -> State {
    let mut state = list_config_problems_state();
    for key in [":", "c", "o", "n", "f", "i", "g", "enter"] {
        press(&mut state, key);
    }
    assert!(matches!(state.overlay, Some(Overlay::ConfigProblems)));
    state
}

pub fn help_config_keys_state() -> State {
    let mut state = checkout_selected();
    with_config_mistakes(&mut state);
    press(&mut state, "?");
    assert!(matches!(state.overlay, Some(Overlay::Help)));
    state
}
