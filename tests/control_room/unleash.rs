//! The demo's checkout beside a real Unleash: its flag shown per the
//! configured environment, the kill switch turning it off there only
//! (read back through Unleash's admin API), audited with an Event on the
//! release; a wrong token and an unreachable server said, no flag shown
//! off; and the token in no screen, log, audit line or status output.

use super::*;
use support::postgres::{Postgres, free_port};
use support::unleash::UnleashServer;

const SECRET: &str = "planted-unleash-token-5c1e";
const TITLE: &str = "kill-switch checkout?";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("a runtime")
}

/// A real Unleash whose `new-checkout-flow` is on at 20% in production
/// and on in development.
fn seeded_unleash(runtime: &tokio::runtime::Runtime, test: &str) -> Option<UnleashServer> {
    runtime.block_on(async {
        let postgres = Postgres::shared(test)?;
        let unleash = UnleashServer::start(test, postgres, test, SECRET).await?;
        unleash.create_flag("new-checkout-flow").await;
        unleash
            .roll_out("new-checkout-flow", "production", 20)
            .await;
        unleash
            .switch("new-checkout-flow", "production", true)
            .await;
        unleash
            .switch("new-checkout-flow", "development", true)
            .await;
        Some(unleash)
    })
}

/// The config of sim-admin reading `url` with the token in `token_file`.
fn config(url: &str, token_file: &std::path::Path) -> String {
    format!(
        "[contexts.sim-admin.flags.unleash]\nurl = \"{url}\"\nproject = \"default\"\n\
         environment = \"production\"\ntoken_file = \"{}\"\n",
        token_file.display()
    )
}

const AS_ADMIN: &str = "--context sim-admin -n shop";

/// The demo with `ui_args` and `config`, checkout's detail open once its
/// new version brought its flags.
fn demo_detail(test: &str, config: &str, ui_args: &str) -> Option<Room> {
    let room = room_with_config(test, &["--scenario", "default"], ui_args, config)?;
    room.find("checkout");
    room.tmux.wait_for_text("↻ changed", SCREEN);
    room.tmux.keys(&["Enter"]);
    Some(room)
}

fn token_file(dir: &tempfile::TempDir, token: &str) -> std::path::PathBuf {
    let path = dir.path().join("unleash-token");
    std::fs::write(&path, format!("{token}\n")).expect("write the token");
    path
}

/// Everything the control room wrote or showed: the screen, its log, the
/// audit file, and `status -o json` with the same config.
fn everything_shown(room: &Room, screens: &[String]) -> String {
    let dir = room.sim.dir.path();
    let mut all = screens.join("\n");
    for file in ["ui.log", "audit.jsonl"] {
        all.push_str(&std::fs::read_to_string(dir.join(file)).unwrap_or_default());
    }
    let config = dir.join("config.toml");
    let status = room
        .sim
        .status_command(
            &[
                "--config",
                config.to_str().expect("utf-8"),
                "--context",
                "sim-admin",
            ],
            &[],
        )
        .output()
        .expect("run cutover status");
    all.push_str(&stdout_of(&status));
    all.push_str(&stderr_of(&status));
    all.push_str(&std::fs::read_to_string(dir.join("status.log")).unwrap_or_default());
    all
}

/// What a test beside a real Unleash holds; the token file's folder lives
/// as long as the control room reading it.
struct Beside {
    runtime: tokio::runtime::Runtime,
    unleash: UnleashServer,
    room: Room,
    _secrets: tempfile::TempDir,
}

/// The demo's checkout detail with `ui_args`, reading a seeded Unleash with
/// its admin token.
fn beside_unleash(test: &str, ui_args: &str) -> Option<Beside> {
    let runtime = runtime();
    let unleash = seeded_unleash(&runtime, test)?;
    let secrets = tempfile::tempdir().expect("temp dir");
    let token = token_file(&secrets, &unleash.token);
    let room = demo_detail(test, &config(&unleash.url, &token), ui_args)?;
    Some(Beside {
        runtime,
        unleash,
        room,
        _secrets: secrets,
    })
}

/// Open the kill switch and choose the Unleash flag's option: the dialog.
fn open_unleash_kill_switch(room: &Room) -> String {
    room.open_dialog("K", TITLE);
    let wanted = "flag new-checkout-flow of Unleash default/production";
    room.tmux.wait_for(wanted, SCREEN, |screen| {
        let found = screen.contains(wanted);
        if !found {
            room.tmux.keys(&["Down"]);
            std::thread::sleep(Duration::from_millis(200));
        }
        found
    })
}

/// `status -o json` as sim-admin with the room's config.
fn status_of(room: &Room) -> Value {
    let config = room.sim.dir.path().join("config.toml");
    let config = config.to_str().expect("utf-8 path");
    room.sim
        .status_json(&["--config", config, "--context", "sim-admin"], &[])
}

#[test]
fn the_kill_switch_turns_an_unleash_flag_off_in_its_environment_only() {
    let test = "the_kill_switch_turns_an_unleash_flag_off_in_its_environment_only";
    let Some(beside) = beside_unleash(test, AS_ADMIN) else {
        return;
    };
    let Beside {
        runtime,
        unleash,
        room,
        ..
    } = &beside;
    let detail = room
        .tmux
        .wait_for_text("Unleash default/production", SCREEN);
    assert!(detail.contains("on 20% · off 80%"), "{detail}");
    let dialog = open_unleash_kill_switch(room);
    for named in [
        "Context:  sim-admin",
        "POST /api/admin/projects/default/features/new-checkout-flow/environments/production/off",
    ] {
        assert!(dialog.contains(named), "{named:?} in:\n{dialog}");
    }
    room.tmux.keys(&["y"]);
    let done = room
        .tmux
        .wait_for_text("kill-switch checkout: Unleash accepted", SCREEN);
    runtime.block_on(async {
        assert!(!unleash.enabled("new-checkout-flow", "production").await);
        assert!(unleash.enabled("new-checkout-flow", "development").await);
    });
    let lines = room.audit_lines();
    assert_eq!(
        action_stages(&lines),
        [("kill-switch", "requested"), ("kill-switch", "done")]
    );
    for line in &lines {
        assert_eq!(line["flag"]["type"], "unleash", "{line}");
        assert_eq!(line["flag"]["environment"], "production", "{line}");
        assert_eq!(line["flag"]["key"], "new-checkout-flow", "{line}");
    }
    assert!(
        room.event_reasons("checkout")
            .contains(&"CutoverKillSwitch".to_string())
    );
    let patched: Vec<Value> = room
        .mutating_requests()
        .into_iter()
        .filter(|r| r["method"] == "PATCH")
        .collect();
    assert_eq!(
        patched,
        Vec::<Value>::new(),
        "nothing patched in the cluster"
    );
    let all = everything_shown(room, &[detail, dialog, done]);
    assert!(!all.contains(SECRET), "the token shows somewhere:\n{all}");
    let status = status_of(room);
    let checkout = status["releases"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == "checkout"))
        .unwrap_or_else(|| panic!("checkout in {status}"));
    let from_unleash: Vec<&Value> = checkout["flags"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .filter(|f| f["source"]["type"] == "unleash")
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(from_unleash.len(), 1, "{checkout}");
    assert_eq!(from_unleash[0]["state"], "DISABLED", "{checkout}");
    assert_eq!(from_unleash[0]["source"]["environment"], "production");
}

#[test]
fn a_wrong_token_or_an_unreachable_unleash_is_said_and_no_flag_shown_off() {
    let test = "a_wrong_token_or_an_unreachable_unleash_is_said_and_no_flag_shown_off";
    let runtime = runtime();
    let Some(unleash) = seeded_unleash(&runtime, test) else {
        return;
    };
    let secrets = tempfile::tempdir().expect("temp dir");
    let wrong = token_file(&secrets, &format!("*:*.{SECRET}-wrong"));
    let nobody = format!("http://127.0.0.1:{}", free_port());
    for (url, said) in [
        (unleash.url.as_str(), "Unleash refused the token (401"),
        (nobody.as_str(), "Unleash is unreachable"),
    ] {
        let Some(room) = demo_detail(test, &config(url, &wrong), AS_ADMIN) else {
            return;
        };
        let screen = room.tmux.wait_for_text(said, SCREEN);
        // Its age ("failing for 3s"), however the panel wraps it.
        assert!(screen.contains("failing"), "its age:\n{screen}");
        assert!(
            !screen.contains("Unleash default/production (named"),
            "no flag shown:\n{screen}"
        );
        let problem = status_of(&room)["unleash_problem"].clone();
        assert!(
            problem.as_str().is_some_and(|p| p.contains(said)),
            "status -o json says it: {problem}"
        );
        let all = everything_shown(&room, &[screen]);
        assert!(!all.contains(SECRET), "the token shows somewhere:\n{all}");
    }
    runtime.block_on(async {
        assert!(
            unleash.enabled("new-checkout-flow", "production").await,
            "nothing sent"
        );
    });
}

#[test]
fn an_unleash_flag_changed_while_the_confirmation_is_open_is_left_alone() {
    let test = "an_unleash_flag_changed_while_the_confirmation_is_open_is_left_alone";
    let Some(beside) = beside_unleash(test, AS_ADMIN) else {
        return;
    };
    let Beside {
        runtime,
        unleash,
        room,
        ..
    } = &beside;
    room.tmux
        .wait_for_text("Unleash default/production", SCREEN);
    open_unleash_kill_switch(room);
    // Someone else opens it wider meanwhile.
    runtime.block_on(unleash.roll_out("new-checkout-flow", "production", 50));
    room.tmux.keys(&["y"]);
    let screen = room
        .tmux
        .wait_for_text("kill-switch checkout: refused", SCREEN);
    assert!(
        screen.contains("new-checkout-flow of Unleash default/production changed"),
        "{screen}"
    );
    runtime.block_on(async {
        assert!(
            unleash.enabled("new-checkout-flow", "production").await,
            "not written"
        );
    });
    let stages = room.stages_once_refused();
    // Refused by the control room if its reading saw the change first,
    // else by the Mutator's own reading before it sends.
    assert!(
        stages == ["kill-switch refused"]
            || stages == ["kill-switch requested", "kill-switch refused"],
        "{stages:?}"
    );
}

#[test]
fn read_only_shows_the_unleash_flag_and_can_switch_nothing_off() {
    let test = "read_only_shows_the_unleash_flag_and_can_switch_nothing_off";
    let Some(beside) = beside_unleash(test, &format!("{AS_ADMIN} --read-only")) else {
        return;
    };
    let Beside {
        runtime,
        unleash,
        room,
        ..
    } = &beside;
    room.tmux
        .wait_for_text("Unleash default/production", SCREEN);
    room.tmux.keys(&["K", "Down", "Down", "y", "Enter"]);
    room.filter_marker("read-only-unleash-marker");
    runtime.block_on(async {
        assert!(
            unleash.enabled("new-checkout-flow", "production").await,
            "nothing sent"
        );
    });
    assert!(room.audit_lines().is_empty(), "nothing to audit");
    assert_eq!(room.mutating_requests(), Vec::<Value>::new());
}
