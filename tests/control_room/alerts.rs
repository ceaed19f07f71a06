//! Alerts leaving the screen: a rollout aborted with kubectl reaches two
//! real webhook receivers (JSON and Slack bodies), a command run without
//! a shell, and the terminal (bell and notification through tmux), once
//! when it fails and once when it recovers; receivers that fail or hang
//! show in the header and never hold the screen. A release that turns
//! bad after its promotion, judged by its bake against a real Prometheus,
//! alerts once when its SLO is breached and once when the breach clears.

use super::*;
use support::webhook::{Answer, Receiver};

const ABORT: &str = r#"{"status":{"abort":true}}"#;
const RETRY: &str = r#"{"status":{"abort":false}}"#;

/// A program that appends its argv and its `CUTOVER_ALERT_*` environment
/// to `alerts.txt` beside it.
fn recorder(dir: &std::path::Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("record-alert");
    let script = r#"#!/bin/sh
out="$(dirname "$0")/alerts.txt"
{ for a in "$@"; do printf 'ARG %s\n' "$a"; done; env | grep '^CUTOVER_ALERT_' | sort; echo END; } >> "$out"
"#;
    std::fs::write(&path, script).expect("write the recorder");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// The fixture as admin with `config`, checkout at its manual pause.
fn checkout_paused_with(test: &str, config: &str) -> Option<Room> {
    let room = room_with_config(
        test,
        &["--scenario", "fixture"],
        "--context sim-admin -n shop",
        config,
    )?;
    room.find("checkout");
    room.wait_rollout("checkout", "the manual pause", |ro| step(ro) == 1);
    Some(room)
}

/// Patch checkout's status as `kubectl argo rollouts abort` (or retry) does.
fn patch_checkout(room: &Room, body: &str) {
    let out = room
        .sim
        .merge_patch(&room.kubectl, ("rollout", "checkout"), Some("status"), body);
    assert!(out.status.success(), "{}", stderr_of(&out));
}

fn checkout_failed(body: &Value, state: &str) -> bool {
    body["release"] == "checkout" && body["condition"] == "release-failed" && body["state"] == state
}

/// How many Slack bodies start with `title`.
fn slack_titled(bodies: &[Value], title: &str) -> usize {
    let starts = |b: &&Value| b["text"].as_str().is_some_and(|t| t.starts_with(title));
    bodies.iter().filter(starts).count()
}

#[test]
fn an_aborted_rollout_alerts_every_sink_once_when_it_fails_and_once_when_it_recovers() {
    let test = "an_aborted_rollout_alerts_every_sink_once_when_it_fails_and_once_when_it_recovers";
    let (json, slack) = (Receiver::start(Answer::Ok), Receiver::start(Answer::Ok));
    let programs = tempfile::tempdir().expect("temp dir");
    let program = recorder(programs.path());
    let config = format!(
        r#"
[alerts]
on_alert = ["{program}", "{{title}}", "{{body}}", "{{release}}", "{{condition}}", "{{state}}"]
[[alerts.webhook]]
name = "json"
url = "{json}"
[[alerts.webhook]]
url = "{slack}"
format = "slack"
"#,
        program = program.display(),
        json = json.url,
        slack = slack.url,
    );
    let Some(room) = checkout_paused_with(test, &config) else {
        return;
    };
    let raw = room.sim.dir.path().join("pane.raw");
    room.tmux
        .run(&["set-option", "-g", "allow-passthrough", "on"]);
    let pipe = format!("cat >> {}", raw.display());
    room.tmux.run(&["pipe-pane", "-o", "-t", "ui", &pipe]);

    patch_checkout(&room, ABORT);
    room.tmux.wait_for_text("✖ Degraded", SCREEN);
    room.wait_until("the JSON receiver's firing alert", || {
        json.bodies().iter().any(|b| checkout_failed(b, "firing"))
    });
    let title = "cutover: release failed: checkout";
    room.wait_until("the Slack receiver's firing alert", || {
        slack_titled(&slack.bodies(), title) == 1
    });
    let recorded = programs.path().join("alerts.txt");
    room.wait_until("the command's record", || {
        std::fs::read_to_string(&recorded).is_ok_and(|t| t.contains("CUTOVER_ALERT_STATE=firing"))
    });
    let record = std::fs::read_to_string(&recorded).unwrap();
    // Each placeholder one argument, spaces and all: no shell split it.
    for line in [
        &format!("ARG {title}"),
        "ARG checkout",
        "ARG release-failed",
        "ARG firing",
        "CUTOVER_ALERT_RELEASE=checkout",
        "CUTOVER_ALERT_NAMESPACE=shop",
        "CUTOVER_ALERT_CONTEXT=sim-admin",
        &format!("CUTOVER_ALERT_TITLE={title}"),
    ] {
        assert!(record.lines().any(|l| l == line), "{line:?} in:\n{record}");
    }
    // The bell marks the window; the notification went out through tmux.
    let notification = format!("\x1bPtmux;\x1b\x1b]777;notify;{title};sim-admin shop/checkout");
    room.wait_until("the notification in the pane's output", || {
        std::fs::read(&raw).is_ok_and(|b| String::from_utf8_lossy(&b).contains(&notification))
    });
    let bell = room
        .tmux
        .run(&["display-message", "-p", "-t", "ui", "#{window_bell_flag}"]);
    assert_eq!(bell.trim(), "1", "the bell rang in the window");

    patch_checkout(&room, RETRY);
    room.wait_until("the JSON receiver's resolved alert", || {
        json.bodies().iter().any(|b| checkout_failed(b, "resolved"))
    });
    let resolved = "cutover resolved: release failed: checkout";
    room.wait_until("the Slack receiver's resolved alert", || {
        slack_titled(&slack.bodies(), resolved) == 1
    });
    let bodies = json.bodies();
    let count = |state| bodies.iter().filter(|b| checkout_failed(b, state)).count();
    assert_eq!((count("firing"), count("resolved")), (1, 1), "{bodies:#?}");
    let firing = bodies
        .iter()
        .find(|b| checkout_failed(b, "firing"))
        .unwrap();
    assert_eq!(firing["context"], "sim-admin");
    assert_eq!(firing["namespace"], "shop");
    assert_eq!(firing["kind"], "Rollout");
    assert_eq!(slack_titled(&slack.bodies(), title), 1, "never repeated");
    let log = std::fs::read_to_string(room.sim.dir.path().join("ui.log")).unwrap_or_default();
    assert!(log.contains("alert firing: release-failed sim-admin shop/checkout"));
    assert!(log.contains("alert resolved: release-failed sim-admin shop/checkout"));
    assert!(!log.contains("s3cr3t"), "no webhook URL in the log");
}

#[test]
fn receivers_that_fail_or_hang_show_in_the_header_and_never_hold_the_screen() {
    let test = "receivers_that_fail_or_hang_show_in_the_header_and_never_hold_the_screen";
    let (broken, stuck) = (
        Receiver::start(Answer::ServerError),
        Receiver::start(Answer::Hang),
    );
    let config = format!(
        r#"
[alerts]
terminal = false
[[alerts.webhook]]
name = "broken"
url = "{broken}"
[[alerts.webhook]]
name = "stuck"
url = "{stuck}"
timeout = "1s"
"#,
        broken = broken.url,
        stuck = stuck.url,
    );
    let Some(room) = checkout_paused_with(test, &config) else {
        return;
    };
    patch_checkout(&room, ABORT);
    room.tmux
        .wait_for_text("✖ alerts webhook broken: answered HTTP 500", SCREEN);
    room.tmux
        .wait_for_text("✖ alerts webhook stuck: no answer within 1s", SCREEN);
    assert!(
        !stuck.bodies().is_empty(),
        "the hanging receiver was reached"
    );
    room.wait_until("a retry of the failed alert", || broken.bodies().len() >= 2);
    // Keys are still answered and the screen still drawn.
    room.filter_marker("zqxalert");
    room.tmux.keys(&["?"]);
    room.tmux.wait_for_text("any key closes", SCREEN);
    room.tmux.keys(&["Escape"]);
    let screen = room.tmux.screen();
    assert!(!screen.contains("s3cr3t"), "no webhook URL on screen");
}

#[test]
fn data_stale_beyond_its_limit_alerts_once_and_resolves_when_live_again() {
    let test = "data_stale_beyond_its_limit_alerts_once_and_resolves_when_live_again";
    let json = Receiver::start(Answer::Ok);
    let config = format!(
        "[alerts]\nterminal = false\nstale_after = \"2s\"\n[[alerts.webhook]]\nurl = \"{}\"\n",
        json.url
    );
    let Some(room) = checkout_paused_with(test, &config) else {
        return;
    };
    let stale = |state: &str| {
        let bodies = json.bodies();
        let of = |b: &&Value| b["condition"] == "data-stale" && b["state"] == state;
        bodies.iter().filter(of).count()
    };
    assert_eq!(stale("firing"), 0, "fresh data at the start");
    room.sim
        .fault(&room.kubectl, "sim-admin", "/_sim/faults/outage?seconds=8");
    // The control room wakes itself when the limit passes, whether or not
    // the failing watches say anything meanwhile.
    room.wait_until("the data-stale alert", || stale("firing") == 1);
    room.tmux.wait_for_text("● live", Duration::from_secs(90));
    room.wait_until("the data-stale alert resolved", || stale("resolved") == 1);
    assert_eq!(stale("firing"), 1, "{:#?}", json.bodies());
    let firing = json
        .bodies()
        .into_iter()
        .find(|b| b["condition"] == "data-stale")
        .unwrap();
    assert_eq!(firing["context"], "sim-admin");
    assert_eq!(firing["release"], Value::Null);
    assert_eq!(firing["figures"][0]["name"], "age_seconds");
}

#[test]
fn a_kill_switch_sent_from_here_is_an_alert_of_its_own() {
    let test = "a_kill_switch_sent_from_here_is_an_alert_of_its_own";
    let json = Receiver::start(Answer::Ok);
    let config = format!(
        "[alerts]\nterminal = false\n[[alerts.webhook]]\nurl = \"{}\"\n",
        json.url
    );
    let Some(room) = room_with_config(
        test,
        &["--scenario", "default"],
        "--context sim-admin -n shop",
        &config,
    ) else {
        return;
    };
    room.find("checkout");
    room.tmux.wait_for_text("↻ changed", SCREEN);
    room.open_dialog("K", "kill-switch checkout?");
    room.tmux.keys(&["y"]);
    room.tmux
        .wait_for_text("kill-switch checkout: 1 patch accepted", SCREEN);
    let kill_switch = |b: &Value| b["condition"] == "kill-switch" && b["release"] == "checkout";
    room.wait_until("the kill switch's alert", || {
        json.bodies().iter().any(kill_switch)
    });
    let bodies = json.bodies();
    let alert = bodies.iter().find(|b| kill_switch(b)).unwrap();
    assert_eq!(alert["state"], "firing");
    assert!(
        alert["summary"]
            .as_str()
            .unwrap()
            .starts_with("kill-switch by admin: "),
        "{alert}"
    );
}

fn checkout_breach(body: &Value, state: &str) -> bool {
    body["release"] == "checkout" && body["condition"] == "slo-breached" && body["state"] == state
}

#[tokio::test(flavor = "multi_thread")]
async fn an_slo_breached_in_the_bake_alerts_once_and_once_more_when_it_clears() {
    const TEST: &str = "an_slo_breached_in_the_bake_alerts_once";
    let (json, slack) = (Receiver::start(Answer::Ok), Receiver::start(Answer::Ok));
    let scenarios = tempfile::tempdir().expect("temp dir");
    // Bad 20 s after its promotion, for 40 s.
    let scenario = support::prometheus::bad_after_release_short(scenarios.path(), ", lasting: 40s");
    let metrics = format!("127.0.0.1:{}", support::prometheus::free_port());
    let Some(prometheus) =
        support::prometheus::PrometheusProcess::start(TEST, &[metrics.parse().unwrap()]).await
    else {
        return;
    };
    let config = format!(
        r#"{windows}
[metrics.bake]
duration = "5m"
for = "10s"
[[alerts.webhook]]
url = "{json}"
[[alerts.webhook]]
url = "{slack}"
format = "slack"
"#,
        windows = support::prometheus::SHORT_WINDOWS,
        json = json.url,
        slack = slack.url,
    );
    let sim_args = ["--scenario", &scenario, "--metrics-addr", &metrics];
    let ui_args = format!(
        "--context sim-admin -n shop --prometheus http://{}",
        prometheus.addr
    );
    let Some(room) = room_with_config(TEST, &sim_args, &ui_args, &config) else {
        return;
    };
    tokio::task::block_in_place(|| {
        room.find("checkout");
        room.tmux.keys(&["Enter"]);
        // Bounds the wait through the promotion, the degradation and `for`.
        let patience = Duration::from_secs(300);
        room.tmux.wait_for("the breach on screen", patience, |s| {
            s.contains("SLO breached")
        });
        room.wait_until("the JSON receiver's breach alert", || {
            json.bodies().iter().any(|b| checkout_breach(b, "firing"))
        });
        room.wait_until("the JSON receiver's alert that the breach cleared", || {
            json.bodies().iter().any(|b| checkout_breach(b, "resolved"))
        });
        room.wait_until("the Slack receiver's two alerts", || {
            let bodies = slack.bodies();
            slack_titled(&bodies, "cutover: SLO breached: checkout") == 1
                && slack_titled(&bodies, "cutover resolved: SLO breached: checkout") == 1
        });
    });
    let bodies = json.bodies();
    let count = |state| bodies.iter().filter(|b| checkout_breach(b, state)).count();
    assert_eq!((count("firing"), count("resolved")), (1, 1), "{bodies:#?}");
    let firing = bodies
        .iter()
        .find(|b| checkout_breach(b, "firing"))
        .unwrap();
    let error_ratio = firing["figures"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == "error_ratio"))
        .unwrap_or_else(|| panic!("the error ratio in {firing:#}"));
    assert!(
        error_ratio["value"].as_f64().unwrap_or(0.0) > 0.01,
        "{firing:#}"
    );
    assert!(
        error_ratio["baseline"].as_f64().is_some(),
        "the previous version's: {firing:#}"
    );
}
