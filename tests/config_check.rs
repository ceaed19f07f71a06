//! A config file with the mistakes people make: `cutover config check`
//! lists every one with its line and column and exits 1 (a clean file: 0;
//! a context's `confirm` of another word names the words allowed);
//! `cutover status` lists them on stderr and works with the rest; the
//! control room counts them and lists them under `:config`.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use support::tmux::Tmux;
use support::{ServeProcess, require_program, stderr_of, stdout_of};

/// Two actions on one key, a misspelt gate metric, an unknown theme, an
/// unknown key and a wrong type; a database with a password in its url
/// beside a good one.
const MISTAKES: &str = r#"theme = "dracula"
colour = "blue"

[keys]
promote = ["x"]
abort = ["x"]

[metrics]
refresh = 15
min_canary_requests = 10

[[metrics.gates]]
metric = "error_rato"
max_delta = 0.005

[[metrics.gates]]
metric = "p99_latency"
max = 500

[databases.orders]
url = "postgres://app:hunter2@127.0.0.1/orders"
"#;

/// Each problem of [`MISTAKES`] as `LINE:COL: start of the problem`.
const EXPECTED: [&str; 7] = [
    "1:9: unknown theme \"dracula\": ",
    "2:1: unknown key \"colour\" in the top level: ",
    "5:12: x is bound to both promote and abort: neither gets it",
    "6:10: x is bound to both abort and promote: neither gets it",
    "9:11: wrong type for metrics.refresh: integer `15`, expected a string: ",
    "13:10: unknown gate metric \"error_rato\": did you mean \"error_ratio\"? ",
    "21:7: database orders: the url holds a password",
];

fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the config");
    path
}

fn cutover(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover"))
        .arg("--log-file")
        .arg(dir.join("cutover.log"))
        .args(args)
        .output()
        .expect("run cutover")
}

/// Every expected problem is a line of `text`, in order, after the file's
/// name.
fn assert_listed(text: &str, file: &Path) {
    let problems: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{}:", file.display())))
        .collect();
    assert_eq!(problems.len(), EXPECTED.len(), "{text}");
    for (line, expected) in problems.iter().zip(EXPECTED) {
        let prefix = format!("{}:{expected}", file.display());
        assert!(line.starts_with(&prefix), "{line:?} starts with {prefix:?}");
    }
    assert!(!text.contains("hunter2"), "{text}");
}

/// `cutover config check --config FILE`.
fn config_check(dir: &Path, file: &Path) -> Output {
    cutover(
        dir,
        &["config", "check", "--config", file.to_str().expect("utf-8")],
    )
}

#[test]
fn config_check_lists_every_problem_with_its_place_and_exits_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = write_config(dir.path(), "bad.toml", MISTAKES);
    let out = config_check(dir.path(), &bad);
    let text = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr_of(&out));
    assert_listed(&text, &bad);
    assert!(
        text.ends_with(&format!("config {}: 7 problems\n", bad.display())),
        "{text}"
    );

    let good = write_config(
        dir.path(),
        "good.toml",
        "theme = \"mono\"\n[keys]\npromote = [\"ctrl-p\"]\n",
    );
    let out = config_check(dir.path(), &good);
    assert_eq!(out.status.code(), Some(0), "{}", stdout_of(&out));
    assert_eq!(stdout_of(&out), format!("config {}: OK\n", good.display()));

    let missing = dir.path().join("missing.toml");
    let out = config_check(dir.path(), &missing);
    assert_eq!(out.status.code(), Some(1), "a file named but missing");
}

#[test]
fn config_check_names_the_file_the_key_and_the_confirm_styles() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_config(
        dir.path(),
        "fleet.toml",
        "[contexts.prod-us]\nalias = \"us\"\nconfirm = \"sure\"\n",
    );
    let out = config_check(dir.path(), &path);
    let text = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr_of(&out));
    let expected = format!(
        "{}:3:11: contexts.prod-us.confirm: confirm \"sure\" is not one of yes-no, typed: until then its actions ask for the context's name typed\n",
        path.display()
    );
    assert!(text.starts_with(&expected), "{text}");
}

#[test]
fn status_lists_the_problems_on_stderr_and_uses_the_rest() {
    let sim = ServeProcess::start_with(&["--scenario", "default"]);
    let dir = sim.dir.path();
    // A good database on a loopback port nothing listens on: it is kept and
    // its error is reported; the one with a password in its url is not used.
    let free_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let config = format!(
        "{MISTAKES}\n[databases.payments]\nurl = \"postgres://app@127.0.0.1:{free_port}/payments\"\n"
    );
    let path = write_config(dir, "config.toml", &config);
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .arg("--log-file")
        .arg(dir.join("status.log"))
        .arg("--kubeconfig")
        .arg(&sim.kubeconfig)
        .arg("--config")
        .arg(&path)
        .args([
            "--context",
            "sim-admin",
            "-n",
            "shop",
            "status",
            "-o",
            "json",
        ])
        .output()
        .expect("run cutover status");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_listed(&stderr_of(&out), &path);
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("status prints JSON");
    let releases = report["releases"].as_array().expect("releases");
    assert!(
        releases.iter().any(|r| r["name"] == "checkout"),
        "{report:#}"
    );
    let databases: Vec<&str> = report["databases"]
        .as_array()
        .expect("databases")
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(databases, ["payments"], "{report:#}");
    let log = std::fs::read_to_string(dir.join("status.log")).unwrap_or_default();
    assert!(
        log.contains("config problem:") && log.contains("error_rato"),
        "logged: {log}"
    );
}

/// The control room in tmux at `width`×`height`, read-only on the simulated
/// cluster as sim-admin in namespace shop, with the config file `config`.
fn control_room(
    tmux_program: &Path,
    sim: &ServeProcess,
    config: &Path,
    (width, height): (u16, u16),
) -> Tmux {
    let dir = sim.dir.path();
    let command = format!(
        "TERM=xterm-256color NO_COLOR= {bin} --log-file {dir}/ui.log --config {config} \
         --kubeconfig {kc} --context sim-admin -n shop --read-only",
        bin = env!("CARGO_BIN_EXE_cutover"),
        dir = dir.display(),
        config = config.display(),
        kc = sim.kubeconfig.display(),
    );
    Tmux::start(tmux_program, dir, width, height, &command)
}

#[test]
fn the_control_room_counts_the_problems_and_lists_them_under_config() {
    const TEST: &str = "the_control_room_counts_the_problems_and_lists_them_under_config";
    let Some(tmux_program) = require_program("tmux", TEST) else {
        return;
    };
    let sim = ServeProcess::start_with(&["--scenario", "fixture"]);
    let dir = sim.dir.path();
    let path = write_config(dir, "config.toml", MISTAKES);
    let tmux = control_room(&tmux_program, &sim, &path, (160, 48));
    let wait = Duration::from_secs(30);
    tmux.wait_for_text("● live", wait);
    tmux.wait_for_text("⚠ 7 config problems (:config)", wait);
    tmux.keys(&[":"]);
    tmux.type_text("config");
    tmux.keys(&["Enter"]);
    // The panel's title can be on screen before the rest of the frame has
    // arrived: wait for every line of the list, not only the title.
    let starts: Vec<String> = EXPECTED
        .iter()
        .map(|expected| expected.chars().take(40).collect())
        .collect();
    tmux.wait_for("every problem listed", wait, |screen| {
        screen.contains("7 problems · any key closes")
            && starts.iter().all(|start| screen.contains(start))
    });
    tmux.keys(&["Escape"]);
    // An Esc followed at once by `?` reads as Alt-?: wait for the close.
    tmux.wait_for("the panel closed", wait, |s| !s.contains("any key closes"));
    tmux.keys(&["?"]);
    let help = tmux.wait_for_text("WHAT IT DOES", wait);
    let key_of = |what: &str| {
        help.lines()
            .find(|l| l.contains(what))
            .and_then(|l| l.split('│').nth(2))
            .and_then(|cell| cell.split_whitespace().next())
            .map(str::to_string)
    };
    assert_eq!(
        key_of("promote: end the pause").as_deref(),
        Some("P"),
        "{help}"
    );
    assert_eq!(
        key_of("abort: traffic back").as_deref(),
        Some("A"),
        "{help}"
    );
}

/// `cutover config check` with no `--config`, `HOME` the temp folder and
/// `XDG_CONFIG_HOME` and `XDG_STATE_HOME` as given: its report.
fn default_config_check(home: &Path, config_home: &str, state_home: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["config", "check"])
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", config_home)
        .env("XDG_STATE_HOME", state_home)
        .env_remove("CUTOVER_CONFIG")
        .output()
        .expect("run cutover");
    stdout_of(&out)
}

#[test]
fn the_default_files_follow_the_xdg_variables_when_absolute() {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path();
    let missing = |path: PathBuf| {
        format!(
            "config {}: no such file; the built-in defaults are used\n",
            path.display()
        )
    };
    let (config, state) = (home.join("xdg-config"), home.join("xdg-state"));
    let text = default_config_check(
        home,
        config.to_str().expect("utf-8"),
        state.to_str().expect("utf-8"),
    );
    assert_eq!(text, missing(config.join("cutover/config.toml")));
    assert!(state.join("cutover/cutover.log").is_file(), "the log");

    // A relative variable does not count: the home folder's defaults do.
    let text = default_config_check(home, "xdg-config", "xdg-state");
    assert_eq!(text, missing(home.join(".config/cutover/config.toml")));
    assert!(home.join(".local/state/cutover/cutover.log").is_file());
}

/// The user's themes are found by name in `$XDG_CONFIG_HOME/cutover/themes`,
/// a context may have its own, and a file named like a built-in theme is
/// said to be unused.
#[test]
fn config_check_finds_the_users_themes_and_checks_each_contexts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let themes = dir.path().join("xdg/cutover/themes");
    std::fs::create_dir_all(&themes).expect("themes folder");
    let own =
        include_str!("../themes/default.toml").replace("name = \"default\"", "name = \"prod\"");
    std::fs::write(themes.join("prod.toml"), &own).expect("write a theme");
    std::fs::write(themes.join("mono.toml"), &own).expect("write a theme");
    let config = write_config(
        dir.path(),
        "config.toml",
        "theme = \"prod\"\n[contexts.staging]\ntheme = \"mono\"\n[contexts.dev]\ntheme = \"prdo\"\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .arg("--log-file")
        .arg(dir.path().join("cutover.log"))
        .args(["config", "check", "--config"])
        .arg(&config)
        .env("XDG_CONFIG_HOME", dir.path().join("xdg"))
        .output()
        .expect("run cutover");
    let text = stdout_of(&out);
    let file = config.display();
    let shadowed = themes.join("mono.toml");
    assert_eq!(
        text,
        format!(
            "{file}:3:9: theme \"mono\" is built in: {} is not used: rename the file, and the setting, to use it; the built-in theme is used\n\
             {file}:5:9: unknown theme \"prdo\": did you mean \"prod\"? The top level's theme is used\n\
             config {file}: 2 problems\n",
            shadowed.display()
        )
    );
    assert_eq!(out.status.code(), Some(1));
}

/// `[contexts.sim-viewer] theme = "light"`: switching to that context with
/// `:ctx` paints the screen in the light theme's white.
#[test]
fn the_theme_follows_the_context() {
    const TEST: &str = "the_theme_follows_the_context";
    let Some(tmux_program) = require_program("tmux", TEST) else {
        return;
    };
    let sim = ServeProcess::start_with(&["--scenario", "fixture"]);
    let dir = sim.dir.path();
    let path = write_config(
        dir,
        "config.toml",
        "[contexts.sim-viewer]\ntheme = \"light\"\n",
    );
    let tmux = control_room(&tmux_program, &sim, &path, (100, 30));
    let wait = Duration::from_secs(30);
    // The light theme's background: xterm colour 231, white.
    let white_ground = "48;5;231";
    let admin = tmux.wait_for_text("ctx sim-admin", wait);
    tmux.wait_for_text("● live", wait);
    assert!(
        !tmux.styled_screen().contains(white_ground),
        "sim-admin is drawn in the default theme:\n{admin}"
    );
    tmux.keys(&[":"]);
    tmux.type_text("ctx sim-viewer");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the light theme in sim-viewer", wait, |screen| {
        screen.contains("ctx sim-viewer") && tmux.styled_screen().contains(white_ground)
    });
}
