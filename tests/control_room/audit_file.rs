//! The audit file moved away or unwritable.

use super::*;

#[test]
fn the_audit_file_moved_away_is_started_anew_and_an_unwritable_one_stops_actions() {
    let Some(room) = checkout_at_the_manual_pause(
        "the_audit_file_moved_away_is_started_anew_and_an_unwritable_one_stops_actions",
    ) else {
        return;
    };
    room.act("p", "pause checkout?");
    room.tmux
        .wait_for_text("pause checkout: 1 patch accepted", SCREEN);

    // Rotated as logrotate does: moved away, no signal.
    let rotated = room.audit.with_extension("jsonl.1");
    std::fs::rename(&room.audit, &rotated).expect("move the audit file away");
    room.act("P", "promote checkout?");
    room.tmux
        .wait_for_text("promote checkout: 2 patches accepted", SCREEN);
    let old = audit_lines_of(&rotated);
    let new = room.audit_lines();
    assert_eq!(
        action_stages(&old),
        [("pause", "requested"), ("pause", "done")],
        "the old file keeps only the old lines: {old:#?}"
    );
    assert_eq!(
        action_stages(&new),
        [("promote", "requested"), ("promote", "done")],
        "the next lines go to a new file at the path: {new:#?}"
    );
    // One id per action, one session for the whole run.
    assert_eq!(old[0]["id"], old[1]["id"]);
    assert_eq!(new[0]["id"], new[1]["id"]);
    assert_ne!(old[0]["id"], new[0]["id"]);
    assert!(
        old.iter()
            .chain(&new)
            .all(|l| l["session"] == old[0]["session"])
    );

    // A folder where the file was: nothing can be audited, so nothing is sent.
    std::fs::remove_file(&room.audit).expect("delete the audit file");
    std::fs::create_dir(&room.audit).expect("a folder in its place");
    let sent_before = room.mutating_requests().len();
    room.act("p", "pause checkout?");
    room.tmux.wait_for_text(
        "pause checkout: refused: not sent: cannot write the audit file",
        SCREEN,
    );
    assert_eq!(
        room.mutating_requests().len(),
        sent_before,
        "nothing sent: {:#?}",
        room.mutating_requests()
    );
    assert_ne!(room.rollout("checkout")["spec"]["paused"], true);
}
