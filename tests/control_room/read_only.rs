//! Read-only mode and a viewer: nothing is sent.

use super::*;

#[test]
fn read_only_sends_nothing_whatever_the_keys() {
    let Some(room) = room(
        "read_only_sends_nothing_whatever_the_keys",
        &["--scenario", "default", "--time-scale", "5"],
        "--context sim-admin -n shop --read-only",
    ) else {
        return;
    };
    room.tmux.wait_for_text("READ-ONLY", SCREEN);
    room.tmux.wait_for_text("checkout", SCREEN);
    room.tmux.keys(&["P"]);
    room.tmux.wait_for_text("read-only", SCREEN);
    // 10,000 keys from every binding and then some; `q` and Ctrl-C would end
    // the session and are left out, `:` is in (commands are read-only too).
    let alphabet: Vec<&str> = [
        "p", "P", "F", "A", "R", "U", "C-r", "y", "n", "Enter", "Escape", "j", "k", "Up", "Down",
        "g", "G", "/", ":", "?", "s", "c", "h", "e", "x", "o", "u", "t", "BSpace", "Tab", "PageUp",
        "PageDown", "1", "-", " ",
    ]
    .to_vec();
    room.random_keys(&alphabet, 0x5eed_cafe);
    room.tmux.keys(&["Escape", "Escape", "Escape"]);
    // Every key before it was handled once the marker is on screen.
    let screen = room.filter_marker("read-only-marker");
    assert!(screen.contains("READ-ONLY"), "{screen}");
    assert_eq!(
        room.mutating_requests(),
        Vec::<Value>::new(),
        "no mutating request from a read-only session"
    );
    assert!(room.audit_lines().is_empty(), "nothing to audit");
}

#[test]
fn a_viewer_sees_actions_forbidden_and_sends_no_patch() {
    let Some(room) = room(
        "a_viewer_sees_actions_forbidden_and_sends_no_patch",
        &["--scenario", "fixture"],
        "--context sim-viewer -n shop",
    ) else {
        return;
    };
    room.find("checkout");
    room.tmux.wait_for_text("user viewer", SCREEN);
    room.wait_rollout("checkout", "the manual pause", |ro| step(ro) == 1);
    room.tmux.wait_for("promote forbidden", SCREEN, |_| {
        room.tmux.keys(&["P"]);
        std::thread::sleep(Duration::from_millis(200));
        room.tmux
            .screen()
            .contains("forbidden: viewer may not patch rollouts/status")
    });
    room.tmux.keys(&["?"]);
    let help = room
        .tmux
        .wait_for_text("Keys · acting on Rollout checkout", SCREEN);
    assert!(help.contains("off: forbidden"), "{help}");
    room.tmux.keys(&["Escape", "p", "y", "A"]);
    room.tmux.wait_for_text(
        "abort checkout: forbidden: viewer may not patch rollouts/status",
        SCREEN,
    );
    // Were the abort asked for, the name and Enter would confirm it.
    room.tmux.keys(&["checkout", "Enter", "Escape", "Escape"]);
    room.filter_marker("viewer-marker");
    assert_eq!(room.mutating_requests(), Vec::<Value>::new());
    assert!(room.audit_lines().is_empty(), "nothing to audit");
}
