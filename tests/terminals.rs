//! End-to-end, in a real terminal (tmux): a terminal without UTF-8 (the C
//! locale of many jump hosts, `TERM=dumb`) gets nothing but ASCII, and
//! the demo, like the control room, ends on a signal with the terminal
//! given back and 128 plus the signal's number as its exit status; the
//! demo runs the scenario it is given.

mod support;

use std::time::Duration;
use support::tmux::Tmux;
use support::{ServeProcess, require_program};

/// Bounds on waits that would otherwise hang; never timing assertions.
const SCREEN: Duration = Duration::from_secs(30);

/// The first character on `screen` that is not ASCII, with its line.
fn non_ascii(screen: &str) -> Option<(char, &str)> {
    screen
        .lines()
        .find_map(|line| line.chars().find(|c| !c.is_ascii()).map(|c| (c, line)))
}

/// The control room on the simulator's fixed objects with this config
/// file, its shell command changed by `env` (the locale, TERM), drawn until
/// checkout's row and the live badge are on screen: the screen, and the
/// session kept open.
fn drawn(
    test: &str,
    config: &str,
    ui_args: &str,
    env: impl Fn(String) -> String,
) -> Option<(String, Tmux, ServeProcess)> {
    let tmux_program = require_program("tmux", test)?;
    let sim = ServeProcess::start();
    std::fs::write(sim.dir.path().join("config.toml"), config).expect("write the config");
    let command = env(sim.control_room_command(&format!("--context sim-admin -n shop {ui_args}")));
    let tmux = Tmux::start(&tmux_program, sim.dir.path(), 120, 30, &command);
    let screen = tmux.wait_for("the list, live", SCREEN, |s| {
        s.contains("checkout") && s.contains(" live")
    });
    Some((screen, tmux, sim))
}

/// The command with `vars` set before it (an empty `LC_ALL` does not
/// count, as in libc).
fn with(vars: &'static str) -> impl Fn(String) -> String {
    move |command| format!("{vars} {command}")
}

#[test]
fn a_terminal_without_utf8_gets_only_ascii() {
    let cases = [
        ("LC_ALL=C", "LC_ALL=C", "xterm-256color"),
        (
            "LC_CTYPE=POSIX under LANG=C.UTF-8",
            "LC_ALL= LC_CTYPE=POSIX",
            "xterm-256color",
        ),
        ("TERM=dumb", "", "dumb"),
    ];
    for (why, vars, term) in cases {
        let test = format!("a_terminal_without_utf8_gets_only_ascii ({why})");
        let env = |command: String| {
            with(vars)(command).replace("TERM=xterm-256color", &format!("TERM={term}"))
        };
        let Some((screen, tmux, _sim)) = drawn(&test, "", "", env) else {
            return;
        };
        assert_eq!(non_ascii(&screen), None, "{why}:\n{screen}");
        assert!(screen.contains("* live"), "{why}:\n{screen}");
        assert!(
            screen.contains("+ Releases ("),
            "{why}: ASCII borders:\n{screen}"
        );
        tmux.keys(&["/"]);
        tmux.type_text("checkout");
        tmux.keys(&["Enter", "Enter"]);
        let detail = tmux.wait_for_text("Namespace:", SCREEN);
        assert_eq!(non_ascii(&detail), None, "{why}, the detail:\n{detail}");
    }
}

#[test]
fn the_flags_and_the_config_override_the_locale() {
    let test = "the_flags_and_the_config_override_the_locale";
    let utf8 = "LC_ALL=C.UTF-8";
    let cases = [
        ("", "--ascii", utf8, false),
        ("glyphs = \"ascii\"", "", utf8, false),
        ("glyphs = \"ascii\"", "--unicode", utf8, true),
        ("", "--unicode", "LC_ALL=C", true),
        ("glyphs = \"unicode\"", "", "LC_ALL=C", true),
    ];
    for (config, flag, locale, unicode) in cases {
        let Some((screen, ..)) = drawn(test, config, flag, with(locale)) else {
            return;
        };
        let what = format!("{config:?} {flag} {locale}");
        if unicode {
            assert!(screen.contains("● live"), "{what}:\n{screen}");
        } else {
            assert_eq!(non_ascii(&screen), None, "{what}:\n{screen}");
        }
    }
}

/// The demo's command line with `args`, its files in `dir`.
fn demo(dir: &std::path::Path, args: &str) -> String {
    std::fs::write(dir.join("config.toml"), "").expect("write the config");
    let d = dir.display();
    format!(
        "XDG_RUNTIME_DIR={d} TERM=xterm-256color LANG=C.UTF-8 RUST_BACKTRACE=0 {bin} \
         --log-file {d}/ui.log --audit-file {d}/audit.jsonl --config {d}/config.toml demo {args}",
        bin = env!("CARGO_BIN_EXE_cutover"),
    )
}

#[test]
fn the_demo_exits_128_plus_the_signal_with_the_terminal_restored() {
    for (signal, code) in [("TERM", 143), ("HUP", 129), ("INT", 130)] {
        let test = format!("the_demo_exits_on_sig{signal}");
        let Some(tmux_program) = require_program("tmux", &test) else {
            return;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let tmux = Tmux::start(&tmux_program, dir.path(), 120, 30, &demo(dir.path(), ""));
        tmux.wait_for_text("● eu  ● us", SCREEN);
        tmux.end_with_signal(signal, code, SCREEN);
        let kubeconfigs = std::fs::read_dir(dir.path().join("cutover"))
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(
            kubeconfigs, 0,
            "SIG{signal}: the demo's kubeconfig is removed"
        );
    }
}

#[test]
fn the_demo_is_a_fleet_with_checkout_promoted_in_eu_and_paused_in_us() {
    let Some(tmux_program) = require_program("tmux", "the_demo_is_a_fleet") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let tmux = Tmux::start(&tmux_program, dir.path(), 160, 48, &demo(dir.path(), ""));
    tmux.wait_for_text("● eu  ● us", SCREEN);
    tmux.keys(&["/"]);
    tmux.type_text("checkout");
    tmux.keys(&["Enter"]);
    let row = |s: &str, cluster: &str| -> Option<String> {
        s.lines()
            .map(|l| l.trim_start_matches(['│', ' ', '▶']))
            .find(|l| l.starts_with(&format!("{cluster} ")) && l.contains(" checkout "))
            .map(str::to_string)
    };
    let screen = tmux.wait_for("checkout of both clusters", SCREEN, |s| {
        row(s, "eu").is_some_and(|r| r.contains("✔ Healthy"))
            && row(s, "us").is_some_and(|r| r.contains("॥ Paused"))
    });
    assert!(screen.contains("CLUSTER"), "{screen}");
    assert!(
        row(&screen, "us").is_some_and(|r| r.contains("4/7")),
        "us paused mid-way:\n{screen}"
    );
}

#[test]
fn the_demo_plays_the_bad_canary_to_a_fail_verdict() {
    const TEST: &str = "the_demo_plays_the_bad_canary";
    let Some(tmux_program) = require_program("tmux", TEST) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let command = demo(dir.path(), "--scenario bad-canary --time-scale 4");
    let tmux = Tmux::start(&tmux_program, dir.path(), 160, 48, &command);
    tmux.wait_for_text("● live", SCREEN);
    tmux.keys(&["/"]);
    tmux.type_text("checkout");
    tmux.keys(&["Enter", "Enter"]);
    // The canary's errors are measured in-process, as soon as it serves.
    tmux.wait_for_text("Verdict: Fail", Duration::from_secs(120));
}

#[test]
fn the_demo_names_the_scenarios_it_can_run() {
    let Some(tmux_program) = require_program("tmux", "the_demo_names_the_scenarios") else {
        return;
    };
    for (scenario, says) in [
        ("no-such-scenario", "not one of default"),
        ("scale", "run it with `cutover sim serve --scenario scale`"),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let command = demo(dir.path(), &format!("--scenario {scenario}"));
        let tmux = Tmux::start(&tmux_program, dir.path(), 250, 20, &command);
        let screen = tmux.wait_for_exit(SCREEN);
        assert!(
            screen.contains(says) && screen.contains("EXITED 1"),
            "{scenario}:\n{screen}"
        );
    }
}
