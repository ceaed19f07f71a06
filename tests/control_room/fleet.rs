//! A fleet on one screen (`sim serve --clusters eu,us`): both clusters'
//! releases with their CLUSTER, a pause that reaches the one cluster it was
//! shown from (each cluster's request log proves it) and is audited, and
//! recorded as an Event, with its context; one cluster's listener stopped
//! while the other stays live; and a context whose config asks for its
//! name typed before anything is sent.

use super::*;

const ALIASES: &str = "[contexts.eu-admin]\nalias = \"eu\"\n[contexts.us-admin]\nalias = \"us\"\n";

/// Filters the list to checkout (eu's row first, then us's) and
/// highlights us's.
fn highlight_us_checkout(room: &Room) {
    room.tmux.keys(&["/"]);
    room.tmux.type_text("checkout");
    room.tmux.keys(&["Enter"]);
    room.tmux.wait_for_text("Releases (2 of", SCREEN);
    room.tmux.keys(&["j"]);
    room.tmux
        .wait_for("us's checkout highlighted", SCREEN, |s| {
            s.lines()
                .any(|l| l.contains("▶us") && l.contains("checkout"))
        });
}

/// checkout of `context`, read with kubectl.
fn checkout_in(room: &Room, context: &str) -> Value {
    let mut args = vec!["--context", context];
    args.extend("get rollout checkout -n shop -o json".split(' '));
    serde_json::from_str(&room.kubectl(&args)).expect("rollout JSON")
}

#[test]
fn a_fleet_shows_both_clusters_acts_on_one_and_outlives_the_other() {
    let Some(room) = room_with_config(
        "a_fleet_shows_both_clusters_acts_on_one_and_outlives_the_other",
        &["--clusters", "eu,us", "--scenario", "fixture"],
        "--context eu-admin,us-admin -n shop",
        ALIASES,
    ) else {
        return;
    };
    let screen = room.tmux.wait_for("both clusters live", SCREEN, |s| {
        s.contains("● eu  ● us") && s.contains("CLUSTER") && s.contains("checkout")
    });
    let checkout_rows = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.contains(" checkout "))
            .map(|l| l.trim_start_matches(['│', ' ', '▶']).to_string())
            .collect()
    };
    let rows = checkout_rows(&screen);
    assert!(
        rows.iter().any(|r| r.starts_with("eu ")) && rows.iter().any(|r| r.starts_with("us ")),
        "checkout of both clusters listed:\n{screen}"
    );

    highlight_us_checkout(&room);
    room.open_dialog("p", "pause us/checkout?");
    let dialog = room.tmux.wait_for_text("Cluster:", SCREEN);
    assert!(dialog.contains("of cluster us"), "{dialog}");
    assert!(
        dialog.contains(" US  context us-admin · server https://127.0.0.1:"),
        "{dialog}"
    );
    room.tmux.keys(&["y"]);
    room.tmux
        .wait_for_text("pause us/checkout: 1 patch accepted", SCREEN);
    assert_eq!(checkout_in(&room, "us-admin")["spec"]["paused"], true);
    assert_ne!(checkout_in(&room, "eu-admin")["spec"]["paused"], true);
    let changes = |cluster| room.sim.cluster_mutating_requests(cluster);
    let (eu, us) = (changes("eu"), changes("us"));
    assert!(eu.is_empty(), "nothing sent to eu: {eu:#?}");
    assert!(
        us.iter().any(|r| r["method"] == "PATCH"
            && r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/rollouts/checkout"))),
        "the pause reached us: {us:#?}"
    );
    let audit = room.audit_lines();
    let pause: Vec<&Value> = audit.iter().filter(|l| l["action"] == "pause").collect();
    assert!(!pause.is_empty(), "{audit:#?}");
    assert!(
        pause.iter().all(|l| l["context"] == "us-admin"),
        "audited with its context: {audit:#?}"
    );
    // The Event is left in us alone, and names the context that sent it.
    let events = room.cutover_events(&["--context", "us-admin"], "checkout");
    let event = events
        .iter()
        .find(|e| e["reason"] == "CutoverPause")
        .unwrap_or_else(|| panic!("a CutoverPause Event in us: {events:#?}"));
    assert_eq!(
        event["metadata"]["annotations"]["cutover.dev/context"], "us-admin",
        "{event:#}"
    );
    let message = event["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("from cutover (context us-admin)"),
        "{message}"
    );
    let in_eu = room.cutover_events(&["--context", "eu-admin"], "checkout");
    assert!(in_eu.is_empty(), "no Event in eu: {in_eu:#?}");

    // eu's listener stopped: eu marked lost with its age, us still live.
    room.sim.fault(
        &room.kubectl,
        "eu-admin",
        "/_sim/faults/outage?seconds=3600",
    );
    let screen = room.tmux.wait_for("eu lost, us live", API, |s| {
        s.contains("✖ eu ") && s.contains("data as of") && s.contains("● us")
    });
    let rows = checkout_rows(&screen);
    assert!(
        rows.iter().any(|r| r.starts_with("eu ")) && rows.iter().any(|r| r.starts_with("us ")),
        "eu's rows stay on screen beside us's:\n{screen}"
    );
}

#[test]
fn a_typed_context_sends_an_action_only_after_its_name() {
    let config = format!("{ALIASES}confirm = \"typed\"\n");
    let Some(room) = room_with_config(
        "a_typed_context_sends_an_action_only_after_its_name",
        &["--clusters", "eu,us", "--scenario", "fixture"],
        "--context eu-admin,us-admin -n shop",
        &config,
    ) else {
        return;
    };
    room.tmux.wait_for("both clusters live", SCREEN, |s| {
        s.contains("● eu  ● us") && s.contains("checkout")
    });
    highlight_us_checkout(&room);
    room.open_dialog("p", "pause us/checkout?");
    let dialog = room
        .tmux
        .wait_for_text("Type us-admin and press Enter to pause", SCREEN);
    assert!(
        dialog.contains("context us-admin asks for its name typed"),
        "{dialog}"
    );
    // The release's name is not the context's: nothing is sent.
    room.tmux.type_text("checkout");
    room.tmux.keys(&["Enter"]);
    room.tmux
        .wait_for_text("pause us/checkout: nothing sent: type us-admin", SCREEN);
    let sent = room.sim.cluster_mutating_requests("us");
    assert!(
        sent.is_empty(),
        "nothing sent after a wrong name: {sent:#?}"
    );
    room.tmux.keys(&["BSpace"; 8]);
    room.tmux.type_text("us-admin");
    room.tmux.wait_for_text("us-admin▏ ✔", SCREEN);
    room.tmux.keys(&["Enter"]);
    room.tmux
        .wait_for_text("pause us/checkout: 1 patch accepted", SCREEN);
    assert_eq!(checkout_in(&room, "us-admin")["spec"]["paused"], true);
    assert_ne!(checkout_in(&room, "eu-admin")["spec"]["paused"], true);
}
