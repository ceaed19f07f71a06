//! Actions by keystroke, reaching the cluster: a Rollout paused, promoted,
//! aborted, retried and undone; a Deployment and a Flagger canary; and a
//! change between looking and confirming.

use super::*;

#[test]
fn pause_promote_abort_retry_and_undo_by_keystroke() {
    let Some(room) = room(
        "pause_promote_abort_retry_and_undo_by_keystroke",
        &["--scenario", "fixture"],
        "--context sim-admin -n shop",
    ) else {
        return;
    };
    room.find("checkout");
    let at_manual_pause = room.wait_rollout("checkout", "the manual pause", |ro| {
        step(ro) == 1 && ro["status"]["pauseConditions"][0]["reason"] == "CanaryPauseStep"
    });
    let old_image = at_manual_pause["status"]["stableRS"].clone();
    assert!(old_image.is_string());

    // Pause.
    room.open_dialog("p", "pause checkout?");
    room.tmux.keys(&["y"]);
    room.wait_rollout("checkout", "spec.paused", |ro| ro["spec"]["paused"] == true);
    room.tmux
        .wait_for_text("pause checkout: 1 patch accepted", SCREEN);

    // Promote from the manual pause: unpause and clear the pause condition.
    room.open_dialog("P", "promote checkout?");
    room.tmux.keys(&["y"]);
    let promoted = room.wait_rollout("checkout", "the next step", |ro| step(ro) >= 2);
    assert_ne!(promoted["spec"]["paused"], true);
    room.tmux
        .wait_for_text("promote checkout: 2 patches accepted", SCREEN);

    // Abort: the name must be typed.
    room.open_dialog("A", "abort checkout?");
    room.tmux.keys(&["y"]);
    room.tmux
        .wait_for_text("Type checkout and press Enter", SCREEN);
    assert_ne!(
        room.rollout("checkout")["status"]["abort"],
        true,
        "y alone does not abort"
    );
    room.tmux.keys(&["BSpace"]);
    room.tmux.type_text("checkout");
    room.tmux.keys(&["Enter"]);
    room.wait_rollout("checkout", "Degraded", |ro| {
        ro["status"]["abort"] == true && ro["status"]["phase"] == "Degraded"
    });
    room.tmux.wait_for_text("✖ Degraded", SCREEN);

    // Retry.
    room.open_dialog("R", "retry checkout?");
    room.tmux.keys(&["y"]);
    room.wait_rollout("checkout", "the retry", |ro| {
        ro["status"]["abort"] != true && ro["status"]["phase"] != "Degraded"
    });

    // Undo to the previous revision: a new revision with its template.
    let before = room.rollout("checkout");
    let new_image = image(&before).to_string();
    room.open_dialog("U", "undo checkout?");
    room.tmux.type_text("checkout");
    room.tmux.keys(&["Enter"]);
    let undone = room.wait_rollout("checkout", "the undo", |ro| image(ro) != new_image);
    assert!(
        image(&undone).ends_with("checkout:1.4.2"),
        "undo restores the old image: {}",
        image(&undone)
    );
    let revisions = room.kubectl(&[
        "get",
        "rs",
        "-n",
        "shop",
        "-l",
        "app=checkout",
        "-o",
        "jsonpath={.items[*].metadata.annotations.rollout\\.argoproj\\.io/revision}",
    ]);
    assert!(
        revisions.split_whitespace().any(|r| r == "3"),
        "revision 3 exists: {revisions}"
    );

    // Every action: an audit line before and after, and an Event.
    let audit = room.audit_lines();
    for action in ["pause", "promote", "abort", "retry", "undo"] {
        let stages: Vec<&str> = audit
            .iter()
            .filter(|l| l["action"] == action)
            .filter_map(|l| l["stage"].as_str())
            .collect();
        assert_eq!(
            stages,
            ["requested", "done"],
            "{action} audit stages: {audit:#?}"
        );
    }
    assert!(
        audit
            .iter()
            .all(|l| l["user"] == "admin" && l["context"] == "sim-admin")
    );
    let reasons = room.event_reasons("checkout");
    for reason in [
        "CutoverPause",
        "CutoverPromote",
        "CutoverAbort",
        "CutoverRetry",
        "CutoverUndo",
    ] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "{reason} in {reasons:?}"
        );
    }
}

#[test]
fn a_change_between_looking_and_confirming_refuses_the_promote() {
    let Some(room) =
        checkout_at_the_manual_pause("a_change_between_looking_and_confirming_refuses_the_promote")
    else {
        return;
    };
    room.tmux.wait_for_text("decide", SCREEN);
    room.open_dialog("P", "promote checkout?");
    // Someone else pauses it meanwhile.
    let out = room.sim.merge_patch(
        &room.kubectl,
        ("rollout", "checkout"),
        None,
        r#"{"spec":{"paused":true}}"#,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    room.tmux.keys(&["y"]);
    let screen = room.tmux.wait_for_text("refused", SCREEN);
    // Refused by the screen when the watch brought the change before the
    // key, else by the re-read just before sending: either way, not sent.
    assert!(
        screen.contains("changed while you were deciding")
            || screen.contains("changed since you looked"),
        "{screen}"
    );
    let ro = room.rollout("checkout");
    assert_eq!(step(&ro), 1, "still at the manual pause");
    assert!(
        ro["status"]["pauseConditions"].is_array(),
        "pause condition untouched"
    );
    let status_patches: Vec<Value> = room
        .mutating_requests()
        .into_iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/status")))
        .collect();
    assert!(
        status_patches.is_empty(),
        "nothing sent: {status_patches:?}"
    );
    let audit = room.audit_lines();
    assert_eq!(audit.len(), 1, "the refusal is audited: {audit:?}");
    assert_eq!(audit[0]["stage"], "refused");
}

#[test]
fn deployment_and_flagger_actions_by_keystroke() {
    let Some(room) = room(
        "deployment_and_flagger_actions_by_keystroke",
        &["--scenario", "default"],
        "--context sim-admin -n shop",
    ) else {
        return;
    };
    // A Deployment: pause, resume as kubectl does, restart.
    room.find("frontend");
    room.act("p", "pause frontend?");
    room.wait_object("deploy", "frontend", "paused", |d| {
        d["spec"]["paused"] == true
    });
    room.tmux
        .wait_for_text("pause frontend: 1 patch accepted", SCREEN);
    room.act("p", "resume frontend?");
    room.wait_object("deploy", "frontend", "resumed", |d| {
        d["spec"]["paused"] != true
    });
    // The restart is decided on the resumed Deployment: a dialog opened
    // before the screen has it would be refused as a stale view.
    room.tmux
        .wait_for("frontend resumed on screen", SCREEN, |screen| {
            screen
                .lines()
                .any(|l| l.contains(" frontend ") && !l.contains("Paused"))
                && screen.contains("resume frontend: 1 patch accepted")
        });
    room.act("C-r", "restart frontend?");
    room.wait_object("deploy", "frontend", "restarted", |d| {
        d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .is_string()
    });

    // A Flagger canary: suspend and resume. An Escape followed at once by
    // `/` reads as Alt-/: wait for the list before typing.
    room.tmux.keys(&["Escape"]);
    room.tmux.wait_for_text("Releases (", SCREEN);
    room.tmux.keys(&["/"]);
    room.tmux.keys(&["C-u"]);
    room.tmux.type_text("search");
    room.tmux.keys(&["Enter"]);
    room.tmux.wait_for_text("search", SCREEN);
    room.act("p", "pause search?");
    room.wait_object("canary", "search", "suspended", |c| {
        c["spec"]["suspend"] == true
    });
    room.act("p", "resume search?");
    room.wait_object("canary", "search", "resumed", |c| {
        c["spec"]["suspend"] == false
    });

    let audit = room.audit_lines();
    let done: Vec<(&str, &str)> = audit
        .iter()
        .filter(|l| l["stage"] == "done")
        .filter_map(|l| Some((l["name"].as_str()?, l["action"].as_str()?)))
        .collect();
    assert_eq!(
        done,
        [
            ("frontend", "pause"),
            ("frontend", "resume"),
            ("frontend", "restart"),
            ("search", "pause"),
            ("search", "resume"),
        ],
        "{audit:#?}"
    );
}
