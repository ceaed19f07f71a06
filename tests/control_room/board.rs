//! `cutover watch`: the board in a real terminal against the simulator.

use super::faults::fault;
use super::*;

/// The default scenario, and the board on it with `watch_args` in a
/// `width`×`height` pane.
fn board(test: &str, watch_args: &str, size: (u16, u16)) -> Option<Room> {
    let args = format!("--context sim-admin -n shop watch {watch_args}");
    board_on(test, &["--scenario", "default"], &args, "", size)
}

/// The simulator with `sim_args`, and cutover with `args` (and the
/// config file `config`) in a `width`×`height` pane.
fn board_on(
    test: &str,
    sim_args: &[&str],
    args: &str,
    config: &str,
    (width, height): (u16, u16),
) -> Option<Room> {
    let kubectl = require_program("kubectl", test)?;
    let tmux_program = require_program("tmux", test)?;
    let sim = ServeProcess::start_with(sim_args);
    let dir = sim.dir.path();
    let audit = dir.join("audit.jsonl");
    std::fs::write(dir.join("config.toml"), config).expect("write the config");
    let command = sim.control_room_command(args);
    let tmux = Tmux::start(&tmux_program, dir, width, height, &command);
    Some(Room {
        sim,
        tmux,
        kubectl,
        audit,
    })
}

/// The release named on the spotlight's first line.
fn spotlit(screen: &str) -> Option<String> {
    let mut lines = screen.lines();
    lines.find(|l| l.contains("Spotlight"))?;
    let first = lines.next()?;
    let name = first.split('/').nth(1)?.split(" · ").next()?;
    Some(name.trim().to_string())
}

#[test]
fn the_board_shows_every_part_at_80x24_and_200x60() {
    for size in [(80, 24), (200, 60)] {
        let test = format!("the_board_shows_every_part_at_{}x{}", size.0, size.1);
        let Some(room) = board(&test, "", size) else {
            return;
        };
        let screen = room.tmux.wait_for("the whole board", SCREEN, |s| {
            s.contains("● live")
                && s.contains("Also in flight (")
                && spotlit(s).is_some_and(|n| !n.is_empty())
                && s.contains("Outcomes (")
                && s.contains("completed")
        });
        for shown in [
            " cutover watch ",
            "ns shop",
            " UTC",
            "healthy, idle",
            "in flight",
        ] {
            assert!(screen.contains(shown), "{shown:?} at {size:?}:\n{screen}");
        }
        assert_eq!(
            screen.lines().count(),
            usize::from(size.1),
            "the whole screen is used:\n{screen}"
        );
    }
}

#[test]
fn with_cycle_2s_the_spotlight_moves() {
    let Some(room) = board("with_cycle_2s_the_spotlight_moves", "--cycle 2s", (120, 40)) else {
        return;
    };
    let screen = room
        .tmux
        .wait_for("a release in the spotlight", SCREEN, |s| {
            spotlit(s).is_some()
        });
    let first = spotlit(&screen).expect("a name");
    let moved = room
        .tmux
        .wait_for("another release in the spotlight", SCREEN, |s| {
            spotlit(s).is_some_and(|name| name != first)
        });
    eprintln!("from {first} to {:?}", spotlit(&moved));
    // Space pauses it, and says so.
    room.tmux.keys(&["Space"]);
    room.tmux.wait_for_text("CYCLE PAUSED", SCREEN);
}

#[test]
fn ten_thousand_random_keys_on_the_board_send_nothing() {
    let Some(room) = board(
        "ten_thousand_random_keys_on_the_board_send_nothing",
        "--cycle 1s",
        (120, 40),
    ) else {
        return;
    };
    room.tmux.wait_for_text("● live", SCREEN);
    // Every binding of the control room and then some; `q` and Ctrl-C would
    // end the board, `?` is the sign at the end.
    let alphabet = [
        "p", "P", "F", "A", "R", "U", "C-r", "y", "n", "Enter", "Escape", "j", "k", "Up", "Down",
        "Left", "Right", "g", "G", "/", ":", "s", "c", "h", "e", "x", "o", "u", "t", "BSpace",
        "Tab", "PageUp", "PageDown", "1", "-", "Space",
    ];
    room.random_keys(&alphabet, 0xb0a2_d5ee);
    // Only `?` shows the keys: once they are on screen, every key before
    // it was handled.
    room.tmux.keys(&["?"]);
    let screen = room.tmux.wait_for_text("Board keys", SCREEN);
    assert!(
        screen.contains("no key here changes the cluster"),
        "{screen}"
    );
    assert_eq!(
        room.mutating_requests(),
        Vec::<Value>::new(),
        "no mutating request from the board"
    );
    assert!(room.audit_lines().is_empty(), "nothing to audit");
}

#[test]
fn an_outage_raises_the_stale_banner_and_recovery_clears_it() {
    let Some(room) = board(
        "an_outage_raises_the_stale_banner_and_recovery_clears_it",
        "--stale-after 3s",
        (120, 40),
    ) else {
        return;
    };
    room.tmux.wait_for_text("● live", SCREEN);
    room.tmux.wait_for_text("Spotlight", SCREEN);
    fault(&room, "/_sim/faults/outage?seconds=10");
    let screen = room
        .tmux
        .wait_for_text("STALE DATA: nothing new from the cluster since", SCREEN);
    assert!(
        screen.contains("Spotlight") && screen.contains("Outcomes ("),
        "what it knows stays on screen:\n{screen}"
    );
    let screen = room
        .tmux
        .wait_for("the banner cleared", Duration::from_secs(90), |s| {
            s.contains("● live") && !s.contains("STALE DATA")
        });
    assert!(screen.contains("Spotlight"), "{screen}");
}

#[test]
fn a_fleets_board_names_each_cluster_and_marks_only_the_one_down() {
    let aliases = "[contexts.eu-viewer]\nalias = \"eu\"\n[contexts.us-viewer]\nalias = \"us\"\n";
    let Some(room) = board_on(
        "a_fleets_board_names_each_cluster_and_marks_only_the_one_down",
        &["--clusters", "eu,us", "--scenario", "default"],
        "--context eu-viewer,us-viewer -n shop watch --stale-after 3s",
        aliases,
        (160, 48),
    ) else {
        return;
    };
    // A row in flight starts with its cluster; the spotlight names its own.
    let flying = |s: &str, cluster: &str| s.lines().any(|l| l.contains(&format!("│{cluster} ")));
    let shown = |s: &str, cluster: &str| {
        flying(s, cluster) || s.contains(&format!(" {} ", cluster.to_uppercase()))
    };
    room.tmux
        .wait_for("both clusters live, in flight", SCREEN, |s| {
            s.contains("● eu  ● us") && spotlit(s).is_some() && shown(s, "eu") && shown(s, "us")
        });

    // eu's listener stopped: eu alone stale, its rows marked with their age.
    room.sim.fault(
        &room.kubectl,
        "eu-admin",
        "/_sim/faults/outage?seconds=3600",
    );
    let screen = room.tmux.wait_for("eu stale, us live", API, |s| {
        s.contains("STALE DATA: nothing new from eu since")
            && s.contains("● us")
            && s.lines().any(|l| l.contains("eu ✖ "))
    });
    assert!(!screen.contains("from us"), "us stays live:\n{screen}");
    assert!(
        shown(&screen, "us"),
        "us's releases stay beside eu's:\n{screen}"
    );
    for cluster in ["eu", "us"] {
        // The test's own fault request aside.
        let sent: Vec<Value> = room
            .sim
            .cluster_mutating_requests(cluster)
            .into_iter()
            .filter(|r| !r["path"].as_str().is_some_and(|p| p.starts_with("/_sim/")))
            .collect();
        assert_eq!(sent, Vec::<Value>::new(), "nothing sent to {cluster}");
    }
    assert!(room.audit_lines().is_empty(), "nothing to audit");
}
