//! An outage, 410 Gone, a 503 storm and signals.

use super::*;

/// `kubectl create --raw` sends an admin POST to the simulator's fault API.
pub(super) fn fault(room: &Room, path: &str) {
    room.sim.fault(&room.kubectl, "sim-admin", path);
}

#[test]
fn survives_an_outage_and_410_gone() {
    let Some(room) = room(
        "survives_an_outage_and_410_gone",
        &["--scenario", "fixture"],
        "--context sim-admin -n shop",
    ) else {
        return;
    };
    room.find("checkout");
    room.tmux.keys(&["Enter"]);
    room.tmux.wait_for_text("Revisions", SCREEN);
    fault(&room, "/_sim/faults/outage?seconds=8");
    let screen = room.tmux.wait_for_text("◌ reconnecting", SCREEN);
    assert!(
        screen.contains("· data from "),
        "the age of the data is shown:\n{screen}"
    );
    assert!(
        screen.contains("checkout"),
        "the last data stays on screen:\n{screen}"
    );
    room.tmux.wait_for_text("● live", Duration::from_secs(90));

    // Forced 410s: the watches relist, and changes still arrive.
    fault(&room, "/_sim/faults/gone?count=20");
    fault(&room, "/_sim/faults/cut-watches");
    let out = room.sim.merge_patch(
        &room.kubectl,
        ("rollout", "checkout"),
        None,
        r#"{"spec":{"paused":true}}"#,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    room.tmux
        .wait_for_text("manually paused", Duration::from_secs(90));
    room.tmux.wait_for_text("● live", Duration::from_secs(90));
}

/// A Deployment named `name` in shop, as `kubectl create -f` sends it.
fn deployment_manifest(name: &str) -> String {
    serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "registry.example/shop/web:1.0.0"}]}
            }
        }
    })
    .to_string()
}

#[test]
fn a_503_storm_is_shown_at_once_and_a_change_after_it_arrives_promptly() {
    let Some(room) = room(
        "a_503_storm_is_shown_at_once_and_a_change_after_it_arrives_promptly",
        &["--scenario", "fixture"],
        "--context sim-admin -n shop",
    ) else {
        return;
    };
    room.tmux.wait_for_text("● live", SCREEN);
    room.tmux.wait_for_text("checkout", SCREEN);
    let dir = room.sim.dir.path();
    let storm = dir.join("storm.json");
    std::fs::write(&storm, r#"{"errorRate": 1.0, "errorStatus": 503}"#).expect("write faults");
    let admin = |args: &[&str]| {
        let mut all = vec!["--context", "sim-admin"];
        all.extend(args);
        room.kubectl(&all)
    };
    // Every request answered 503, and every open watch cut.
    admin(&[
        "replace",
        "--raw",
        "/_sim/faults",
        "-f",
        storm.to_str().expect("utf-8 path"),
    ]);
    fault(&room, "/_sim/faults/cut-watches");
    let cut = std::time::Instant::now();
    let screen = room
        .tmux
        .wait_for("the reconnecting badge with the error", SCREEN, |s| {
            s.contains("◌ reconnecting (503 Service Unavailable) · data from ")
        });
    eprintln!(
        "the outage showed {:?} after the watches were cut",
        cut.elapsed()
    );
    assert!(
        !screen.contains("● live"),
        "never live while failing:\n{screen}"
    );
    assert!(
        screen.contains("sort: attention · data from "),
        "the list's title says how old its rows are:\n{screen}"
    );
    assert!(
        screen.contains("checkout"),
        "the last data stays:\n{screen}"
    );

    // The API answers again: a change made now arrives within seconds.
    admin(&["delete", "--raw", "/_sim/faults"]);
    let manifest = dir.join("fresh-web.json");
    std::fs::write(&manifest, deployment_manifest("fresh-web")).expect("write the Deployment");
    let created = std::time::Instant::now();
    room.kubectl(&[
        "create",
        "--validate=false",
        "-f",
        manifest.to_str().expect("utf-8 path"),
    ]);
    room.tmux.wait_for_text("fresh-web", SCREEN);
    eprintln!(
        "a Deployment created after the API recovered showed after {:?}",
        created.elapsed()
    );
    room.tmux.wait_for_text("● live", SCREEN);
}

/// SIGTERM, SIGHUP and SIGINT end the control room with the terminal given
/// back (the shell's screen, not the alternate one) and the exit status a
/// shell gives a process the signal killed: 128 plus its number.
#[test]
fn signals_restore_the_terminal_and_exit_128_plus_the_signal() {
    for (signal, code) in [("TERM", 143), ("HUP", 129), ("INT", 130)] {
        let test = format!("signals_restore_the_terminal_on_sig{signal}");
        let Some(room) = room(
            &test,
            &["--scenario", "fixture"],
            "--context sim-admin -n shop",
        ) else {
            return;
        };
        room.tmux.wait_for_text("● live", SCREEN);
        room.tmux.end_with_signal(signal, code, SCREEN);
    }
}
