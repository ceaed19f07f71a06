//! End-to-end: the control room in a real terminal (tmux) against
//! `cutover sim serve`, checked through the API with real kubectl, the
//! simulator's request log and the audit file.

#[path = "../support/mod.rs"]
mod support;

mod actions;
mod alerts;
mod audit_file;
mod board;
mod faults;
mod flags;
mod fleet;
mod metrics_and_migrations;
mod read_only;
mod unleash;

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

    /// Press `key` until its confirmation opens. Pressed while the
    /// permission review is on its way, the action waits for the answer
    /// and opens then, so the key is pressed again only when it was
    /// refused (the release not yet in a state that allows it): pressing
    /// while it waits would open a second dialog.
    fn open_dialog(&self, key: &str, title: &str) {
        let refused = format!("✖ {}:", title.trim_end_matches('?'));
        let start = std::time::Instant::now();
        loop {
            self.tmux.keys(&[key]);
            let screen = self
                .tmux
                .wait_for(title, SCREEN, |s| s.contains(title) || s.contains(&refused));
            if screen.contains(title) {
                return;
            }
            assert!(
                start.elapsed() < SCREEN,
                "no {title:?} dialog after {key}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Type `marker`, a text no key before it holds, as a filter and wait
    /// for it on the line being typed: the sign every key sent before was
    /// handled. Escape then clears it.
    fn filter_marker(&self, marker: &str) -> String {
        self.tmux.keys(&["/"]);
        self.tmux.type_text(marker);
        // Bounds the wait for a flood of keys on a loaded machine.
        let screen = self.tmux.wait_for_text(marker, Duration::from_secs(180));
        self.tmux.keys(&["Escape"]);
        screen
    }

    /// The audit's `action stage` pairs once a refusal is among them: the
    /// line is written by a runner after the screen says "refused".
    fn stages_once_refused(&self) -> Vec<String> {
        self.wait_until("the refusal in the audit", || {
            action_stages(&self.audit_lines())
                .iter()
                .any(|(_, stage)| *stage == "refused")
        });
        action_stages(&self.audit_lines())
            .into_iter()
            .map(|(a, s)| format!("{a} {s}"))
            .collect()
    }

    fn audit_lines(&self) -> Vec<Value> {
        audit_lines_of(&self.audit)
    }

    fn event_reasons(&self, name: &str) -> Vec<String> {
        self.cutover_events(&[], name)
            .iter()
            .map(|e| e["reason"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// cutover's Events about `name`, read with kubectl after `flags` (a
    /// `--context`).
    fn cutover_events(&self, flags: &[&str], name: &str) -> Vec<Value> {
        let selector = format!("involvedObject.name={name}");
        let mut args = flags.to_vec();
        args.extend(["get", "events", "-n", "shop", "--field-selector", &selector]);
        args.extend(["-o", "json"]);
        let list: Value = serde_json::from_str(&self.kubectl(&args)).expect("events JSON");
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["reportingComponent"] == "cutover")
            .cloned()
            .collect()
    }

    /// Requests of the simulator's log that change something.
    fn mutating_requests(&self) -> Vec<Value> {
        self.sim.mutating_requests()
    }

    fn object(&self, kind: &str, name: &str) -> Value {
        serde_json::from_str(&self.kubectl(&["get", kind, name, "-n", "shop", "-o", "json"]))
            .expect("object JSON")
    }

    /// Poll until `cond` holds, e.g. a line the runners write after the
    /// screen has already said what happened.
    fn wait_until(&self, what: &str, cond: impl Fn() -> bool) {
        let start = std::time::Instant::now();
        while !cond() {
            assert!(
                start.elapsed() < API,
                "gave up waiting for {what}\nscreen:\n{}",
                self.tmux.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
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

    /// 10,000 keys drawn from `alphabet` by a xorshift from `seed`, sent
    /// in batches.
    fn random_keys(&self, alphabet: &[&str], mut seed: u64) {
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
            self.tmux.keys(&batch);
            sent += batch.len();
        }
    }

    /// Open the action's dialog on the shown release and confirm it.
    fn act(&self, key: &str, title: &str) {
        self.open_dialog(key, title);
        self.tmux.keys(&["y"]);
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
