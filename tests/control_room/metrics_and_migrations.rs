//! The metrics and the migration on screen: a stopped Prometheus, a bad
//! canary, an undo after the contract and a stopped database.

use super::*;

#[test]
fn a_stopped_prometheus_shows_its_error_and_age_and_the_room_goes_on() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let stopped = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let Some(room) = room(
        "a_stopped_prometheus_shows_its_error_and_age",
        &["--scenario", "default"],
        &format!("--context sim-admin -n shop --prometheus {stopped}"),
    ) else {
        return;
    };
    room.find("checkout");
    room.tmux.wait_for_text("NoData", Duration::from_secs(60));
    // The header says so too, with since when, whichever release is open.
    room.tmux.wait_for_text("✖ metrics since ", SCREEN);
    room.tmux.keys(&["Enter"]);
    room.tmux.wait_for_text("cannot reach Prometheus", SCREEN);
    let screen = room.tmux.wait_for_text("failing for", SCREEN);
    assert!(screen.contains("Verdict: NoData"), "{screen}");
    assert!(!screen.contains("Verdict: Pass"), "{screen}");
    // Still answering keys.
    room.tmux.keys(&["?"]);
    room.tmux.wait_for_text("Keys", SCREEN);
    room.tmux.keys(&["Escape"]);
    room.tmux.wait_for_text("failing for", SCREEN);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bad_canary_fails_on_screen_and_abort_is_recommended() {
    const TEST: &str = "the_bad_canary_fails_on_screen";
    let metrics = format!("127.0.0.1:{}", support::prometheus::free_port());
    let config = "[metrics]\nwindow = \"30s\"\nstep = \"2s\"\nrate_interval = \"10s\"\nrefresh = \"2s\"\nmin_canary_requests = 10\n";
    let sim_args = ["--scenario", "bad-canary", "--metrics-addr", &metrics];
    let Some(prometheus) =
        support::prometheus::PrometheusProcess::start(TEST, &[metrics.parse().unwrap()]).await
    else {
        return;
    };
    let ui_args = format!(
        "--context sim-admin -n shop --prometheus http://{}",
        prometheus.addr
    );
    let Some(room) = room_with_config(TEST, &sim_args, &ui_args, config) else {
        return;
    };
    tokio::task::block_in_place(|| {
        room.find("checkout");
        room.tmux.keys(&["Enter"]);
        // The verdict and the recommendation may be drawn a frame apart.
        let recommended = "metrics say Fail: abort recommended (A";
        let screen = room.tmux.wait_for(
            "the Fail verdict and the abort recommended",
            Duration::from_secs(60),
            |s| s.contains("Verdict: Fail") && s.contains(recommended),
        );
        assert!(screen.contains("gate Fail: error ratio"), "{screen}");
    });
}

/// The contract of payments' migration, finishing a second after it starts.
const CONTRACT_JOB: &str = r#"{
  "apiVersion": "batch/v1", "kind": "Job",
  "metadata": {
    "name": "payments-add-display-name-contract", "namespace": "shop",
    "labels": {"cutover.dev/migration": "add_display_name", "cutover.dev/phase": "contract",
               "cutover.dev/release": "payments"},
    "annotations": {"sim.cutover.dev/duration": "1s"}
  },
  "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never",
    "containers": [{"name": "migrate", "image": "registry.example/shop/payments-migrations:3.2.0"}]}}}
}"#;

#[test]
fn an_undo_after_the_contract_is_blocked_and_the_override_is_audited() {
    let Some(room) = room(
        "an_undo_after_the_contract_is_blocked",
        &["--scenario", "default"],
        "--context sim-admin -n shop",
    ) else {
        return;
    };
    room.find("payments");
    room.wait_rollout("payments", "the new version", |ro| {
        image(ro).ends_with("payments:3.2.0")
    });
    let job = room.sim.dir.path().join("contract.json");
    std::fs::write(&job, CONTRACT_JOB).expect("write the Job");
    // The simulator serves no OpenAPI schema for kubectl to validate against.
    room.kubectl(&[
        "create",
        "--validate=false",
        "-f",
        job.to_str().expect("utf-8 path"),
    ]);
    room.tmux.keys(&["Enter"]);
    room.tmux
        .wait_for_text("contract ✔", Duration::from_secs(60));

    let before = image(&room.rollout("payments")).to_string();
    room.open_dialog("U", "undo payments?");
    let screen = room.tmux.wait_for_text("BLOCKED", SCREEN);
    assert!(
        screen.contains("contract of add_display_name done"),
        "{screen}"
    );
    room.tmux.type_text("payments");
    room.tmux.keys(&["Enter"]);
    // The dialog asking for more is the sign the name and Enter were handled.
    room.tmux.wait_for_text("I understand", SCREEN);
    assert_eq!(
        image(&room.rollout("payments")),
        before,
        "the name alone does not undo"
    );
    assert!(
        room.audit_lines().is_empty(),
        "nothing sent, nothing audited"
    );
    room.tmux.type_text("I understand");
    room.tmux.keys(&["Enter"]);
    let undone = room.wait_rollout("payments", "the undo", |ro| image(ro) != before);
    let audit = room.audit_lines();
    assert_eq!(
        action_stages(&audit)[0],
        ("undo", "requested"),
        "the first action audited is the confirmed undo: {audit:#?}"
    );
    assert_eq!(
        audit.iter().filter(|l| l["stage"] == "requested").count(),
        1,
        "the name alone sent nothing: {audit:#?}"
    );
    assert!(
        image(&undone).ends_with("payments:3.1.0"),
        "{}",
        image(&undone)
    );
    let audit = room.audit_lines();
    let stages: Vec<&str> = audit.iter().filter_map(|l| l["stage"].as_str()).collect();
    assert_eq!(stages, ["requested", "done"], "{audit:#?}");
    for line in &audit {
        assert_eq!(line["action"], "undo");
        let overridden = line["override"].as_str().unwrap_or_default();
        assert!(
            overridden.contains("contract of add_display_name done"),
            "audited as an override: {line:#}"
        );
    }
}

#[test]
fn a_stopped_database_shows_its_error_and_age_and_rollback_safety_unknown() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("postgres://app@{}/payments", closed.local_addr().unwrap());
    drop(closed);
    let Some(room) = room(
        "a_stopped_database_shows_its_error",
        &["--scenario", "default"],
        &format!("--context sim-admin -n shop --database payments={url}"),
    ) else {
        return;
    };
    room.find("payments");
    room.tmux.keys(&["Enter"]);
    let screen = room.tmux.wait_for_text("unreadable since", SCREEN);
    assert!(screen.contains("UNKNOWN"), "{screen}");
    assert!(screen.contains("✖ db payments since "), "{screen}");
    assert!(!screen.contains("rollback: safe"), "{screen}");
    room.open_dialog("A", "abort payments?");
    room.tmux.wait_for_text("rollback safety UNKNOWN", SCREEN);
    room.tmux.keys(&["Escape"]);
    room.tmux.wait_for_text("unreadable since", SCREEN);
}

#[test]
fn a_restore_drill_created_with_kubectl_shows_as_the_last_tested_restore() {
    let Some(room) = room(
        "a_restore_drill_shows",
        &["--scenario", "default"],
        "--context sim-admin -n shop",
    ) else {
        return;
    };
    room.find("payments");
    room.tmux.keys(&["Enter"]);
    room.tmux.wait_for_text("velero (shop)", SCREEN);
    let backups = room.kubectl(support::VELERO_BACKUPS);
    let newest = backups
        .split_whitespace()
        .last()
        .expect("the demo's backups");
    let file = support::restore_drill(room.sim.dir.path(), "drill-now", newest);
    room.kubectl(&["--context", "sim-deployer", "create", "-f", &file]);
    let screen = room.tmux.wait_for_text("drill-now of", SCREEN);
    assert!(screen.contains("newest good:  shop-nightly-"), "{screen}");
}
