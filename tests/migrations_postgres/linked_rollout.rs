//! A rollout linked to its migration, read through `cutover status`; and a
//! planted password that shows in no log, audit line, status or screen.

use super::failures_and_secrets::{PLANTED, django_readable_by};
use super::reshape::Reshape;
use super::*;

/// `cutover status -o json payments` with the database given on the command line.
fn payments_status(sim: &support::ServeProcess, database_url: &str) -> serde_json::Value {
    let database = format!("payments={database_url}");
    let report = sim.status_json_with_databases(&[database], &["payments"]);
    report["releases"][0]["migration"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollout_follows_its_reshape_migration_and_is_unsafe_to_roll_back_after_complete() {
    let test = "a_rollout_follows_its_reshape_migration";
    let Some((_server, _client, db)) = database(test, "payments").await else {
        return;
    };
    let Some(reshape) = Reshape::new(test, &db.url) else {
        return;
    };
    // Named as the demo's payments rollout names its migration.
    let migrations = reshape.dir.path().join("migrations");
    std::fs::rename(
        migrations.join("2_add_display_name.toml"),
        migrations.join("add_display_name.toml"),
    )
    .expect("rename the migration");
    reshape.first_migration_completed();
    let sim = support::ServeProcess::start_with(&["--scenario", "default"]);

    reshape.run(&["start"]);
    let started = tokio::task::block_in_place(|| payments_status(&sim, &db.url));
    assert_eq!(started["database"], "payments", "{started:#}");
    assert_eq!(started["name"], "add_display_name", "{started:#}");
    let phase_states: Vec<&str> = started["phases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["state"].as_str())
        .collect();
    assert_eq!(phase_states[0], "done", "expanded: {started:#}");
    assert_eq!(phase_states[3], "pending", "{started:#}");
    assert_eq!(started["rollbackSafety"]["safety"], "safe", "{started:#}");

    reshape.run(&["complete"]);
    let completed = tokio::task::block_in_place(|| payments_status(&sim, &db.url));
    assert_eq!(completed["phases"][3]["state"], "done", "{completed:#}");
    assert_eq!(
        completed["rollbackSafety"]["safety"], "unsafe",
        "{completed:#}"
    );
    let reason = completed["rollbackSafety"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("contract of add_display_name done at "),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_database_makes_rollback_safety_unknown_and_says_why() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("postgres://app@{}/payments", closed.local_addr().unwrap());
    drop(closed);
    let sim = support::ServeProcess::start_with(&["--scenario", "default"]);
    let migration = tokio::task::block_in_place(|| {
        // The demo's payments has its expand Job; without it, nothing is known.
        let job = "payments-add-display-name-expand";
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let m = payments_status(&sim, &url);
            if m["phases"][0]["evidence"] == format!("Job {job}") || Instant::now() > deadline {
                return m;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    let problem = migration["problem"].as_str().unwrap_or_default();
    assert!(
        problem.contains("database payments unreadable since"),
        "{migration:#}"
    );
    assert_eq!(
        migration["rollbackSafety"]["safety"], "unknown",
        "{migration:#}"
    );
}

/// Every file below `dir`, as text, for a search.
fn all_text_below(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            text.push_str(&all_text_below(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn a_planted_password_shows_in_no_log_audit_status_or_screen() {
    let test = "a_planted_password_shows_in_no_log_audit_status_or_screen";
    let Some(tmux_program) = support::require_program("tmux", test) else {
        return;
    };
    let Some((server, client, _)) = database(test, "payments_secret").await else {
        return;
    };
    django_readable_by(&client, "planted_app", "0007_display_name").await;
    let url = server.url("planted_app", "payments_secret");
    let sim = support::ServeProcess::start_with(&["--scenario", "default"]);
    let dir = sim.dir.path();
    let database = format!("payments={url}");
    let cutover = env!("CARGO_BIN_EXE_cutover");
    let run_status = |password: &str| {
        Command::new(cutover)
            .env("PGPASSWORD", password)
            .args(["--log-file", &dir.join("status.log").display().to_string()])
            .args(["--config", &dir.join("none.toml").display().to_string()])
            .args(["--kubeconfig", &sim.kubeconfig.display().to_string()])
            .args([
                "--context",
                "sim-admin",
                "-n",
                "shop",
                "--database",
                &database,
            ])
            .args(["status", "-o", "json", "payments"])
            .output()
            .expect("run cutover status")
    };
    let good = run_status(PLANTED);
    let report: serde_json::Value = serde_json::from_slice(&good.stdout).expect("JSON");
    assert_eq!(
        report["databases"][0]["error"],
        serde_json::Value::Null,
        "{report:#}"
    );
    assert_eq!(
        report["databases"][0]["tools"][0]["applied"],
        "payments.0007_display_name"
    );
    let wrong = run_status("wrong-planted-pw");
    let wrong_report = String::from_utf8_lossy(&wrong.stdout).into_owned();
    assert!(
        wrong_report.contains("password authentication failed"),
        "{wrong_report}"
    );

    // The control room, reading the database and acting once (audited).
    let audit = dir.join("audit.jsonl");
    let command = format!(
        "PGPASSWORD={PLANTED} TERM=xterm-256color {cutover} --log-file {log} --audit-file {audit} \
         --config {none} --kubeconfig {kc} --context sim-admin -n shop --database {database}",
        log = dir.join("ui.log").display(),
        audit = audit.display(),
        none = dir.join("none.toml").display(),
        kc = sim.kubeconfig.display(),
    );
    let tmux = support::tmux::Tmux::start(&tmux_program, dir, 160, 48, &command);
    tmux.wait_for_text("● live", Duration::from_secs(30));
    tmux.keys(&["/"]);
    tmux.type_text("payments");
    tmux.keys(&["Enter", "Enter"]);
    tmux.wait_for_text("0007_display_name", Duration::from_secs(30));
    tmux.keys(&["p"]);
    tmux.wait_for_text("pause payments?", Duration::from_secs(30));
    tmux.keys(&["y"]);
    tmux.wait_for_text("pause payments: 1 patch accepted", Duration::from_secs(30));
    let screen = tmux.screen();

    let outputs = [good, wrong]
        .iter()
        .map(|o| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        })
        .collect::<String>();
    let files = all_text_below(dir);
    assert!(
        files.contains("\"stage\":\"done\""),
        "the audit file was written"
    );
    for (what, text) in [
        ("status output", &outputs),
        ("screen", &screen),
        ("logs and audit", &files),
    ] {
        assert!(!text.contains(PLANTED), "the password is in the {what}");
    }
}
