//! The kill switch by keystroke on the demo's checkout: its flag turned
//! off (read back with kubectl), audited before and after, with an Event
//! on the release; a viewer sees it forbidden and sends nothing; and a
//! flag patched by someone else while the confirmation is open is not
//! touched.

use super::*;

/// `kubectl get ff checkout-flags -o jsonpath=…` of the demo's flag.
fn flag_field(room: &Room, field: &str) -> String {
    room.kubectl(&[
        "get",
        "ff",
        "checkout-flags",
        "-n",
        "shop",
        "-o",
        &format!("jsonpath={{.spec.flagSpec.flags.new-checkout-flow.{field}}}"),
    ])
}

/// The demo as `context`, checkout found once its new version brought
/// its flag.
fn demo_with_flags(test: &str, context: &str) -> Option<Room> {
    let room = room(
        test,
        &["--scenario", "default"],
        &format!("--context {context} -n shop"),
    )?;
    room.find("checkout");
    room.tmux.wait_for_text("↻ changed", SCREEN);
    Some(room)
}

const TITLE: &str = "kill-switch checkout?";

#[test]
fn the_kill_switch_turns_the_flag_off_audited_with_an_event_on_the_release() {
    let Some(room) = demo_with_flags(
        "the_kill_switch_turns_the_flag_off_audited_with_an_event_on_the_release",
        "sim-admin",
    ) else {
        return;
    };
    assert_eq!(flag_field(&room, "state"), "ENABLED");
    room.open_dialog("K", TITLE);
    let dialog = room.tmux.screen();
    for named in [
        "flag new-checkout-flow of FeatureFlag shop/checkout-flags",
        "Context:  sim-admin",
        "off (state DISABLED)",
        "PATCH featureflags/checkout-flags (merge-patch+json)",
    ] {
        assert!(dialog.contains(named), "{named:?} in:\n{dialog}");
    }
    room.tmux.keys(&["y"]);
    room.tmux
        .wait_for_text("kill-switch checkout: 1 patch accepted", SCREEN);
    assert_eq!(flag_field(&room, "state"), "DISABLED");
    assert_eq!(
        flag_field(&room, "defaultVariant"),
        "off",
        "only the state is written"
    );
    let lines = room.audit_lines();
    assert_eq!(
        action_stages(&lines),
        [("kill-switch", "requested"), ("kill-switch", "done")]
    );
    for line in &lines {
        assert_eq!(line["flag"]["name"], "checkout-flags", "{line}");
        assert_eq!(line["flag"]["key"], "new-checkout-flow", "{line}");
        assert_eq!(line["kind"], "Rollout", "{line}");
    }
    assert!(
        room.event_reasons("checkout")
            .contains(&"CutoverKillSwitch".to_string()),
        "{:?}",
        room.event_reasons("checkout")
    );
    let patched: Vec<Value> = room
        .mutating_requests()
        .into_iter()
        .filter(|r| r["method"] == "PATCH")
        .collect();
    assert_eq!(patched.len(), 1, "{patched:?}");
    assert!(
        patched[0]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("/namespaces/shop/featureflags/checkout-flags")),
        "{patched:?}"
    );
    // The screen follows the watch: the flag off, no longer partial.
    room.tmux.keys(&["Enter"]);
    room.tmux.wait_for_text("○ DISABLED", SCREEN);
}

#[test]
fn a_viewer_sees_the_kill_switch_forbidden_and_sends_nothing() {
    let Some(room) = demo_with_flags(
        "a_viewer_sees_the_kill_switch_forbidden_and_sends_nothing",
        "sim-viewer",
    ) else {
        return;
    };
    room.tmux
        .wait_for("the kill switch forbidden", SCREEN, |_| {
            room.tmux.keys(&["K"]);
            std::thread::sleep(Duration::from_millis(200));
            room.tmux
                .screen()
                .contains("kill-switch checkout: forbidden: viewer may not patch featureflags")
        });
    room.tmux.keys(&["?"]);
    let help = room
        .tmux
        .wait_for_text("Keys · acting on Rollout checkout", SCREEN);
    let line = help
        .lines()
        .find(|l| l.contains("kill switch"))
        .unwrap_or_else(|| panic!("the kill switch in the help:\n{help}"));
    assert!(line.contains("off: forbidden"), "{line}");
    room.tmux.keys(&["Escape", "K", "y", "Enter"]);
    room.filter_marker("viewer-marker");
    assert_eq!(room.mutating_requests(), Vec::<Value>::new());
    assert!(room.audit_lines().is_empty(), "nothing to audit");
    assert_eq!(flag_field(&room, "state"), "ENABLED");
}

#[test]
fn a_flag_patched_while_the_confirmation_is_open_is_left_alone() {
    let Some(room) = demo_with_flags(
        "a_flag_patched_while_the_confirmation_is_open_is_left_alone",
        "sim-admin",
    ) else {
        return;
    };
    room.open_dialog("K", TITLE);
    room.kubectl(&[
        "patch",
        "ff",
        "checkout-flags",
        "-n",
        "shop",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"flagSpec":{"flags":{"new-checkout-flow":{"targeting":{"fractional":[["on",50],["off",50]]}}}}}}"#,
    ]);
    room.tmux.keys(&["y"]);
    let screen = room
        .tmux
        .wait_for_text("kill-switch checkout: refused", SCREEN);
    assert!(
        screen.contains("new-checkout-flow of FeatureFlag shop/checkout-flags changed"),
        "{screen}"
    );
    assert_eq!(flag_field(&room, "state"), "ENABLED", "not written");
    let stages = room.stages_once_refused();
    assert_eq!(stages, ["kill-switch refused"]);
    room.wait_until("the refusal's Event", || {
        room.event_reasons("checkout")
            .contains(&"CutoverKillSwitchRefused".to_string())
    });
}
