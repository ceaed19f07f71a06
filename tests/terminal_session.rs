//! End-to-end, in a real terminal (tmux) against `cutover sim serve`: the
//! ages on screen count on while the cluster is quiet, Ctrl-Z gives the
//! terminal back to the shell until `fg` takes it again, drawn whole, and
//! the control room ends when its terminal is gone.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::tmux::{PROMPT, Tmux};
use support::{ServeProcess, require_program, stderr_of};

/// Bounds on waits that would otherwise hang; never timing assertions.
const SCREEN: Duration = Duration::from_secs(30);

const UI_ARGS: &str = "--context sim-admin -n shop";

/// The simulator's fixed objects and no controllers: nothing changes on
/// its own. The control room's config file is empty.
fn quiet_cluster() -> ServeProcess {
    let sim = ServeProcess::start();
    std::fs::write(sim.dir.path().join("config.toml"), "").expect("write the config");
    sim
}

/// The cluster's resourceVersion, which any change to any object moves.
fn cluster_version(sim: &ServeProcess, kubectl: &Path) -> String {
    let out = sim.kubectl(kubectl, &["get", "--raw", "/api/v1/namespaces/shop/pods"]);
    assert!(out.status.success(), "kubectl: {}", stderr_of(&out));
    let list: Value = serde_json::from_slice(&out.stdout).expect("a PodList");
    list["metadata"]["resourceVersion"]
        .as_str()
        .expect("a resourceVersion")
        .to_string()
}

/// The AGE cell of `name`'s row, while ages are written in seconds.
fn age_seconds(screen: &str, name: &str) -> Option<u64> {
    let row = screen.lines().find(|l| l.contains(&format!(" {name} ")))?;
    // The last cell, before the border.
    let cell = row.split_whitespace().rev().nth(1)?;
    cell.strip_suffix('s')?.parse().ok()
}

#[test]
fn ages_on_screen_count_on_while_the_cluster_is_quiet() {
    let test = "ages_on_screen_count_on_while_the_cluster_is_quiet";
    let (Some(kubectl), Some(tmux_program)) = (
        require_program("kubectl", test),
        require_program("tmux", test),
    ) else {
        return;
    };
    let sim = quiet_cluster();
    let command = sim.control_room_command(UI_ARGS);
    let tmux = Tmux::start(&tmux_program, sim.dir.path(), 160, 48, &command);
    let first = tmux.wait_for("checkout's age in seconds", SCREEN, |s| {
        s.contains("● live") && age_seconds(s, "checkout").is_some()
    });
    let version = cluster_version(&sim, &kubectl);
    let age = age_seconds(&first, "checkout").unwrap_or_default();
    // Three seconds on: more than the odd redraw of a late answer at start.
    tmux.wait_for("an older age with no news", SCREEN, |s| {
        age_seconds(s, "checkout").is_some_and(|later| later >= age + 3)
    });
    assert_eq!(
        cluster_version(&sim, &kubectl),
        version,
        "nothing changed in the cluster meanwhile"
    );
}

/// Wait until `path` holds text that satisfies `cond`; `why_not` says what
/// the test sees when it never does.
fn wait_for_file(
    path: &Path,
    what: &str,
    why_not: impl Fn() -> String,
    cond: impl Fn(&str) -> bool,
) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if cond(&text) {
            return text;
        }
        assert!(
            start.elapsed() < SCREEN,
            "no {what} in {}; {}",
            path.display(),
            why_not()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The screen, for a failure's message.
fn screen_of(tmux: &Tmux) -> impl Fn() -> String {
    || format!("the screen:\n{}", tmux.screen())
}

/// Kills the process, if a failing test leaves it running.
struct KillOnFailure(u32);

impl Drop for KillOnFailure {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &self.0.to_string()])
                .status();
        }
    }
}

/// Type a command line into the shell.
fn run(tmux: &Tmux, line: &str) {
    tmux.type_text(line);
    tmux.keys(&["Enter"]);
}

#[test]
fn ctrl_z_gives_the_terminal_back_and_fg_draws_it_whole() {
    let test = "ctrl_z_gives_the_terminal_back_and_fg_draws_it_whole";
    let Some(tmux_program) = require_program("tmux", test) else {
        return;
    };
    let sim = quiet_cluster();
    let dir = sim.dir.path();
    // The control room as a job of the shell, its exit status kept.
    let status: PathBuf = dir.join("exit-status");
    let script = dir.join("ui.sh");
    std::fs::write(
        &script,
        format!(
            "{}\necho $? > {}\n",
            sim.control_room_command(UI_ARGS),
            status.display()
        ),
    )
    .expect("write the script");
    let tmux = Tmux::start_shell(&tmux_program, dir, 160, 48);
    run(&tmux, &format!("sh {}", script.display()));
    tmux.wait_for("the list", SCREEN, |s| {
        s.contains("● live") && s.contains("checkout")
    });

    tmux.keys(&["C-z"]);
    tmux.wait_for("the shell's prompt after the job stopped", SCREEN, |s| {
        s.contains("Stopped") && s.trim_end().ends_with(PROMPT.trim_end())
    });
    // In raw mode the shell would never see the end of this line.
    let stty = dir.join("stty.txt");
    run(&tmux, &format!("stty -a > {}", stty.display()));
    let modes = wait_for_file(&stty, "terminal modes", screen_of(&tmux), |t| {
        t.contains("icanon")
    });
    let words: Vec<&str> = modes
        .split(|c: char| c.is_whitespace() || c == ';')
        .collect();
    assert!(
        words.contains(&"icanon") && words.contains(&"echo"),
        "the terminal is left as the shell had it (icanon, echo):\n{modes}"
    );

    run(&tmux, "fg");
    let screen = tmux.wait_for("the whole screen drawn again", SCREEN, |s| {
        s.contains("● live") && s.contains("Releases (2)") && s.contains("? help")
    });
    assert!(
        !screen.contains(PROMPT.trim_end()),
        "nothing of the shell is left on the screen:\n{screen}"
    );
    tmux.keys(&["?"]);
    tmux.wait_for_text("any key closes", SCREEN);
    // Any key closes help; q also quits.
    tmux.keys(&["q"]);
    let code = wait_for_file(&status, "exit status", screen_of(&tmux), |t| {
        !t.trim().is_empty()
    });
    assert_eq!(code.trim(), "0", "{}", tmux.screen());
}

#[test]
fn the_control_room_ends_when_its_terminal_is_gone() {
    let test = "the_control_room_ends_when_its_terminal_is_gone";
    let Some(tmux_program) = require_program("tmux", test) else {
        return;
    };
    let sim = quiet_cluster();
    let dir = sim.dir.path();
    let status = dir.join("exit-status");
    // The shell ignores the hang-up and outlives the terminal: no signal
    // reaches the control room, only the closed terminal tells.
    let command = format!(
        "trap '' HUP; {}; echo $? > {}; exit",
        sim.control_room_command(UI_ARGS),
        status.display()
    );
    // Narrow, without the AGE column: nothing on screen changes with time,
    // so no drawing fails on the closed terminal either.
    let tmux = Tmux::start(&tmux_program, dir, 80, 24, &command);
    tmux.wait_for("the list", SCREEN, |s| {
        s.contains("● live") && s.contains("checkout")
    });
    let pid = tmux.command_pid().expect("the control room's pid");
    let _running = KillOnFailure(pid);
    tmux.kill_server_abruptly();

    // The shell writes the status once the control room has exited.
    let code = wait_for_file(
        &status,
        "exit status",
        || "the control room is still running without a terminal".into(),
        |t| !t.trim().is_empty(),
    );
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "{pid} is gone"
    );
    assert_eq!(code.trim(), "129", "as SIGHUP would have ended it");
    let log = std::fs::read_to_string(dir.join("ui.log")).expect("the control room's log");
    assert!(log.contains("quitting: the terminal hung up"), "{log}");
}
