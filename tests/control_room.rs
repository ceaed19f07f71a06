//! End-to-end: the control room in a real terminal (tmux) against
//! `cutover sim serve`, checked through the API with real kubectl, the
//! simulator's request log and the audit file.

mod support;

use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use support::tmux::Tmux;
use support::{ServeProcess, require_program, stderr_of, stdout_of};

/// Bounds on waits that would otherwise hang; never timing assertions.
const SCREEN: Duration = Duration::from_secs(30);
const API: Duration = Duration::from_secs(60);

/// Fields drop in order: tmux must go while its socket, in the
/// simulator's folder, still exists.
struct Room {
    tmux: Tmux,
    sim: ServeProcess,
    kubectl: PathBuf,
    audit: PathBuf,
}

/// The simulator with `scenario_args`, and the control room on it with
/// `ui_args`, in a 160×48 tmux pane.
fn room(test: &str, scenario_args: &[&str], ui_args: &str) -> Option<Room> {
    room_with_config(test, scenario_args, ui_args, "")
}

/// [`room`] with this config file.
fn room_with_config(
    test: &str,
    scenario_args: &[&str],
    ui_args: &str,
    config: &str,
) -> Option<Room> {
    let kubectl = require_program("kubectl", test)?;
    let tmux_program = require_program("tmux", test)?;
    let sim = ServeProcess::start_with(scenario_args);
    let dir = sim.dir.path();
    let audit = dir.join("audit.jsonl");
    std::fs::write(dir.join("config.toml"), config).expect("write the config");
    let command = sim.control_room_command(ui_args);
    let tmux = Tmux::start(&tmux_program, dir, 160, 48, &command);
    Some(Room {
        sim,
        tmux,
        kubectl,
        audit,
    })
}

/// The fixture as admin, with checkout found and at its manual pause.
fn checkout_at_the_manual_pause(test: &str) -> Option<Room> {
    let room = room(
        test,
        &["--scenario", "fixture"],
        "--context sim-admin -n shop",
    )?;
    room.find("checkout");
    room.wait_rollout("checkout", "the manual pause", |ro| step(ro) == 1);
    Some(room)
}

impl Room {
    fn kubectl(&self, args: &[&str]) -> String {
        let out = self.sim.kubectl(&self.kubectl, args);
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            stderr_of(&out)
        );
        stdout_of(&out)
    }

    fn rollout(&self, name: &str) -> Value {
        serde_json::from_str(&self.kubectl(&["get", "rollout", name, "-n", "shop", "-o", "json"]))
            .expect("rollout JSON")
    }

    /// Poll the rollout through kubectl until `cond` holds.
    fn wait_rollout(&self, name: &str, what: &str, cond: impl Fn(&Value) -> bool) -> Value {
        let start = std::time::Instant::now();
        loop {
            let ro = self.rollout(name);
            if cond(&ro) {
                return ro;
            }
            assert!(
                start.elapsed() < API,
                "gave up waiting for {what}: status {}\nscreen:\n{}",
                ro["status"],
                self.tmux.screen()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn find(&self, name: &str) {
        self.tmux.wait_for_text("● live", SCREEN);
        self.tmux.wait_for_text(name, SCREEN);
        self.tmux.keys(&["/"]);
        self.tmux.type_text(name);
        self.tmux.keys(&["Enter"]);
        self.tmux.wait_for_text("Releases (1 of", SCREEN);
    }

    /// Press `key` until its confirmation opens (the permission review may
    /// still be on its way the first time).
    fn open_dialog(&self, key: &str, title: &str) {
        let start = std::time::Instant::now();
        loop {
            self.tmux.keys(&[key]);
            let appeared = std::iter::repeat_n((), 20).any(|_| {
                std::thread::sleep(Duration::from_millis(100));
                self.tmux.screen().contains(title)
            });
            if appeared {
                return;
            }
            assert!(
                start.elapsed() < SCREEN,
                "no {title:?} dialog after {key}:\n{}",
                self.tmux.screen()
            );
        }
    }

    /// Type `marker`, a text no key before it holds, as a filter and wait
    /// for it on the line being typed: the sign every key sent before was
    /// handled. Escape then clears it.
    fn filter_marker(&self, marker: &str) -> String {
        self.tmux.keys(&["/"]);
        self.tmux.type_text(marker);
        let screen = self.tmux.wait_for_text(marker, SCREEN);
        self.tmux.keys(&["Escape"]);
        screen
    }

    fn audit_lines(&self) -> Vec<Value> {
        audit_lines_of(&self.audit)
    }

    fn event_reasons(&self, name: &str) -> Vec<String> {
        let list: Value = serde_json::from_str(&self.kubectl(&[
            "get",
            "events",
            "-n",
            "shop",
            "--field-selector",
            &format!("involvedObject.name={name}"),
            "-o",
            "json",
        ]))
        .expect("events JSON");
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["reportingComponent"] == "cutover")
            .map(|e| e["reason"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Requests of the simulator's log that change something.
    fn mutating_requests(&self) -> Vec<Value> {
        self.sim
            .requests()
            .into_iter()
            .filter(|r| {
                let method = r["method"].as_str().unwrap_or_default();
                let path = r["path"].as_str().unwrap_or_default();
                // SelfSubject reviews are questions, not changes.
                method != "GET" && !path.contains("selfsubject")
            })
            .collect()
    }
}

fn audit_lines_of(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit lines are JSON"))
        .collect()
}

/// (action, stage) of each audit line.
fn action_stages(lines: &[Value]) -> Vec<(&str, &str)> {
    lines
        .iter()
        .map(|l| {
            let field = |f: &str| l[f].as_str().unwrap_or_default();
            (field("action"), field("stage"))
        })
        .collect()
}

fn step(ro: &Value) -> i64 {
    ro["status"]["currentStepIndex"].as_i64().unwrap_or(-1)
}

fn image(ro: &Value) -> &str {
    ro["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
}

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
    assert!(
        screen.contains("changed while you were deciding"),
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
    let mut seed: u64 = 0x5eed_cafe;
    let mut sent = 0;
    while sent < 10_000 {
        let batch: Vec<&str> = (0..250)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                alphabet[usize::try_from(seed % alphabet.len() as u64).unwrap_or(0)]
            })
            .collect();
        room.tmux.keys(&batch);
        sent += batch.len();
    }
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

/// `kubectl create --raw` sends an admin POST to the simulator's fault API.
fn fault(room: &Room, path: &str) {
    let body = room.sim.dir.path().join("empty.json");
    std::fs::write(&body, "{}").expect("write body");
    let args = [
        "--context",
        "sim-admin",
        "create",
        "--raw",
        path,
        "-f",
        body.to_str().expect("utf-8 path"),
    ];
    // Right after a restart of the listener a first connection may still
    // break; a client retries, and so does this one.
    for attempt in 0..10 {
        let out = room.sim.kubectl(&room.kubectl, &args);
        if out.status.success() {
            return;
        }
        // An outage may close the listener before its answer is out: a
        // refusal after the first attempt means it has begun.
        if path.contains("outage") && attempt > 0 && stderr_of(&out).contains("refused") {
            return;
        }
        eprintln!("retrying {path}: {}", stderr_of(&out));
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("the fault API did not answer {path}");
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

impl Room {
    fn object(&self, kind: &str, name: &str) -> Value {
        serde_json::from_str(&self.kubectl(&["get", kind, name, "-n", "shop", "-o", "json"]))
            .expect("object JSON")
    }

    /// Poll an object through kubectl until `cond` holds.
    fn wait_object(&self, kind: &str, name: &str, what: &str, cond: impl Fn(&Value) -> bool) {
        let start = std::time::Instant::now();
        while !cond(&self.object(kind, name)) {
            assert!(
                start.elapsed() < API,
                "gave up waiting for {what}\nscreen:\n{}",
                self.tmux.screen()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Open the action's dialog on the shown release and confirm it.
    fn act(&self, key: &str, title: &str) {
        self.open_dialog(key, title);
        self.tmux.keys(&["y"]);
    }
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
